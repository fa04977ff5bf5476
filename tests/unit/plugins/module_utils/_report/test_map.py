# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's map: what a plan did per country, and the PNG itself (decoded, its size,
its pixels; no golden image)."""

from __future__ import annotations

import json
import os

import numpy
import pytest
from PIL import Image as image  # matplotlib's own dependency

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetError
from ansible_collections.geofoss.netbox.plugins.module_utils._report import map as run_map_module
from ansible_collections.geofoss.netbox.plugins.module_utils._report.map import (
    OUTCOME_COLOURS,
    DatasetCountries,
    MapError,
    country_outcomes,
    read_outlines,
    run_map,
)

GEODATA = os.environ.get("GEOFOSS_GEODATA", "")  # scripts/test sets it: the shared real data
ATTRIBUTES = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
              "longitude", "time_zone", "feature_code", "wikidata_id", "continent")


def node(sid, level, name, parent, **attributes):
    values = dict.fromkeys(ATTRIBUTES)
    values.update(attributes)
    return {"geo_source_id": sid, "level": level, "name": name, "slug": name.lower(), "parent": parent,
            "description": name, "attributes": values}


def box(west, south, east, north):
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                [west, south]]]}


NODES = [
    node("geonames:1", "country", "Aland", None, country_code="AA", iso_3166_1_alpha3="AAA"),
    node("geonames:2", "country", "Bland", None, country_code="BB", iso_3166_1_alpha3="BBB"),
    node("geonames:11", "admin1", "West", "geonames:1", country_code="AA"),
    node("geonames:21", "admin1", "North", "geonames:2", country_code="BB"),
]
# Aland and Bland side by side; Cland (outside the dataset) below them.
OUTLINES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"geo_source_id": "geonames:1", "name": "Aland", "country_code": "AA"},
     "geometry": box(0, 40, 10, 50)},
    {"type": "Feature", "properties": {"geo_source_id": "geonames:2", "name": "Bland", "country_code": "BB"},
     "geometry": {"type": "MultiPolygon",
                  "coordinates": [box(10, 40, 20, 50)["coordinates"], box(-60, 10, -59, 11)["coordinates"]]}},
    {"type": "Feature", "properties": {"geo_source_id": "geonames:9", "name": "Cland", "country_code": "CC"},
     "geometry": box(0, 30, 20, 40)},
]}


@pytest.fixture
def dataset(tmp_path):
    header = {"kind": "geofoss.netbox/dataset", "schema_version": 1, "generated_by": "tests",
              "levels": ["country", "admin1"], "counts": {}, "provenance": [], "filters": {},
              "side_files": {"admin0_polygons": "world.jsonl.admin0.geojson"}, "sha256_nodes": None}
    (tmp_path / "world.jsonl.admin0.geojson").write_text(json.dumps(OUTLINES), encoding="utf-8")
    path = tmp_path / "world.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in [header] + NODES) + "\n", encoding="utf-8")
    return str(path)


def write_plan(tmp_path, name, check_mode=False, **entries):
    path = tmp_path / name
    path.write_text(json.dumps(dict({"create": [], "update": [], "delete": [], "check_mode": check_mode}, **entries)),
                    encoding="utf-8")
    return str(path)


def pixels(path):
    """The PNG decoded: an array of height x width RGB values."""
    with image.open(path) as picture:
        return numpy.asarray(picture.convert("RGB"))


def rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def colour_count(picture, colour):
    return int((picture == rgb(colour)).all(axis=2).sum())


def differing(a, b):
    return int((a != b).any(axis=2).sum())


# -- what the plan did per country --------------------------------------------------------
def test_the_strongest_outcome_of_a_country_wins():
    countries = DatasetCountries()
    countries.country_of = {"geonames:1": "AA", "geonames:11": "AA", "geonames:2": "BB", "geonames:21": "BB",
                            "geonames:3": "DD"}
    countries.node_of = {"AA": "geonames:1", "BB": "geonames:2", "DD": "geonames:3", "EE": "geonames:4"}
    plan = {"create": [{"geo_source_id": "geonames:1"}, {"geo_source_id": "geonames:11"},
                       {"geo_source_id": "geonames:21"}],
            "update": [{"geo_source_id": "geonames:2"}],
            "delete": [{"geo_source_id": "geonames:99", "country_code": "DD"}, {"geo_source_id": "geonames:98"}]}
    outcomes, without_country = country_outcomes(plan, countries)
    # AA's own region created; BB updated with a region created below; DD lost a region;
    # EE untouched; the delete without a known country is counted, not guessed
    assert outcomes == {"AA": "created", "BB": "updated", "DD": "pruned", "EE": "unchanged"}
    assert without_country == 1


def test_a_region_created_below_an_existing_country_is_a_change_below_not_a_creation():
    countries = DatasetCountries()
    countries.country_of = {"geonames:1": "AA", "geonames:11": "AA"}
    countries.node_of = {"AA": "geonames:1"}
    assert country_outcomes({"create": [{"geo_source_id": "geonames:11"}]}, countries)[0] == {"AA": "updated"}


def test_a_pruned_country_the_dataset_no_longer_has_is_found_by_its_geonames_id():
    countries = DatasetCountries()
    countries.node_of = {"LU": "geonames:2960313"}
    plan = {"delete": [{"geo_source_id": "geonames:2802361", "name": "Belgium"}]}  # BE, dropped from the dataset
    assert country_outcomes(plan, countries) == ({"LU": "unchanged", "BE": "pruned"}, 0)


def test_outlines_of_a_natural_earth_file_match_minus_99_countries_by_alpha3():
    countries = DatasetCountries()
    countries.alpha3 = {"FRA": "FR", "NOR": "NO"}
    path = os.path.join(GEODATA, "naturalearth", "ne_50m_admin_0_countries.zip")
    codes = {code for code, _name, _geometry in read_outlines(path, countries)}
    without = {code for code, _name, _geometry in read_outlines(path)}
    assert {"FR", "NO", "DE"} <= codes
    assert "FR" not in without and "DE" in without  # ISO_A2 is -99 for France at 1:50m


# -- the picture ---------------------------------------------------------------------------
def test_the_png_decodes_at_the_asked_size_and_shows_what_the_run_did(dataset, tmp_path):
    created = write_plan(tmp_path, "a.plan.json", create=[{"geo_source_id": "geonames:1"}])
    result = run_map({"dest": str(tmp_path / "a.png"), "dataset": dataset, "plan_file": created,
                      "title": "run a", "size": [640, 400]})
    assert result["changed"] and result["path"] == str(tmp_path / "a.png")
    assert (result["width"], result["height"]) == (640, 400)
    assert result["countries"] == {"created": 1, "pruned": 0, "updated": 0, "unchanged": 1}
    assert result["outlines"].endswith(".admin0.geojson") and result["warnings"] == []
    picture = pixels(result["path"])
    assert picture.shape == (400, 640, 3)
    assert colour_count(picture, OUTCOME_COLOURS["created"]) > 1000
    assert colour_count(picture, OUTCOME_COLOURS["unchanged"]) > 1000
    assert colour_count(picture, OUTCOME_COLOURS["outside"]) > 1000  # Cland, not in the dataset
    assert colour_count(picture, OUTCOME_COLOURS["pruned"]) < 50  # none, but the legend's few pixels


def test_two_runs_with_different_outcomes_draw_different_pixels(dataset, tmp_path):
    first = run_map({"dest": str(tmp_path / "a.png"), "dataset": dataset, "title": "run",
                     "plan_file": write_plan(tmp_path, "a.json", create=[{"geo_source_id": "geonames:1"}])})
    second = run_map({"dest": str(tmp_path / "b.png"), "dataset": dataset, "title": "run",
                      "plan_file": write_plan(tmp_path, "b.json", delete=[{"geo_source_id": "geonames:21"}])})
    assert first["countries"]["created"] == 1 and second["countries"]["pruned"] == 1
    a, b = pixels(first["path"]), pixels(second["path"])
    assert a.shape == b.shape
    assert differing(a, b) > 1000
    assert colour_count(b, OUTCOME_COLOURS["pruned"]) > 1000


def test_the_same_run_leaves_the_file_alone_and_check_mode_writes_nothing(dataset, tmp_path):
    params = {"dest": str(tmp_path / "a.png"), "dataset": dataset, "title": "same"}
    assert run_map(params)["changed"] is True
    mtime = os.stat(params["dest"]).st_mtime_ns
    assert run_map(params)["changed"] is False
    assert os.stat(params["dest"]).st_mtime_ns == mtime
    assert run_map(dict(params, title="other"), check_mode=True)["changed"] is True
    assert os.stat(params["dest"]).st_mtime_ns == mtime
    assert run_map(dict(params, dest=str(tmp_path / "b.png")), check_mode=True)["changed"] is True
    assert not os.path.exists(str(tmp_path / "b.png"))


def test_sites_are_coloured_by_placement_and_the_unplaced_marked(dataset, tmp_path):
    sites_file = tmp_path / "sites.json"
    sites = [{"name": "s%d" % i, "latitude": 45.0, "longitude": 1.0 + i, "method": "city"} for i in range(5)]
    sites.append({"name": "far", "latitude": 35.0, "longitude": 5.0, "method": None, "reason": "outside_dataset"})
    sites.append({"name": "nowhere", "latitude": None, "longitude": None, "method": None})
    sites_file.write_text(json.dumps({"sites": sites}), encoding="utf-8")
    without = run_map({"dest": str(tmp_path / "a.png"), "dataset": dataset, "title": "sites"})
    result = run_map({"dest": str(tmp_path / "b.png"), "dataset": dataset, "sites_file": str(sites_file),
                      "title": "sites"})
    assert result["sites"] == {"city": 5, "unplaced": 2}
    a, b = pixels(without["path"]), pixels(result["path"])
    assert differing(a, b) > 100
    assert colour_count(b, run_map_module.PLACEMENT_STYLES["unplaced"][0]) > 20


def test_without_outlines_the_map_still_draws_and_says_which_file_would_shade_it(tmp_path):
    header = {"kind": "geofoss.netbox/dataset", "schema_version": 1, "generated_by": "tests", "levels": ["country"],
              "counts": {}, "provenance": [], "filters": {}, "side_files": {}, "sha256_nodes": None}
    path = tmp_path / "bare.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in [header] + NODES[:2]) + "\n", encoding="utf-8")
    result = run_map({"dest": str(tmp_path / "bare.png"), "dataset": str(path), "title": "bare"})
    assert result["outlines"] is None
    assert any("admin_0_countries" in warning for warning in result["warnings"])
    assert pixels(result["path"]).shape == (900, 1600, 3)


def test_a_plan_file_that_is_not_json_is_named(dataset, tmp_path):
    bad = tmp_path / "bad.plan.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(MapError, match="plan file .*bad.plan.json is not JSON"):
        run_map({"dest": str(tmp_path / "x.png"), "dataset": dataset, "plan_file": str(bad)})
    assert not os.path.exists(str(tmp_path / "x.png"))


def test_an_invalid_node_fails_with_its_file_and_line_as_the_sync_would(dataset, tmp_path):
    lines = open(dataset, encoding="utf-8").read().splitlines()
    broken = json.loads(lines[3])
    broken["slug"] = "Not A Slug"
    lines[3] = json.dumps(broken)
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"broken\.jsonl:4: .*slug"):
        run_map({"dest": str(tmp_path / "x.png"), "dataset": str(path)})
    assert not os.path.exists(str(tmp_path / "x.png"))


def test_a_map_too_small_to_read_is_refused(dataset, tmp_path):
    with pytest.raises(MapError, match="at least 200 x 150"):
        run_map({"dest": str(tmp_path / "x.png"), "dataset": dataset, "size": [100, 100]})
