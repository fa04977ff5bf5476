# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync and netbox_geo_sites as Ansible runs them (main() with module args),
against the fake NetBox: a missing Python requirement fails before any request, and a
failure ends through the one error model (message, partial result, warnings)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetHeader, write_dataset
from ansible_collections.geofoss.netbox.plugins.modules import netbox_geo_sites, netbox_geo_sync

from fake_netbox import FakeNetBox

TOKEN = "nbt_key.s3cret"
KEYS = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
        "longitude", "time_zone", "feature_code", "wikidata_id", "continent")


@pytest.fixture
def dataset(tmp_path):
    attributes = dict.fromkeys(KEYS)
    attributes["country_code"] = "BE"
    path = str(tmp_path / "be.jsonl")
    write_dataset(path, DatasetHeader(), [{"geo_source_id": "geonames:1", "level": "country", "name": "Belgium",
                                           "slug": "belgium", "parent": None, "description": "",
                                           "attributes": attributes}])
    return path


def run_module(module, args, capsys):
    """(exit code, the module's JSON output)."""
    with patch_module_args(args), pytest.raises(SystemExit) as ended:
        module.main()
    return ended.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("module", [netbox_geo_sync, netbox_geo_sites])
def test_without_pydantic_the_module_fails_before_any_request(module, dataset, monkeypatch, capsys):
    monkeypatch.setattr(module, "PYDANTIC_IMPORT_ERROR", "Traceback ...\nModuleNotFoundError: No module named 'pydantic'")
    with FakeNetBox(tokens={TOKEN: None}) as server:
        code, output = run_module(module, {"netbox_url": server.url, "netbox_token": TOKEN, "dataset": dataset},
                                  capsys)
        assert server.requests == []
    assert code == 1 and output["failed"] and "pydantic" in output["msg"]


def test_a_failure_ends_with_its_message_partial_result_and_warnings(dataset, capsys, monkeypatch):
    warned = []  # module.warn's output depends on whether controller code was loaded: recorded here
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, warning: warned.append(warning))
    with FakeNetBox(tokens={TOKEN: None}) as server:
        server.add_region("Belgium", "belgium")  # unmanaged: a conflict
        code, output = run_module(netbox_geo_sync, {"netbox_url": server.url, "netbox_token": TOKEN,
                                                    "dataset": dataset, "_ansible_check_mode": True}, capsys)
        assert server.writes == []
    assert code == 1 and output["failed"] and "conflicts, nothing was written" in output["msg"]
    assert output["summary"]["create"] == 1 and len(output["conflicts"]) == 2
    assert warned == ["check mode: would create custom field geo_source_id, tag geo-managed"]
    assert "warnings" not in output or "would create" not in json.dumps(output)  # not a result key
    assert TOKEN not in json.dumps(output)


def test_a_run_exits_with_its_result_and_diff(dataset, capsys):
    with FakeNetBox(tokens={TOKEN: None}) as server:
        code, output = run_module(netbox_geo_sync, {"netbox_url": server.url, "netbox_token": TOKEN,
                                                    "dataset": dataset, "_ansible_diff": True}, capsys)
    assert code == 0 and output["changed"] and output["summary"]["create"] == 1
    assert list(output["diff"]["after"]) == ["create custom field geo_source_id", "create tag geo-managed",
                                             "create geonames:1 Belgium"]
    assert output["diff"]["after_header"] == "2 schema changes, 1 creates, 0 updates, 0 deletes (3 shown)"
