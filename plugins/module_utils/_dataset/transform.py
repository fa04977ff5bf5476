# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's engine: GeoNames (+ Natural Earth) files -> one validated dataset file.

Steps: find the source files in ``src``; parse them as streams, every row validated (a bad
row is a RowError: fail, or skip into the reject file); filter; attach each place to its
parent (orphans attached to the nearest known ancestor and reported); give siblings
unique NetBox-safe names and slugs; enrich from Natural Earth; write the dataset
(sorted, atomic, unchanged file left alone) and the polygons side files.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.geofoss.netbox.plugins.module_utils._contract import (
    ADMIN0_POLYGONS, ADMIN1_POLYGONS, POLYGONS_SUFFIXES,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import catalog, geonames, natural_earth
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.cache import MANIFEST_NAME
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    ATTRIBUTE_KEYS, LEVEL_INDEX, LEVELS, DatasetError, DatasetHeader, write_dataset_file,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._io import AtomicFile, file_mode, sha256_file
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import CONTINENTS, RowError, SourceError
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    clean_description, clean_name, format_population, make_slug, slug_candidates, slugify, unique_names_and_slugs,
)

DEFAULT_LEVELS = ("country", "admin1")
DEFAULT_EXCLUDED_FEATURE_CODES = ("PPLX", "PPLH", "PPLQ", "PPLW")  # sections, historical, abandoned, destroyed
CAPITAL_FEATURE_CODES = ("PPLC", "PPLA", "PPLA2", "PPLA3", "PPLA4")
ORPHAN_SAMPLE_SIZE = 20
POLYGON_KINDS = (("admin1", ADMIN1_POLYGONS), ("admin0", ADMIN0_POLYGONS))  # result key, side-file kind


class TransformError(GeoFossError):
    """The transform cannot produce a dataset; ``errors`` lists the first problems (dicts),
    ``total`` counts them all; both are in the partial result (errors, error_count)."""

    def __init__(self, message, errors=None, total=0):
        self.errors = errors or []
        self.total = total
        super().__init__(message, result={"errors": self.errors, "error_count": total})


class _Entry:
    """One future node, light enough for hundreds of thousands of cities."""
    __slots__ = ("level", "geonameid", "country_code", "name", "slug", "parent", "qualifier", "rank",
                 "source", "extra")

    def __init__(self, level, geonameid, country_code, name, slug, parent, qualifier, rank, source, extra=None):
        self.level = level
        self.geonameid = geonameid
        self.country_code = country_code
        self.name = name
        self.slug = slug
        self.parent = parent          # parent's geo_source_id or None
        self.qualifier = qualifier    # tells equal sibling names apart
        self.rank = rank              # (level index, -population): the best keeps the plain name
        self.source = source          # the parsed record (Country, AdminCode, Place)
        self.extra = extra or {}      # enrichment: iso_3166_2, wikidata_id

    @property
    def geo_source_id(self):
        return "geonames:%d" % self.geonameid


def _source_id(geonameid):
    return "geonames:%d" % geonameid


class SourceFiles:
    """The files found in geo_fetch's cache folder."""

    def __init__(self, src, city_source=None, enrich="auto"):
        if not os.path.isdir(src):
            raise TransformError("src %s is not a folder" % src)
        self.src = src
        names = set(os.listdir(src))

        def path_of(name):
            return os.path.join(src, name) if name in names else None

        self.country_info = path_of(catalog.COUNTRY_INFO)
        self.admin1 = path_of(catalog.ADMIN1_CODES)
        self.admin2 = path_of(catalog.ADMIN2_CODES)
        self.admin1_iso = path_of(catalog.ADMIN1_ISO)
        self.manifest = path_of(MANIFEST_NAME)
        self.cities = {}  # threshold -> path (a .txt beats a .zip of the same threshold)
        for name in sorted(names):
            match = catalog.CITIES_FILE_RE.match(name)
            if match and (int(match.group(1)) not in self.cities or name.endswith(".txt")):
                self.cities[int(match.group(1))] = os.path.join(src, name)
        self.city_source = city_source
        self.ne_admin1 = self.ne_admin0 = None
        if enrich != "none":
            self.ne_admin1 = self._natural_earth(names, catalog.ADMIN1_LAYER)
            self.ne_admin0 = self._natural_earth(names, catalog.ADMIN0_LAYER)

    def _natural_earth(self, names, layer):
        for scale in catalog.NATURAL_EARTH_SCALES:  # the finest first
            for extension in catalog.NATURAL_EARTH_FORMATS:
                name = catalog.natural_earth_name(scale, layer, extension)
                if name in names:
                    return os.path.join(self.src, name)
        return None

    def cities_file(self, min_population, warnings):
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


