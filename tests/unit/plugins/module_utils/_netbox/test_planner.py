# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner as a pure function: nodes + regions + options -> plan."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import (
    Cascade, Change, DatasetOrderError, ParentRef, PlanOptions, Vacate, attribute_values, plan, temporary_values,
)

TAG = "geo-managed"


def node(gid, name, parent=None, level="country", slug=None, description="", **attributes):
    return {"geo_source_id": "geonames:%d" % gid, "level": level, "name": name,
            "slug": slug or name.lower().replace(" ", "-"),
            "parent": "geonames:%d" % parent if parent else None, "description": description,
            "attributes": attributes}


def region(rid, name, gid=None, parent=None, slug=None, tags=(TAG,), description="", site_count=0, **fields):
    custom_fields = {"geo_source_id": "geonames:%d" % gid if gid else None}
    custom_fields.update(fields)
    return {"id": rid, "name": name, "slug": slug or name.lower().replace(" ", "-"), "parent": parent,
            "description": description, "custom_fields": custom_fields,
            "tags": [{"slug": t, "name": t} for t in tags], "site_count": site_count}


def as_regions(nodes, first_id=1):
    """The regions a perfect earlier sync of `nodes` would have left."""
    ids = {n["geo_source_id"]: first_id + i for i, n in enumerate(nodes)}
    return [region(ids[n["geo_source_id"]], n["name"], int(n["geo_source_id"].split(":")[1]),
                   parent=ids.get(n["parent"]), slug=n["slug"], description=n["description"]) for n in nodes]


WORLD = [node(1, "Belgium"), node(2, "Luxembourg"),
         node(11, "Flanders", 1, "admin1", "be-flanders"), node(12, "Wallonia", 1, "admin1", "be-wallonia"),
         node(21, "Diekirch", 2, "admin1", "lu-diekirch")]


def test_empty_netbox_creates_everything_level_by_level():
    result = plan(WORLD, [])
    assert result.summary == {"create": 5, "update": 0, "delete": 0, "unchanged": 0}
    assert [[op.geo_source_id for op in level] for level in result.create] == [
        ["geonames:1", "geonames:2"], ["geonames:11", "geonames:12", "geonames:21"]]
    # children name their parent by source id: its NetBox id is known only after the first level
    assert result.create[1][0].parent == ParentRef(source="geonames:1")
    assert result.create[0][0].parent == ParentRef(region_id=None)
    assert result.create[0][0].tags == (TAG,)
    assert result.create[0][0].custom_fields == {"geo_source_id": "geonames:1"}
    # the plan file keeps its form: a parent created this run is named by parent_source
    assert result.to_dict()["create"][2]["parent_source"] == "geonames:1"


def test_root_region_is_the_parent_of_top_nodes():
    result = plan(WORLD[:1], [region(500, "World", tags=())], PlanOptions(root_id=500))
    assert result.create[0][0].parent == ParentRef(region_id=500)


def test_same_state_is_unchanged():
    result = plan(WORLD, as_regions(WORLD))
    assert result.summary == {"create": 0, "update": 0, "delete": 0, "unchanged": 5}
    assert not result.changed


def test_update_carries_only_the_fields_that_differ():
    regions = as_regions(WORLD)
    renamed = [dict(n) for n in WORLD]
    renamed[2] = dict(renamed[2], name="Flemish Region", description="new text")
    result = plan(renamed, regions)
    assert result.summary["update"] == 1
    assert result.update[0].id == 3
    assert result.update[0].changes == {"name": Change("Flanders", "Flemish Region"),
                                        "description": Change("", "new text")}


