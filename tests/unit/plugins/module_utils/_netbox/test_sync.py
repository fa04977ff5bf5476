# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync engine end to end against the in-memory fake NetBox: schema, plan, bulk apply,
ambiguous failures without duplicates, check mode, limits, secrecy."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetHeader, write_dataset
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import sync as sync_module
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError, run_sync

from fake_netbox import FakeNetBox

TOKEN = "nbt_key.secret"


def attributes(cc):
    keys = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
            "longitude", "time_zone", "feature_code", "wikidata_id", "continent")
    values = dict.fromkeys(keys)
    values["country_code"] = cc
    return values


def node(gid, name, cc, parent=None, level=None, slug=None):
    level = level or ("admin1" if parent else "country")
    return {"geo_source_id": "geonames:%d" % gid, "level": level, "name": name,
            "slug": slug or ("%s-%s" % (cc.lower(), name.lower()) if parent else name.lower()),
            "parent": "geonames:%d" % parent if parent else None, "description": "", "attributes": attributes(cc)}


COUNTRIES = [node(1, "Belgium", "BE"), node(2, "Luxembourg", "LU")]
DIVISIONS = [node(10 + n, "Be%d" % n, "BE", parent=1) for n in range(5)] + [node(20, "Diekirch", "LU", parent=2)]


@pytest.fixture
def dataset(tmp_path):
    def make(nodes, name="d.jsonl"):
        path = str(tmp_path / name)
        write_dataset(path, DatasetHeader(), nodes)
        return path
    return make


def params(server, path, **extra):
    base = {"netbox_url": server.url, "netbox_token": TOKEN, "dataset": path, "managed_tag": "geo-managed",
            "batch_size": 2, "concurrency": 2, "retries": 3, "diff_limit": 2, "state": "present"}
    base.update(extra)
    return base


def sync(server, path, check_mode=False, diff=False, **extra):
    http = HttpClient(retries=3, sleep=lambda s: None, random=lambda: 0.0)
    return run_sync(params(server, path, **extra), check_mode=check_mode, diff=diff, http=http,
                    sleep=lambda s: None)


def managed(server):
    return {r["custom_fields"].get("geo_source_id"): r for r in server.regions.values()}


def test_first_sync_creates_the_schema_and_every_region_then_nothing(dataset):
    path = dataset(COUNTRIES + DIVISIONS)
    with FakeNetBox() as server:
        first = sync(server, path)
        assert first["changed"] and first["summary"]["create"] == 8
        regions = managed(server)
        assert len(regions) == 8
        assert regions["geonames:20"]["parent"] == regions["geonames:2"]["id"]
        assert all(r["tags"][0]["slug"] == "geo-managed" for r in regions.values())
        assert [cf["name"] for cf in server.objects["extras/custom-fields"].values()] == ["geo_source_id"]
        assert server.objects["extras/custom-fields"][1]["unique"] is False  # NetBox would scan for it (issue 18)
        assert [t["slug"] for t in server.objects["extras/tags"].values()] == ["geo-managed"]
        ids = {sid: r["id"] for sid, r in regions.items()}
        writes = len(server.writes)
        second = sync(server, path)
        assert not second["changed"] and second["summary"]["unchanged"] == 8
        assert len(server.writes) == writes
        assert {sid: r["id"] for sid, r in managed(server).items()} == ids
    # every write names the run
    assert all(m and first["run_id"] in m for m in server.messages)
    assert len(first["request_ids"]) == writes


def test_check_mode_writes_nothing_not_even_the_schema(dataset, tmp_path):
    path = dataset(COUNTRIES + DIVISIONS)
    plan_file = str(tmp_path / "plan.json")
    with FakeNetBox() as server:
        result = sync(server, path, check_mode=True, diff=True, plan_file=plan_file)
        assert server.writes == []
    assert result["changed"] and result["summary"]["create"] == 8
    assert any("would create" in w for w in result["warnings"])
    assert len(result["diff"]["after"]) == 2 and "8 creates" in result["diff"]["after_header"]
    plan = json.load(open(plan_file))
    assert len(plan["create"]) == 8 and plan["check_mode"] is True
    assert TOKEN not in open(plan_file).read()


def source_field(server):
    return next(cf for cf in server.objects["extras/custom-fields"].values() if cf["name"] == "geo_source_id")


def unique_source_field(server):
    """geo_source_id as earlier releases created it: unique. Returns the number of writes so far."""
    sync(server, server.seed)
    source_field(server)["unique"] = True
    return len(server.writes)


