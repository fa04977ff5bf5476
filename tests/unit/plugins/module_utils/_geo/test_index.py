# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.geofoss.netbox.plugins.module_utils._geo import index as _geoindex
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import (
    GeoIndex,
    GeoIndexError,
    PointIndex,
    haversine_km,
    load_index,
    read_polygons,
)

from ansible_collections.geofoss.netbox.tests.unit.plugins.module_utils.geo_fixtures import world_nodes, world_polygons, write_dataset

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


def test_haversine_known_distance():
    # Berlin - Munich is about 504 km
    assert 500 < haversine_km(52.52, 13.405, 48.137, 11.575) < 510
    assert haversine_km(10, 20, 10, 20) == 0


@settings(max_examples=300, deadline=None)
@given(points=st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=40),
       query=st.tuples(latitudes, longitudes), radius=st.floats(min_value=0, max_value=3000))
def test_point_index_matches_brute_force(points, query, radius):
    index = PointIndex(cell_deg=1.0)
    for number, (lat, lon) in enumerate(points):
        index.add(lat, lon, number)
    brute = sorted((haversine_km(query[0], query[1], lat, lon), n) for n, (lat, lon) in enumerate(points))
    within = index.within(query[0], query[1], radius)
    assert sorted(n for d, n in within) == sorted(n for d, n in brute if d <= radius)
    nearest = index.nearest(query[0], query[1])
    assert nearest is not None and nearest[0] == pytest.approx(brute[0][0])
    assert index.any_within(query[0], query[1], radius) == any(d <= radius for d, n in brute)


def test_nearest_across_the_antimeridian_and_limit():
    index = PointIndex()
    index.add(0.0, 179.9, "east")
    index.add(0.0, 170.0, "far")
    distance, item = index.nearest(0.0, -179.9)
    assert item == "east" and distance < 25
    assert index.nearest(0.0, 0.0, max_km=1000) is None


def test_polygons_match_by_source_id_and_iso_code(tmp_path):
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps(world_polygons()))
    nodes = {n["geo_source_id"]: n for n in world_nodes()}
    polygons = read_polygons(str(path), nodes)
    assert len(polygons) == 2  # the unmatched feature is left out
    assert polygons.covering(10.0, 19.5) == ["geonames:11"]
    assert polygons.covering(10.0, 20.5) == ["geonames:12"]
    assert polygons.covering(30.0, 30.0) == []


def test_bad_polygons_file_is_named(tmp_path):
    path = tmp_path / "p.geojson"
    path.write_text("{not json")
    with pytest.raises(GeoIndexError, match="p.geojson"):
        read_polygons(str(path), {})
    path.write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(GeoIndexError, match="not a GeoJSON FeatureCollection"):
        read_polygons(str(path), {})


def test_load_index_reads_side_file_and_caches_per_mtime(tmp_path):
    path = write_dataset(tmp_path, polygons=world_polygons())
    first = load_index(path)
    assert first.polygons is not None and len(first.polygons) == 2
    assert load_index(path) is first
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_index(path) is not first


def test_side_file_found_next_to_dataset_without_header_entry(tmp_path):
    path = write_dataset(tmp_path, polygons=world_polygons(), side_file=False)
    assert load_index(path).polygons is not None
    assert load_index(path, polygons_path="").polygons is None


def test_bad_dataset_line_is_named(tmp_path):
    path = write_dataset(tmp_path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"geo_source_id": "geonames:9", "level": "city"}\n')
    with pytest.raises(GeoIndexError, match=r"world.jsonl:11"):
        load_index(path)


def test_missing_dataset_is_named(tmp_path):
    with pytest.raises(GeoIndexError, match="nothere.jsonl"):
        load_index(str(tmp_path / "nothere.jsonl"))


def test_division_and_country_of_a_city():
    index = GeoIndex(world_nodes())
    city = index.nodes["geonames:121"]
    assert index.division_of(city)["name"] == "East"
    assert index.country_of(city)["name"] == "Aland"
    assert index.countries_of_time_zone("Africa/Ndjamena") == {"AA"}


def test_time_zone_at_uses_timezonefinder():
    if _geoindex.TimezoneFinder is None:
        pytest.skip("timezonefinder not installed")
    assert _geoindex.time_zone_at(52.52, 13.405) == "Europe/Berlin"
