# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry-and-recheck layer of NetBox writes, counted at the fault proxy in front of
the real NetBox (issue 14):

- a batch that never gets through is sent at most retries + 1 times, whatever the fault
  (before: the sync's own loop around the HTTP client's retries sent it (retries + 1)²);
- a refusal (a 400 from NetBox) is sent once;
- a batch whose answer was lost after NetBox committed it is read back, not sent again;
- without faults each batch is one request and nothing is read back.
"""

from __future__ import annotations

import os

import pytest

from faultproxy import FaultProxy  # pylint: disable=import-error  # tests/integration/python is on sys.path
from reliability_kit import (  # pylint: disable=import-error
    admin_fixture, needs_netbox, root_fixture, run_engine, sync_params, tree_nodes, write_nodes,
)

pytestmark = needs_netbox

SEED = int(os.environ.get("GEOFOSS_FAULT_SEED", "20261201"))
REGIONS = "/api/dcim/regions/"

admin = admin_fixture()
root = root_fixture("bound")


def region_requests(proxy, method) -> list:
    return [r for r in proxy.log if r.method == method and r.path.startswith(REGIONS)]


def rereads(proxy) -> list:
    """The reads that look for created regions again: by slug (indexed), never by the
    geo_source_id custom field (NetBox would scan the whole region table for it)."""
    reads = region_requests(proxy, "GET")
    assert not [r for r in reads if "cf_" in r.path], [r.path for r in reads]
    return [r for r in reads if "slug=" in r.path and "brief=" not in r.path]


@pytest.fixture
def synced(tmp_path, admin, root):
    """(nodes, the same nodes with new descriptions): NetBox holds the first."""
    nodes = tree_nodes(countries=1, divisions=2, cities=0)  # 3 regions
    assert run_engine(sync_params(write_nodes(tmp_path / "before.jsonl", nodes), root["slug"]))[1] is None
    renamed = [dict(n, description=n["description"] + " (new)") for n in nodes]
    return nodes, write_nodes(tmp_path / "after.jsonl", renamed)


@pytest.mark.parametrize("fault", ["reset", "unavailable", "throttle"])
@pytest.mark.parametrize("retries", [0, 2])
def test_a_batch_that_never_gets_through_is_sent_retries_plus_one_times(admin, root, synced, fault, retries):
    nodes, after = synced
    with FaultProxy(admin.url, seed=SEED, methods=["PATCH"], paths=[REGIONS], retry_after="0",
                    lifetime=300) as proxy:
        proxy.persist("none", 1)  # the permission probe (an empty PATCH)
        proxy.persist(fault, 1000)  # then NetBox is out of reach for every region PATCH
        result, error = run_engine(sync_params(after, root["slug"], url=proxy.url, retries=retries, batch_size=10,
                                               concurrency=1))
        patches = region_requests(proxy, "PATCH")
    assert error is not None and "update failed and the run stopped" in error, error
    assert len(patches) == 1 + retries + 1, [(r.fault, r.forwarded) for r in patches]
    assert result["applied"]["update"] == 0
    regions = admin.all("dcim/regions", ancestor_id=root["id"], fields="id,name,description")
    descriptions = {r["name"]: r["description"] for r in regions if r["id"] != root["id"]}
    assert descriptions == {n["name"]: n["description"] for n in nodes}  # nothing landed


def test_a_refused_batch_is_sent_once(admin, root, synced, tmp_path):
    nodes, _after = synced
    # an unmanaged sibling takes the name one division is renamed to, after the plan was made
    division = nodes[1]
    renamed = [dict(n, name="Taken") if n is division else n for n in nodes]
    dataset = write_nodes(tmp_path / "renamed.jsonl", renamed)
    parent = next(r for r in admin.subtree(root["id"]) if r["slug"] == nodes[0]["slug"])

    def take_the_name(path, **options):
        from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import _load_nodes
        admin.post("dcim/regions", {"name": "Taken", "slug": "taken", "parent": parent["id"]})
        return _load_nodes(path, **options)

    with FaultProxy(admin.url, seed=SEED, lifetime=300) as proxy:
        result, error = run_engine(sync_params(dataset, root["slug"], url=proxy.url, retries=5),
                                   load_nodes=take_the_name)
        patches = [r for r in region_requests(proxy, "PATCH") if r.status == 400]
        reads = region_requests(proxy, "GET")
    assert error is not None and "HTTP 400" in error, error
    assert len(patches) == 1, patches
    assert not [r for r in reads if "fields=id%2Cname&limit" in r.path]  # not read back


def test_lost_answers_are_read_back_and_never_sent_again(tmp_path, admin, root):
    nodes = tree_nodes(countries=2, divisions=3, cities=1)  # 14 regions
    dataset = write_nodes(tmp_path / "lost.jsonl", nodes)
    with FaultProxy(admin.url, seed=SEED, faults={"drop_after": 1.0}, methods=["POST"], paths=[REGIONS],
                    lifetime=300) as proxy:
        proxy.persist("none", 1)  # the permission probe (an empty POST)
        result, error = run_engine(sync_params(dataset, root["slug"], url=proxy.url, batch_size=4, concurrency=1,
                                               retries=3))
        posts = region_requests(proxy, "POST")[1:]
        found_again = rereads(proxy)
    assert error is None, error
    # every batch landed, lost its answer, was found by slug: one POST per batch, one read-back
    # each. NetBox 4.7: 2 countries in 1, 6 divisions in 2, 6 towns in 2. 4.4-4.6 (seed waves):
    # 1 + 1 countries, 2 division seeds + the other 4, the 6 towns (every one a seed) in 2
    batches = 6 if admin.mptt() else 5
    assert [r.fault for r in posts] == ["drop_after"] * batches and all(r.forwarded for r in posts)
    assert len(found_again) == batches
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)
    assert result["http"]["retries"] == 0  # nothing was sent again


def test_without_faults_each_batch_is_one_request_and_nothing_is_read_back(tmp_path, admin, root):
    nodes = tree_nodes(countries=2, divisions=3, cities=1)  # 2 + 6 + 6 regions: batches of 4 per level
    dataset = write_nodes(tmp_path / "clean.jsonl", nodes)
    with FaultProxy(admin.url, seed=SEED, lifetime=300) as proxy:
        result, error = run_engine(sync_params(dataset, root["slug"], url=proxy.url, batch_size=4, concurrency=2))
        posts = region_requests(proxy, "POST")
        found_again = rereads(proxy)
    assert error is None, error
    if admin.mptt():  # the probe, then per level a seed wave and the rest (see the test above)
        assert len(posts) == 1 + (1 + 1) + (1 + 1) + 2
    else:  # the probe, then per level ceil(2/4), ceil(6/4), ceil(6/4)
        assert len(posts) == 1 + 1 + 2 + 2
    assert found_again == [] and result["http"]["retries"] == 0
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)