class _Problems:
    """Row errors: counted, the first ones listed, all of them in the reject file when skipping."""

    def __init__(self, on_invalid, reject_file, max_listed, mode):
        self.on_invalid = on_invalid
        self.max_listed = max_listed
        self.listed = []
        self.total = 0
        self.reject_file = reject_file
        self._rejects = AtomicFile(reject_file, mode=mode) if on_invalid == "skip" and reject_file else None

    def add(self, error):
        self.total += 1
        if len(self.listed) < self.max_listed:
            self.listed.append(error.as_dict())
        if self._rejects is not None:
            self._rejects.write((json.dumps(error.as_dict(), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))

    def finish(self, commit):
        """Publish or discard the reject file."""
        if self._rejects is not None:
            if commit:
                self._rejects.commit()
            else:
                self._rejects.discard()
            self._rejects = None

    def raise_if_failing(self):
        if self.total and self.on_invalid == "fail":
            self.finish(commit=False)
            first = "; ".join("%s:%s: %s%s" % (e["file"], e["line"], "%s: " % e["field"] if e["field"] else "", e["reason"])
                              for e in self.listed)
            raise TransformError("%d invalid row%s in the source files, no dataset written (on_invalid=fail): %s%s"
                                 % (self.total, "" if self.total == 1 else "s", first,
                                    " ..." if self.total > len(self.listed) else ""),
                                 errors=self.listed, total=self.total)


class _Orphans:
    def __init__(self):
        self.counts = {}
        self.sample = []

    def add(self, kind, record, attached_to):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.sample) < ORPHAN_SAMPLE_SIZE:
            self.sample.append({"kind": kind, "geo_source_id": _source_id(record.geonameid), "name": record.name,
                                "line": record.line, "attached_to": attached_to})

    def summary(self):
        return {"total": sum(self.counts.values()), "counts": dict(sorted(self.counts.items())), "sample": self.sample}


