# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's rendering: the tree's entries as dataset nodes (attributes and
description), in file order, one at a time."""

from __future__ import annotations

from typing import Any, Iterator

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.inputs import Inputs
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.names import NameTable
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import clean_description, format_population
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.tree import Entry
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import (
    ATTRIBUTE_KEYS, LEVEL_INDEX, NodeDict,
)


def attributes_of(entry: Entry, inputs: Inputs) -> dict[str, Any]:
    attributes: dict[str, Any] = dict.fromkeys(ATTRIBUTE_KEYS)
    source = entry.source
    attributes["country_code"] = entry.country_code
    if entry.level == "group":
        pass  # a group has no codes of its own: its identity says it all
    elif entry.level == "custom":
        country = inputs.countries_by_code.get(entry.country_code or "")
        attributes.update(latitude=source.latitude, longitude=source.longitude,
                          continent=country.continent if country else None)
    elif entry.level == "continent":
        attributes.update(geonames_code=source, feature_code="CONT", continent=source)
    elif entry.level == "country":
        attributes.update(iso_3166_1_alpha3=source.iso3, geonames_code=source.code, population=source.population,
                          feature_code="PCLI", continent=source.continent)
    else:
        country = inputs.countries_by_code.get(entry.country_code or "")
        attributes["continent"] = country.continent if country else None
        if entry.level in ("admin1", "admin2"):
            attributes.update(geonames_code=source.key, feature_code="ADM1" if entry.level == "admin1" else "ADM2")
        else:
            attributes.update(population=source.population, latitude=source.latitude, longitude=source.longitude,
                              time_zone=source.time_zone or None, feature_code=source.feature_code)
    attributes.update(entry.extra)
    return attributes


def description_of(entry: Entry, attributes: dict[str, Any], inputs: Inputs, english: NameTable) -> str:
    """In English whatever the language (a language switch changes names only), with the
    names the English policy gives, so the sources describe a place alike."""
    source = entry.source
    country_name = inputs.country_name(entry.country_code or "")

    def division_name(key: str) -> str | None:
        admin1 = inputs.admin1_by_key.get(key)
        return english.division_name(key, admin1.name) if admin1 else None

    if entry.level in ("group", "custom"):
        text = source.description or ("%s %s" % ("Group" if entry.level == "group" else "Own place", entry.geo_source_id))
    elif entry.level == "continent":
        text = "Continent %s \u00b7 GeoNames %d" % (source, entry.geonameid)
    elif entry.level == "country":
        text = "Country %s \u00b7 GeoNames %d" % (entry.country_code, entry.geonameid)
    elif entry.level == "admin1":
        code = attributes["iso_3166_2"] or source.key
        text = "First-level division %s of %s" % (code, country_name)
    elif entry.level == "admin2":
        text = "Second-level division %s of %s" % (
            source.key, ", ".join(n for n in (division_name(source.key.rsplit(".", 1)[0]), country_name) if n))
    else:
        where = ", ".join(n for n in (division_name("%s.%s" % (entry.country_code, source.admin1)), country_name) if n)
        text = "%s in %s" % ("Capital" if source.feature_code == "PPLC" else "City", where)
        if source.population:
            text += " \u00b7 pop. %s" % format_population(source.population)
    return clean_description(text)


def node_dicts(entries: list[Entry], inputs: Inputs, english: NameTable) -> Iterator[NodeDict]:
    """The nodes in file order (``entries`` sorted in place; groups and own places parents
    first), built one at a time: the cities never all exist as dicts. write_dataset validates
    them, like every node it writes."""
    entries.sort(key=lambda e: (LEVEL_INDEX[e.level], e.depth, e.country_code or "", e.geo_source_id))
    for entry in entries:
        attributes = attributes_of(entry, inputs)
        yield {"geo_source_id": entry.geo_source_id, "level": entry.level, "name": entry.name,
               "slug": entry.slug, "parent": entry.parent,
               "description": description_of(entry, attributes, inputs, english), "attributes": attributes}