def test_move_to_an_existing_parent_and_to_a_new_one():
    regions = as_regions(WORLD)
    moved = WORLD[:4] + [dict(WORLD[4], parent="geonames:1"), node(3, "Netherlands"),
                         node(31, "Limburg", 3, "admin1", "nl-limburg")]
    regions.append(region(9, "Limburg", 31, parent=1, slug="nl-limburg"))
    result = plan(moved, regions)
    changes = {u["geo_source_id"]: u["changes"] for u in result.to_dict()["update"]}
    assert changes["geonames:21"] == {"parent": [2, 1]}
    assert changes["geonames:31"] == {"parent": [1, {"source": "geonames:3"}]}
    assert [op.geo_source_id for op in result.creates] == ["geonames:3"]


def test_stale_regions_are_kept_unless_prune():
    regions = as_regions(WORLD) + [region(9, "Gone", 99, parent=1, slug="be-gone")]
    kept = plan(WORLD, regions)
    assert kept.summary["delete"] == 0
    pruned = plan(WORLD, regions, PlanOptions(prune=True))
    assert [d.id for d in pruned.delete] == [9]
    assert pruned.impact["regions_deleted"] == 1


def test_deletes_go_leaves_first_with_cascade_and_sites_counted():
    regions = [region(1, "Old", 1, site_count=3), region(2, "Old child", 2, parent=1, site_count=2),
               region(3, "Foreign child", None, parent=2, tags=())]
    result = plan([], regions, PlanOptions(prune=True))
    assert [d.id for d in result.delete] == [2, 1]
    assert result.cascade == [Cascade(id=3, name="Foreign child", deleted_with=2)]
    assert result.impact == {"regions_deleted": 3, "managed_deleted": 2, "unmanaged_deleted_with_parent": 1,
                             "sites_detached": 3}  # site_count is cumulative: counted at the subtree's top


def test_a_delete_names_the_nearest_ancestor_the_plan_keeps():
    regions = [region(1, "Kept", 1), region(2, "Old", 2, parent=1), region(3, "Old child", 3, parent=2)]
    result = plan([node(1, "Kept")], regions, PlanOptions(prune=True))
    assert {d.id: d.within for d in result.delete} == {3: "geonames:1", 2: "geonames:1"}
    assert [d.to_dict()["within"] for d in plan([], regions[:1], PlanOptions(prune=True)).delete] == [None]


def test_unmanaged_regions_are_never_touched():
    regions = as_regions(WORLD) + [region(50, "Mine", None, tags=("other",))]
    result = plan(WORLD, regions, PlanOptions(prune=True))
    assert result.summary == {"create": 0, "update": 0, "delete": 0, "unchanged": 5}
    absent = plan([], regions, PlanOptions(state="absent"))
    assert sorted(d.id for d in absent.delete) == [1, 2, 3, 4, 5]


def test_conflict_with_an_unmanaged_region_unless_adopt():
    regions = [region(7, "Belgium", None, tags=("other",))]
    refused = plan(WORLD[:1], regions)
    assert refused.conflicts and "adopt: true" in refused.conflicts[0]
    adopted = plan(WORLD[:1], regions, PlanOptions(adopt=True))
    assert not adopted.conflicts and adopted.summary["create"] == 0
    changes = adopted.update[0].changes
    assert changes["tags"] == Change(["other"], ["other", TAG])
    assert changes["custom_fields"] == Change({"geo_source_id": None}, {"geo_source_id": "geonames:1"})


def test_adopted_parent_is_the_parent_of_new_children():
    regions = [region(7, "Belgium", None, tags=())]
    result = plan(WORLD[:1] + WORLD[2:3], regions, PlanOptions(adopt=True))
    assert result.creates[0].parent == ParentRef(region_id=7)


