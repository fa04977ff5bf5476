# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the playbook system tests (test_playbooks.py, test_runner_awx.py): where the
collection is, the environment ansible-playbook needs, the NetBox API, the dataset file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pynetbox = pytest.importorskip("pynetbox")

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


def managed_regions(nb, tag="geo-managed") -> dict:
    """geo_source_id -> region (a dict) of every region NetBox has with the managed tag."""
    regions = {}
    for region in nb.dcim.regions.filter(tag=tag):
        source_id = (region.custom_fields or {}).get("geo_source_id")
        if source_id:
            regions[source_id] = dict(region)
    return regions


def assert_tree_matches(nb, nodes) -> dict:
    """Every dataset node is a managed NetBox region with its name, slug and parent."""
    regions = managed_regions(nb)
    by_id = {region["id"]: source_id for source_id, region in regions.items()}
    missing = [node["geo_source_id"] for node in nodes if node["geo_source_id"] not in regions]
    assert not missing, "regions missing from NetBox: %s" % missing[:10]
    for node in nodes:
        region = regions[node["geo_source_id"]]
        assert (region["name"], region["slug"]) == (node["name"], node["slug"]), node["geo_source_id"]
        parent = region["parent"]["id"] if region.get("parent") else None
        assert by_id.get(parent) == node["parent"], "%s has the wrong parent" % node["geo_source_id"]
    return regions
