# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The payload stage: what each part of a region create costs NetBox, in CPU seconds per
region (gunicorn workers + the PostgreSQL backends of its database), at two tree sizes.

For each scale the tree is first filled with raw bulk POSTs (the world: countries +
first-level divisions; cities: the same plus the cities15000 cities), carrying what a
sync leaves (description, tag, geo_source_id) but with the field not unique, so the fill
itself costs no table scans. Then, for each variant, the same sample of new cities (from
cities500, under their first-level divisions, spread over the world) is created in
batches, its cost measured, and deleted again (not measured), so every variant meets the
same tree. The variants add one part each, in the order of issue 18; `sync` is what
netbox_geo_sync sends by default.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from nbapi import REGIONS, SOURCE_FIELD, NetBoxCpu

for _folder in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
    if _folder and _folder not in sys.path:
        sys.path.insert(0, _folder)

# (key, what it sends besides the previous one's parts); parts: description, tag, source,
# attributes, changelog; `unique`: the geo_source_id field is unique while it runs
VARIANTS = (
    {"key": "bare", "adds": "name, slug, parent", "parts": ()},
    {"key": "description", "adds": "+ description", "parts": ("description",)},
    {"key": "tag", "adds": "+ the managed tag (by slug)", "parts": ("description", "tag")},
    {"key": "source_field", "adds": "+ geo_source_id, not unique", "parts": ("description", "tag", "source")},
    {"key": "unique", "adds": "+ geo_source_id unique", "parts": ("description", "tag", "source"), "unique": True},
    {"key": "attributes", "adds": "+ the five attribute custom fields",
     "parts": ("description", "tag", "source", "attributes"), "unique": True},
    {"key": "changelog", "adds": "+ changelog_message",
     "parts": ("description", "tag", "source", "attributes", "changelog"), "unique": True},
    {"key": "sync", "adds": "netbox_geo_sync's default: description, tag, geo_source_id not unique, "
                            "changelog_message", "parts": ("description", "tag", "source", "changelog")},
)
CHANGELOG_MESSAGE = "geofoss.netbox benchmark payload stage (run 0123456789ab)"
# site PATCHes (netbox_geo_sites): each sets the fields named to a value the site does not hold
SITE_VARIANTS = (
    {"key": "region", "adds": "region", "fields": ("region",)},
    {"key": "time_zone", "adds": "time_zone", "fields": ("time_zone",)},
    {"key": "both", "adds": "region and time_zone (what netbox_geo_sites sends)", "fields": ("region", "time_zone")},
    {"key": "changelog", "adds": "+ changelog_message", "fields": ("region", "time_zone"), "changelog": True},
    {"key": "omit_counts", "adds": "+ ?omit= the six object counts of the answer", "fields": ("region", "time_zone"),
     "changelog": True, "omit": "circuit_count,device_count,prefix_count,rack_count,virtualmachine_count,vlan_count"},
)
SITES = "dcim/sites"
TIME_ZONES = ("Europe/Berlin", "Europe/Paris")