@pytest.fixture
def seeded(dataset):
    """A fake NetBox after a first sync of COUNTRIES (server.seed: that dataset)."""
    with FakeNetBox() as server:
        server.seed = dataset(COUNTRIES, "seed.jsonl")
        yield server


def test_a_unique_source_field_is_shown_in_check_mode_and_diff_then_made_not_unique(seeded, dataset):
    writes = unique_source_field(seeded)
    path = dataset(COUNTRIES + DIVISIONS)
    preview = sync(seeded, path, check_mode=True, diff=True, diff_limit=10)
    assert len(seeded.writes) == writes and source_field(seeded)["unique"] is True
    assert "check mode: would change custom field geo_source_id (unique: true -> false)" in preview["warnings"]
    assert preview["diff"]["before"]["custom field geo_source_id"] == {"unique": True}
    assert preview["diff"]["after"]["custom field geo_source_id"] == {"unique": False}
    assert preview["diff"]["after_header"] == "1 schema changes, 6 creates, 0 updates, 0 deletes (7 shown)"

    applied = sync(seeded, path)
    field = source_field(seeded)
    assert applied["changed"] and field["unique"] is False
    changed = [(m, e, b) for m, e, b in seeded.writes[writes:] if e == "extras/custom-fields"]
    assert changed == [("PATCH", "extras/custom-fields", [{"id": field["id"], "unique": False,
                                                           "changelog_message": changed[0][2][0]["changelog_message"]}])]
    assert seeded.writes[writes][1] == "extras/custom-fields"  # before the first region
    assert not sync(seeded, path, check_mode=True)["changed"]


def test_a_schema_change_alone_is_a_change(seeded):
    unique_source_field(seeded)
    result = sync(seeded, seeded.seed)
    assert result["changed"] and result["summary"] == {"create": 0, "update": 0, "delete": 0, "unchanged": 2}
    assert source_field(seeded)["unique"] is False


def test_a_token_that_may_not_change_custom_fields_keeps_a_unique_field_and_syncs(seeded, dataset):
    writes = unique_source_field(seeded)
    seeded.tokens[TOKEN] = {"dcim.region": {"view", "add", "change"}, "extras.customfield": {"view"},
                            "extras.tag": {"view"}}
    result = sync(seeded, dataset(COUNTRIES + DIVISIONS))
    assert source_field(seeded)["unique"] is True
    assert result["summary"]["create"] == 6 and len(managed(seeded)) == 8
    assert [w for w in result["warnings"] if "may not change custom fields" in w and "unique: true" in w]
    assert not [e for m, e, b in seeded.writes[writes:] if e == "extras/custom-fields"]


def test_a_post_that_landed_but_lost_its_answer_is_not_duplicated(dataset):
    path = dataset(COUNTRIES + DIVISIONS)
    with FakeNetBox() as server:
        server.faults += [("POST", "drop_after_commit"), ("POST", "503_after_commit")]
        result = sync(server, path, concurrency=1)
        sources = [r["custom_fields"]["geo_source_id"] for r in server.regions.values()]
        posts = [body for method, endpoint, body in server.writes if (method, endpoint) == ("POST", "dcim/regions")]
        found_again = rereads(server)
    assert sorted(sources) == sorted(n["geo_source_id"] for n in COUNTRIES + DIVISIONS)
    assert result["summary"]["create"] == 8
    # both faulty batches had landed: the re-reads found them, so no POST was sent again
    assert len(posts) == 4 and len(found_again) == 2


def test_a_503_before_writing_is_retried(dataset):
    path = dataset(COUNTRIES)
    with FakeNetBox() as server:
        server.faults.append(("POST", "503"))
        result = sync(server, path)
        assert len(server.regions) == 2
    assert result["http"]["retries"] == 1


def test_lasting_failure_stops_with_a_report_and_a_rerun_completes(dataset):
    path = dataset(COUNTRIES + DIVISIONS)
    with FakeNetBox() as server:
        server.faults += [("POST", "400")] * 1
        with pytest.raises(SyncError) as caught:
            sync(server, path, concurrency=1, batch_size=10)
        assert "re-run" in caught.value.message
        assert caught.value.result["applied"]["create"] == 0
        assert len(server.regions) == 0
        result = sync(server, path)
        assert result["summary"]["create"] == 8 and len(server.regions) == 8


