# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetBox-safe names, slugs and descriptions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    DESCRIPTION_MAX, NAME_MAX, SLUG_MAX, clean_description, clean_name, description_problem, format_population,
    is_valid_slug, make_slug, name_problem, slugify, unique_names_and_slugs,
)

NETBOX_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")  # Django's validate_slug, as NetBox's SlugField uses it


@pytest.mark.parametrize("text, slug", [
    ("Sant Julià de Lòria", "sant-julia-de-loria"),
    ("Île-de-France", "ile-de-france"),
    ("Straße", "strasse"),
    ("Øresund", "oresund"),
    ("Łódź", "lodz"),
    ("Đà Nẵng", "da-nang"),
    ("Æbeltoft", "aebeltoft"),
    ("Œuvre", "oeuvre"),
    ("Þórshöfn", "thorshofn"),
    ("O'Higgins", "ohiggins"),
    ("  Washington, D.C.  ", "washington-d-c"),
    ("北京", ""),
])
def test_slugify_transliterates(text, slug):
    assert slugify(text) == slug


def test_make_slug_keeps_suffix_and_limit():
    slug = make_slug("us", "x" * 300, suffix="4250542")
    assert len(slug) == SLUG_MAX
    assert slug.startswith("us-xxx") and slug.endswith("-4250542")
    assert make_slug("cn", slugify("北京")) == "cn"
    assert make_slug("", "", suffix="") == ""


def test_clean_name_truncates_and_qualifies():
    long_name = "A" * 99 + " Bcd"
    assert clean_name(long_name) == "A" * 99  # truncated to 100, trailing space trimmed
    qualified = clean_name("N" * 120, "Ohio")
    assert len(qualified) == NAME_MAX and qualified.endswith(" (Ohio)")
    assert clean_name("  Two\tWords\r\n ") == "Two Words"
    assert name_problem(clean_name("x\x00y")) is None


def test_name_and_description_problems():
    assert name_problem("") == "must not be empty"
    assert "whitespace" in name_problem(" x")
    assert "control" in name_problem("a\tb")
    assert "longer than 100" in name_problem("x" * 101)
    assert description_problem("") is None
    assert "longer than 200" in description_problem("d" * 201)
    text = clean_description("word " * 100)
    assert len(text) == DESCRIPTION_MAX and text.endswith("\u2026")


def test_format_population():
    assert format_population(1260391) == "1,260,391"


def _entry(entry_id, name, slug, qualifier=None, rank=(0,), prefix="us"):
    return {"id": entry_id, "name": name, "slug": slug, "qualifier": qualifier, "rank": rank, "slug_prefix": prefix}


def test_unique_names_and_slugs_best_rank_keeps_plain_name():
    chosen = unique_names_and_slugs([
        _entry("4951788", "Springfield", "us-springfield", "Massachusetts", rank=(4, -150000)),
        _entry("4250542", "Springfield", "us-springfield", "Illinois", rank=(4, -116000)),
        _entry("4409896", "Springfield", "us-springfield", "Missouri", rank=(4, -160000)),
        _entry("1", "Dayton", "us-dayton", "Ohio"),
    ])
    assert chosen["4409896"] == ("Springfield", "us-springfield")
    assert chosen["4951788"] == ("Springfield (Massachusetts)", "us-springfield-4951788")
    assert chosen["4250542"] == ("Springfield (Illinois)", "us-springfield-4250542")
    assert chosen["1"] == ("Dayton", "us-dayton")


def test_unique_names_fall_back_to_id_when_qualifier_also_clashes():
    chosen = unique_names_and_slugs([
        _entry("10", "Hill", "xx-hill", "North", rank=(1,)),
        _entry("11", "Hill", "xx-hill", "North", rank=(2,)),
        _entry("12", "Hill", "xx-hill", "North", rank=(3,)),
        _entry("13", "Hill (North)", "xx-hill-north", None, rank=(4,)),  # a real name equal to a qualified one
    ])
    names = [name for name, _slug in chosen.values()]
    slugs = [slug for _name, slug in chosen.values()]
    assert len(set(names)) == 4 and len(set(slugs)) == 4
    assert chosen["13"][0] == "Hill (North)"  # plain unique names are never taken away
    assert chosen["11"][0] == "Hill (11)" and chosen["12"][0] == "Hill (12)"


def test_unique_names_is_deterministic_whatever_the_input_order():
    entries = [_entry(str(i), "Same", "us-same", "Q%d" % (i % 2), rank=(i % 3,)) for i in range(9)]
    assert unique_names_and_slugs(entries) == unique_names_and_slugs(list(reversed(entries)))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_slugify_always_valid_and_stable(text):
    slug = slugify(text)
    assert slug == "" or is_valid_slug(slug)
    assert slug == "" or NETBOX_SLUG.match(slug)
    assert len(slug) <= SLUG_MAX
    assert slugify(text) == slug
    assert slugify(slug) == slug  # idempotent


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=150), max_size=3), st.from_regex(r"[0-9]{1,12}", fullmatch=True))
def test_make_slug_with_suffix_always_valid(parts, suffix):
    slug = make_slug(*parts, suffix=suffix)
    assert is_valid_slug(slug)
    assert slug.endswith(suffix)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=60))
def test_clean_name_always_acceptable_to_netbox(text, qualifier):
    name = clean_name(text, qualifier)
    if name:
        assert name_problem(name) is None
    assert len(name) <= NAME_MAX
