# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import importlib
import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._geo import index as _geoindex
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.lookup import (
    GeoLookupError,
    NotFound,
    name_key,
    parse_term,
    run_lookup,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.nominatim import NominatimSearch

from ansible_collections.geofoss.netbox.tests.unit.plugins.module_utils.geo_fixtures import node, world_nodes, world_polygons, write_dataset
from ansible_collections.geofoss.netbox.tests.unit.plugins.module_utils.scripted_http import ScriptedServer, Step


@pytest.fixture(autouse=True)
def fixed_time_zone(monkeypatch):
    monkeypatch.setattr(_geoindex, "time_zone_at", lambda lat, lon: "Etc/GMT-1")
    from ansible_collections.geofoss.netbox.plugins.module_utils._geo import lookup as _lookup
    monkeypatch.setattr(_lookup, "time_zone_at", lambda lat, lon: "Etc/GMT-1")


@pytest.fixture
def dataset(tmp_path):
    nodes = world_nodes() + [
        node("geonames:131", "city", "Zürich", "aa-zurich", "geonames:11", country_code="AA", latitude=9.8,
             longitude=19.4, time_zone="Africa/Lagos", population=400000),
    ]
    return write_dataset(tmp_path, nodes=nodes, polygons=world_polygons())


def one(dataset, term, **options):
    return run_lookup([term], dataset=dataset, **options)[0]


@pytest.mark.parametrize("term, parsed", [
    ("Munich, DE", ("name", "Munich", "DE")),
    ("  Springfield ,  us-il ", ("name", "Springfield", "US-IL")),
    ("de-by", ("iso_3166_2", "DE-BY", None)),
    ("de", ("country", "DE", None)),
    ("2867714", ("geonameid", "geonames:2867714", None)),
    ("geonames:2867714", ("geonameid", "geonames:2867714", None)),
    ("de.02", ("geonames_code", "DE.02", None)),
    ("Sankt Gallen", ("name", "Sankt Gallen", None)),
])
def test_parse_term(term, parsed):
    assert parse_term(term) == parsed


@pytest.mark.parametrize("term, message", [("", "empty"), (", DE", "no place name"), ("Paris, France", "ISO 3166")])
def test_parse_term_errors(term, message):
    with pytest.raises(GeoLookupError, match=message):
        parse_term(term)


def test_name_key_ignores_case_and_accents():
    assert name_key("  Zürich ") == name_key("ZURICH") == "zurich"


def test_city_by_name_and_country(dataset):
    place = one(dataset, "Eastby, AA")
    assert place == {"name": "Eastby", "slug": "aa-eastby", "geo_source_id": "geonames:121", "level": "city",
                     "country_code": "AA", "parent_slug": "aa-east", "latitude": 10.0, "longitude": 20.05,
                     "time_zone": "Africa/Ndjamena", "population": 20000, "iso_3166_2": None}


def test_names_match_without_accents_and_by_slug(dataset):
    assert one(dataset, "zurich, aa")["geo_source_id"] == "geonames:131"
    assert one(dataset, "aa-westford")["name"] == "Westford"


def test_codes_and_geonameid(dataset):
    assert one(dataset, "AA")["slug"] == "aland"
    east = one(dataset, "AA-E")
    assert east["name"] == "East" and east["parent_slug"] == "aland"
    assert east["time_zone"] == "Etc/GMT-1"  # the division has none in GeoNames: timezonefinder's
    west = one(dataset, "AA.01")
    assert west["name"] == "West" and west["time_zone"] == "Etc/GMT-1"
    assert one(dataset, "121")["name"] == "Eastby"
    assert one(dataset, "geonames:2")["name"] == "Bland"


def test_division_without_point_or_zone_takes_its_main_city_zone(tmp_path):
    nodes = world_nodes()
    for item in nodes:
        if item["level"] in ("admin1", "country"):
            item["attributes"].update(latitude=None, longitude=None, time_zone=None)
    path = write_dataset(tmp_path, nodes=nodes, name="bare.jsonl")
    # East: Eastby (20,000) outnumbers Springfield (2,000); Aland: Westford (50,000) is the largest
    assert one(path, "AA-E")["time_zone"] == "Africa/Ndjamena"
    assert one(path, "AA")["time_zone"] == "Africa/Lagos"


def test_ambiguous_name_lists_candidates(dataset):
    with pytest.raises(GeoLookupError) as caught:
        one(dataset, "Springfield, AA")
    message = str(caught.value)
    assert not isinstance(caught.value, NotFound)
    assert "2 places match" in message and "geonames:112" in message and "geonames:122" in message
    assert "in West" in message and "in East" in message


def test_ambiguity_resolved_by_division_or_level(dataset):
    assert one(dataset, "Springfield, AA-E")["geo_source_id"] == "geonames:122"
    assert one(dataset, "West", level="admin1")["slug"] == "aa-west"


def test_miss_fails_clearly_or_returns_default(dataset):
    with pytest.raises(NotFound, match=r"no place 'Atlantis, AA' in dataset .*world.jsonl"):
        one(dataset, "Atlantis, AA")
    with pytest.raises(NotFound, match="Natural Earth"):
        one(dataset, "AA-X")
    assert run_lookup(["Atlantis", "Eastby"], dataset=dataset, default={}, has_default=True)[0] == {}
    with pytest.raises(GeoLookupError, match="ambiguous"):
        run_lookup(["Springfield"], dataset=dataset, default={}, has_default=True)


def test_coordinates_give_the_deepest_place(dataset):
    city = run_lookup([], dataset=dataset, latitude=10.0, longitude=19.99)[0]
    assert city["name"] == "Westford" and city["method"] == "city" and 9 < city["distance_km"] < 11
    division = run_lookup([], dataset=dataset, latitude=10.9, longitude=20.9, city_radius_km=5)[0]
    assert division["name"] == "East" and division["method"] == "polygon" and division["time_zone"] == "Etc/GMT-1"
    with pytest.raises(NotFound, match="within 500 km"):
        run_lookup([], dataset=dataset, latitude=-40, longitude=-100)


@pytest.mark.parametrize("options, message", [
    ({"latitude": 10.0}, "both latitude and longitude"),
    ({"latitude": 10.0, "longitude": 400.0}, "out of range"),
    ({"latitude": "north", "longitude": 1.0}, "must be numbers"),
    ({"source": "bing"}, "source must be"),
])
def test_option_errors(dataset, options, message):
    with pytest.raises(GeoLookupError, match=message):
        run_lookup([], dataset=dataset, **options)


def test_terms_and_coordinates_together_fail(dataset):
    with pytest.raises(GeoLookupError, match="not both"):
        run_lookup(["AA"], dataset=dataset, latitude=1.0, longitude=2.0)
    with pytest.raises(GeoLookupError, match="GEOFOSS_GEO_DATASET"):
        run_lookup(["AA"])
    with pytest.raises(GeoLookupError, match="nothing to look up"):
        run_lookup([], dataset=dataset)


def nominatim_place(lat, lon, name="Eastby"):
    return {"lat": str(lat), "lon": str(lon), "name": name, "display_name": "%s, Aland" % name,
            "addresstype": "town", "osm_type": "node", "osm_id": 7, "category": "place", "type": "town",
            "address": {"country_code": "aa", "ISO3166-2-lvl4": "AA-E"}, "extratags": {"population": "21000"}}


def test_nominatim_source_with_and_without_dataset(dataset, tmp_path):
    with ScriptedServer() as server:
        server.add("/search", Step(body=json.dumps([nominatim_place(10.001, 20.051)]).encode()))
        searcher = NominatimSearch(HttpClient(retries=0), server.url("/"), user_agent="geofoss-tests/1",
                                   cache_dir=str(tmp_path / "cache"), rate_limit=0)
        placed = run_lookup(["Eastby town hall"], dataset=dataset, source="nominatim", searcher=searcher)[0]
        bare = run_lookup(["Eastby town hall"], source="nominatim", searcher=searcher)[0]
        assert len(server.hits("/search")) == 1  # the second answer came from the cache
    assert placed["geo_source_id"] == "geonames:121" and placed["method"] == "city"
    assert placed["nominatim"]["osm_id"] == 7
    assert bare["slug"] is None and bare["level"] == "city" and bare["country_code"] == "AA"
    assert bare["population"] == 21000 and bare["iso_3166_2"] == "AA-E" and bare["latitude"] == 10.001


def test_nominatim_miss(dataset):
    class Empty:
        def search(self, query):
            return []
    with pytest.raises(NotFound, match="Nominatim found no place"):
        run_lookup(["nowhere"], source="nominatim", searcher=Empty())


def test_lookup_plugin_options_and_errors(dataset, monkeypatch):
    plugin = importlib.import_module("ansible_collections.geofoss.netbox.plugins.lookup.geo")
    import yaml
    from ansible import constants
    from ansible.errors import AnsibleLookupError

    # what the plugin loader does: register the documented options, then name the plugin
    options = yaml.safe_load(plugin.DOCUMENTATION)["options"]
    constants.config.initialize_plugin_configuration_definitions("lookup", "geofoss.netbox.geo", options)
    lookup = plugin.LookupModule()
    lookup._load_name = "geofoss.netbox.geo"
    monkeypatch.setenv("GEOFOSS_GEO_DATASET", dataset)
    assert lookup.run(["Eastby, AA"], variables={})[0]["slug"] == "aa-eastby"
    assert lookup.run(["Atlantis"], variables={}, default=None) == [None]
    with pytest.raises(AnsibleLookupError, match="ambiguous"):
        lookup.run(["Springfield"], variables={})
