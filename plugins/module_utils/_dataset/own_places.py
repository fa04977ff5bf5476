# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A team's own places (geo_transform's ``own_places``): metro areas, campuses,
data-centre clusters, customer regions that no open dataset has.

A CSV file (header line, columns below) or a YAML/JSON list of mappings with the same keys:

| key | |
| --- | --- |
| ``id`` | required; the place's identity is ``custom:<id>`` |
| ``name`` | required; the region's name |
| ``parent`` | ISO 3166-1 (``DE``) or 3166-2 (``DE-HE``) code, geonameid (``2925533``), own id, |
| | any geo_source_id (``custom:emea``), or empty for the top |
| ``slug``, ``description`` | optional |
| ``latitude``, ``longitude`` | optional, together |
| ``polygon`` | optional: a GeoJSON Polygon/MultiPolygon, inline or the path of a GeoJSON file (relative to this file) |

Every row is checked; problems are reported together as ``file:line: field: reason`` and
nothing is written. Cycles among own ids and parents that do not exist are problems too
(the latter found by ``resolve_parents`` against the dataset being built).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from typing import Any, Callable, Iterator, Mapping

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    DESCRIPTION_MAX, NAME_MAX, SLUG_RE, SLUG_MAX, clean_description, clean_name, description_problem, name_problem,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.team_files import (
    Problems, TeamFileError, compose_yaml, is_mapping, is_sequence, line_of, read_text, scalar_text, to_python,
)

WHAT = "own places file"
COLUMNS = ("id", "name", "parent", "slug", "description", "latitude", "longitude", "polygon")
REQUIRED_COLUMNS = ("id", "name", "parent")
OWN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
ISO_3166_1_RE = re.compile(r"[A-Z]{2}\Z")
ISO_3166_2_RE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}\Z")
GEONAMEID_RE = re.compile(r"[0-9]{1,10}\Z")
SOURCE_ID_RE = re.compile(r"[a-z][a-z0-9_]*:[A-Za-z0-9._-]+\Z")
POLYGON_TYPES = ("Polygon", "MultiPolygon")
PARENT_KINDS = {"iso_3166_1": "ISO 3166-1 code", "iso_3166_2": "ISO 3166-2 code", "geonameid": "geonameid",
                "geo_source_id": "geo_source_id", "own": "own id"}
# resolve_parents' ``find`` returns FILTERED for a parent that exists but was filtered out
# (``countries``): the place is left out, with a warning, not refused; TOP for the top of the
# tree (a parent whose level and every level above it are left out).
FILTERED = object()
TOP = object()


class OwnPlace:
    __slots__ = ("id", "name", "parent", "parent_kind", "slug", "description", "latitude", "longitude",
                 "polygon", "line", "resolved_parent")

    def __init__(self, place_id: str, name: str, parent: str | None, parent_kind: str | None, slug: str | None,
                 description: str, latitude: float | None, longitude: float | None, polygon: dict[str, Any] | None,
                 line: int) -> None:
        self.id = place_id
        self.name = name
        self.parent = parent              # as written; None for the top
        self.parent_kind = parent_kind    # None, "own", "iso_3166_1", "iso_3166_2", "geonameid", "geo_source_id"
        self.slug = slug                  # None: the transform makes one
        self.description = description
        self.latitude = latitude
        self.longitude = longitude
        self.polygon = polygon            # a GeoJSON geometry dict, or None
        self.line = line
        self.resolved_parent: str | None = None  # the parent's geo_source_id, set by resolve_parents

    @property
    def geo_source_id(self) -> str:
        return "custom:%s" % self.id

    def __repr__(self) -> str:
        return "OwnPlace(%s, %r, parent=%r)" % (self.id, self.name, self.parent)


def parent_kind(value: str, own_ids: Mapping[str, Any]) -> str | None:
    """How a parent reference is meant: own id first, then the code forms; None = unknown."""
    if value in own_ids:
        return "own"
    if value.startswith("custom:") and value[len("custom:"):] in own_ids:
        return "own"
    if SOURCE_ID_RE.match(value):
        return "geo_source_id"
    if ISO_3166_1_RE.match(value):
        return "iso_3166_1"
    if ISO_3166_2_RE.match(value):
        return "iso_3166_2"
    if GEONAMEID_RE.match(value):
        return "geonameid"
    return None


