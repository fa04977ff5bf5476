#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: netbox_geo_sync
short_description: Make NetBox's region tree equal a geofoss.netbox dataset
version_added: 0.1.0
description:
  - Reads the dataset file written by M(geofoss.netbox.geo_transform) and the current NetBox regions
    (once, paginated), plans creates, updates, moves and deletes, and applies the plan with bulk
    requests in batches, level by level, with concurrent streams.
  - Identity is the custom field C(geo_source_id) on C(dcim.region) (C(geonames:<id>)); ownership is
    the tag O(managed_tag), or with O(ownership=source_id) the C(geo_source_id) alone. Only managed
    regions are updated or deleted. The module creates the custom field(s) and the tag when they
    are missing.
  - C(geo_source_id) is not unique - NetBox would check a unique custom field with a scan of the
    whole region table on every write. NetBox's unique indexes on parent and slug, parent and name
    stop duplicates; a field made unique by an earlier release is changed to not unique (shown in
    check mode and diff, like the other schema changes).
  - Nothing is written to NetBox before every input has been checked, in this order - the options,
    the dataset (read and validated whole, streamed), NetBox's version, the conflicts and
    O(max_deletes) of the plan, and the token's permissions; only then the custom fields and the
    tag are created and the plan is applied.
  - After a write whose outcome is unknown (a timeout, a lost connection, a 408, 5xx from a gateway)
    it reads back what landed (creates by slug, parent and C(geo_source_id), deletes by id, updates by their fields)
    and sends only the rest again, so no region is ever created twice. A bulk request is sent at
    most O(retries) + 1 times; a 400, 401, 403, 404, or a 500 for which NetBox names a deterministic
    error (such as C(InvalidMove)) is not retried; another 500 is sent again once.
  - Every write carries a C(changelog_message) naming the run, so NetBox's change log is the audit trail.
author:
  - geofoss.netbox contributors (@geofoss)
extends_documentation_fragment:
  - geofoss.netbox.netbox
  - geofoss.netbox.http_client
  - geofoss.netbox.progress
  - geofoss.netbox.ownership
attributes:
  check_mode:
    support: full
    description: Reads NetBox and plans; writes nothing to NetBox (a O(plan_file) is still written).
  diff_mode:
    support: full
    description: Before and after of the first O(diff_limit) changes, with the counts.
  platform:
    support: full
    description: Runs on the controller or any host that reaches NetBox.
    platforms: posix
  action_group:
    support: full
    description: Use C(group/geofoss.netbox.netbox_geo) in C(module_defaults) to set the connection once.
    membership:
      - geofoss.netbox.netbox_geo
