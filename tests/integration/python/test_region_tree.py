# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The region tree checker (`scripts/local-netbox check-tree`, which conftest.py runs after
every test) and the facts about NetBox's own region writes it was made for, on the NetBox
under test (docs/netbox-versions.md): on NetBox 4.4-4.6 (django-mptt) one bulk PATCH that
renames or moves several regions of a tree corrupts it, a bulk POST under a parent without
children keeps the order it was sent in, deletes leave gaps; one region per request,
bulk edits of other fields and creates under a parent with children are safe. NetBox 4.7
(ltree) keeps the tree sound whatever the request. A test that damages a tree repairs it
(Region.objects.rebuild() on MPTT releases, its own SQL otherwise) before it ends.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
import requests

from region_tree import check_region_tree, rebuild_region_tree  # pylint: disable=import-error

NETBOX_URL = os.environ.get("NETBOX_URL")
NETBOX_TOKEN = os.environ.get("NETBOX_TOKEN")
LOCAL_NETBOX = os.environ.get("GEOFOSS_LOCAL_NETBOX")

pytestmark = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN and LOCAL_NETBOX),
                                reason="needs the local NetBox (NETBOX_URL, NETBOX_TOKEN, GEOFOSS_LOCAL_NETBOX)")

CHILDREN = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")


class Regions:
    """The regions API of the NetBox under test."""

    def __init__(self):
        self.session = requests.Session()
        scheme = "Bearer" if NETBOX_TOKEN.startswith("nbt_") else "Token"
        self.session.headers.update({"Authorization": "%s %s" % (scheme, NETBOX_TOKEN), "Accept": "application/json"})

    def send(self, method, path="", body=None, expected=200):
        response = self.session.request(method, "%s/api/dcim/regions/%s" % (NETBOX_URL, path), json=body, timeout=600)
        assert response.status_code == expected, response.text
        return response.json() if response.content else None

    def create(self, body):
        return self.send("POST", body=body, expected=201)

    def children(self, parent_id) -> dict:
        found = self.send("GET", "?parent_id=%d&limit=0&brief=1" % parent_id)["results"]
        return {region["name"]: region["id"] for region in found}


@pytest.fixture(scope="module")
def regions():
    return Regions()


@pytest.fixture(scope="module")
def tree_kind():
    return check_region_tree("structure")["tree"]


@pytest.fixture
def family(regions):
    """A root, five children made one per request in name order, three grandchildren each
    (the first alone, then two in one bulk POST): a tree NetBox numbers soundly. Removed
    afterwards."""
    suffix = uuid.uuid4().hex[:8]
    root = regions.create({"name": "Tree check %s" % suffix, "slug": "tree-check-%s" % suffix})
    ids = {"root": root["id"]}
    for name in CHILDREN:
        ids[name] = regions.create({"name": name, "slug": "%s-%s" % (name.lower(), suffix), "parent": root["id"]})["id"]
        regions.create({"name": name + " 0", "slug": "%s-0-%s" % (name.lower(), suffix), "parent": ids[name]})
        regions.create([{"name": "%s %d" % (name, index), "slug": "%s-%d-%s" % (name.lower(), index, suffix),
                         "parent": ids[name]} for index in (1, 2)])
    ids["suffix"] = suffix
    yield ids
    regions.send("DELETE", "%d/" % root["id"], expected=204)


