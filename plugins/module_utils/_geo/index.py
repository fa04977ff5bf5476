# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Spatial questions about a dataset file: the nearest city, the first-level
division whose polygon contains a point, and the deepest region for a point.

Shared by the site placement (`_sites.py`) and the geo lookup (`_lookup.py`).
Pure Python except the polygons (shapely, optional: without it, or without a
polygons side file, placement falls back to the nearest division centre) and
the time zone fallback (timezonefinder, optional).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Callable, Iterable, Iterator

from ansible_collections.geofoss.netbox.plugins.module_utils._contract import (
    ADMIN0_POLYGONS, ADMIN1_POLYGONS, CUSTOM_POLYGONS, POLYGONS_SUFFIXES,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    DatasetError, NodeDict, iter_node_dicts, read_header,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError

# Optional: without shapely no polygons (the nearest division centre instead), without
# timezonefinder no time zone the dataset lacks.
try:
    from shapely import STRtree, points as shapely_points
    from shapely.geometry import shape as shapely_shape
except ImportError:
    STRtree = None  # type: ignore[assignment,misc]

try:
    from timezonefinder import TimezoneFinder
except ImportError:
    TimezoneFinder = None  # type: ignore[assignment,misc]

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0
HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
BOX_SLACK_DEG = 1e-9
# The polygons side files (_contract): their keys in the dataset header's side_files, and the
# suffixes tried next to a dataset file that names none (geo_transform's first, then other spellings).
ADMIN1_POLYGONS_SIDE_FILE = ADMIN1_POLYGONS
ADMIN0_POLYGONS_SIDE_FILE = ADMIN0_POLYGONS
POLYGON_SIDE_SUFFIXES = {
    ADMIN1_POLYGONS: (POLYGONS_SUFFIXES[ADMIN1_POLYGONS], ".polygons.geojson", "-admin1.geojson"),
    ADMIN0_POLYGONS: (POLYGONS_SUFFIXES[ADMIN0_POLYGONS], "-admin0.geojson"),
    CUSTOM_POLYGONS: (POLYGONS_SUFFIXES[CUSTOM_POLYGONS],),
}
OWN_LEVEL = "custom"  # a team's own places


class GeoIndexError(GeoFossError):
    """A dataset or polygons file that cannot be used; the message names the file and line."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class PointIndex:
    """Points on a grid of `cell_deg` degree cells, for radius and nearest queries.

    A radius query scans the cells of the bounding box of the circle (exact, with
    the box widened towards the poles); `nearest` doubles the radius until a point
    is found, so it stays exact without a KD-tree.
    """

    def __init__(self, cell_deg: float = 1.0) -> None:
        self.cell_deg = float(cell_deg)
        self._columns = int(math.ceil(360.0 / self.cell_deg))
        self._cells: dict[tuple[int, int], list[tuple[float, float, Any]]] = {}
        self.size = 0

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        row = int(math.floor((lat + 90.0) / self.cell_deg))
        column = int(math.floor((lon + 180.0) / self.cell_deg)) % self._columns
        return row, column

    def add(self, lat: float, lon: float, item: Any) -> None:
        self._cells.setdefault(self._cell(lat, lon), []).append((lat, lon, item))
        self.size += 1

    def _candidates(self, lat: float, lon: float, radius_km: float) -> Iterator[tuple[float, float, Any]]:
        """The points inside the bounding box of the circle (exact, widened towards the poles)."""
        dlat = radius_km / KM_PER_DEGREE
        lat_low, lat_high = max(-90.0, lat - dlat), min(90.0, lat + dlat)
        widest = max(abs(lat_low), abs(lat_high))
        cos_widest = math.cos(math.radians(widest))
        dlon = 360.0
        if widest >= 89.9 or radius_km / KM_PER_DEGREE / max(cos_widest, 1e-9) >= 180.0:
            columns: Iterable[int] = range(self._columns)
        else:
            dlon = radius_km / (KM_PER_DEGREE * cos_widest)
            first = int(math.floor((lon - dlon + 180.0) / self.cell_deg))
            last = int(math.floor((lon + dlon + 180.0) / self.cell_deg))
            columns = sorted({c % self._columns for c in range(first, last + 1)})
        row_low = int(math.floor((lat_low + 90.0) / self.cell_deg))
        row_high = int(math.floor((lat_high + 90.0) / self.cell_deg))
        for row in range(row_low, row_high + 1):
            for column in columns:
                for plat, plon, item in self._cells.get((row, column), ()):
                    # the box test first (with a hair of slack for rounding): it spares most of
                    # the trigonometry in dense cells
                    if abs(plat - lat) > dlat + BOX_SLACK_DEG:
                        continue
                    apart = abs(plon - lon) % 360.0
                    if min(apart, 360.0 - apart) > dlon + BOX_SLACK_DEG:
                        continue
                    yield plat, plon, item

    def within(self, lat: float, lon: float, radius_km: float) -> list[tuple[float, Any]]:
        """[(distance_km, item)] of the points within `radius_km`, nearest first."""
        if not self.size or radius_km < 0:
            return []
        found = []
        for plat, plon, item in self._candidates(lat, lon, radius_km):
            distance = haversine_km(lat, lon, plat, plon)
            if distance <= radius_km:
                found.append((distance, item))
        found.sort(key=lambda pair: pair[0])
        return found

    def any_within(self, lat: float, lon: float, radius_km: float) -> bool:
        """True when some point lies within `radius_km` (stops at the first)."""
        if not self.size or radius_km < 0:
            return False
        return any(haversine_km(lat, lon, plat, plon) <= radius_km
                   for plat, plon, item in self._candidates(lat, lon, radius_km))

    def nearest(self, lat: float, lon: float, max_km: float = HALF_CIRCUMFERENCE_KM, start_km: float = 50.0,
                accept: Callable[[Any], bool] | None = None) -> tuple[float, Any] | None:
        """(distance_km, item) of the nearest point within `max_km` (whose item `accept`
        takes, when given), or None."""
        radius = min(start_km, max_km)
        while True:
            found = self.within(lat, lon, radius)
            if accept is not None:
                found = [pair for pair in found if accept(pair[1])]
            if found:
                return found[0]
            if radius >= max_km:
                return None
            radius = min(radius * 2.0, max_km)


class PolygonIndex:
    """Division polygons in a shapely STRtree: which keys cover a point."""

    def __init__(self, keyed_geometries: list[tuple[str, Any]]) -> None:
        if STRtree is None:
            raise GeoIndexError("point-in-polygon needs the Python library shapely")
        self._keys = [key for key, geometry in keyed_geometries]
        self._geometries = [geometry for key, geometry in keyed_geometries]
        self._tree = STRtree(self._geometries)

    def __len__(self) -> int:
        return len(self._keys)

    def covering(self, lat: float, lon: float) -> list[str]:
        """Keys of the polygons that cover the point, smallest polygon first."""
        point = shapely_points(lon, lat)
        hits = self._tree.query(point, predicate="covered_by")
        keys = [(self._geometries[i].area, self._keys[i]) for i in hits]
        return [key for area, key in sorted(keys)]


def read_nodes(path: str) -> list[NodeDict]:
    """The node dicts of a dataset file, each checked (file and line named on error)."""
    try:
        return list(iter_node_dicts(path, validate=True))
    except DatasetError as exc:
        raise GeoIndexError(str(exc)) from None


def _coordinate(value: Any, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high and math.isfinite(number) else None


def node_point(node: NodeDict) -> tuple[float, float] | None:
    """(lat, lon) of a node, or None when it has no usable coordinates."""
    attributes = node.get("attributes") or {}
    lat = _coordinate(attributes.get("latitude"), -90.0, 90.0)
    lon = _coordinate(attributes.get("longitude"), -180.0, 180.0)
    return None if lat is None or lon is None else (lat, lon)


class Placement:
    """Where a point lies: the dataset node chosen and why."""

    __slots__ = ("node", "method", "distance_km", "division")

    def __init__(self, node: NodeDict, method: str, distance_km: float | None = None,
                 division: NodeDict | None = None) -> None:
        self.node = node
        self.method = method  # own_polygon | own_place | city | polygon | division_centre | country_polygon | country
        self.distance_km = distance_km
        self.division = division

    def __repr__(self) -> str:
        return "Placement(%s, %s, %r)" % (self.node["geo_source_id"], self.method, self.distance_km)


class GeoIndex:
    """A dataset's nodes with the lookups and spatial indexes built on them."""

    def __init__(self, nodes: list[NodeDict], polygons: PolygonIndex | None = None, source: str | None = None,
                 country_polygons: PolygonIndex | None = None, own_polygons: PolygonIndex | None = None) -> None:
        self.source = source
        self.nodes: dict[str, NodeDict] = {}
        self.by_level: dict[str, list[NodeDict]] = {}
        for node in nodes:
            self.nodes[node["geo_source_id"]] = node
            self.by_level.setdefault(node["level"], []).append(node)
        self._division_of: dict[str, NodeDict | None] = {}
        self.cities = PointIndex(cell_deg=0.5)
        self.division_centres = PointIndex(cell_deg=2.0)
        self.places = PointIndex(cell_deg=2.0)
        self.own_places = PointIndex(cell_deg=0.5)
        divisions_with_centre = set()
        for node in nodes:
            point = node_point(node)
            if point is None:
                continue
            if node["level"] == "city":
                self.cities.add(point[0], point[1], node)
            elif node["level"] == OWN_LEVEL:
                self.own_places.add(point[0], point[1], node)
            elif node["level"] == "admin1":
                self.division_centres.add(point[0], point[1], node)
                divisions_with_centre.add(node["geo_source_id"])
            self.places.add(point[0], point[1], node)
        # GeoNames' admin1 table has no coordinates: such a division is represented by its cities
        for node in self.by_level.get("city", ()):
            division = self.division_of(node)
            point = node_point(node)
            if division is not None and point and division["geo_source_id"] not in divisions_with_centre:
                self.division_centres.add(point[0], point[1], division)
        self.polygons = polygons
        self.country_polygons = country_polygons
        self.own_polygons = own_polygons
        self._timezones: dict[str, set[str]] | None = None
        self._main_city_zones: dict[str, str] | None = None

    # ------------------------------------------------------------------ tree
    def parent(self, node: NodeDict) -> NodeDict | None:
        parent = node.get("parent")
        return self.nodes.get(parent) if parent else None

    def ancestors(self, node: NodeDict | None) -> Iterator[NodeDict]:
        """The node, then its parent, up to the top of the tree."""
        seen = set()
        while node is not None and node["geo_source_id"] not in seen:
            seen.add(node["geo_source_id"])
            yield node
            node = self.parent(node)

    def division_of(self, node: NodeDict) -> NodeDict | None:
        """The admin1 node above (or equal to) `node`, or None."""
        key = node["geo_source_id"]
        if key not in self._division_of:
            self._division_of[key] = next((n for n in self.ancestors(node) if n["level"] == "admin1"), None)
        return self._division_of[key]

    def country_of(self, node: NodeDict) -> NodeDict | None:
        return next((n for n in self.ancestors(node) if n["level"] == "country"), None)

    def country_code(self, node: NodeDict) -> str | None:
        return (node.get("attributes") or {}).get("country_code")

    # ------------------------------------------------------------------ placement
    def locate(self, lat: float, lon: float, city_radius_km: float = 30.0,
               max_distance_km: float = 500.0) -> Placement | None:
        """The deepest dataset node for a point, or None when it is far from everything.

        A team's own places come first: the nearest one with coordinates within
        `city_radius_km` (inside the own place whose polygon contains the point, if one does),
        else the own place whose polygon contains the point. Then, deepest first: the
        nearest city within `city_radius_km` in the same first-level
        division as the point; else the division whose polygon contains the point;
        else the division of the nearest division centre within `max_distance_km` (a
        division without coordinates is represented by its cities); else the country
        whose polygon contains the point; else the country of the nearest place within
        `max_distance_km`. Where a country polygon (admin-0) contains the point, the
        city and the division centre must lie in that country too: a site near a border
        stays on its own side.
        """
        own_area = self._covering_node(self.own_polygons, lat, lon)
        for distance, nearby in self.own_places.within(lat, lon, city_radius_km):
            # a point place counts inside the own polygon only when it is part of it (deeper)
            if own_area is None or any(node is own_area for node in self.ancestors(nearby)):
                return Placement(nearby, "own_place", distance, self.division_of(nearby))
        if own_area is not None:
            return Placement(own_area, "own_polygon", None, self.division_of(own_area))
        division = self.containing_division(lat, lon)
        country = self.containing_country(lat, lon) if division is None else None
        in_country = None if country is None else (lambda node: self.country_of(node) is country)

        def same_area(city: NodeDict) -> bool:  # the point's division when a polygon gave it, else its country, if known
            if division is not None:
                return self.division_of(city) is division
            return in_country is None or in_country(city)

        for distance, city in self.cities.within(lat, lon, city_radius_km):
            if same_area(city):
                return Placement(city, "city", distance, self.division_of(city))
        if division is not None:
            return Placement(division, "polygon", None, division)
        nearest = self.division_centres.nearest(lat, lon, max_km=max_distance_km, accept=in_country)
        if nearest is not None:
            return Placement(nearest[1], "division_centre", nearest[0], nearest[1])
        if country is not None:
            return Placement(country, "country_polygon", None, None)
        nearest = self.places.nearest(lat, lon, max_km=max_distance_km)
        if nearest is not None:
            country = self.country_of(nearest[1])
            if country is not None:
                return Placement(country, "country", nearest[0], None)
        return None

    def containing_division(self, lat: float, lon: float) -> NodeDict | None:
        return self._covering_node(self.polygons, lat, lon)

    def containing_country(self, lat: float, lon: float) -> NodeDict | None:
        return self._covering_node(self.country_polygons, lat, lon)

    def _covering_node(self, polygons: PolygonIndex | None, lat: float, lon: float) -> NodeDict | None:
        if not polygons:
            return None
        for key in polygons.covering(lat, lon):
            node = self.nodes.get(key)
            if node is not None:
                return node
        return None

    def nearest_in_country(self, lat: float, lon: float, country_code: str,
                           max_km: float = HALF_CIRCUMFERENCE_KM) -> float | None:
        """Distance in km from the point to the nearest place of a country, or None."""
        radius = 50.0
        while True:
            for distance, node in self.places.within(lat, lon, radius):
                if self.country_code(node) == country_code:
                    return distance
            if radius >= max_km:
                return None
            radius = min(radius * 2.0, max_km)

    def countries_of_time_zone(self, time_zone: str) -> set[str]:
        """Country codes whose dataset nodes use a time zone (a hint of a site's country)."""
        if self._timezones is None:
            self._timezones = {}
            for node in self.nodes.values():
                attributes = node.get("attributes") or {}
                if attributes.get("time_zone") and attributes.get("country_code"):
                    self._timezones.setdefault(attributes["time_zone"], set()).add(attributes["country_code"])
        return self._timezones.get(time_zone, set())

    def main_city_time_zone(self, node: NodeDict) -> str | None:
        """The time zone of the most populous city below a country or division, or None."""
        if self._main_city_zones is None:
            best: dict[str, tuple[int, str]] = {}
            for city in self.by_level.get("city", ()):
                attributes = city.get("attributes") or {}
                if not attributes.get("time_zone"):
                    continue
                population = attributes.get("population") or 0
                for above in list(self.ancestors(city))[1:]:
                    key = above["geo_source_id"]
                    if key not in best or population > best[key][0]:
                        best[key] = (population, attributes["time_zone"])
            self._main_city_zones = {key: zone for key, (population, zone) in best.items()}
        return self._main_city_zones.get(node["geo_source_id"])

    def time_zone_for(self, placement: Placement, lat: float, lon: float) -> str | None:
        """The time zone of a placement: the city's or division's, else timezonefinder's at the
        point, else the node's own or its most populous city's (without timezonefinder)."""
        node = placement.node
        own = (node.get("attributes") or {}).get("time_zone")
        if own and node["level"] != "country":
            return own
        return time_zone_at(lat, lon) or own or self.main_city_time_zone(node)


_TIMEZONE_FINDER: list[Any] = []


def time_zone_at(lat: float, lon: float) -> str | None:
    """The IANA time zone at a point (timezonefinder, offline), or None without it."""
    if TimezoneFinder is None:
        return None
    if not _TIMEZONE_FINDER:
        _TIMEZONE_FINDER.append(TimezoneFinder())
    return _TIMEZONE_FINDER[0].timezone_at(lng=lon, lat=lat)


def polygon_side_file(dataset_path: str, kind: str = ADMIN1_POLYGONS_SIDE_FILE) -> str | None:
    """A polygons side file of a dataset (`kind`: admin1_polygons, admin0_polygons or
    custom_polygons), named
    in its header's side_files or found next to it; or None."""
    base = str(dataset_path)
    try:
        named = read_header(base).side_files.get(kind)
    except DatasetError as exc:
        raise GeoIndexError(str(exc)) from None
    if named:
        path = os.path.join(os.path.dirname(base), named)
        if not os.path.isfile(path):
            raise GeoIndexError("dataset %s names the polygons side file %s, which does not exist" % (base, path))
        return path
    stems = [base]
    for ext in (".gz", ".jsonl", ".json", ".ndjson"):
        if stems[-1].endswith(ext):
            stems.append(stems[-1][: -len(ext)])
    for stem in stems:
        for suffix in POLYGON_SIDE_SUFFIXES[kind]:
            if os.path.isfile(stem + suffix):
                return stem + suffix
    return None


def read_polygons(path: str, nodes_by_id: dict[str, NodeDict], level: str = "admin1") -> PolygonIndex:
    """A PolygonIndex from a GeoJSON FeatureCollection of first-level divisions (or, with
    level "country", of countries; with level "custom", of a team's own places).

    A feature is matched to a dataset node by its `geo_source_id` property, else by
    Natural Earth's `gn_id` (a GeoNames id), else by `iso_3166_2` (a division) or
    `country_code` / `iso_a2` (a country).
    """
    try:
        with open(path, encoding="utf-8") as handle:
            collection = json.load(handle)
    except OSError as exc:
        raise GeoIndexError("cannot read polygons %s: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise GeoIndexError("polygons %s: not JSON (%s)" % (path, exc)) from None
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list):
        raise GeoIndexError("polygons %s: not a GeoJSON FeatureCollection" % path)
    code_attribute = "country_code" if level == "country" else "iso_3166_2"
    by_code = {}
    for node in nodes_by_id.values():
        code = (node.get("attributes") or {}).get(code_attribute)
        if code and node["level"] == level:
            by_code[code.upper()] = node["geo_source_id"]
    keyed = []
    for number, feature in enumerate(features):
        properties = (feature or {}).get("properties") or {}
        key = _feature_key(properties, nodes_by_id, by_code, level)
        if key is None or not (feature or {}).get("geometry"):
            continue
        try:
            geometry = shapely_shape(feature["geometry"])
        except Exception as exc:  # shapely raises several types for bad geometry
            raise GeoIndexError("polygons %s feature %d: bad geometry (%s)" % (path, number, exc)) from None
        keyed.append((key, geometry))
    return PolygonIndex(keyed)


def _feature_key(properties: dict[str, Any], nodes_by_id: dict[str, NodeDict], by_code: dict[str, str],
                 level: str) -> str | None:
    key = properties.get("geo_source_id")
    if key in nodes_by_id and nodes_by_id[key]["level"] == level:
        return key
    gn_id = properties.get("gn_id")
    if isinstance(gn_id, (int, float)) and gn_id > 0:
        node = nodes_by_id.get("geonames:%d" % gn_id)
        if node is not None and node["level"] == level:
            return "geonames:%d" % gn_id
    for name in ("country_code", "iso_a2") if level == "country" else ("iso_3166_2",):
        code = properties.get(name)
        if isinstance(code, str) and code.upper() in by_code:
            return by_code[code.upper()]
    return None


_CACHE: dict[tuple[Any, ...], GeoIndex] = {}


def load_index(dataset_path: str, polygons_path: str | None = None,
               country_polygons_path: str | None = None) -> GeoIndex:
    """A GeoIndex for a dataset file, cached per path, size and mtime within the process.

    `polygons_path` (first-level divisions) and `country_polygons_path` (admin-0): None
    means the dataset's side file, if any; "" means none.
    """
    path = os.path.realpath(os.path.expanduser(str(dataset_path)))
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise GeoIndexError("cannot read dataset %s: %s" % (dataset_path, exc.strerror or exc)) from None
    polygons = _polygons_file(path, polygons_path, ADMIN1_POLYGONS_SIDE_FILE)
    country_polygons = _polygons_file(path, country_polygons_path, ADMIN0_POLYGONS_SIDE_FILE)
    own_polygons = _polygons_file(path, None, CUSTOM_POLYGONS)
    key = (path, stat.st_size, stat.st_mtime_ns, polygons, country_polygons, own_polygons)
    if key not in _CACHE:
        index = GeoIndex(read_nodes(path), source=path)
        kinds = ((polygons, "polygons", "admin1"), (country_polygons, "country_polygons", "country"),
                 (own_polygons, "own_polygons", OWN_LEVEL))
        for (polygons_file, _stat), attribute, level in kinds:
            if polygons_file:
                if STRtree is None:
                    raise GeoIndexError("polygons %s need the Python library shapely" % polygons_file)
                setattr(index, attribute, read_polygons(polygons_file, index.nodes, level))
        _CACHE.clear()  # one dataset at a time is the common case; keeps memory flat
        _CACHE[key] = index
    return _CACHE[key]


def _polygons_file(dataset_path: str, given: str | None, kind: str) -> tuple[str | None, tuple[int, int] | None]:
    """(real path, (size, mtime)) of the polygons file to use, or (None, None)."""
    chosen = polygon_side_file(dataset_path, kind) if given is None else given
    if not chosen:
        return None, None
    chosen = os.path.realpath(os.path.expanduser(str(chosen)))
    try:
        stat = os.stat(chosen)
    except OSError as exc:
        raise GeoIndexError("cannot read polygons %s: %s" % (chosen, exc.strerror or exc)) from None
    return chosen, (stat.st_size, stat.st_mtime_ns)
