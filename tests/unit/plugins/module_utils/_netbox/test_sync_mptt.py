# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The requests the sync sends to a NetBox of each tree kind (the fake answers as the
version it is told): on 4.4-4.6 (django-mptt) creates in seed waves and paced requests one
after another, renames and moves one region per PATCH, a warning after deletes; on 4.7
(ltree) the bulk batches as before. Why: docs/netbox-versions.md."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import LTREE, MPTT, release_of, tree_kind
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import FIRST_MPTT_BATCH, run_sync

from fake_netbox import FakeNetBox
from test_sync import COUNTRIES, DIVISIONS, managed, node, params, sync  # pylint: disable=import-error
from test_sync import dataset  # noqa: F401  pylint: disable=import-error,unused-import  # the fixture

MPTT_RELEASES = ("4.4.10", "4.5.10", "4.6.8")


def fake(version):
    server = FakeNetBox()
    server.version = version
    return server


def region_writes(server, method, since=0):
    return [body for m, endpoint, body in server.writes[since:] if (m, endpoint) == (method, "dcim/regions")]


def childless_parents_get_one_child_per_request(server, posts):
    """Replays the POSTs on the fake's regions from before them: a parent that had no child
    when a request came holds at most one child of that request (django-mptt would otherwise
    keep the request's order, not the names')."""
    children = {}
    for region in server.regions.values():
        children.setdefault(region["parent"], 0)
    problems = []
    for number, body in enumerate(posts):
        per_parent = {}
        for obj in body:
            per_parent[obj["parent"]] = per_parent.get(obj["parent"], 0) + 1
        for parent, count in per_parent.items():
            if parent is not None and count > 1 and not children.get(parent):
                problems.append("request %d: %d children of the childless parent %s" % (number, count, parent))
        for parent, count in per_parent.items():
            children[parent] = children.get(parent, 0) + count
    return problems


@pytest.mark.parametrize("version, kind", [("4.4.10", MPTT), ("4.5.10", MPTT), ("4.6.8", MPTT), ("4.7.3", LTREE),
                                           ("4.7.3-Docker-3.4.1", LTREE), ("5.0.0", LTREE), ("v4.6.0-beta1", MPTT)])
def test_the_tree_kind_follows_netboxs_version(version, kind):
    assert tree_kind(version) == kind
    assert release_of("4.6.8") == (4, 6, 8) and release_of("unknown") == ()


@pytest.mark.parametrize("version", MPTT_RELEASES)
def test_creates_under_new_parents_go_after_a_seed_wave(dataset, version):
    with fake(version) as server:
        result = sync(server, dataset(COUNTRIES + DIVISIONS), concurrency=2, batch_size=2)
        posts = region_writes(server, "POST")
        kept = managed(server)
    assert result["summary"]["create"] == 8 and len(kept) == 8
    countries, seeds = [[obj["name"] for obj in body] for body in posts[:2]]
    assert countries == ["Belgium", "Luxembourg"]  # top-level regions: NetBox places each by name
    assert seeds == ["Be0", "Diekirch"]  # one child of each new parent, then the rest
    assert sorted(obj["name"] for body in posts[2:] for obj in body) == ["Be1", "Be2", "Be3", "Be4"]
    assert all(len(body) <= 2 for body in posts)
    assert childless_parents_get_one_child_per_request(server, posts) == []


def test_on_ltree_creates_go_in_bulk_without_seeds(dataset):
    with fake("4.7.3") as server:
        sync(server, dataset(COUNTRIES + DIVISIONS), batch_size=10, concurrency=1)  # one stream: whole levels
        posts = region_writes(server, "POST")
    assert [len(body) for body in posts] == [2, 6]


@pytest.mark.parametrize("has_child", [False, True])
def test_an_existing_parent_is_seeded_only_when_it_has_no_children(dataset, has_child):
    with fake("4.4.10") as server:
        world = server.add_region("World", "world")
        if has_child:
            server.add_region("Atlantis", "atlantis", parent=world)
        sync(server, dataset(COUNTRIES), root_region="world", batch_size=10)
        posts = region_writes(server, "POST")
    assert [[obj["name"] for obj in body] for body in posts] == (
        [["Belgium", "Luxembourg"]] if has_child else [["Belgium"], ["Luxembourg"]])


