# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing is written to NetBox before every input has been checked (issue 14): each bad
input below fails with a message naming its cause, and the fake NetBox, which starts
without the custom field and the tag the sync would create, saw no write at all."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetHeader, write_dataset
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError, run_sync

from fake_netbox import FakeNetBox

TOKEN = "nbt_key.secret"
KEYS = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
        "longitude", "time_zone", "feature_code", "wikidata_id", "continent")


def node(gid, name, parent=None):
    attributes = dict.fromkeys(KEYS)
    attributes["country_code"] = "BE"
    return {"geo_source_id": "geonames:%d" % gid, "level": "admin1" if parent else "country", "name": name,
            "slug": ("be-%s" % name.lower()) if parent else name.lower(),
            "parent": "geonames:%d" % parent if parent else None, "description": "", "attributes": attributes}


NODES = [node(1, "Belgium"), node(2, "Holland")] + [node(10 + n, "Div%d" % n, parent=1) for n in range(4)]


@pytest.fixture
def dataset(tmp_path):
    path = str(tmp_path / "be.jsonl")
    write_dataset(path, DatasetHeader(), NODES)
    return path


def edited(path, edit):
    """The dataset at `path` with its lines changed by edit(lines) (to make it bad)."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    edit(lines)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def sync(server, path, **extra):
    params = {"netbox_url": server.url, "netbox_token": TOKEN, "dataset": path, "managed_tag": "geo-managed",
              "batch_size": 2, "concurrency": 2, "retries": 1, "state": "present", "attribute_fields": True}
    params.update(extra)
    return run_sync(params, http=HttpClient(retries=1, sleep=lambda s: None, random=lambda: 0.0))


def refused(server, path, **extra):
    with pytest.raises(SyncError) as caught:
        sync(server, path, **extra)
    assert server.writes == [] and not server.objects["extras/custom-fields"] and not server.objects["extras/tags"]
    return caught.value.message


def test_a_missing_dataset_fails_before_any_request(tmp_path):
    with FakeNetBox() as server:
        message = refused(server, str(tmp_path / "nothere.jsonl"))
        assert server.requests == []
    assert "nothere.jsonl" in message and "No such file" in message


def test_a_file_that_is_not_a_dataset_fails_before_any_request(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": "world"}\n', encoding="utf-8")
    with FakeNetBox() as server:
        message = refused(server, str(path))
        assert server.requests == []
    assert "notes.jsonl:1" in message


def test_a_bad_last_node_writes_nothing(dataset):
    def bad_slug(lines):
        lines[-1] = lines[-1].replace('"slug":"be-div3"', '"slug":"Be Div3!"')
    with FakeNetBox() as server:
        message = refused(server, edited(dataset, bad_slug))
    assert "be.jsonl:7" in message and "slug" in message


def test_a_child_before_its_parent_writes_nothing(dataset):
    def child_first(lines):
        lines[1], lines[3] = lines[3], lines[1]  # Div0 (line 2) before Belgium (now line 4)
    with FakeNetBox() as server:
        message = refused(server, edited(dataset, child_first))
    assert message.endswith("be.jsonl:2: the parent geonames:1 of geonames:10 is not an earlier node"), message


def test_a_repeated_node_writes_nothing(dataset):
    with FakeNetBox() as server:
        message = refused(server, edited(dataset, lambda lines: lines.append(lines[2])))
    assert "be.jsonl:8: geo_source_id geonames:2 appears twice" in message


@pytest.mark.parametrize("options, cause", [
    ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
    ({"concurrency": 0}, "concurrency must be at least 1, got 0"),
    ({"retries": -1}, "retries must be at least 0, got -1"),
    ({"rate_limit": -2.0}, "rate_limit must be at least 0"),
    ({"timeout": 0.0}, "timeout must be more than 0 seconds"),
    ({"max_deletes": -1}, "max_deletes must be at least 0"),
    ({"dataset": None}, "dataset is required when state is present"),
    ({"netbox_token": ""}, "NETBOX_TOKEN"),
])
def test_bad_options_fail_before_any_request(dataset, options, cause):
    with FakeNetBox() as server:
        message = refused(server, dataset, **options)
        assert server.requests == []
    assert cause in message


def test_an_old_netbox_is_refused_before_any_write(dataset):
    with FakeNetBox() as server:
        server.version = "3.7.8"
        message = refused(server, dataset)
    assert "NetBox 3.7.8" in message and "4.x" in message


def test_an_unknown_root_region_writes_nothing(dataset):
    with FakeNetBox() as server:
        message = refused(server, dataset, root_region="nowhere")
    assert "root_region 'nowhere'" in message


def test_conflicts_write_nothing_not_even_the_schema(dataset):
    with FakeNetBox() as server:
        server.add_region("Belgium", "belgium")  # unmanaged, where the dataset wants its Belgium
        message = refused(server, dataset)
    assert "2 conflicts, nothing was written" in message and "adopt: true" in message  # name and slug


def test_max_deletes_writes_nothing_not_even_the_schema(dataset):
    with FakeNetBox() as server:
        server.objects["extras/tags"][99] = {"id": 99, "slug": "geo-managed", "name": "geo-managed"}
        server.add_region("Old", "old", source_id="geonames:77", tags=("geo-managed",))
        message = refused_with_tag(server, dataset, prune=True, max_deletes=0)
    assert "more than max_deletes=0" in message


def refused_with_tag(server, path, **extra):
    """As refused(), for a NetBox that holds the tag already."""
    with pytest.raises(SyncError) as caught:
        sync(server, path, **extra)
    assert server.writes == [] and not server.objects["extras/custom-fields"]
    return caught.value.message


def test_a_token_that_may_create_the_schema_but_not_regions_writes_nothing(dataset):
    tokens = {TOKEN: {"dcim.region": {"view"}, "extras.customfield": {"view", "add"}, "extras.tag": {"view", "add"}}}
    with FakeNetBox(tokens=tokens) as server:
        message = refused(server, dataset)
    assert "lacks: add dcim.region, change dcim.region (an administrator must grant them" in message


def test_the_plan_file_is_written_before_the_checks_that_refuse_the_plan(dataset, tmp_path):
    plan_file = tmp_path / "plan.json"
    with FakeNetBox() as server:
        server.add_region("Belgium", "belgium")
        refused(server, dataset, plan_file=str(plan_file))
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    assert len(plan["conflicts"]) == 2 and plan["summary"]["create"] == 6


def test_the_schema_is_created_once_every_check_passed_then_the_regions(dataset):
    with FakeNetBox() as server:
        result = sync(server, dataset)
        endpoints = [endpoint for method, endpoint, body in server.writes]
    assert set(endpoints[:4]) == {"extras/custom-fields", "extras/tags"}  # 6 fields in 3 batches, 1 tag
    assert set(endpoints[4:]) == {"dcim/regions"}
    assert result["summary"]["create"] == 6