def psql(sql: str) -> str:
    result = subprocess.run([LOCAL_NETBOX, "psql", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def problems(mode="structure") -> dict:
    return {check: found["count"] for check, found in check_region_tree(mode)["problems"].items()}


def test_a_tree_netbox_numbered_is_sound(family):
    report = check_region_tree("structure")
    assert report["sound"], report["problems"]
    assert report["regions"] >= 1 + len(CHILDREN) * 4


def test_the_checker_names_damage_and_sees_its_repair(family, tree_kind):
    """Damage written straight into the database (what no API call may do) is named."""
    child = "%d" % family["Alpha"]
    if tree_kind == "mptt":
        saved = psql("select lft || ',' || rght from dcim_region where id = %s" % child)
        psql("update dcim_region set lft = lft + 1000, rght = rght + 1000 where id = %s" % child)
        assert "child_outside_parent" in problems()
        psql("update dcim_region set lft = %s, rght = %s where id = %s" % tuple(saved.split(",") + [child]))
        psql("update dcim_region set name = 'Zz' where id = %s" % child)  # past its siblings by name
        assert "sibling_out_of_name_order" in problems()
        psql("update dcim_region set name = 'Alpha' where id = %s" % child)
    else:
        saved = psql("select path from dcim_region where id = %s" % child)
        psql("update dcim_region set path = '%s' where id = %s" % (child.zfill(19), child))
        assert "path_not_parent_path_plus_label" in problems()
        psql("update dcim_region set path = '%s' where id = %s" % (saved, child))
        psql("update dcim_region set sort_path = 'Zz' where id = %s" % child)
        assert "sort_path_not_parent_sort_path_plus_name" in problems()
        psql("update dcim_region set sort_path = (select sort_path from dcim_region where id = %d) || chr(9) || name"
             " where id = %s" % (family["root"], child))
    assert problems() == {}


def test_exact_numbering_is_what_rebuild_gives(family, tree_kind):
    rebuild_region_tree()
    assert problems("exact") == {}
    if tree_kind == "mptt":  # a gap rebuild() would close: the structure stays sound
        psql("update dcim_region set rght = rght + 2 where id = %d" % family["root"])
        assert problems("structure") == {}
        assert "differs_from_rebuild" in problems("exact")
        rebuild_region_tree()
        assert problems("exact") == {}


def test_bulk_post_under_a_parent_without_children(family, regions, tree_kind):
    """django-mptt skips looking for a place by name when the parent, as loaded while the
    request was validated, had no descendants: each sibling of the request goes last."""
    parent = regions.children(family["Echo"])["Echo 0"]
    regions.create([{"name": name, "slug": "%s-%s" % (name.lower(), family["suffix"]), "parent": parent}
                    for name in ("Zulu", "Mike", "Kilo")])
    found = problems()
    if tree_kind == "mptt":
        assert set(found) == {"sibling_out_of_name_order"}
        rebuild_region_tree()
    assert problems() == {}


def test_bulk_post_sorted_by_name_keeps_the_order(family, regions):
    parent = regions.children(family["Delta"])["Delta 0"]
    names = psql("select string_agg(n, ',' order by n) from (values ('Zulu'), ('Mike'), ('Kilo')) v(n)").split(",")
    regions.create([{"name": name, "slug": "%s-%s" % (name.lower(), family["suffix"]), "parent": parent}
                    for name in names])
    assert problems() == {}


def test_one_bulk_patch_renaming_three_siblings(family, regions, tree_kind):
    """NetBox loads every region of a bulk PATCH, then saves them one by one: django-mptt
    moves each renamed one using the lft/rght it was loaded with, stale after the first."""
    regions.send("PATCH", body=[{"id": family["Alpha"], "name": "Xray"}, {"id": family["Bravo"], "name": "Yankee"},
                                {"id": family["Charlie"], "name": "Zulu"}])
    found = problems()
    if tree_kind == "mptt":
        assert "child_outside_parent" in found, found
        rebuild_region_tree()
    assert problems() == {}


def test_one_rename_per_request_keeps_the_tree_sound_and_ordered(family, regions):
    for old, new in (("Alpha", "Xray"), ("Bravo", "Yankee"), ("Charlie", "Zulu")):
        regions.send("PATCH", "%d/" % family[old], {"name": new})
    assert problems() == {}
    assert list(regions.children(family["root"])) == ["Delta", "Echo", "Xray", "Yankee", "Zulu"]


def test_bulk_patch_of_other_fields_is_safe(family, regions):
    """django-mptt saves a region whose name and parent are unchanged without its tree fields."""
    regions.send("PATCH", body=[{"id": family[name], "description": "checked"} for name in CHILDREN])
    assert problems() == {}


def test_one_bulk_patch_moving_regions(family, regions, tree_kind):
    delta_children = list(regions.children(family["Delta"]).values())
    regions.send("PATCH", body=[{"id": region, "parent": family["Alpha"]} for region in delta_children]
                 + [{"id": family["Bravo"], "parent": family["Echo"]}])
    found = problems()
    if tree_kind == "mptt":
        assert "child_outside_parent" in found or "number_used_twice" in found, found
        rebuild_region_tree()
    assert problems() == {}


def test_one_move_per_request_keeps_the_tree_sound(family, regions):
    for region in regions.children(family["Delta"]).values():
        regions.send("PATCH", "%d/" % region, {"parent": family["Alpha"]})
    regions.send("PATCH", "%d/" % family["Bravo"], {"parent": family["Echo"]})
    assert problems() == {}
    assert len(regions.children(family["Alpha"])) == 6


def test_deletes_leave_gaps_on_mptt(family, regions, tree_kind):
    rebuild_region_tree()
    leaves = list(regions.children(family["Charlie"]).values())
    regions.send("DELETE", body=[{"id": region} for region in leaves], expected=204)
    assert problems("structure") == {}
    if tree_kind == "mptt":  # NetBox's delete never reaches django-mptt's, which would close the gap
        assert set(problems("exact")) == {"differs_from_rebuild"}
        rebuild_region_tree()
    assert problems("exact") == {}
