# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the modules, one per doc fragment: ``http_client_spec``
(geofoss.netbox.http_client: how requests are made), ``netbox_connection_spec``
(geofoss.netbox.netbox: which NetBox, with which token, plus the HTTP options) and
``ownership_spec`` (geofoss.netbox.ownership: which regions are the collection's). The
defaults are the HTTP client's own (_http.DEFAULT_*), so there is one place for each."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.geofoss.netbox.plugins.module_utils._contract import (
    DEFAULT_MANAGED_TAG, MAP_SIZE, OWNERSHIP_TAG, OWNERSHIPS,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._http import (
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_RATE_LIMIT, DEFAULT_RETRIES, DEFAULT_TIMEOUT,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._progress import DEFAULT_INTERVAL as DEFAULT_PROGRESS_INTERVAL


def http_client_spec() -> dict[str, Any]:
    """Timeouts, retries, rate limit and TLS verification: a new dict for each module."""
    return dict(
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=DEFAULT_TIMEOUT),
        connect_timeout=dict(type="float", default=DEFAULT_CONNECT_TIMEOUT),
        retries=dict(type="int", default=DEFAULT_RETRIES),
        rate_limit=dict(type="float", default=DEFAULT_RATE_LIMIT),
    )


def netbox_connection_spec() -> dict[str, Any]:
    """NetBox's URL and token (with their environment fallbacks) and the HTTP options."""
    return dict(
        netbox_url=dict(type="str", fallback=(env_fallback, ["NETBOX_URL", "NETBOX_API"])),
        netbox_token=dict(type="str", no_log=True, fallback=(env_fallback, ["NETBOX_TOKEN", "NETBOX_API_TOKEN"])),
        **http_client_spec(),
    )


def ownership_spec() -> dict[str, Any]:
    """Which regions are the collection's (doc fragment geofoss.netbox.ownership)."""
    return dict(
        ownership=dict(type="str", default=OWNERSHIP_TAG, choices=list(OWNERSHIPS)),
        managed_tag=dict(type="str", default=DEFAULT_MANAGED_TAG),
    )


def progress_spec() -> dict[str, Any]:
    """The progress file and how often its lines are printed (doc fragment geofoss.netbox.progress)."""
    return dict(
        progress_file=dict(type="path"),
        progress_interval=dict(type="int", default=DEFAULT_PROGRESS_INTERVAL),
    )


def map_drawing_spec() -> dict[str, Any]:
    """How a run's map is drawn: geo_map's options, and the suboptions of netbox_geo_sync's
    map besides its dest."""
    return dict(
        polygons=dict(type="path"),
        title=dict(type="str", default="geofoss.netbox"),
        size=dict(type="list", elements="int", default=list(MAP_SIZE)),
        extent=dict(type="str", default="dataset", choices=["dataset", "world"]),
    )
