# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client's paged reads on the NetBox under test: cursor pages (``start=``) where NetBox
has them (4.6 and later), the ``ordering=id&id__gt=`` fallback where it ignores ``start``
(4.4, 4.5); every region once, in id order, either way (docs/netbox-versions.md)."""

from __future__ import annotations

import pytest
import requests
from netbox_tree import NETBOX_TOKEN, NETBOX_URL, api, own_tree  # pylint: disable=import-error

from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, auth_header, release_of

pytestmark = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN), reason="NETBOX_URL and NETBOX_TOKEN are needed")
CURSOR_SINCE = (4, 6)
CHILDREN = 25


@pytest.fixture(name="children")
def fixture_children():
    """(root id, the ids of CHILDREN regions under it): the first created alone, so that
    NetBox 4.4-4.6 place the bulk-created rest by name (a seed, as the sync does)."""
    with own_tree() as (params, _namespace):
        root = api("GET", "dcim/regions", params={"slug": params["root_region"]})["results"][0]["id"]
        bodies = [{"name": "Page %02d" % n, "slug": "page-%02d" % n, "parent": root} for n in range(CHILDREN)]
        created = api("POST", "dcim/regions", json=bodies[:1]) + api("POST", "dcim/regions", json=bodies[1:])
        ids = [region["id"] for region in created]
        try:
            yield root, ids
        finally:
            api("DELETE", "dcim/regions", json=[{"id": rid} for rid in ids])


def test_paged_reads_return_every_region_once_in_id_order(children):
    root, ids = children
    nb = NetBoxClient(NETBOX_URL, NETBOX_TOKEN, HttpClient(retries=2))
    release = release_of(nb.status()["netbox-version"])
    read = [region["id"] for region in nb.iter_objects("dcim/regions", params={"parent_id": root}, fields=("id",),
                                                       page_size=7)]
    assert read == sorted(ids)
    assert nb.cursor_pages is (release[:2] >= CURSOR_SINCE)
    everything = [region["id"] for region in nb.read_all("dcim/regions", fields=("id",), page_size=10, streams=2)]
    assert everything == sorted(everything) and set(ids) <= set(everything)
    assert len(everything) == len(set(everything)) == api("GET", "dcim/regions", params={"limit": 1})["count"]


def test_start_is_ignored_before_4_6_and_refused_with_ordering_after(children):
    _root, ids = children
    headers = {"Authorization": auth_header(NETBOX_TOKEN)}
    release = release_of(api("GET", "status")["netbox-version"])
    url = "%s/api/dcim/regions/" % NETBOX_URL
    page = requests.get(url, params={"start": max(ids), "limit": 2, "fields": "id"}, headers=headers, timeout=60)
    ordered = requests.get(url, params={"start": 1, "limit": 2, "ordering": "id"}, headers=headers, timeout=60)
    if release[:2] >= CURSOR_SINCE:
        assert page.json()["count"] is None and [r["id"] for r in page.json()["results"]] == [max(ids)]
        assert ordered.status_code == 400 and "cursor-based pagination" in ordered.text
    else:  # the first page in NetBox's own order, counted
        assert page.json()["count"] >= CHILDREN and ordered.status_code == 200
