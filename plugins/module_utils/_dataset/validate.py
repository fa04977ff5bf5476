# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a dataset node is, and the one validation of it.

``check_node`` is used by everything that reads or writes nodes: the writer
(write_dataset), the readers (iter_node_dicts(validate=True), which the sync, the site
placement and the lookup use; read_dataset) and the pydantic models, which call it before
anything else so that they cannot disagree with it. Plain Python, cheap enough for
hundreds of thousands of nodes (see benchmarks/ for the figures).
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple, TypedDict

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    SLUG_MAX, SLUG_RE, description_problem, name_problem,
)

# group: what a grouping puts above the countries (UN M49, a team's groups); custom: a
# team's own places. Both may nest: a node's parent may be of its own level.
LEVELS = ("group", "continent", "country", "admin1", "admin2", "city", "custom")
LEVEL_INDEX = {level: index for index, level in enumerate(LEVELS)}
NESTING_LEVELS = frozenset(("group", "custom"))
# These belong to a country: attributes.country_code is required.
COUNTRY_LEVELS = frozenset(("country", "admin1", "admin2", "city"))
# Every node has all of these attribute keys, in this order; absent values are null.
ATTRIBUTE_KEYS = (
    "country_code",        # ISO 3166-1 alpha-2 of the node's country (null for continents)
    "iso_3166_1_alpha3",   # countries only
    "iso_3166_2",          # admin1 when known (Natural Earth or admin1Iso3166-2.txt), e.g. "DE-BY"
    "geonames_code",       # GeoNames' own code: "EU", "DE", "DE.02", "DE.02.091"; null for cities
    "population",          # int or null
    "latitude",            # float, -90..90, or null
    "longitude",           # float, -180..180, or null
    "time_zone",           # IANA name, or null
    "feature_code",        # GeoNames feature code: CONT, PCLI, ADM1, ADM2, PPLC, PPLA, PPL, ...
    "wikidata_id",         # Q-id when known (Natural Earth)
    "continent",           # GeoNames continent code of the node's country: AF AS EU NA OC SA AN
)
NODE_KEYS = ("geo_source_id", "level", "name", "slug", "parent", "description", "attributes")
GEO_SOURCE_ID_RE = re.compile(r"[a-z][a-z0-9_]*:[A-Za-z0-9._-]+\Z")
CONTINENT_CODES = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

_NODE_KEY_SET = frozenset(NODE_KEYS)
_ATTRIBUTE_KEY_SET = frozenset(ATTRIBUTE_KEYS)
_NUMBERS = (("population", None), ("latitude", 90.0), ("longitude", 180.0))


class NodeDict(TypedDict):
    """A node as a dataset file holds it (NODE_KEYS, in this order); check_node tells whether
    a dict read from a file is one."""
    geo_source_id: str
    level: str
    name: str
    slug: str
    parent: str | None
    description: str
    attributes: dict[str, Any]  # ATTRIBUTE_KEYS, every one present


class NodeProblem(NamedTuple):
    """Why a node is invalid: the field (``name``, ``attributes.population``, ...) and the reason."""
    field: str
    reason: str

    def __str__(self) -> str:
        return "%s: %s" % (self.field, self.reason)


def _pattern(expression: str, what: str) -> Callable[[str], str | None]:
    match = re.compile(expression + r"\Z").match

    def problem(value: str) -> str | None:
        return None if match(value) else "%r is not %s" % (value, what)
    return problem


def _longest(limit: int) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        return "longer than %d characters (%d)" % (limit, len(value)) if len(value) > limit else None
    return problem


def _continent(value: str) -> str | None:
    return None if value in CONTINENT_CODES else "%r is not one of %s" % (value, " ".join(CONTINENT_CODES))


