# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's tree: each parsed place becomes an entry attached to its parent (an
orphan to its nearest known ancestor, and reported), named by the naming policy (names.py);
the grouping's groups go above the countries and a team's own places below their parents;
then siblings get unique NetBox-safe names and slugs, and slugs are made unique across the
whole tree."""

from __future__ import annotations

from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.groups import Grouping
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.inputs import Inputs
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.names import NameTable
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.own_places import (
    FILTERED, TOP, OwnPlace, resolve_parents,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    clean_name, make_slug, slug_candidates, slugify, unique_names_and_slugs,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.team_files import Problems
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import LEVEL_INDEX
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import CONTINENTS, AdminCode, Place

try:  # transliterates division names for slugs as the bundled source does; slugify's own folding without it
    from unidecode import unidecode
except ImportError:
    unidecode = None  # type: ignore[assignment]

ORPHAN_SAMPLE_SIZE = 20
# Slugs of these levels carry no country prefix (germany, europe, emea).
UNPREFIXED_LEVELS = ("group", "continent", "country")


def source_id(geonameid: int) -> str:
    return "geonames:%d" % geonameid


class Entry:
    """One future node, light enough for hundreds of thousands of cities."""
    __slots__ = ("level", "geonameid", "country_code", "name", "slug", "parent", "qualifier", "rank",
                 "source", "extra", "custom_id", "depth")

    def __init__(self, level: str, geonameid: int, country_code: str | None, name: str, slug: str,
                 parent: str | None, qualifier: str | None, rank: tuple[int, int], source: Any,
                 extra: dict[str, Any] | None = None, custom_id: str | None = None, depth: int = 0) -> None:
        self.level = level
        self.geonameid = geonameid
        self.country_code = country_code
        self.name = name
        self.slug = slug
        self.parent = parent          # parent's geo_source_id or None
        self.qualifier = qualifier    # tells equal sibling names apart
        self.rank = rank              # (level index, -population): the best keeps the plain name
        self.source = source          # the parsed record (Country, AdminCode, Place), or a continent code
        self.extra = extra or {}      # enrichment: iso_3166_2, wikidata_id, latitude, longitude
        self.custom_id = custom_id    # the geo_source_id of a group or own place (geonameid 0)
        self.depth = depth            # groups and own places: ancestors of their own level

    @property
    def geo_source_id(self) -> str:
        return self.custom_id or source_id(self.geonameid)

    @property
    def ident(self) -> str:
        """What tells the entry apart from its siblings in a qualified name or slug."""
        return self.custom_id.split(":", 1)[1] if self.custom_id else str(self.geonameid)


class Orphans:
    """Places attached above where they belong: counted by kind, the first ones kept as a sample."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.sample: list[dict] = []

    def add(self, kind: str, record: AdminCode | Place, attached_to: str | None) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.sample) < ORPHAN_SAMPLE_SIZE:
            self.sample.append({"kind": kind, "geo_source_id": source_id(record.geonameid), "name": record.name,
                                "line": record.line, "attached_to": attached_to})

    def summary(self) -> dict:
        return {"total": sum(self.counts.values()), "counts": dict(sorted(self.counts.items())), "sample": self.sample}


def _slug(prefix: str, record: AdminCode | Place, local_name: str | None = None) -> str:
    """<prefix>-slugify(the local name, transliterated as the bundled source writes it), else
    of the asciiname, else of the name, else <prefix>-<geonameid>."""
    body = slugify(unidecode(local_name) if unidecode is not None else local_name) if local_name else ""
    body = body or slugify(getattr(record, "asciiname", "") or "") or slugify(record.name)
    return make_slug(prefix, body) if body else make_slug(prefix, suffix=str(record.geonameid))


