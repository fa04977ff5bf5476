# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import json
import os

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._geo import index as _geoindex
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndex, load_index
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.nominatim import NominatimSearch
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sites import (
    ManagedRegions,
    SitesError,
    coordinate_problem,
    filter_params,
    geocode_sites,
    plan_sites,
    write_sites_file,
    run,
    run_module,
)

from geo_fixtures import (
    border_world_nodes,
    country_polygons,
    managed_regions,
    node,
    world_nodes,
    world_polygons,
    write_dataset,
)
from scripted_http import ScriptedServer, Step


@pytest.fixture
def index(tmp_path):
    return load_index(write_dataset(tmp_path, polygons=world_polygons()))


@pytest.fixture
def flat_index(tmp_path):
    """The same world without polygons."""
    return load_index(write_dataset(tmp_path, name="flat.jsonl"))


@pytest.fixture(autouse=True)
def fixed_time_zone(monkeypatch):
    """timezonefinder stands in for places without a time zone; a fake keeps tests exact."""
    monkeypatch.setattr(_geoindex, "time_zone_at", lambda lat, lon: "Etc/GMT-1")


def site(site_id, lat, lon, region=None, time_zone=None, address=""):
    return {"id": site_id, "name": "site-%d" % site_id, "slug": "site-%d" % site_id, "latitude": lat,
            "longitude": lon, "region": None if region is None else {"id": region}, "time_zone": time_zone,
            "physical_address": address}


# ---------------------------------------------------------------- region choice
def test_city_in_same_division_wins_over_a_nearer_city_across_the_border(index):
    # 19.99E is in West: Eastby (20.05E) is nearer than Westford (19.9E) but across the border
    placement = index.locate(10.0, 19.99, city_radius_km=30)
    assert placement.node["name"] == "Westford" and placement.method == "city"
    assert 9 < placement.distance_km < 11


def test_city_across_the_border_loses_to_the_containing_division(index):
    placement = index.locate(10.0, 19.99, city_radius_km=8)  # only Eastby is within 8 km
    assert placement.node["name"] == "West" and placement.method == "polygon"


def test_without_polygons_the_nearest_city_wins(flat_index):
    placement = flat_index.locate(10.0, 19.99, city_radius_km=30)
    assert placement.node["name"] == "Eastby"


def test_fallback_to_nearest_division_centre(flat_index):
    placement = flat_index.locate(10.5, 20.6, city_radius_km=5)
    assert placement.node["name"] == "East" and placement.method == "division_centre"


def test_division_without_centre_is_represented_by_its_cities():
    nodes = world_nodes()
    for item in nodes:
        if item["level"] == "admin1":
            item["attributes"].update(latitude=None, longitude=None)  # as GeoNames' admin1 table has them
    placement = GeoIndex(nodes).locate(9.3, 19.0, city_radius_km=5)  # 30 km from Springfield (West)
    assert placement.node["name"] == "West" and placement.method == "division_centre"
    assert 25 < placement.distance_km < 35


def test_fallback_to_the_country_without_divisions(index):
    placement = index.locate(40.5, 40.5, city_radius_km=5)  # Bland has no divisions
    assert placement.node["name"] == "Bland" and placement.method == "country"


@pytest.fixture
def border_index(tmp_path):
    """Aland's division polygons and the admin-0 polygons of Aland, Bland and Cland."""
    return load_index(write_dataset(tmp_path, border_world_nodes(), polygons=world_polygons(),
                                    country_polygons=country_polygons(), name="border.jsonl"))


def test_admin0_side_file_is_loaded_and_matched_by_id_and_iso_code(border_index):
    assert len(border_index.country_polygons) == 3  # the -99 feature matches no country
    assert border_index.containing_country(10.0, 22.0)["name"] == "Cland"
    assert border_index.containing_country(10.0, 19.5)["name"] == "Aland"
    assert border_index.containing_country(0.5, 0.5) is None


def test_a_city_across_a_country_border_is_not_chosen(tmp_path, border_index):
    # 10N 21.02E lies in Cland: Borderton (Aland, 4 km) is nearer than Ctown (Cland, 31 km)
    placement = border_index.locate(10.0, 21.02, city_radius_km=40)
    assert placement.node["name"] == "Ctown" and placement.method == "city"
    without = load_index(write_dataset(tmp_path, border_world_nodes(), polygons=world_polygons(), name="no-admin0.jsonl"))
    assert without.locate(10.0, 21.02, city_radius_km=40).node["name"] == "Borderton"


