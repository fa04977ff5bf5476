# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync between a bad network and the real NetBox (through faultproxy):

- about 25 % of all requests faulted (429 + Retry-After, 502, 503, reset before NetBox,
  dropped after NetBox applied the write, answers slower than the timeout, truncated
  bodies): the sync ends with exactly the dataset, no duplicates, retries counted;
- faults that outlast the retries: the run fails, says what landed (and NetBox holds
  exactly that), and a re-run converges.

The seed is GEOFOSS_FAULT_SEED (default below); a failure prints it with the fault log.
"""

from __future__ import annotations

import os

from faultproxy import FaultProxy  # pylint: disable=import-error  # tests/integration/python is on sys.path
import pytest

from reliability_kit import (  # pylint: disable=import-error
    OWNERSHIP_TAGS, admin_fixture, needs_netbox, root_fixture, run_engine, sync_params, tree_nodes, write_nodes,
)

pytestmark = needs_netbox

SEED = int(os.environ.get("GEOFOSS_FAULT_SEED", "20261201"))
# 25 % in all; each kind is a different path through the HTTP client and the sync engine
FAULT_MIX = {"throttle": 0.05, "bad_gateway": 0.04, "unavailable": 0.04, "reset": 0.04, "drop_after": 0.04,
             "slow": 0.01, "truncate": 0.03}
CLIENT_TIMEOUT = 8  # seconds; a "slow" answer is held longer than that
STATUS_FAULTS = ("throttle", "bad_gateway", "unavailable", "reset")


admin = admin_fixture()
root = root_fixture("faults")


def describe(proxy) -> str:
    faulted = proxy.faulted()
    lines = ["seed %d, %d requests, faults %s" % (proxy.seed, len(proxy.log), proxy.counts())]
    lines += ["  #%d %s %s -> %s (forwarded %s, status %s)"
              % (r.number, r.method, r.path[:80], r.fault, r.forwarded, r.status) for r in faulted[:40]]
    return "\n".join(lines)


def test_sync_under_random_faults_ends_with_exactly_the_dataset(tmp_path, admin, root):
    nodes = tree_nodes(countries=4, divisions=6, cities=3)  # 100 regions on three levels
    dataset = write_nodes(tmp_path / "faults.jsonl", nodes)
    with FaultProxy(admin.url, seed=SEED, faults=FAULT_MIX, retry_after="1", slow_seconds=CLIENT_TIMEOUT + 1,
                    lifetime=600) as proxy:
        params = sync_params(dataset, root["slug"], url=proxy.url, batch_size=5, concurrency=2, retries=8,
                             timeout=CLIENT_TIMEOUT)
        result, error = run_engine(params)
        assert error is None, "%s\n%s" % (error, describe(proxy))
        counts = proxy.counts()
        faulted = proxy.faulted()
        assert len(faulted) >= 0.1 * len(proxy.log), describe(proxy)  # the faults really happened
        assert admin.assert_tree_is(root["id"], nodes) == len(nodes), describe(proxy)
        assert result["summary"]["create"] == len(nodes) and result["changed"]
        # every fault the client saw as an error (any fault on a read, a refused or reset write) was retried
        seen_as_errors = [r for r in faulted if r.method == "GET" or r.fault in STATUS_FAULTS]
        assert result["http"]["retries"] >= len(seen_as_errors), describe(proxy)
        assert result["http"]["throttled"] == counts.get("throttle", 0)
        print("faulted sync: %s; http %s; duration %s" % (describe(proxy).splitlines()[0], result["http"],
                                                          result["duration"]))

        # a second run through the same proxy, faults off: nothing to do, nothing written
        proxy.clear()
        first_run_requests = len(proxy.log)
        again, error = run_engine(params)
        assert error is None, error
        assert again["changed"] is False and again["summary"]["create"] == 0 and again["summary"]["update"] == 0
        assert again["summary"]["unchanged"] == len(nodes)
        assert [r for r in proxy.log[first_run_requests:] if r.method in ("PATCH", "DELETE")] == []


def test_faults_that_outlast_the_retries_fail_with_a_report_and_a_rerun_converges(tmp_path, admin, root):
    nodes = tree_nodes(countries=4, divisions=4, cities=2)  # 52 regions
    dataset = write_nodes(tmp_path / "persistent.jsonl", nodes)
    # Region POSTs only: the permission probe and 3 batches pass, then NetBox "is down" (503) for
    # every region POST. NetBox 4.7: the 4 countries (1 batch), 2 batches of 5 divisions. 4.4-4.6:
    # the seed of the new root's countries, the other 3, the seeds of the countries' divisions (4).
    landing = 1 + 3 + 4 if admin.mptt() else 4 + 2 * 5
    with FaultProxy(admin.url, seed=SEED, methods=["POST"], paths=["/api/dcim/regions/"], lifetime=600) as proxy:
        proxy.persist("none", 4)
        proxy.persist("unavailable", 100000)
        params = sync_params(dataset, root["slug"], url=proxy.url, batch_size=5, concurrency=1, retries=2)
        result, error = run_engine(params)
        assert error is not None, "the run should have failed"
        assert "create failed" in error and "re-run" in error and "503" in error, error
        applied = result["applied"]["create"]
        # the report says what landed, and NetBox holds exactly that
        landed = [r for r in admin.subtree(root["id"]) if r["id"] != root["id"]]
        assert applied == len(landed) == landing, (applied, len(landed))
        assert result["summary"]["create"] == len(nodes)  # the plan: what was meant to land
        assert result["http"]["retries"] >= 2

        proxy.clear()
        again, error = run_engine(params)
        assert error is None, error
        assert again["summary"]["create"] == len(nodes) - applied
        assert again["summary"]["unchanged"] == applied
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)


@pytest.mark.parametrize("ownership", sorted(OWNERSHIP_TAGS))
def test_lost_answers_to_every_write_never_duplicate(tmp_path, admin, root, ownership):
    """Every region POST lands in NetBox but its answer is lost (dropped or cut): the sync
    must find its writes by geo_source_id instead of sending them again, with the tag or without."""
    nodes = tree_nodes(countries=2, divisions=4, cities=2)
    dataset = write_nodes(tmp_path / "lost.jsonl", nodes)
    with FaultProxy(admin.url, seed=SEED, faults={"drop_after": 0.5, "truncate": 0.5}, methods=["POST"],
                    paths=["/api/dcim/regions/"], lifetime=600) as proxy:
        proxy.persist("none", 1)  # the permission probe (an empty POST) passes
        result, error = run_engine(sync_params(dataset, root["slug"], url=proxy.url, batch_size=4, retries=4,
                                               ownership=ownership))
        assert error is None, "%s\n%s" % (error, describe(proxy))
        region_writes = [r for r in proxy.log if r.method == "POST" and r.fault != "none"]
        assert region_writes and all(r.forwarded for r in region_writes)
    assert admin.assert_tree_is(root["id"], nodes, tag=OWNERSHIP_TAGS[ownership]) == len(nodes)
    assert result["summary"]["create"] == len(nodes)


def test_an_outage_shorter_than_the_retry_budget_goes_unnoticed(tmp_path, admin, root):
    """NetBox restarting in the middle of the writes (connections reset, then 503 while it
    comes up) is absorbed by the retries: the run succeeds and reports them."""
    nodes = tree_nodes(countries=2, divisions=3, cities=2)
    dataset = write_nodes(tmp_path / "outage.jsonl", nodes)
    with FaultProxy(admin.url, seed=SEED, retry_after="0", lifetime=600) as proxy:
        proxy.persist("none", 12)  # preflight, schema, read, probes and the first creates pass
        proxy.persist("reset", 2)
        proxy.persist("unavailable", 2)
        result, error = run_engine(sync_params(dataset, root["slug"], url=proxy.url, batch_size=3, concurrency=1,
                                               retries=6))
        assert error is None, "%s\n%s" % (error, describe(proxy))
        assert proxy.counts().get("reset") == 2 and proxy.counts().get("unavailable") == 2
    assert result["http"]["retries"] >= 4
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)


def changed_tree(nodes):
    """Every kind of change: renames, a sibling name swap (needs temporary names), a move,
    removals (prune) and additions."""
    changed = [dict(n) for n in nodes]
    by_name = {n["name"]: n for n in changed}
    for n in changed:
        if n["level"] == "admin1" and n["name"].endswith("-0"):
            n["name"] = n["name"] + " (renamed)"
    first, second = by_name["Town 0-1-0"], by_name["Town 0-1-1"]
    first["name"], second["name"] = second["name"], first["name"]
    first["slug"], second["slug"] = second["slug"], first["slug"]
    by_name["Town 1-1-1"]["parent"] = by_name["Province 1-2"]["geo_source_id"]
    gone = {by_name[name]["geo_source_id"] for name in ("Town 2-2-0", "Town 2-2-1", "Town 3-1-0")}
    changed = [n for n in changed if n["geo_source_id"] not in gone]
    base = max(int(n["geo_source_id"].split(":")[1]) for n in nodes) + 1
    for index in range(3):
        parent = by_name["Province 3-%d" % index]
        changed.append(dict(parent, geo_source_id="geonames:%d" % (base + index), level="city", name="New town %d" % index,
                            slug="%s-new-%d" % (parent["attributes"]["country_code"].lower(), index),
                            parent=parent["geo_source_id"]))
    return changed


def test_updates_moves_swaps_and_prune_under_faults(tmp_path, admin, root):
    tag = "faults-%s" % root["slug"].rsplit("-", 1)[1]
    created_tag = admin.post("extras/tags", {"name": tag, "slug": tag})
    try:
        nodes = tree_nodes(countries=4, divisions=3, cities=2)  # 40 regions
        before = write_nodes(tmp_path / "before.jsonl", nodes)
        error = run_engine(sync_params(before, root["slug"], managed_tag=tag))[1]
        assert error is None, error
        wanted = changed_tree(nodes)
        after = write_nodes(tmp_path / "after.jsonl", wanted)
        with FaultProxy(admin.url, seed=SEED + 1, faults=FAULT_MIX, retry_after="0", slow_seconds=CLIENT_TIMEOUT + 1,
                        lifetime=600) as proxy:
            # besides the random mix, the answer to the first write of each kind is lost after
            # NetBox applied it (the ambiguous case): a create, an update (vacate, rename, swap
            # or move) and a prune; the empty permission-probe POST passes first
            proxy.persist("none", 1, method="POST")
            for method in ("POST", "PATCH", "DELETE"):
                proxy.persist("drop_after", 1, method=method)
            params = sync_params(after, root["slug"], url=proxy.url, managed_tag=tag, prune=True, batch_size=3,
                                 retries=8, timeout=CLIENT_TIMEOUT)
            result, error = run_engine(params)
            assert error is None, "%s\n%s" % (error, describe(proxy))
            lost = {r.method for r in proxy.log if r.persistent and r.fault == "drop_after" and r.forwarded
                    and r.path.startswith("/api/dcim/regions/")}
            assert lost == {"POST", "PATCH", "DELETE"}, describe(proxy)
            # every fault the client saw as an error was retried
            seen_as_errors = [r for r in proxy.faulted() if r.method == "GET" or r.fault in STATUS_FAULTS]
            assert result["http"]["retries"] >= len(seen_as_errors), describe(proxy)
        summary = result["summary"]
        # renames (the 4 countries' "-0" provinces), the swapped pair, the move; 3 new towns, 3 pruned
        assert (summary["create"], summary["update"], summary["delete"]) == (3, 4 + 2 + 1, 3), summary
        assert admin.assert_tree_is(root["id"], wanted, tag=tag) == len(wanted)
    finally:
        admin.delete_region(root["id"])  # before its tag goes
        admin.session.delete("%s/api/extras/tags/%d/" % (admin.url, created_tag["id"]), timeout=60)
