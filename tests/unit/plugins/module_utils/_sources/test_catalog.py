# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The publishers' facts are defined once (_sources/catalog.py); the documentation that has
to repeat one as text (a module's YAML) is held to it here."""

from __future__ import annotations

import yaml

from ansible_collections.geofoss.netbox.plugins.lookup import geo as geo_lookup
from ansible_collections.geofoss.netbox.plugins.module_utils._io import DEFAULT_FILE_MODE
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import catalog
from ansible_collections.geofoss.netbox.plugins.modules import geo_fetch, geo_transform, netbox_geo_sites


def options(plugin):
    return yaml.safe_load(plugin.DOCUMENTATION)["options"]


def test_one_nominatim_cache_lifetime_everywhere():
    assert catalog.NOMINATIM_CACHE_TTL == 30 * 24 * 3600
    assert options(geo_fetch)["cache_ttl"]["default"] == catalog.NOMINATIM_CACHE_TTL
    assert options(geo_lookup)["nominatim_cache_ttl"]["default"] == catalog.NOMINATIM_CACHE_TTL
    assert options(netbox_geo_sites)["nominatim_cache_ttl"]["default"] == catalog.NOMINATIM_CACHE_TTL


def test_the_documented_base_urls_and_modes_are_the_ones_used():
    documented = " ".join(options(geo_fetch)["base_url"]["description"])
    for url in (catalog.GEONAMES_BASE_URL, catalog.NATURAL_EARTH_BASE_URL, catalog.NOMINATIM_BASE_URL):
        assert "C(%s)" % url in documented
    default = "V(%04o)" % DEFAULT_FILE_MODE
    for module in (geo_fetch, geo_transform):
        assert default in " ".join(options(module)["mode"]["description"])


def test_file_names_and_layers():
    assert catalog.GEONAMES_FILES["cities15000"] == "cities15000.zip"
    assert list(catalog.GEONAMES_FILES)[6:10] == ["cities500", "cities1000", "cities5000", "cities15000"]
    assert catalog.natural_earth_name("10m", catalog.ADMIN1_LAYER) == "ne_10m_admin_1_states_provinces.zip"
    match = catalog.NATURAL_EARTH_FILE_RE.match("ne_50m_admin_0_countries.geojson")
    assert match.group("scale", "layer", "ext") == ("50m", "admin_0_countries", ".geojson")
    assert catalog.CITIES_FILE_RE.match("cities500.zip").group(1) == "500"


def test_an_unknown_dataset_gets_the_closest_name_and_the_list():
    message = catalog.unknown_dataset("bundled", "cities15", ["countryInfo", "cities15000"])
    assert message == "unknown bundled dataset 'cities15' (did you mean cities15000?); valid: countryInfo, cities15000"
