# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GeoNames parsers: edge cases and robustness."""

from __future__ import annotations

import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import (
    MAX_LINE_BYTES, AdminCode, Country, Place, RowError, SourceError, parse_admin_codes, parse_country_info,
    parse_geonames_table, parse_iso3166_2,
)

COUNTRY_DE = "DE\tDEU\t276\tGM\tGermany\tBerlin\t357021\t82927922\tEU\t.de\tEUR\tEuro\t49\t#####\t^(\\d{5})$\tde\t2921044\tCH,PL\t"
COUNTRY_AD = "AD\tAND\t020\tAN\tAndorra\tAndorra la Vella\t468\t77006\tEU\t.ad\tEUR\tEuro\t376\tAD###\t^(?:AD)*(\\d{3})$\tca\t3041565\tES,FR\t"


def place_row(geonameid=2867714, name="Munich", asciiname="Munich", latitude="48.13743", longitude="11.57549",
              feature_code="PPLA", country="DE", admin1="02", admin2="091", population="1260391",
              time_zone="Europe/Berlin"):
    return "\t".join([str(geonameid), name, asciiname, "München,Monaco", latitude, longitude, "P", feature_code,
                      country, "", admin1, admin2, "09162", "09162000", population, "", "524", time_zone, "2023-10-12"])


def write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def split(results):
    records = [r for r in results if not isinstance(r, RowError)]
    errors = [r for r in results if isinstance(r, RowError)]
    return records, errors


def test_country_info_skips_comments_handles_bom_and_crlf(tmp_path):
    content = ("\ufeff# GeoNames\r\n#ISO\tISO3\r\n" + COUNTRY_DE + "\r\n\r\n" + COUNTRY_AD + "\r\n").encode("utf-8")
    records, errors = split(list(parse_country_info(write(tmp_path, "countryInfo.txt", content))))
    assert errors == []
    assert records[0] == Country(line=3, code="DE", iso3="DEU", name="Germany", capital="Berlin",
                                 population=82927922, continent="EU", geonameid=2921044)
    assert records[1].line == 5 and records[1].code == "AD"


@pytest.mark.parametrize("row, field, reason", [
    (COUNTRY_DE.replace("\tEU\t", "\tXX\t"), "Continent", "'XX' is not one of"),
    (COUNTRY_DE.replace("82927922", "many"), "Population", "'many' is not an integer"),
    (COUNTRY_DE.replace("DE\tDEU", "de\tDEU"), "ISO", "not an ISO 3166-1 alpha-2"),
    (COUNTRY_DE.replace("\tGermany\t", "\t\t"), "Country", "is empty"),
    (COUNTRY_DE.replace("\t2921044\t", "\t0\t"), "geonameid", "not a positive geonameid"),
    (COUNTRY_DE.rsplit("\t", 2)[0], None, "17 tab-separated columns, a countryInfo line has 19"),
])
def test_country_info_errors_name_line_field_reason(tmp_path, row, field, reason):
    path = write(tmp_path, "countryInfo.txt", ("#c\n" + row + "\n").encode())
    errors = split(list(parse_country_info(path)))[1]
    assert len(errors) == 1
    assert (errors[0].file, errors[0].line, errors[0].field) == ("countryInfo.txt", 2, field)
    assert reason in errors[0].reason
    assert str(errors[0]).startswith("countryInfo.txt:2: ")


def test_admin_codes_non_ascii_and_empty_asciiname(tmp_path):
    content = "AD.06\tSant Julià de Lòria\tSant Julia de Loria\t3039162\nFR.11\tÎle-de-France\t\t3012874\n"
    records, errors = split(list(parse_admin_codes(write(tmp_path, "admin1CodesASCII.txt", content.encode()))))
    assert errors == []
    assert records == [AdminCode(1, "AD.06", "Sant Julià de Lòria", "Sant Julia de Loria", 3039162),
                       AdminCode(2, "FR.11", "Île-de-France", "", 3012874)]


def test_admin2_codes_allow_names_as_codes(tmp_path):
    content = "KP.06.Yŏnan-gun\tYŏnan-gun\tYonan-gun\t1\nDE.02\tBavaria\tBavaria\t2\n"
    records, errors = split(list(parse_admin_codes(write(tmp_path, "admin2Codes.txt", content.encode()), "admin2")))
    assert [r.key for r in records] == ["KP.06.Yŏnan-gun"]
    assert errors[0].line == 2 and errors[0].field == "code" and "not a admin2 code" in errors[0].reason


def test_iso3166_2_side_file(tmp_path):
    content = "DE.02\tDE-BY\nDE.16\tberlin\n"
    results = list(parse_iso3166_2(write(tmp_path, "admin1Iso3166-2.txt", content.encode())))
    assert results[0] == (1, "DE.02", "DE-BY")
    assert isinstance(results[1], RowError) and results[1].field == "iso_3166_2"


