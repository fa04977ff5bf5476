# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken input: every case gets a clear error naming file, line and field,
or a reported skip, and nothing is half written.

Covers the GeoNames parsers (_sources/geonames), the transform (_dataset/transform: duplicates, orphans,
on_invalid, atomic output), the dataset reader and writer (_dataset/model), geo_fetch's archive
handling (_io: traversal, links, zip bombs) and the error model (GeoFossError).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import stat
import zipfile

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import geonames
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    DatasetError, DatasetHeader, iter_node_dicts, read_dataset, write_dataset,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import RowError, SourceError
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import TransformError, run_transform

ADMIN1_OK = "DE.02\tBavaria\tBavaria\t2951839\n"
COUNTRY_DE = ["DE", "DEU", "276", "GM", "Germany", "Berlin", "357021", "82927922", "EU", ".de", "EUR", "Euro",
              "49", "#####", "", "de", "2921044", "CH,PL", ""]
COUNTRY_FR = ["FR", "FRA", "250", "FR", "France", "Paris", "547030", "66987244", "EU", ".fr", "EUR", "Euro",
              "33", "#####", "", "fr", "3017382", "DE,ES", ""]


def geoname_row(geonameid=2867714, name="Munich", asciiname="Munich", latitude="48.13743", longitude="11.57549",
                country="DE", admin1="02", population="1260391", feature="PPLA"):
    return "\t".join([str(geonameid), name, asciiname, "", latitude, longitude, "P", feature, country, "", admin1,
                      "091", "", "", population, "", "524", "Europe/Berlin", "2023-10-12"]) + "\n"


def country_row(columns):
    return "\t".join(columns) + "\n"


def results(parser, path, *args):
    items = list(parser(str(path), *args))
    return [i for i in items if not isinstance(i, RowError)], [i for i in items if isinstance(i, RowError)]


def write_bytes(path, data):
    path.write_bytes(data)
    return path


# -- line-level hazards -------------------------------------------------------------------------

def test_endless_line_is_one_error_and_the_next_lines_still_parse(tmp_path):
    endless = b"XX.01\t" + b"A" * (geonames.MAX_LINE_BYTES * 20)  # 1.3 MB without a line end
    path = write_bytes(tmp_path / "admin1CodesASCII.txt", ADMIN1_OK.encode() + endless + b"\n" + ADMIN1_OK.replace(
        "DE.02", "DE.03").replace("2951839", "2951840").encode())
    good, bad = results(geonames.parse_admin_codes, path)
    assert [r.key for r in good] == ["DE.02", "DE.03"]
    assert [(e.file, e.line) for e in bad] == [("admin1CodesASCII.txt", 2)]
    assert "longer than" in bad[0].reason


def test_endless_line_inside_a_zip_is_bounded_too(tmp_path):
    path = tmp_path / "cities15000.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", b"1\t" + b"x" * (geonames.MAX_LINE_BYTES * 50) + b"\n"
                         + geoname_row().encode())
    good, bad = results(geonames.parse_geonames_table, path)
    assert [p.name for p in good] == ["Munich"]
    assert (bad[0].file, bad[0].line) == ("cities15000.zip!cities15000.txt", 1)


@pytest.mark.parametrize("raw, reason", [
    (b"DE.02\tBay\xffern\tBayern\t2951839\n", "invalid UTF-8 at byte 10"),
    (b"DE.02\tBay\x00ern\tBayern\t2951839\n", "NUL byte at column 10"),
    (b"DE.02\tBay\xc3\n", "invalid UTF-8"),  # a multi-byte sequence cut by the line end
])
def test_bad_bytes_name_the_line_and_position(tmp_path, raw, reason):
    path = write_bytes(tmp_path / "admin1CodesASCII.txt", ADMIN1_OK.encode() + raw)
    good, bad = results(geonames.parse_admin_codes, path)
    assert len(good) == 1
    assert (bad[0].line, bad[0].file) == (2, "admin1CodesASCII.txt")
    assert reason in bad[0].reason


def test_bom_and_crlf_are_tolerated(tmp_path):
    path = write_bytes(tmp_path / "admin1CodesASCII.txt", b"\xef\xbb\xbf" + ADMIN1_OK.replace("\n", "\r\n").encode())
    good, bad = results(geonames.parse_admin_codes, path)
    assert bad == [] and good[0].key == "DE.02" and good[0].geonameid == 2951839


