# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site placement in a team's own places: their polygons first, then their points."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndex, read_polygons

from geo_fixtures import box, node, world_nodes, world_polygons

CAMPUS = node("custom:campus", "custom", "Campus", "aa-campus", "geonames:11", country_code="AA")
DEPOT = node("custom:depot", "custom", "Depot", "aa-depot", "geonames:12", country_code="AA",
             latitude=10.5, longitude=20.5)
# a building on the campus, and one outside it whose point is near the campus too
HALL = node("custom:hall", "custom", "Hall", "aa-hall", "custom:campus", country_code="AA",
            latitude=9.96, longitude=19.86)
ANNEX = node("custom:annex", "custom", "Annex", "aa-annex", "geonames:11", country_code="AA",
             latitude=9.97, longitude=19.84)


def polygons(tmp_path, name, collection, by_id, level):
    path = tmp_path / name
    path.write_text(json.dumps(collection), encoding="utf-8")
    return read_polygons(str(path), by_id, level)


@pytest.fixture(name="index")
def index_with_own_places(tmp_path):
    nodes = world_nodes() + [CAMPUS, DEPOT, HALL, ANNEX]
    by_id = {n["geo_source_id"]: n for n in nodes}
    own = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"geo_source_id": "custom:campus"}, "geometry": box(19.85, 9.95, 19.95, 10.05)},
        {"type": "Feature", "properties": {"geo_source_id": "geonames:11"}, "geometry": box(0, 0, 1, 1)},
    ]}
    return GeoIndex(nodes, polygons=polygons(tmp_path, "admin1.geojson", world_polygons(), by_id, "admin1"),
                    own_polygons=polygons(tmp_path, "custom.geojson", own, by_id, "custom"))


def test_own_polygon_beats_the_city_inside_it(index):
    placement = index.locate(10.0, 19.9, city_radius_km=1)  # Westford lies inside the campus
    assert (placement.node["geo_source_id"], placement.method) == ("custom:campus", "own_polygon")
    assert placement.division["geo_source_id"] == "geonames:11"


def test_a_point_place_of_the_polygon_place_is_deeper(index):
    placement = index.locate(9.961, 19.861, city_radius_km=1)  # on the campus, next to its hall
    assert (placement.node["geo_source_id"], placement.method) == ("custom:hall", "own_place")


def test_a_point_place_outside_the_polygon_does_not_take_its_sites(index):
    placement = index.locate(9.968, 19.851, city_radius_km=1)  # on the campus; only the annex (outside) is near
    assert (placement.node["geo_source_id"], placement.method) == ("custom:campus", "own_polygon")
    placement = index.locate(9.968, 19.845, city_radius_km=1)  # off the campus, by the annex
    assert (placement.node["geo_source_id"], placement.method) == ("custom:annex", "own_place")


def test_own_polygon_features_match_own_places_only(index):
    assert len(index.own_polygons) == 1  # the feature naming a division is not an own place


def test_nearest_own_place_within_the_city_radius(index):
    placement = index.locate(10.52, 20.5)
    assert (placement.node["geo_source_id"], placement.method) == ("custom:depot", "own_place")
    assert placement.distance_km < 3


def test_far_from_own_places_the_usual_choice(index):
    placement = index.locate(10.0, 20.05, city_radius_km=5)
    assert (placement.node["geo_source_id"], placement.method) == ("geonames:121", "city")
