# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the publishers publish, in one place: where, under which file names and scales,
under which licence and attribution, and how long a Nominatim answer is reused.

geo_fetch (fetch, bundled, nominatim) writes these files and geo_transform reads them:
both take the names from here.
"""

from __future__ import annotations

import difflib
import re

# -- GeoNames ------------------------------------------------------------------------------
GEONAMES_BASE_URL = "https://download.geonames.org/export/dump/"
COUNTRY_INFO = "countryInfo.txt"
ADMIN1_CODES = "admin1CodesASCII.txt"
ADMIN2_CODES = "admin2Codes.txt"
# Not a GeoNames file: the bundled source writes it beside admin1CodesASCII.txt
# (CC.CODE<TAB>ISO 3166-2 code), GeoNames' own table having no ISO 3166-2 column.
ADMIN1_ISO = "admin1Iso3166-2.txt"
# The population thresholds of GeoNames' cities<N> tables, largest first.
CITY_THRESHOLDS = (15000, 5000, 1000, 500)
CITIES_FILE_RE = re.compile(r"cities(\d+)\.(txt|zip)\Z")


def cities_dataset(threshold: int) -> str:
    """The dataset name of GeoNames' table of places above ``threshold`` inhabitants."""
    return "cities%d" % threshold


# dataset name -> the file name GeoNames publishes under export/dump/
GEONAMES_FILES = {
    "countryInfo": COUNTRY_INFO,
    "admin1CodesASCII": ADMIN1_CODES,
    "admin2Codes": ADMIN2_CODES,
    "timeZones": "timeZones.txt",
    "featureCodes_en": "featureCodes_en.txt",
    "hierarchy": "hierarchy.zip",
}
GEONAMES_FILES.update((cities_dataset(t), cities_dataset(t) + ".zip") for t in sorted(CITY_THRESHOLDS))
GEONAMES_FILES["allCountries"] = "allCountries.zip"

# -- Natural Earth -------------------------------------------------------------------------
# {scale} is filled in; a base_url of your own may use it too.
NATURAL_EARTH_BASE_URL = "https://naciscdn.org/naturalearth/{scale}/cultural/"
ADMIN0_LAYER = "admin_0_countries"
ADMIN1_LAYER = "admin_1_states_provinces"
NATURAL_EARTH_LAYERS = (ADMIN0_LAYER, ADMIN1_LAYER, "populated_places")
NATURAL_EARTH_SCALES = ("10m", "50m", "110m")  # finest first
# The editions a layer comes in, in the order geo_transform prefers them (GeoJSON needs no pyshp).
NATURAL_EARTH_FORMATS = (".geojson", ".zip")
NATURAL_EARTH_FILE_RE = re.compile(r"ne_(?P<scale>%s)_(?P<layer>[a-z0-9_]+?)(?P<ext>%s)?\Z" % (
    "|".join(NATURAL_EARTH_SCALES), "|".join(re.escape(ext) for ext in NATURAL_EARTH_FORMATS)))


def natural_earth_name(scale: str, layer: str, extension: str = ".zip") -> str:
    """The file name Natural Earth gives a layer at a scale: ne_10m_admin_0_countries.zip."""
    return "ne_%s_%s%s" % (scale, layer, extension)


# -- Nominatim -----------------------------------------------------------------------------
NOMINATIM_BASE_URL = "https://nominatim.openstreetmap.org/"
# How long a Nominatim answer is reused before the server is asked again: 30 days. The
# usage policy asks clients to cache; places move rarely, and a re-run within a month
# (check mode, then the real run) asks nothing again.
NOMINATIM_CACHE_TTL = 30 * 24 * 3600

# -- licences ------------------------------------------------------------------------------
# source -> (licence, attribution): returned by geo_fetch, kept in its manifest, and used by
# geo_transform for the dataset's provenance when no manifest says otherwise.
LICENCES = {
    "geonames": ("CC BY 4.0", "GeoNames (https://www.geonames.org/)"),
    "natural_earth": ("public domain", "Made with Natural Earth (https://www.naturalearthdata.com/)"),
    "nominatim": ("ODbL 1.0", "Data (c) OpenStreetMap contributors, ODbL 1.0 (https://osm.org/copyright)"),
}


def unknown_dataset(kind: str, name: object, valid: list[str], extra: str = "") -> str:
    """The message for a dataset name a source does not have: the closest valid name, then all."""
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = " (did you mean %s?)" % close[0] if close else ""
    return "unknown %s dataset %r%s; valid: %s%s" % (kind, name, hint, ", ".join(valid), extra)
