# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The payload benchmark's sample: new cities only, under parents NetBox holds, never
refused by NetBox's (parent, slug) or (parent, name) index."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import payload  # noqa: E402  pylint: disable=wrong-import-position


def _node(source_id, parent, name, level="city"):
    return {"geo_source_id": source_id, "parent": parent, "name": name, "slug": name.lower(), "level": level}


def test_the_sample_holds_only_cities_netbox_can_take_as_new():
    tree = [_node("c:1", None, "Land", "country"), _node("a:1", "c:1", "Province", "admin1"),
            _node("g:1", "a:1", "Town")]
    candidates = [_node("g:1", "a:1", "Town"),        # in NetBox already
                  _node("g:2", "a:1", "Town"),        # same name and slug under the same parent
                  _node("g:3", "a:9", "Elsewhere"),   # parent not in NetBox
                  _node("a:2", "c:1", "Other", "admin1"),
                  _node("g:4", "a:1", "Village"), _node("g:5", "a:1", "Hamlet")]
    sample = payload.sample_nodes(candidates, payload.present_keys(tree), 10)
    assert [n["geo_source_id"] for n in sample] == ["g:4", "g:5"]


def test_the_sample_is_spread_over_the_candidates():
    tree = [_node("a:1", None, "Province", "admin1")]
    candidates = [_node("g:%d" % i, "a:1", "Place %d" % i) for i in range(100)]
    sample = payload.sample_nodes(candidates, payload.present_keys(tree), 4)
    assert [n["geo_source_id"] for n in sample] == ["g:0", "g:25", "g:50", "g:75"]
