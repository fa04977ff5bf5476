# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets and transport, against the real NetBox:

- the token (and a v2 token's secret part alone) is in no result, diff, plan file,
  error message or traceback of the sync engine, and in no line of ansible-playbook
  -vvvv --diff output (the module's argument is no_log);
- a wrong token is named as the problem, never shown;
- credentials inside netbox_url never appear in messages;
- TLS certificates are verified by default (validate_certs=false and ca_path work);
- http:// to a host that is not loopback gets a warning.

(The ansible-runner job events are checked by test_runner_awx.py.)
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import traceback

import certifi
import pytest

from faultproxy import FaultProxy, self_signed_certificate  # pylint: disable=import-error  # tests/integration/python is on sys.path
from playbook_helpers import BIN, ansible_env, collections_path  # pylint: disable=import-error
from reliability_kit import (  # pylint: disable=import-error
    NETBOX_TOKEN, admin_fixture, needs_netbox, root_fixture, run_engine, sync_params, tree_nodes, write_nodes,
)

pytestmark = needs_netbox


def fragments(token=NETBOX_TOKEN):
    """The token, and for a v2 token (nbt_<key>.<secret>) the secret alone."""
    found = {token}
    if token.startswith("nbt_") and "." in token:
        found.add(token.split(".", 1)[1])
    return found


def leaks(text, token=NETBOX_TOKEN) -> list:
    return sorted(f for f in fragments(token) if f in text)


admin = admin_fixture()
root = root_fixture("secrets")


DATASET_NODES = tree_nodes(countries=2, divisions=2, cities=1)  # 10 regions


@pytest.fixture
def dataset(tmp_path):
    return write_nodes(tmp_path / "secrets.jsonl", DATASET_NODES)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the engine: results, diffs, plan files, errors -------------------------------------------------

def test_results_diffs_and_plan_files_hold_no_token(tmp_path, root, dataset):
    plan = tmp_path / "plan.json"
    texts = {}
    for name, check_mode in (("check", True), ("apply", False)):
        result, error = run_engine(sync_params(dataset, root["slug"], plan_file=str(plan)), check_mode=check_mode,
                                   diff=True)
        assert error is None, error
        texts["%s result" % name] = json.dumps(result)
        texts["%s plan file" % name] = plan.read_text(encoding="utf-8")
    # what the scan reads is real: the diff and the plan name the regions, the options are in the plan
    assert "geonames:" in texts["check result"] and "Testland 0" in texts["check plan file"]
    assert '"root_region"' in texts["apply plan file"]
    result, error = run_engine(sync_params(dataset, "no-such-root-%s" % secrets.token_hex(4), plan_file=str(plan)))
    assert error is not None and "root_region" in error
    texts["failed result"] = json.dumps(result) + error
    assert {name: leaks(text) for name, text in texts.items() if leaks(text)} == {}


def test_a_wrong_token_is_named_as_the_problem_never_shown(dataset, root):
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError, run_sync
    for wrong in ("nbt_%s.%s" % (secrets.token_hex(6), secrets.token_hex(20)), secrets.token_hex(20)):
        with pytest.raises(SyncError) as caught:
            run_sync(sync_params(dataset, root["slug"], token=wrong, retries=0))
        exc = caught.value
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        text = "%s\n%r\n%s\n%s" % (exc, exc, json.dumps(exc.result), trace)
        assert "refused the token" in str(exc), str(exc)
        assert leaks(text, wrong) == [], text


def test_url_credentials_never_appear_in_messages(admin, dataset, root):
    password = "pw-%s" % secrets.token_hex(8)
    scheme, address = admin.url.split("://", 1)
    for url in ("http://alice:%s@127.0.0.1:%d" % (password, closed_port()),
                "%s://alice:%s@%s" % (scheme, password, address)):
        result, error = run_engine(sync_params(dataset, root["slug"], url=url, retries=0, connect_timeout=2))
        assert error is not None
        assert password not in error and password not in json.dumps(result), error
        assert "alice" not in error, error


# -- transport ----------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # validate_certs=False, on purpose
def test_tls_certificates_are_verified_by_default(tmp_path, admin, root, dataset, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    # a CA bundle in the environment (as execution environments and corporate hosts set it) must not
    # override validate_certs or ca_path (requests lets it, unless verify is given per request)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with FaultProxy(admin.url, tls_cert=cert, tls_key=key, lifetime=300) as proxy:
        assert proxy.url.startswith("https://")
        params = dict(sync_params(dataset, root["slug"], url=proxy.url, retries=0))
        del params["validate_certs"]  # the default
        params.pop("ca_path")
        from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import Sync
        assert Sync(params).http.session.verify is True
        result, error = run_engine(params)
        assert error is not None and "certificate" in error.lower(), error
        assert admin.count_below(root["id"]) == 0 and result["changed"] is False
        for options in ({"validate_certs": False}, {"ca_path": cert}):
            result, error = run_engine(dict(params, **options), check_mode=True)
            assert error is None, (options, error)
            assert result["summary"]["create"] == len(DATASET_NODES)
            assert not [w for w in result["warnings"] if "plain http" in w]


def test_plain_http_to_a_remote_host_warns(dataset, root):
    # 192.0.2.1 is TEST-NET-1: nothing answers, the warning must come anyway
    result, error = run_engine(sync_params(dataset, root["slug"], url="http://192.0.2.1:9", retries=0,
                                           connect_timeout=1))
    assert error is not None
    warnings = " ".join(result.get("warnings") or [])
    assert "plain http" in warnings and "192.0.2.1" in warnings, result.get("warnings")
    # loopback is fine: no warning for the local NetBox
    result, error = run_engine(sync_params(dataset, root["slug"]), check_mode=True)
    assert error is None and not [w for w in result["warnings"] if "plain http" in w]


# -- ansible-playbook -vvvv ------------------------------------------------------------------------

PLAYBOOK = """\
---
- name: Sync with the token as an argument, then from the environment
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  vars_files:
    - secret_vars.yml
  # The token is never put in a task's `environment:` keyword: -vvv prints that as part of
  # the command line (docs/security.md); NETBOX_TOKEN comes from ansible-playbook's own
  # environment, as an AWX credential injects it.
  tasks:
    - name: Plan in check mode with a diff and a plan file
      geofoss.netbox.netbox_geo_sync:
        netbox_url: "{{ url }}"
        netbox_token: "{{ token }}"
        dataset: "{{ dataset }}"
        root_region: "{{ root }}"
        plan_file: "{{ plan }}"
      check_mode: true
      diff: true
      register: planned

    - name: Apply, token from NETBOX_TOKEN
      geofoss.netbox.netbox_geo_sync:
        dataset: "{{ dataset }}"
        root_region: "{{ root }}"
      diff: true
      register: applied

    - name: Fail on a root region that does not exist
      geofoss.netbox.netbox_geo_sync:
        netbox_url: "{{ url }}"
        netbox_token: "{{ token }}"
        dataset: "{{ dataset }}"
        root_region: no-such-root-region
      register: failed_run
      ignore_errors: true

    - name: Show what was registered
      ansible.builtin.debug:
        msg: "{{ {'planned': planned, 'applied': applied, 'failed': failed_run} }}"
"""


def test_playbook_vvvv_output_holds_no_token(tmp_path, tmp_path_factory, admin, root, dataset):
    (tmp_path / "secret_vars.yml").write_text(json.dumps({"token": NETBOX_TOKEN, "url": admin.url}))
    (tmp_path / "sync.yml").write_text(PLAYBOOK)
    plan = tmp_path / "plan.json"
    env = ansible_env(collections_path(tmp_path_factory))  # NETBOX_URL and NETBOX_TOKEN set
    extra = {"dataset": dataset, "root": root["slug"], "plan": str(plan)}
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "sync.yml", "-vvvv", "--diff",
               "-e", json.dumps(extra)]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    # the scan reads the results, the diffs and the failure (the token is absent, not missed)
    assert output.count('"run_id"') >= 3 and "no-such-root-region" in output and "creates" in output
    assert leaks(output) == [], "the token is in the -vvvv output"
    assert leaks(plan.read_text(encoding="utf-8")) == []
    assert admin.assert_tree_is(root["id"], DATASET_NODES) == len(DATASET_NODES)
