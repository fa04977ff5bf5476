# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small synthetic world for the site placement and lookup tests.

Country Aland (AA, centre 10N 20E) has two divisions split at 20E: West
(19E-20E) and East (20E-21E), each 9N-11N, with polygons. Cities: Westford
(10N 19.9E, in West), Eastby (10N 20.05E, in East, next to the border),
and two places called Springfield (one per division). Country Bland (BB,
centre 40N 40E) has no divisions, one city.
"""

from __future__ import annotations

import json

ATTRIBUTE_KEYS = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population",
                  "latitude", "longitude", "time_zone", "feature_code", "wikidata_id", "continent")


def node(source_id, level, name, slug, parent, **attributes):
    values = dict.fromkeys(ATTRIBUTE_KEYS)
    values.update(attributes)
    return {"geo_source_id": source_id, "level": level, "name": name, "slug": slug, "parent": parent,
            "description": "%s %s" % (level.title(), name), "attributes": values}


def world_nodes():
    return [
        node("geonames:1", "country", "Aland", "aland", None, country_code="AA", latitude=10.0, longitude=20.0,
             time_zone="Africa/Lagos", population=1000000, geonames_code="AA", feature_code="PCLI"),
        node("geonames:2", "country", "Bland", "bland", None, country_code="BB", latitude=40.0, longitude=40.0,
             time_zone="Asia/Tbilisi", population=5000, geonames_code="BB", feature_code="PCLI"),
        node("geonames:11", "admin1", "West", "aa-west", "geonames:1", country_code="AA", iso_3166_2="AA-W",
             geonames_code="AA.01", latitude=10.0, longitude=19.5, time_zone=None, feature_code="ADM1"),
        node("geonames:12", "admin1", "East", "aa-east", "geonames:1", country_code="AA", iso_3166_2="AA-E",
             geonames_code="AA.02", latitude=10.0, longitude=20.5, time_zone=None, feature_code="ADM1"),
        node("geonames:111", "city", "Westford", "aa-westford", "geonames:11", country_code="AA",
             latitude=10.0, longitude=19.9, time_zone="Africa/Lagos", population=50000, feature_code="PPLA"),
        node("geonames:121", "city", "Eastby", "aa-eastby", "geonames:12", country_code="AA",
             latitude=10.0, longitude=20.05, time_zone="Africa/Ndjamena", population=20000, feature_code="PPL"),
        node("geonames:112", "city", "Springfield", "aa-springfield-112", "geonames:11", country_code="AA",
             latitude=9.5, longitude=19.2, time_zone="Africa/Lagos", population=1000, feature_code="PPL"),
        node("geonames:122", "city", "Springfield", "aa-springfield-122", "geonames:12", country_code="AA",
             latitude=9.5, longitude=20.8, time_zone="Africa/Ndjamena", population=2000, feature_code="PPL"),
        node("geonames:211", "city", "Bcity", "bb-bcity", "geonames:2", country_code="BB",
             latitude=40.1, longitude=40.1, time_zone="Asia/Tbilisi", population=3000, feature_code="PPLC"),
    ]


def box(west, south, east, north):
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def world_polygons():
    """West by geo_source_id, East by its ISO 3166-2 code (as Natural Earth files carry it)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"geo_source_id": "geonames:11"}, "geometry": box(19, 9, 20, 11)},
        {"type": "Feature", "properties": {"iso_3166_2": "AA-E", "gn_id": -1}, "geometry": box(20, 9, 21, 11)},
        {"type": "Feature", "properties": {"name": "unmatched"}, "geometry": box(0, 0, 1, 1)},
    ]}


def border_world_nodes():
    """The world plus Cland (CC, east of Aland, no divisions, polygon 21E-23E) with its town
    Ctown (10N 21.3E), and Borderton (10N 20.98E), a town of Aland's East at the border."""
    return world_nodes() + [
        node("geonames:3", "country", "Cland", "cland", None, country_code="CC", latitude=10.0, longitude=22.0,
             time_zone="Africa/Khartoum", population=2000, geonames_code="CC", feature_code="PCLI"),
        node("geonames:123", "city", "Borderton", "aa-borderton", "geonames:12", country_code="AA",
             latitude=10.0, longitude=20.98, time_zone="Africa/Ndjamena", population=900, feature_code="PPL"),
        node("geonames:311", "city", "Ctown", "cc-ctown", "geonames:3", country_code="CC",
             latitude=10.0, longitude=21.3, time_zone="Africa/Khartoum", population=1500, feature_code="PPLC"),
    ]


def country_polygons():
    """Admin-0 polygons as Natural Earth carries them: Aland by geo_source_id, Cland by ISO_A2,
    Bland (a wide box around 40N 40E) by country_code, and one -99 feature that matches nothing."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"geo_source_id": "geonames:1"}, "geometry": box(19, 9, 21, 11)},
        {"type": "Feature", "properties": {"iso_a2": "CC"}, "geometry": box(21, 9, 23, 11)},
        {"type": "Feature", "properties": {"country_code": "BB"}, "geometry": box(30, 30, 50, 50)},
        {"type": "Feature", "properties": {"iso_a2": "-99"}, "geometry": box(0, 0, 1, 1)},
    ]}


def write_dataset(directory, nodes=None, polygons=None, name="world.jsonl", side_file=True, country_polygons=None):
    """Write a dataset file (and its polygons side files, named in the header); return its path."""
    nodes = world_nodes() if nodes is None else nodes
    header = {"kind": "geofoss.netbox/dataset", "schema_version": 1, "generated_by": "tests",
              "levels": sorted({n["level"] for n in nodes}), "counts": {}, "provenance": [], "filters": {},
              "side_files": {}, "sha256_nodes": None}
    for kind, collection in (("admin1", polygons), ("admin0", country_polygons)):
        if collection is not None:
            polygons_name = name.rsplit(".", 1)[0] + ".%s.geojson" % kind
            (directory / polygons_name).write_text(json.dumps(collection), encoding="utf-8")
            if side_file:
                header["side_files"]["%s_polygons" % kind] = polygons_name
    path = directory / name
    lines = [json.dumps(header)] + [json.dumps(n, ensure_ascii=False) for n in nodes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def managed_regions(source_ids=("geonames:1", "geonames:2", "geonames:11", "geonames:12", "geonames:111",
                                "geonames:121", "geonames:112", "geonames:122", "geonames:211")):
    """NetBox region dicts as the paginated read returns them; id = 1000 + geonameid."""
    by_id = {n["geo_source_id"]: n for n in world_nodes()}
    return [{"id": 1000 + int(s.split(":")[1]), "name": by_id[s]["name"], "slug": by_id[s]["slug"],
             "custom_fields": {"geo_source_id": s}} for s in source_ids]
