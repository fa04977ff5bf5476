# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: geo
author:
  - geofoss.netbox contributors (@geofoss)
version_added: 0.1.0
short_description: Look up a place in a geofoss.netbox dataset file or in Nominatim
description:
  - Answers with the place's record and the NetBox slug, parent slug and C(geo_source_id) that
    M(geofoss.netbox.netbox_geo_sync) gives its region, so that C(netbox.netbox) modules can use them.
  - Runs on the controller and never talks to NetBox. The dataset file is parsed once per
    process and path (again only when the file changes).
  - "Terms: C(Munich, DE) (a name and its country; C(Springfield, US-IL) names the division),
    C(Munich) (a name alone), C(DE-BY) (ISO 3166-2), C(DE.02) (GeoNames admin1 code), C(DE) (ISO 3166-1),
    C(2867714) or C(geonames:2867714) (a geonameid), any geo_source_id (C(m49:155) a UN M49
    group, C(custom:emea) a team's group or own place), or a region slug such as C(de-munich).
    Names match without regard to case and accents, in the dataset's language (groups and own
    places by their names too)."
  - An ambiguous term fails and lists the candidates; a term that matches nothing fails, or
    returns O(default) when it is given.
  - With O(latitude) and O(longitude) instead of terms, answers the deepest place for the point
    (a team's own place within O(city_radius_km) or whose polygon contains it, else
    the nearest city within O(city_radius_km) in the same first-level division, else the
    containing division, else the nearest division centre, else the country), as
    M(geofoss.netbox.netbox_geo_sites) chooses it.
requirements:
  - pydantic
  - shapely (for the division polygons)
  - timezonefinder (for time zones the dataset lacks)
  - requests (for O(source=nominatim))
options:
  _terms:
    description: Places to look up.
    type: list
    elements: str
    required: false
  dataset:
    description:
      - Path of the dataset file written by M(geofoss.netbox.geo_transform).
    type: path
    env:
      - name: GEOFOSS_GEO_DATASET
    ini:
      - section: geofoss_geo
        key: dataset
  polygons:
    description:
      - GeoJSON file of first-level division polygons; default is the dataset's side file, if any.
    type: path
    env:
      - name: GEOFOSS_GEO_POLYGONS
  country_polygons:
    description:
      - GeoJSON file of country (admin-0) polygons; default is the dataset's C(.admin0.geojson) side
        file, if any. For coordinates, the city and division chosen must lie in the country whose
        polygon contains the point, and that country is the last fallback.
    type: path
    env:
      - name: GEOFOSS_GEO_COUNTRY_POLYGONS
  source:
    description:
      - V(dataset) searches the dataset file; V(nominatim) asks Nominatim (1 request per second,
        cached) and, when O(dataset) is set too, answers with the dataset place at the found point.
    type: str
    choices: [dataset, nominatim]
    default: dataset
    env:
      - name: GEOFOSS_GEO_SOURCE
  level:
    description:
      - Only places of this level match a term; V(group) are the groups above the countries
        (geo_transform's O(geofoss.netbox.geo_transform#module:grouping)), V(custom) a team's own places.
    type: str
    choices: [group, continent, country, admin1, admin2, city, custom]
  latitude:
    description: Latitude of a point to place (with O(longitude), instead of terms).
    type: float
  longitude:
    description: Longitude of a point to place (with O(latitude), instead of terms).
    type: float
  city_radius_km:
    description: For coordinates, a city closer than this (in the same division) is the answer.
    type: float
    default: 30
  max_distance_km:
    description: For coordinates, a point farther than this from every place of the dataset (and in no polygon) is a miss.
    type: float
    default: 500
  default:
    description:
      - Returned for a term that matches nothing, instead of failing. An ambiguous term still fails.
    type: raw
  nominatim_url:
    description: Base URL of Nominatim for O(source=nominatim).
    type: str
    default: https://nominatim.openstreetmap.org
    env:
      - name: GEOFOSS_NOMINATIM_URL
  nominatim_user_agent:
    description:
      - User-Agent identifying your deployment; the public Nominatim server requires one.
    type: str
    env:
      - name: GEOFOSS_NOMINATIM_USER_AGENT
  nominatim_email:
    description: Contact e-mail sent to Nominatim.
    type: str
    env:
      - name: GEOFOSS_NOMINATIM_EMAIL
  nominatim_cache_dir:
    description: Folder caching Nominatim answers.
    type: path
    env:
      - name: GEOFOSS_NOMINATIM_CACHE_DIR
  nominatim_cache_ttl:
    description: Seconds a cached Nominatim answer stays valid.
    type: int
    default: 2592000
notes:
  - The answer's C(slug) and C(parent_slug) are the region slugs the sync creates, so
    C(region) of M(netbox.netbox.netbox_site) can take C(slug) directly once the sync has run.
"""

EXAMPLES = r"""
- name: Bavaria's record
  ansible.builtin.debug:
    msg: "{{ lookup('geofoss.netbox.geo', 'DE-BY', dataset='/var/cache/geo/world.jsonl.gz') }}"

- name: A city by name and country, with the dataset from GEOFOSS_GEO_DATASET
  ansible.builtin.set_fact:
    munich: "{{ lookup('geofoss.netbox.geo', 'Munich, DE') }}"

- name: Several places at once (a list of answers)
  ansible.builtin.set_fact:
    places: "{{ query('geofoss.netbox.geo', 'LU', 'Luxembourg, LU', '2960316', level='city') }}"

- name: The place at a point
  ansible.builtin.set_fact:
    here: "{{ lookup('geofoss.netbox.geo', latitude=49.61, longitude=6.13) }}"

- name: A miss gives the default instead of failing
  ansible.builtin.set_fact:
    place: "{{ lookup('geofoss.netbox.geo', 'Atlantis, GR', default={}) }}"

- name: Ask Nominatim, answer with the dataset's place at the point found
  ansible.builtin.set_fact:
    office: "{{ lookup('geofoss.netbox.geo', 'Pariser Platz 1, Berlin', source='nominatim',
                nominatim_user_agent='acme-netops/1.0 (noc@example.com)') }}"