@pytest.mark.parametrize("text, field", [
    ("DE.02\tBavaria\tBavaria\n", None),                            # a column missing
    ("DE.02\tBavaria\tBavaria\t2951839\textra\n", None),            # one too many
    ("DE.02\t\tBavaria\t2951839\n", "name"),                        # empty name
    ("DE.02\t   \tBavaria\t2951839\n", "name"),                     # blank name
    ("DE.02\tBav\x1baria\tBavaria\t2951839\n", "name"),            # an escape sequence
    ("DE.02\tBavaria\tBavaria\t-5\n", "geonameid"),
    ("DE.02\tBavaria\tBavaria\t0\n", "geonameid"),
    ("DE.02\tBavaria\tBavaria\t99999999999999999999\n", "geonameid"),  # beyond 18 digits
    ("DE.02\tBavaria\tBavaria\t1e5\n", "geonameid"),
    ("de.02\tBavaria\tBavaria\t2951839\n", "code"),
    ("DE\tBavaria\tBavaria\t2951839\n", "code"),
    ("../../etc\tBavaria\tBavaria\t2951839\n", "code"),
])
def test_admin_code_rows_fail_with_the_field_named(tmp_path, text, field):
    path = write_bytes(tmp_path / "admin1CodesASCII.txt", text.encode())
    good, bad = results(geonames.parse_admin_codes, path)
    assert good == []
    assert len(bad) == 1 and bad[0].field == field and bad[0].line == 1
    assert str(bad[0]).startswith("admin1CodesASCII.txt:1: ")


# -- coordinates --------------------------------------------------------------------------------

@pytest.mark.parametrize("latitude, longitude, field", [
    ("91", "11.5", "latitude"),
    ("-90.0001", "11.5", "latitude"),
    ("48.1", "180.5", "longitude"),
    ("48.1", "-181", "longitude"),
    ("nan", "11.5", "latitude"),
    ("48.1", "inf", "longitude"),
    ("1e309", "11.5", "latitude"),        # overflows to inf
    ("", "11.5", "latitude"),
    ("48,1", "11.5", "latitude"),         # decimal comma
    ("0x30", "11.5", "latitude"),
    # swapped: a longitude beyond 90 in the latitude column is caught (one within +-90 cannot be told apart)
    ("151.2", "-33.8", "latitude"),
])
def test_extreme_or_swapped_coordinates_are_refused(tmp_path, latitude, longitude, field):
    path = write_bytes(tmp_path / "cities15000.txt", geoname_row(latitude=latitude, longitude=longitude).encode())
    good, bad = results(geonames.parse_geonames_table, path)
    assert good == []
    assert (bad[0].field, bad[0].line, bad[0].file) == (field, 1, "cities15000.txt")


def test_boundary_coordinates_are_accepted(tmp_path):
    rows = geoname_row(1, latitude="90", longitude="-180") + geoname_row(2, name="South", latitude="-90",
                                                                         longitude="180")
    good, bad = results(geonames.parse_geonames_table, write_bytes(tmp_path / "cities15000.txt", rows.encode()))
    assert bad == []
    assert [(p.latitude, p.longitude) for p in good] == [(90.0, -180.0), (-90.0, 180.0)]


@pytest.mark.parametrize("population, problem", [("-1", "negative"), ("12abc", "not an integer"),
                                                 ("1" * 25, "not an integer")])
def test_bad_population_is_refused(tmp_path, population, problem):
    path = write_bytes(tmp_path / "cities15000.txt", geoname_row(population=population).encode())
    bad = results(geonames.parse_geonames_table, path)[1]
    assert bad[0].field == "population" and problem in bad[0].reason


# -- names that look like formulas or markup ----------------------------------------------------

