# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset file: models, writer, readers."""

from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    ATTRIBUTE_KEYS, DATASET_KIND, LEVELS, SCHEMA_VERSION, CityNode, DatasetError, DatasetHeader, Node,
    iter_node_dicts, node_problem, parse_node, read_dataset, read_header, write_dataset,
)


def node(source_id, level, name, slug, parent=None, **attributes):
    values = dict.fromkeys(ATTRIBUTE_KEYS)
    values.update(attributes)
    return {"geo_source_id": source_id, "level": level, "name": name, "slug": slug, "parent": parent,
            "description": "", "attributes": values}


def small_world():
    """Deliberately unsorted."""
    return [
        node("geonames:2867714", "city", "München", "de-munchen", "geonames:2951839", country_code="DE",
             population=1260391, latitude=48.137, longitude=11.575, time_zone="Europe/Berlin", feature_code="PPLA"),
        node("geonames:2951839", "admin1", "Bavaria", "de-bavaria", "geonames:2921044", country_code="DE",
             iso_3166_2="DE-BY", geonames_code="DE.02"),
        node("geonames:2921044", "country", "Germany", "germany", "geonames:6255148", country_code="DE",
             iso_3166_1_alpha3="DEU", population=82927922),
        node("geonames:6255148", "continent", "Europe", "europe", None, continent="EU"),
        node("geonames:2782113", "country", "Austria", "austria", "geonames:6255148", country_code="AT"),
    ]


def test_constants_match_the_documented_format():
    assert LEVELS == ("group", "continent", "country", "admin1", "admin2", "city", "custom")
    assert SCHEMA_VERSION == 1
    assert len(ATTRIBUTE_KEYS) == 11 and ATTRIBUTE_KEYS[0] == "country_code"


def test_write_sorts_counts_and_round_trips(tmp_path):
    path = str(tmp_path / "ds.jsonl")
    sha = write_dataset(path, DatasetHeader(levels=["city", "continent", "country", "admin1"]), small_world())
    raw = open(path, "rb").read()
    assert sha == hashlib.sha256(raw).hexdigest()
    lines = raw.decode("utf-8").split("\n")
    assert lines[-1] == ""
    header = json.loads(lines[0])
    assert header["kind"] == DATASET_KIND
    assert header["levels"] == ["continent", "country", "admin1", "city"]
    assert header["counts"] == {"continent": 1, "country": 2, "admin1": 1, "city": 1}
    assert header["sha256_nodes"] == hashlib.sha256("".join(l + "\n" for l in lines[1:-1]).encode()).hexdigest()
    ids = [json.loads(l)["geo_source_id"] for l in lines[1:-1]]
    # level, then country code (AT before DE), then id
    assert ids == ["geonames:6255148", "geonames:2782113", "geonames:2921044", "geonames:2951839", "geonames:2867714"]
    assert "München" in lines[-2]  # non-ASCII kept as UTF-8, not \u escapes
    header_model, nodes = read_dataset(path)
    nodes = list(nodes)
    assert header_model.counts["country"] == 2
    assert isinstance(nodes[-1], CityNode) and nodes[-1].attributes.population == 1260391
    assert [n["geo_source_id"] for n in iter_node_dicts(path, validate=True)] == ids
    assert read_header(path).sha256_nodes == header["sha256_nodes"]


def test_same_input_same_bytes_and_unchanged_file_left_alone(tmp_path):
    path = str(tmp_path / "ds.jsonl.gz")
    first = write_dataset(path, DatasetHeader(), small_world())
    stat = os.stat(path)
    second = write_dataset(path, DatasetHeader(), list(reversed(small_world())))
    assert first == second
    assert os.stat(path).st_ino == stat.st_ino  # not replaced
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert json.loads(handle.readline())["counts"]["city"] == 1
    assert [n.name for n in read_dataset(path)[1]][0] == "Europe"


def test_keys_in_another_order_and_models_give_the_same_bytes(tmp_path):
    first = write_dataset(str(tmp_path / "a.jsonl"), DatasetHeader(), small_world())
    shuffled = [dict(reversed(list(dict(n, attributes=dict(reversed(list(n["attributes"].items())))).items())))
                for n in small_world()]
    assert write_dataset(str(tmp_path / "b.jsonl"), DatasetHeader(), shuffled) == first
    assert write_dataset(str(tmp_path / "c.jsonl"), DatasetHeader(), [parse_node(n) for n in small_world()]) == first


def test_dry_run_writes_nothing_but_gives_the_sha(tmp_path):
    path = str(tmp_path / "ds.jsonl")
    sha = write_dataset(path, DatasetHeader(), small_world(), dry_run=True)
    assert not os.listdir(tmp_path)
    assert write_dataset(path, DatasetHeader(), small_world()) == sha


