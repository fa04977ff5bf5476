# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Which NetBox, with which token: the connection options of the modules that talk to
    NetBox (their HTTP behaviour is the geofoss.netbox.http_client fragment)."""

    DOCUMENTATION = r"""
options:
  netbox_url:
    description:
      - Base URL of NetBox, for example C(https://netbox.example.com).
      - Falls back to the environment variables E(NETBOX_URL), then E(NETBOX_API).
    type: str
    required: false
  netbox_token:
    description:
      - NetBox API token. A v2 token (C(nbt_<key>.<secret>)) is sent as C(Bearer),
        a 40-character v1 token as C(Token).
      - Falls back to the environment variables E(NETBOX_TOKEN), then E(NETBOX_API_TOKEN).
      - Never logged, returned or written to plan files.
    type: str
    required: false
notes:
  - The modules of this collection that talk to NetBox are in the action group
    C(geofoss.netbox.netbox_geo), so C(module_defaults) can set the connection once.
"""