HOSTILE_NAMES = [
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "<script>alert(1)</script>",
    "Munich<img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_formula_or_markup_names_are_row_errors(tmp_path, name):
    """A spreadsheet formula lead character or HTML markup in a name is refused (a row error
    the transform fails on or skips and reports), never carried into NetBox."""
    path = write_bytes(tmp_path / "cities15000.txt", geoname_row(name=name).encode())
    good, bad = results(geonames.parse_geonames_table, path)
    assert good == []
    assert bad[0].field == "name" and bad[0].line == 1


def test_real_names_with_punctuation_are_kept(tmp_path):
    names = ["Washington, D.C.", "Sant Julià de Lòria", "Provence-Alpes-Côte d'Azur", "Ho Chi Minh City (HCMC)",
             "Kuala Lumpur & Putrajaya", "Bād Ḩubāb", "'Ajman"]
    rows = "".join(geoname_row(i + 1, name=n) for i, n in enumerate(names))
    good, bad = results(geonames.parse_geonames_table, write_bytes(tmp_path / "cities15000.txt", rows.encode()))
    assert bad == [] and [p.name for p in good] == names


# -- files that cannot be read at all -----------------------------------------------------------

def test_truncated_zip_is_a_source_error(tmp_path):
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", "".join(geoname_row(i + 1) for i in range(2000)))
    path = write_bytes(tmp_path / "cities15000.zip", whole.getvalue()[: len(whole.getvalue()) // 2])
    with pytest.raises(SourceError) as caught:
        list(geonames.parse_geonames_table(str(path)))
    assert caught.value.file.startswith("cities15000.zip") and "zip" in caught.value.reason


def test_corrupt_zip_member_is_a_source_error(tmp_path):
    path = tmp_path / "cities15000.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", "".join(geoname_row(i + 1) for i in range(500)))
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # flip bits inside the compressed stream
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="cities15000.zip"):
        list(geonames.parse_geonames_table(str(path)))


def test_zip_with_ambiguous_members_is_refused(tmp_path):
    path = tmp_path / "cities15000.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", geoname_row())
        archive.writestr("b.txt", geoname_row())
    with pytest.raises(SourceError, match="expected cities15000.txt"):
        list(geonames.parse_geonames_table(str(path)))


# -- Natural Earth files ------------------------------------------------------------------------

@pytest.mark.parametrize("properties", [
    {"name": "X", "gn_id": 1e999},          # JSON 1e999 and Infinity load as float inf
    {"name": "X", "gn_id": float("nan")},
    {"name": "X", "latitude": 1e999, "longitude": -1e999},
    {"name": {"nested": "object"}, "iso_a2": ["DE"], "gn_a1_code": 5},
])
def test_natural_earth_odd_property_values_are_ignored_not_fatal(tmp_path, properties):
    from ansible_collections.geofoss.netbox.plugins.module_utils._sources import natural_earth
    path = tmp_path / "ne_50m_admin_1_states_provinces.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": properties, "geometry": None}]}), encoding="utf-8")
    (feature,) = list(natural_earth.read_admin1(str(path)))
    assert feature.gn_id is None and feature.country_code is None and feature.gn_a1_code is None
    assert feature.latitude is None and feature.longitude is None


def test_natural_earth_zip_bomb_is_refused(tmp_path):
    from ansible_collections.geofoss.netbox.plugins.module_utils._sources import natural_earth
    path = tmp_path / "ne_50m_admin_1_states_provinces.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ne_50m_admin_1_states_provinces.shp", b"\0" * (64 * 1024 * 1024))
        archive.writestr("ne_50m_admin_1_states_provinces.dbf", b"\0" * 100)
    with pytest.raises(SourceError) as caught:
        list(natural_earth.read_admin1(str(path)))
    assert "ratio" in caught.value.reason or "bomb" in caught.value.reason


# -- the transform: duplicates, orphans, nothing half written -----------------------------------

def source_folder(tmp_path, countries=(COUNTRY_DE, COUNTRY_FR), admin1=ADMIN1_OK, cities=None):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "countryInfo.txt").write_text("#ISO\tISO3\n" + "".join(country_row(c) for c in countries), encoding="utf-8")
    (src / "admin1CodesASCII.txt").write_text(admin1, encoding="utf-8")
    if cities is not None:
        (src / "cities15000.txt").write_text(cities, encoding="utf-8")
    return src


def transform(src, dest, **options):
    options.setdefault("enrich", "none")
    return run_transform(src=str(src), dest=str(dest), **options)


def leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp") or n.startswith("."))


