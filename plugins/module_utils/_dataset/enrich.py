# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's enrichment: ISO 3166-2 codes, Wikidata ids and label points from
Natural Earth (and the bundled source's ISO 3166-2 side table) onto the tree's entries,
and the polygons for the side files (never in the dataset itself)."""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.inputs import Inputs
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.tree import Entry
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import natural_earth

# A polygon for a side file: its GeoJSON properties and geometry.
Polygon = tuple[dict[str, Any], Any]


def enrich_from_natural_earth(entries: list[Entry], inputs: Inputs, iso_by_admin1_key: dict[str, str],
                              enrichment: dict[str, dict]) -> dict[str, list[Polygon]]:
    """ISO 3166-2 and Wikidata ids onto admin1/country entries; returns the polygons by kind
    (admin1, admin0) and records per layer what matched in ``enrichment``."""
    files = inputs.files
    admin1_entries = {e.source.key: e for e in entries if e.level == "admin1"}
    for key, division in admin1_entries.items():
        if key in iso_by_admin1_key:
            division.extra["iso_3166_2"] = iso_by_admin1_key[key]
    polygons: dict[str, list[Polygon]] = {"admin1": [], "admin0": []}
    if files.ne_admin1 and admin1_entries:
        by_id = {e.geonameid: e for e in admin1_entries.values()}
        matched = unmatched = 0
        inputs.used_files.append((files.ne_admin1, "natural_earth"))
        for feature in natural_earth.read_admin1(files.ne_admin1):
            entry = admin1_entries.get(feature.gn_a1_code) or (by_id.get(feature.gn_id) if feature.gn_id else None)
            if entry is None:
                unmatched += 1 if inputs.wanted(feature.country_code or "") else 0
                continue
            matched += 1
            for key in ("iso_3166_2", "wikidata_id", "latitude", "longitude"):
                if getattr(feature, key) is not None:
                    entry.extra[key] = getattr(feature, key)
            polygons["admin1"].append(({
                "geo_source_id": entry.geo_source_id, "name": entry.name,
                "country_code": entry.country_code, "iso_3166_2": entry.extra.get("iso_3166_2"),
                "ne_adm1_code": feature.adm1_code}, feature.geometry))
        enrichment["admin1"] = {"file": os.path.basename(files.ne_admin1), "matched": matched, "unmatched": unmatched}
    country_entries = {e.country_code: e for e in entries if e.level == "country"}
    if files.ne_admin0 and country_entries:
        matched = unmatched = 0
        inputs.used_files.append((files.ne_admin0, "natural_earth"))
        by_iso3 = {e.source.iso3: e for e in country_entries.values()}
        for admin0 in natural_earth.read_admin0(files.ne_admin0):
            country = country_entries.get(admin0.iso_a2 or "") or next(
                (by_iso3[code] for code in admin0.iso_a3 if code in by_iso3), None)
            if country is None:
                unmatched += 1 if not inputs.countries else 0
                continue
            matched += 1
            if admin0.wikidata_id:
                country.extra["wikidata_id"] = admin0.wikidata_id
            polygons["admin0"].append(({
                "geo_source_id": country.geo_source_id, "name": country.name,
                "country_code": country.country_code}, admin0.geometry))
        enrichment["admin0"] = {"file": os.path.basename(files.ne_admin0), "matched": matched, "unmatched": unmatched}
    return polygons