class Transform:
    def __init__(self, src, dest, countries=(), levels=DEFAULT_LEVELS, city_min_population=15000,
                 city_source=None, feature_codes=(), exclude_feature_codes=DEFAULT_EXCLUDED_FEATURE_CODES,
                 keep_capitals=False, enrich="auto", on_invalid="fail", reject_file=None, max_errors_listed=20,
                 check_mode=False, mode=None):
        unknown = [level for level in levels if level not in LEVEL_INDEX]
        if unknown:
            raise TransformError("levels: unknown level(s) %s; choose from %s" % (", ".join(unknown), ", ".join(LEVELS)))
        if not levels:
            raise TransformError("levels: at least one level is needed")
        bad_codes = [c for c in countries if not re.match(r"[A-Za-z]{2}\Z", c or "")]
        if bad_codes:
            raise TransformError("countries: %s not ISO 3166-1 alpha-2 code(s)" % ", ".join(repr(c) for c in bad_codes))
        if enrich not in ("auto", "natural_earth", "none"):
            raise TransformError("enrich: %r is not one of auto, natural_earth, none" % enrich)
        if on_invalid not in ("fail", "skip"):
            raise TransformError("on_invalid: %r is not one of fail, skip" % on_invalid)
        if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
            raise TransformError("dest folder %s does not exist" % os.path.dirname(os.path.abspath(dest)))
        try:
            self.mode = file_mode(mode)
        except ValueError as exc:
            raise TransformError(str(exc)) from None
        self.dest = dest
        self.countries = sorted({c.upper() for c in countries})
        self.levels = sorted(set(levels), key=LEVEL_INDEX.get)
        self.city_min_population = int(city_min_population)
        self.feature_codes = {c.upper() for c in feature_codes}
        self.exclude_feature_codes = {c.upper() for c in exclude_feature_codes}
        self.keep_capitals = keep_capitals
        self.enrich = enrich
        self.check_mode = check_mode
        self.files = SourceFiles(src, city_source, enrich)
        if enrich == "natural_earth" and not self.files.ne_admin1 and not self.files.ne_admin0:
            raise TransformError("enrich=natural_earth but %s holds no %s or %s (%s)" % (
                src, catalog.natural_earth_name("*", catalog.ADMIN1_LAYER, ""),
                catalog.natural_earth_name("*", catalog.ADMIN0_LAYER, ""), "/".join(catalog.NATURAL_EARTH_FORMATS)))
        self.problems = _Problems(on_invalid, None if check_mode else reject_file, max(0, int(max_errors_listed)),
                                  self.mode)
        self.orphans = _Orphans()
        self.warnings = []
        self.used_files = []       # (path, source) for provenance
        self.seen_ids = {}         # geonameid -> line << 8 | index in seen_files, of its first row
        self.seen_files = []
        self.countries_by_code = {}
        self.admin1_by_key = {}
        self.admin2_by_key = {}
        self.entries = []
        self.enrichment = {}
        self.cities_path = None

    # -- parsing -------------------------------------------------------------------------
    def _rows(self, records, what):
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

    def _wanted(self, country_code):
        return not self.countries or country_code in self.countries

    def _need(self, path, name, why):
        if path is None:
            raise TransformError("%s is missing from %s (needed for %s)" % (name, self.files.src, why))
        self.used_files.append((path, "geonames"))
        return path

    def parse_countries(self):
        path = self._need(self.files.country_info, catalog.COUNTRY_INFO, "every level")
        for country in self._rows(geonames.parse_country_info(path), catalog.COUNTRY_INFO):
            if country.code in self.countries_by_code:
                self.problems.add(RowError(catalog.COUNTRY_INFO, country.line, "ISO", "duplicate country code %s (first at line %d)"
                                           % (country.code, self.countries_by_code[country.code].line)))
                continue
            self.countries_by_code[country.code] = country
        missing = [c for c in self.countries if c not in self.countries_by_code]
        if missing:
            self.warnings.append("countries not in countryInfo.txt: %s" % ", ".join(missing))

    def parse_admin(self, level):
        if level == "admin1":
            path = self._need(self.files.admin1, catalog.ADMIN1_CODES, "the admin1 level")
        else:
            path = self._need(self.files.admin2, catalog.ADMIN2_CODES, "the admin2 level")
        table = self.admin1_by_key if level == "admin1" else self.admin2_by_key
        name = os.path.basename(path)
        for record in self._rows(geonames.parse_admin_codes(path, level), name):
            if not self._wanted(record.key[:2]):
                continue
            if record.key in table:
                self.problems.add(RowError(name, record.line, "code", "duplicate code %s (first at line %d)"
                                           % (record.key, table[record.key].line)))
                continue
            table[record.key] = record

    def parse_iso3166_2(self):
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

    def _keep_place(self, place):
        if not self._wanted(place.country_code):
            return False
        if self.feature_codes and place.feature_code not in self.feature_codes:
            return False
        if place.feature_code in self.exclude_feature_codes:
            return False
        if place.population >= self.city_min_population:
            return True
        return self.keep_capitals and place.feature_code in CAPITAL_FEATURE_CODES

    def parse_cities(self):
        path = self.cities_path = self.files.cities_file(self.city_min_population, self.warnings)
        self.used_files.append((path, "geonames"))
        name = geonames.geoname_file_name(path)
        return [p for p in self._rows(geonames.parse_geonames_table(path), name) if self._keep_place(p)]

    # -- the tree ------------------------------------------------------------------------
    @staticmethod
    def _slug(prefix, record):
        """<prefix>-slugify(asciiname), else of the name, else <prefix>-<geonameid>."""
        body = slugify(getattr(record, "asciiname", "") or "") or slugify(record.name)
        return make_slug(prefix, body) if body else make_slug(prefix, suffix=str(record.geonameid))

    def build(self, cities):
        levels = set(self.levels)
        wanted_countries = [c for c in sorted(self.countries_by_code) if self._wanted(c)]
        if "continent" in levels:
            used = {self.countries_by_code[c].continent for c in wanted_countries}
            for code, (geonameid, name) in CONTINENTS.items():
                if code in used or not self.countries:
                    self.entries.append(_Entry("continent", geonameid, None, name, slugify(name), None, None,
                                               (0, 0), code))
        country_parent = {}
        for code in wanted_countries:
            country = self.countries_by_code[code]
            continent_id = _source_id(CONTINENTS[country.continent][0]) if "continent" in levels else None
            if "country" in levels:
                self.entries.append(_Entry(
                    "country", country.geonameid, code, clean_name(country.name),
                    make_slug(country.name) or make_slug(suffix=code), continent_id,
                    CONTINENTS[country.continent][1], (1, -country.population), country))
                country_parent[code] = _source_id(country.geonameid)
            else:
                country_parent[code] = continent_id
        admin1_parent = {}
        for key, record in sorted(self.admin1_by_key.items()):
            code = key[:2]
            parent = country_parent.get(code)
            if code not in self.countries_by_code and "admin1" in levels:
                self.orphans.add("admin1_unknown_country", record, parent)
            if "admin1" in levels:
                self.entries.append(_Entry(
                    "admin1", record.geonameid, code, clean_name(record.name), self._slug(code.lower(), record), parent,
                    self._country_name(code) if parent is None or "country" not in levels else None, (2, 0), record))
                admin1_parent[key] = _source_id(record.geonameid)
            else:
                admin1_parent[key] = parent
        admin2_parent = {}
        for key, record in sorted(self.admin2_by_key.items()):
            code, admin1_key = key[:2], key.rsplit(".", 1)[0]
            if admin1_key in admin1_parent:
                parent = admin1_parent[admin1_key]
            else:
                parent = country_parent.get(code)
                self.orphans.add("admin2_unknown_admin1", record, parent)
            if "admin2" in levels:
                qualifier = self.admin1_by_key[admin1_key].name if admin1_key in self.admin1_by_key and "admin1" not in levels else None
                self.entries.append(_Entry("admin2", record.geonameid, code, clean_name(record.name),
                                           self._slug(code.lower(), record), parent, qualifier, (3, 0), record))
                admin2_parent[key] = _source_id(record.geonameid)
            else:
                admin2_parent[key] = parent
        if "city" in levels:
            self._build_cities(cities, country_parent, admin1_parent, admin2_parent)

    def _country_name(self, code):
        country = self.countries_by_code.get(code)
        return country.name if country else code

    def _build_cities(self, cities, country_parent, admin1_parent, admin2_parent):
        has_admin1 = "admin1" in self.levels
        has_admin2 = "admin2" in self.levels
        for place in cities:
            code = place.country_code
            admin1_key = "%s.%s" % (code, place.admin1)
            admin2_key = "%s.%s" % (admin1_key, place.admin2)
            if code not in self.countries_by_code:
                parent = None
                self.orphans.add("city_unknown_country", place, None)
            elif has_admin2 and place.admin2 and admin2_key in admin2_parent:
                parent = admin2_parent[admin2_key]
            elif admin1_key in admin1_parent:
                parent = admin1_parent[admin1_key]
                if has_admin2 and place.admin2:
                    self.orphans.add("city_unknown_admin2", place, parent)
            else:
                parent = country_parent.get(code)
                if has_admin1:
                    self.orphans.add("city_unknown_admin1", place, parent)
            admin1 = self.admin1_by_key.get(admin1_key)
            admin2 = self.admin2_by_key.get(admin2_key)
            if admin2 is not None and not has_admin2:
                qualifier = admin2.name
            elif admin1 is not None and (not has_admin1 or parent != _source_id(admin1.geonameid)):
                qualifier = admin1.name
            else:
                qualifier = None
            self.entries.append(_Entry("city", place.geonameid, code, clean_name(place.name),
                                       self._slug(code.lower(), place), parent, qualifier,
                                       (4, -place.population), place))

    def disambiguate(self):
        """Unique names and slugs among the children of each parent (all levels together:
        an orphan city sits beside the admin1 regions of its country)."""
        groups = {}
        for entry in self.entries:
            groups.setdefault(entry.parent, []).append(entry)
        renamed = 0
        for siblings in groups.values():
            if len(siblings) < 2:
                continue
            names = set()
            slugs = set()
            clash = False
            for entry in siblings:
                if entry.name in names or entry.slug in slugs:
                    clash = True
                    break
                names.add(entry.name)
                slugs.add(entry.slug)
            if not clash:
                continue
            chosen = unique_names_and_slugs([
                {"id": str(e.geonameid), "name": e.name, "slug": e.slug, "qualifier": e.qualifier,
                 "slug_prefix": (e.country_code or "").lower() if e.level not in ("continent", "country") else "",
                 "rank": e.rank}
                for e in siblings])
            for entry in siblings:
                name, slug = chosen[str(entry.geonameid)]
                if (name, slug) != (entry.name, entry.slug):
                    renamed += 1
                entry.name, entry.slug = name, slug
        return renamed + self.unique_slugs_across_tree()

    def unique_slugs_across_tree(self):
        """NetBox needs slugs unique among siblings only, but filters such as
        ``?region=<slug>`` and netbox.netbox's region lookups match a slug anywhere in the
        tree: a city that shares its division's slug (at-vienna) gets its geonameid added.
        The higher level, then the better rank, keeps the plain slug."""
        taken = set()
        renamed = 0
        for entry in sorted(self.entries, key=lambda e: (LEVEL_INDEX[e.level], e.rank, e.geonameid)):
            if entry.slug in taken:
                prefix = (entry.country_code or "").lower() if entry.level not in ("continent", "country") else ""
                entry.slug = next(candidate for candidate in slug_candidates(
                    {"id": str(entry.geonameid), "slug": entry.slug, "slug_prefix": prefix}) if candidate not in taken)
                renamed += 1
            taken.add(entry.slug)
        return renamed

    # -- enrichment ----------------------------------------------------------------------
    def enrich_from_natural_earth(self, iso_by_admin1_key):
        """ISO 3166-2 and Wikidata ids onto admin1/country entries; returns polygon features."""
        admin1_entries = {e.source.key: e for e in self.entries if e.level == "admin1"}
        for key, entry in admin1_entries.items():
            if key in iso_by_admin1_key:
                entry.extra["iso_3166_2"] = iso_by_admin1_key[key]
        polygons = {"admin1": [], "admin0": []}
        if self.files.ne_admin1 and admin1_entries:
            by_id = {e.geonameid: e for e in admin1_entries.values()}
            matched = unmatched = 0
            self.used_files.append((self.files.ne_admin1, "natural_earth"))
            for feature in natural_earth.read_admin1(self.files.ne_admin1):
                entry = admin1_entries.get(feature.gn_a1_code) or by_id.get(feature.gn_id)
                if entry is None:
                    unmatched += 1 if self._wanted(feature.country_code or "") else 0
                    continue
                matched += 1
                for key in ("iso_3166_2", "wikidata_id", "latitude", "longitude"):
                    if getattr(feature, key) is not None:
                        entry.extra[key] = getattr(feature, key)
                polygons["admin1"].append(({
                    "geo_source_id": entry.geo_source_id, "name": entry.name,
                    "country_code": entry.country_code, "iso_3166_2": entry.extra.get("iso_3166_2"),
                    "ne_adm1_code": feature.adm1_code}, feature.geometry))
            self.enrichment["admin1"] = {"file": os.path.basename(self.files.ne_admin1),
                                         "matched": matched, "unmatched": unmatched}
        country_entries = {e.country_code: e for e in self.entries if e.level == "country"}
        if self.files.ne_admin0 and country_entries:
            matched = unmatched = 0
            self.used_files.append((self.files.ne_admin0, "natural_earth"))
            by_iso3 = {e.source.iso3: e for e in country_entries.values()}
            for feature in natural_earth.read_admin0(self.files.ne_admin0):
                entry = country_entries.get(feature.iso_a2) or next(
                    (by_iso3[code] for code in feature.iso_a3 if code in by_iso3), None)
                if entry is None:
                    unmatched += 1 if not self.countries else 0
                    continue
                matched += 1
                if feature.wikidata_id:
                    entry.extra["wikidata_id"] = feature.wikidata_id
                polygons["admin0"].append(({
                    "geo_source_id": entry.geo_source_id, "name": entry.name,
                    "country_code": entry.country_code}, feature.geometry))
            self.enrichment["admin0"] = {"file": os.path.basename(self.files.ne_admin0),
                                         "matched": matched, "unmatched": unmatched}
        return polygons

    # -- nodes ---------------------------------------------------------------------------
    def _attributes(self, entry):
        attributes = dict.fromkeys(ATTRIBUTE_KEYS)
        source = entry.source
        attributes["country_code"] = entry.country_code
        if entry.level == "continent":
            attributes.update(geonames_code=source, feature_code="CONT", continent=source)
        elif entry.level == "country":
            attributes.update(iso_3166_1_alpha3=source.iso3, geonames_code=source.code, population=source.population,
                              feature_code="PCLI", continent=source.continent)
        else:
            country = self.countries_by_code.get(entry.country_code)
            attributes["continent"] = country.continent if country else None
            if entry.level in ("admin1", "admin2"):
                attributes.update(geonames_code=source.key, feature_code="ADM1" if entry.level == "admin1" else "ADM2")
            else:
                attributes.update(population=source.population, latitude=source.latitude, longitude=source.longitude,
                                  time_zone=source.time_zone or None, feature_code=source.feature_code)
        attributes.update(entry.extra)
        return attributes

    def _description(self, entry, attributes):
        source = entry.source
        if entry.level == "continent":
            text = "Continent %s \u00b7 GeoNames %d" % (source, entry.geonameid)
        elif entry.level == "country":
            text = "Country %s \u00b7 GeoNames %d" % (entry.country_code, entry.geonameid)
        elif entry.level == "admin1":
            code = attributes["iso_3166_2"] or source.key
            text = "First-level division %s of %s" % (code, self._country_name(entry.country_code))
        elif entry.level == "admin2":
            admin1 = self.admin1_by_key.get(source.key.rsplit(".", 1)[0])
            text = "Second-level division %s of %s" % (
                source.key, ", ".join(n for n in (admin1.name if admin1 else None, self._country_name(entry.country_code)) if n))
        else:
            admin1 = self.admin1_by_key.get("%s.%s" % (entry.country_code, source.admin1))
            where = ", ".join(n for n in (admin1.name if admin1 else None, self._country_name(entry.country_code)) if n)
            text = "%s in %s" % ("Capital" if source.feature_code == "PPLC" else "City", where)
            if source.population:
                text += " \u00b7 pop. %s" % format_population(source.population)
        return clean_description(text)

    def node_dicts(self):
        """The nodes in file order, built one at a time (the cities never all exist as dicts)."""
        self.entries.sort(key=lambda e: (LEVEL_INDEX[e.level], e.country_code or "", e.geo_source_id))
        for entry in self.entries:
            attributes = self._attributes(entry)
            # validated by write_dataset, like every node it writes
            yield {"geo_source_id": entry.geo_source_id, "level": entry.level, "name": entry.name,
                   "slug": entry.slug, "parent": entry.parent,
                   "description": self._description(entry, attributes), "attributes": attributes}

    # -- provenance and run --------------------------------------------------------------
    def provenance(self):
        manifest = {}
        if self.files.manifest:
            try:
                with open(self.files.manifest, encoding="utf-8") as handle:
                    data = json.load(handle)
                items = data.get("files", []) if isinstance(data, dict) else data
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and item.get("path"):
                        manifest[os.path.basename(item["path"])] = item
            except (OSError, ValueError, AttributeError) as exc:
                self.warnings.append("manifest.json ignored: %s" % exc)
        entries = []
        for path, source in sorted(set(self.used_files)):
            name = os.path.basename(path)
            sha256 = sha256_file(path)
            item = manifest.get(name, {})
            if item.get("sha256") and item["sha256"] != sha256:
                self.warnings.append("%s changed since geo_fetch recorded it in manifest.json" % name)
            licence, attribution = catalog.LICENCES[source]
            entry = {"file": name, "sha256": sha256, "source": source,
                     "licence": item.get("licence") or licence, "attribution": item.get("attribution") or attribution}
            if item.get("url"):
                entry["url"] = item["url"]
            entries.append(entry)
        return entries

    def run(self):
        try:
            return self._run()
        except BaseException:
            self.problems.finish(commit=False)
            raise

    def _run(self):
        self.parse_countries()
        levels = set(self.levels)
        if levels & {"admin1", "admin2", "city"} and (self.files.admin1 or "admin1" in levels or "admin2" in levels):
            self.parse_admin("admin1")
        if "admin2" in levels:
            self.parse_admin("admin2")
        iso_by_admin1_key = self.parse_iso3166_2() if "admin1" in levels else {}
        cities = self.parse_cities() if "city" in levels else []
        self.problems.raise_if_failing()
        self.build(cities)
        del cities
        renamed = self.disambiguate()
        polygons = self.enrich_from_natural_earth(iso_by_admin1_key)  # no Natural Earth files with enrich=none
        side_files = {}
        for kind, side_file in POLYGON_KINDS:
            if polygons[kind]:
                side_files[side_file] = os.path.basename(self.dest) + POLYGONS_SUFFIXES[side_file]
        header = DatasetHeader(
            levels=self.levels, provenance=self.provenance(), side_files=side_files,
            filters={"countries": self.countries, "city_min_population": self.city_min_population,
                     "city_source": os.path.basename(self.cities_path) if self.cities_path else None,
                     "feature_codes": sorted(self.feature_codes),
                     "exclude_feature_codes": sorted(self.exclude_feature_codes),
                     "keep_capitals": self.keep_capitals, "enrich": self.enrich,
                     "rejected_rows": self.problems.total})
        written = write_dataset_file(self.dest, header, self.node_dicts(), presorted=True, dry_run=self.check_mode,
                                     mode=self.mode)
        sha256, changed = written.sha256, written.changed
        polygon_files = {}
        for kind, side_file in POLYGON_KINDS:
            if polygons[kind]:
                path = self.dest + POLYGONS_SUFFIXES[side_file]
                changed |= natural_earth.write_polygons(path, polygons[kind], dry_run=self.check_mode,
                                                        mode=self.mode)["changed"]
                polygon_files[kind] = path
        self.problems.finish(commit=True)
        counts, counts_by_country = {}, {}
        for entry in self.entries:
            counts[entry.level] = counts.get(entry.level, 0) + 1
            if entry.country_code:
                by_level = counts_by_country.setdefault(entry.country_code, {})
                by_level[entry.level] = by_level.get(entry.level, 0) + 1
        if renamed:
            self.warnings.append("%d sibling name or slug clash(es) resolved by qualifying names and slugs" % renamed)
        return {
            "changed": changed, "dest": self.dest, "sha256": sha256,
            "counts": {level: counts.get(level, 0) for level in self.levels},
            "counts_by_country": dict(sorted(counts_by_country.items())),
            "orphans": self.orphans.summary(),
            "rejects": self.problems.total, "reject_file": self.problems.reject_file if self.problems.total else None,
            "errors": self.problems.listed,
            "warnings": self.warnings, "renamed": renamed,
            "polygons": polygon_files.get("admin1"), "polygon_files": polygon_files,
            "enrichment": self.enrichment,
        }


def run_transform(**options) -> dict:
    """Run geo_transform; raises TransformError, SourceError or DatasetError (GeoFossErrors)
    with a clear message and, in the partial result, the invalid rows listed (``errors``)."""
    try:
        return Transform(**options).run()
    except GeoFossError as exc:
        exc.result.setdefault("errors", [])
        raise


__all__ = ["run_transform", "Transform", "TransformError", "SourceError", "DatasetError",
           "DEFAULT_EXCLUDED_FEATURE_CODES", "CAPITAL_FEATURE_CODES", "DEFAULT_LEVELS"]
