# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing is written to NetBox before every input has been checked (issue 14), against
the real NetBox: for each bad input, netbox_geo_sync and netbox_geo_sites fail with a
message naming the cause, and NetBox's change log (core/object-changes) has no new entry.

Every sync here uses a managed tag of its own that NetBox does not have yet, so a run that
wrote its schema (the tag, custom fields) before failing would show in the change log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from reliability_kit import (  # pylint: disable=import-error  # tests/integration/python is on sys.path
    NETBOX_TOKEN, NETBOX_URL, admin_fixture, collection_root, needs_netbox, root_fixture, run_engine, sync_params,
    tree_nodes, write_nodes,
)

pytestmark = needs_netbox

admin = admin_fixture()
root = root_fixture("checks")
NODES = tree_nodes(countries=2, divisions=2, cities=1)  # 10 regions


def last_change(admin) -> int:
    results = admin.get("core/object-changes", ordering="-id", limit=1)["results"]
    return results[0]["id"] if results else 0


def changes_since(admin, last) -> list:
    return ["%s %s %s" % (c["action"]["value"], c["changed_object_type"], c["object_repr"])
            for c in admin.get("core/object-changes", id__gt=last, limit=50)["results"]]


@pytest.fixture
def tag():
    """A managed tag that NetBox does not have: the sync would create it first."""
    return "checks-%s" % uuid.uuid4().hex[:10]


@pytest.fixture
def dataset(tmp_path):
    return write_nodes(tmp_path / "checks.jsonl", NODES)


def edited(path, edit) -> str:
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    edit(lines)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def refused_sync(admin, params) -> str:
    """The sync's error message, after checking that NetBox's change log did not grow."""
    before = last_change(admin)
    result, error = run_engine(params)
    assert error is not None, "the sync should have failed: %s" % result
    assert changes_since(admin, before) == [], error
    assert "request_ids" not in result or result["request_ids"] == []
    return error


def test_a_missing_dataset(admin, root, tag, tmp_path):
    error = refused_sync(admin, sync_params(str(tmp_path / "nothere.jsonl"), root["slug"], managed_tag=tag))
    assert "nothere.jsonl" in error and "No such file" in error


def test_a_bad_node_on_the_last_line(admin, root, tag, dataset):
    def bad(lines):
        lines[-1] = lines[-1].replace('"name":"Town', '"name":"\\tTown')
    error = refused_sync(admin, sync_params(edited(dataset, bad), root["slug"], managed_tag=tag))
    assert "checks.jsonl:%d" % (len(NODES) + 1) in error and "name" in error


def test_a_child_before_its_parent(admin, root, tag, dataset):
    def child_first(lines):
        lines.insert(1, lines.pop())  # the last town (line 11) goes to line 2, before its division
    error = refused_sync(admin, sync_params(edited(dataset, child_first), root["slug"], managed_tag=tag))
    assert "checks.jsonl:2: the parent" in error and "is not an earlier node" in error


def test_incoherent_options(admin, root, tag, dataset):
    error = refused_sync(admin, sync_params(dataset, root["slug"], managed_tag=tag, batch_size=0, retries=-1))
    assert "batch_size must be at least 1" in error and "retries must be at least 0" in error


def test_an_unknown_root_region(admin, tag, dataset):
    error = refused_sync(admin, sync_params(dataset, "no-such-root-%s" % uuid.uuid4().hex[:8], managed_tag=tag))
    assert "no region with this slug or name" in error


def test_a_conflict_with_an_unmanaged_region(admin, root, tag, dataset):
    admin.post("dcim/regions", {"name": NODES[0]["name"], "slug": NODES[0]["slug"], "parent": root["id"]})
    error = refused_sync(admin, sync_params(dataset, root["slug"], managed_tag=tag))
    assert "conflicts, nothing was written" in error and "adopt: true" in error


