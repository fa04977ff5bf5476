# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's map: a PNG of the dataset's countries shaded by what a sync did and,
for a site placement, each site coloured by how it was placed.

Offline: the country outlines are Natural Earth admin-0 (the dataset's ``.admin0.geojson``
side file, or a fetched ``ne_*_admin_0_countries`` zip/GeoJSON); without them the map
still shows the sites on a graticule and says which file would draw the countries.
Drawn with matplotlib's Agg canvas (no pyplot, no display, no global state).
"""

from __future__ import annotations

import io
import json
import math
import os
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import read_header
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._contract import ADMIN0_POLYGONS, MAP_SIZE
from ansible_collections.geofoss.netbox.plugins.module_utils._io import write_bytes
from ansible_collections.geofoss.netbox.plugins.module_utils._report import map_size_problem
from ansible_collections.geofoss.netbox.plugins.module_utils._report.countries import (  # noqa: F401 (geo_map's API)
    OUTCOMES, DatasetCountries, country_outcomes,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import natural_earth

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.path import Path
    MATPLOTLIB_IMPORT_ERROR = None
except ImportError:
    MATPLOTLIB_IMPORT_ERROR = traceback.format_exc()

try:
    from shapely.geometry import shape as shapely_shape
except ImportError:
    shapely_shape = None  # type: ignore[assignment]

OUTCOME_COLOURS = {
    "created": "#2e9e44",    # green
    "pruned": "#d1495b",     # red
    "updated": "#f2a541",    # amber
    "unchanged": "#8fb8de",  # pale blue
    "outside": "#e4e4e4",    # light grey: not in the dataset
}
OUTCOME_LABELS = {
    "created": ("created", "to create"),
    "pruned": ("regions deleted", "regions to delete"),
    "updated": ("regions created, updated or moved below", "changes below"),
    "unchanged": ("unchanged", "unchanged"),
    "outside": ("not in the dataset", "not in the dataset"),
}
# How netbox_geo_sites placed a site (geo index Placement.method), and the sites it could not place.
PLACEMENT_STYLES = {
    "city": ("#1b4f9c", "o", "nearest city"),
    "polygon": ("#2e9e44", "s", "division polygon"),
    "division_centre": ("#7b3fa0", "D", "nearest division centre"),
    "country_polygon": ("#f2a541", "^", "country polygon"),
    "country": ("#8c6d31", "v", "nearest place in the country"),
    "unplaced": ("#d1495b", "X", "not placed"),
}
DEFAULT_SIZE = MAP_SIZE
DPI = 100
EXTENT_MARGIN_DEG = 2.0
WORLD = (-180.0, 180.0, -90.0, 90.0)
ATTRIBUTION = "Outlines: Natural Earth (public domain). Places: GeoNames (CC BY 4.0)."


class MapError(GeoFossError):
    """A map that cannot be drawn (bad input file, unwritable destination)."""


def matplotlib_missing() -> str | None:
    return MATPLOTLIB_IMPORT_ERROR


# -- what the run did ---------------------------------------------------------------------
# (country code or None, name, GeoJSON geometry) of one country outline
Outline = tuple[Any, str, dict[str, Any]]


def read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise MapError("cannot read %s %s: %s" % (what, path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise MapError("%s %s is not JSON: %s" % (what, path, exc)) from None


# -- the outlines -------------------------------------------------------------------------
def read_outlines(path: str, countries: DatasetCountries | None = None) -> list[Outline]:
    """[(country code or None, name, GeoJSON geometry)] from the dataset's polygons side file
    (properties country_code, geo_source_id) or a Natural Earth admin-0 file (ISO_A2, else one
    of its alpha-3 codes that a dataset country has: France and Norway carry ISO_A2 -99)."""
    countries = countries or DatasetCountries()
    if path.endswith((".geojson", ".json")):
        document = read_json(path, "country outlines")
        features: list[Any] = document.get("features") or [] if isinstance(document, dict) else []
        first = (features[0] or {}).get("properties") or {} if features else {}
        if "country_code" in first or "geo_source_id" in first:
            outlines = []
            for feature in features:
                properties = (feature or {}).get("properties") or {}
                code = properties.get("country_code") or countries.country_of.get(str(properties.get("geo_source_id")))
                if feature.get("geometry"):
                    outlines.append((code, properties.get("name") or "", feature["geometry"]))
            return outlines
    outlines = []
    try:
        for feature in natural_earth.read_admin0(path):
            code = feature.iso_a2 or next((countries.alpha3[c] for c in feature.iso_a3 if c in countries.alpha3), None)
            if feature.geometry:
                outlines.append((code, feature.name, feature.geometry))
    except natural_earth.SourceError as exc:
        raise MapError("country outlines %s" % exc) from None
    return outlines


def side_file_outlines(dataset: str) -> str | None:
    """The dataset's admin-0 polygons side file, or None."""
    named = read_header(dataset).side_files.get(ADMIN0_POLYGONS)  # a DatasetError names the file
    if named:
        path = os.path.join(os.path.dirname(dataset), named)
        if os.path.isfile(path):
            return path
    return None