def test_the_containing_country_beats_a_division_centre_across_the_border(border_index):
    # no Cland city within 5 km and Cland has no divisions: East's centre (57 km) is Aland's
    placement = border_index.locate(10.0, 21.02, city_radius_km=5)
    assert placement.node["name"] == "Cland" and placement.method == "country_polygon"


def test_the_containing_country_places_a_point_far_from_every_place(border_index, index):
    # 48N 48E: ~1,000 km from Bcity, but inside Bland's polygon
    assert index.locate(48.0, 48.0, max_distance_km=500) is None
    placement = border_index.locate(48.0, 48.0, max_distance_km=500)
    assert placement.node["name"] == "Bland" and placement.method == "country_polygon"


def test_country_polygons_can_be_turned_off(tmp_path):
    path = write_dataset(tmp_path, border_world_nodes(), country_polygons=country_polygons())
    assert load_index(path).country_polygons is not None
    assert load_index(path, country_polygons_path="").country_polygons is None


def test_point_far_from_every_place_is_not_placed(index):
    assert index.locate(-40.0, -100.0, max_distance_km=500) is None


# ---------------------------------------------------------------- time zones
def test_time_zone_of_the_city(index):
    placement = index.locate(10.0, 20.06)
    assert index.time_zone_for(placement, 10.0, 20.06) == "Africa/Ndjamena"


def test_division_without_time_zone_uses_timezonefinder(index):
    placement = index.locate(10.9, 19.1, city_radius_km=5)
    assert placement.node["name"] == "West"
    assert index.time_zone_for(placement, 10.9, 19.1) == "Etc/GMT-1"


def test_country_placement_prefers_the_point_over_the_country_zone(index, monkeypatch):
    placement = index.locate(40.5, 40.5, city_radius_km=5)
    assert index.time_zone_for(placement, 40.5, 40.5) == "Etc/GMT-1"
    monkeypatch.setattr(_geoindex, "time_zone_at", lambda lat, lon: None)  # no timezonefinder
    assert index.time_zone_for(placement, 40.5, 40.5) == "Asia/Tbilisi"


# ---------------------------------------------------------------- bad coordinates
@pytest.mark.parametrize("lat, lon, reason", [
    (0.0, 0.0, "zero"),
    (95.0, 20.0, "out_of_range"),
    (10.0, 181.0, "out_of_range"),
    (float("nan"), 3.0, "not_a_number"),
])
def test_unusable_coordinates(lat, lon, reason):
    assert coordinate_problem(lat, lon)[0] == reason


def test_swapped_coordinates_with_the_site_country(index):
    problem = coordinate_problem(20.0, 10.0, index, "AA")
    assert problem[0] == "swapped" and "20.0" in problem[1]
    assert coordinate_problem(10.0, 20.1, index, "AA") is None


def test_swapped_coordinates_without_a_country(index):
    assert coordinate_problem(20.0, 10.0, index)[0] == "swapped"
    # far from everything, and so is the swapped point: not called swapped
    assert coordinate_problem(-40.0, -70.0, index) is None


# ---------------------------------------------------------------- the plan
def plan(index, sites, **options):
    return plan_sites(sites, index, ManagedRegions(managed_regions()), **options)


def test_plan_fills_region_and_time_zone(index):
    result = plan(index, [site(1, 10.0, 20.06), site(2, 10.9, 19.1)])
    assert result.updates == [
        {"id": 1, "region": 1121, "time_zone": "Africa/Ndjamena"},
        {"id": 2, "region": 1011, "time_zone": "Etc/GMT-1"},
    ]
    assert result.counts["updated"] == 2
    assert result.changes[0]["method"] == "city" and result.changes[1]["method"] == "polygon"