def test_create_requests_on_mptt_are_sized_by_what_the_previous_ones_cost(dataset):
    """One after another (NetBox's global lock), the first of FIRST_MPTT_BATCH, then as many
    as the last request's seconds per region allow within a quarter of the read timeout."""
    divisions = [node(100 + n, "Div%03d" % n, "BE", parent=1) for n in range(150)]
    ticks = itertools.count()
    with fake("4.4.10") as server:
        result = run_sync(params(server, dataset(COUNTRIES[:1] + divisions), batch_size=120, concurrency=4),
                          http=HttpClient(retries=3, sleep=lambda s: None),
                          clock=lambda: float(next(ticks)))  # every request takes one "second"
        posts = region_writes(server, "POST")
    assert result["summary"]["create"] == 151 and FIRST_MPTT_BATCH > 1
    # Belgium (0.5 s per region were measured: 15 s fit 30), its seed (1 s: 15 fit), then the
    # rest: 15 in 1 s, each request twice the one before until the last 44
    assert [len(body) for body in posts] == [1, 1, 15, 30, 60, 44]


@pytest.mark.parametrize("version", ["4.4.10", "4.7.3"])
def test_renames_and_moves_go_one_per_request_on_mptt_other_changes_in_bulk(dataset, version):
    with fake(version) as server:
        sync(server, dataset(COUNTRIES + DIVISIONS), batch_size=10)
        before = len(server.writes)
        changed = [dict(n) for n in COUNTRIES + DIVISIONS]
        changed[2].update(name="Be1")  # a swap with Be1: a vacate first
        changed[3].update(name="Be0")
        changed[4].update(name="Be2 renamed")
        changed[5].update(description="five")
        changed[6].update(description="six")
        changed[7].update(parent="geonames:1", slug="be-diekirch")  # Diekirch moves to Belgium
        result = sync(server, dataset(changed, "e.jsonl"), batch_size=10)
        patches = region_writes(server, "PATCH", before)
        regions = managed(server)
    assert result["summary"]["update"] == 6
    assert [regions["geonames:%d" % n]["name"] for n in (10, 11, 12)] == ["Be1", "Be0", "Be2 renamed"]
    assert regions["geonames:20"]["parent"] == regions["geonames:1"]["id"]
    moving = [body for body in patches if any("name" in obj or "parent" in obj for obj in body)]
    other_fields = {"id", "description", "changelog_message"}
    described = [body for body in patches if all(set(obj) <= other_fields for obj in body)]
    if version == "4.7.3":  # ltree: renames, moves and the rest share bulk requests
        assert max(len(body) for body in moving) > 2
    else:
        # the two vacates (Be0 and Be1 each hold the other's name), three renames and the move:
        # one region each; the descriptions in one bulk request
        assert [len(body) for body in moving] == [1] * 6
        assert [len(body) for body in described] == [2]


@pytest.mark.parametrize("version, warned", [("4.6.8", True), ("4.7.3", False)])
def test_a_prune_on_mptt_says_that_netbox_left_gaps_and_how_to_repair(dataset, version, warned):
    with fake(version) as server:
        sync(server, dataset(COUNTRIES + DIVISIONS))
        pruned = sync(server, dataset(COUNTRIES, "e.jsonl"), prune=True)
        unchanged = sync(server, dataset(COUNTRIES, "e.jsonl"), prune=True)
    gaps = [w for w in pruned["warnings"] if "Region.objects.rebuild()" in w]
    assert pruned["summary"]["delete"] == 6 and bool(gaps) is warned
    assert not warned or version in gaps[0]
    assert not [w for w in unchanged["warnings"] if "rebuild" in w]  # nothing deleted, nothing to say


def test_a_create_whose_answer_was_lost_is_reported_as_landed_late_not_as_another_writers(dataset):
    with fake("4.4.10") as server:
        server.faults.append(("POST", "drop_after_commit"))
        result = sync(server, dataset(COUNTRIES))
        assert len(server.regions) == 2
    assert [w for w in result["warnings"] if w.startswith("2 regions landed after the request")]
    assert not [w for w in result["warnings"] if "another writer" in w]
