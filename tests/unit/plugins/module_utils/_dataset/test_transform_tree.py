# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform's tree options: include_historic, language, grouping, own_places."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import iter_node_dicts, read_header
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.team_files import TeamFileError
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import TransformError, run_transform


def country(code, iso3, name, continent, geonameid, population):
    return "\t".join([code, iso3, "000", code, name, "Capital", "1", str(population), continent, ".x", "EUR",
                      "Euro", "1", "", "", "xx", str(geonameid), "", ""])


COUNTRIES = (
    country("DE", "DEU", "Germany", "EU", 2921044, 82927922),
    country("AT", "AUT", "Austria", "EU", 2782113, 8847037),
    country("LU", "LUX", "Luxembourg", "EU", 2960313, 602005),
    country("JP", "JPN", "Japan", "AS", 1861060, 126529100),
    country("AQ", "ATA", "Antarctica", "AN", 6697173, 0),
    country("XK", "XKX", "Kosovo", "EU", 831053, 1845300),
    country("AN", "ANT", "Netherlands Antilles", "NA", 8505032, 300000),
    country("CS", "SCG", "Serbia and Montenegro", "EU", 8505033, 10829175),
)
ADMIN1 = (
    "DE.02\tBavaria\tBavaria\t2951839",
    "DE.05\tHesse\tHesse\t2905330",
    "AT.09\tVienna\tVienna\t2761367",
    "JP.40\tTokyo\tTokyo\t1850144",
    "CS.00\tOld Province\tOld Province\t9999002",
)


@pytest.fixture(name="src")
def source_folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "countryInfo.txt").write_text("\n".join(COUNTRIES) + "\n", encoding="utf-8")
    (src / "admin1CodesASCII.txt").write_text("\n".join(ADMIN1) + "\n", encoding="utf-8")
    return str(src)


def run(tmp_path, src, name="ds.jsonl", **options):
    options.setdefault("levels", ["continent", "country", "admin1"])
    return run_transform(src=src, dest=str(tmp_path / name), enrich="none", **options)


def nodes_of(result):
    return {n["geo_source_id"]: n for n in iter_node_dicts(result["dest"], validate=True)}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_current_countries_only_by_default(tmp_path, src):
    result = run(tmp_path, src)
    codes = {n["attributes"]["country_code"] for n in nodes_of(result).values() if n["level"] == "country"}
    assert codes == {"DE", "AT", "LU", "JP", "AQ", "XK"}
    assert result["historic_left_out"] == ["AN", "CS"]
    assert "geonames:9999002" not in nodes_of(result)  # CS's division goes with it, no orphan
    assert result["orphans"]["total"] == 0
    kept = run(tmp_path, src, name="all.jsonl", include_historic=True)
    assert {"AN", "CS"} <= {n["attributes"]["country_code"] for n in nodes_of(kept).values()}
    assert kept["historic_left_out"] == []


def test_asking_for_a_historic_country_warns(tmp_path, src):
    result = run(tmp_path, src, countries=["DE", "CS"])
    assert any("CS" in w and "include_historic" in w for w in result["warnings"])


def test_language_renames_and_keeps_slugs(tmp_path, src):
    english = nodes_of(run(tmp_path, src, name="en.jsonl"))
    german = nodes_of(run(tmp_path, src, name="de.jsonl", language="de"))
    local = nodes_of(run(tmp_path, src, name="local.jsonl", language="local"))
    assert set(english) == set(german) == set(local)
    assert {sid: n["slug"] for sid, n in english.items()} == {sid: n["slug"] for sid, n in german.items()} == {
        sid: n["slug"] for sid, n in local.items()}
    assert [english["geonames:2921044"]["name"], german["geonames:2921044"]["name"],
            local["geonames:2921044"]["name"]] == ["Germany", "Deutschland", "Deutschland"]
    assert [english["geonames:2951839"]["name"], german["geonames:2951839"]["name"]] == ["Bavaria", "Bayern"]
    assert [english["geonames:1861060"]["name"], local["geonames:1861060"]["name"]] == ["Japan", "日本"]
    assert [english["geonames:6255148"]["name"], german["geonames:6255148"]["name"]] == ["Europe", "Europa"]
    # descriptions stay English: a language switch changes names only
    assert {sid: n["description"] for sid, n in english.items()} == {sid: n["description"] for sid, n in german.items()}
    assert english["geonames:2951839"]["slug"] == "de-bayern"
    assert english["geonames:2905330"]["attributes"]["iso_3166_2"] == "DE-HE"


def test_unknown_language_is_refused(tmp_path, src):
    with pytest.raises(TransformError, match="language: iso-codes .* has no translation of country names into 'xx'"):
        run(tmp_path, src, language="xx")


def test_un_m49(tmp_path, src):
    result = run(tmp_path, src, grouping="un_m49")
    nodes = nodes_of(result)
    assert nodes["geonames:2921044"]["parent"] == "m49:155"
    assert (nodes["m49:155"]["name"], nodes["m49:155"]["slug"], nodes["m49:155"]["parent"]) == (
        "Western Europe", "western-europe", "m49:150")
    assert nodes["geonames:831053"]["parent"] == "m49:039"  # XK in Southern Europe
    assert nodes["geonames:1861060"]["parent"] == "m49:030"
    # Antarctica is in no M49 region: under its continent, the only continent left
    assert nodes["geonames:6697173"]["parent"] == "geonames:6255152"
    assert [n["name"] for n in nodes.values() if n["level"] == "continent"] == ["Antarctica"]
    assert result["counts"]["group"] == 5  # Europe, Western and Southern Europe, Asia, Eastern Asia: no empty ones
    assert read_header(result["dest"]).levels == ["group", "continent", "country", "admin1"]