# -- reading ---------------------------------------------------------------------------------
Row = tuple[int, dict[str, Any]]


def _csv_rows(path: str, problems: Problems) -> Iterator[Row]:
    """(line, {column: text}) for each data row of a CSV file."""
    text = read_text(path, WHAT)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(1, None, "not CSV: %s" % exc)
        return
    if not header:
        problems.add(1, None, "empty file: a header line with at least %s is needed" % ", ".join(REQUIRED_COLUMNS))
        return
    header = [column.strip().lower() for column in header]
    unknown = [column for column in header if column not in COLUMNS]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    doubled = sorted({column for column in header if header.count(column) > 1})
    for what, columns in (("unknown column", unknown), ("missing column", missing), ("column given twice", doubled)):
        for column in columns:
            problems.add(1, column, "%s (columns: %s)" % (what, ", ".join(COLUMNS)))
    if unknown or missing or doubled:
        return
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(header):
                problems.add(line, None, "%d fields, the header has %d" % (len(row), len(header)))
                continue
            yield line, dict(zip(header, row))
    except csv.Error as exc:
        problems.add(line + 1, None, "not CSV: %s" % exc)


def _yaml_rows(path: str, problems: Problems) -> Iterator[Row]:
    """(line, {key: text or yaml node}) for each mapping of a YAML/JSON list."""
    root = compose_yaml(path, WHAT)
    if is_mapping(root) and len(root.value) == 1 and scalar_text(root.value[0][0]) == "places":
        root = root.value[0][1]
    if root is None or not is_sequence(root):
        problems.add(line_of(root) if root is not None else 1, None,
                     "must be a list of places (mappings with %s)" % ", ".join(COLUMNS))
        return
    for item in root.value:
        if not is_mapping(item):
            problems.add(line_of(item), None, "each place must be a mapping with %s" % ", ".join(REQUIRED_COLUMNS))
            continue
        row: dict[str, Any] = {}
        for key_node, value_node in item.value:
            key = scalar_text(key_node)
            if key not in COLUMNS:
                problems.add(line_of(key_node), key, "unknown key (keys: %s)" % ", ".join(COLUMNS))
                continue
            if key == "polygon" and not is_mapping(value_node):
                row[key] = scalar_text(value_node)
            elif key == "polygon":
                row[key] = to_python(value_node)
            elif is_mapping(value_node) or is_sequence(value_node):
                problems.add(line_of(value_node), key, "must be a single value")
            else:
                row[key] = scalar_text(value_node)
        missing = [key for key in REQUIRED_COLUMNS[:2] if key not in row]
        for key in missing:
            problems.add(line_of(item), key, "missing")
        if not missing:
            yield line_of(item), row


def _coordinate(problems: Problems, line: int, field: str, text: Any, bound: float) -> float | None:
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        problems.add(line, field, "%r is not a number" % (text,))
        return None
    if math.isnan(value) or not -bound <= value <= bound:
        problems.add(line, field, "%r is out of range -%g..%g" % (text, bound, bound))
        return None
    return value


def _positions_problem(coordinates: Any, depth: int) -> str | None:
    """Why nested GeoJSON coordinates are not rings of [lon, lat] positions (depth 2:
    Polygon, 3: MultiPolygon), or None."""
    if not isinstance(coordinates, list) or not coordinates:
        return "coordinates must be a non-empty list"
    if depth > 2:
        for polygon in coordinates:
            problem = _positions_problem(polygon, depth - 1)
            if problem:
                return problem
        return None
    for ring in coordinates:
        if not isinstance(ring, list) or len(ring) < 4:
            return "each ring needs at least 4 positions"
        for position in ring:
            if (not isinstance(position, list) or len(position) < 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2])):
                return "positions must be [longitude, latitude] numbers"
            if not (-180 <= position[0] <= 180 and -90 <= position[1] <= 90):
                return "position %s is outside longitude -180..180, latitude -90..90" % position[:2]
        if ring[0][:2] != ring[-1][:2]:
            return "a ring must end where it starts"
    return None