def test_release_change_updates_in_place_and_prunes_only_when_asked(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS))
        ids = {sid: r["id"] for sid, r in managed(server).items()}
        changed = COUNTRIES + [dict(DIVISIONS[0], name="Renamed")] + DIVISIONS[1:4]  # Be4, Diekirch gone
        kept = sync(server, dataset(changed, "e.jsonl"))
        assert kept["summary"] == {"create": 0, "update": 1, "delete": 0, "unchanged": 5}
        assert managed(server)["geonames:10"]["name"] == "Renamed"
        assert managed(server)["geonames:10"]["id"] == ids["geonames:10"]
        with pytest.raises(SyncError, match="max_deletes=1"):
            sync(server, dataset(changed, "e.jsonl"), prune=True, max_deletes=1)
        assert len(server.regions) == 8
        pruned = sync(server, dataset(changed, "e.jsonl"), prune=True, max_deletes=2)
        assert pruned["summary"]["delete"] == 2 and len(server.regions) == 6


def test_site_counts_are_read_only_for_the_regions_a_prune_deletes(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS))
        by_source = managed(server)
        by_source["geonames:2"]["site_count"] = 5  # Luxembourg's subtree (Diekirch's 3 included)
        by_source["geonames:20"]["site_count"] = 3
        by_source["geonames:1"]["site_count"] = 9  # kept: never asked for
        server.requests.clear()
        result = sync(server, dataset(COUNTRIES[:1] + DIVISIONS[:5], "e.jsonl"), prune=True, check_mode=True)
        assert result["impact"]["sites_detached"] == 5  # counted once, at the top of the deleted subtree
        asked = [dict(q) for m, p, q in server.requests if "site_count" in dict(q).get("fields", "")]
        assert [q for q in asked if q.get("fields") != "id,site_count"] == []  # not in the whole-tree read
        counted = {value for m, p, query in server.requests for key, value in query
                   if key == "id" and "site_count" in dict(query).get("fields", "")}
        assert counted == {str(by_source["geonames:2"]["id"]), str(by_source["geonames:20"]["id"])}


def test_swapping_sibling_names_succeeds_under_netbox_uniqueness(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS))
        swapped = [dict(n) for n in COUNTRIES + DIVISIONS]
        swapped[2].update(name="Be1", slug="be-be1")
        swapped[3].update(name="Be0", slug="be-be0")
        result = sync(server, dataset(swapped, "s.jsonl"))
        regions = managed(server)
    assert result["summary"]["update"] == 2
    assert regions["geonames:10"]["name"] == "Be1" and regions["geonames:11"]["name"] == "Be0"


def test_state_absent_removes_managed_regions_only(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS))
        mine = server.add_region("Mine", "mine", tags=("other",))
        result = sync(server, None, state="absent", max_deletes=100)
        assert result["summary"]["delete"] == 8
        assert list(server.regions) == [mine]


@pytest.mark.parametrize("asked_by", ["id", "tag"])
def test_regions_committed_between_the_two_reads_are_still_managed(dataset, monkeypatch, asked_by):
    """A batch of a run killed a moment ago commits after the tag read but before the region
    read (seen on NetBox 4.4): its regions must not look like someone else's. A few are asked
    again by id; many, by one more tag read."""
    path = dataset(COUNTRIES + DIVISIONS)
    if asked_by == "tag":
        monkeypatch.setattr(sync_module, "REREAD_CHUNK", 0)
    with FakeNetBox() as server:
        sync(server, path)
        server.committed_after_tag_read = set(sorted(server.regions)[-3:])
        again = sync(server, path)
        assert not again["changed"] and again["summary"]["unchanged"] == 8
        assert not server.committed_after_tag_read  # the tag read did leave them out


def test_the_read_keeps_only_the_id_of_each_parent():
    """NetBox nests the parent (id, url, display, name, slug, depth); the plan needs its id."""
    parent = {"id": 3, "url": "https://netbox/api/dcim/regions/3/", "display": "Europe", "name": "Europe",
              "slug": "europe"}
    nested = {"id": 7, "name": "Luxembourg", "parent": parent}
    assert sync_module._parent_by_id(nested)["parent"] == 3  # pylint: disable=protected-access
    assert sync_module._parent_by_id({"id": 3, "parent": None})["parent"] is None  # pylint: disable=protected-access


