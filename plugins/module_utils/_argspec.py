# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the modules that talk to NetBox (documented in the doc
fragments geofoss.netbox.netbox and geofoss.netbox.http_client)."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback


def netbox_connection_spec() -> dict:
    """Connection, timeouts, retries and rate limit: a new dict for each module."""
    return dict(
        netbox_url=dict(type="str", fallback=(env_fallback, ["NETBOX_URL", "NETBOX_API"])),
        netbox_token=dict(type="str", no_log=True, fallback=(env_fallback, ["NETBOX_TOKEN", "NETBOX_API_TOKEN"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=60),
        connect_timeout=dict(type="float", default=10),
        retries=dict(type="int", default=5),
        rate_limit=dict(type="float", default=0),
    )