def test_every_write_names_the_tree_netbox_locks_for_it():
    # NetBox 4.7 locks the tree (its top region) of each child insert, move and rename
    deeper = WORLD + [node(111, "Antwerp", 11, "admin2", "be-antwerp")]
    fresh = plan(deeper, [])
    trees = {op.geo_source_id: op.tree for op in fresh.creates}
    assert trees["geonames:1"] is None and trees["geonames:2"] is None  # a new top region locks nothing
    assert trees["geonames:11"] == trees["geonames:12"] == trees["geonames:111"] == "new:geonames:1"
    assert trees["geonames:21"] == "new:geonames:2"
    # Flanders exists under Belgium (id 1), Antwerp is new below it; Diekirch moves to Belgium
    regions = as_regions(WORLD)
    moved = [dict(n, parent="geonames:1") if n["geo_source_id"] == "geonames:21" else n for n in deeper]
    result = plan(moved, regions)
    assert [(op.geo_source_id, op.tree) for op in result.creates] == [("geonames:111", "id:1")]
    assert [(u.id, u.trees) for u in result.update] == [(5, ["id:1", "id:2"])]


def test_sibling_name_swap_goes_through_temporary_names():
    regions = as_regions(WORLD)
    swapped = [dict(n) for n in WORLD]
    swapped[2] = dict(swapped[2], name="Wallonia", slug="be-wallonia")
    swapped[3] = dict(swapped[3], name="Flanders", slug="be-flanders")
    result = plan(swapped, regions)
    assert not result.conflicts
    assert result.vacate == [Vacate(id=3, tree="id:1", **temporary_values(3)),
                             Vacate(id=4, tree="id:1", **temporary_values(4))]
    final = {u.id: u.changes for u in result.update}
    assert final[3]["name"].new == "Wallonia" and final[4]["name"].new == "Flanders"
    # simulate: apply vacate, then the updates, and check uniqueness at every step
    names = {r["id"]: r["name"] for r in regions}
    for step in [[v.body() for v in result.vacate], [u.body(lambda source: None) for u in result.update]]:
        for change in step:
            names[change["id"]] = change["name"]
            siblings = [names[i] for i in (3, 4)]
            assert len(set(siblings)) == 2


def test_new_region_taking_the_name_of_a_pruned_one():
    regions = as_regions(WORLD) + [region(9, "Hung Yen", 99, parent=1, slug="be-hung-yen")]
    wanted = WORLD + [node(98, "Hung Yen", 1, "admin1", "be-hung-yen")]
    refused = plan(wanted, regions)
    assert any("prune: true" in c for c in refused.conflicts)
    result = plan(wanted, regions, PlanOptions(prune=True))
    assert not result.conflicts
    assert [v.id for v in result.vacate] == [9]
    assert [d.id for d in result.delete] == [9]


def test_rename_into_a_name_an_unmanaged_sibling_holds_is_a_conflict():
    regions = as_regions(WORLD) + [region(60, "Brussels", None, parent=1, slug="be-brussels", tags=())]
    renamed = [dict(n) for n in WORLD]
    renamed[2] = dict(renamed[2], name="Brussels")
    result = plan(renamed, regions)
    assert len(result.conflicts) == 1 and "region 60" in result.conflicts[0]


def test_source_id_without_tag_needs_adopt():
    regions = [region(1, "Belgium", 1, tags=())]
    assert plan(WORLD[:1], regions).conflicts
    adopted = plan(WORLD[:1], regions, PlanOptions(adopt=True))
    assert adopted.update[0].changes == {"tags": Change([], [TAG])}


SOURCE_ID_OWNERSHIP = PlanOptions(managed_tag=None)  # ownership source_id: what the sync passes


def test_ownership_by_source_id_sends_no_tag_and_adds_none():
    created = plan(WORLD, [], SOURCE_ID_OWNERSHIP)
    assert all(op.tags == () for op in created.creates)
    assert "tags" not in created.create[0][0].body(None)
    assert created.to_dict()["create"][0]["tags"] == []
    # a tree tagged by an earlier run, and one never tagged, are both in step: tags are not compared
    for tags in ((TAG,), ()):
        regions = [dict(r, tags=[{"slug": t} for t in tags]) for r in as_regions(WORLD)]
        assert plan(WORLD, regions, SOURCE_ID_OWNERSHIP).summary["unchanged"] == 5