def test_duplicate_geonameid_fails_naming_both_lines_and_writes_nothing(tmp_path):
    admin1 = ADMIN1_OK + "DE.03\tHesse\tHesse\t2951839\n"
    src = source_folder(tmp_path, admin1=admin1)
    dest = tmp_path / "out" / "world.jsonl"
    dest.parent.mkdir()
    with pytest.raises(TransformError) as caught:
        transform(src, dest, levels=["country", "admin1"])
    text = str(caught.value)
    assert "duplicate geonameid 2951839" in text and "admin1CodesASCII.txt:2" in text
    assert "admin1CodesASCII.txt:1" in text  # where it was first seen
    assert os.listdir(dest.parent) == []


def test_duplicate_geonameid_across_files_is_caught(tmp_path):
    admin1 = "DE.02\tBavaria\tBavaria\t2921044\n"  # the geonameid of Germany in countryInfo
    src = source_folder(tmp_path, admin1=admin1)
    with pytest.raises(TransformError, match="duplicate geonameid 2921044 .first seen at countryInfo.txt:"):
        transform(src, tmp_path / "world.jsonl", levels=["country", "admin1"])


def test_skip_reports_every_bad_row_in_the_reject_file(tmp_path):
    admin1 = ADMIN1_OK + "DE.03\tHesse\tHesse\t2951839\n" + "DE.04\t<b>x</b>\tx\t2951841\n" + "DE.05\tBad\xff\n"
    src = source_folder(tmp_path, admin1=admin1)
    (src / "admin1CodesASCII.txt").write_bytes(admin1.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    dest, rejects = tmp_path / "world.jsonl", tmp_path / "rejects.jsonl"
    result = transform(src, dest, levels=["country", "admin1"], on_invalid="skip", reject_file=str(rejects))
    assert result["counts"] == {"country": 2, "admin1": 1}
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in lines] == [(2, "geonameid"), (3, "name"), (4, None)]
    assert result["rejects"] == 3 and result["reject_file"] == str(rejects)
    assert leftovers(tmp_path) == []


def test_division_of_a_missing_country_is_reported(tmp_path):
    admin1 = ADMIN1_OK + "XQ.01\tNowhere Province\tNowhere Province\t9999001\n"
    src = source_folder(tmp_path, admin1=admin1)
    result = transform(src, tmp_path / "world.jsonl", levels=["country", "admin1"])
    orphans = result["orphans"]
    assert orphans["counts"] == {"admin1_unknown_country": 1}
    assert orphans["sample"][0]["geo_source_id"] == "geonames:9999001"
    assert orphans["sample"][0]["line"] == 2


def test_city_of_a_missing_country_is_reported(tmp_path):
    src = source_folder(tmp_path, cities=geoname_row() + geoname_row(5, name="Ghost Town", country="XQ"))
    result = transform(src, tmp_path / "world.jsonl", levels=["country", "city"], city_min_population=0)
    assert result["orphans"]["counts"].get("city_unknown_country") == 1
    assert {s["name"] for s in result["orphans"]["sample"]} == {"Ghost Town"}


def test_failed_transform_leaves_the_previous_dataset_untouched(tmp_path):
    src = source_folder(tmp_path)
    dest = tmp_path / "world.jsonl"
    transform(src, dest, levels=["country", "admin1"])
    before = dest.read_bytes()
    (src / "admin1CodesASCII.txt").write_text(ADMIN1_OK + "DE.03\tHesse\tHesse\t-1\n", encoding="utf-8")
    with pytest.raises(TransformError, match=r"admin1CodesASCII.txt:2: geonameid"):
        transform(src, dest, levels=["country", "admin1"])
    assert dest.read_bytes() == before
    assert leftovers(tmp_path) == []


# -- the dataset file: a hostile or damaged one is refused with file and line -------------------

def header():
    return DatasetHeader(levels=["country"], provenance=[], filters={})


def country_node(geonameid=1, name="Aland", slug="aland", **changes):
    node = {"geo_source_id": "geonames:%d" % geonameid, "level": "country", "name": name, "slug": slug,
            "parent": None, "description": "Country",
            "attributes": {"country_code": "AA", "iso_3166_1_alpha3": None, "iso_3166_2": None, "geonames_code": "AA",
                           "population": 1, "latitude": 1.0, "longitude": 2.0, "time_zone": None,
                           "feature_code": "PCLI", "wikidata_id": None, "continent": None}}
    node.update(changes)
    return node