options:
  dataset:
    description:
      - Path of the dataset file (JSON Lines, optionally C(.gz)). Required when O(state=present).
    type: path
  root_region:
    description:
      - Slug or name of an existing region under which the dataset's top-level nodes are placed.
      - Without it they are top-level regions.
    type: str
  prune:
    description:
      - Delete managed regions that are not in the dataset (deepest first).
    type: bool
    default: false
  max_deletes:
    description:
      - Fail before any write when the plan would delete more regions than this (managed ones
        plus unmanaged child regions deleted with them). No limit when unset.
    type: int
  adopt:
    description:
      - Take over existing unmanaged regions that match a node by parent and slug or name (or
        that carry its C(geo_source_id)), tagging them, instead of failing on the conflict.
    type: bool
    default: false
  batch_size:
    description:
      - Objects per bulk request.
      - On NetBox 4.4-4.6 (django-mptt) the most regions per create request; each request there is
        sized by the seconds per region the previous one took, to stay within a quarter of O(timeout).
        Renames and moves go one region per request there.
    type: int
    default: 200
  concurrency:
    description:
      - Bulk requests in flight at once (per level of the tree). Two requests that write into the
        same region tree are never in flight together, because NetBox locks a tree for each insert, move
        or rename in it until the request commits; the other streams take other trees meanwhile.
      - On NetBox 4.4-4.6 (django-mptt) NetBox runs every region create, and every single-region
        update, under one lock for the whole instance - creates are sent one request at a time, and
        this option speeds up reads, bulk updates of other fields and deletes only.
    type: int
    default: 2
  changelog_message:
    description:
      - Change log message of every write; the run id is appended.
      - Default C(geofoss.netbox netbox_geo_sync (run <run_id>)).
    type: str
  plan_file:
    description:
      - Write the full plan as JSON to this path (atomically), also in check mode. It holds no secrets.
    type: path
  diff_limit:
    description:
      - How many changes C(--diff) shows (the counts are always given).
    type: int
    default: 50
  state:
    description:
      - V(present) makes the tree equal the dataset; V(absent) removes every managed region
        (subject to O(max_deletes)).
    type: str
    choices: [present, absent]
    default: present
  netbox_links:
    description:
      - Also keep two NetBox-native touches, created and updated like the custom fields (check
        mode and C(--diff) show them) and removed with O(state=absent) (with O(netbox_links=true)).
      - A custom link C(OpenStreetMap) on regions and on sites that opens the place on
        OpenStreetMap, at the region's C(geo_latitude)/C(geo_longitude) custom fields
        (O(attribute_fields=true)) or the site's latitude and longitude, else a search by its name.
      - An export template C(GeoJSON (geofoss.netbox)) on sites, which gives the sites of the
        site list (filter it by region) as GeoJSON points.
      - The token then needs add and change (delete for O(state=absent)) on C(extras.customlink)
        and C(extras.exporttemplate).
    type: bool
    default: false
  map:
    description:
      - Draw the run's map, a PNG of the countries shaded by what the plan does to them, as
        M(geofoss.netbox.geo_map) draws it from a plan file (the legend, colours and outlines are
        the same), but inside this run - once the plan is made, in a thread beside the writes,
        so following a run costs no extra module run (C(docs/benchmarks.md), following a run).
      - Written also in check mode and when the run fails after planning (like O(plan_file)),
        never before the plan. A map that cannot be drawn (matplotlib missing, unreadable
        outlines) is a warning, not a failure. Returned as RV(map).
      - Needs matplotlib on the host that runs the module.
    type: dict
    suboptions:
      dest:
        description: The PNG file to write. Its folder must exist.
        type: path
        required: true
      polygons:
        description:
          - Country outlines; a Natural Earth C(ne_*_admin_0_countries) shapefile zip or GeoJSON,
            or a C(.admin0.geojson) side file. Default, the dataset's C(.admin0.geojson) side file.
        type: path
      title:
        description: The map's title, for example the run id.
        type: str
        default: geofoss.netbox
      size:
        description: Width and height of the PNG in pixels (at least 200 x 150).
        type: list
        elements: int
        default: [1600, 900]
      extent:
        description:
          - V(dataset) frames the dataset's countries (their main land); V(world) the whole world.
        type: str
        choices: [dataset, world]
        default: dataset
  attribute_fields:
    description:
      - Also keep the optional custom fields C(geo_iso_code), C(geo_population), C(geo_latitude),
        C(geo_longitude) and C(geo_time_zone) (created when missing).
    type: bool
    default: false
notes:
  - Requires NetBox 4.x (tested with 4.4.10, 4.5.10, 4.6.8 and 4.7.3). On 4.4-4.6, whose region tree
    django-mptt keeps, creates go in seed waves so siblings end in NetBox's name order, renames and
    moves one region per request, and after deletes the result warns that NetBox left gaps in the
    tree numbering and how to repair them. The token needs view, add and change on C(dcim.region)
    (delete when pruning); to create the custom fields and the tag, add on C(extras.customfield)
    and C(extras.tag), else an administrator creates them (the error message lists them).
  - Conflicts (a name or slug held by a region the module may not change) end the run before any write.
requirements:
  - requests
  - pydantic
  - matplotlib >= 3.8 (only for O(map))
seealso:
  - module: geofoss.netbox.geo_transform
  - module: geofoss.netbox.geo_map
"""

EXAMPLES = r"""
- name: Sync countries and first-level divisions under the region "World"
  geofoss.netbox.netbox_geo_sync:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
    dataset: /var/cache/geo/world.jsonl.gz
    root_region: world

- name: Preview a release change with a plan file, no writes
  geofoss.netbox.netbox_geo_sync:
    dataset: /var/cache/geo/world.jsonl.gz
    prune: true
    max_deletes: 100
    plan_file: /tmp/geo-plan.json
  check_mode: true
  diff: true