def _rings(geometry: Mapping[str, Any] | None) -> list[Any]:
    geometry = geometry or {}
    if geometry.get("type") == "Polygon":
        return list(geometry["coordinates"])
    if geometry.get("type") == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def _simplified(geometry: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """The geometry with vertices closer than `tolerance` degrees dropped (shapely), so a
    1:10m file draws as fast as a 1:110m one at report size."""
    if shapely_shape is None or tolerance <= 0:
        return geometry
    try:
        return shapely_shape(geometry).simplify(tolerance, preserve_topology=False).__geo_interface__
    except Exception:  # a geometry shapely refuses is drawn as it is
        return geometry


def outline_path(geometry: dict[str, Any], tolerance: float = 0.0) -> Any:
    """One matplotlib Path of all rings of a (Multi)Polygon (even-odd holes)."""
    vertices: list[tuple[float, float]] = []
    codes: list[Any] = []
    for ring in _rings(_simplified(geometry, tolerance)):
        if len(ring) < 3:
            continue
        vertices.extend((float(point[0]), float(point[1])) for point in ring)
        codes.extend([Path.MOVETO] + [Path.LINETO] * (len(ring) - 2) + [Path.CLOSEPOLY])
    return Path(vertices, codes) if vertices else None


# -- drawing ------------------------------------------------------------------------------
def _main_parts(geometry: Mapping[str, Any]) -> list[Any]:
    """The outer rings of a country's larger parts (at least a quarter of its largest), so that
    overseas islands (the Netherlands' Caribbean, France's Guiana) do not widen the map."""
    kind = (geometry or {}).get("type")
    polygons = [geometry["coordinates"]] if kind == "Polygon" else list(geometry["coordinates"]) if kind == "MultiPolygon" else []
    outers = [polygon[0] for polygon in polygons if polygon and len(polygon[0]) >= 3]
    areas = [abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:]))) / 2 for ring in outers]
    largest = max(areas, default=0)
    return [ring for ring, area in zip(outers, areas) if area >= largest / 4]


def map_extent(outlines: Sequence[Outline], outcomes: Mapping[str, str], sites: Iterable[Mapping[str, Any]],
               world: bool = False) -> tuple[float, float, float, float]:
    """(west, east, south, north) of the dataset's countries (their main parts) and the sites,
    with a margin; the world when asked or when nothing is known."""
    if world:
        return WORLD
    xs: list[float] = []
    ys: list[float] = []
    for code, _name, geometry in outlines:
        if code in outcomes:
            for ring in _main_parts(geometry):
                xs.extend(p[0] for p in ring)
                ys.extend(p[1] for p in ring)
    for site in sites:
        if site.get("latitude") is not None and site.get("longitude") is not None:
            xs.append(float(site["longitude"]))
            ys.append(float(site["latitude"]))
    if not xs:
        return WORLD
    west, east = max(-180.0, min(xs) - EXTENT_MARGIN_DEG), min(180.0, max(xs) + EXTENT_MARGIN_DEG)
    south, north = max(-90.0, min(ys) - EXTENT_MARGIN_DEG), min(90.0, max(ys) + EXTENT_MARGIN_DEG)
    return west, east, south, north


