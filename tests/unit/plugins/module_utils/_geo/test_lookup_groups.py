# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup finds groups and a team's own places by name, slug and geo_source_id."""

from __future__ import annotations

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndex
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.lookup import NotFound, PlaceFinder, parse_term

from geo_fixtures import node, world_nodes


@pytest.fixture(name="finder")
def finder_with_groups():
    nodes = [node("m49:155", "group", "Westeuropa", "western-europe", None),
             node("custom:emea", "group", "EMEA", "emea", None)] + world_nodes() + [
        node("custom:fra-metro", "custom", "Frankfurt Metro", "aa-frankfurt-metro", "geonames:11", country_code="AA")]
    return PlaceFinder(GeoIndex(nodes))


@pytest.mark.parametrize("term, found", [
    ("Westeuropa", "m49:155"), ("western-europe", "m49:155"), ("m49:155", "m49:155"),
    ("EMEA", "custom:emea"), ("custom:emea", "custom:emea"),
    ("frankfurt metro", "custom:fra-metro"), ("Frankfurt Metro, AA", "custom:fra-metro"),
    ("custom:fra-metro", "custom:fra-metro"), ("geonames:11", "geonames:11"),
])
def test_found(finder, term, found):
    assert finder.find(term)["geo_source_id"] == found


def test_unknown_source_id_is_not_found(finder):
    with pytest.raises(NotFound, match="no place 'custom:nowhere'"):
        finder.find("custom:nowhere")


def test_parse_term_kinds():
    assert parse_term("m49:155") == ("geo_source_id", "m49:155", None)
    assert parse_term("geonames:5") == ("geonameid", "geonames:5", None)
