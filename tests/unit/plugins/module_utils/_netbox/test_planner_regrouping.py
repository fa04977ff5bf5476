# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plans that a language switch and a change of grouping make: renames and moves in
place (same region ids), never a delete and create."""

from __future__ import annotations

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import Change, ParentRef, PlanOptions, plan

TAG = "geo-managed"


def node(sid, name, slug, parent=None, level="country"):
    return {"geo_source_id": sid, "level": level, "name": name, "slug": slug, "parent": parent,
            "description": "", "attributes": {}}


def synced(nodes):
    """The regions an earlier sync of `nodes` left: ids 1, 2, ... in node order."""
    ids = {n["geo_source_id"]: i for i, n in enumerate(nodes, 1)}
    return [{"id": ids[n["geo_source_id"]], "name": n["name"], "slug": n["slug"], "parent": ids.get(n["parent"]),
             "description": "", "custom_fields": {"geo_source_id": n["geo_source_id"]},
             "tags": [{"slug": TAG}], "site_count": 0} for n in nodes]


EUROPE = "geonames:6255148"
BY_CONTINENT = [
    node(EUROPE, "Europe", "europe", level="continent"),
    node("geonames:2921044", "Germany", "germany", EUROPE),
    node("geonames:3017382", "France", "france", EUROPE),
    node("geonames:2951839", "Bavaria", "de-bayern", "geonames:2921044", "admin1"),
]
BY_M49 = [
    node("m49:150", "Europe", "europe", level="group"),
    node("m49:155", "Western Europe", "western-europe", "m49:150", "group"),
    node("geonames:2921044", "Germany", "germany", "m49:155"),
    node("geonames:3017382", "France", "france", "m49:155"),
    node("geonames:2951839", "Bavaria", "de-bayern", "geonames:2921044", "admin1"),
]


def test_a_new_grouping_moves_countries_and_deletes_nothing_without_prune():
    result = plan(BY_M49, synced(BY_CONTINENT))
    assert [[op.geo_source_id for op in level] for level in result.create] == [["m49:150"], ["m49:155"]]
    moves = {u.id: u.changes for u in result.update}
    to_group = {"parent": Change(1, ParentRef(source="m49:155"))}
    assert moves == {2: to_group, 3: to_group}
    assert result.delete == [] and result.unchanged == 1  # Bavaria stays under Germany
    # the M49 region takes the name and slug "Europe" at the top while the continent keeps them
    assert any("Europe" in c for c in result.conflicts)


def test_with_prune_the_old_groups_go_after_the_countries_moved():
    result = plan(BY_M49, synced(BY_CONTINENT), PlanOptions(prune=True))
    assert [d.geo_source_id for d in result.delete] == [EUROPE]
    assert result.cascade == []  # the countries are moved, not deleted with their old parent
    assert {u.id for u in result.update} == {2, 3}
    assert result.conflicts == []  # the pruned continent frees "Europe" for the M49 region


def test_a_language_switch_renames_in_place():
    german = [dict(n, name={"Europe": "Europa", "Germany": "Deutschland", "France": "Frankreich",
                            "Bavaria": "Bayern"}[n["name"]]) for n in BY_CONTINENT]
    result = plan(german, synced(BY_CONTINENT))
    assert result.create == [] and result.delete == []
    assert {u.id: u.changes for u in result.update} == {
        1: {"name": Change("Europe", "Europa")}, 2: {"name": Change("Germany", "Deutschland")},
        3: {"name": Change("France", "Frankreich")}, 4: {"name": Change("Bavaria", "Bayern")}}


def test_names_that_swap_between_siblings_are_vacated_first():
    swapped = [BY_CONTINENT[0], dict(BY_CONTINENT[1], name="France"), dict(BY_CONTINENT[2], name="Germany")]
    result = plan(swapped, synced(BY_CONTINENT[:3]))
    assert sorted(v.id for v in result.vacate) == [2, 3]
    assert result.conflicts == [] and result.delete == []