def test_ownership_by_source_id_creates_no_tag_and_sends_none(dataset):
    path = dataset(COUNTRIES + DIVISIONS)
    with FakeNetBox() as server:
        first = sync(server, path, ownership="source_id")
        assert first["summary"]["create"] == 8
        assert server.objects["extras/tags"] == {}
        assert all("tags" not in body for method, endpoint, bodies in server.writes if endpoint == "dcim/regions"
                   for body in bodies)
        assert all(r["tags"] == [] for r in server.regions.values())
        assert not any(key == "tag" for request in server.requests for key, _value in request[2])
        writes = len(server.writes)
        second = sync(server, path, ownership="source_id")
        assert not second["changed"] and second["summary"]["unchanged"] == 8 and len(server.writes) == writes
        # back to the tag: untagged regions are someone else's until adopted, then each gets the tag
        with pytest.raises(SyncError, match="carries geo_source_id geonames:1 but not the tag geo-managed"):
            sync(server, path)
        assert len(server.writes) == writes
        tagged = sync(server, path, adopt=True)
        assert tagged["summary"] == {"create": 0, "update": 8, "delete": 0, "unchanged": 0}
        assert all(r["tags"][0]["slug"] == "geo-managed" for r in server.regions.values())


def test_ownership_by_source_id_prunes_untagged_regions_and_spares_those_without_one(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS), ownership="source_id")
        mine = server.add_region("Mine", "mine")
        result = sync(server, dataset(COUNTRIES), ownership="source_id", prune=True, max_deletes=100)
        assert result["summary"]["delete"] == len(DIVISIONS)
        assert sorted(r["custom_fields"].get("geo_source_id") or "" for r in server.regions.values()) == (
            [""] + sorted(n["geo_source_id"] for n in COUNTRIES))
        assert mine in server.regions


def test_adopt_takes_over_a_matching_unmanaged_region(dataset):
    with FakeNetBox() as server:
        existing = server.add_region("Belgium", "belgium", tags=("site-team",))
        with pytest.raises(SyncError, match="adopt: true"):
            sync(server, dataset(COUNTRIES))
        assert len(server.regions) == 1
        sync(server, dataset(COUNTRIES), adopt=True)
        region = server.regions[existing]
    assert region["custom_fields"]["geo_source_id"] == "geonames:1"
    assert sorted(t["slug"] for t in region["tags"]) == ["geo-managed", "site-team"]


def test_root_region_by_slug_or_name(dataset):
    with FakeNetBox() as server:
        world = server.add_region("The World", "world")
        sync(server, dataset(COUNTRIES), root_region="The World")
        assert managed(server)["geonames:1"]["parent"] == world
        with pytest.raises(SyncError, match="root_region 'nowhere'"):
            sync(server, dataset(COUNTRIES), root_region="nowhere")


def test_a_token_without_permissions_fails_before_writing_and_names_what_is_missing(dataset):
    tokens = {TOKEN: {"dcim.region": {"view"}, "extras.customfield": {"view"}, "extras.tag": {"view"}}}
    with FakeNetBox(tokens=tokens) as server:
        with pytest.raises(SyncError) as caught:
            sync(server, dataset(COUNTRIES))
        assert server.writes == []
    assert "add extras.customfield" in caught.value.message and "geo_source_id (text, not unique" in caught.value.message


def test_missing_region_write_permission_is_reported(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES))
        server.tokens[TOKEN] = {"dcim.region": {"view"}, "extras.customfield": {"view"}, "extras.tag": {"view"}}
        with pytest.raises(SyncError, match="add dcim.region, change dcim.region"):
            sync(server, dataset(COUNTRIES + DIVISIONS))


def test_the_token_never_appears_in_results_or_errors(dataset, tmp_path):
    secret_token = "nbt_key.s3cr3t-value"
    plan_file = str(tmp_path / "p.json")
    with FakeNetBox(tokens={secret_token: None}) as server:
        result = run_sync(params(server, dataset(COUNTRIES), netbox_token=secret_token, plan_file=plan_file),
                          diff=True, http=HttpClient(retries=0))
        with pytest.raises(SyncError) as caught:
            run_sync(params(server, dataset(COUNTRIES), netbox_token="nbt_key.wrong-s3cr3t"),
                     http=HttpClient(retries=0))
    text = json.dumps(result) + open(plan_file).read() + caught.value.message + json.dumps(caught.value.result)
    assert "s3cr3t" not in text
    assert "refused the token" in caught.value.message