def test_every_site_is_in_the_sites_file_placed_or_with_its_reason(index, tmp_path):
    sites = [site(1, 10.0, 20.06), site(2, 10.9, 19.1, region=1011, time_zone="Etc/GMT-1"), site(3, None, None),
             site(4, -40.0, -70.0), site(5, 95.0, 20.0)]
    result = plan(index, sites)
    by_id = {p["id"]: p for p in result.placements}
    assert sorted(by_id) == [1, 2, 3, 4, 5]  # the unchanged site 2 too: the map shows every site
    assert (by_id[1]["method"], by_id[1]["placed_in"]) == ("city", "geonames:121")
    assert by_id[2]["method"] == "polygon" and by_id[2]["reason"] is None
    assert by_id[3] == {"id": 3, "name": "site-3", "latitude": None, "longitude": None, "method": None,
                        "placed_in": None, "reason": "no_coordinates"}
    assert by_id[4]["reason"] == "outside_dataset" and by_id[4]["latitude"] == -40.0
    assert by_id[5]["method"] is None and by_id[5]["reason"]
    write_sites_file(str(tmp_path / "sites.json"), result)
    written = json.loads((tmp_path / "sites.json").read_text())
    assert written["kind"] == "geofoss.netbox/sites" and written["sites"] == result.placements


def test_plan_only_fills_empty_fields_without_overwrite(index):
    sites = [site(1, 10.0, 20.06, region=1001, time_zone="Europe/Paris"), site(2, 10.0, 20.06, region=1001)]
    result = plan(index, sites)
    assert result.updates == [{"id": 2, "time_zone": "Africa/Ndjamena"}]
    assert result.counts["unchanged"] == 1
    result = plan(index, sites, overwrite=True)
    assert [u["region"] for u in result.updates] == [1121, 1121]
    assert result.changes[0]["before"] == {"region": 1001, "time_zone": "Europe/Paris"}


def test_plan_applied_once_changes_nothing_the_second_time(index):
    sites = [site(n, 10.0 + n / 100.0, 19.2 + n / 50.0) for n in range(1, 60)]
    first = plan(index, sites)
    assert first.updates
    by_id = {u["id"]: u for u in first.updates}
    for item in sites:
        update = by_id.get(item["id"], {})
        if "region" in update:
            item["region"] = {"id": update["region"]}
        item["time_zone"] = update.get("time_zone", item["time_zone"])
    second = plan(index, sites)
    assert second.updates == [] and second.counts["unchanged"] == len(sites)


def test_plan_uses_the_deepest_managed_region(index):
    regions = ManagedRegions(managed_regions(("geonames:1", "geonames:11", "geonames:12")))
    result = plan_sites([site(1, 10.0, 20.06)], index, regions)
    assert result.updates[0]["region"] == 1012  # Eastby is not in NetBox: its division is
    result = plan_sites([site(1, 10.0, 20.06)], index, ManagedRegions(managed_regions(("geonames:2",))))
    assert result.updates == [] and result.counts["unmanaged_region"] == 1


def test_plan_switches(index):
    result = plan(index, [site(1, 10.0, 20.06)], assign_region=False)
    assert result.updates == [{"id": 1, "time_zone": "Africa/Ndjamena"}]
    result = plan(index, [site(1, 10.0, 20.06)], set_time_zone=False)
    assert result.updates == [{"id": 1, "region": 1121}]


def test_plan_skips_bad_coordinates_with_a_warning_each(index):
    sites = [site(1, 0, 0), site(2, 95.0, 3.0), site(3, 20.0, 10.0, region=1001), site(4, None, None),
             site(5, -40.0, -100.0), site(6, 10.0, 20.06)]
    result = plan(index, sites)
    assert result.counts["bad_coordinates"] == 3
    assert result.counts["no_coordinates"] == 1
    assert result.counts["outside_dataset"] == 1
    assert [u["id"] for u in result.updates] == [6]
    assert len(result.warnings) == 4
    assert "site-3 (id 3)" in result.warnings[2] and "swapped" in result.warnings[2]
    assert [s["reason"] for s in result.skipped] == ["zero", "out_of_range", "swapped", "outside_dataset"]


def test_string_coordinates_as_netbox_returns_them(index):
    result = plan(index, [site(1, "10.000000", "20.060000")])
    assert result.updates[0]["region"] == 1121
    result = plan(index, [site(2, "north", "20")])
    assert result.skipped[0]["reason"] == "not_a_number"


# ---------------------------------------------------------------- geocoding
class FakeSearcher:
    def __init__(self, answers):
        self.answers = answers
        self.queries = []

    def search(self, query):
        self.queries.append(query)
        answer = self.answers.get(query)
        if isinstance(answer, Exception):
            raise answer
        return answer or []


