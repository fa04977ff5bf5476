# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync with tokens of limited users (docs/security.md lists the permissions):

- exactly view/add/change/delete on dcim.region plus view on custom fields and tags
  creates, updates and prunes;
- one permission less fails before any write, with a message naming what is missing;
- check mode needs view only;
- a custom field the token may not create is named, with what an administrator must do.

Limited users are made through NetBox's users API by the superuser (the same syntax as
``scripts/local-netbox token --perms``) and removed afterwards. Prune runs use a tag of
their own, so they cannot touch any other test's regions.
"""

from __future__ import annotations

import uuid

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import ATTRIBUTE_FIELDS
from reliability_kit import (  # pylint: disable=import-error  # tests/integration/python is on sys.path
    NETBOX_URL, Admin, needs_netbox, root_fixture, run_engine, sync_params, tree_nodes, write_nodes,
)

pytestmark = needs_netbox

VIEW_SCHEMA = "view:extras.customfield,extras.tag"
EXACT = "view,add,change,delete:dcim.region;" + VIEW_SCHEMA


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    """The superuser; the custom field and the default tag exist (an admin sync made them)."""
    admin = Admin()
    root = admin.make_root("lp-schema")
    nodes = tree_nodes(countries=1, divisions=1, cities=0)
    error = run_engine(sync_params(write_nodes(tmp_path_factory.mktemp("schema") / "s.jsonl", nodes), root["slug"]))[1]
    assert error is None, error
    yield admin
    admin.delete_region(root["id"])


root = root_fixture("lp")


@pytest.fixture
def own_tag(admin):
    """A managed tag of this test alone (made by the superuser): prune sees only its regions."""
    slug = "lp-%s" % uuid.uuid4().hex[:10]
    tag = admin.post("extras/tags", {"name": slug, "slug": slug})
    yield slug
    admin.session.delete("%s/api/extras/tags/%d/" % (admin.url, tag["id"]), timeout=60)


@pytest.fixture
def limited(admin):
    """limited(spec) -> token of a new user holding only those permissions."""
    users = []

    def make(spec, write_enabled=True):
        token, user = admin.limited_token(spec, write_enabled=write_enabled)
        users.append(user)
        return token
    yield make
    for user in users:
        admin.delete_user(user)


def test_exact_permissions_create_update_and_prune(tmp_path, admin, root, own_tag, limited):
    token = limited(EXACT)
    nodes = tree_nodes(countries=2, divisions=3, cities=1)
    first = write_nodes(tmp_path / "first.jsonl", nodes)
    result, error = run_engine(sync_params(first, root["slug"], token=token, managed_tag=own_tag))
    assert error is None, error
    assert admin.assert_tree_is(root["id"], nodes, tag=own_tag) == len(nodes)
    assert result["summary"]["create"] == len(nodes)

    # a rename and two cities gone: change and delete, still with the same token
    changed = [dict(n) for n in nodes if n["level"] != "city" or not n["name"].startswith("Town 1-2")]
    changed[0]["name"] = "Testland Renamed"
    second = write_nodes(tmp_path / "second.jsonl", changed)
    result, error = run_engine(sync_params(second, root["slug"], token=token, managed_tag=own_tag, prune=True))
    assert error is None, error
    assert result["summary"]["update"] == 1 and result["summary"]["delete"] == len(nodes) - len(changed)
    assert admin.assert_tree_is(root["id"], changed, tag=own_tag) == len(changed)


@pytest.mark.parametrize("spec, missing", [
    ("view,change,delete:dcim.region;" + VIEW_SCHEMA, "add dcim.region"),
    ("view,add,delete:dcim.region;" + VIEW_SCHEMA, "change dcim.region"),
    ("add,change,delete:dcim.region;" + VIEW_SCHEMA, "view dcim.region"),
], ids=["no-add", "no-change", "no-view"])
def test_one_permission_less_fails_before_any_write_naming_it(tmp_path, admin, root, limited, spec, missing):
    token = limited(spec)
    dataset = write_nodes(tmp_path / "d.jsonl", tree_nodes(countries=2, divisions=2, cities=1))
    result, error = run_engine(sync_params(dataset, root["slug"], token=token))
    assert error is not None and missing in error, error
    assert admin.count_below(root["id"]) == 0
    assert result["changed"] is False


def test_prune_without_delete_fails_before_any_write(tmp_path, admin, root, own_tag, limited):
    nodes = tree_nodes(countries=1, divisions=3, cities=1)
    error = run_engine(sync_params(write_nodes(tmp_path / "a.jsonl", nodes), root["slug"], managed_tag=own_tag))[1]
    assert error is None, error
    # the next dataset adds a division and drops one: a create and deletes, with a token that may not delete
    base = int(nodes[0]["geo_source_id"].split(":")[1])
    extra = dict(nodes[1], geo_source_id="geonames:%d" % (base + 900), name="Province New", slug="aa-province-new")
    wanted = [n for n in nodes if n["name"] not in ("Province 0-2", "Town 0-2-0")] + [extra]
    token = limited("view,add,change:dcim.region;" + VIEW_SCHEMA)
    result, error = run_engine(sync_params(write_nodes(tmp_path / "b.jsonl", wanted), root["slug"], token=token,
                                           managed_tag=own_tag, prune=True))
    assert error is not None and "delete dcim.region" in error, error
    assert result["summary"]["delete"] == 2 and result["summary"]["create"] == 1
    assert admin.assert_tree_is(root["id"], nodes, tag=own_tag) == len(nodes)  # untouched: not even the create


def test_check_mode_needs_view_only(tmp_path, admin, root, limited):
    token = limited("view:dcim.region;" + VIEW_SCHEMA)
    nodes = tree_nodes(countries=2, divisions=2, cities=1)
    result, error = run_engine(sync_params(write_nodes(tmp_path / "c.jsonl", nodes), root["slug"], token=token),
                               check_mode=True)
    assert error is None, error
    assert result["summary"]["create"] == len(nodes) and result["changed"] is True
    assert admin.count_below(root["id"]) == 0


def test_read_only_token_fails_before_any_write(tmp_path, admin, root, limited):
    """NetBox answers a write-disabled token exactly as a missing permission (403, same detail)."""
    token = limited(EXACT, write_enabled=False)
    dataset = write_nodes(tmp_path / "r.jsonl", tree_nodes(countries=1, divisions=2, cities=0))
    error = run_engine(sync_params(dataset, root["slug"], token=token))[1]
    assert error is not None and "add dcim.region" in error, error
    assert admin.count_below(root["id"]) == 0


@pytest.fixture
def without_attribute_fields(admin):
    """A NetBox without the optional attribute custom fields, whichever test made them before
    (test_sync_release.py's syncs do): the tests below are about creating them."""
    for field in admin.all("extras/custom-fields", fields="id,name"):
        if field["name"] in ATTRIBUTE_FIELDS:
            admin.session.delete("%s/api/extras/custom-fields/%d/" % (admin.url, field["id"]),
                                 timeout=60).raise_for_status()
    assert not {cf["name"] for cf in admin.all("extras/custom-fields", fields="id,name")} & set(ATTRIBUTE_FIELDS)


def test_custom_fields_the_token_may_not_create_are_named(tmp_path, admin, root, limited, without_attribute_fields):
    token = limited(EXACT)
    dataset = write_nodes(tmp_path / "f.jsonl", tree_nodes(countries=1, divisions=1, cities=0))
    error = run_engine(sync_params(dataset, root["slug"], token=token, attribute_fields=True))[1]
    assert error is not None, "the sync should have failed"
    assert "custom field geo_population" in error and "add extras.customfield" in error, error
    assert "administrator" in error
    assert admin.count_below(root["id"]) == 0


def test_schema_is_not_written_when_the_regions_may_not_be(tmp_path, admin, root, limited, without_attribute_fields):
    """A token that may create custom fields but not regions stops before creating the
    fields: "fails before any write" holds for the first run in a NetBox too."""
    token = limited("view:dcim.region;view,add,change:extras.customfield;view:extras.tag")
    dataset = write_nodes(tmp_path / "s.jsonl", tree_nodes(countries=1, divisions=1, cities=0))
    error = run_engine(sync_params(dataset, root["slug"], token=token, attribute_fields=True))[1]
    assert error is not None and "add dcim.region" in error, error
    assert "geo_population" not in {cf["name"] for cf in admin.all("extras/custom-fields", fields="id,name")}
    assert admin.count_below(root["id"]) == 0


# -- netbox_geo_sites ---------------------------------------------------------------------------------

SITES_EXACT = "view:dcim.region;view,change:dcim.site"


@pytest.fixture
def placed_tree(tmp_path, admin, root, own_tag):
    """A synced tree (every node at 1.5N 2.5E) under its own tag, and a site there without a region."""
    nodes = tree_nodes(countries=1, divisions=1, cities=1)
    dataset = write_nodes(tmp_path / "sites.jsonl", nodes)
    error = run_engine(sync_params(dataset, root["slug"], managed_tag=own_tag))[1]
    assert error is None, error
    name = "lp-site-%s" % uuid.uuid4().hex[:10]
    site = admin.post("dcim/sites", {"name": name, "slug": name, "latitude": 1.5, "longitude": 2.5})
    yield dataset, site
    admin.session.delete("%s/api/dcim/sites/%d/" % (admin.url, site["id"]), timeout=60)


def place(dataset, site, token, tag, check_mode=False):
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sites import SitesError, run_module
    params = {"netbox_url": NETBOX_URL, "netbox_token": token, "dataset": dataset, "sites": {"id": site["id"]},
              "managed_tag": tag, "set_time_zone": False, "retries": 2, "timeout": 60.0}
    try:
        return run_module(params, check_mode=check_mode), None
    except SitesError as exc:
        return None, str(exc)


def test_sites_with_exactly_view_regions_and_view_change_sites(admin, placed_tree, own_tag, limited):
    dataset, site = placed_tree
    checked, error = place(dataset, site, limited("view:dcim.region;view:dcim.site"), own_tag, check_mode=True)
    assert error is None, error
    assert checked["summary"]["updated"] == 1 and admin.get("dcim/sites", id=site["id"])["results"][0]["region"] is None
    result, error = place(dataset, site, limited(SITES_EXACT), own_tag)
    assert error is None, error
    region = admin.get("dcim/sites", id=site["id"])["results"][0]["region"]
    assert result["summary"]["updated"] == 1 and region is not None
    assert admin.get("dcim/regions", id=region["id"], tag=own_tag)["count"] == 1  # a managed region


def test_sites_without_change_fail_before_any_write_naming_it(admin, placed_tree, own_tag, limited):
    dataset, site = placed_tree
    result, error = place(dataset, site, limited("view:dcim.region;view:dcim.site"), own_tag)
    assert result is None and "change dcim.site" in error and "nothing was written" in error, error
    assert admin.get("dcim/sites", id=site["id"])["results"][0]["region"] is None
    result, error = place(dataset, site, limited("view:dcim.site"), own_tag)  # no view on regions
    assert result is None and "lacks the permission" in error and "dcim/regions" in error, error
