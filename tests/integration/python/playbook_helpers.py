# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the playbook system tests (test_playbooks.py, test_runner_awx.py): where the
collection is, the environment ansible-playbook needs, the NetBox API, the dataset file, a
root region of the test's own and the check that the tree below it equals the dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pynetbox
import pytest

from reliability_kit import Admin  # pylint: disable=import-error  # tests/integration/python is on sys.path

NETBOX_URL = os.environ.get("NETBOX_URL")
NETBOX_TOKEN = os.environ.get("NETBOX_TOKEN")
COLLECTION_ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent

needs_netbox = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN), reason="NETBOX_URL / NETBOX_TOKEN not set")


def collections_path(tmp_path_factory) -> str:
    """A folder holding ansible_collections/geofoss/netbox for this tree (scripts/test
    builds one; from a plain checkout a symlink in a temporary folder)."""
    if COLLECTION_ROOT.parents[1].name == "ansible_collections" and COLLECTION_ROOT.parent.name == "geofoss":
        return str(COLLECTION_ROOT.parents[2])
    top = tmp_path_factory.mktemp("collections")
    (top / "ansible_collections" / "geofoss").mkdir(parents=True)
    (top / "ansible_collections" / "geofoss" / "netbox").symlink_to(COLLECTION_ROOT)
    return str(top)


def ansible_env(collections: str, **extra) -> dict:
    """The environment of a job: credentials only in NETBOX_URL / NETBOX_TOKEN, as an AWX credential injects them."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PATH": "%s%s%s" % (BIN, os.pathsep, env.get("PATH", "")),
        "NETBOX_URL": NETBOX_URL or "",
        "NETBOX_TOKEN": NETBOX_TOKEN or "",
    })
    env.update(extra)
    return env


def run_playbook(playbook: str, env: dict, extra_vars: dict, *args, timeout=600):
    """ansible-playbook <playbook> -e <json>: the CompletedProcess (stdout and stderr as text)."""
    command = [str(BIN / "ansible-playbook"), playbook, "-e", json.dumps(extra_vars), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def netbox():
    nb = pynetbox.api(NETBOX_URL, token=NETBOX_TOKEN)
    nb.http_session.headers["Connection"] = "close"
    return nb


def read_dataset(path) -> tuple[dict, list[dict]]:
    """The header and the nodes of a dataset file (JSON Lines)."""
    with open(path, encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    return lines[0], lines[1:]


def own_root(prefix):
    """A module-scoped fixture: a fresh region of the test file's own, to import under
    (geo_root_region), deleted with everything below it afterwards."""
    @pytest.fixture(scope="module")
    def root():
        admin = Admin()
        region = admin.make_root(prefix)
        yield region
        admin.delete_region(region["id"])
    return root


def assert_tree_matches(root, nodes, tag="geo-managed") -> int:
    """NetBox's tree below `root` (the test's own region) EQUALS the dataset: every node is
    there once, with its name, slug, parent and the managed tag, and nothing else is (no
    extra region, none without a geo_source_id). Returns how many regions are below root."""
    return Admin().assert_tree_is(root["id"], nodes, tag=tag)
