# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Natural Earth reader (GeoJSON and shapefile zip) and the polygons side file."""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest
import shapefile

from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import SourceError
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.natural_earth import (
    read_admin0, read_admin1, write_polygons,
)

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def admin1_geojson(tmp_path, features):
    path = tmp_path / "ne_50m_admin_1_states_provinces.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": SQUARE} for props in features]}))
    return str(path)


def shapefile_zip(tmp_path, name, fields, records):
    buffers = {ext: io.BytesIO() for ext in ("shp", "shx", "dbf")}
    writer = shapefile.Writer(shp=buffers["shp"], shx=buffers["shx"], dbf=buffers["dbf"], shapeType=shapefile.POLYGON,
                              encoding="utf-8")
    for field in fields:
        writer.field(field, "C", size=40)
    for record in records:
        writer.poly([[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]])
        writer.record(*record)
    writer.close()
    path = tmp_path / (name + ".zip")
    with zipfile.ZipFile(path, "w") as archive:
        for ext, buffer in buffers.items():
            archive.writestr("%s.%s" % (name, ext), buffer.getvalue())
        archive.writestr(name + ".cpg", "UTF-8")
    return str(path)


def test_admin1_geojson_fields_and_links(tmp_path):
    path = admin1_geojson(tmp_path, [
        {"name": "California", "iso_a2": "US", "gn_a1_code": "US.CA", "gn_id": 5332921, "iso_3166_2": "US-CA",
         "adm1_code": "USA-3521", "wikidataid": "Q99", "latitude": 37.2, "longitude": -119.5},
        {"name": "Nowhere", "iso_a2": "-99", "gn_a1_code": None, "gn_id": -1, "iso_3166_2": "-99"},
    ])
    first, second = list(read_admin1(path))
    assert (first.gn_a1_code, first.gn_id, first.iso_3166_2, first.wikidata_id) == ("US.CA", 5332921, "US-CA", "Q99")
    assert first.geometry == SQUARE and (first.latitude, first.longitude) == (37.2, -119.5)
    assert (second.latitude, second.longitude) == (None, None)
    assert (second.country_code, second.gn_a1_code, second.gn_id, second.iso_3166_2) == (None, None, None, None)


def test_admin1_shapefile_zip_with_upper_case_fields(tmp_path):
    path = shapefile_zip(tmp_path, "ne_10m_admin_1_states_provinces",
                         ["NAME", "ISO_A2", "GN_A1_CODE", "GN_ID", "ISO_3166_2"],
                         [["Bayern", "DE", "DE.02", "2951839", "DE-BY"], ["Łódzkie", "PL", "PL.74", "3337493", "PL-10"]])
    features = list(read_admin1(path))
    assert [(f.name, f.gn_a1_code, f.gn_id, f.iso_3166_2) for f in features] == [
        ("Bayern", "DE.02", 2951839, "DE-BY"), ("Łódzkie", "PL.74", 3337493, "PL-10")]
    assert features[0].geometry["type"] == "Polygon"


def test_admin0_falls_back_to_iso_a2_eh_and_alpha3_candidates(tmp_path):
    path = shapefile_zip(tmp_path, "ne_50m_admin_0_countries", ["NAME", "ISO_A2", "ISO_A2_EH", "ISO_A3", "ADM0_A3"],
                         [["France", "-99", "FR", "-99", "FRA"], ["Germany", "DE", "DE", "DEU", "DEU"],
                          ["Norway", "-99", "", "-99", "NOR"]])
    assert [(f.name, f.iso_a2, f.iso_a3) for f in read_admin0(path)] == [
        ("France", "FR", ("FRA",)), ("Germany", "DE", ("DEU", "DEU")), ("Norway", None, ("NOR",))]


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04 broken", "damaged or truncated zip|not a readable shapefile"),
    (b"", "damaged or truncated zip|not a readable shapefile"),
])
def test_broken_zip_is_a_source_error(tmp_path, content, message):
    path = tmp_path / "ne_50m_admin_1_states_provinces.zip"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        list(read_admin1(str(path)))


def test_broken_geojson_is_a_source_error(tmp_path):
    path = tmp_path / "ne_50m_admin_1_states_provinces.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(SourceError, match="not a readable GeoJSON"):
        list(read_admin1(str(path)))
    path.write_text('{"type": "Feature"}')
    with pytest.raises(SourceError, match="not a GeoJSON FeatureCollection"):
        list(read_admin1(str(path)))


def test_write_polygons_sorted_atomic_and_unchanged(tmp_path):
    path = str(tmp_path / "ds.jsonl.admin1.geojson")
    features = [({"geo_source_id": "geonames:2"}, SQUARE), ({"geo_source_id": "geonames:1"}, SQUARE),
                ({"geo_source_id": "geonames:3"}, None)]
    assert write_polygons(path, features, dry_run=True)["changed"] is True
    assert not os.path.exists(path)
    first = write_polygons(path, features)
    assert first["count"] == 2 and first["changed"] is True
    document = json.load(open(path, encoding="utf-8"))
    assert [f["properties"]["geo_source_id"] for f in document["features"]] == ["geonames:1", "geonames:2"]
    inode = os.stat(path).st_ino
    again = write_polygons(path, list(reversed(features)))
    assert again["changed"] is False and again["sha256"] == first["sha256"]
    assert os.stat(path).st_ino == inode and sorted(os.listdir(tmp_path)) == ["ds.jsonl.admin1.geojson"]