def test_geocoding_only_sites_with_address_and_no_coordinates(index):
    searcher = FakeSearcher({"1 Main Street\nEastby": [], "1 Main Street Eastby": [
        {"lat": "10.001", "lon": "20.051", "display_name": "Eastby", "address": {"country_code": "aa"}}],
        "Broken": RuntimeError("HTTP 503 from nominatim")})
    sites = [site(1, None, None, address="1 Main Street\nEastby"), site(2, 10.0, 20.0, address="x"),
             site(3, None, None), site(4, None, None, address="Broken"), site(5, None, None, address="Nowhere")]
    warnings = []
    found = geocode_sites(sites, searcher, warnings)
    assert searcher.queries == ["1 Main Street Eastby", "Broken", "Nowhere"]
    assert found == {1: {"latitude": 10.001, "longitude": 20.051, "country_code": "AA", "display_name": "Eastby"}}
    assert len(warnings) == 2 and "HTTP 503" in warnings[0] and "Nowhere" in warnings[1]
    result = plan(index, sites, geocoded=found)
    update = next(u for u in result.updates if u["id"] == 1)
    assert update == {"id": 1, "region": 1121, "time_zone": "Africa/Ndjamena", "latitude": 10.001, "longitude": 20.051}


def test_geocoded_point_swapped_relative_to_its_country_is_skipped(index):
    found = {1: {"latitude": 20.0, "longitude": 10.0, "country_code": "AA", "display_name": "?"}}
    result = plan(index, [site(1, None, None, address="somewhere")], geocoded=found)
    assert result.updates == [] and result.skipped[0]["reason"] == "swapped"


def berlin_answer():
    """The real Nominatim answer for Berlin from the shared geodata, else skip."""
    path = os.path.join(os.environ.get("GEOFOSS_GEODATA", ""), "nominatim", "search-berlin-jsonv2.json")
    if not os.path.isfile(path):
        pytest.skip("GEOFOSS_GEODATA/nominatim/search-berlin-jsonv2.json not available")
    with open(path, "rb") as handle:
        return handle.read()


def test_geocoding_through_a_local_nominatim_then_placing(tmp_path):
    germany = GeoIndex([
        node("geonames:2921044", "country", "Germany", "germany", None, country_code="DE", latitude=51.5,
             longitude=10.5, time_zone="Europe/Berlin"),
        node("geonames:2950157", "admin1", "Berlin", "de-berlin", "geonames:2921044", country_code="DE",
             latitude=52.5, longitude=13.4),
        node("geonames:2950159", "city", "Berlin", "de-berlin-city", "geonames:2950157", country_code="DE",
             latitude=52.52437, longitude=13.41053, time_zone="Europe/Berlin"),
    ])
    regions = ManagedRegions([{"id": 5, "slug": "germany", "custom_fields": {"geo_source_id": "geonames:2921044"}},
                              {"id": 6, "slug": "de-berlin-city", "custom_fields": {"geo_source_id": "geonames:2950159"}}])
    sites = [site(1, None, None, address="Unter den Linden 1, Berlin")]
    with ScriptedServer() as server:
        server.add("/search", Step(body=berlin_answer(), headers={"Content-Type": "application/json"}))
        searcher = NominatimSearch(HttpClient(retries=0), server.url("/"), user_agent="geofoss-tests/1 (t@example.com)",
                                   cache_dir=str(tmp_path / "cache"), cache_ttl=3600, rate_limit=0)
        warnings = []
        found = geocode_sites(sites, searcher, warnings)
        again = geocode_sites(sites, searcher, [])
        hits = server.hits("/search")
    assert warnings == [] and again == found
    assert len(hits) == 1  # the second run was answered from the cache
    assert "q=Unter+den+Linden+1%2C+Berlin" in hits[0].path
    assert hits[0].headers["User-Agent"] == "geofoss-tests/1 (t@example.com)"
    assert found[1]["country_code"] == "DE" and found[1]["latitude"] == pytest.approx(52.5170365)
    result = plan_sites(sites, germany, regions, geocoded=found)
    assert result.updates == [{"id": 1, "region": 6, "time_zone": "Europe/Berlin",
                               "latitude": 52.517037, "longitude": 13.38886}]