def _fit_aspect(extent: tuple[float, float, float, float], width: float,
                height: float) -> tuple[tuple[float, float, float, float], float]:
    """Widen the extent so that one degree of longitude is cos(mid latitude) of one degree of
    latitude on the picture (an equirectangular map that does not look stretched)."""
    west, east, south, north = extent
    scale = max(math.cos(math.radians((south + north) / 2)), 0.2)
    plot_ratio = width / float(height)
    span_x, span_y = (east - west) * scale, north - south
    if span_x / span_y < plot_ratio:
        grow = (span_y * plot_ratio / scale - (east - west)) / 2
        west, east = west - grow, east + grow
    else:
        grow = (span_x / plot_ratio - span_y) / 2
        south, north = south - grow, north + grow
    return (west, east, south, north), scale


def draw_map(dest: str, title: str, outlines: Sequence[Outline] = (), outcomes: Mapping[str, str] | None = None,
             sites: Sequence[Mapping[str, Any]] = (), plan_only: bool = False, size: Sequence[int] = DEFAULT_SIZE,
             world: bool = False, note: str | None = None, dry_run: bool = False,
             without_plan: bool = False) -> dict[str, Any]:
    """Draw the PNG at `dest` (atomically) and return what it shows.

    `outlines`: [(country code, name, geometry)]; `outcomes`: {country code: outcome};
    `sites`: [{name, latitude, longitude, method}] (method None: not placed). Without a
    plan (a site placement) the dataset's countries are labelled as such, not "unchanged".
    """
    if MATPLOTLIB_IMPORT_ERROR:
        raise MapError("drawing the map needs the Python library matplotlib")
    started = time.monotonic()
    outcomes = outcomes or {}
    problem = map_size_problem(size)
    if problem:
        raise MapError(problem)
    width, height = int(size[0]), int(size[1])
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.01, 0.06, 0.98, 0.86))
    extent, scale = _fit_aspect(map_extent(outlines, outcomes, sites, world), width * 0.98, height * 0.86)
    tolerance = (extent[1] - extent[0]) / (width * 0.98) / 2  # half a pixel, in degrees
    axes.set_xlim(extent[0], extent[1])
    axes.set_ylim(extent[2], extent[3])
    axes.set_aspect(1 / scale, adjustable="datalim")
    axes.set_facecolor("#f7fbff")
    axes.set_xticks([])
    axes.set_yticks([])
    for step in range(-180, 181, 30):
        axes.axvline(step, color="#dde6ee", linewidth=0.5, zorder=0)
    for step in range(-90, 91, 30):
        axes.axhline(step, color="#dde6ee", linewidth=0.5, zorder=0)

    shown = dict.fromkeys(OUTCOMES, 0)
    paths, colours = [], []
    for code, _name, geometry in outlines:
        path = outline_path(geometry, tolerance)
        if path is None:
            continue
        outcome = outcomes.get(code, "outside")
        paths.append(path)
        colours.append(OUTCOME_COLOURS[outcome])
    drawn = set()
    for code, _name, _geometry in outlines:
        if code in outcomes and code not in drawn:
            drawn.add(code)
            shown[outcomes[code]] += 1
    if paths:
        axes.add_collection(PathCollection(paths, facecolors=colours, edgecolors="#ffffff", linewidths=0.3,
                                           zorder=1))
    without_outline = sorted(code for code in outcomes if code not in drawn)

    placed = dict.fromkeys(PLACEMENT_STYLES, 0)
    by_method: dict[str, tuple[list[float], list[float]]] = {}
    for site in sites:
        lat, lon = site.get("latitude"), site.get("longitude")
        method = str(site.get("method")) if site.get("method") in PLACEMENT_STYLES else "unplaced"
        placed[method] += 1
        if lat is None or lon is None:
            continue
        by_method.setdefault(method, ([], []))
        by_method[method][0].append(float(lon))
        by_method[method][1].append(float(lat))
    for method, (xs, ys) in by_method.items():
        colour, marker, _label = PLACEMENT_STYLES[method]
        axes.scatter(xs, ys, s=36 if method == "unplaced" else 18, c=colour, marker=marker,
                     edgecolors="#ffffff" if method != "unplaced" else colour, linewidths=0.4, zorder=3)

    handles: list[Any] = []
    verb = 1 if plan_only else 0
    for outcome in OUTCOMES:
        if shown[outcome] or (outcome == "outside" and len(outlines) > len(drawn)):
            count = " (%d)" % shown[outcome] if outcome != "outside" else ""
            handles.append(Patch(facecolor=OUTCOME_COLOURS[outcome], edgecolor="#999999",
                                 label=("in the dataset" if without_plan and outcome == "unchanged"
                                        else OUTCOME_LABELS[outcome][verb]) + count))
    for method, placed_count in placed.items():
        if placed_count:
            colour, marker, label = PLACEMENT_STYLES[method]
            handles.append(Line2D([], [], linestyle="", marker=marker, color=colour, markersize=7,
                                  label="site: %s (%d)" % (label, int(placed_count))))
    if handles:
        axes.legend(handles=handles, loc="lower left", fontsize=9, framealpha=0.9)
    figure.suptitle(title, fontsize=14, y=0.97)
    notes = [ATTRIBUTION]
    if note:
        notes.insert(0, note)
    figure.text(0.01, 0.015, "  ".join(notes), fontsize=8, color="#555555")
    changed = _write_png(figure, dest, dry_run)
    return {
        "changed": changed, "path": dest, "width": width, "height": height,
        "countries": {k: v for k, v in shown.items() if k != "outside"},
        "countries_without_outline": without_outline,
        "sites": {k: v for k, v in placed.items() if v},
        "seconds": round(time.monotonic() - started, 3),
    }


