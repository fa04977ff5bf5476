# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the sync needs in NetBox besides the regions: the custom field ``geo_source_id``
(and the optional attribute fields) on ``dcim.region``, and the managed tag (none under
ownership ``source_id``).

``inspect`` only reads and says what is missing or must change; ``ensure`` creates or
changes it, and is called by the sync only after every input has been checked and the
token's permissions probed.

``geo_source_id`` is not unique: NetBox checks a unique custom field on every save with a
query on the JSON column, which has no index, so each region written would scan the whole
region table. Duplicates are stopped by NetBox's own unique indexes on (parent, slug) and
(parent, name) instead (docs/sync.md). A field made unique by an earlier release is changed
to not unique, as any other schema change: shown in check mode and --diff, made before the
first region is written.
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
CUSTOM_FIELD_TYPE = "extras.customfield"
TAGS = "extras/tags"
REGIONS = "dcim/regions"
REGION_TYPE = "dcim.region"
FIELD_IDENTITY = Identity("name", "id,name", lambda obj: obj.get("name"))
TAG_IDENTITY = Identity("slug", "id,slug", lambda obj: obj.get("slug"))


def wanted_fields(attribute_fields: bool) -> dict[str, dict[str, Any]]:
    """The custom fields the sync keeps, as NetBox's API creates them."""
    fields = {SOURCE_FIELD: {"name": SOURCE_FIELD, "label": "Geo source id", "type": "text", "unique": False,
                             "ui_editable": "no", "filter_logic": "exact", "object_types": [REGION_TYPE],
                             "description": "Identity of a region kept by geofoss.netbox (geonames:<id>)"}}
    if attribute_fields:
        for name, (kind, label) in ATTRIBUTE_FIELDS.items():
            fields[name] = {"name": name, "label": label, "type": kind, "ui_editable": "no",
                            "object_types": [REGION_TYPE], "description": "Set by geofoss.netbox"}
    return fields


def tag_body(tag: str) -> dict[str, str]:
    return {"name": tag, "slug": tag, "description": "Managed by geofoss.netbox"}


def instructions(tag: str | None, attribute_fields: bool) -> str:
    """What an administrator creates by hand when the token may not."""
    fields = ", ".join("%s (%s%s, object type %s)" % (name, spec["type"], ", not unique" * ("unique" in spec),
                                                      REGION_TYPE)
                       for name, spec in wanted_fields(attribute_fields).items())
    return "custom fields %s%s" % (fields, "; tag %s (slug %s)" % (tag, tag) if tag else "")


# the settings of an existing custom field that the sync changes when they differ from
# wanted_fields (its other settings are the administrator's)
KEPT_SETTINGS = ("unique",)


@dataclass
class FieldChange:
    """An existing custom field whose settings must change: what it holds and what it gets."""

    id: int
    name: str
    before: dict[str, Any]
    after: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return dict(self.after, id=self.id)

    @property
    def settings_only(self) -> bool:
        """True when the field serves the sync as it is (only a setting of KEPT_SETTINGS differs)."""
        return "object_types" not in self.after

    def kept(self) -> str:
        """The warning when the token may not make this change."""
        return ("the token may not change custom fields, so custom field %s stays as it is (%s): NetBox then scans "
                "the whole region table for each region written; an administrator should make it not unique "
                "(NetBox's unique indexes on parent and slug, parent and name stop duplicates)"
                % (self.name, ", ".join("%s: %s" % (key, _shown(value)) for key, value in self.before.items())))

    def describe(self) -> str:
        return "custom field %s (%s)" % (self.name, ", ".join(
            "%s: %s -> %s" % (key, _shown(self.before[key]), _shown(value)) for key, value in self.after.items()))


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)


