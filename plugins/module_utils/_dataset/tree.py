# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's tree: each parsed place becomes an entry attached to its parent (an
orphan to its nearest known ancestor, and reported), then siblings get unique NetBox-safe
names and slugs, and slugs are made unique across the whole tree."""

from __future__ import annotations

from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.inputs import Inputs
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    clean_name, make_slug, slug_candidates, slugify, unique_names_and_slugs,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import LEVEL_INDEX
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import CONTINENTS, AdminCode, Place

ORPHAN_SAMPLE_SIZE = 20


def source_id(geonameid: int) -> str:
    return "geonames:%d" % geonameid


class Entry:
    """One future node, light enough for hundreds of thousands of cities."""
    __slots__ = ("level", "geonameid", "country_code", "name", "slug", "parent", "qualifier", "rank",
                 "source", "extra")

    def __init__(self, level: str, geonameid: int, country_code: str | None, name: str, slug: str,
                 parent: str | None, qualifier: str | None, rank: tuple[int, int], source: Any,
                 extra: dict[str, Any] | None = None) -> None:
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

    @property
    def geo_source_id(self) -> str:
        return source_id(self.geonameid)


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


def _slug(prefix: str, record: AdminCode | Place) -> str:
    """<prefix>-slugify(asciiname), else of the name, else <prefix>-<geonameid>."""
    body = slugify(getattr(record, "asciiname", "") or "") or slugify(record.name)
    return make_slug(prefix, body) if body else make_slug(prefix, suffix=str(record.geonameid))


class Tree:
    """The entries of the levels asked for, built from the parsed ``inputs``."""

    def __init__(self, inputs: Inputs, levels: list[str]) -> None:
        self.inputs = inputs
        self.levels = levels
        self.entries: list[Entry] = []
        self.orphans = Orphans()

    def build(self, cities: list[Place]) -> None:
        inputs = self.inputs
        levels = set(self.levels)
        wanted_countries = [c for c in sorted(inputs.countries_by_code) if inputs.wanted(c)]
        if "continent" in levels:
            used = {inputs.countries_by_code[c].continent for c in wanted_countries}
            for code, (geonameid, name) in CONTINENTS.items():
                if code in used or not inputs.countries:
                    self.entries.append(Entry("continent", geonameid, None, name, slugify(name), None, None,
                                              (0, 0), code))
        country_parent: dict[str, str | None] = {}
        for code in wanted_countries:
            country = inputs.countries_by_code[code]
            continent_id = source_id(CONTINENTS[country.continent][0]) if "continent" in levels else None
            if "country" in levels:
                self.entries.append(Entry(
                    "country", country.geonameid, code, clean_name(country.name),
                    make_slug(country.name) or make_slug(suffix=code), continent_id,
                    CONTINENTS[country.continent][1], (1, -country.population), country))
                country_parent[code] = source_id(country.geonameid)
            else:
                country_parent[code] = continent_id
        admin1_parent: dict[str, str | None] = {}
        for key, record in sorted(inputs.admin1_by_key.items()):
            code = key[:2]
            parent = country_parent.get(code)
            if code not in inputs.countries_by_code and "admin1" in levels:
                self.orphans.add("admin1_unknown_country", record, parent)
            if "admin1" in levels:
                self.entries.append(Entry(
                    "admin1", record.geonameid, code, clean_name(record.name), _slug(code.lower(), record), parent,
                    inputs.country_name(code) if parent is None or "country" not in levels else None, (2, 0), record))
                admin1_parent[key] = source_id(record.geonameid)
            else:
                admin1_parent[key] = parent
        admin2_parent: dict[str, str | None] = {}
        for key, record in sorted(inputs.admin2_by_key.items()):
            code, admin1_key = key[:2], key.rsplit(".", 1)[0]
            if admin1_key in admin1_parent:
                parent = admin1_parent[admin1_key]
            else:
                parent = country_parent.get(code)
                self.orphans.add("admin2_unknown_admin1", record, parent)
            if "admin2" in levels:
                qualifier = inputs.admin1_by_key[admin1_key].name \
                    if admin1_key in inputs.admin1_by_key and "admin1" not in levels else None
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
                qualifier = admin1.name
            else:
                qualifier = None
            self.entries.append(Entry("city", place.geonameid, code, clean_name(place.name),
                                      _slug(code.lower(), place), parent, qualifier,
                                      (4, -place.population), place))

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

    def unique_slugs_across_tree(self) -> int:
        """NetBox needs slugs unique among siblings only, but filters such as
        ``?region=<slug>`` and netbox.netbox's region lookups match a slug anywhere in the
        tree: a city that shares its division's slug (at-vienna) gets its geonameid added.
        The higher level, then the better rank, keeps the plain slug."""
        taken: set[str] = set()
        renamed = 0
        for entry in sorted(self.entries, key=lambda e: (LEVEL_INDEX[e.level], e.rank, e.geonameid)):
            if entry.slug in taken:
                prefix = (entry.country_code or "").lower() if entry.level not in ("continent", "country") else ""
                entry.slug = next(candidate for candidate in slug_candidates(
                    {"id": str(entry.geonameid), "slug": entry.slug, "slug_prefix": prefix}) if candidate not in taken)
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
