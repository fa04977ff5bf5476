# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming parsers for GeoNames dump files.

countryInfo.txt, admin1CodesASCII.txt, admin2Codes.txt, admin1Iso3166-2.txt and the
19-column geoname table (citiesN.txt, plain or inside citiesN.zip). Files are read line by
line as bytes (never whole), each line decoded on its own, so one bad line is one error.

Each parser yields, per data line, either a record (a NamedTuple) or a RowError; the
caller decides whether an error fails the run or is skipped. A file that cannot be read
at all (missing, not a zip, truncated zip, CRC error) raises SourceError. Nothing else
escapes: these two are the documented error types.
"""

from __future__ import annotations

import math
import os
import re
import sys
import zipfile
import zlib
from typing import IO, Callable, Iterator, NamedTuple, TypeVar

from ansible_collections.geofoss.netbox.plugins.module_utils._io import archive_problem
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError

MAX_LINE_BYTES = 64 * 1024  # the longest real geoname row (alternate names) is ~10 KiB
CONTINENTS = {
    # code: (geonameid, name) -- GeoNames' continent features (feature code CONT)
    "AF": (6255146, "Africa"),
    "AS": (6255147, "Asia"),
    "EU": (6255148, "Europe"),
    "NA": (6255149, "North America"),
    "OC": (6255151, "Oceania"),
    "SA": (6255150, "South America"),
    "AN": (6255152, "Antarctica"),
}
COUNTRY_INFO_COLUMNS = 19
ADMIN_CODES_COLUMNS = 4
GEONAME_COLUMNS = 19

Record = TypeVar("Record")

_CONTROL_RE = re.compile(r"[\x00-\x1f]")
_INTEGER_RE = re.compile(r"-?[0-9]{1,18}\Z")
_COUNTRY_CODE_RE = re.compile(r"[A-Z]{2}\Z")
_ISO3_RE = re.compile(r"[A-Z]{3}\Z")
# Admin codes are mostly FIPS/ISO digits and letters, but some are names (KP.06.Yŏnan-gun).
_ADMIN_CODE = r"[^\t\x00-\x1f.]{1,80}"
_ADMIN1_KEY_RE = re.compile(r"[A-Z]{2}\.%s\Z" % _ADMIN_CODE)
_ADMIN2_KEY_RE = re.compile(r"[A-Z]{2}\.%s\.%s\Z" % (_ADMIN_CODE, _ADMIN_CODE))
_ADMIN_CODE_RE = re.compile(r"(%s)?\Z" % _ADMIN_CODE)
_FEATURE_CODE_RE = re.compile(r"[A-Z0-9]{1,10}\Z")
_ISO_3166_2_RE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}\Z")
_TIME_ZONE_RE = re.compile(r"[A-Za-z0-9_+\-/]{1,64}\Z")


class SourceError(GeoFossError):
    """A source file that cannot be read at all."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__("%s: %s" % (file, reason))
        self.file = file
        self.reason = reason


class RowError(GeoFossError):
    """One bad data line: file, line number, field (column name or None), reason."""

    def __init__(self, file: str, line: int, field: str | None, reason: str) -> None:
        super().__init__("%s:%d: %s%s" % (file, line, "%s: " % field if field else "", reason))
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, str | int | None]:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}


class Country(NamedTuple):
    line: int
    code: str
    iso3: str
    name: str
    capital: str
    population: int
    continent: str
    geonameid: int


class AdminCode(NamedTuple):
    line: int
    key: str          # "DE.02" (admin1) or "DE.02.091" (admin2)
    name: str
    asciiname: str
    geonameid: int


class Place(NamedTuple):
    line: int
    geonameid: int
    name: str
    asciiname: str
    latitude: float
    longitude: float
    feature_code: str
    country_code: str
    admin1: str
    admin2: str
    population: int
    time_zone: str


def display_name(path: str, member: str | None = None) -> str:
    base = os.path.basename(path)
    return "%s!%s" % (base, member) if member else base


def _zip_member(path: str, archive: zipfile.ZipFile, suffix: str = ".txt") -> str:
    names = [n for n in archive.namelist() if n.endswith(suffix) and not n.endswith("/")]
    stem = os.path.splitext(os.path.basename(path))[0]
    preferred = [n for n in names if os.path.basename(n) == stem + suffix]
    if preferred:
        return preferred[0]
    if len(names) == 1:
        return names[0]
    raise SourceError(os.path.basename(path), "zip holds %d %s files (%s); expected %s%s"
                      % (len(names), suffix, ", ".join(names[:5]) or "none", stem, suffix))


