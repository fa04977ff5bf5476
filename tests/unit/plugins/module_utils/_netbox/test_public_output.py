# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync's public output does not drift: the plan file, the module's return values and
--diff of one fixed plan (every kind of operation) equal the recorded files in files/.

A deliberate change of the public output rewrites them: GEOFOSS_RECORD_OUTPUT=1 and
review the diff of files/ like any other change of the interface.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetHeader, write_dataset
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError, run_sync

from fake_netbox import FakeNetBox

TOKEN = "nbt_key.secret"
FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")
KEYS = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
        "longitude", "time_zone", "feature_code", "wikidata_id", "continent")


def node(gid, name, cc, parent=None, level=None, slug=None):
    attributes = dict.fromkeys(KEYS)
    attributes.update(country_code=cc, population=gid * 1000, latitude=gid + 0.123456, longitude=-gid - 0.5)
    return {"geo_source_id": "geonames:%d" % gid, "level": level or ("admin1" if parent else "country"),
            "name": name, "slug": slug or ("%s-%s" % (cc.lower(), name.lower()) if parent else name.lower()),
            "parent": "geonames:%d" % parent if parent else None, "description": "%s (%d)" % (name, gid),
            "attributes": attributes}


BEFORE = ([node(1, "Belgium", "BE"), node(2, "Luxembourg", "LU")]
          + [node(10 + n, "Be%d" % n, "BE", parent=1) for n in range(5)] + [node(20, "Diekirch", "LU", parent=2)])


def after():
    """Every kind of change against BEFORE: a rename, a sibling swap (vacate), moves to an
    existing and to a new parent, creates under an existing, a new and no parent, an
    adoption, and prunes (one with an unmanaged child and sites below it)."""
    by_id = {n["geo_source_id"]: dict(n) for n in BEFORE}
    by_id["geonames:10"].update(name="Renamed", slug="be-renamed")
    by_id["geonames:11"].update(name="Be2", slug="be-be2")
    by_id["geonames:12"].update(name="Be1", slug="be-be1")
    by_id["geonames:20"].update(parent="geonames:1", slug="be-diekirch")
    by_id["geonames:13"].update(parent="geonames:30", level="admin1")
    del by_id["geonames:14"]
    added = [node(30, "Newland", "NL"), node(33, "Adoptia", "AD"), node(31, "Newtown", "NL", parent=30),
             node(32, "Betown", "BE", parent=1)]
    nodes = list(by_id.values()) + added
    order = ("country", "admin1")
    return sorted(nodes, key=lambda n: (order.index(n["level"]), n["attributes"]["country_code"], n["geo_source_id"]))


def write(path, nodes):
    write_dataset(str(path), DatasetHeader(), nodes)
    return str(path)


def params(server, dataset, **extra):
    base = {"netbox_url": server.url, "netbox_token": TOKEN, "dataset": dataset, "managed_tag": "geo-managed",
            "batch_size": 3, "concurrency": 1, "retries": 1, "diff_limit": 50, "state": "present", "prune": True,
            "adopt": True, "attribute_fields": True, "root_region": None, "max_deletes": None,
            "changelog_message": None, "plan_file": None, "validate_certs": True, "ca_path": None, "timeout": 10.0,
            "connect_timeout": 5.0, "rate_limit": 0.0}
    base.update(extra)
    return base


def normalised(result, server, folder):
    """The output with what differs between runs (ids of the run, the port, timings) fixed."""
    text = json.dumps(result, sort_keys=True).replace(server.url, "http://netbox.test")
    text = text.replace(result.get("run_id") or "-", "RUN").replace(str(folder), "TMP")
    data = json.loads(text)
    for key in ("duration", "http"):
        if key in data:
            data[key] = sorted(data[key])
    if "request_ids" in data:
        data["request_ids"] = len(data["request_ids"])
    return data


def compare(name, data):
    path = os.path.join(FILES, name)
    if os.environ.get("GEOFOSS_RECORD_OUTPUT") == "1":
        with open(path, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True, ensure_ascii=False)
            out.write("\n")
    with open(path, encoding="utf-8") as recorded:
        assert data == json.load(recorded), "%s changed (see the module docstring)" % name


@pytest.fixture
def netbox(tmp_path):
    """A NetBox after a first sync of BEFORE, plus an unmanaged child of Be4 with sites below
    and an unmanaged region that the new node Adoptia adopts."""
    http = HttpClient(retries=0, sleep=lambda s: None)
    with FakeNetBox() as server:
        run_sync(params(server, write(tmp_path / "before.jsonl", BEFORE), prune=False, adopt=False,
                        attribute_fields=False), http=http)
        be4 = [r for r in server.regions.values() if r["custom_fields"].get("geo_source_id") == "geonames:14"][0]
        be4["site_count"] = 4
        server.add_region("Under Be4", "under-be4", parent=be4["id"])
        server.add_region("Adoptia", "adoptia", tags=("team",))
        yield server


def test_plan_file_result_and_diff_of_a_fixed_plan_are_unchanged(tmp_path, netbox):
    plan_file = str(tmp_path / "plan.json")
    result = run_sync(params(netbox, write(tmp_path / "after.jsonl", after()), plan_file=plan_file),
                      check_mode=True, diff=True, http=HttpClient(retries=0, sleep=lambda s: None))
    with open(plan_file, encoding="utf-8") as handle:
        plan = json.load(handle)
    assert plan["summary"] == {"create": 3, "update": 8, "delete": 1, "unchanged": 0}  # the scenario is whole
    compare("plan_file.json", normalised(plan, netbox, tmp_path))
    compare("check_mode_result.json", normalised(result, netbox, tmp_path))


def test_the_result_of_an_applied_plan_and_of_a_refused_one_are_unchanged(tmp_path, netbox):
    dataset = write(tmp_path / "after.jsonl", after())
    http = HttpClient(retries=0, sleep=lambda s: None)
    with pytest.raises(SyncError) as refused:
        run_sync(params(netbox, dataset, max_deletes=0), http=http)
    applied = run_sync(params(netbox, dataset), http=http)
    compare("refused_result.json", dict(normalised(refused.value.result, netbox, tmp_path), msg=refused.value.message))
    compare("applied_result.json", normalised(applied, netbox, tmp_path))
