# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/doctor.yml against the real NetBox, as a user runs it before an import: with
the full token every NetBox check is ok and the play passes; with a read-only token the
write permissions fail, named, with the fix, and the play fails; with a wrong token the
token check fails and the token is never printed."""

from __future__ import annotations

import secrets

import pytest

from playbook_helpers import COLLECTION_ROOT, NETBOX_TOKEN, ansible_env, collections_path, needs_netbox, run_playbook
from reliability_kit import local_netbox  # pylint: disable=import-error  # tests/integration/python is on sys.path

pytestmark = needs_netbox

DOCTOR = str(COLLECTION_ROOT / "playbooks" / "doctor.yml")


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    return collections_path(tmp_path_factory)


def doctor(collections, tmp_path, token, **extra):
    env = ansible_env(collections, NETBOX_TOKEN=token)
    result = run_playbook(DOCTOR, env, dict({"geo_cache_dir": str(tmp_path / "cache"), "geo_doctor_online": False},
                                            **extra))
    return result, result.stdout + result.stderr


def test_the_full_token_passes_every_netbox_check(collections, tmp_path):
    result, output = doctor(collections, tmp_path, NETBOX_TOKEN, geo_prune=True, geo_netbox_links=True)
    assert result.returncode == 0, output[-4000:]
    for name in ("netbox_reachable", "netbox_version", "token_kind", "token", "permissions_netbox_geo_sync",
                 "permissions_netbox_geo_sites", "schema", "links", "cache_folder", "python requests",
                 "time_zone_data"):
        assert "OK       %s:" % name in output, name
    assert "FAILED" not in output and "Ready:" in output
    assert "view/add/change/delete dcim.region" in output  # geo_prune asks for delete too
    assert NETBOX_TOKEN not in output


def test_a_read_only_token_fails_on_the_write_permissions_with_the_fix(collections, tmp_path):
    token = local_netbox("token", "--read-only").strip()
    result, output = doctor(collections, tmp_path, token)
    assert result.returncode != 0
    assert "OK       token:" in output  # NetBox accepts it: it is the permissions that fail
    sync_line = next(line for line in output.splitlines() if "FAILED   permissions_netbox_geo_sync" in line)
    assert "add dcim.region" in sync_line and "change dcim.region" in sync_line and "fix: grant" in sync_line
    assert "change dcim.site" in next(line for line in output.splitlines()
                                      if "FAILED   permissions_netbox_geo_sites" in line)
    assert "permissions_netbox_geo_sync" in output.rsplit("TASK [", 1)[1]  # the failing task names the checks
    assert token not in output


def test_a_wrong_token_fails_the_token_check_and_is_never_printed(collections, tmp_path):
    token = "nbt_%s.%s" % (secrets.token_hex(6), secrets.token_hex(20))
    result, output = doctor(collections, tmp_path, token)
    assert result.returncode != 0
    assert "OK       netbox_reachable:" in output
    line = next(line for line in output.splitlines() if "FAILED   token:" in line)
    assert "refused the token" in line and "fix:" in line
    assert token not in output and token.split(".")[1] not in output