@dataclass
class Schema:
    """What NetBox lacks of the schema, or holds otherwise (from ``inspect``; nothing written)."""

    tag: str | None  # None: the run needs no tag (ownership source_id)
    attribute_fields: bool
    fields_missing: list[str] = field(default_factory=list)
    # existing custom fields to change: not on dcim.region yet, or a setting of KEPT_SETTINGS
    fields_to_change: list[FieldChange] = field(default_factory=list)
    tag_missing: bool = False
    # False when the token may not view custom fields and tags: what is missing was inferred
    # from the regions, and the token cannot create it either
    visible: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def tags_missing(self) -> list[str]:
        """The tag to create, when the run needs one that NetBox lacks."""
        return [self.tag] if self.tag is not None and self.tag_missing else []

    @property
    def missing(self) -> list[str]:
        return ["custom field %s" % name for name in self.fields_missing] + ["tag %s" % tag for tag in self.tags_missing]

    @property
    def todo(self) -> list[str]:
        """Everything to create or change, as the messages name it."""
        return ["create %s" % item for item in self.missing] + ["change %s" % c.describe() for c in self.fields_to_change]

    def changes(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(name, before, after) of each change, for --diff."""
        wanted = wanted_fields(self.attribute_fields)
        return ([("create custom field %s" % name, {}, wanted[name]) for name in self.fields_missing]
                + [("custom field %s" % change.name, change.before, change.after) for change in self.fields_to_change]
                + [("create tag %s" % tag, {}, tag_body(tag)) for tag in self.tags_missing])

    def permissions(self) -> dict[str, tuple[str, ...]]:
        """The permissions that creating or changing it takes."""
        wanted = {CUSTOM_FIELD_TYPE: ("add",) * bool(self.fields_missing)
                  + ("change",) * bool(self.fields_to_change),
                  "extras.tag": ("add",) * bool(self.tags_missing)}
        return {model: actions for model, actions in wanted.items() if actions}

    def unwritable(self) -> str:
        """The message when the token may not create what is missing."""
        return ("NetBox lacks %s, and the token may not view or create custom fields and tags; an administrator "
                "must create them: %s" % (", ".join(self.missing), instructions(self.tag, self.attribute_fields)))


def inspect(nb: NetBoxClient, tag: str | None, attribute_fields: bool) -> Schema:
    """Which custom fields and tag (when `tag` is not None) are missing; reads only."""
    schema = Schema(tag=tag, attribute_fields=attribute_fields)
    wanted = wanted_fields(attribute_fields)
    try:
        existing = {cf["name"]: cf for cf in nb.iter_objects(
            CUSTOM_FIELDS, params={"name": list(wanted)}, fields=("id", "name", "object_types", "unique"))}
        tags = list(nb.iter_objects(TAGS, params={"slug": tag}, fields=("id", "slug"))) if tag else None
    except NetBoxError as exc:
        if exc.status != 403:
            raise
        return _inferred(nb, schema, wanted)
    schema.fields_missing = [name for name in wanted if name not in existing]
    schema.fields_to_change = [change for change in (_change(cf, wanted[name]) for name, cf in existing.items())
                               if change is not None]
    schema.tag_missing = tags == []
    return schema


def _change(current: Mapping[str, Any], spec: Mapping[str, Any]) -> FieldChange | None:
    """What must change in an existing custom field for the sync, or None."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    types = list(current.get("object_types") or [])
    if REGION_TYPE not in types:
        before["object_types"], after["object_types"] = types, sorted(set(types) | {REGION_TYPE})
    for key in KEPT_SETTINGS:
        if key in spec and bool(current.get(key)) != spec[key]:
            before[key], after[key] = bool(current.get(key)), spec[key]
    return FieldChange(int(current["id"]), str(current["name"]), before, after) if after else None


def _inferred(nb: NetBoxClient, schema: Schema, wanted: Mapping[str, Any]) -> Schema:
    """The token may not read custom fields and tags: infer them from the regions."""
    schema.visible = False
    sample = list(nb.request("GET", REGIONS, params={"limit": 1, "fields": "id,custom_fields"}).get("results", []))
    known = set((sample[0].get("custom_fields") or {}) if sample else ())
    schema.fields_missing = [name for name in wanted if name not in known]
    if schema.tag is None:
        return schema
    try:
        nb.request("GET", REGIONS, params={"limit": 1, "tag": schema.tag, "brief": 1})
    except NetBoxError as exc:
        if exc.status != 400:
            raise
        schema.tag_missing = True
    return schema


def ensure(writer: BatchWriter, schema: Schema) -> None:
    """Create or change what `schema` found, through the one retry-and-recheck layer."""
    if schema.fields_missing:
        wanted = wanted_fields(schema.attribute_fields)
        writer.create(CUSTOM_FIELDS, [wanted[name] for name in schema.fields_missing], FIELD_IDENTITY)
    if schema.fields_to_change:
        writer.update(CUSTOM_FIELDS, [change.body() for change in schema.fields_to_change])
    if schema.tags_missing:
        writer.create(TAGS, [tag_body(tag) for tag in schema.tags_missing], TAG_IDENTITY)