# The text attributes' rules (the numbers are checked in check_attributes).
TEXT_RULES: dict[str, Callable[[str], str | None]] = {
    "country_code": _pattern("[A-Z]{2}", "an ISO 3166-1 alpha-2 code (DE)"),
    "iso_3166_1_alpha3": _pattern("[A-Z]{3}", "an ISO 3166-1 alpha-3 code (DEU)"),
    "iso_3166_2": _pattern("[A-Z]{2}-[A-Z0-9]{1,3}", "an ISO 3166-2 code (DE-BY)"),
    "geonames_code": _longest(40),
    "time_zone": _longest(64),
    "feature_code": _longest(10),
    "wikidata_id": _pattern("Q[0-9]+", "a Wikidata id (Q183)"),
    "continent": _continent,
}
# Values seen valid, per attribute with few distinct values (country codes, time zones,
# feature codes, continents repeat over hundreds of thousands of cities): a set lookup
# instead of the rule.
_KNOWN_GOOD: dict[str, set[str]] = {key: set() for key in ("country_code", "time_zone", "feature_code", "continent")}
_KNOWN_GOOD_MAX = 4096


def check_attributes(attributes: Any) -> NodeProblem | None:
    """The problem of a node's ``attributes`` object, or None."""
    if not isinstance(attributes, dict):
        return NodeProblem("attributes", "must be an object")
    if len(attributes) != len(ATTRIBUTE_KEYS) or attributes.keys() != _ATTRIBUTE_KEY_SET:
        unknown = sorted(set(attributes) - _ATTRIBUTE_KEY_SET)
        missing = [key for key in ATTRIBUTE_KEYS if key not in attributes]
        return NodeProblem("attributes", "unknown keys %s, missing keys %s" % (unknown, missing))
    for key, bound in _NUMBERS:
        value = attributes[key]
        if value is None:
            continue
        if bound is None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return NodeProblem("attributes.population", "must be a non-negative integer or null")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
            return NodeProblem("attributes." + key, "must be a number between -%g and %g or null" % (bound, bound))
    for key, rule in TEXT_RULES.items():
        value = attributes[key]
        if value is None:
            continue
        if not isinstance(value, str):
            return NodeProblem("attributes." + key, "must be a string or null")
        known = _KNOWN_GOOD.get(key)
        if known is not None and value in known:
            continue
        reason = rule(value)
        if reason:
            return NodeProblem("attributes." + key, reason)
        if known is not None and len(known) < _KNOWN_GOOD_MAX:
            known.add(value)
    return None


def check_node(node: Any) -> NodeProblem | None:
    """The problem of one node (a dict as in the dataset file), or None when it is valid."""
    if not isinstance(node, dict):
        return NodeProblem("node", "must be an object")
    if len(node) != len(NODE_KEYS) or node.keys() != _NODE_KEY_SET:
        return NodeProblem("node", "keys must be %s, found %s" % (list(NODE_KEYS), sorted(map(str, node))))
    source_id = node["geo_source_id"]
    if not isinstance(source_id, str) or not GEO_SOURCE_ID_RE.match(source_id):
        return NodeProblem("geo_source_id", "%r is not '<source>:<id>'" % (source_id,))
    level = node["level"]
    if not isinstance(level, str) or level not in LEVEL_INDEX:
        return NodeProblem("level", "%r is not one of %s" % (level, ", ".join(LEVELS)))
    reason = name_problem(node["name"])
    if reason:
        return NodeProblem("name", reason)
    slug = node["slug"]
    if not isinstance(slug, str) or not 0 < len(slug) <= SLUG_MAX or not SLUG_RE.match(slug):
        return NodeProblem("slug", "%r is not 1-%d characters of a-z, 0-9, - and _" % (slug, SLUG_MAX))
    parent = node["parent"]
    if parent is not None:
        if not isinstance(parent, str) or not GEO_SOURCE_ID_RE.match(parent):
            return NodeProblem("parent", "%r is neither null nor a geo_source_id" % (parent,))
        if parent == source_id:
            return NodeProblem("parent", "a node cannot be its own parent")
        if level == "continent":
            return NodeProblem("parent", "a continent has no parent")
    reason = description_problem(node["description"])
    if reason:
        return NodeProblem("description", reason)
    problem = check_attributes(node["attributes"])
    if problem:
        return problem
    if level in COUNTRY_LEVELS and node["attributes"]["country_code"] is None:
        return NodeProblem("attributes.country_code", "required at level %s" % level)
    return None


def node_problem(node: Any) -> str | None:
    """check_node as text (``field: reason``), or None when the node is valid."""
    problem = check_node(node)
    return None if problem is None else str(problem)