def test_ownership_by_source_id_manages_every_region_with_one():
    untagged = [region(1, "Belgium", 1, tags=()), region(9, "Gone", 99, parent=1, slug="be-gone", tags=()),
                region(50, "Mine", None, tags=())]
    result = plan(WORLD[:1], untagged, PlanOptions(managed_tag=None, prune=True))
    assert not result.conflicts  # by tag, region 1 would be a conflict without adopt
    assert result.summary == {"create": 0, "update": 0, "delete": 1, "unchanged": 1}
    assert [d.id for d in result.delete] == [9]  # not 50: no geo_source_id, not managed
    absent = plan([], untagged, PlanOptions(managed_tag=None, state="absent"))
    assert sorted(d.id for d in absent.delete) == [1, 9]
    # adopt still takes over a region without a geo_source_id by slug, with no tag added
    adopted = plan(WORLD[:1], [region(7, "Belgium", None, tags=("other",))], PlanOptions(managed_tag=None, adopt=True))
    assert adopted.update[0].changes == {"custom_fields": Change({"geo_source_id": None},
                                                                 {"geo_source_id": "geonames:1"})}


def test_attribute_fields_compare_decimals_loosely():
    wanted = [node(1, "Belgium", population=11000000, latitude=50.5, longitude=4.0, country_code="BE")]
    values = attribute_values(wanted[0])
    assert values["geo_iso_code"] == "BE" and values["geo_population"] == 11000000
    regions = [region(1, "Belgium", 1, geo_iso_code="BE", geo_population=11000000, geo_latitude="50.5000",
                      geo_longitude=4.0, geo_time_zone=None)]
    result = plan(wanted, regions, PlanOptions(attribute_fields=True))
    assert result.summary["unchanged"] == 1
    regions[0]["custom_fields"]["geo_population"] = 10
    changed = plan(wanted, regions, PlanOptions(attribute_fields=True))
    assert changed.update[0].changes["custom_fields"] == Change({"geo_population": 10}, {"geo_population": 11000000})


def test_plan_is_json_serialisable_and_deterministic():
    regions = as_regions(WORLD)
    first = json.dumps(plan(WORLD[:3], regions, PlanOptions(prune=True)).to_dict(), sort_keys=True)
    second = json.dumps(plan(WORLD[:3], list(reversed(regions)), PlanOptions(prune=True)).to_dict(), sort_keys=True)
    assert first == second
    assert json.loads(first)["summary"]["delete"] == 2


def test_prune_and_absent_stay_under_the_root_region():
    """Two trees under different roots may share the managed tag: pruning one leaves the other."""
    europe = [region(500, "Europe", tags=()), region(1, "Belgium", 1, parent=500),
              region(2, "Luxembourg", 2, parent=500), region(11, "Flanders", 11, parent=1)]
    other = [region(600, "Lab", tags=()), region(7, "Atlantis", 7, parent=600)]
    result = plan([node(1, "Belgium")], europe + other, PlanOptions(root_id=500, prune=True))
    assert sorted(d.id for d in result.delete) == [2, 11]
    absent = plan([], europe + other, PlanOptions(root_id=600, state="absent"))
    assert [d.id for d in absent.delete] == [7]
    # without a root, every managed region is in scope
    assert len(plan([], europe + other, PlanOptions(state="absent")).delete) == 4


def test_nodes_out_of_tree_order_are_refused_with_their_position():
    with pytest.raises(DatasetOrderError, match="parent geonames:1 of geonames:11 is not an earlier node") as late:
        plan(WORLD[2:3] + WORLD[:1], [])
    assert late.value.index == 0
    with pytest.raises(DatasetOrderError, match="geonames:1 appears twice") as twice:
        plan(WORLD[:2] + WORLD[:1], [])
    assert twice.value.index == 2
