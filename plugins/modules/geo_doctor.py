#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: geo_doctor
short_description: Check, before a run, that NetBox, the token, the cache and the Python side are ready
version_added: "0.2.0"
description:
  - Runs the checks that tell whether an import or a site placement can work, and returns each
    as C(ok), C(warning) or C(failed) with what to do. The C(geofoss.netbox.doctor) playbook
    prints them and fails when one failed.
  - NetBox is reachable and answers as NetBox; its version is supported (4.4.10 through 4.7.x;
    newer is a warning); the token's kind (v2 C(nbt_) Bearer or v1 C(Token)) suits that version
    and NetBox accepts it.
  - The permissions each module in O(modules) needs, probed without writing anything (NetBox's
    empty bulk writes are checked for permission and write nothing); with O(prune) also delete
    on regions.
  - The custom field C(geo_source_id) (and the attribute fields with O(attribute_fields)) and the
    tag O(managed_tag) (none under O(ownership=source_id)) are present, or the token may create
    them; with O(netbox_links) the same for the OpenStreetMap custom links and the GeoJSON export
    template.
  - The cache folder O(cache_dir) is writable and has room for O(datasets); each downloaded file
    in it is as new as the publisher's (an HTTP HEAD, C(Last-Modified)) when O(online); a
    publisher that does not answer is a warning (offline), not a failure. The publishers are
    asked once each (no retries), 10 seconds at most.
  - The Python requirements import, and the time zone data (the IANA database, timezonefinder)
    answers.
author:
  - geofoss.netbox contributors (@geofoss)
extends_documentation_fragment:
  - geofoss.netbox.netbox
  - geofoss.netbox.http_client
  - geofoss.netbox.ownership
attributes:
  check_mode:
    support: full
    description: The doctor only reads; check mode runs the same checks.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    support: full
    description: Runs on the controller or any host with the Python requirements.
    platforms: posix
  action_group:
    support: full
    description: Use C(group/geofoss.netbox.netbox_geo) in C(module_defaults) to set the connection once.
    membership:
      - geofoss.netbox.netbox_geo
options:
  modules:
    description: The modules whose NetBox permissions to check.
    type: list
    elements: str
    choices: [netbox_geo_sync, netbox_geo_sites]
    default: [netbox_geo_sync, netbox_geo_sites]
  prune:
    description: The sync will prune, so its token needs delete on C(dcim.region) too.
    type: bool
    default: false
  attribute_fields:
    description: The sync keeps the attribute custom fields too (its O(geofoss.netbox.netbox_geo_sync#module:attribute_fields)).
    type: bool
    default: false
  netbox_links:
    description:
      - The sync keeps the OpenStreetMap custom links and the GeoJSON export template (its
        O(geofoss.netbox.netbox_geo_sync#module:netbox_links)); checks that they are present, or that the token
        may create or update them (add and change on C(extras.customlink) and C(extras.exporttemplate)).
    type: bool
    default: false
  cache_dir:
    description: The cache folder of M(geofoss.netbox.geo_fetch) (the C(geo_data) role's C(geo_cache_dir)).
    type: path
    default: ~/.cache/geofoss.netbox/data
  source:
    description: The source the import uses; it chooses the default O(datasets).
    type: str
    choices: [bundled, geonames, natural_earth]
    default: bundled
  datasets:
    description: The source files the import fetches (their sizes decide the space needed); empty means the source's default ones.
    type: list
    elements: str
    default: []
  online:
    description: Compare the cached downloads with the publishers' (one HTTP HEAD per file).
    type: bool
    default: true
notes:
  - The module fails only on bad options; the checks' outcome is in RV(healthy) and RV(counts).
requirements:
  - requests
seealso:
  - module: geofoss.netbox.netbox_geo_sync
"""

EXAMPLES = r"""
- name: Is everything ready?
  geofoss.netbox.geo_doctor:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
    prune: true
  register: doctor

- name: Show the checks
  ansible.builtin.debug:
    msg: "{{ doctor.lines }}"

- name: Stop on a failed check
  ansible.builtin.assert:
    that: doctor.healthy
"""

RETURN = r"""
checks:
  description: Every check in order, with its status (C(ok), C(warning), C(failed)), message and fix.
  type: list
  elements: dict
  returned: always
  sample: [{"name": "netbox_version", "status": "ok", "message": "NetBox 4.7.3 (supported: NetBox 4.4.10 through 4.7.x)", "fix": ""}]
lines:
  description: The checks as one line each, for printing.
  type: list
  elements: str
  returned: always
  sample: ["OK       netbox_reachable: http://127.0.0.1:8765 answers"]
counts:
  description: How many checks ended in each status.
  type: dict
  returned: always
  sample: {"ok": 20, "warning": 1, "failed": 0}
healthy:
  description: No check failed.
  type: bool
  returned: always
duration:
  description: Seconds the checks took.
  type: float
  returned: always
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.geofoss.netbox.plugins.module_utils._argspec import netbox_connection_spec, ownership_spec
from ansible_collections.geofoss.netbox.plugins.module_utils._http import REQUESTS_IMPORT_ERROR

try:
    from ansible_collections.geofoss.netbox.plugins.module_utils._doctor import run_doctor
except ImportError:
    DOCTOR_IMPORT_ERROR = traceback.format_exc()
else:
    DOCTOR_IMPORT_ERROR = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netbox_connection_spec(),
            modules=dict(type="list", elements="str", choices=["netbox_geo_sync", "netbox_geo_sites"],
                         default=["netbox_geo_sync", "netbox_geo_sites"]),
            prune=dict(type="bool", default=False),
            attribute_fields=dict(type="bool", default=False),
            netbox_links=dict(type="bool", default=False),
            **ownership_spec(),
            cache_dir=dict(type="path", default="~/.cache/geofoss.netbox/data"),
            source=dict(type="str", default="bundled", choices=["bundled", "geonames", "natural_earth"]),
            datasets=dict(type="list", elements="str", default=[]),
            online=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    if DOCTOR_IMPORT_ERROR:
        module.fail_json(msg="the collection's module_utils could not be imported", exception=DOCTOR_IMPORT_ERROR)
    module.exit_json(changed=False, **run_doctor(module.params))


if __name__ == "__main__":
    main()
