# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identity custom field of an earlier release, against the real NetBox (issue 18).

Earlier releases created ``geo_source_id`` unique; NetBox checks a unique custom field on
every save with a scan of the whole region table. A sync now changes it to not unique, as
any other schema change: check mode says so (warning and --diff) and writes nothing, a
real run changes it before its first region, and a token that may not change custom
fields leaves it as it is, warns and syncs anyway. Without the field being unique, a
create sent twice is still refused by NetBox's (parent, slug) index, and the write layer
finds the first copy again by slug.
"""

from __future__ import annotations

import pytest

from reliability_kit import (  # pylint: disable=import-error  # tests/integration/python is on sys.path
    NETBOX_TOKEN, SOURCE_FIELD, admin_fixture, needs_netbox, root_fixture, run_engine, sync_params, tree_nodes, write_nodes,
)

pytestmark = needs_netbox

admin = admin_fixture()
root = root_fixture("identity")
CHANGE = "custom field %s (unique: true -> false)" % SOURCE_FIELD


def source_field(admin) -> dict:
    return admin.get("extras/custom-fields", name=SOURCE_FIELD)["results"][0]


def set_unique(admin, unique: bool) -> None:
    field = source_field(admin)
    response = admin.session.patch("%s/api/extras/custom-fields/%d/" % (admin.url, field["id"]),
                                   json={"unique": unique}, timeout=60)
    assert response.status_code == 200, response.text[:500]


def last_change(admin) -> int:
    results = admin.get("core/object-changes", ordering="-id", limit=1)["results"]
    return results[0]["id"] if results else 0


@pytest.fixture
def unique_field(tmp_path, admin):
    """The custom field as an earlier release left it: unique (a sync under a root of its
    own makes sure that it exists)."""
    seed = admin.make_root("identity-seed")
    try:
        error = run_engine(sync_params(write_nodes(tmp_path / "seed.jsonl", tree_nodes(1, 1, 0)), seed["slug"]))[1]
        assert error is None, error
    finally:
        admin.delete_region(seed["id"])
    set_unique(admin, True)
    yield
    set_unique(admin, False)  # the state every sync leaves, whatever the test did


def test_check_mode_shows_the_change_and_writes_nothing_then_a_run_makes_it(tmp_path, admin, root, unique_field):
    nodes = tree_nodes(countries=2, divisions=2, cities=1)
    dataset = write_nodes(tmp_path / "migrate.jsonl", nodes)
    before = last_change(admin)
    preview, error = run_engine(sync_params(dataset, root["slug"]), check_mode=True, diff=True)
    assert error is None, error
    assert "check mode: would change " + CHANGE in preview["warnings"]
    assert preview["diff"]["before"]["custom field geo_source_id"] == {"unique": True}
    assert preview["diff"]["after"]["custom field geo_source_id"] == {"unique": False}
    assert preview["diff"]["after_header"].startswith("1 schema changes, %d creates" % len(nodes))
    assert last_change(admin) == before and source_field(admin)["unique"] is True

    result, error = run_engine(sync_params(dataset, root["slug"]))
    assert error is None, error
    assert result["changed"] and source_field(admin)["unique"] is False
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)
    # the field changed once, before the first region was written
    changes = admin.get("core/object-changes", id__gt=before, ordering="id", limit=1000)["results"]
    kinds = [c["changed_object_type"] for c in changes]
    assert kinds[0] == "extras.customfield" and kinds.count("extras.customfield") == 1
    assert kinds.count("dcim.region") == len(nodes)

    again, error = run_engine(sync_params(dataset, root["slug"]), check_mode=True, diff=True)
    assert error is None, error
    assert not again["changed"] and "custom field geo_source_id" not in again["diff"]["after"]


def test_a_schema_change_alone_is_a_change(tmp_path, admin, root, unique_field):
    nodes = tree_nodes(countries=1, divisions=1, cities=0)
    dataset = write_nodes(tmp_path / "seeded.jsonl", nodes)
    assert run_engine(sync_params(dataset, root["slug"]))[1] is None  # the tree as the dataset wants it
    set_unique(admin, True)
    result, error = run_engine(sync_params(dataset, root["slug"]))
    assert error is None, error
    assert result["changed"] and result["summary"]["unchanged"] == len(nodes)
    assert source_field(admin)["unique"] is False


def test_a_token_that_may_not_change_custom_fields_keeps_the_field_and_syncs(tmp_path, admin, root, unique_field):
    token, user = admin.limited_token("view,add,change,delete:dcim.region;view:extras.customfield,extras.tag")
    try:
        nodes = tree_nodes(countries=1, divisions=2, cities=1)
        result, error = run_engine(sync_params(write_nodes(tmp_path / "kept.jsonl", nodes), root["slug"], token=token))
    finally:
        admin.delete_user(user)
    assert error is None, error
    assert any("may not change custom fields" in w and "unique: true" in w for w in result["warnings"])
    assert source_field(admin)["unique"] is True
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)


def test_a_create_sent_twice_is_refused_by_netbox_and_found_again_by_slug(admin, root, unique_field):
    """No unique custom field: the second copy of a region is stopped by NetBox's (parent,
    slug) index, and the write layer reads the first back instead of failing."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import REGION_IDENTITY
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import BatchWriter

    set_unique(admin, False)
    node = tree_nodes(countries=1, divisions=0, cities=0)[0]
    body = {"name": node["name"], "slug": node["slug"], "parent": root["id"],
            "custom_fields": {SOURCE_FIELD: node["geo_source_id"]}}
    first = admin.post("dcim/regions", [body])[0]
    writer = BatchWriter(NetBoxClient(admin.url, NETBOX_TOKEN, HttpClient(retries=0)), retries=0)
    created = writer.create("dcim/regions", [body], REGION_IDENTITY)
    assert created.ids == {node["geo_source_id"]: first["id"]} and created.by_others == 1
    assert [r["id"] for r in admin.subtree(root["id"])] == [first["id"]]