def test_geocoding_stops_when_the_server_blocks(tmp_path):
    sites = [site(n, None, None, address="street %d" % n) for n in range(1, 4)]
    with ScriptedServer() as server:
        server.add("/search", Step(status=429, body=b"slow down"))
        searcher = NominatimSearch(HttpClient(retries=0), server.url("/"), user_agent="geofoss-tests/1",
                                   rate_limit=0)
        warnings = []
        assert geocode_sites(sites, searcher, warnings) == {}
        assert len(server.hits("/search")) == 1
    assert "429" in warnings[0] and warnings[1].startswith("geocoding stopped")


# ---------------------------------------------------------------- run against a fake NetBox
class FakeNetBox:
    batch_size = 200

    def __init__(self, sites, regions):
        self.sites = {s["id"]: copy.deepcopy(s) for s in sites}
        self.regions = regions
        self.patches = []
        self.reads = []
        self.request_ids = []
        self.lacking = []  # permissions the token lacks, as missing_permissions names them
        self.probes = []

    def missing_permissions(self, wanted):
        self.probes.append(wanted)
        return [p for model, actions in wanted.items() for p in ("%s %s" % (a, model) for a in actions)
                if p in self.lacking]

    def iter_objects(self, path, params=None, fields=None, page_size=1000):
        self.reads.append((path, params))
        if path == "dcim/regions":
            return iter(self.regions)
        return iter(copy.deepcopy(list(self.sites.values())))

    def write(self, method, path, objects):
        assert (method, path) == ("PATCH", "dcim/sites")
        self.patches.append(list(objects))
        for item in objects:
            target = self.sites[item["id"]]
            for key, value in item.items():
                target[key] = {"id": value} if key == "region" else value
        return objects


def test_run_batches_checks_and_is_idempotent(index):
    netbox = FakeNetBox([site(n, 10.0, 20.06) for n in range(1, 8)], managed_regions())
    checked = run(netbox, index, site_filter={"tag": "branch"}, check_mode=True)
    assert checked["changed"] and checked["summary"]["updated"] == 7 and netbox.patches == []
    applied = run(netbox, index, site_filter={"tag": "branch"}, diff=True)
    assert applied["changed"] and [len(p) for p in netbox.patches] == [7]
    assert ("dcim/sites", {"tag": "branch"}) in netbox.reads
    assert len(applied["diff"]["after"]) == 7
    assert applied["diff"]["before"]["site-1"] == {"region": None, "time_zone": None}
    assert applied["diff"]["after"]["site-1"] == {"region": "aa-eastby", "time_zone": "Africa/Ndjamena"}
    assert "diff" not in checked  # only when asked
    again = run(netbox, index)
    assert not again["changed"] and again["summary"]["unchanged"] == 7 and len(netbox.patches) == 1


def test_run_writes_batches_concurrently(index):
    netbox = FakeNetBox([site(n, 10.0, 20.06) for n in range(1, 8)], managed_regions())
    netbox.batch_size = 3
    result = run(netbox, index, concurrency=2)
    assert sorted(len(p) for p in netbox.patches) == [1, 3, 3]
    assert sorted(u["id"] for p in netbox.patches for u in p) == list(range(1, 8))
    assert set(result["timings"]) == {"read", "plan", "write"}


def test_run_reports_a_failed_write(index):
    class Failing(FakeNetBox):
        def write(self, method, path, objects):
            raise RuntimeError("HTTP 500 from NetBox")
    with pytest.raises(SitesError, match=r"1 of 1 batches .* re-run completes the rest\): HTTP 500"):
        run(Failing([site(1, 10.0, 20.06)], managed_regions()), index)


def test_a_token_that_may_not_change_sites_fails_before_any_write(index):
    netbox = FakeNetBox([site(n, 10.0, 20.06) for n in range(1, 4)], managed_regions())
    assert run(netbox, index, check_mode=True)["summary"]["updated"] == 3 and netbox.probes == []  # view is enough
    netbox.lacking = ["change dcim.site"]
    with pytest.raises(SitesError, match=r"lacks: change dcim.site .* 3 sites would change, nothing was written"):
        run(netbox, index)
    assert netbox.patches == []