@pytest.mark.parametrize("bad, problem", [
    (country_node(name="A\x00land"), "name: contains control"),
    (country_node(name="A\tland"), "name: contains control"),
    (country_node(name="x" * 101), "name: longer than 100"),
    (country_node(slug="../etc"), "slug"),
    (country_node(slug="Aland"), "slug"),
    (country_node(parent="geonames:1"), "own parent"),
    (country_node(parent="geonames:404"), "parent geonames:404"),
    (country_node(geo_source_id="geonames:1; DROP TABLE"), "geo_source_id"),
    (dict(country_node(), extra=1), "keys must be"),
])
def test_writer_refuses_bad_nodes_and_keeps_the_old_file(tmp_path, bad, problem):
    path = tmp_path / "world.jsonl"
    write_dataset(str(path), header(), [country_node(geonameid=7, slug="other", name="Other")])
    before = path.read_bytes()
    with pytest.raises(DatasetError) as caught:
        write_dataset(str(path), header(), [bad])
    assert str(caught.value).startswith("%s:2: " % path) and problem in str(caught.value)
    assert "(node %s)" % bad["geo_source_id"] in str(caught.value)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_writer_refuses_duplicate_ids(tmp_path):
    with pytest.raises(DatasetError, match="duplicate geo_source_id geonames:1"):
        write_dataset(str(tmp_path / "w.jsonl"), header(), [country_node(), country_node(slug="b", name="B")])
    assert os.listdir(tmp_path) == []


def good_dataset(tmp_path, name="world.jsonl"):
    path = tmp_path / name
    write_dataset(str(path), header(), [country_node(), country_node(2, "Bland", "bland")])
    return path


@pytest.mark.parametrize("damage, expected", [
    (lambda data: data.replace(b'"Bland"', b'"Bl\xffnd"'), ":3: not UTF-8 (byte 0xff at byte"),
    (lambda data: data + b"{not json\n", ":4: not JSON"),
    (lambda data: data.replace(b'"Bland"', b'"Bl\\u0000nd"'), ":3: name: contains control"),
    (lambda data: data.replace(b'"latitude":1.0', b'"latitude":1e999', 1), ":2: attributes.latitude: must be"),
    (lambda data: data.replace(b'"kind":"geofoss.netbox/dataset"', b'"kind":"evil"'), ":1: not a"),
    (lambda data: data.replace(b'"schema_version":1', b'"schema_version":99'), "schema_version 99"),
    (lambda data: b"", "empty file"),
])
def test_damaged_dataset_is_refused_naming_the_file(tmp_path, damage, expected):
    path = good_dataset(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetError) as caught:
        list(iter_node_dicts(str(path), validate=True))
    assert str(path) in str(caught.value) and expected in str(caught.value)
    with pytest.raises(DatasetError, match=re.escape(str(path))):
        list(read_dataset(str(path))[1])


def test_truncated_gzip_dataset_is_refused(tmp_path):
    path = good_dataset(tmp_path, "world.jsonl.gz")
    data = path.read_bytes()
    assert gzip.decompress(data).count(b"\n") == 3
    path.write_bytes(data[: len(data) - 12])
    with pytest.raises(DatasetError, match="world.jsonl.gz"):
        list(iter_node_dicts(str(path)))


# -- archives: traversal, links, bombs ---------------------------------------------------------
# Nothing in the collection extracts an archive to disk (members are read in memory), so a
# ../ or absolute member name or a symlink entry cannot place a file anywhere; they are
# still refused, as a sign of a forged archive. Bombs are refused by their declared sizes
# (zipfile enforces them while reading: a member larger than declared fails its CRC).

def _symlink_entry(name, target):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the mode bits in external_attr are honoured by unzip
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def hostile_zips(folder):
    """name -> (path, what the refusal must say)."""
    made = {}
    path = folder / "traversal.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../cities15000.txt", geoname_row())
    made["traversal"] = (path, "'../../cities15000.txt' would escape")
    path = folder / "absolute.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("/tmp/cities15000.txt", geoname_row())
    made["absolute"] = (path, "'/tmp/cities15000.txt' has an absolute path")
    path = folder / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(*_symlink_entry("cities15000.txt", "/etc/passwd"))
    made["link"] = (path, "'cities15000.txt' is a symbolic link")
    path = folder / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", b"\0" * (64 * 1024 * 1024))  # 64 MiB in ~64 KiB: ratio ~1000
    made["ratio"] = (path, "refused as a zip bomb")
    return made