class Tree:
    """The entries of the levels asked for, built from the parsed ``inputs``."""

    def __init__(self, inputs: Inputs, levels: list[str], names: NameTable | None = None,
                 grouping: Grouping | None = None) -> None:
        self.inputs = inputs
        self.levels = levels
        self.names = names or NameTable()
        self.grouping = grouping
        self.entries: list[Entry] = []
        self.orphans = Orphans()
        # where each place went (its entry's id, or its nearest kept ancestor's): own places' parents
        self.country_parent: dict[str, str | None] = {}
        self.admin1_parent: dict[str, str | None] = {}
        self.admin2_parent: dict[str, str | None] = {}
        self._found: dict[str, str] = {}

    def division_name(self, key: str) -> str | None:
        """A first-level division's name in the chosen language, or None when unknown."""
        record = self.inputs.admin1_by_key.get(key)
        return None if record is None else self.names.division_name(key, record.name)

    def build(self, cities: list[Place]) -> None:
        inputs, names = self.inputs, self.names
        levels = set(self.levels)
        wanted_countries = [c for c in sorted(inputs.countries_by_code) if inputs.wanted(c)]
        grouping = self.grouping.keep_only(wanted_countries) if self.grouping is not None else None
        placed = grouping.group_of if grouping is not None else {}
        depth: dict[str | None, int] = {None: -1}
        for group in grouping.groups if grouping is not None else ():
            depth[group.geo_source_id] = depth[group.parent] + 1
            self.entries.append(Entry("group", 0, None, clean_name(group.name), group.slug, group.parent, None,
                                      (0, 0), group, custom_id=group.geo_source_id, depth=depth[group.geo_source_id]))
        if "continent" in levels:
            used = {inputs.countries_by_code[c].continent for c in wanted_countries if c not in placed}
            for code, (geonameid, name) in CONTINENTS.items():
                if code in used or not (inputs.countries or grouping):
                    self.entries.append(Entry("continent", geonameid, None, clean_name(names.continent(code, name)),
                                              slugify(name), None, None, (0, 0), code))
        country_parent = self.country_parent
        for code in wanted_countries:
            country = inputs.countries_by_code[code]
            above = placed.get(code) or (source_id(CONTINENTS[country.continent][0]) if "continent" in levels else None)
            if "country" in levels:
                self.entries.append(Entry(
                    "country", country.geonameid, code, clean_name(names.country(code, country.name)),
                    make_slug(country.name) or make_slug(suffix=code), above,
                    CONTINENTS[country.continent][1], (1, -country.population), country))
                country_parent[code] = source_id(country.geonameid)
            else:
                country_parent[code] = above
        admin1_parent = self.admin1_parent
        for key, record in sorted(inputs.admin1_by_key.items()):
            code = key[:2]
            parent = country_parent.get(code)
            if code not in inputs.countries_by_code and "admin1" in levels:
                self.orphans.add("admin1_unknown_country", record, parent)
            if "admin1" in levels:
                division = names.division(key)
                entry = Entry(
                    "admin1", record.geonameid, code, clean_name(names.division_name(key, record.name)),
                    _slug(code.lower(), record, names.slug_name(key, "")), parent,
                    inputs.country_name(code) if parent is None or "country" not in levels else None, (2, 0), record)
                if division is not None and division.iso_code:
                    entry.extra["iso_3166_2"] = division.iso_code
                self.entries.append(entry)
                admin1_parent[key] = source_id(record.geonameid)
            else:
                admin1_parent[key] = parent
        admin2_parent = self.admin2_parent
        for key, record in sorted(inputs.admin2_by_key.items()):
            code, admin1_key = key[:2], key.rsplit(".", 1)[0]
            if admin1_key in admin1_parent:
                parent = admin1_parent[admin1_key]
            else:
                parent = country_parent.get(code)
                self.orphans.add("admin2_unknown_admin1", record, parent)
            if "admin2" in levels:
                qualifier = self.division_name(admin1_key) if "admin1" not in levels else None
                self.entries.append(Entry("admin2", record.geonameid, code, clean_name(record.name),
                                          _slug(code.lower(), record), parent, qualifier, (3, 0), record))
                admin2_parent[key] = source_id(record.geonameid)
            else:
                admin2_parent[key] = parent
        if "city" in levels:
            self._build_cities(cities, country_parent, admin1_parent, admin2_parent)

    def _build_cities(self, cities: list[Place], country_parent: dict[str, str | None],
                      admin1_parent: dict[str, str | None], admin2_parent: dict[str, str | None]) -> None:
        inputs = self.inputs
        has_admin1 = "admin1" in self.levels
        has_admin2 = "admin2" in self.levels
        for place in cities:
            code = place.country_code
            admin1_key = "%s.%s" % (code, place.admin1)
            admin2_key = "%s.%s" % (admin1_key, place.admin2)
            if code not in inputs.countries_by_code:
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
            admin1 = inputs.admin1_by_key.get(admin1_key)
            admin2 = inputs.admin2_by_key.get(admin2_key)
            if admin2 is not None and not has_admin2:
                qualifier: str | None = admin2.name
            elif admin1 is not None and (not has_admin1 or parent != source_id(admin1.geonameid)):
                qualifier = self.division_name(admin1_key)
            else:
                qualifier = None
            self.entries.append(Entry("city", place.geonameid, code, clean_name(place.name),
                                      _slug(code.lower(), place), parent, qualifier,
                                      (4, -place.population), place))

    # -- a team's own places --------------------------------------------------------------
    def find(self, kind: str, value: str) -> object:
        """The geo_source_id of the node an own place's parent names (own_places.resolve_parents):
        the node itself, or its nearest kept ancestor when its level is left out; TOP for the
        top of the tree; FILTERED when ``countries`` or ``include_historic`` left it out; None
        when the dataset has no such place."""
        inputs = self.inputs
        if not self._found:  # built once: geo_source_id and geonameid -> entry, codes of the tables
            for entry in self.entries:
                self._found[entry.geo_source_id] = entry.geo_source_id
                if entry.level == "admin1" and entry.extra.get("iso_3166_2"):
                    self._found[entry.extra["iso_3166_2"]] = entry.source.key
            for table in (inputs.admin1_by_key, inputs.admin2_by_key):
                for key, record in table.items():
                    self._found.setdefault("geonames:%d" % record.geonameid, "=" + key)
        if kind == "geonameid":
            kind, value = "geo_source_id", "geonames:" + value
        if kind == "geo_source_id":
            found = self._found.get(value)
            if found is None or not found.startswith("="):
                return found  # an entry (or nothing)
            key = found[1:]  # a division whose level is left out
        elif kind == "iso_3166_2":
            key = self.names.geonames_code_of(value) or self._found.get(value) or ""
        else:
            key = value
        country = key[:2]
        if country and not inputs.wanted(country):
            return FILTERED if country in inputs.countries_by_code or country in inputs.left_out else None
        for parents in (self.country_parent, self.admin1_parent, self.admin2_parent):
            if key in parents:
                return parents[key] or TOP
        return None

    def add_own_places(self, path: str, places: list[OwnPlace]) -> list[OwnPlace]:
        """The own places as entries below their parents; returns those left out (their
        country is). TeamFileError for parents the dataset does not have."""
        kept, left_out = resolve_parents(path, places, self.find)
        by_id = {entry.geo_source_id: entry for entry in self.entries}
        for place in kept:  # parents first
            parent = by_id.get(place.resolved_parent or "")
            country_code = parent.country_code if parent is not None else None
            depth = parent.depth + 1 if parent is not None and parent.level == "custom" else 0
            slug = place.slug or make_slug((country_code or "").lower(), slugify(place.name)) or \
                make_slug(suffix=place.id)
            entry = Entry("custom", 0, country_code, place.name, slug, place.resolved_parent, None,
                          (LEVEL_INDEX["custom"], 0), place, custom_id=place.geo_source_id, depth=depth)
            self.entries.append(entry)
            by_id[entry.geo_source_id] = entry
        return left_out

    def check_own_places(self, path: str) -> None:
        """After disambiguate: an own place whose written name or slug a sibling already had
        (or whose slug another node has) is the file's problem, not something to rename."""
        problems = Problems(path, "own places file")
        holders: dict[str, str] = {}
        for entry in self.entries:
            if not entry.custom_id or entry.level != "custom":
                holders.setdefault(entry.slug, entry.geo_source_id)
        for entry in self.entries:
            place = entry.source
            if entry.level != "custom":
                continue
            if entry.name != place.name:
                problems.add(place.line, "name", "%r is already the name of another region under %s"
                             % (place.name, place.parent or "the top"))
            if place.slug and entry.slug != place.slug:
                problems.add(place.line, "slug", "%r is already the slug of %s" % (place.slug, holders.get(
                    place.slug, "another own place")))
        problems.raise_if_any()

    def disambiguate(self) -> int:
        """Unique names and slugs among the children of each parent (all levels together:
        an orphan city sits beside the admin1 regions of its country); returns how many
        entries were renamed."""
        groups: dict[str | None, list[Entry]] = {}
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
                {"id": e.ident, "name": e.name, "slug": e.slug, "qualifier": e.qualifier,
                 "slug_prefix": (e.country_code or "").lower() if e.level not in UNPREFIXED_LEVELS else "",
                 "rank": e.rank}
                for e in siblings])
            for entry in siblings:
                name, slug = chosen[entry.ident]
                if (name, slug) != (entry.name, entry.slug):
                    renamed += 1
                entry.name, entry.slug = name, slug
        return renamed + self.unique_slugs_across_tree()

    def unique_slugs_across_tree(self) -> int:
        """NetBox needs slugs unique among siblings only, but filters such as
        ``?region=<slug>`` and netbox.netbox's region lookups match a slug anywhere in the
        tree: a city that shares its division's slug (at-vienna) gets its geonameid added.
        The higher level, then the better rank, keeps the plain slug."""
        taken: set[str] = set()
        renamed = 0
        for entry in sorted(self.entries, key=lambda e: (LEVEL_INDEX[e.level], e.rank, e.geonameid, e.custom_id or "")):
            if entry.slug in taken:
                prefix = (entry.country_code or "").lower() if entry.level not in UNPREFIXED_LEVELS else ""
                entry.slug = next(candidate for candidate in slug_candidates(
                    {"id": entry.ident, "slug": entry.slug, "slug_prefix": prefix}) if candidate not in taken)
                renamed += 1
            taken.add(entry.slug)
        return renamed

    def counts(self, levels: list[str]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """Entries per level (every level asked for), and per country and level."""
        counts: dict[str, int] = {}
        counts_by_country: dict[str, dict[str, int]] = {}
        for entry in self.entries:
            counts[entry.level] = counts.get(entry.level, 0) + 1
            if entry.country_code:
                by_level = counts_by_country.setdefault(entry.country_code, {})
                by_level[entry.level] = by_level.get(entry.level, 0) + 1
        return {level: counts.get(level, 0) for level in levels}, dict(sorted(counts_by_country.items()))
