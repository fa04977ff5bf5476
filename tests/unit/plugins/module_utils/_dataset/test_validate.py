# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One validation of a dataset node: the writer, every reader, the models, the site
placement's and the lookup's index all refuse the same nodes, naming file, line and field."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (
    CityNode, DatasetError, DatasetHeader, Node, iter_node_dicts, node_problem, parse_node,
    read_dataset, write_dataset,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import NodeProblem, check_node
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndexError, load_index
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.lookup import run_lookup
from ansible_collections.geofoss.netbox.tests.unit.plugins.module_utils import geo_fixtures


def node(source_id, level, name, slug, parent=None, **attributes):
    return geo_fixtures.node(source_id, level, name, slug, parent, **attributes)


def world():
    return [
        node("geonames:6255148", "continent", "Europe", "europe", continent="EU"),
        node("geonames:2921044", "country", "Germany", "germany", "geonames:6255148", country_code="DE",
             continent="EU"),
        node("geonames:2951839", "admin1", "Bavaria", "de-bavaria", "geonames:2921044", country_code="DE",
             geonames_code="DE.02", continent="EU"),
        node("geonames:2867714", "city", "Munich", "de-munich", "geonames:2951839", country_code="DE",
             latitude=48.137, longitude=11.575, population=1260391, continent="EU"),
    ]


def city(**attributes):
    return node("geonames:2867714", "city", "Munich", "de-munich", "geonames:2951839",
                **dict(dict(country_code="DE", latitude=48.137, longitude=11.575), **attributes))


# The three disagreements of issue 14 (the fast check accepted them, the models did not),
# then the other rules the models had and the fast check lacked.
INVALID = [
    (city(country_code="germany"), ("attributes.country_code", "'germany' is not an ISO 3166-1 alpha-2 code")),
    (node("geonames:6255148", "continent", "Europe", "europe", continent="XX"), ("attributes.continent", "'XX'")),
    (node("geonames:2951839", "admin1", "Bavaria", "de-bavaria", "geonames:2921044"),
     ("attributes.country_code", "required at level admin1")),
    (node("geonames:6255148", "continent", "Europe", "europe", "geonames:1"), ("parent", "a continent has no parent")),
    (city(iso_3166_1_alpha3="DE"), ("attributes.iso_3166_1_alpha3", "alpha-3")),
    (city(iso_3166_2="BY"), ("attributes.iso_3166_2", "ISO 3166-2")),
    (city(wikidata_id="183"), ("attributes.wikidata_id", "Wikidata")),
    (city(geonames_code="X" * 41), ("attributes.geonames_code", "longer than 40")),
    (city(time_zone="T" * 65), ("attributes.time_zone", "longer than 64")),
    (city(feature_code="PPLAAAAAAAA"), ("attributes.feature_code", "longer than 10")),
    (city(time_zone=["Europe/Berlin"]), ("attributes.time_zone", "must be a string")),
    (dict(city(), level=["city"]), ("level", "is not one of")),
]


@pytest.mark.parametrize("bad, expected", INVALID)
def test_the_fast_check_and_the_models_refuse_the_same_nodes(bad, expected):
    problem = check_node(bad)
    assert problem is not None and problem.field == expected[0] and expected[1] in problem.reason
    assert node_problem(bad) == str(problem)
    with pytest.raises(ValueError, match=expected[0]):
        parse_node(bad)


@pytest.mark.parametrize("good", world())
def test_the_fast_check_and_the_models_accept_the_same_nodes(good):
    assert check_node(good) is None
    assert parse_node(good).to_dict() == good


def test_models_built_in_python_get_the_same_rules():
    with pytest.raises(ValueError, match="attributes.country_code: 'germany'"):
        CityNode(geo_source_id="geonames:1", name="Munich", slug="de-munich", attributes={"country_code": "germany"})
    with pytest.raises(ValueError, match="level: 'admin1' is not city"):
        CityNode(geo_source_id="geonames:1", level="admin1", name="M", slug="m", attributes={"country_code": "DE"})
    built = CityNode(geo_source_id="geonames:1", name="Munich", slug="de-munich", attributes={"country_code": "DE"})
    assert built.to_dict() == dict(node("geonames:1", "city", "Munich", "de-munich", country_code="DE"),
                                   description="")  # the defaults fill what Python code leaves out
    assert Node.model_validate(built.to_dict()).level == "city"


def write_raw(path, nodes):
    """A dataset file as a hand edit could leave it: no writer checks."""
    header = {"kind": "geofoss.netbox/dataset", "schema_version": 1, "levels": ["continent", "country", "admin1",
                                                                                "city"]}
    with open(path, "w", encoding="utf-8") as handle:
        for item in [header] + nodes:
            handle.write(json.dumps(item) + "\n")
    return str(path)


@pytest.mark.parametrize("bad, expected", INVALID[:3])
def test_every_reader_and_the_writer_refuse_it_naming_file_line_and_field(tmp_path, bad, expected):
    nodes = [n for n in world() if n["geo_source_id"] != bad["geo_source_id"]]
    position = next(i for i, n in enumerate(world()) if n["geo_source_id"] == bad["geo_source_id"])
    nodes.insert(position, bad)
    path = write_raw(tmp_path / "edited.jsonl", nodes)
    line = position + 2
    where = "%s:%d: %s: " % (path, line, expected[0])
    with pytest.raises(DatasetError) as caught:  # the sync's reader
        list(iter_node_dicts(path, validate=True))
    assert str(caught.value).startswith(where) and (caught.value.line, caught.value.field) == (line, expected[0])
    with pytest.raises(DatasetError, match=where):
        list(read_dataset(path)[1])
    with pytest.raises(GeoIndexError, match=where):  # the site placement's index
        load_index(path)
    with pytest.raises(GeoIndexError, match=where):  # the lookup
        run_lookup(["Munich"], dataset=path)
    written = str(tmp_path / "written.jsonl")
    expected_message = "%s:%d: %s: .*\\(node %s\\)" % (written, line, expected[0], bad["geo_source_id"])
    with pytest.raises(DatasetError, match=expected_message):
        write_dataset(written, DatasetHeader(levels=["continent", "country", "admin1", "city"]), nodes)


def test_a_valid_file_reads_the_same_way_everywhere(tmp_path):
    path = write_raw(tmp_path / "good.jsonl", world())
    assert list(iter_node_dicts(path, validate=True)) == world()
    assert [n.to_dict() for n in read_dataset(path)[1]] == world()
    assert run_lookup(["Munich"], dataset=path)[0]["geo_source_id"] == "geonames:2867714"


def test_problems_read_as_field_and_reason():
    assert str(NodeProblem("name", "must not be empty")) == "name: must not be empty"