def test_more_deletes_than_max_deletes(admin, root, tag, dataset, tmp_path):
    assert run_engine(sync_params(dataset, root["slug"], managed_tag=tag))[1] is None
    try:
        fewer = write_nodes(tmp_path / "fewer.jsonl", NODES[:1])
        error = refused_sync(admin, sync_params(fewer, root["slug"], managed_tag=tag, prune=True, max_deletes=3,
                                                attribute_fields=True))  # its custom fields would come first
        assert "more than max_deletes=3; nothing was written" in error
    finally:
        admin.delete_region(root["id"])  # before its tag goes
        for found in admin.get("extras/tags", slug=tag)["results"]:
            admin.session.delete("%s/api/extras/tags/%d/" % (admin.url, found["id"]), timeout=60)


SYNC_WITHOUT_PYDANTIC = """
import json, sys
sys.modules["pydantic"] = None  # as if it were not installed: importing it raises ImportError
from ansible.module_utils.testing import patch_module_args
from ansible_collections.geofoss.netbox.plugins.modules import netbox_geo_sync
with patch_module_args(json.loads(sys.stdin.read())):
    netbox_geo_sync.main()
"""


def test_the_module_without_pydantic(admin, root, tag, dataset):
    before = last_change(admin)
    args = {"netbox_url": NETBOX_URL, "netbox_token": NETBOX_TOKEN, "dataset": dataset,
            "root_region": root["slug"], "managed_tag": tag}
    done = subprocess.run([sys.executable, "-c", SYNC_WITHOUT_PYDANTIC], input=json.dumps(args), capture_output=True,
                          text=True, timeout=120, check=False, env=dict(os.environ, PYTHONPATH=collection_root()))
    output = json.loads(done.stdout)
    assert done.returncode == 1 and output["failed"], done.stderr[-2000:]
    assert "pydantic" in output["msg"] and "Traceback" not in output["msg"]
    assert changes_since(admin, before) == []


# -- netbox_geo_sites ---------------------------------------------------------------------------------------

def sites_params(dataset, **extra) -> dict:
    params = {"netbox_url": NETBOX_URL, "netbox_token": NETBOX_TOKEN, "dataset": dataset, "sites": {},
              "managed_tag": "geo-managed", "retries": 2, "timeout": 30.0, "connect_timeout": 5.0, "rate_limit": 0.0,
              "validate_certs": True, "batch_size": 50, "concurrency": 2, "city_radius_km": 30.0,
              "max_distance_km": 500.0, "changelog_message": "checks"}
    params.update(extra)
    return params


def refused_sites(admin, params) -> str:
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sites import SitesError, run_module
    before = last_change(admin)
    with pytest.raises(SitesError) as caught:
        run_module(params)
    assert changes_since(admin, before) == []
    return caught.value.message


@pytest.mark.parametrize("options, cause", [
    ({"city_radius_km": -1.0}, "city_radius_km must be at least 0, got -1.0"),
    ({"concurrency": 0}, "concurrency must be at least 1"),
    ({"timeout": 0.0}, "timeout must be more than 0 seconds"),
])
def test_sites_with_incoherent_options(admin, dataset, options, cause):
    assert cause in refused_sites(admin, sites_params(dataset, **options))


def test_sites_with_a_missing_dataset(admin, tmp_path):
    assert "nothere.jsonl" in refused_sites(admin, sites_params(str(tmp_path / "nothere.jsonl")))


def test_sites_with_a_token_that_may_not_change_sites(admin, root, dataset):
    """A site that would move, and a token that may view but not change sites: nothing moves."""
    assert run_engine(sync_params(dataset, root["slug"]))[1] is None
    town = NODES[-1]["attributes"]
    site_name = "checks-site-%s" % uuid.uuid4().hex[:8]
    site = admin.post("dcim/sites", {"name": site_name, "slug": site_name, "latitude": town["latitude"],
                                     "longitude": town["longitude"]})
    token, user = admin.limited_token("view:dcim.site,dcim.region,extras.tag")
    try:
        message = refused_sites(admin, sites_params(dataset, netbox_token=token, sites={"name": site_name}))
        assert "lacks: change dcim.site" in message and "nothing was written" in message
    finally:
        admin.delete_user(user)
        admin.session.delete("%s/api/dcim/sites/%d/" % (admin.url, site["id"]), timeout=60)