"""

RETURN = r"""
_raw:
  description: One dict per term (or one for latitude/longitude).
  type: list
  elements: dict
  contains:
    name:
      description: The place's name (the NetBox region name the sync uses).
      type: str
    slug:
      description: The NetBox region slug the sync gives the place.
      type: str
    geo_source_id:
      description: The region's C(geo_source_id) custom field, C(geonames:<geonameid>).
      type: str
    level:
      description: continent, country, admin1, admin2 or city.
      type: str
    country_code:
      description: ISO 3166-1 alpha-2 code of the place's country.
      type: str
    parent_slug:
      description: Slug of the parent region (null at the top).
      type: str
    latitude:
      description: Latitude of the place.
      type: float
    longitude:
      description: Longitude of the place.
      type: float
    time_zone:
      description: IANA time zone (GeoNames', else timezonefinder's at the place or point).
      type: str
    population:
      description: Population (GeoNames), or null.
      type: int
    iso_3166_2:
      description: ISO 3166-2 code of a first-level division, when the dataset has it.
      type: str
    method:
      description: For coordinates, how the place was chosen (city, polygon, division_centre, country_polygon, country).
      type: str
    distance_km:
      description: For coordinates, the distance to the chosen place's centre, when it was chosen by distance.
      type: float
    nominatim:
      description: For O(source=nominatim), the Nominatim place (display_name, osm_type, osm_id, category, type, latitude, longitude).
      type: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.lookup import run_lookup
from ansible_collections.geofoss.netbox.plugins.module_utils._http import http_client_from
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.nominatim import NominatimSearch

# One searcher per Nominatim configuration and process, so its 1 request/s spacing holds across calls.
_SEARCHERS = {}


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        source = self.get_option("source")
        try:
            return run_lookup(
                terms, dataset=self.get_option("dataset"), polygons=self.get_option("polygons"),
                country_polygons=self.get_option("country_polygons"), source=source,
                level=self.get_option("level"), latitude=self.get_option("latitude"),
                longitude=self.get_option("longitude"), city_radius_km=self.get_option("city_radius_km"),
                max_distance_km=self.get_option("max_distance_km"),
                searcher=self._nominatim_searcher() if source == "nominatim" else None,
                default=self.get_option("default"), has_default="default" in kwargs,
            )
        except GeoFossError as exc:  # the lookup's, the index's, Nominatim's, the HTTP client's
            raise AnsibleLookupError("geofoss.netbox.geo: %s" % exc) from None
        except RuntimeError as exc:  # HttpClient without the requests library
            raise AnsibleLookupError("geofoss.netbox.geo: %s" % exc) from None

    def _nominatim_searcher(self):
        settings = tuple(self.get_option(name) for name in (
            "nominatim_url", "nominatim_user_agent", "nominatim_email", "nominatim_cache_dir", "nominatim_cache_ttl"))
        if settings not in _SEARCHERS:
            url, user_agent, email, cache_dir, cache_ttl = settings
            _SEARCHERS[settings] = NominatimSearch(http_client_from({"user_agent": user_agent}), url, user_agent=user_agent,
                                                   email=email, cache_dir=cache_dir, cache_ttl=cache_ttl)
        return _SEARCHERS[settings]
