# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the system tests that sync into the real NetBox: its REST API, and a tree of
their own (a tag and a root region, removed afterwards) so that tests never meet."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import requests

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import run_sync

NETBOX_URL = os.environ.get("NETBOX_URL")
NETBOX_TOKEN = os.environ.get("NETBOX_TOKEN")


def api(method: str, endpoint: str, **kwargs: Any) -> Any:
    response = requests.request(method, "%s/api/%s/" % (NETBOX_URL, endpoint),
                                headers={"Authorization": ("Bearer " if NETBOX_TOKEN.startswith("nbt_") else "Token ") + NETBOX_TOKEN}, timeout=60, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


@contextmanager
def own_tree(batch_size: int = 50) -> Iterator[tuple[dict[str, Any], str]]:
    """(sync params with its own tag and root region, a geo_source_id namespace); the
    regions are removed with state absent afterwards (geo_source_id is unique across NetBox,
    so datasets rename ``geonames:`` into the namespace)."""
    tag = "geo-test-%s" % uuid.uuid4().hex[:8]
    namespace = "t" + tag[len("geo-test-"):]
    root = api("POST", "dcim/regions", json={"name": tag, "slug": tag})
    params = {"netbox_url": NETBOX_URL, "netbox_token": NETBOX_TOKEN, "managed_tag": tag, "root_region": tag,
              "batch_size": batch_size, "concurrency": 2, "retries": 3, "state": "present"}
    try:
        yield params, namespace
    finally:
        run_sync(dict(params, state="absent", dataset=None))
        api("DELETE", "dcim/regions", json=[{"id": root["id"]}])