def iter_lines(path: str) -> Iterator[tuple[int, str | RowError]]:
    """(line number, decoded text without line end, or RowError) for every line of a text
    file or of the .txt inside a .zip. Strips a UTF-8 BOM on line 1 and CR before LF."""
    file = display_name(path)
    try:
        if path.endswith(".zip"):
            try:
                archive = zipfile.ZipFile(path)
            except zipfile.BadZipFile as exc:
                raise SourceError(file, "not a valid zip archive (truncated download?): %s" % exc) from exc
            with archive:
                problem = archive_problem(archive)
                if problem:
                    raise SourceError(file, problem)
                member = _zip_member(path, archive)
                file = display_name(path, member)
                with archive.open(member) as handle:
                    yield from _decoded_lines(file, handle)
        else:
            with open(path, "rb") as handle:
                yield from _decoded_lines(file, handle)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceError(file, "damaged or truncated zip data: %s" % exc) from exc
    except OSError as exc:
        raise SourceError(file, "cannot read: %s" % (exc.strerror or exc)) from exc


def _decoded_lines(file: str, handle: IO[bytes]) -> Iterator[tuple[int, str | RowError]]:
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            # skip the rest of the absurd line, then report it once
            while raw and not raw.endswith(b"\n"):
                raw = handle.readline(MAX_LINE_BYTES + 1)
            yield number, RowError(file, number, None, "line longer than %d bytes" % MAX_LINE_BYTES)
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        raw = raw.rstrip(b"\n").rstrip(b"\r")
        if b"\x00" in raw:
            yield number, RowError(file, number, None, "NUL byte at column %d" % (raw.index(b"\x00") + 1))
            continue
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, RowError(file, number, None, "invalid UTF-8 at byte %d" % (exc.start + 1))


def _rows(path: str, file: str, expected: int, kind: str,
          comments: bool = False) -> Iterator[tuple[int, list[str] | RowError]]:
    """(number, columns) per data line with ``expected`` tab-separated columns, or a RowError.
    Blank lines, and `#` lines when ``comments``, are skipped."""
    for number, text in iter_lines(path):
        if isinstance(text, RowError):
            yield number, text
        elif not text.strip() or (comments and text.startswith("#")):
            continue
        else:
            columns = text.split("\t")
            if len(columns) != expected:
                yield number, RowError(file, number, None, "%d tab-separated columns, a %s line has %d"
                                       % (len(columns), kind, expected))
            else:
                yield number, columns


def _parse(path: str, file: str, expected: int, kind: str, build: Callable[[int, list[str]], Record],
           comments: bool = False) -> Iterator[Record | RowError]:
    """Each data line through ``build(number, columns)`` -> record; RowErrors passed on."""
    for number, columns in _rows(path, file, expected, kind, comments):
        if isinstance(columns, RowError):
            yield columns
            continue
        try:
            yield build(number, columns)
        except RowError as exc:
            yield exc


def _integer(file: str, number: int, field: str, value: str, allow_empty: bool = False) -> int:
    if value == "" and allow_empty:
        return 0
    if not _INTEGER_RE.match(value):
        raise RowError(file, number, field, "%r is not an integer" % value[:40])
    return int(value)


def _coordinate(file: str, number: int, field: str, value: str, bound: int) -> float:
    try:
        result = float(value)
    except ValueError:
        raise RowError(file, number, field, "%r is not a number" % value[:40]) from None
    if not math.isfinite(result) or not -bound <= result <= bound:
        raise RowError(file, number, field, "%r is out of range -%d..%d" % (value[:40], bound, bound))
    return result


