# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync streams the dataset into the planner (issue 8, memory): nodes are read one at a
time and keep only what the plan needs, and a bad node anywhere still fails cleanly
before anything is written."""

from __future__ import annotations

import types

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetHeader, write_dataset
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import PLANNED_KEYS, SyncError, _load_nodes, run_sync

from fake_netbox import FakeNetBox

ATTRIBUTE_KEYS = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
                  "longitude", "time_zone", "feature_code", "wikidata_id", "continent")


def node(gid, name, parent=None):
    attributes = dict.fromkeys(ATTRIBUTE_KEYS)
    attributes.update(country_code="BE", population=1000 + gid)
    return {"geo_source_id": "geonames:%d" % gid, "level": "admin1" if parent else "country", "name": name,
            "slug": ("be-%s" % name.lower()) if parent else name.lower(),
            "parent": "geonames:%d" % parent if parent else None, "description": "d%d" % gid,
            "attributes": attributes}


NODES = [node(1, "Belgium")] + [node(10 + n, "Div%d" % n, parent=1) for n in range(4)]


@pytest.fixture
def dataset(tmp_path):
    path = str(tmp_path / "be.jsonl")
    write_dataset(path, DatasetHeader(), NODES)
    return path


def test_nodes_are_a_lazy_stream_of_the_planned_keys_only(dataset):
    nodes = _load_nodes(dataset, keep_attributes=False)
    assert isinstance(nodes, types.GeneratorType)  # not a list: a world of cities is never held whole
    first = next(nodes)
    assert tuple(first) == PLANNED_KEYS
    assert first["name"] == "Belgium" and first["parent"] is None
    assert [n["geo_source_id"] for n in nodes] == ["geonames:%d" % (10 + n) for n in range(4)]


def test_attributes_are_kept_when_the_attribute_fields_need_them(dataset):
    nodes = list(_load_nodes(dataset, keep_attributes=True))
    assert [n["attributes"]["population"] for n in nodes] == [1001, 1010, 1011, 1012, 1013]


def test_a_missing_dataset_option_fails_at_once():
    with pytest.raises(SyncError, match="dataset is required"):
        _load_nodes(None)


def test_a_bad_node_late_in_the_file_fails_with_its_line_and_writes_no_region(dataset):
    with open(dataset, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    lines[4] = lines[4].replace('"slug":"be-div2"', '"slug":"Be Div2!"')  # line 5: an invalid slug
    with open(dataset, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    with FakeNetBox() as server:
        params = {"netbox_url": server.url, "netbox_token": "nbt_key.secret", "dataset": dataset,
                  "managed_tag": "geo-managed", "batch_size": 2, "concurrency": 2, "retries": 1, "state": "present"}
        with pytest.raises(SyncError) as failure:
            run_sync(params, http=HttpClient(retries=1, sleep=lambda s: None, random=lambda: 0.0),
                     sleep=lambda s: None)
        assert "be.jsonl:5" in str(failure.value)
        assert not server.regions
