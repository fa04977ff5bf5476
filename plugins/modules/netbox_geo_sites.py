#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: netbox_geo_sites
short_description: Place NetBox sites in the managed region tree and set their time zone
version_added: 0.1.0
description:
  - Reads the NetBox sites matching O(sites) and, from each site's coordinates, chooses the
    deepest region that the sync manages (M(geofoss.netbox.netbox_geo_sync)) and the site's
    time zone, then writes the changes as bulk PATCHes. A re-run changes nothing.
  - Nothing is written before the options, the dataset, NetBox's version and the token's permission
    to change sites have been checked. A PATCH whose outcome is unknown is read back, and sent again
    only if it did not land, at most O(retries) + 1 times in all.
  - "A team's own places (M(geofoss.netbox.geo_transform)'s O(geofoss.netbox.geo_transform#module:own_places))
    come first: the nearest one with coordinates within O(city_radius_km) (method C(own_place);
    inside an own place's polygon only one that is part of that place), else the one whose
    GeoJSON polygon contains the site (the dataset's C(.custom.geojson) side file; method C(own_polygon))."
  - "Then the region choice, deepest first: the nearest city of the dataset within O(city_radius_km)
    that lies in the same first-level division as the site; else the first-level division
    whose polygon contains the site (the dataset's admin1 polygons side file, or O(polygons));
    else the nearest first-level division centre; else the country."
  - When the chosen dataset place has no region in NetBox, its nearest managed parent is used.
    Only managed regions (see O(ownership)) with the custom field C(geo_source_id) are assigned.
  - The time zone is the chosen city's or division's GeoNames time zone, else the one that
    timezonefinder (offline) gives for the coordinates.
  - "Bad coordinates are skipped with a warning each and counted: 0,0; out of range; probably
    swapped (far from the site's country while the swapped point is close to it; the country is
    known from the site's current region, its geocoding answer, or its time zone)."
  - With O(geocode=true), a site with a physical address and no coordinates is geocoded
    through Nominatim (1 request per second, cached), then placed; its coordinates are written too.
  - See the collection's docs/sites.md for measured figures and limits.
author:
  - geofoss.netbox contributors (@geofoss)
extends_documentation_fragment:
  - geofoss.netbox.netbox
  - geofoss.netbox.http_client
  - geofoss.netbox.progress
  - geofoss.netbox.ownership
requirements:
  - requests
  - pydantic
  - shapely (for the division polygons)
  - timezonefinder (for time zones the dataset lacks)
attributes:
  check_mode:
    support: full
    description: Plans and reports the changes, writes nothing.
  diff_mode:
    support: full
    description: Shows each changed site before and after (capped at 200 sites).
options:
  dataset:
    description:
      - Path to the dataset file written by M(geofoss.netbox.geo_transform) (JSON Lines, maybe gzip).
    type: path
    required: true
  polygons:
    description:
      - GeoJSON FeatureCollection of first-level division polygons. Features are matched to the
        dataset by the property C(geo_source_id), else Natural Earth's C(gn_id), else C(iso_3166_2).
      - Default is the side file named in the dataset's header (or found next to it); an empty
        string disables polygons.
    type: path
    required: false
  country_polygons:
    description:
      - GeoJSON FeatureCollection of country (admin-0) polygons, such as the C(.admin0.geojson) side
        file that M(geofoss.netbox.geo_transform) writes from Natural Earth admin-0. Features are matched
        by C(geo_source_id), else C(gn_id), else C(country_code) or C(iso_a2).
      - Where a country polygon contains a site that no division polygon does, the city and the
        division centre chosen must lie in that country, and the country itself is the last
        fallback (method C(country_polygon)), so a site near a border stays on its own side.
      - Default is the dataset's side file, if any; an empty string disables them.
    type: path
    required: false
  sites:
    description:
      - "A NetBox filter selecting the sites to place, as query parameters of C(/api/dcim/sites/),
        for example C({tag: branch}) or C({region_id: null}) (C(null) matches sites without a region).
        Lists repeat the parameter. Default is every site."
    type: dict
    default: {}
  assign_region:
    description:
      - Set the site's region.
    type: bool
    default: true
  set_time_zone:
    description:
      - Set the site's time zone.
    type: bool
    default: true
  overwrite:
    description:
      - Replace a region or time zone that is already set. By default only empty fields are filled.
    type: bool
    default: false
  geocode:
    description:
      - Geocode sites that have a physical address but no coordinates through Nominatim.
    type: bool
    default: false
  nominatim_url:
    description:
      - Base URL of the Nominatim service used when O(geocode=true).
    type: str
    default: https://nominatim.openstreetmap.org
  nominatim_user_agent:
    description:
      - User-Agent sent to Nominatim; its usage policy requires one that identifies the application.
        Default is the collection's own.
    type: str
    required: false
  nominatim_email:
    description:
      - Contact e-mail sent to Nominatim with each request (its usage policy asks for one for bulk use).
    type: str
    required: false
  nominatim_cache_dir:
    description:
      - Folder caching Nominatim answers, so that a re-run asks nothing again. Default is none.
    type: path
    required: false
  nominatim_cache_ttl:
    description:
      - Seconds a cached Nominatim answer stays valid.
    type: int
    default: 2592000
  city_radius_km:
    description:
      - A city of the dataset closer than this to the site (and in the same first-level division) is
        the site's region.
    type: float
    default: 30
  max_distance_km:
    description:
      - A site farther than this from every place of the dataset, and in no division polygon, is
        left alone and counted as C(outside_dataset).
    type: float
    default: 500
  batch_size:
    description:
      - Sites per bulk PATCH request.
    type: int
    default: 200
  concurrency:
    description:
      - Bulk PATCH requests in flight at once. NetBox writes a site in tens of milliseconds, so
        the writes dominate large runs; each extra stream uses one more NetBox worker.
    type: int
    default: 2
  sites_file:
    description:
      - Write every site the filter chose, with its coordinates and how it was placed (C(method) is
        C(city), C(polygon), C(division_centre), C(country_polygon) or C(country)) or why not
        (C(reason)), as JSON to this path (atomically), also in check mode. M(geofoss.netbox.geo_map)
        draws it.
    type: path
  changelog_message:
    description:
      - Message recorded in NetBox's change log for every write of this run.
    type: str
    default: geofoss.netbox.netbox_geo_sites
"""

EXAMPLES = r"""
- name: Put every site without a region in its region and set its time zone
  geofoss.netbox.netbox_geo_sites:
    netbox_url: https://netbox.example.com
    netbox_token: "{{ vault_netbox_token }}"
    dataset: /var/cache/geo/world.jsonl.gz
    sites:
      region_id: null

# The connection from the environment of the controller (NETBOX_URL, NETBOX_TOKEN), as an
# AWX credential sets it; do not pass the token through a task's environment: keyword,
# which Ansible prints at -vvv.
- name: Re-place the branch sites, overwriting regions and time zones, geocoding addresses
  geofoss.netbox.netbox_geo_sites:
    dataset: /var/cache/geo/world.jsonl.gz
    sites:
      tag: branch
    overwrite: true
    geocode: true
    nominatim_email: noc@example.com
    nominatim_cache_dir: /var/cache/geo/nominatim
"""

RETURN = r"""
changed:
  description: Whether a site was (or in check mode would be) changed.
  returned: always
  type: bool
summary:
  description: Counts of the run.
  returned: always
  type: dict
  sample:
    sites: 120
    updated: 100
    unchanged: 12
    no_coordinates: 3
    bad_coordinates: 2
    outside_dataset: 1
    unmanaged_region: 2
    geocoded: 0
    geocode_failed: 0
sites_file:
  description: The sites file written, if any.
  returned: always
  type: str
changes:
  description: The changed sites, at most 200, with the dataset place chosen and how.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 7
      name: ber-1
      before: {region: null, time_zone: null}
      after: {region: 42, time_zone: Europe/Berlin}
      placed_in: geonames:2950159
      method: city
      distance_km: 1.234
skipped_sites:
  description: Sites skipped for bad coordinates, being outside the dataset, or without a managed region (at most 200).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 9
      name: lab
      reason: zero
      message: coordinates 0,0 (probably unset)
request_ids:
  description: X-Request-ID values of the writes (the last 50), to find them in NetBox's change log.
  returned: always
  type: list
  elements: str
http:
  description: HTTP counters of the NetBox client.
  returned: always
  type: dict
  sample: {requests: 5, retries: 0, throttled: 0, bytes: 51234}
duration:
  description: Seconds the run took.
  returned: always
  type: float
timings:
  description: Seconds spent reading NetBox, planning (geocoding included) and writing.
  returned: always
  type: dict
  sample: {read: 2.1, plan: 0.4, write: 31.7}
warnings_list:
  description: The run's warnings (Ansible shows them too), returned for reports; on failure when there are any.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.geofoss.netbox.plugins.module_utils._argspec import netbox_connection_spec, ownership_spec, progress_spec
from ansible_collections.geofoss.netbox.plugins.module_utils._common import exit_with_warnings
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import PYDANTIC_IMPORT_ERROR
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._http import REQUESTS_IMPORT_ERROR
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sites import run_module
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.catalog import NOMINATIM_CACHE_TTL


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **netbox_connection_spec(),
            dataset=dict(type="path", required=True),
            polygons=dict(type="path"),
            country_polygons=dict(type="path"),
            sites=dict(type="dict", default={}),
            **ownership_spec(),
            assign_region=dict(type="bool", default=True),
            set_time_zone=dict(type="bool", default=True),
            overwrite=dict(type="bool", default=False),
            geocode=dict(type="bool", default=False),
            nominatim_url=dict(type="str", default="https://nominatim.openstreetmap.org"),
            nominatim_user_agent=dict(type="str"),
            nominatim_email=dict(type="str"),
            nominatim_cache_dir=dict(type="path"),
            nominatim_cache_ttl=dict(type="int", default=NOMINATIM_CACHE_TTL),
            city_radius_km=dict(type="float", default=30),
            max_distance_km=dict(type="float", default=500),
            batch_size=dict(type="int", default=200),
            concurrency=dict(type="int", default=2),
            changelog_message=dict(type="str", default="geofoss.netbox.netbox_geo_sites"),
            sites_file=dict(type="path"),
            **progress_spec(),
        ),
        supports_check_mode=True,
    )
    for library, error in (("requests", REQUESTS_IMPORT_ERROR), ("pydantic", PYDANTIC_IMPORT_ERROR)):
        if error:
            module.fail_json(msg=missing_required_lib(library), exception=error)
    try:
        result = run_module(module.params, check_mode=module.check_mode, diff=module._diff)
    except GeoFossError as exc:
        exc.fail(module)
    exit_with_warnings(module, result)


if __name__ == "__main__":
    main()
