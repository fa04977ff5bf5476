# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_links: what inspect decides to create, update or delete, the permissions that
takes, and the templates' content (the link URLs, the GeoJSON export)."""

from __future__ import annotations

import copy
import json

import jinja2
import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import links
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.links import (
    CUSTOM_LINKS, EXPORT_TEMPLATES, WANTED_LINKS, WANTED_TEMPLATES, inspect,
)


class StubNetBox:
    """What NetBox holds, by endpoint; iter_objects filters by name like NetBox's API."""

    def __init__(self, objects):
        self.objects = objects

    def iter_objects(self, endpoint, params=None, fields=None, page_size=1000):
        wanted = set((params or {}).get("name") or ())
        return [obj for obj in self.objects.get(endpoint, []) if obj["name"] in wanted]


def held(*extra_changes):
    """NetBox holding the wanted objects (ids from 1), with `extra_changes` applied."""
    objects = {CUSTOM_LINKS: [dict(copy.deepcopy(obj), id=number + 1) for number, obj in enumerate(WANTED_LINKS)],
               EXPORT_TEMPLATES: [dict(copy.deepcopy(obj), id=9) for obj in WANTED_TEMPLATES]}
    for endpoint, index, key, value in extra_changes:
        objects[endpoint][index][key] = value
    return StubNetBox(objects)


def test_nothing_in_netbox_creates_all_three_and_asks_add():
    found = inspect(StubNetBox({}))
    assert len(found.names["create"]) == 3 and not found.names["update"] and not found.names["delete"]
    assert found.permissions() == {"extras.customlink": ("add",), "extras.exporttemplate": ("add",)}


def test_netbox_holding_them_as_wanted_has_nothing_to_do():
    found = inspect(held())
    assert found.todo == [] and found.permissions() == {}


def test_a_changed_field_is_patched_alone():
    found = inspect(held((CUSTOM_LINKS, 1, "link_url", "https://example.com/"), (CUSTOM_LINKS, 0, "weight", 100.0)))
    assert found.update == {CUSTOM_LINKS: [{"id": 2, "link_url": WANTED_LINKS[1]["link_url"]}]}
    assert found.names["update"] == ["custom link OpenStreetMap (geofoss.netbox sites) (link_url)"]
    assert found.permissions() == {"extras.customlink": ("change",)}


def test_absent_deletes_what_is_there_and_only_that():
    nb = held()
    nb.objects[CUSTOM_LINKS].pop(0)
    found = inspect(nb, present=False)
    assert found.delete == {CUSTOM_LINKS: [2], EXPORT_TEMPLATES: [9]} and not found.create
    assert found.permissions() == {"extras.customlink": ("delete",), "extras.exporttemplate": ("delete",)}


def test_the_links_point_at_the_coordinates_or_search_by_name():
    region, site = WANTED_LINKS
    assert region["object_types"] == ["dcim.region"] and site["object_types"] == ["dcim.site"]
    assert "mlat={{ object.cf.geo_latitude }}" in region["link_url"]
    assert "mlat={{ object.latitude }}&mlon={{ object.longitude }}" in site["link_url"]
    assert "search?query={{ object.name | urlencode }}" in site["link_url"]


@pytest.mark.parametrize("custom_fields, expected", [
    ({"geo_latitude": 49.61, "geo_longitude": 6.13}, "https://www.openstreetmap.org/?mlat=49.61&mlon=6.13#map=11/49.61/6.13"),
    ({"geo_latitude": None, "geo_longitude": None}, "https://www.openstreetmap.org/search?query=Luxembourg%20City"),
    ({}, "https://www.openstreetmap.org/search?query=Luxembourg%20City"),  # no attribute fields in NetBox
])
def test_the_region_link_renders_the_point_or_a_search(custom_fields, expected):

    class Region:
        name = "Luxembourg City"
        cf = custom_fields

    assert jinja2.Environment().from_string(WANTED_LINKS[0]["link_url"]).render(object=Region()) == expected


def test_the_export_template_renders_valid_geojson():
    template = jinja2.Environment().from_string(WANTED_TEMPLATES[0]["template_code"])

    class Site:
        def __init__(self, name, lat, lon, region=None):
            self.name, self.slug, self.latitude, self.longitude = name, name.lower(), lat, lon
            self.region, self.time_zone, self.status = region, None, "active"

    class Region:
        name = 'North "Holland"'

    text = template.render(queryset=[Site("A", 52.37, 4.9, Region()), Site("B", None, None), Site("C", -33.9, 18.4)])
    document = json.loads(text)
    assert [f["properties"]["name"] for f in document["features"]] == ["A", "C"]  # B has no coordinates
    assert document["features"][0]["geometry"] == {"type": "Point", "coordinates": [4.9, 52.37]}
    assert document["features"][0]["properties"]["region"] == 'North "Holland"'
    assert not text.endswith("\n") and links.GEOJSON_TEMPLATE == WANTED_TEMPLATES[0]["template_code"]
