# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetBox-native touches of the sync (``netbox_links: true``): a custom link on regions and
on sites that opens the place on OpenStreetMap, and an export template that gives sites
(those of the regions a site list is filtered by) as GeoJSON.

Kept by name like the schema: ``inspect`` reads and says what to create, update or delete;
``ensure`` writes it through the one write layer, after the sync's checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import BatchWriter, Identity, same_value

CUSTOM_LINKS = "extras/custom-links"
EXPORT_TEMPLATES = "extras/export-templates"
NAME_IDENTITY = Identity("name", "id,name", lambda obj: obj.get("name"))
OSM = "https://www.openstreetmap.org/"


def _osm_url(latitude: str, longitude: str) -> str:
    """The link URL: a marker at the point when it has coordinates, else a search by name."""
    # "is defined": without the attribute custom fields, object.cf has no geo_latitude at all
    return ("{%% if %(lat)s is defined and %(lat)s is not none and %(lon)s is defined and %(lon)s is not none %%}"
            "%(osm)s?mlat={{ %(lat)s }}&mlon={{ %(lon)s }}#map=11/{{ %(lat)s }}/{{ %(lon)s }}"
            "{%% else %%}%(osm)ssearch?query={{ object.name | urlencode }}{%% endif %%}"
            % {"lat": latitude, "lon": longitude, "osm": OSM})


def _link(name: str, object_type: str, latitude: str, longitude: str) -> dict[str, Any]:
    return {"name": name, "object_types": [object_type], "enabled": True, "link_text": "OpenStreetMap",
            "link_url": _osm_url(latitude, longitude), "weight": 100, "group_name": "",
            "button_class": "blue", "new_window": True}


# Sites as GeoJSON points (longitude, latitude, as GeoJSON orders them); sites without
# coordinates are left out. tojson escapes what would break the JSON.
GEOJSON_TEMPLATE = """{"type": "FeatureCollection", "features": [
{%- for site in queryset if site.latitude is not none and site.longitude is not none %}
{{ "," if not loop.first }}{"type": "Feature",
 "geometry": {"type": "Point", "coordinates": [{{ site.longitude }}, {{ site.latitude }}]},
 "properties": {{ {"name": site.name, "slug": site.slug, "region": site.region.name if site.region else none,
                   "time_zone": site.time_zone | string if site.time_zone else none,
                   "status": site.status} | tojson }}}
{%- endfor %}
]}"""  # no newline at the end: NetBox trims it, and the template would never compare equal

WANTED_LINKS = (
    _link("OpenStreetMap (geofoss.netbox regions)", "dcim.region", "object.cf.geo_latitude", "object.cf.geo_longitude"),
    _link("OpenStreetMap (geofoss.netbox sites)", "dcim.site", "object.latitude", "object.longitude"),
)
WANTED_TEMPLATES = (
    {"name": "GeoJSON (geofoss.netbox)", "object_types": ["dcim.site"],
     "description": "The sites of the list (filter it by region) as GeoJSON points",
     "template_code": GEOJSON_TEMPLATE, "mime_type": "application/geo+json", "file_extension": "geojson",
     "as_attachment": True},
)
KINDS = ((CUSTOM_LINKS, "custom link", "extras.customlink", WANTED_LINKS),
         (EXPORT_TEMPLATES, "export template", "extras.exporttemplate", WANTED_TEMPLATES))


@dataclass
class Links:
    """What to write to NetBox so that the links are as wanted (from ``inspect``)."""

    present: bool
    create: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # endpoint -> bodies
    update: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # endpoint -> {"id", changed fields}
    delete: dict[str, list[int]] = field(default_factory=dict)            # endpoint -> ids
    names: dict[str, list[str]] = field(default_factory=lambda: {"create": [], "update": [], "delete": []})

    @property
    def todo(self) -> list[str]:
        return ["%s %s" % (verb, name) for verb in ("create", "update", "delete") for name in self.names[verb]]

    def permissions(self) -> dict[str, tuple[str, ...]]:
        wanted: dict[str, tuple[str, ...]] = {}
        for endpoint, _label, model, _objects in KINDS:
            actions = (("add",) * bool(self.create.get(endpoint)) + ("change",) * bool(self.update.get(endpoint))
                       + ("delete",) * bool(self.delete.get(endpoint)))
            if actions:
                wanted[model] = actions
        return wanted

    def result(self) -> dict[str, list[str]]:
        return {verb: list(names) for verb, names in self.names.items()}


def inspect(nb: NetBoxClient, present: bool = True) -> Links:
    """What differs between NetBox and the wanted links (present) or what is there (absent)."""
    links = Links(present=present)
    for endpoint, label, _model, wanted in KINDS:
        names = [obj["name"] for obj in wanted]
        existing = {obj["name"]: obj for obj in nb.iter_objects(endpoint, params={"name": names})}
        for obj in wanted:
            current = existing.get(obj["name"])
            if not present:
                if current is not None:
                    links.delete.setdefault(endpoint, []).append(current["id"])
                    links.names["delete"].append("%s %s" % (label, obj["name"]))
            elif current is None:
                links.create.setdefault(endpoint, []).append(dict(obj))
                links.names["create"].append("%s %s" % (label, obj["name"]))
            else:
                changes = {key: value for key, value in obj.items() if not same_value(current.get(key), value)}
                if changes:
                    links.update.setdefault(endpoint, []).append(dict(changes, id=current["id"]))
                    links.names["update"].append("%s %s (%s)" % (label, obj["name"], ", ".join(sorted(changes))))
    return links


def ensure(writer: BatchWriter, links: Links) -> None:
    for endpoint, _label, _model, _wanted in KINDS:
        if links.create.get(endpoint):
            writer.create(endpoint, links.create[endpoint], NAME_IDENTITY)
        if links.update.get(endpoint):
            writer.update(endpoint, links.update[endpoint])
        if links.delete.get(endpoint):
            writer.delete(endpoint, links.delete[endpoint])
