# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync's engine: preflight, ensure the custom fields and the tag, read the
region tree once, plan (``_planner``), then apply the plan in bulk, phase by phase,
with concurrent batches, re-reading after ambiguous failures so nothing is duplicated.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.geofoss.netbox.plugins.module_utils._common import plain_http_warning, redact
from ansible_collections.geofoss.netbox.plugins.module_utils._http import AmbiguousWriteError, HttpClient, HttpError
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, NetBoxError, chunks
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import (
    ATTRIBUTE_FIELDS, SOURCE_FIELD, PlanOptions, plan as make_plan, source_id,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.schedule import batches_by_tree, run_disjoint

REGIONS = "dcim/regions"
# no "tags": NetBox serialises them six times slower than the rest (5.4 s vs 0.8 s per 1,000
# regions on the test bed); the managed set comes from a second, id-only read filtered by tag.
# No "site_count" either: NetBox counts each region's subtree for it (0.28 s of a 0.3 s page);
# only the regions a plan deletes need it (add_site_counts)
REGION_FIELDS = ("id", "name", "slug", "parent", "description", "custom_fields")
REREAD_CHUNK = 100  # geo_source_id values per re-read request (keeps the URL short)
# what the planner reads of a node (attributes only with attribute_fields)
PLANNED_KEYS = ("geo_source_id", "level", "name", "slug", "parent", "description")
# statuses after which a POST may or may not have landed
AMBIGUOUS_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class SyncError(Exception):
    """A run that stopped; `result` holds what was planned and applied so far."""

    def __init__(self, message, result=None):
        self.message = message
        self.result = result or {}
        super().__init__(message)


def default_changelog_message(run_id, message=None) -> str:
    base = message or "geofoss.netbox netbox_geo_sync"
    return "%s (run %s)" % (base, run_id)


def write_json_atomic(path, data):
    """Write JSON to `path` through the collection's one atomic write (_io)."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._io import write_bytes
    write_bytes(path, (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


class Sync:
    """One run of netbox_geo_sync. `params` are the module's options."""

    def __init__(self, params, check_mode=False, diff=False, http=None, clock=time.monotonic, sleep=time.sleep,
                 load_nodes=None):
        self.params = params
        self.check_mode = check_mode
        self.want_diff = diff
        self.clock = clock
        self.sleep = sleep
        self.run_id = uuid.uuid4().hex[:12]
        self.started = clock()
        self.durations = {}
        self.warnings = []
        self.concurrent_creates = 0  # regions of this run's plan that another writer created meanwhile
        self.token = params.get("netbox_token") or ""
        insecure = plain_http_warning(params.get("netbox_url") or "", "NetBox")
        if insecure:
            self.warnings.append(redact(insecure, [self.token]))
        self.http = http or HttpClient(
            rate=float(params.get("rate_limit") or 0), retries=int(params.get("retries", 5)),
            read_timeout=float(params.get("timeout") or 60), connect_timeout=float(params.get("connect_timeout") or 10),
            validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
            pool_size=max(10, int(params.get("concurrency") or 2) * 2), sleep=sleep)
        self.retries = int(params.get("retries", 5))
        self.nb = NetBoxClient(params.get("netbox_url"), self.token, self.http,
                               changelog_message=default_changelog_message(self.run_id, params.get("changelog_message")),
                               batch_size=int(params.get("batch_size") or 200))
        self.load_nodes = load_nodes or _load_nodes
        self.plan = None
        self.applied = {"vacate": 0, "create": 0, "update": 0, "delete": 0}
        self.source_ids = {}  # geo_source_id -> region id, grows as creates land
        self._lock = threading.Lock()

    # helpers -------------------------------------------------------------------
    def clean(self, text) -> str:
        return redact(text, [self.token])

    def phase(self, name, started):
        self.durations[name] = round(self.clock() - started, 3)

    def fail(self, message):
        raise SyncError(self.clean(message), self.result(partial=True))

    # preflight -----------------------------------------------------------------
    def preflight(self):
        self.nb.status()
        missing = self.nb.missing_permissions({"dcim.region": ("view",)})
        if missing:
            self.fail("the NetBox token lacks: %s (an administrator must grant it)" % ", ".join(missing))

    def wanted_fields(self) -> dict:
        fields = {SOURCE_FIELD: {"name": SOURCE_FIELD, "label": "Geo source id", "type": "text", "unique": True,
                                 "ui_editable": "no", "filter_logic": "exact", "object_types": ["dcim.region"],
                                 "description": "Identity of a region kept by geofoss.netbox (geonames:<id>)"}}
        if self.params.get("attribute_fields"):
            for name, (kind, label) in ATTRIBUTE_FIELDS.items():
                fields[name] = {"name": name, "label": label, "type": kind, "ui_editable": "no",
                                "object_types": ["dcim.region"], "description": "Set by geofoss.netbox"}
        return fields

    def ensure_schema(self):
        """Create the custom fields and the tag that are missing (not in check mode)."""
        wanted = self.wanted_fields()
        tag = self.plan_tag()
        try:
            existing = {cf["name"]: cf for cf in self.nb.iter_objects(
                "extras/custom-fields", params={"name": list(wanted)}, fields=("id", "name", "object_types", "unique"))}
            tags = list(self.nb.iter_objects("extras/tags", params={"slug": tag}, fields=("id", "slug")))
        except NetBoxError as exc:
            if exc.status != 403:
                raise
            return self.schema_without_view(wanted, tag)
        fields_missing = [name for name in wanted if name not in existing]
        patch = [{"id": cf["id"], "object_types": sorted(set(cf.get("object_types") or []) | {"dcim.region"})}
                 for name, cf in existing.items() if "dcim.region" not in (cf.get("object_types") or [])]
        if existing.get(SOURCE_FIELD) and not existing[SOURCE_FIELD].get("unique"):
            self.warnings.append("the custom field %s is not unique: duplicates are not stopped by NetBox" % SOURCE_FIELD)
        todo = ["custom field %s" % n for n in fields_missing] + ["tag %s" % tag] * (not tags)
        todo += ["custom field %s on dcim.region" % cf["id"] for cf in patch]
        if not todo:
            return
        if self.check_mode:
            self.warnings.append("check mode: would create %s" % ", ".join(todo))
            return
        # the regions are probed too: a token that may create the fields but not the regions writes nothing
        want = {"extras.customfield": ("add",) * bool(fields_missing) + ("change",) * bool(patch),
                "extras.tag": ("add",) * (not tags), "dcim.region": ("add", "change")}
        missing = self.nb.missing_permissions({model: acts for model, acts in want.items() if acts})
        if [m for m in missing if not m.endswith(" dcim.region")]:
            self.fail("NetBox lacks %s and the token may not create them (missing: %s); an administrator must "
                      "create them: %s" % (", ".join(todo), ", ".join(missing), self.schema_instructions(tag)))
        if missing:
            self.fail_region_permissions(missing)
        if fields_missing:
            self.nb.bulk_create("extras/custom-fields", [wanted[n] for n in fields_missing], retry_safe=True)
        if patch:
            self.nb.bulk_update("extras/custom-fields", patch)
        if not tags:
            self.nb.bulk_create("extras/tags", [{"name": tag, "slug": tag, "description": "Managed by geofoss.netbox"}],
                                retry_safe=True)

    def schema_without_view(self, wanted, tag):
        """The token may not read custom fields and tags: infer them from the regions."""
        sample = list(self.nb.request("GET", REGIONS, params={"limit": 1, "fields": "id,custom_fields"})
                      .get("results", []))
        known = set((sample[0].get("custom_fields") or {}) if sample else ())
        missing = ["custom field %s" % name for name in wanted if name not in known]
        try:
            self.nb.request("GET", REGIONS, params={"limit": 1, "tag": tag, "brief": 1})
        except NetBoxError as exc:
            if exc.status != 400:
                raise
            missing.append("tag %s" % tag)
        if missing and not self.check_mode:
            self.fail("NetBox lacks %s, and the token may not view or create custom fields and tags; an administrator "
                      "must create them: %s" % (", ".join(missing), self.schema_instructions(tag)))

    def schema_instructions(self, tag) -> str:
        fields = ", ".join("%s (%s%s, object type dcim.region)" % (name, spec["type"], ", unique" * bool(spec.get("unique")))
                           for name, spec in self.wanted_fields().items())
        return "custom fields %s; tag %s (slug %s)" % (fields, tag, tag)

    def root_id(self):
        root = self.params.get("root_region")
        if not root:
            return None
        for key in ("slug", "name"):
            found = self.nb.request("GET", REGIONS, params={key: root, "brief": 1}).get("results", [])
            if found:
                return found[0]["id"]
        self.fail("root_region %r: no region with this slug or name exists in NetBox; create it first" % root)
        return None

    # reading and planning ------------------------------------------------------------
    def read_state(self):
        tag = self.plan_tag()
        # the managed ids are read beside the regions: two independent reads, each waiting on NetBox
        with ThreadPoolExecutor(max_workers=1) as pool:
            managed_ids = pool.submit(self.read_managed_ids, tag)
            regions = self.nb.read_all(REGIONS, fields=REGION_FIELDS, page_size=1000,
                                       streams=int(self.params.get("concurrency") or 2))
            managed = managed_ids.result()
        for region in regions:
            region["tags"] = [{"slug": tag}] if region["id"] in managed else []
            sid = source_id(region)
            if sid:
                self.source_ids.setdefault(sid, region["id"])
        return regions

    def read_managed_ids(self, tag) -> set:
        try:
            tagged = self.nb.iter_objects(REGIONS, params={"tag": tag}, fields=("id",), page_size=1000)
            return {region["id"] for region in tagged}
        except NetBoxError as exc:
            if exc.status != 400:  # 400: the tag does not exist yet, so nothing is managed
                raise
            return set()

    def make_plan(self):
        started = self.clock()
        self.preflight()
        self.ensure_schema()
        options = PlanOptions(managed_tag=self.plan_tag(), root_id=self.root_id(),
                              adopt=bool(self.params.get("adopt")), prune=bool(self.params.get("prune")),
                              state=self.params.get("state") or "present",
                              attribute_fields=bool(self.params.get("attribute_fields")))
        regions = self.read_state()
        self.phase("read", started)
        started = self.clock()
        nodes = []
        if options.state != "absent":
            nodes = self.load_nodes(self.params["dataset"], keep_attributes=options.attribute_fields)
        self.plan = make_plan(nodes, regions, options)
        self.add_site_counts()
        self.keep_other_tags()
        self.warnings.extend(self.plan.warnings)
        self.phase("plan", started)
        self.write_plan_file()
        if self.plan.conflicts:
            self.fail("the plan has %d conflicts, nothing was written: %s"
                      % (len(self.plan.conflicts), "; ".join(self.plan.conflicts[:20])))
        limit = self.params.get("max_deletes")
        impact = self.plan.impact
        if limit is not None and impact["regions_deleted"] > limit:
            self.fail("the plan deletes %d regions (%d managed, %d unmanaged children with them, %d sites detached), "
                      "more than max_deletes=%d; nothing was written"
                      % (impact["regions_deleted"], impact["managed_deleted"], impact["unmanaged_deleted_with_parent"],
                         impact["sites_detached"], limit))

    def add_site_counts(self):
        """The sites below each region the plan deletes (NetBox's site_count covers the
        subtree), for the delete entries and impact.sites_detached."""
        counts = {}
        for part in chunks([d["id"] for d in self.plan.delete], REREAD_CHUNK):
            params = [("id", rid) for rid in part] + [("fields", "id,site_count"), ("limit", 1000)]
            for region in self.nb.request("GET", REGIONS, params=params).get("results", []):
                counts[region["id"]] = region.get("site_count") or 0
        self.plan.set_site_counts(counts)

    def keep_other_tags(self):
        """Adoption adds the managed tag: read the region's other tags so the PATCH keeps them."""
        adopted = {u["id"]: u for u in self.plan.update if "tags" in u["changes"]}
        for part in chunks(sorted(adopted), REREAD_CHUNK):
            params = [("id", rid) for rid in part] + [("fields", "id,tags"), ("limit", 1000)]
            for region in self.nb.request("GET", REGIONS, params=params).get("results", []):
                slugs = [t["slug"] for t in region.get("tags") or []]
                adopted[region["id"]]["changes"]["tags"] = [slugs, slugs + [self.plan_tag()]]

    def plan_tag(self):
        return self.params.get("managed_tag") or "geo-managed"

    def write_plan_file(self):
        path = self.params.get("plan_file")
        if not path:
            return
        options = {k: v for k, v in self.params.items() if k not in ("netbox_token",)}
        data = dict(self.plan.to_dict(), run_id=self.run_id, check_mode=self.check_mode, options=options)
        try:
            write_json_atomic(path, json.loads(self.clean(json.dumps(data, default=str))))
        except OSError as exc:  # the plan file's folder is missing or read-only
            self.fail("plan_file %s: %s" % (path, exc))

    # applying --------------------------------------------------------------------
    def apply(self):
        started = self.clock()
        self.require_region_permissions(("add", "change") + ("delete",) * bool(self.plan.delete))
        if self.plan.vacate:
            self.run_tree_batches("vacate", self.plan.vacate, lambda v: [v["tree"]],
                                  lambda batch: self.patch_batch([_without_tree(v) for v in batch]))
        for level in self.plan.create:
            self.run_tree_batches("create", level, lambda op: [op["tree"]], self.create_batch)
        for depth in sorted({u["depth"] for u in self.plan.update}):
            self.run_tree_batches("update", [u for u in self.plan.update if u["depth"] == depth],
                                  lambda u: u["trees"], lambda batch: self.patch_batch([self.update_body(u) for u in batch]))
        for depth in sorted({d["depth"] for d in self.plan.delete}, reverse=True):
            ids = [d["id"] for d in self.plan.delete if d["depth"] == depth]
            self.run_batches("delete", chunks(ids, self.nb.batch_size), lambda batch: set(), self.delete_batch)
        self.phase("apply", started)

    def require_region_permissions(self, actions):
        missing = self.nb.missing_permissions({"dcim.region": actions})
        if missing:
            self.fail_region_permissions(missing)

    def fail_region_permissions(self, missing):
        self.fail("the NetBox token lacks: %s on regions (an administrator must grant them, or the token has "
                  "write disabled); nothing was written" % ", ".join(missing))

    def run_tree_batches(self, phase, items, trees_of, worker):
        """One phase step whose writes lock region trees in NetBox: batches kept within few
        trees, and never two batches of one tree at once (see _schedule)."""
        batches = batches_by_tree(items, self.nb.batch_size, lambda item: tuple(trees_of(item)))
        self.run_batches(phase, batches, lambda batch: {t for item in batch for t in trees_of(item) if t}, worker)

    def run_batches(self, phase, batches, keys_of, worker):
        """Batches of one phase step, `concurrency` at a time (but never two that share a key);
        stop once they are done if one failed for good."""
        if not batches:
            return
        outcomes = run_disjoint(batches, keys_of, worker, int(self.params.get("concurrency") or 2))
        errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        self.applied[phase] += sum(outcome for outcome in outcomes if not isinstance(outcome, Exception))
        if errors:
            self.fail("%s failed and the run stopped (re-run to complete it): %s"
                      % (phase, self.clean(getattr(errors[0], "message", str(errors[0])))))

    def resolve_parent(self, op):
        if "parent_source" in op:
            parent = self.source_ids.get(op["parent_source"])
            if parent is None:
                raise NetBoxError("parent %s of %s was not created" % (op["parent_source"], op["geo_source_id"]))
            return parent
        return op.get("parent_id")

    def create_body(self, op):
        return {"name": op["name"], "slug": op["slug"], "description": op["description"],
                "parent": self.resolve_parent(op), "custom_fields": op["custom_fields"],
                "tags": [{"slug": t} for t in op["tags"]]}

    def update_body(self, update):
        body = {"id": update["id"]}
        for key, (_old, new) in update["changes"].items():
            if key == "parent":
                body["parent"] = self.source_ids.get(new["source"]) if isinstance(new, dict) else new
            elif key == "tags":
                body["tags"] = [{"slug": t} for t in new]
            else:
                body[key] = new
        return body

    def create_batch(self, ops) -> int:
        """POST one batch; after an ambiguous failure re-read and send only what did not land."""
        pending = list(ops)
        attempt = 0
        while True:
            try:
                created = self.nb.bulk_create(REGIONS, [self.create_body(op) for op in pending])
            except (AmbiguousWriteError, NetBoxError, HttpError) as exc:
                status = getattr(exc, "status", None)
                ambiguous = isinstance(exc, AmbiguousWriteError) or status in AMBIGUOUS_STATUSES or status is None
                landed = self.reread_sources([op["geo_source_id"] for op in pending])
                refused = status == 500 or (status is not None and 400 <= status < 500 and status not in (408, 429))
                if landed and refused:
                    # NetBox answered and refused the batch (one transaction): what exists was not
                    # written by us but by another writer, e.g. a second sync of the same tree
                    with self._lock:
                        self.concurrent_creates += len(landed)
                pending = [op for op in pending if op["geo_source_id"] not in landed]
                if not pending:
                    return len(ops)
                # a 400 where nothing of ours landed is the data's fault: retrying cannot help
                if attempt >= self.retries or not (ambiguous or len(landed)):
                    raise
                self.http.count("retries")
                self.sleep(self.http.backoff_delay(attempt, getattr(exc, "retry_after", None)))
                attempt += 1
                continue
            with self._lock:
                for op, region in zip(pending, created):
                    self.source_ids[op["geo_source_id"]] = region["id"]
            return len(ops)

    def reread_sources(self, sids) -> set:
        """Which of these geo_source_ids exist in NetBox now (and their ids, remembered)."""
        landed = set()
        wanted = set(sids)
        for part in chunks(sorted(wanted), REREAD_CHUNK):
            params = [("cf_%s" % SOURCE_FIELD, sid) for sid in part]
            params += [("fields", "id,custom_fields"), ("limit", 1000)]
            for region in self.nb.request("GET", REGIONS, params=params).get("results", []):
                sid = source_id(region)
                if sid in wanted:  # exact: a loose filter may also match longer values
                    landed.add(sid)
                    with self._lock:
                        self.source_ids[sid] = region["id"]
        return landed

    def patch_batch(self, bodies) -> int:
        attempt = 0
        while True:
            try:
                self.nb.bulk_update(REGIONS, bodies)
                return len(bodies)
            except AmbiguousWriteError:
                if attempt >= self.retries:
                    raise
            self.http.count("retries")
            self.sleep(self.http.backoff_delay(attempt))
            attempt += 1

    def delete_batch(self, ids) -> int:
        pending = list(ids)
        attempt = 0
        while True:
            try:
                self.nb.bulk_delete(REGIONS, pending)
                return len(ids)
            except (AmbiguousWriteError, NetBoxError, HttpError):
                still = self.existing_ids(pending)
                pending = [rid for rid in pending if rid in still]
                if not pending:
                    return len(ids)
                if attempt >= self.retries:
                    raise
            self.http.count("retries")
            self.sleep(self.http.backoff_delay(attempt))
            attempt += 1

    def existing_ids(self, ids) -> set:
        found = set()
        for part in chunks(ids, REREAD_CHUNK):
            params = [("id", rid) for rid in part] + [("brief", 1), ("limit", 1000)]
            found.update(r["id"] for r in self.nb.request("GET", REGIONS, params=params).get("results", []))
        return found

    # results ---------------------------------------------------------------------
    def diff(self) -> dict:
        limit = int(self.params.get("diff_limit") if self.params.get("diff_limit") is not None else 50)
        before, after = {}, {}
        entries = ([("create %s %s" % (op["geo_source_id"], op["name"]), {}, _shown_create(op))
                    for op in self.plan.creates]
                   + [("update %s region %d" % (u["geo_source_id"], u["id"]),
                       {k: v[0] for k, v in u["changes"].items()}, {k: v[1] for k, v in u["changes"].items()})
                      for u in self.plan.update]
                   + [("delete %s region %d" % (d[SOURCE_FIELD], d["id"]), {"name": d["name"]}, {})
                      for d in self.plan.delete])
        for key, old, new in entries[:limit]:
            before[key] = old
            after[key] = new
        summary = self.plan.summary
        header = "%d creates, %d updates, %d deletes (%d shown)" % (
            summary["create"], summary["update"], summary["delete"], min(limit, len(entries)))
        return {"before": before, "after": after, "before_header": "NetBox regions", "after_header": header}

    def result(self, partial=False) -> dict:
        self.durations["total"] = round(self.clock() - self.started, 3)
        counters = self.http.counters
        result = {
            "changed": (any(self.applied.values()) if not self.check_mode else bool(self.plan and self.plan.changed)),
            "run_id": self.run_id,
            "summary": self.plan.summary if self.plan else {"create": 0, "update": 0, "delete": 0, "unchanged": 0},
            "request_ids": list(self.nb.request_ids),
            "http": {key: counters.get(key, 0) for key in ("requests", "retries", "throttled")},
            "duration": dict(self.durations),
            "plan_file": self.params.get("plan_file"),
            "warnings": list(self.warnings) + ([
                "%d regions of this run were created meanwhile by another writer (a concurrent sync of the same "
                "tree?): kept, not duplicated; a re-run verifies the tree" % self.concurrent_creates]
                if self.concurrent_creates else []),
        }
        if self.plan is not None:
            result["impact"] = self.plan.impact
            result["conflicts"] = self.plan.conflicts
            if partial and not self.check_mode:
                result["applied"] = dict(self.applied)
            if self.want_diff:
                result["diff"] = self.diff()
        return result

    def run(self) -> dict:
        try:
            self.make_plan()
            if not self.check_mode and self.plan.changed:
                self.apply()
        except NetBoxError as exc:
            self.fail(exc.message)
        except HttpError as exc:
            self.fail(exc.message)
        return self.result()


def _without_tree(vacate) -> dict:
    return {key: value for key, value in vacate.items() if key != "tree"}


def _shown_create(op) -> dict:
    shown = {key: op[key] for key in ("name", "slug", "description", "custom_fields")}
    shown["parent"] = op.get("parent_id", op.get("parent_source"))
    return shown


def _load_nodes(path, keep_attributes=False):
    """The dataset's nodes as a lazy stream holding only PLANNED_KEYS (plus "attributes" when
    the attribute fields need them), so a world of cities is never held whole.

    A missing path fails at once; a bad node fails when the stream reaches it, with file and
    line, which is still before any region is written (the plan reads every node first)."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetError, iter_node_dicts
    if not path:
        raise SyncError("dataset is required when state is present")
    keys = PLANNED_KEYS + ("attributes",) * bool(keep_attributes)

    def stream():
        try:
            for node in iter_node_dicts(path, validate=True):
                yield {key: node.get(key) for key in keys}
        except DatasetError as exc:
            raise SyncError(str(exc)) from None
    return stream()


def run_sync(params, check_mode=False, diff=False, **kwargs) -> dict:
    """The module's one call: returns the result dict or raises SyncError."""
    try:
        sync = Sync(params, check_mode=check_mode, diff=diff, **kwargs)
    except NetBoxError as exc:
        raise SyncError(exc.message) from None
    return sync.run()
