#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: geo_map
short_description: Draw a run's map, a PNG of the countries it touched and the sites it placed
version_added: "0.2.0"
description:
  - Draws the map that the run reports of the C(geofoss.netbox.netbox_geo) and
    C(geofoss.netbox.netbox_geo_sites) roles link to, offline, with matplotlib.
  - Countries are shaded by what a M(geofoss.netbox.netbox_geo_sync) plan did to them (its
    O(plan_file)); created (the country's region was created), regions deleted (pruned in
    it), changes below (regions created, updated or moved in it), unchanged, and grey for
    countries outside the dataset. A plan of a check-mode run is labelled "to create" and so on.
  - Sites of a M(geofoss.netbox.netbox_geo_sites) run (its O(sites_file)) are plotted and
    coloured by how each was placed (nearest city, division polygon, nearest division centre,
    country polygon, nearest place in the country); sites it could not place are red crosses.
  - The country outlines are Natural Earth admin-0 polygons, from the dataset's C(.admin0.geojson)
    side file (written by M(geofoss.netbox.geo_transform) with C(enrich=natural_earth)) or
    O(polygons). Without them the map shows the sites on a graticule and says so.
  - The PNG is replaced atomically and only when its pixels change.
author:
  - geofoss.netbox contributors (@geofoss)
requirements:
  - matplotlib >= 3.8
  - shapely (optional; simplifies detailed outlines to the picture's resolution)
attributes:
  check_mode:
    support: full
    description: Draws in memory and tells whether the file would change; writes nothing.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    support: full
    description: Runs on the controller or any host with the Python requirements.
    platforms: posix
options:
  dest:
    description: The PNG file to write. Its folder must exist.
    type: path
    required: true
  dataset:
    description:
      - The dataset file of the run. Its countries are the ones shaded (unchanged unless the
        plan touched them) and its C(.admin0.geojson) side file gives the outlines.
    type: path
  plan_file:
    description: The plan file of a M(geofoss.netbox.netbox_geo_sync) run (its O(geofoss.netbox.netbox_geo_sync#module:plan_file)).
    type: path
  sites_file:
    description:
      - The sites file of a M(geofoss.netbox.netbox_geo_sites) run (its
        O(geofoss.netbox.netbox_geo_sites#module:sites_file)).
    type: path
  polygons:
    description:
      - Country outlines to draw instead of the dataset's side file; a Natural Earth
        C(ne_*_admin_0_countries) shapefile zip or GeoJSON, or a C(.admin0.geojson) side file.
    type: path
  title:
    description: The map's title, for example the run id.
    type: str
    default: geofoss.netbox
  size:
    description: Width and height of the PNG in pixels.
    type: list
    elements: int
    default: [1600, 900]
  extent:
    description:
      - V(dataset) frames the dataset's countries (their main land, not overseas islands) and the sites;
        V(world) the whole world.
    type: str
    choices: [dataset, world]
    default: dataset
  plan_only:
    description: Label the outcomes as planned ("to create"); the plan file's C(check_mode) sets it too.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Map of a sync beside its report
  geofoss.netbox.geo_map:
    dest: /var/lib/geofoss/reports/import-20261201T195952Z-d0b3.png
    dataset: /var/cache/geofoss/dataset.jsonl
    plan_file: /var/lib/geofoss/reports/import-20261201T195952Z-d0b3.plan.json
    title: geofoss.netbox import 20261201T195952Z-d0b3

- name: The whole world, outlines from a Natural Earth file
  geofoss.netbox.geo_map:
    dest: /tmp/world.png
    dataset: /var/cache/geofoss/dataset.jsonl
    polygons: /var/cache/geofoss/data/ne_110m_admin_0_countries.zip
    extent: world
"""

RETURN = r"""
path:
  description: The PNG written.
  type: str
  returned: always
width:
  description: Width of the PNG in pixels.
  type: int
  returned: always
  sample: 1600
height:
  description: Height of the PNG in pixels.
  type: int
  returned: always
  sample: 900
countries:
  description: How many countries each shade covers.
  type: dict
  returned: always
  sample: {"created": 2, "pruned": 0, "updated": 1, "unchanged": 247}
countries_without_outline:
  description: Country codes of the dataset that the outlines do not have (they are not drawn).
  type: list
  elements: str
  returned: always
changes_without_country:
  description: Plan entries whose country is not known (not drawn).
  type: int
  returned: always
sites:
  description: Sites per placement method (C(unplaced) for those not placed).
  type: dict
  returned: always
  sample: {"city": 12, "polygon": 3, "unplaced": 1}
outlines:
  description: The file the country outlines came from, or null.
  type: str
  returned: always
seconds:
  description: Time spent drawing and writing the PNG.
  type: float
  returned: always
warnings_list:
  description: The module's warnings (no outlines, countries without an outline), also returned for reports.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.geofoss.netbox.plugins.module_utils._argspec import map_drawing_spec
from ansible_collections.geofoss.netbox.plugins.module_utils._common import exit_with_warnings
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._report import map_size_problem
from ansible_collections.geofoss.netbox.plugins.module_utils._report.map import matplotlib_missing, run_map


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            dataset=dict(type="path"),
            plan_file=dict(type="path"),
            sites_file=dict(type="path"),
            plan_only=dict(type="bool", default=False),
            **map_drawing_spec(),
        ),
        supports_check_mode=True,
    )
    if matplotlib_missing():
        module.fail_json(msg=missing_required_lib("matplotlib"), exception=matplotlib_missing())
    problem = map_size_problem(module.params["size"])
    if problem:
        module.fail_json(msg=problem)
    try:
        result = run_map(module.params, check_mode=module.check_mode)
    except GeoFossError as exc:  # MapError, or the dataset's DatasetError
        exc.fail(module)
    exit_with_warnings(module, result)


if __name__ == "__main__":
    main()
