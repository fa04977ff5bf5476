# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A team's own places: CSV or YAML, every problem as file:line: field, parents resolved."""

from __future__ import annotations

import json
import textwrap

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.own_places import (
    FILTERED, read_own_places, resolve_parents,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.team_files import TeamFileError

SQUARE = {"type": "Polygon", "coordinates": [[[8.5, 50.0], [8.8, 50.0], [8.8, 50.2], [8.5, 50.2], [8.5, 50.0]]]}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def problems(path):
    with pytest.raises(TeamFileError) as error:
        read_own_places(path)
    return [(e["line"], e["field"], e["reason"]) for e in error.value.errors]


def test_csv(tmp_path):
    path = write(tmp_path, "own.csv", """\
        id,name,parent,slug,description,latitude,longitude
        fra-dc1,FRA DC 1,fra-metro,,Data centre,50.1,8.6
        fra-metro,Frankfurt Metro,DE-HE,frankfurt-metro,,50.11,8.68
        emea-customers,EMEA customers,,,,,
        berlin-campus,Berlin Campus,2950159,,,,
        nordics-sales,Nordic sales,custom:emea,,,,
        """)
    places = read_own_places(path)
    assert [p.id for p in places] == ["fra-metro", "fra-dc1", "emea-customers", "berlin-campus", "nordics-sales"]
    metro, dc1, customers, campus, sales = places
    assert (metro.geo_source_id, metro.name, metro.slug, metro.parent, metro.parent_kind) == (
        "custom:fra-metro", "Frankfurt Metro", "frankfurt-metro", "DE-HE", "iso_3166_2")
    assert (metro.latitude, metro.longitude, metro.line) == (50.11, 8.68, 3)
    assert (dc1.parent, dc1.parent_kind, dc1.slug, dc1.description) == ("fra-metro", "own", None, "Data centre")
    assert (customers.parent, customers.parent_kind) == (None, None)
    assert campus.parent_kind == "geonameid"
    assert sales.parent_kind == "geo_source_id"


def test_yaml_with_inline_and_file_polygons(tmp_path):
    (tmp_path / "campus.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": SQUARE}]}), encoding="utf-8")
    path = write(tmp_path, "own.yml", """\
        - id: campus
          name: Campus
          parent: DE
          polygon: campus.geojson
        - id: yard
          name: Yard
          parent: custom:campus
          polygon: {type: Polygon, coordinates: [[[8.5, 50.0], [8.6, 50.0], [8.6, 50.1], [8.5, 50.0]]]}
        """)
    campus, yard = read_own_places(path)
    assert campus.polygon == SQUARE and campus.parent_kind == "iso_3166_1"
    assert yard.parent == "campus" and yard.parent_kind == "own" and yard.polygon["type"] == "Polygon"


def test_yaml_places_key_and_json(tmp_path):
    path = write(tmp_path, "own.yaml", "places:\n  - {id: a, name: A, parent: FR}\n")
    assert [p.id for p in read_own_places(path)] == ["a"]
    path = write(tmp_path, "own.json", json.dumps([{"id": "b", "name": "B", "parent": None}]))
    assert read_own_places(path)[0].parent is None


def test_csv_problems_name_line_and_field(tmp_path):
    path = write(tmp_path, "own.csv", """\
        id,name,parent,latitude,longitude,slug
        a,A,DE,95,8,
        b,B,DE,50,,
        a,Again,DE,,,
        c,=SUM(A1),DE,,,
        d,D,nowhere at all,,,
        DE,Germany again,,,,
        e,E,DE,,,Bad Slug
        f,F,f,,,
        """)
    assert problems(path) == [
        (2, "latitude", "'95' is out of range -90..90"),
        (3, "longitude", "latitude and longitude go together"),
        (4, "id", "a is already the id of the place at line 2"),
        (5, "name", "'=SUM(A1)' starts like a spreadsheet formula or holds markup"),
        (6, "parent", "'nowhere at all' is neither an ISO 3166-1/3166-2 code, a geonameid, a geo_source_id "
                      "nor the id of a place in this file"),
        (7, "id", "'DE' looks like an ISO code or a geonameid; a parent of that name would be ambiguous"),
        (8, "slug", "'Bad Slug' is not 1-100 characters of a-z, 0-9, - and _"),
        (9, "parent", "a place cannot be its own parent"),
    ]