def collection():
    """The collection's own definitions (attribute fields and values), as the sync uses them."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import planner, schema
    return planner, schema


def sample_nodes(candidates: list, present: set, size: int) -> list:
    """`size` city nodes spread evenly over `candidates` (file order: by country), none of them
    in NetBox already and none clashing by (parent, slug) or (parent, name) with what is."""
    pool = [n for n in candidates if n["level"] == "city" and n["parent"] in present["ids"]
            and n["geo_source_id"] not in present["ids"]
            and (n["parent"], "slug", n["slug"]) not in present["siblings"]
            and (n["parent"], "name", n["name"]) not in present["siblings"]]
    if len(pool) <= size:
        return pool
    step = len(pool) / float(size)
    return [pool[int(i * step)] for i in range(size)]


def present_keys(nodes: list) -> dict:
    return {"ids": {n["geo_source_id"] for n in nodes},
            "siblings": {(n["parent"], key, n[key]) for n in nodes for key in ("slug", "name")}}


def body(node: dict, parent_id: int, parts, tag: str) -> dict:
    planner, _ = collection()
    obj = {"name": node["name"], "slug": node["slug"], "parent": parent_id}
    if "description" in parts:
        obj["description"] = node["description"]
    if "tag" in parts:
        obj["tags"] = [{"slug": tag}]
    fields = {}
    if "source" in parts:
        fields[SOURCE_FIELD] = node["geo_source_id"]
    if "attributes" in parts:
        fields.update(planner.attribute_values(node))
    if fields:
        obj["custom_fields"] = fields
    if "changelog" in parts:
        obj["changelog_message"] = CHANGELOG_MESSAGE
    return obj


class PayloadStage:
    """One run of the stage against an empty NetBox (`admin`, `cpu`: nbapi objects)."""

    def __init__(self, admin, cpu: NetBoxCpu, tag: str, batch_size: int, log):
        self.admin = admin
        self.cpu = cpu
        self.tag = tag
        self.batch_size = batch_size
        self.log = log
        self.ids = {}  # geo_source_id -> region id of what the fill created
        self.field_id = None
        self.unique = None

    # the schema -------------------------------------------------------------------------
    def prepare(self) -> None:
        self.admin.ensure_tag(self.tag)
        self.field_id = self.admin.ensure_source_field(unique=False)
        self.unique = False

    def set_unique(self, unique: bool) -> None:
        if unique != self.unique:
            self.admin.call("PATCH", "extras/custom-fields/%d" % self.field_id, json={"unique": unique})
            self.unique = unique

    def ensure_attribute_fields(self) -> None:
        _, schema = collection()
        wanted = schema.wanted_fields(True)
        existing = {cf["name"] for cf in self.admin.call("GET", "extras/custom-fields",
                                                         params={"limit": 100})["results"]}
        missing = [spec for name, spec in wanted.items() if name != SOURCE_FIELD and name not in existing]
        if missing:
            self.admin.call("POST", "extras/custom-fields", json=missing, expected=(201,))

    # writing --------------------------------------------------------------------------------
    def post(self, bodies: list, endpoint: str = REGIONS, method: str = "POST", params=None) -> list:
        """Bulk writes in batches, each on a fresh connection (as the sync sends them)."""
        answers = []
        for start in range(0, len(bodies), self.batch_size):
            answers.extend(self.admin.call(method, endpoint, json=bodies[start:start + self.batch_size], params=params,
                                           expected=(200, 201), headers={"Connection": "close"}))
        return answers

    def measured(self, write) -> dict:
        """NetBox's CPU while `write()` runs, per object written (`write` returns their ids)."""
        self.cpu.start()
        started = time.perf_counter()
        ids = write()
        seconds = time.perf_counter() - started
        cpu = self.cpu.stop()

        def per_object(value):
            return round(1000.0 * value / len(ids), 2) if ids else None
        return {"objects": len(ids), "seconds": round(seconds, 2), "cpu_seconds": cpu,
                "cpu_ms_per_object": per_object(cpu["total"]), "worker_cpu_ms_per_object": per_object(sum(cpu["workers"])),
                "database_cpu_ms_per_object": per_object(cpu["database"]), "ids": ids}

    def fill(self, nodes: list) -> dict:
        """Create `nodes` (parents first) that NetBox lacks, as a sync would leave them."""
        if not self.ids:  # what an earlier fill left (a stage re-run on a kept NetBox)
            for region in self.admin.objects(REGIONS, fields="id,custom_fields"):
                source = (region.get("custom_fields") or {}).get(SOURCE_FIELD)
                if source:
                    self.ids[source] = region["id"]
        todo = [n for n in nodes if n["geo_source_id"] not in self.ids]
        started = time.perf_counter()
        level = []
        for node in todo + [None]:
            # a level ends where a node's parent is not created yet: post what is pending first
            if node is None or (node["parent"] and node["parent"] not in self.ids):
                bodies = [body(n, self.ids.get(n["parent"]), ("description", "tag", "source"), self.tag)
                          for n in level]
                for obj in self.post(bodies):
                    self.ids[obj["custom_fields"][SOURCE_FIELD]] = obj["id"]
                level = []
            if node is not None:
                level.append(node)
        return {"regions": len(todo), "seconds": round(time.perf_counter() - started, 1)}

    def measure(self, variant: dict, sample: list) -> dict:
        """Create the sample with the variant's body (measured), then delete it (not measured)."""
        if "attributes" in variant["parts"]:
            self.ensure_attribute_fields()
        self.set_unique(bool(variant.get("unique")))
        bodies = [body(n, self.ids[n["parent"]], variant["parts"], self.tag) for n in sample]
        result = self.measured(lambda: [obj["id"] for obj in self.post(bodies)])
        ids = result.pop("ids")
        for start in range(0, len(ids), 100):
            self.admin.call("DELETE", REGIONS, json=[{"id": i} for i in ids[start:start + 100]])
        return result

    def run_scale(self, nodes: list, sample: list, rounds: int) -> dict:
        """Fill the tree with `nodes`, then measure every variant `rounds` times (alternating
        the order, so a drift of the machine does not favour one end of the list)."""
        filled = self.fill(nodes)
        self.log("payload: the tree holds %d regions (fill %s)" % (self.admin.count(), filled))
        runs = {variant["key"]: [] for variant in VARIANTS}
        for number in range(rounds):
            order = VARIANTS if number % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                result = self.measure(variant, sample)
                runs[variant["key"]].append(result)
                self.log("payload %s, %d regions in NetBox: %s" % (variant["key"], len(self.ids), result))
        variants = {}
        for variant in VARIANTS:
            measured = runs[variant["key"]]
            variants[variant["key"]] = {"adds": variant["adds"], "runs": measured,
                                        "cpu_ms_per_region": median_of(measured)}
        self.set_unique(False)
        return {"regions_in_netbox": len(self.ids), "fill": filled, "sample": len(sample), "variants": variants}

    def run_sites(self, count: int, rounds: int) -> dict:
        """`count` sites in the tree, then PATCHed as netbox_geo_sites does, variant by variant."""
        regions = list(self.ids.values())[:2]
        sites = self.post([{"name": "bench-site-%05d" % n, "slug": "bench-site-%05d" % n} for n in range(count)],
                          endpoint=SITES)
        ids = [site["id"] for site in sites]
        runs = {variant["key"]: [] for variant in SITE_VARIANTS}
        turn = 0
        for number in range(rounds):
            order = SITE_VARIANTS if number % 2 == 0 else tuple(reversed(SITE_VARIANTS))
            for variant in order:
                turn += 1  # every PATCH changes what it sends: the other region, the other time zone
                values = {"region": regions[turn % 2], "time_zone": TIME_ZONES[turn % 2]}
                bodies = [dict({key: values[key] for key in variant["fields"]}, id=site_id) for site_id in ids]
                if variant.get("changelog"):
                    bodies = [dict(b, changelog_message=CHANGELOG_MESSAGE) for b in bodies]
                params = {"omit": variant["omit"]} if variant.get("omit") else None
                result = self.measured(lambda: [s["id"] for s in self.post(bodies, SITES, "PATCH", params)])
                del result["ids"]
                runs[variant["key"]].append(result)
                self.log("payload sites %s: %s" % (variant["key"], result))
        for start in range(0, len(ids), 100):
            self.admin.call("DELETE", SITES, json=[{"id": i} for i in ids[start:start + 100]])
        return {"sites": len(ids), "variants": {
            variant["key"]: {"adds": variant["adds"], "runs": runs[variant["key"]],
                             "cpu_ms_per_site": median_of(runs[variant["key"]])} for variant in SITE_VARIANTS}}


def median_of(runs: list):
    values = [r["cpu_ms_per_object"] for r in runs if r["cpu_ms_per_object"] is not None]
    return round(statistics.median(values), 2) if values else None