def _write_png(figure: Any, dest: str, dry_run: bool = False) -> bool:
    """Render the PNG and replace `dest` atomically when its bytes differ (the Agg output
    carries no timestamp, so the same run draws the same file). Returns whether it changed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    try:
        return write_bytes(dest, buffer.getvalue(), dry_run=dry_run).changed
    except OSError as exc:
        raise MapError("cannot write the map %s: %s" % (dest, exc.strerror or exc)) from None


# -- the module's entry point -------------------------------------------------------------
def read_sites(path: str) -> list[dict[str, Any]]:
    """The placements of a netbox_geo_sites sites file ({"sites": [...]})."""
    data = read_json(path, "sites file")
    sites = data.get("sites") if isinstance(data, dict) else None
    if not isinstance(sites, list):
        raise MapError("sites file %s has no \"sites\" list" % path)
    return sites


def run_map(params: Mapping[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """geo_map's engine: read the plan / sites files and the dataset, draw the PNG."""
    countries = DatasetCountries(params.get("dataset"))
    plan = read_json(params["plan_file"], "plan file") if params.get("plan_file") else None
    sites = read_sites(params["sites_file"]) if params.get("sites_file") else []
    return draw_run_map(params, countries, plan, sites, dry_run=check_mode)


def draw_run_map(params: Mapping[str, Any], countries: DatasetCountries, plan: Mapping[str, Any] | None = None,
                 sites: Sequence[Mapping[str, Any]] = (), dry_run: bool = False) -> dict[str, Any]:
    """Draw the run's map from what is read already: the dataset's countries, the plan (a
    plan file's content, or None: no plan) and the sites. `params` are geo_map's drawing
    options (dest, dataset, polygons, extent, title, size, plan_only); netbox_geo_sync calls
    this with its own plan while it writes."""
    outcomes = {code: "unchanged" for code in countries.node_of}
    unplaced_changes = 0
    plan_only = bool(params.get("plan_only"))
    if plan is not None:
        outcomes, unplaced_changes = country_outcomes(plan, countries)
        plan_only = plan_only or bool(plan.get("check_mode"))
    dataset = params.get("dataset")
    polygons = params.get("polygons")
    if not polygons and dataset:
        polygons = side_file_outlines(dataset)
    note = None
    outlines = []
    if polygons:
        outlines = read_outlines(polygons, countries)
    else:
        note = ("No country outlines: fetch Natural Earth admin_0_countries (geo_enrich=natural_earth) "
                "to shade the countries.")
    result = draw_map(params["dest"], params.get("title") or "geofoss.netbox", outlines, outcomes, sites,
                      plan_only=plan_only, size=params.get("size") or DEFAULT_SIZE,
                      without_plan=plan is None,
                      world=params.get("extent") == "world", note=note, dry_run=dry_run)
    result.update(outlines=polygons, changes_without_country=unplaced_changes)
    warnings = []
    if note:
        warnings.append(note)
    if polygons and result["countries_without_outline"]:
        warnings.append("%d countries of the dataset have no outline in %s: %s"
                        % (len(result["countries_without_outline"]), polygons,
                           ", ".join(result["countries_without_outline"][:20])))
    result["warnings"] = warnings
    return result
