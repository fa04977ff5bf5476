# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's inputs: the source files found in ``src``, parsed as streams into
tables, every row validated (a bad row is a RowError: it fails the run, or is skipped
into the reject file), duplicates refused, places filtered."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator, TypeVar

from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._io import AtomicFile
from ansible_collections.geofoss.netbox.plugins.module_utils._progress import counted
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import catalog, geonames
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.cache import MANIFEST_NAME
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import (
    AdminCode, Country, Place, RowError,
)

DEFAULT_EXCLUDED_FEATURE_CODES = ("PPLX", "PPLH", "PPLQ", "PPLW")  # sections, historical, abandoned, destroyed
CAPITAL_FEATURE_CODES = ("PPLC", "PPLA", "PPLA2", "PPLA3", "PPLA4")

Record = TypeVar("Record", Country, AdminCode, Place)


class TransformError(GeoFossError):
    """The transform cannot produce a dataset; ``errors`` lists the first problems (dicts),
    ``total`` counts them all; both are in the partial result (errors, error_count)."""

    def __init__(self, message: str, errors: list[dict] | None = None, total: int = 0) -> None:
        self.errors = errors or []
        self.total = total
        super().__init__(message, result={"errors": self.errors, "error_count": total})


class SourceFiles:
    """The files found in geo_fetch's cache folder."""

    def __init__(self, src: str, city_source: str | None = None, enrich: str = "auto") -> None:
        if not os.path.isdir(src):
            raise TransformError("src %s is not a folder" % src)
        self.src = src
        names = set(os.listdir(src))

        def path_of(name: str) -> str | None:
            return os.path.join(src, name) if name in names else None

        self.country_info = path_of(catalog.COUNTRY_INFO)
        self.admin1 = path_of(catalog.ADMIN1_CODES)
        self.admin2 = path_of(catalog.ADMIN2_CODES)
        self.admin1_iso = path_of(catalog.ADMIN1_ISO)
        self.manifest = path_of(MANIFEST_NAME)
        self.cities: dict[int, str] = {}  # threshold -> path (a .txt beats a .zip of the same threshold)
        for name in sorted(names):
            match = catalog.CITIES_FILE_RE.match(name)
            if match and (int(match.group(1)) not in self.cities or name.endswith(".txt")):
                self.cities[int(match.group(1))] = os.path.join(src, name)
        self.city_source = city_source
        self.ne_admin1: str | None = None
        self.ne_admin0: str | None = None
        if enrich != "none":
            self.ne_admin1 = self._natural_earth(names, catalog.ADMIN1_LAYER)
            self.ne_admin0 = self._natural_earth(names, catalog.ADMIN0_LAYER)

    def _natural_earth(self, names: set[str], layer: str) -> str | None:
        for scale in catalog.NATURAL_EARTH_SCALES:  # the finest first
            for extension in catalog.NATURAL_EARTH_FORMATS:
                name = catalog.natural_earth_name(scale, layer, extension)
                if name in names:
                    return os.path.join(self.src, name)
        return None

    def cities_file(self, min_population: int, warnings: list[str]) -> str:
        """city_source if given, else the smallest file still holding every city >= min_population."""
        if self.city_source:
            wanted = self.city_source
            for path in self.cities.values():
                base = os.path.basename(path)
                if wanted in (base, os.path.splitext(base)[0]):
                    return path
            raise TransformError("city_source %s: no such cities file in %s (found: %s)"
                                 % (wanted, self.src, ", ".join(os.path.basename(p) for p in self.cities.values()) or "none"))
        if not self.cities:
            raise TransformError("levels include city but %s holds no citiesN.txt or citiesN.zip" % self.src)
        complete = [t for t in self.cities if t <= min_population]
        if complete:
            return self.cities[max(complete)]
        smallest = min(self.cities)
        warnings.append("city_min_population %d is below the smallest cities file's threshold: %s lists only "
                        "places with more than %d inhabitants" % (min_population, os.path.basename(self.cities[smallest]), smallest))
        return self.cities[smallest]


