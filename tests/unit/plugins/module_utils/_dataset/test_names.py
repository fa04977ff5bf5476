# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names in the chosen language: one policy whatever the source, slugs never follow."""

from __future__ import annotations

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.names import (
    NamesError, NameTable, coverage, locale_of,
)


@pytest.fixture(scope="module")
def tables():
    return {language: NameTable(language) for language in ("en", "de", "fr", "ja", "local")}


@pytest.mark.parametrize("written, locale", [
    ("en", "en"), ("EN", "en"), ("local", "local"), ("de", "de"), ("pt-BR", "pt_BR"), ("pt_br", "pt_BR"),
    ("zh", "zh_CN"), ("zh-TW", "zh_TW"), ("nb", "nb_NO"), ("sr@latin", "sr@latin"),
    ("de-AT", "de"),  # no Austrian catalogue: the language's own
    ("en-US", "en"),
])
def test_locale_of(written, locale):
    assert locale_of(written) == locale


@pytest.mark.parametrize("written", ["xx", "english", "", "d", "de_", None, 7])
def test_locale_of_refuses_what_is_no_language(written):
    with pytest.raises(NamesError, match="language"):
        locale_of(written)


def test_unknown_language_lists_the_choices():
    with pytest.raises(NamesError) as error:
        NameTable("xx")
    assert "'xx'" in str(error.value) and " de, " in str(error.value) and "'local'" in str(error.value)


def test_countries_english_is_geonames_name_other_languages_iso_codes(tables):
    assert tables["en"].country("DE", "Germany") == "Germany"
    assert tables["de"].country("DE", "Germany") == "Deutschland"
    assert tables["fr"].country("DE", "Germany") == "Allemagne"
    assert tables["ja"].country("DE", "Germany") == "ドイツ"


def test_common_name_translation_beats_the_iso_short_name(tables):
    # ISO: "Korea, Republic of"; its common name South Korea is what people call it
    assert tables["de"].country("KR", "South Korea") == "Südkorea"
    assert tables["fr"].country("KR", "South Korea") == "Corée du Sud"


def test_local_country_name_is_its_first_official_language(tables):
    assert tables["local"].country("DE", "Germany") == "Deutschland"
    assert tables["local"].country("JP", "Japan") == "日本"
    assert tables["local"].country("CH", "Switzerland") == "Schweiz"  # de-CH comes first
    assert tables["local"].country("US", "United States") == "United States"  # en-US: GeoNames' English


def test_countries_without_iso_entry_keep_the_source_name(tables):
    assert tables["de"].country("XK", "Kosovo") == "Kosovo"
    assert tables["local"].country("XK", "Kosovo") == "Kosovo"


def test_divisions_iso_name_translated_where_iso_codes_can(tables):
    assert tables["en"].division_name("DE.02", "Bavaria") == "Bavaria"
    assert tables["de"].division_name("DE.02", "Bavaria") == "Bayern"
    assert tables["local"].division_name("DE.02", "Bavaria") == "Bayern"
    assert tables["fr"].division_name("DE.02", "Bavaria") == "Bavière"
    # no English translation of Wien in iso-codes: the ISO (local) form, whatever the source said
    assert tables["en"].division_name("AT.09", "Vienna") == "Wien"
    assert tables["en"].division_name("AT.09", "Wien") == "Wien"


def test_division_slug_name_does_not_follow_the_language(tables):
    assert {table.slug_name("DE.02", "Bavaria") for table in tables.values()} == {"Bayern"}


def test_unknown_division_keeps_the_source_name(tables):
    assert tables["de"].division_name("ZZ.99", "Nowhere") == "Nowhere"
    assert tables["de"].slug_name("ZZ.99", "Nowhere") == "Nowhere"
    assert tables["de"].division("ZZ.99") is None


def test_geonames_admin1_codes_map_to_iso_3166_2(tables):
    assert tables["en"].division("DE.02").iso_code == "DE-BY"
    assert tables["en"].division("US.CA").iso_code == "US-CA"


def test_continents(tables):
    assert tables["en"].continent("EU", "Europe") == "Europe"
    assert tables["de"].continent("EU", "Europe") == "Europa"
    assert tables["local"].continent("EU", "Europe") == "Europe"
    assert tables["de"].continent("XX", "Elsewhere") == "Elsewhere"


def test_translated_counts_what_was_translated():
    table = NameTable("de")
    table.country("DE", "Germany")
    table.country("XK", "Kosovo")
    table.division_name("DE.02", "Bavaria")
    assert table.translated == {"continent": 0, "country": 1, "admin1": 0}  # Bayern is Bayern in German


def test_coverage_counts():
    counts = coverage()
    assert counts["totals"]["countries"] >= 249 and counts["totals"]["divisions"] >= 5000
    listed, different = counts["countries"]["de"]
    assert listed == counts["totals"]["countries"] and 100 < different < listed  # Andorra is Andorra
    listed, different = counts["divisions"]["en"]
    assert different < 100 < listed  # English keeps most ISO 3166-2 names as they are