def test_attribute_fields_are_created_and_kept(dataset):
    with FakeNetBox() as server:
        result = sync(server, dataset(COUNTRIES), attribute_fields=True)
        names = sorted(cf["name"] for cf in server.objects["extras/custom-fields"].values())
        assert names == ["geo_iso_code", "geo_latitude", "geo_longitude", "geo_population", "geo_source_id",
                         "geo_time_zone"]
        assert managed(server)["geonames:1"]["custom_fields"]["geo_iso_code"] == "BE"
        assert result["summary"]["create"] == 2
        assert not sync(server, dataset(COUNTRIES), attribute_fields=True)["changed"]


def test_an_unwritable_plan_file_fails_clearly_before_any_write(dataset, tmp_path):
    with FakeNetBox() as server:
        with pytest.raises(SyncError, match="plan_file .*missing"):
            sync(server, dataset(COUNTRIES), plan_file=str(tmp_path / "missing" / "plan.json"))
        assert server.regions == {}


def test_no_token_is_a_clear_error():
    with pytest.raises(SyncError, match="NETBOX_TOKEN"):
        run_sync({"netbox_url": "http://127.0.0.1:9", "netbox_token": "", "dataset": "x"})


def rereads(server):
    """The region reads that look for created regions again (by slug, never by geo_source_id)."""
    reads = [dict(q) for m, p, q in server.requests if m == "GET" and p == "/api/dcim/regions/"]
    assert not [q for q in reads if any(key.startswith("cf_") for key in q)]  # NetBox would scan the table
    return [q for q in reads if "slug" in q and "brief" not in q]


def region_writes(server, method):
    """The region requests of `method` that carried objects (not the empty permission probes)."""
    return [q for m, p, q in server.requests if m == method and p == "/api/dcim/regions/"]


def region_posts_sizes(server):
    return [len(body) for method, endpoint, body in server.writes if (method, endpoint) == ("POST", "dcim/regions")]


def test_the_happy_path_sends_one_request_per_batch_and_reads_nothing_back(dataset):
    path = dataset(COUNTRIES + DIVISIONS)
    with FakeNetBox() as server:
        sync(server, path, concurrency=1)  # batch_size 2: countries in 1 batch, 6 divisions in 3
        sizes = region_posts_sizes(server)
        region_posts = region_writes(server, "POST")
    assert sizes == [2, 2, 2, 2]
    assert len(region_posts) == len(sizes) + 1  # + the empty permission probe
    assert rereads(server) == []


def test_each_step_is_cut_into_even_batches_one_set_per_stream(dataset):
    """Two streams: the 2 countries go as 1 and 1; the 6 divisions as Belgium's two full
    batches, then Belgium's last division and Diekirch in one batch each, one per stream."""
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS), concurrency=2)
        sizes = region_posts_sizes(server)
    assert sorted(sizes[:2]) == [1, 1]
    assert sorted(sizes[2:]) == [1, 1, 2, 2]


def test_a_batch_that_never_lands_is_sent_retries_plus_one_times_and_the_run_stops(dataset):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES))
        renamed = [dict(COUNTRIES[0], name="Belgique"), COUNTRIES[1]]
        server.faults += [("PATCH", "drop")] * 20  # the connection drops before NetBox writes, every time
        patches_before = len(region_writes(server, "PATCH"))
        with pytest.raises(SyncError) as caught:
            sync(server, dataset(renamed, "r.jsonl"), retries=2)
        sent = len(region_writes(server, "PATCH")) - patches_before - 1  # - the empty permission probe
    assert sent == 3  # retries + 1; before issue 14, (retries + 1) ** 2 = 9
    assert "update failed and the run stopped" in caught.value.message
    assert caught.value.result["applied"]["update"] == 0


def test_a_create_whose_parent_is_unknown_fails_without_sending_or_retrying(dataset):
    # before issue 14 this error, raised inside the send loop without a status, was taken for a lost answer
    from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import Create, ParentRef
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import Sync
    with FakeNetBox() as server:
        engine = Sync(params(server, dataset(COUNTRIES)), http=HttpClient(retries=3, sleep=lambda s: None))
        orphan = Create(geo_source_id="geonames:99", name="X", slug="x", description="", custom_fields={},
                        level="admin1", depth=1, parent=ParentRef(source="geonames:98"), tags=("geo-managed",), tree=None)
        with pytest.raises(GeoFossError, match="parent geonames:98 of geonames:99 was not created"):
            engine.create_batch([orphan])
        assert server.requests == [] and engine.http.counters["retries"] == 0