def test_the_message_names_file_line_field(tmp_path):
    path = write(tmp_path, "own.csv", "id,name,parent\na,A,DE\nb,,DE\n")
    with pytest.raises(TeamFileError) as error:
        read_own_places(path)
    assert error.value.message == "1 problem in the own places file, nothing written: %s:3: name: missing" % path


def test_cycle(tmp_path):
    path = write(tmp_path, "own.csv", "id,name,parent\na,A,c\nb,B,a\nc,C,b\nd,D,DE\n")
    found = problems(path)
    assert len(found) == 1 and found[0][1] == "parent" and "cycle among own places" in found[0][2]
    assert "a -> c -> b -> a" in found[0][2]


@pytest.mark.parametrize("header, reason", [
    ("id,name,parent,lat", "unknown column"),
    ("id,name", "missing column"),
    ("id,name,parent,name", "column given twice"),
])
def test_bad_header(tmp_path, header, reason):
    path = write(tmp_path, "own.csv", header + "\n")
    assert problems(path)[0][0] == 1 and reason in problems(path)[0][2]


def test_wrong_field_count(tmp_path):
    path = write(tmp_path, "own.csv", "id,name,parent\na,A\n")
    assert problems(path) == [(2, None, "2 fields, the header has 3")]


@pytest.mark.parametrize("polygon, reason", [
    ({"type": "Point", "coordinates": [8, 50]}, "must be a GeoJSON Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": [[[8, 50], [9, 50], [8, 50]]]}, "at least 4 positions"),
    ({"type": "Polygon", "coordinates": [[[8, 50], [9, 50], [9, 51], [8, 51]]]}, "end where it starts"),
    ({"type": "Polygon", "coordinates": [[[8, 95], [9, 50], [9, 51], [8, 95]]]}, "outside"),
    ({"type": "MultiPolygon", "coordinates": [[[["x", 50], [9, 50], [9, 51], ["x", 50]]]]}, "numbers"),
    ("missing.geojson", "cannot read GeoJSON file missing.geojson"),
])
def test_bad_polygons(tmp_path, polygon, reason):
    path = write(tmp_path, "own.yml", "- id: a\n  name: A\n  parent: DE\n  polygon: %s\n" % json.dumps(polygon))
    found = problems(path)
    assert found[0][:2] == (1, "polygon") and reason in found[0][2], found


def test_unknown_key_in_yaml(tmp_path):
    path = write(tmp_path, "own.yml", "- id: a\n  name: A\n  parnet: DE\n")
    assert problems(path) == [(3, "parnet", "unknown key (keys: id, name, parent, slug, description, latitude, "
                                            "longitude, polygon)")]


def test_unsupported_extension(tmp_path):
    with pytest.raises(TeamFileError, match="must be .csv, .yml, .yaml or .json"):
        read_own_places(write(tmp_path, "own.txt", "x"))


def test_resolve_parents(tmp_path):
    path = write(tmp_path, "own.csv", """\
        id,name,parent
        metro,Metro,DE-HE
        dc,DC,metro
        far,Far,FR
        farther,Farther,far
        lost,Lost,DE-ZZ
        """)
    places = read_own_places(path)
    known = {("iso_3166_2", "DE-HE"): "geonames:2905330", ("iso_3166_1", "FR"): FILTERED}

    def find(kind, value):
        return known.get((kind, value))

    with pytest.raises(TeamFileError) as error:
        resolve_parents(path, places, find)
    assert error.value.errors == [{"file": path, "line": 6, "field": "parent",
                                   "reason": "no node with the ISO 3166-2 code DE-ZZ in the dataset"}]
    kept, left_out = resolve_parents(path, places[:4], find)
    assert [(p.id, p.resolved_parent) for p in kept] == [("metro", "geonames:2905330"), ("dc", "custom:metro")]
    assert [p.id for p in left_out] == ["far", "farther"]
