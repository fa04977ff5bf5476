# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the sync needs in NetBox besides the regions: the custom field ``geo_source_id``
(and the optional attribute fields) on ``dcim.region``, and the managed tag.

``inspect`` only reads and says what is missing; ``ensure`` creates it, and is called by
the sync only after every input has been checked and the token's permissions probed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, NetBoxError
from ansible_collections.geofoss.netbox.plugins.module_utils._contract import SOURCE_FIELD
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import ATTRIBUTE_FIELDS
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import BatchWriter, Identity

CUSTOM_FIELDS = "extras/custom-fields"
TAGS = "extras/tags"
REGIONS = "dcim/regions"
REGION_TYPE = "dcim.region"
FIELD_IDENTITY = Identity("name", "id,name", lambda obj: obj.get("name"))
TAG_IDENTITY = Identity("slug", "id,slug", lambda obj: obj.get("slug"))


def wanted_fields(attribute_fields: bool) -> dict[str, dict[str, Any]]:
    """The custom fields the sync keeps, as NetBox's API creates them."""
    fields = {SOURCE_FIELD: {"name": SOURCE_FIELD, "label": "Geo source id", "type": "text", "unique": True,
                             "ui_editable": "no", "filter_logic": "exact", "object_types": [REGION_TYPE],
                             "description": "Identity of a region kept by geofoss.netbox (geonames:<id>)"}}
    if attribute_fields:
        for name, (kind, label) in ATTRIBUTE_FIELDS.items():
            fields[name] = {"name": name, "label": label, "type": kind, "ui_editable": "no",
                            "object_types": [REGION_TYPE], "description": "Set by geofoss.netbox"}
    return fields


def tag_body(tag: str) -> dict[str, str]:
    return {"name": tag, "slug": tag, "description": "Managed by geofoss.netbox"}


def instructions(tag: str, attribute_fields: bool) -> str:
    """What an administrator creates by hand when the token may not."""
    fields = ", ".join("%s (%s%s, object type %s)" % (name, spec["type"], ", unique" * bool(spec.get("unique")),
                                                      REGION_TYPE)
                       for name, spec in wanted_fields(attribute_fields).items())
    return "custom fields %s; tag %s (slug %s)" % (fields, tag, tag)


@dataclass
class Schema:
    """What NetBox lacks of the schema (from ``inspect``; nothing written)."""

    tag: str
    attribute_fields: bool
    fields_missing: list[str] = field(default_factory=list)
    # existing custom fields that do not apply to dcim.region yet: {"id", "object_types"}
    object_types_missing: list[dict[str, Any]] = field(default_factory=list)
    tag_missing: bool = False
    # False when the token may not view custom fields and tags: what is missing was inferred
    # from the regions, and the token cannot create it either
    visible: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def todo(self) -> list[str]:
        return (["custom field %s" % name for name in self.fields_missing] + ["tag %s" % self.tag] * self.tag_missing
                + ["custom field %s on %s" % (cf["id"], REGION_TYPE) for cf in self.object_types_missing])

    def permissions(self) -> dict[str, tuple[str, ...]]:
        """The permissions that creating what is missing takes."""
        wanted = {"extras.customfield": ("add",) * bool(self.fields_missing)
                  + ("change",) * bool(self.object_types_missing),
                  "extras.tag": ("add",) * self.tag_missing}
        return {model: actions for model, actions in wanted.items() if actions}

    def unwritable(self) -> str:
        """The message when the token may not create what is missing."""
        return ("NetBox lacks %s, and the token may not view or create custom fields and tags; an administrator "
                "must create them: %s" % (", ".join(self.todo), instructions(self.tag, self.attribute_fields)))


def inspect(nb: NetBoxClient, tag: str, attribute_fields: bool) -> Schema:
    """Which custom fields and tag are missing; reads only."""
    schema = Schema(tag=tag, attribute_fields=attribute_fields)
    wanted = wanted_fields(attribute_fields)
    try:
        existing = {cf["name"]: cf for cf in nb.iter_objects(
            CUSTOM_FIELDS, params={"name": list(wanted)}, fields=("id", "name", "object_types", "unique"))}
        tags = list(nb.iter_objects(TAGS, params={"slug": tag}, fields=("id", "slug")))
    except NetBoxError as exc:
        if exc.status != 403:
            raise
        return _inferred(nb, schema, wanted)
    schema.fields_missing = [name for name in wanted if name not in existing]
    schema.object_types_missing = [
        {"id": cf["id"], "object_types": sorted(set(cf.get("object_types") or []) | {REGION_TYPE})}
        for cf in existing.values() if REGION_TYPE not in (cf.get("object_types") or [])]
    schema.tag_missing = not tags
    if existing.get(SOURCE_FIELD) and not existing[SOURCE_FIELD].get("unique"):
        schema.warnings.append("the custom field %s is not unique: duplicates are not stopped by NetBox" % SOURCE_FIELD)
    return schema


def _inferred(nb: NetBoxClient, schema: Schema, wanted: Mapping[str, Any]) -> Schema:
    """The token may not read custom fields and tags: infer them from the regions."""
    schema.visible = False
    sample = list(nb.request("GET", REGIONS, params={"limit": 1, "fields": "id,custom_fields"}).get("results", []))
    known = set((sample[0].get("custom_fields") or {}) if sample else ())
    schema.fields_missing = [name for name in wanted if name not in known]
    try:
        nb.request("GET", REGIONS, params={"limit": 1, "tag": schema.tag, "brief": 1})
    except NetBoxError as exc:
        if exc.status != 400:
            raise
        schema.tag_missing = True
    return schema


def ensure(writer: BatchWriter, schema: Schema) -> None:
    """Create what `schema` found missing, through the one retry-and-recheck layer."""
    if schema.fields_missing:
        wanted = wanted_fields(schema.attribute_fields)
        writer.create(CUSTOM_FIELDS, [wanted[name] for name in schema.fields_missing], FIELD_IDENTITY)
    if schema.object_types_missing:
        writer.update(CUSTOM_FIELDS, schema.object_types_missing)
    if schema.tag_missing:
        writer.create(TAGS, [tag_body(schema.tag)], TAG_IDENTITY)