def _geometry(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(geometry, problem): a Polygon/MultiPolygon geometry out of a geometry, a Feature or
    a FeatureCollection of one feature."""
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        features = value.get("features") or []
        if len(features) != 1:
            return None, "a FeatureCollection must hold exactly one feature (it holds %d)" % len(features)
        value = features[0]
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") not in POLYGON_TYPES:
        return None, "must be a GeoJSON Polygon or MultiPolygon"
    problem = _positions_problem(value.get("coordinates"), 2 if value["type"] == "Polygon" else 3)
    if problem:
        return None, problem
    return {"type": value["type"], "coordinates": value["coordinates"]}, None


def _polygon(problems: Problems, path: str, line: int, value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError as exc:
            problems.add(line, "polygon", "not GeoJSON: %s" % exc)
            return None
    elif isinstance(value, str):
        geojson_path = os.path.join(os.path.dirname(os.path.abspath(path)), value)
        try:
            with open(geojson_path, encoding="utf-8") as handle:
                value = json.load(handle)
        except (OSError, ValueError) as exc:
            problems.add(line, "polygon", "cannot read GeoJSON file %s: %s" % (value, getattr(exc, "strerror", None) or exc))
            return None
    geometry, problem = _geometry(value)
    if problem:
        problems.add(line, "polygon", problem)
    return geometry


def read_own_places(path: str) -> list[OwnPlace]:
    """The own places of a CSV or YAML/JSON file, parents before children; TeamFileError
    lists every problem (file:line: field: reason)."""
    problems = Problems(path, WHAT)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        rows = list(_csv_rows(path, problems))
    elif extension in (".yml", ".yaml", ".json"):
        rows = list(_yaml_rows(path, problems))
    else:
        raise TeamFileError("%s: the %s must be .csv, .yml, .yaml or .json" % (path, WHAT))
    own_lines: dict[str, int] = {}
    for line, row in rows:
        own_id = (row.get("id") or "").strip()
        if own_id and own_id not in own_lines:
            own_lines[own_id] = line
    places: list[OwnPlace] = []
    for line, row in rows:
        place = _place(problems, path, line, row, own_lines)
        if place is not None:
            places.append(place)
    ordered = _parents_first(problems, places)
    problems.raise_if_any()
    return ordered


def _place(problems: Problems, path: str, line: int, row: dict[str, Any], own_lines: dict[str, int]) -> OwnPlace | None:
    before = len(problems.items)
    own_id = (row.get("id") or "").strip()
    if not own_id:
        problems.add(line, "id", "missing")
    elif not OWN_ID_RE.match(own_id):
        problems.add(line, "id", "%r is not 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'" % own_id)
    elif ISO_3166_1_RE.match(own_id) or ISO_3166_2_RE.match(own_id) or GEONAMEID_RE.match(own_id):
        problems.add(line, "id", "%r looks like an ISO code or a geonameid; a parent of that name would be "
                     "ambiguous" % own_id)
    elif own_lines.get(own_id) != line:
        problems.add(line, "id", "%s is already the id of the place at line %d" % (own_id, own_lines[own_id]))
    raw_name = row.get("name") or ""
    name = clean_name(raw_name)
    problem = name_problem(name) if raw_name.strip() else "missing"
    if problem:
        problems.add(line, "name", problem)
    elif len(raw_name.strip()) > NAME_MAX:
        problems.add(line, "name", "longer than %d characters" % NAME_MAX)
    elif name[0] in "=+-@" or "<" in name or ">" in name:
        problems.add(line, "name", "%r starts like a spreadsheet formula or holds markup" % name)
    slug = (row.get("slug") or "").strip() or None
    if slug is not None and (len(slug) > SLUG_MAX or not SLUG_RE.match(slug)):
        problems.add(line, "slug", "%r is not 1-%d characters of a-z, 0-9, - and _" % (slug, SLUG_MAX))
    raw_description = row.get("description") or ""
    description = clean_description(raw_description)
    if len(raw_description.strip()) > DESCRIPTION_MAX:
        problems.add(line, "description", "longer than %d characters" % DESCRIPTION_MAX)
    else:
        reason = description_problem(description)
        if reason:
            problems.add(line, "description", reason)
    latitude = _coordinate(problems, line, "latitude", row.get("latitude"), 90.0)
    longitude = _coordinate(problems, line, "longitude", row.get("longitude"), 180.0)
    if (row.get("latitude") in (None, "")) != (row.get("longitude") in (None, "")):
        problems.add(line, "latitude" if row.get("latitude") in (None, "") else "longitude",
                     "latitude and longitude go together")
    polygon = _polygon(problems, path, line, row.get("polygon"))
    parent = (row.get("parent") or "").strip() or None
    kind = None
    if parent is not None:
        kind = parent_kind(parent, own_lines)
        if kind is None:
            problems.add(line, "parent", "%r is neither an ISO 3166-1/3166-2 code, a geonameid, a geo_source_id "
                         "nor the id of a place in this file" % parent)
        elif kind == "own" and parent.split(":", 1)[-1] == own_id:
            problems.add(line, "parent", "a place cannot be its own parent")
    if len(problems.items) != before:
        return None
    if kind == "own" and parent is not None and parent.startswith("custom:"):
        parent = parent[len("custom:"):]
    return OwnPlace(own_id, name, parent, kind, slug, description, latitude, longitude, polygon, line)


def _parents_first(problems: Problems, places: list[OwnPlace]) -> list[OwnPlace]:
    """The places ordered so that an own parent comes before its children; cycles are problems."""
    by_id = {place.id: place for place in places}
    ordered: list[OwnPlace] = []
    state: dict[str, str] = {}

    def visit(place: OwnPlace, path: list[str]) -> bool:
        if state.get(place.id) == "done":
            return True
        if state.get(place.id) == "visiting":
            cycle = path[path.index(place.id):] + [place.id]
            problems.add(place.line, "parent", "cycle among own places: %s" % " -> ".join(cycle))
            return False
        state[place.id] = "visiting"
        ok = True
        if place.parent_kind == "own" and place.parent is not None:
            parent = by_id.get(place.parent)
            ok = parent is None or visit(parent, path + [place.id])
        state[place.id] = "done"
        if ok:
            ordered.append(place)
        return ok

    for place in sorted(places, key=lambda p: p.line):
        if state.get(place.id) != "done":
            visit(place, [])
    return ordered


# -- parents in the dataset ---------------------------------------------------------------------
def resolve_parents(path: str, places: list[OwnPlace],
                    find: Callable[[str, str], object]) -> tuple[list[OwnPlace], list[OwnPlace]]:
    """Set each place's ``resolved_parent`` (a geo_source_id, or None for the top).

    ``find(kind, value)`` returns the geo_source_id of the node a reference names, None when
    there is no such node (a problem), or FILTERED when it exists but the transform left it
    out (``countries``). Returns (kept places, left-out places); TeamFileError lists the
    unknown parents with file and line.
    """
    problems = Problems(path, WHAT)
    kept: list[OwnPlace] = []
    left_out: list[OwnPlace] = []
    dropped: set[str] = set()
    for place in places:  # parents first, so a dropped parent is known before its children
        if place.parent is None or place.parent_kind is None:
            place.resolved_parent = None
        elif place.parent_kind == "own":
            if place.parent in dropped:
                dropped.add(place.id)
                left_out.append(place)
                continue
            place.resolved_parent = "custom:%s" % place.parent
        else:
            found = find(place.parent_kind, place.parent)
            if found is FILTERED:
                dropped.add(place.id)
                left_out.append(place)
                continue
            if found is None:
                problems.add(place.line, "parent", "no node with the %s %s in the dataset"
                             % (PARENT_KINDS[place.parent_kind], place.parent))
                continue
            place.resolved_parent = found if isinstance(found, str) else None  # TOP: the top
        kept.append(place)
    problems.raise_if_any()
    return kept, left_out