@pytest.mark.parametrize("kind", ["traversal", "absolute", "link", "ratio"])
def test_cache_refuses_hostile_archives(tmp_path, kind):
    from ansible_collections.geofoss.netbox.plugins.module_utils._io import zip_problem
    path, expected = hostile_zips(tmp_path)[kind]
    problem = zip_problem(str(path))
    assert problem is not None, "%s accepted" % path.name
    assert expected in problem, problem


@pytest.mark.parametrize("kind", ["traversal", "absolute", "link", "ratio"])
def test_parser_refuses_hostile_archives(tmp_path, kind):
    made = tmp_path / "made"
    made.mkdir()
    path, expected = hostile_zips(made)[kind]
    folder = tmp_path / "src"
    folder.mkdir()
    target = folder / "cities15000.zip"
    os.replace(path, target)
    with pytest.raises(SourceError) as caught:
        list(geonames.parse_geonames_table(str(target)))
    assert expected in caught.value.reason, caught.value.reason
    assert os.listdir(folder) == ["cities15000.zip"]  # nothing extracted, nothing left


def test_real_archives_pass_the_archive_checks():
    """The caps leave room for the real downloads (ratios up to ~25 in these files)."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._io import zip_problem
    folder = os.environ.get("GEOFOSS_GEODATA")
    if not folder or not os.path.isdir(folder):
        pytest.skip("GEOFOSS_GEODATA not set")
    paths = [os.path.join(folder, "geonames", "cities15000.zip"),
             os.path.join(folder, "naturalearth", "ne_50m_admin_0_countries.zip")]
    assert [zip_problem(p) for p in paths] == [None, None]


# -- one error model: every failure of the data side is a GeoFossError that ends a module ---------

class FailingModule:
    """What exc.fail(module) needs of an AnsibleModule."""

    def __init__(self):
        self.failed = None

    def fail_json(self, **kwargs):
        self.failed = kwargs


@pytest.mark.parametrize("error", [
    "_sources.fetch.FetchError", "_sources.cache.CacheError", "_sources.bundled.BundledDataError",
    "_sources.nominatim.NominatimError", "_sources.geonames.SourceError", "_sources.geonames.RowError",
    "_dataset.model.DatasetError", "_dataset.transform.TransformError", "_geo.index.GeoIndexError",
    "_geo.lookup.GeoLookupError", "_geo.lookup.NotFound",
])
def test_every_data_side_error_is_a_geofoss_error(error):
    from importlib import import_module
    from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
    module_name, name = error.rsplit(".", 1)
    cls = getattr(import_module("ansible_collections.geofoss.netbox.plugins.module_utils." + module_name), name)
    assert issubclass(cls, GeoFossError)


def test_a_transform_failure_ends_the_module_with_file_line_field_and_the_rows(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "countryInfo.txt").write_text(country_row(COUNTRY_DE) + country_row(COUNTRY_FR).replace("FRA", "F1"))
    with pytest.raises(TransformError) as caught:
        run_transform(src=str(src), dest=str(tmp_path / "world.jsonl"), levels=["country"])
    module = FailingModule()
    caught.value.fail(module)
    assert module.failed["msg"].startswith("1 invalid row") and "countryInfo.txt:2: ISO3: 'F1'" in module.failed["msg"]
    assert module.failed["error_count"] == 1
    assert module.failed["errors"] == [{"file": "countryInfo.txt", "line": 2, "field": "ISO3",
                                        "reason": "'F1' is not an ISO 3166-1 alpha-3 code"}]


def test_other_transform_failures_end_the_module_with_an_empty_error_list(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "countryInfo.txt").write_text(country_row(COUNTRY_DE))
    (src / "cities500.zip").write_bytes(b"<html>503</html>")
    with pytest.raises(SourceError) as caught:
        run_transform(src=str(src), dest=str(tmp_path / "world.jsonl"), levels=["country", "city"])
    module = FailingModule()
    caught.value.fail(module)
    assert module.failed == {"msg": "cities500.zip: not a valid zip archive (truncated download?): File is not a zip "
                                    "file", "errors": []}
