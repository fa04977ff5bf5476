# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's engine: GeoNames (+ Natural Earth) files -> one validated dataset file.

The steps, each in its own module: ``inputs`` finds the source files in ``src`` and parses
them as streams, every row validated (a bad row fails the run, or is skipped into the
reject file), and filters the places (current countries only, unless include_historic);
``tree`` attaches each place to its parent (orphans to the nearest known ancestor,
reported), names it by the naming policy (``names``, in ``language``), puts the grouping's
groups (``groups``) above the countries and the team's own places (``own_places``) below
their parents, and gives siblings unique NetBox-safe names and slugs; ``enrich`` adds
Natural Earth's codes and keeps its polygons; ``render`` turns the entries into nodes. This module checks the options, runs the steps and writes the dataset
(sorted, validated, atomic, an unchanged file left alone) and the polygons side files.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable

from ansible_collections.geofoss.netbox.plugins.module_utils._contract import (
    ADMIN0_POLYGONS, ADMIN1_POLYGONS, CUSTOM_POLYGONS, POLYGONS_SUFFIXES,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.enrich import enrich_from_natural_earth
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.groups import (
    GROUPINGS, current_countries, grouping_for, historic_countries,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.names import DEFAULT_LANGUAGE, NamesError, NameTable
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.own_places import read_own_places
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.inputs import (  # noqa: F401 (re-exported)
    CAPITAL_FEATURE_CODES, DEFAULT_EXCLUDED_FEATURE_CODES, Inputs, RejectLog, SourceFiles, TransformError,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (  # noqa: F401 (re-exported)
    LEVEL_INDEX, DatasetError, DatasetHeader, Provenance, write_dataset_file,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.render import node_dicts
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.tree import Tree
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._io import file_mode, sha256_file
from ansible_collections.geofoss.netbox.plugins.module_utils._progress import counted, progress_to
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import catalog, natural_earth
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import SourceError  # noqa: F401

DEFAULT_LEVELS = ("country", "admin1")
DEFAULT_GROUPING = "continent"
# what levels may ask for: groups come from grouping, own places from own_places
BUILT_LEVELS = ("continent", "country", "admin1", "admin2", "city")
POLYGON_KINDS = (("admin1", ADMIN1_POLYGONS), ("admin0", ADMIN0_POLYGONS), ("custom", CUSTOM_POLYGONS))


class Transform:
    """One run of geo_transform with the module's options."""

    def __init__(self, src: str, dest: str, countries: Iterable[str] = (), levels: Iterable[str] = DEFAULT_LEVELS,
                 city_min_population: int = 15000, city_source: str | None = None, feature_codes: Iterable[str] = (),
                 exclude_feature_codes: Iterable[str] = DEFAULT_EXCLUDED_FEATURE_CODES, keep_capitals: bool = False,
                 enrich: str = "auto", on_invalid: str = "fail", reject_file: str | None = None,
                 max_errors_listed: int = 20, check_mode: bool = False, mode: object = None,
                 include_historic: bool = False, language: str = DEFAULT_LANGUAGE, grouping: str = DEFAULT_GROUPING,
                 own_places: str | None = None, progress_file: str | None = None,
                 progress_interval: int | None = None) -> None:
        # progress_interval is the action plugin's (how often it prints); the module only writes the file
        levels = list(levels)
        countries = list(countries)
        unknown = [level for level in levels if level not in BUILT_LEVELS]
        if unknown:
            raise TransformError("levels: unknown level(s) %s; choose from %s (groups come from grouping, own places "
                                 "from own_places)" % (", ".join(unknown), ", ".join(BUILT_LEVELS)))
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
        grouping = grouping or DEFAULT_GROUPING
        if grouping not in GROUPINGS:
            grouping = os.path.expanduser(grouping)
        if grouping not in GROUPINGS and not os.path.isfile(grouping):
            raise TransformError("grouping: %r is neither one of %s nor a YAML file (no such file)"
                                 % (grouping, ", ".join(GROUPINGS)))
        if grouping == "none" and "continent" in levels:
            raise TransformError("grouping none puts nothing above the countries, but levels has continent: "
                                 "drop one of them")
        if own_places and not os.path.isfile(own_places):
            raise TransformError("own_places: %s: no such file" % own_places)
        try:
            self.names = NameTable(language)
            self.english = self.names if self.names.language == DEFAULT_LANGUAGE else NameTable(DEFAULT_LANGUAGE)
        except NamesError as exc:
            raise TransformError(str(exc)) from None
        self.include_historic = include_historic
        self.grouping_option = grouping
        self.own_places_path = own_places
        self.dest = dest
        self.levels = sorted(set(levels), key=LEVEL_INDEX.__getitem__)
        self.enrich = enrich
        self.check_mode = check_mode
        self.files = SourceFiles(src, city_source, enrich)
        if enrich == "natural_earth" and not self.files.ne_admin1 and not self.files.ne_admin0:
            raise TransformError("enrich=natural_earth but %s holds no %s or %s (%s)" % (
                src, catalog.natural_earth_name("*", catalog.ADMIN1_LAYER, ""),
                catalog.natural_earth_name("*", catalog.ADMIN0_LAYER, ""), "/".join(catalog.NATURAL_EARTH_FORMATS)))
        self.problems = RejectLog(on_invalid, None if check_mode else reject_file, max(0, int(max_errors_listed)),
                                  self.mode)
        self.warnings: list[str] = []
        self.inputs = Inputs(self.files, self.problems, self.warnings, sorted({c.upper() for c in countries}),
                             int(city_min_population), {c.upper() for c in feature_codes},
                             {c.upper() for c in exclude_feature_codes}, keep_capitals)
        self.enrichment: dict[str, dict] = {}
        # the team's files are read first: a mistake there stops the run before any work
        known = dict(current_countries(), **(historic_countries() if include_historic else {}))
        self.grouping = grouping_for(grouping, known=known)
        self.own_places = read_own_places(own_places) if own_places else []
        self.tree = Tree(self.inputs, self.levels, self.names, self.grouping)
        self.progress = progress_to(progress_file)

    def provenance(self) -> list[Provenance]:
        """Per file read: its sha256, source, licence and attribution (geo_fetch's manifest's, when it has them)."""
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
        for path, source in sorted(set(self.inputs.used_files)):
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
            entries.append(Provenance(**entry))
        return entries

    def run(self) -> dict[str, Any]:
        try:
            return self._run()
        except BaseException:
            self.problems.finish(commit=False)
            raise
        finally:
            self.progress.finish()

    def _run(self) -> dict[str, Any]:
        inputs, tree, progress = self.inputs, self.tree, self.progress
        progress.phase("read countries and divisions", unit="")
        inputs.parse_countries()
        historic = [] if self.include_historic else inputs.leave_out_historic(current_countries())
        levels = set(self.levels)
        if levels & {"admin1", "admin2", "city"} and (self.files.admin1 or "admin1" in levels or "admin2" in levels) \
                or self.own_places and self.files.admin1:  # own places may name a division as their parent
            inputs.parse_admin("admin1")
        if "admin2" in levels:
            inputs.parse_admin("admin2")
        iso_by_admin1_key = inputs.parse_iso3166_2() if "admin1" in levels else {}
        if "city" in levels:
            progress.phase("read cities", unit="rows")
        cities = inputs.parse_cities(progress) if "city" in levels else []
        self.problems.raise_if_failing()
        progress.phase("build the tree", unit="")
        tree.build(cities)
        del cities
        own_left_out = tree.add_own_places(self.own_places_path or "", self.own_places) if self.own_places else []
        if own_left_out:
            self.warnings.append("own places left out with their country (countries): %s"
                                 % ", ".join(place.id for place in own_left_out))
        renamed = tree.disambiguate()
        if self.own_places:
            tree.check_own_places(self.own_places_path or "")
        # no Natural Earth files with enrich=none
        polygons = enrich_from_natural_earth(tree.entries, inputs, iso_by_admin1_key, self.enrichment)
        polygons["custom"] = [({"geo_source_id": e.geo_source_id, "name": e.name, "country_code": e.country_code},
                               e.source.polygon) for e in tree.entries if e.level == "custom" and e.source.polygon]
        levels_written = sorted(set(self.levels) | {e.level for e in tree.entries if e.level in ("group", "custom")},
                                key=LEVEL_INDEX.__getitem__)
        side_files = {}
        for kind, side_file in POLYGON_KINDS:
            if polygons[kind]:
                side_files[side_file] = os.path.basename(self.dest) + POLYGONS_SUFFIXES[side_file]
        header = DatasetHeader(
            levels=levels_written, provenance=self.provenance(), side_files=side_files,
            filters={"countries": inputs.countries, "city_min_population": inputs.city_min_population,
                     "city_source": os.path.basename(inputs.cities_path) if inputs.cities_path else None,
                     "feature_codes": sorted(inputs.feature_codes),
                     "exclude_feature_codes": sorted(inputs.exclude_feature_codes),
                     "keep_capitals": inputs.keep_capitals, "enrich": self.enrich,
                     "include_historic": self.include_historic, "language": self.names.language,
                     "grouping": self.grouping_option if self.grouping_option in GROUPINGS
                     else os.path.basename(self.grouping_option),
                     "own_places": os.path.basename(self.own_places_path) if self.own_places_path else None,
                     "rejected_rows": self.problems.total})
        progress.phase("write the dataset", total=len(tree.entries), unit="nodes")
        written = write_dataset_file(self.dest, header, counted(node_dicts(tree.entries, inputs, self.english), progress),
                                     presorted=True,
                                     dry_run=self.check_mode, mode=self.mode)
        sha256, changed = written.sha256, written.changed
        polygon_files = {}
        for kind, side_file in POLYGON_KINDS:
            if polygons[kind]:
                path = self.dest + POLYGONS_SUFFIXES[side_file]
                changed |= natural_earth.write_polygons(path, polygons[kind], dry_run=self.check_mode,
                                                        mode=self.mode)["changed"]
                polygon_files[kind] = path
        self.problems.finish(commit=True)
        counts, counts_by_country = tree.counts(levels_written)
        if renamed:
            self.warnings.append("%d sibling name or slug clash(es) resolved by qualifying names and slugs" % renamed)
        return {
            "changed": changed, "dest": self.dest, "sha256": sha256,
            "counts": counts, "counts_by_country": counts_by_country,
            "orphans": tree.orphans.summary(),
            "rejects": self.problems.total, "reject_file": self.problems.reject_file if self.problems.total else None,
            "errors": self.problems.listed,
            "warnings": self.warnings, "renamed": renamed,
            "polygons": polygon_files.get("admin1"), "polygon_files": polygon_files,
            "enrichment": self.enrichment,
            "historic_left_out": historic,
            "names": {"language": self.names.language, "translated": dict(self.names.translated)},
            "own_places_left_out": [place.id for place in own_left_out],
        }


def run_transform(**options: Any) -> dict[str, Any]:
    """Run geo_transform; raises TransformError, SourceError or DatasetError (GeoFossErrors)
    with a clear message and, in the partial result, the invalid rows listed (``errors``)."""
    try:
        return Transform(**options).run()
    except GeoFossError as exc:
        exc.result.setdefault("errors", [])
        raise


__all__ = ["run_transform", "Transform", "TransformError", "SourceError", "DatasetError",
           "DEFAULT_EXCLUDED_FEATURE_CODES", "CAPITAL_FEATURE_CODES", "DEFAULT_LEVELS"]