class RejectLog:
    """Row errors: counted, the first ones listed, all of them in the reject file when skipping."""

    def __init__(self, on_invalid: str, reject_file: str | None, max_listed: int, mode: int) -> None:
        self.on_invalid = on_invalid
        self.max_listed = max_listed
        self.listed: list[dict] = []
        self.total = 0
        self.reject_file = reject_file
        self._rejects = AtomicFile(reject_file, mode=mode) if on_invalid == "skip" and reject_file else None

    def add(self, error: RowError) -> None:
        self.total += 1
        if len(self.listed) < self.max_listed:
            self.listed.append(error.as_dict())
        if self._rejects is not None:
            self._rejects.write((json.dumps(error.as_dict(), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))

    def finish(self, commit: bool) -> None:
        """Publish or discard the reject file."""
        if self._rejects is not None:
            if commit:
                self._rejects.commit()
            else:
                self._rejects.discard()
            self._rejects = None

    def raise_if_failing(self) -> None:
        if self.total and self.on_invalid == "fail":
            self.finish(commit=False)
            first = "; ".join("%s:%s: %s%s" % (e["file"], e["line"], "%s: " % e["field"] if e["field"] else "", e["reason"])
                              for e in self.listed)
            raise TransformError("%d invalid row%s in the source files, no dataset written (on_invalid=fail): %s%s"
                                 % (self.total, "" if self.total == 1 else "s", first,
                                    " ..." if self.total > len(self.listed) else ""),
                                 errors=self.listed, total=self.total)


class Inputs:
    """The parsed tables: countries by code, divisions by GeoNames code, the kept places;
    and what was read (``used_files``, for the provenance)."""

    def __init__(self, files: SourceFiles, problems: RejectLog, warnings: list[str], countries: list[str],
                 city_min_population: int, feature_codes: set[str], exclude_feature_codes: set[str],
                 keep_capitals: bool) -> None:
        self.files = files
        self.problems = problems
        self.warnings = warnings
        self.countries = countries
        self.city_min_population = city_min_population
        self.feature_codes = feature_codes
        self.exclude_feature_codes = exclude_feature_codes
        self.keep_capitals = keep_capitals
        self.used_files: list[tuple[str, str]] = []  # (path, source) for provenance
        self.seen_ids: dict[int, int] = {}  # geonameid -> line << 8 | index in seen_files, of its first row
        self.seen_files: list[str] = []
        self.countries_by_code: dict[str, Country] = {}
        self.admin1_by_key: dict[str, AdminCode] = {}
        self.admin2_by_key: dict[str, AdminCode] = {}
        self.cities_path: str | None = None
        self.left_out: set[str] = set()  # countries that no longer exist (include_historic: false)

    def _rows(self, records: Iterable[Record | RowError], what: str) -> Iterator[Record]:
        """The valid records; RowErrors and duplicate geonameids go to the problems."""
        self.seen_files.append(what)
        file_number = len(self.seen_files) - 1
        for record in records:
            if isinstance(record, RowError):
                self.problems.add(record)
                continue
            geonameid = getattr(record, "geonameid", None)
            if geonameid is not None:
                first = self.seen_ids.get(geonameid)
                if first is not None:
                    self.problems.add(RowError(what, record.line, "geonameid", "duplicate geonameid %d (first seen at %s:%d)"
                                               % (geonameid, self.seen_files[first & 0xFF], first >> 8)))
                    continue
                # one small int per id (line << 8 | file number): hundreds of thousands of them
                self.seen_ids[geonameid] = record.line << 8 | file_number
            yield record

    def wanted(self, country_code: str) -> bool:
        return country_code not in self.left_out and (not self.countries or country_code in self.countries)

    def leave_out_historic(self, current: dict[str, str]) -> list[str]:
        """Leave out the countries of countryInfo that are not ``current`` (AN, CS), with
        their divisions and cities; returns their codes. Call after parse_countries."""
        self.left_out = {code for code in self.countries_by_code if code not in current}
        asked = sorted(self.left_out & set(self.countries))
        if asked:
            self.warnings.append("countries %s no longer exist and are left out; include_historic: true keeps them"
                                 % ", ".join(asked))
        return sorted(self.left_out)

    def country_name(self, code: str) -> str:
        country = self.countries_by_code.get(code)
        return country.name if country else code

    def _need(self, path: str | None, name: str, why: str) -> str:
        if path is None:
            raise TransformError("%s is missing from %s (needed for %s)" % (name, self.files.src, why))
        self.used_files.append((path, "geonames"))
        return path

    def parse_countries(self) -> None:
        path = self._need(self.files.country_info, catalog.COUNTRY_INFO, "every level")
        for country in self._rows(geonames.parse_country_info(path), catalog.COUNTRY_INFO):
            if country.code in self.countries_by_code:
                self.problems.add(RowError(catalog.COUNTRY_INFO, country.line, "ISO", "duplicate country code %s (first at line %d)"
                                           % (country.code, self.countries_by_code[country.code].line)))
                continue
            self.countries_by_code[country.code] = country
        missing = [c for c in self.countries if c not in self.countries_by_code]
        if missing:
            self.warnings.append("countries not in %s: %s" % (catalog.COUNTRY_INFO, ", ".join(missing)))

    def parse_admin(self, level: str) -> None:
        if level == "admin1":
            path = self._need(self.files.admin1, catalog.ADMIN1_CODES, "the admin1 level")
        else:
            path = self._need(self.files.admin2, catalog.ADMIN2_CODES, "the admin2 level")
        table = self.admin1_by_key if level == "admin1" else self.admin2_by_key
        name = os.path.basename(path)
        for record in self._rows(geonames.parse_admin_codes(path, level), name):
            if not self.wanted(record.key[:2]):
                continue
            if record.key in table:
                self.problems.add(RowError(name, record.line, "code", "duplicate code %s (first at line %d)"
                                           % (record.key, table[record.key].line)))
                continue
            table[record.key] = record

    def parse_iso3166_2(self) -> dict[str, str]:
        """admin1 code -> ISO 3166-2 code, from the bundled source's side table (if any)."""
        if not self.files.admin1_iso:
            return {}
        self.used_files.append((self.files.admin1_iso, "geonames"))
        mapping = {}
        for item in geonames.parse_iso3166_2(self.files.admin1_iso):
            if isinstance(item, RowError):
                self.problems.add(item)
            else:
                mapping[item[1]] = item[2]
        return mapping

    def _keep_place(self, place: Place) -> bool:
        if not self.wanted(place.country_code):
            return False
        if self.feature_codes and place.feature_code not in self.feature_codes:
            return False
        if place.feature_code in self.exclude_feature_codes:
            return False
        if place.population >= self.city_min_population:
            return True
        return self.keep_capitals and place.feature_code in CAPITAL_FEATURE_CODES

    def parse_cities(self, progress: Any = None) -> list[Place]:
        """The cities to keep; `progress` (a Progress) counts the rows read."""
        path = self.cities_path = self.files.cities_file(self.city_min_population, self.warnings)
        self.used_files.append((path, "geonames"))
        name = geonames.geoname_file_name(path)
        rows = geonames.parse_geonames_table(path)
        if progress is not None:
            rows = counted(rows, progress)
        return [p for p in self._rows(rows, name) if self._keep_place(p)]
