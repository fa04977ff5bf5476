# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync's engine against the test bed's NetBox with real GeoNames data:
a first import, a no-change re-run, the move between the two admin1 releases (Vietnam's
2025 merger) in place, the change log audit trail, and creates whose answers are lost or
refused by a fault proxy (faultproxy.py), which must not leave duplicates.

Five small countries (LU, BE, LI, AD, VN: about 100 regions) keep it to well under a minute.
"""

from __future__ import annotations

import os

import pytest
from faultproxy import FaultProxy  # pylint: disable=import-error  # tests/integration/python is on sys.path
from netbox_tree import NETBOX_TOKEN, NETBOX_URL, api, own_tree  # pylint: disable=import-error

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    iter_node_dicts, read_header, write_dataset,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import run_sync
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import run_transform

GEODATA = os.environ.get("GEOFOSS_GEODATA")
COUNTRIES = ["LU", "BE", "LI", "AD", "VN"]

pytestmark = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN and GEODATA),
                                reason="NETBOX_URL, NETBOX_TOKEN and GEOFOSS_GEODATA are needed")


def release_dataset(tmp_path, name, admin1, namespace):
    """A dataset of COUNTRIES from countryInfo.txt and one admin1CodesASCII.txt release,
    read in place through symlinks (the shared data is never copied).

    The sync matches regions by geo_source_id across the whole of NetBox, so ``geonames:<id>``
    becomes ``<namespace>:<id>``: regions that other tests made for the same places are not
    taken for this test's."""
    src = tmp_path / name
    src.mkdir()
    os.symlink(os.path.join(GEODATA, "geonames", "countryInfo.txt"), src / "countryInfo.txt")
    os.symlink(os.path.join(GEODATA, "geonames", admin1), src / "admin1CodesASCII.txt")
    dest = str(tmp_path / (name + ".jsonl"))
    run_transform(src=str(src), dest=dest, countries=COUNTRIES, enrich="none")
    nodes = list(iter_node_dicts(dest))
    for node in nodes:
        for key in ("geo_source_id", "parent"):
            if node[key]:
                node[key] = node[key].replace("geonames:", namespace + ":", 1)
    write_dataset(dest, read_header(dest), nodes)
    return dest


@pytest.fixture
def tree():
    """Its own tag and root region, and the state absent clean-up afterwards."""
    with own_tree() as params_and_namespace:
        yield params_and_namespace


def managed(tag):
    regions = api("GET", "dcim/regions", params={"tag": tag, "limit": 1000, "fields": "id,name,custom_fields"})
    return {r["custom_fields"]["geo_source_id"]: r for r in regions["results"]}


def test_release_change_updates_regions_in_place(tmp_path, tree):
    params, namespace = tree
    params = dict(params, attribute_fields=True)  # ISO codes and populations ride along
    old = release_dataset(tmp_path, "old", "admin1CodesASCII.txt", namespace)
    new = release_dataset(tmp_path, "new", os.path.join("alternate-2025-11", "admin1CodesASCII.txt"), namespace)
    first = run_sync(dict(params, dataset=old))
    before = managed(params["managed_tag"])
    assert first["summary"]["create"] == len(before) > 90
    assert not run_sync(dict(params, dataset=old))["changed"]
    found = api("GET", "dcim/regions", params={"cf_%s" % "geo_iso_code": "BE", "tag": params["managed_tag"]})
    # the filter matches the divisions' codes too (BE-VLG, ...): the country is the one with BE itself
    belgium = [r for r in found["results"] if r["custom_fields"]["geo_iso_code"] == "BE"]
    assert len(belgium) == 1 and belgium[0]["custom_fields"]["geo_population"] > 10_000_000

    moved = run_sync(dict(params, dataset=new, prune=True, max_deletes=60))
    after = managed(params["managed_tag"])
    summary = moved["summary"]
    assert summary["update"] > 0 and summary["delete"] > 0 and summary["create"] > 0
    kept = set(before) & set(after)
    # regions present in both releases keep their NetBox id: updated, not recreated
    assert kept and all(before[sid]["id"] == after[sid]["id"] for sid in kept)
    assert len(after) == len(before) - summary["delete"] + summary["create"]
    assert not run_sync(dict(params, dataset=new, prune=True))["changed"]

    # the change log knows the run: every write request carries its message
    changes = api("GET", "core/object-changes", params={"request_id": moved["request_ids"][-1], "limit": 5})
    assert changes["count"] > 0
    assert all(moved["run_id"] in c["message"] for c in changes["results"])


def test_a_create_whose_answer_is_lost_is_not_duplicated(tmp_path, tree):
    params, namespace = tree
    dataset = release_dataset(tmp_path, "old", "admin1CodesASCII.txt", namespace)
    with FaultProxy(NETBOX_URL, methods=["POST"], paths=["/api/dcim/regions/"]) as proxy:
        proxy.persist("none", count=1)  # the empty-list permission probe
        proxy.persist("drop_after", count=1)  # the countries land, their answer is lost
        proxy.persist("none", count=1)
        proxy.persist("unavailable", count=1)  # a division batch is refused before NetBox sees it
        result = run_sync(dict(params, netbox_url=proxy.url, dataset=dataset, batch_size=40),
                          http=HttpClient(retries=3, sleep=lambda s: None))
        faults = proxy.counts()
    regions = api("GET", "dcim/regions", params={"tag": params["managed_tag"], "limit": 1000,
                                                 "fields": "id,custom_fields"})["results"]
    sources = [r["custom_fields"]["geo_source_id"] for r in regions]
    assert faults.get("drop_after") == 1 and faults.get("unavailable") == 1
    assert len(sources) == len(set(sources)) == result["summary"]["create"]
    assert not run_sync(dict(params, dataset=dataset))["changed"]