def test_none_puts_countries_at_the_top_and_refuses_continents(tmp_path, src):
    nodes = nodes_of(run(tmp_path, src, grouping="none", levels=["country"]))
    assert all(n["parent"] is None for n in nodes.values())
    with pytest.raises(TransformError, match="grouping none .* levels has continent"):
        run(tmp_path, src, grouping="none")


def test_a_team_grouping_file(tmp_path, src):
    groups = write(tmp_path, "groups.yml", "EMEA:\n  DACH: [DE, AT]\nAPAC: [JP]\n")
    nodes = nodes_of(run(tmp_path, src, grouping=groups))
    assert nodes["geonames:2921044"]["parent"] == "custom:dach"
    assert nodes["custom:dach"]["parent"] == "custom:emea"
    assert nodes["geonames:1861060"]["parent"] == "custom:apac"
    assert nodes["geonames:2960313"]["parent"] == "geonames:6255148"  # LU not listed: under Europe
    assert "geonames:6255147" not in nodes  # Asia holds no country any more
    assert nodes["custom:emea"]["description"] == "Group custom:emea"


def test_a_grouping_file_with_a_problem_writes_nothing(tmp_path, src):
    groups = write(tmp_path, "groups.yml", "EMEA: [DE, AT]\nDACH: [DE]\n")
    with pytest.raises(TeamFileError, match=r"groups.yml:2: DACH: DE is already in group EMEA \(line 1\)"):
        run(tmp_path, src, grouping=groups)
    assert not (tmp_path / "ds.jsonl").exists()


def test_unknown_grouping(tmp_path, src):
    with pytest.raises(TransformError, match="grouping: 'planets' is neither one of continent, un_m49, none"):
        run(tmp_path, src, grouping="planets")


def test_own_places(tmp_path, src):
    square = {"type": "Polygon", "coordinates": [[[8.5, 50.0], [8.8, 50.0], [8.8, 50.2], [8.5, 50.0]]]}
    own = write(tmp_path, "own.csv",
                "id,name,parent,slug,description,latitude,longitude,polygon\n"
                "fra-dc1,FRA DC 1,fra-metro,,,50.1,8.6,\n"
                "fra-metro,Frankfurt Metro,DE-HE,,Our sites,50.11,8.68,\"%s\"\n"
                "tokyo,Tokyo Campus,1850144,tokyo-campus,,,,\n"
                "lux,Luxembourg Office,LU,,,,,\n"
                "top,Everywhere,,,,,,\n" % json.dumps(square).replace('"', '""'))
    result = run(tmp_path, src, own_places=own, countries=["DE", "JP"])
    nodes = nodes_of(result)
    assert result["counts"]["custom"] == 4 and result["own_places_left_out"] == ["lux"]
    metro, dc1 = nodes["custom:fra-metro"], nodes["custom:fra-dc1"]
    assert (metro["parent"], metro["slug"], metro["description"]) == ("geonames:2905330", "de-frankfurt-metro", "Our sites")
    assert metro["attributes"]["country_code"] == "DE" and metro["attributes"]["latitude"] == 50.11
    assert (dc1["parent"], dc1["slug"]) == ("custom:fra-metro", "de-fra-dc-1")
    assert (nodes["custom:tokyo"]["parent"], nodes["custom:tokyo"]["slug"]) == ("geonames:1850144", "tokyo-campus")
    assert nodes["custom:top"]["parent"] is None and nodes["custom:top"]["slug"] == "everywhere"
    polygons = json.load(open(result["polygon_files"]["custom"], encoding="utf-8"))
    assert [f["properties"]["geo_source_id"] for f in polygons["features"]] == ["custom:fra-metro"]
    assert read_header(result["dest"]).side_files == {"custom_polygons": "ds.jsonl.custom.geojson"}
    assert any("lux" in w for w in result["warnings"])


def test_own_place_under_a_level_left_out(tmp_path, src):
    own = write(tmp_path, "own.csv", "id,name,parent\nmetro,Metro,DE-HE\n")
    nodes = nodes_of(run(tmp_path, src, own_places=own, levels=["country"]))
    assert nodes["custom:metro"]["parent"] == "geonames:2921044"  # Hesse is not built: its country


@pytest.mark.parametrize("rows, message", [
    ("metro,Metro,DE-ZZ\n", r"own.csv:2: parent: no node with the ISO 3166-2 code DE-ZZ in the dataset"),
    ("metro,Metro,424242\n", r"own.csv:2: parent: no node with the geonameid 424242"),
    ("metro,Bayern,DE\n", r"own.csv:2: name: 'Bayern' is already the name of another region under DE"),
    ("metro,Metro,DE,de-bayern\n", r"own.csv:2: slug: 'de-bayern' is already the slug of geonames:2951839"),
])
def test_own_places_problems_write_nothing(tmp_path, src, rows, message):
    own = write(tmp_path, "own.csv", "id,name,parent,slug\n" + rows.replace("\n", ",\n" if rows.count(",") == 2 else "\n"))
    with pytest.raises(TeamFileError, match=message):
        run(tmp_path, src, own_places=own, language="de")
    assert not (tmp_path / "ds.jsonl").exists()


def test_levels_cannot_ask_for_groups(tmp_path, src):
    with pytest.raises(TransformError, match="groups come from grouping"):
        run(tmp_path, src, levels=["group", "country"])