def test_ownership_by_source_id_reads_regions_without_the_tag_filter(index):
    netbox = FakeNetBox([site(n, 10.0, 20.06) for n in range(1, 3)], managed_regions())
    assert run(netbox, index, managed_tag=None)["summary"]["updated"] == 2
    assert ("dcim/regions", {}) in netbox.reads
    by_tag = FakeNetBox([], managed_regions())
    run(by_tag, index)
    assert by_tag.reads[0] == ("dcim/regions", {"tag": "geo-managed"})
    with pytest.raises(SitesError, match=r"^NetBox shows no region with a geo_source_id: run netbox_geo_sync first"):
        run(FakeNetBox([], []), index, managed_tag=None)


def test_run_needs_managed_regions(index):
    with pytest.raises(SitesError, match="run netbox_geo_sync first"):
        run(FakeNetBox([], []), index)
    with pytest.raises(SitesError, match="city_radius_km"):
        run(FakeNetBox([], managed_regions()), index, city_radius_km=-1)
    with pytest.raises(SitesError, match="concurrency"):
        run(FakeNetBox([], managed_regions()), index, concurrency=0)


def test_filter_params():
    assert filter_params({"region_id": None, "tag": ["a", "b"], "status": "active", "x": True}) == {
        "region_id": "null", "status": "active", "tag": ["a", "b"], "x": "true"}
    assert filter_params(None) == {}


def test_world_nodes_fixture_is_consistent():
    # guards the fixture the tests above rely on: every parent exists
    ids = {n["geo_source_id"] for n in world_nodes()}
    assert all(n["parent"] in ids for n in world_nodes() if n["parent"])


TOKEN = "nbt_" + "fakekey" + "." + "not-a-secret-of-the-sites-test"  # a made-up v2 token


def module_params(dataset, url, **extra):
    params = {"netbox_url": url, "netbox_token": TOKEN, "dataset": dataset, "retries": 0, "sites": {},
              "validate_certs": True, "timeout": 5.0, "connect_timeout": 5.0, "rate_limit": 0.0, "batch_size": 2}
    params.update(extra)
    return params


def test_run_module_against_a_scripted_netbox(tmp_path):
    dataset = write_dataset(tmp_path, polygons=world_polygons())
    page = {"next": None, "results": managed_regions()}
    sites = {"next": None, "results": [site(1, 10.0, 20.06), site(2, 10.9, 19.1), site(3, 0, 0)]}
    with ScriptedServer() as server:
        server.add("/api/status/", Step(body=b'{"netbox-version": "4.7.3"}'))
        server.add("/api/dcim/regions/", Step(body=json.dumps(page).encode()))
        server.add("/api/dcim/sites/", Step(body=json.dumps(sites).encode()), Step(body=b"[]"))
        result = run_module(module_params(dataset, server.url(""), changelog_message="test run"))
        warnings = result["warnings"]
        writes = [r for r in server.requests if r.method == "PATCH"]
        reads = [r.path for r in server.requests if r.method == "GET"]
    assert result["changed"] and result["summary"]["updated"] == 2 and result["summary"]["bad_coordinates"] == 1
    # first the permission probe (an empty bulk PATCH writes nothing), then one PATCH of both sites (batch_size 2)
    assert [json.loads(r.body) == [] for r in writes] == [True, False]
    patches = writes[1:]
    assert json.loads(patches[0].body) == [
        {"id": 1, "region": 1121, "time_zone": "Africa/Ndjamena", "changelog_message": "test run"},
        {"id": 2, "region": 1011, "time_zone": "Etc/GMT-1", "changelog_message": "test run"}]
    assert patches[0].headers["Authorization"] == "Bearer " + TOKEN
    assert any("fields=" in path and "/api/dcim/sites/" in path for path in reads)
    assert len(warnings) == 1 and "site-3" in warnings[0]
    assert TOKEN not in json.dumps(result)


def test_run_module_errors_never_show_the_token(tmp_path):
    dataset = write_dataset(tmp_path)
    with ScriptedServer() as server:
        server.add("/api/status/", Step(status=500, body=("server error, token %s" % TOKEN).encode()))
        with pytest.raises(SitesError) as caught:
            run_module(module_params(dataset, server.url("")))
    assert TOKEN not in str(caught.value) and "500" in str(caught.value)
    with pytest.raises(SitesError, match="nothere.jsonl"):
        run_module(module_params(str(tmp_path / "nothere.jsonl"), "http://127.0.0.1:9"))