- name: A large tree where nothing else writes geo_source_id - no tag, so each create costs NetBox what a bare region does
  geofoss.netbox.netbox_geo_sync:
    dataset: /var/cache/geo/cities15000.jsonl.gz
    root_region: world
    ownership: source_id

- name: Remove everything the collection created
  geofoss.netbox.netbox_geo_sync:
    state: absent
    max_deletes: 5000
"""

RETURN = r"""
run_id:
  description: Identifier of this run; it is in the change log message of every write.
  type: str
  returned: always
  sample: 3f2a9c01b7de
summary:
  description: Number of regions created, updated, deleted and left unchanged (planned in check mode).
  type: dict
  returned: always
  sample: {"create": 4101, "update": 0, "delete": 0, "unchanged": 0}
impact:
  description: What the deletes take with them.
  type: dict
  returned: when a plan was made
  sample: {"regions_deleted": 2, "managed_deleted": 2, "unmanaged_deleted_with_parent": 0, "sites_detached": 1}
conflicts:
  description: Names or slugs the plan needs that are held by regions it may not change.
  type: list
  elements: str
  returned: when a plan was made
request_ids:
  description: The X-Request-ID of every write NetBox answered; they find the change log entries.
  type: list
  elements: str
  returned: always
http:
  description: Requests sent, retries made, 429 answers received.
  type: dict
  returned: always
  sample: {"requests": 31, "retries": 0, "throttled": 0}
duration:
  description: Seconds per phase (read, plan, apply), drawing the map (O(map), beside apply) and in total.
  type: dict
  returned: always
  sample: {"read": 1.2, "plan": 0.1, "apply": 48.3, "map": 0.5, "total": 49.7}
map:
  description:
    - With O(map), the PNG written, or null when it could not be drawn (a warning says why).
      Its drawing time is C(map) in RV(duration).
  type: str
  returned: when O(map) is set and the plan was made
  sample: /var/lib/geofoss/reports/import-20261201T195952Z-d0b3.png
links:
  description:
    - With O(netbox_links=true), the custom links and export template created, updated and
      deleted (planned in check mode), by kind and name.
  type: dict
  returned: when netbox_links is true
  sample: {"create": ["custom link OpenStreetMap (geofoss.netbox regions)"], "update": [], "delete": []}
plan_file:
  description: The plan file written, if any.
  type: str
  returned: always
warnings_list:
  description: The run's warnings (Ansible shows them too), returned for reports; on failure when there are any.
  type: list
  elements: str
  returned: always
applied:
  description: On failure, how many vacate, create, update and delete operations had been applied.
  type: dict
  returned: on failure after writes began
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.geofoss.netbox.plugins.module_utils._argspec import (
    map_drawing_spec, netbox_connection_spec, ownership_spec, progress_spec,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._common import exit_with_warnings
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import PYDANTIC_IMPORT_ERROR
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._http import REQUESTS_IMPORT_ERROR
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import DEFAULT_DIFF_LIMIT, run_sync


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **netbox_connection_spec(),
            dataset=dict(type="path"),
            root_region=dict(type="str"),
            **ownership_spec(),
            prune=dict(type="bool", default=False),
            max_deletes=dict(type="int"),
            adopt=dict(type="bool", default=False),
            batch_size=dict(type="int", default=200),
            concurrency=dict(type="int", default=2),
            changelog_message=dict(type="str"),
            plan_file=dict(type="path"),
            diff_limit=dict(type="int", default=DEFAULT_DIFF_LIMIT),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            attribute_fields=dict(type="bool", default=False),
            netbox_links=dict(type="bool", default=False),
            map=dict(type="dict", options=dict(dest=dict(type="path", required=True), **map_drawing_spec())),
            **progress_spec(),
        ),
        required_if=[("state", "present", ("dataset",))],
        supports_check_mode=True,
    )
    for library, error in (("requests", REQUESTS_IMPORT_ERROR), ("pydantic", PYDANTIC_IMPORT_ERROR)):
        if error:
            module.fail_json(msg=missing_required_lib(library), exception=error)
    try:
        result = run_sync(module.params, check_mode=module.check_mode, diff=module._diff)
    except GeoFossError as exc:
        exc.fail(module)
    exit_with_warnings(module, result)


if __name__ == "__main__":
    main()