def _text(file: str, number: int, field: str, value: str, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise RowError(file, number, field, "is empty")
    if _CONTROL_RE.search(value):
        raise RowError(file, number, field, "contains control characters")
    return value


def _name(file: str, number: int, field: str, value: str) -> str:
    """A place name: required, and neither a spreadsheet formula (CSV exports of NetBox open
    in spreadsheets) nor HTML markup; no real GeoNames name starts with = + - @ or has < >."""
    value = _text(file, number, field, value)
    if value[0] in "=+-@":
        raise RowError(file, number, field, "%r starts with %r, like a spreadsheet formula" % (value[:40], value[0]))
    if "<" in value or ">" in value:
        raise RowError(file, number, field, "%r contains < or >, like HTML markup" % value[:40])
    return value


def parse_country_info(path: str) -> Iterator[Country | RowError]:
    """countryInfo.txt: records Country, `#` comment lines and blank lines skipped."""
    file = display_name(path)

    def build(number: int, columns: list[str]) -> Country:
        code, iso3, continent = columns[0], columns[1], columns[8]
        if not _COUNTRY_CODE_RE.match(code):
            raise RowError(file, number, "ISO", "%r is not an ISO 3166-1 alpha-2 code" % code[:40])
        if not _ISO3_RE.match(iso3):
            raise RowError(file, number, "ISO3", "%r is not an ISO 3166-1 alpha-3 code" % iso3[:40])
        if continent not in CONTINENTS:
            raise RowError(file, number, "Continent", "%r is not one of %s" % (continent[:40], " ".join(CONTINENTS)))
        return Country(
            line=number, code=code, iso3=iso3,
            name=_name(file, number, "Country", columns[4]),
            capital=_text(file, number, "Capital", columns[5], required=False),
            population=_integer(file, number, "Population", columns[7], allow_empty=True),
            continent=continent,
            geonameid=_positive_id(file, number, "geonameid", columns[16]),
        )
    return _parse(path, file, COUNTRY_INFO_COLUMNS, "countryInfo", build, comments=True)


def _positive_id(file: str, number: int, field: str, value: str) -> int:
    result = _integer(file, number, field, value)
    if result <= 0:
        raise RowError(file, number, field, "%d is not a positive geonameid" % result)
    return result


def parse_admin_codes(path: str, level: str = "admin1") -> Iterator[AdminCode | RowError]:
    """admin1CodesASCII.txt / admin2Codes.txt: `CODE<TAB>name<TAB>asciiname<TAB>geonameid`."""
    file = display_name(path)
    key_re = _ADMIN1_KEY_RE if level == "admin1" else _ADMIN2_KEY_RE

    def build(number: int, columns: list[str]) -> AdminCode:
        key = columns[0]
        if not key_re.match(key):
            raise RowError(file, number, "code", "%r is not a %s code (%s)"
                           % (key[:40], level, "CC.A1" if level == "admin1" else "CC.A1.A2"))
        return AdminCode(
            line=number, key=key,
            name=_name(file, number, "name", columns[1]),
            asciiname=_text(file, number, "asciiname", columns[2], required=False),
            geonameid=_positive_id(file, number, "geonameid", columns[3]),
        )
    return _parse(path, file, ADMIN_CODES_COLUMNS, os.path.basename(path), build)


def parse_iso3166_2(path: str) -> Iterator[tuple[int, str, str] | RowError]:
    """admin1Iso3166-2.txt (from the bundled source): `CC.CODE<TAB>ISO 3166-2 code` per line;
    yields (line, admin1 key, ISO 3166-2 code) tuples or RowErrors."""
    file = display_name(path)

    def build(number: int, columns: list[str]) -> tuple[int, str, str]:
        if not _ADMIN1_KEY_RE.match(columns[0]):
            raise RowError(file, number, "code", "%r is not an admin1 code (CC.A1)" % columns[0][:40])
        if not _ISO_3166_2_RE.match(columns[1]):
            raise RowError(file, number, "iso_3166_2", "%r is not an ISO 3166-2 code" % columns[1][:40])
        return number, columns[0], columns[1]
    return _parse(path, file, 2, "admin1Iso3166-2", build, comments=True)


def parse_geonames_table(path: str) -> Iterator[Place | RowError]:
    """The 19-column geoname table (citiesN.txt or citiesN.zip): records Place.

    The fast path of the transform: plain string checks, no pydantic, small strings
    interned (country, admin codes, feature code, time zone repeat thousands of times).
    """
    file = geoname_file_name(path)
    intern = sys.intern

    def build(number: int, columns: list[str]) -> Place:
        (geonameid, name, asciiname, _alternate, latitude, longitude, _feature_class, feature_code,
         country_code, _cc2, admin1, admin2, _admin3, _admin4, population, _elevation, _dem,
         time_zone, _modified) = columns
        if not _COUNTRY_CODE_RE.match(country_code):
            raise RowError(file, number, "country code", "%r is not an ISO 3166-1 alpha-2 code" % country_code[:40])
        if not _FEATURE_CODE_RE.match(feature_code):
            raise RowError(file, number, "feature code", "%r is not a feature code" % feature_code[:40])
        if not _ADMIN_CODE_RE.match(admin1):
            raise RowError(file, number, "admin1 code", "%r is not an admin code" % admin1[:40])
        if not _ADMIN_CODE_RE.match(admin2):
            raise RowError(file, number, "admin2 code", "%r is not an admin code" % admin2[:40])
        if time_zone and not _TIME_ZONE_RE.match(time_zone):
            raise RowError(file, number, "timezone", "%r is not a time zone name" % time_zone[:40])
        population_value = _integer(file, number, "population", population, allow_empty=True)
        if population_value < 0:
            raise RowError(file, number, "population", "%d is negative" % population_value)
        return Place(
            number, _positive_id(file, number, "geonameid", geonameid),
            _name(file, number, "name", name), _text(file, number, "asciiname", asciiname, required=False),
            _coordinate(file, number, "latitude", latitude, 90),
            _coordinate(file, number, "longitude", longitude, 180),
            intern(feature_code), intern(country_code), intern(admin1), intern(admin2),
            population_value, intern(time_zone),
        )
    return _parse(path, file, GEONAME_COLUMNS, "geoname", build)


def geoname_file_name(path: str) -> str:
    """The name errors use for the geoname table: cities500.zip!cities500.txt for zips."""
    if not path.endswith(".zip"):
        return display_name(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return display_name(path, _zip_member(path, archive))
    except (zipfile.BadZipFile, OSError):
        return display_name(path)