@pytest.mark.parametrize("mutate, message", [
    (lambda ns: ns[2].update(slug="austria"), "slug 'austria' is used twice"),
    (lambda ns: ns[4].update(name="Germany"), "name 'Germany' is used twice"),
    (lambda ns: ns[0].update(parent="geonames:999"), "parent geonames:999"),
    (lambda ns: ns[0].update(slug="de-München"), "slug"),
    (lambda ns: ns[0].update(name="x" * 101), "longer than 100"),
    (lambda ns: ns[0].update(name="tab\there"), "control"),
    (lambda ns: ns[0].update(description="d" * 201), "longer than 200"),
    (lambda ns: ns[0]["attributes"].update(latitude=91.0), "attributes.latitude"),
    (lambda ns: ns[0]["attributes"].update(population="many"), "attributes.population"),
    (lambda ns: ns[0]["attributes"].update(extra=1), r"unknown keys \['extra'\]"),
    (lambda ns: ns[0].update(level="town"), "level"),
    (lambda ns: ns.append(dict(ns[0])), "duplicate geo_source_id"),
])
def test_invalid_nodes_raise_and_leave_the_old_file(tmp_path, mutate, message):
    path = str(tmp_path / "ds.jsonl")
    write_dataset(path, DatasetHeader(), small_world())
    before = open(path, "rb").read()
    nodes = small_world()
    mutate(nodes)
    with pytest.raises(DatasetError, match=message):
        write_dataset(path, DatasetHeader(), nodes)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["ds.jsonl"]  # no temporary file left


def test_names_equal_in_other_case_are_different_siblings(tmp_path):
    # NetBox 4.7 compares region names exactly (plain collation)
    nodes = small_world()[2:]
    nodes.append(node("geonames:1", "country", "GERMANY", "germany-1", "geonames:6255148", country_code="XX"))
    write_dataset(str(tmp_path / "ds.jsonl"), DatasetHeader(), nodes)
    written = {n["name"]: n["parent"] for n in iter_node_dicts(str(tmp_path / "ds.jsonl"))}
    assert written["Germany"] == written["GERMANY"] == "geonames:6255148"


def test_presorted_stream_is_checked(tmp_path):
    world = small_world()  # Austria after Germany: out of order
    with pytest.raises(DatasetError, match="out of order"):
        write_dataset(str(tmp_path / "ds.jsonl"), DatasetHeader(), iter([world[3], world[2], world[4]]), presorted=True)


def test_models_per_level():
    data = small_world()[0]
    assert isinstance(parse_node(data), CityNode)
    assert parse_node(data).to_dict() == data
    with pytest.raises(ValueError, match="attributes.country_code: required at level city"):
        parse_node(dict(data, attributes=dict(data["attributes"], country_code=None)))
    with pytest.raises(ValueError, match="a continent has no parent"):
        parse_node(dict(small_world()[3], parent="geonames:1"))
    with pytest.raises(ValueError, match="slug: .Has Space. is not 1-100 characters of a-z, 0-9, - and _"):
        Node.model_validate(dict(data, slug="Has Space"))
    assert node_problem(data) is None


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ("not json\n", "not JSON"),
    ('{"kind": "other"}\n', "not a geofoss.netbox/dataset header"),
    ('{"kind": "geofoss.netbox/dataset", "schema_version": 99}\n', "schema_version 99"),
])
def test_reader_errors_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        list(iter_node_dicts(str(path)))


def test_reader_names_the_bad_line(tmp_path):
    path = str(tmp_path / "ds.jsonl")
    write_dataset(path, DatasetHeader(), small_world())
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"geo_source_id": "geonames:5", "level": "city"}\n')
    with pytest.raises(DatasetError, match=r"ds.jsonl:7: node: keys must be"):
        list(read_dataset(path)[1])
    with pytest.raises(DatasetError, match=r"ds.jsonl:7: node: keys must be") as caught:
        list(iter_node_dicts(path, validate=True))
    assert (caught.value.file, caught.value.line, caught.value.field) == (path, 7, "node")


def nested_world():
    """Groups and own places nest; deliberately unsorted, children before parents."""
    return [
        node("custom:dc1", "custom", "DC 1", "de-dc1", "custom:metro", country_code="DE"),
        node("custom:metro", "custom", "Metro", "de-metro", "geonames:2921044", country_code="DE"),
        node("geonames:2921044", "country", "Germany", "germany", "custom:dach", country_code="DE"),
        node("custom:dach", "group", "DACH", "dach", "custom:emea"),
        node("custom:emea", "group", "EMEA", "emea", None),
    ]


def test_groups_and_own_places_nest_parents_first(tmp_path):
    path = str(tmp_path / "ds.jsonl")
    write_dataset(path, DatasetHeader(levels=["group", "country", "custom"]), nested_world())
    assert [n["geo_source_id"] for n in iter_node_dicts(path, validate=True)] == [
        "custom:emea", "custom:dach", "geonames:2921044", "custom:metro", "custom:dc1"]
    assert read_header(path).counts == {"group": 2, "country": 1, "custom": 2}


def test_presorted_nesting_is_checked(tmp_path):
    nodes = nested_world()
    in_order = [nodes[4], nodes[3], nodes[2], nodes[1], nodes[0]]
    write_dataset(str(tmp_path / "ok.jsonl"), DatasetHeader(), in_order, presorted=True)
    with pytest.raises(DatasetError, match="is not an earlier node"):
        write_dataset(str(tmp_path / "bad.jsonl"), DatasetHeader(), [nodes[4], nodes[3], nodes[2], nodes[0], nodes[1]],
                      presorted=True)


def test_a_continent_has_no_parent_but_a_group_may():
    assert node_problem(node("custom:dach", "group", "DACH", "dach", "custom:emea")) is None
    assert "continent has no parent" in node_problem(node("geonames:1", "continent", "X", "x", "custom:emea"))
    assert node_problem(node("custom:x", "custom", "X", "x", None)) is None  # no country needed
