# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's rendering: the tree's entries as dataset nodes (attributes and
description), in file order, one at a time."""

from __future__ import annotations

from typing import Any, Iterator

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.inputs import Inputs
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import clean_description, format_population
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.tree import Entry
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import (
    ATTRIBUTE_KEYS, LEVEL_INDEX, NodeDict,
)


def attributes_of(entry: Entry, inputs: Inputs) -> dict[str, Any]:
    attributes: dict[str, Any] = dict.fromkeys(ATTRIBUTE_KEYS)
    source = entry.source
    attributes["country_code"] = entry.country_code
    if entry.level == "continent":
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


def description_of(entry: Entry, attributes: dict[str, Any], inputs: Inputs) -> str:
    source = entry.source
    country_name = inputs.country_name(entry.country_code or "")
    if entry.level == "continent":
        text = "Continent %s \u00b7 GeoNames %d" % (source, entry.geonameid)
    elif entry.level == "country":
        text = "Country %s \u00b7 GeoNames %d" % (entry.country_code, entry.geonameid)
    elif entry.level == "admin1":
        code = attributes["iso_3166_2"] or source.key
        text = "First-level division %s of %s" % (code, country_name)
    elif entry.level == "admin2":
        admin1 = inputs.admin1_by_key.get(source.key.rsplit(".", 1)[0])
        text = "Second-level division %s of %s" % (
            source.key, ", ".join(n for n in (admin1.name if admin1 else None, country_name) if n))
    else:
        admin1 = inputs.admin1_by_key.get("%s.%s" % (entry.country_code, source.admin1))
        where = ", ".join(n for n in (admin1.name if admin1 else None, country_name) if n)
        text = "%s in %s" % ("Capital" if source.feature_code == "PPLC" else "City", where)
        if source.population:
            text += " \u00b7 pop. %s" % format_population(source.population)
    return clean_description(text)


def node_dicts(entries: list[Entry], inputs: Inputs) -> Iterator[NodeDict]:
    """The nodes in file order (``entries`` sorted in place), built one at a time: the cities
    never all exist as dicts. write_dataset validates them, like every node it writes."""
    entries.sort(key=lambda e: (LEVEL_INDEX[e.level], e.country_code or "", e.geo_source_id))
    for entry in entries:
        attributes = attributes_of(entry, inputs)
        yield {"geo_source_id": entry.geo_source_id, "level": entry.level, "name": entry.name,
               "slug": entry.slug, "parent": entry.parent,
               "description": description_of(entry, attributes, inputs), "attributes": attributes}