def test_geoname_table_from_zip_streams_records(tmp_path):
    path = tmp_path / "cities15000.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", place_row() + "\n" + place_row(geonameid=1, population="") + "\n")
    records, errors = split(list(parse_geonames_table(str(path))))
    assert errors == []
    assert records[0] == Place(1, 2867714, "Munich", "Munich", 48.13743, 11.57549, "PPLA", "DE", "02", "091",
                               1260391, "Europe/Berlin")
    assert records[1].population == 0  # empty population: unknown, treated as 0


@pytest.mark.parametrize("row, field, reason", [
    (place_row(latitude="north"), "latitude", "'north' is not a number"),
    (place_row(latitude="95.5"), "latitude", "out of range -90..90"),
    (place_row(longitude="nan"), "longitude", "out of range"),
    (place_row(population="12k"), "population", "'12k' is not an integer"),
    (place_row(population="-5"), "population", "negative"),
    (place_row(geonameid="x1"), "geonameid", "not an integer"),
    (place_row(country="Deutschland"), "country code", "not an ISO 3166-1"),
    (place_row(name=""), "name", "is empty"),
    (place_row(time_zone="Europe/Ber lin"), "timezone", "not a time zone"),
    (place_row() + "\textra", None, "20 tab-separated columns, a geoname line has 19"),
])
def test_geoname_table_errors(tmp_path, row, field, reason):
    path = write(tmp_path, "cities500.txt", (place_row(geonameid=7) + "\n" + row + "\n").encode())
    records, errors = split(list(parse_geonames_table(path)))
    assert len(records) == 1 and len(errors) == 1
    assert (errors[0].file, errors[0].line, errors[0].field) == ("cities500.txt", 2, field)
    assert reason in errors[0].reason


def test_invalid_utf8_nul_and_absurd_lines_are_row_errors(tmp_path):
    content = b"\n".join([
        place_row(geonameid=1).encode(),
        place_row(geonameid=2, name="M\xfcnchen").encode("latin-1"),
        place_row(geonameid=3).encode().replace(b"Munich", b"Mun\x00ich", 1),
        b"x" * (MAX_LINE_BYTES + 10),
        place_row(geonameid=5).encode(),
    ]) + b"\n"
    records, errors = split(list(parse_geonames_table(write(tmp_path, "cities1000.txt", content))))
    assert [r.geonameid for r in records] == [1, 5] and [r.line for r in records] == [1, 5]
    assert [(e.line, e.reason.split(" ")[0]) for e in errors] == [(2, "invalid"), (3, "NUL"), (4, "line")]
    assert "invalid UTF-8" in errors[0].reason


def test_truncated_zip_is_a_source_error(tmp_path):
    good = tmp_path / "cities15000.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", "\n".join(place_row(geonameid=i) for i in range(1, 2000)) + "\n")
    data = good.read_bytes()
    truncated = write(tmp_path, "cut.zip", data[: len(data) // 2])
    with pytest.raises(SourceError, match="cut.zip: not a valid zip archive"):
        list(parse_geonames_table(truncated))


def test_corrupted_zip_member_is_a_source_error(tmp_path):
    path = tmp_path / "cities5000.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("cities5000.txt", place_row() + "\n")
    data = bytearray(path.read_bytes())
    data[data.index(b"Munich")] ^= 0x20  # flip a bit inside the stored data: CRC mismatch
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="cities5000.zip!cities5000.txt: damaged or truncated"):
        list(parse_geonames_table(str(path)))


@pytest.mark.parametrize("member, reason", [
    ("../cities500.txt", "would escape the folder"),
    ("/tmp/cities500.txt", "absolute path"),
])
def test_forged_zip_members_are_refused(tmp_path, member, reason):
    path = tmp_path / "cities500.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, place_row() + "\n")
    with pytest.raises(SourceError, match=reason):
        list(parse_geonames_table(str(path)))


def test_zip_bomb_is_refused_before_reading(tmp_path):
    path = tmp_path / "cities500.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities500.txt", b"\n" * (40 << 20))
    with pytest.raises(SourceError, match="refused as a zip bomb"):
        list(parse_geonames_table(str(path)))


def test_missing_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="countryInfo.txt: cannot read"):
        list(parse_country_info(str(tmp_path / "countryInfo.txt")))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.lists(st.sampled_from(
    [b"\t", b"\n", b"\r\n", b"\xef\xbb\xbf", b"\x00", b"\xff", b"12", b"-", b"DE", b"P", b"PPL", b"1e9", b"nan",
     place_row().encode(), COUNTRY_DE.encode(), b"AD.06\tX\tX\t1"]), max_size=40).map(b"".join))
def test_parsers_only_yield_records_or_row_errors(tmp_path, content):
    path = write(tmp_path, "fuzz.txt", content)
    for parser in (parse_country_info, parse_admin_codes, parse_geonames_table, parse_iso3166_2):
        for item in parser(path):
            assert isinstance(item, (RowError, Country, AdminCode, Place, tuple))
            if isinstance(item, RowError):
                assert item.file == "fuzz.txt" and item.line >= 1 and item.reason
