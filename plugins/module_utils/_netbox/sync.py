# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync's engine, one run in this order:

1. check every input that needs no NetBox: options, the dataset's header;
2. preflight: NetBox's version, the token's view permission;
3. read: the schema (custom fields, tag: what is missing), the root region, the region tree;
4. plan (``planner.py``), reading and validating the whole dataset (streamed); write the
   plan file; stop on conflicts or past max_deletes;
5. probe the write permissions; only then write: the schema (``schema.py``), then the
   plan, phase by phase, in concurrent batches (``schedule.py``) through the one
   retry-and-recheck layer (``writer.py``), so nothing is duplicated.

On NetBox 4.4-4.6 (django-mptt, ``client.MPTT``) the writes follow the tree's rules
(docs/netbox-versions.md): creates one request at a time, sized by what the previous
ones cost, a seed wave first for parents without children; renames and moves one region
per request.

A failure before step 5 has written nothing to NetBox.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

from ansible_collections.geofoss.netbox.plugins.module_utils._common import plain_http_warning, redact
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._http import (
    HttpClient, below_minimum, http_client_from, http_option_problems,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._contract import managed_tag_of
from ansible_collections.geofoss.netbox.plugins.module_utils._io import write_bytes
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import links as _links
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import schema as _schema
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import (
    MPTT, NetBoxClient, NetBoxError, chunks,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.diff import DifferenceTracker
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import (
    Create, DatasetOrderError, ParentRef, Plan, PlanOptions, Update, parent_id, plan as make_plan, source_id, tag_slugs,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.schedule import (
    PacedBatches, batches_by_tree, run_disjoint, seeds_first,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import (
    REREAD_CHUNK, BatchWriter, Identity,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._progress import progress_to
from ansible_collections.geofoss.netbox.plugins.module_utils._report import map_size_problem
from ansible_collections.geofoss.netbox.plugins.module_utils._report.countries import DatasetCountries

REGIONS = "dcim/regions"
# no "tags": NetBox serialises them six times slower than the rest (5.4 s vs 0.8 s per 1,000
# regions on the test bed); the managed set comes from a second, id-only read filtered by tag.
# No "site_count" either: NetBox counts each region's subtree for it (0.28 s of a 0.3 s page);
# only the regions a plan deletes need it (add_site_counts)
REGION_FIELDS = ("id", "name", "slug", "parent", "description", "custom_fields")
# after a create whose answer was lost, a region is found again by its slug (an indexed
# column; a filter on geo_source_id would scan the whole region table), then known by its
# parent and geo_source_id
REGION_IDENTITY = Identity("slug", "id,slug,parent,custom_fields", source_id, match=("parent",))
# what the planner reads of a node (attributes only with attribute_fields)
PLANNED_KEYS = ("geo_source_id", "level", "name", "slug", "parent", "description")
DEFAULT_DIFF_LIMIT = 50
# NetBox 4.4-4.6: the first create request of a run (nothing measured yet), and the share of
# the read timeout that a create request is sized to take (PacedBatches)
FIRST_MPTT_BATCH = 50
MPTT_REQUEST_SHARE = 0.25
# NetBox 4.4-4.6 delete regions without closing the gap in the tree numbering
# (docs/netbox-versions.md); no API call repairs it
MPTT_DELETE_GAPS = (
    "NetBox %s keeps the region tree with django-mptt and leaves gaps in its numbering (lft/rght) when regions "
    "are deleted: nesting and order stay right, but NetBox's descendant counts and filters may include regions "
    "that are gone. Repair it on the NetBox host: `manage.py nbshell`, then "
    "`from dcim.models import Region; Region.objects.rebuild()` (docs/netbox-versions.md)")
HEADER_LINES = 1  # the dataset's first line is its header: node n (0-based) is on line n + 2

Item = TypeVar("Item")


def _parent_by_id(region: dict[str, Any]) -> dict[str, Any]:
    """A region as read, its nested parent (id, url, display, name, slug, depth) cut to the id
    the plan needs, so that a large read does not hold every parent's copy of them."""
    region["parent"] = parent_id(region)
    return region


class SyncError(GeoFossError):
    """A run that stopped; `result` holds what was planned and applied so far."""


def default_changelog_message(run_id: str, message: str | None = None) -> str:
    base = message or "geofoss.netbox netbox_geo_sync"
    return "%s (run %s)" % (base, run_id)


def option_problems(params: Mapping[str, Any]) -> list[str]:
    """What is wrong with the options on their own (before anything is read)."""
    problems = []
    if (params.get("state") or "present") == "present" and not params.get("dataset"):
        problems.append("dataset is required when state is present")
    drawing = params.get("map")
    if drawing:
        problem = "dest is required" if not drawing.get("dest") else map_size_problem(drawing.get("size"))
        if problem:
            problems.append("map: " + problem)
    return (problems + below_minimum(params, ("batch_size", "concurrency"), 1)
            + below_minimum(params, ("diff_limit", "max_deletes"), 0) + http_option_problems(params))


def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON to `path` through the collection's one atomic write (_io)."""
    write_bytes(path, (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))


class Sync:
    """One run of netbox_geo_sync. `params` are the module's options."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool = False, diff: bool = False,
                 http: HttpClient | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = time.sleep,
                 load_nodes: Callable[..., Iterable[dict[str, Any]]] | None = None) -> None:
        self.params = params
        self.check_mode = check_mode
        self.want_diff = diff
        self.clock = clock
        self.run_id = uuid.uuid4().hex[:12]
        self.started = clock()
        self.durations: dict[str, float] = {}
        self.warnings: list[str] = []
        self.concurrent_creates = 0  # regions of this run's plan that another writer created meanwhile
        self.late_creates = 0  # regions that landed although their request timed out or lost its answer
        self.parents_with_children: set[int | None] = set()  # as read, before any write
        self.token = params.get("netbox_token") or ""
        problems = option_problems(params)
        if problems:
            raise SyncError("; ".join(problems))
        insecure = plain_http_warning(params.get("netbox_url") or "", "NetBox")
        if insecure:
            self.warnings.append(redact(insecure, [self.token]))
        self.concurrency = int(params.get("concurrency") or 2)
        self.http = http or http_client_from(params, pool_size=max(10, self.concurrency * 2), sleep=sleep)
        self.nb = NetBoxClient(params.get("netbox_url"), self.token, self.http,
                               changelog_message=default_changelog_message(self.run_id, params.get("changelog_message")),
                               batch_size=int(params.get("batch_size") or 200))
        # the retries option bounds the sends of a write batch (an injected client may differ)
        retries = params.get("retries")
        self.writer = BatchWriter(self.nb, self.http.retries if retries is None else int(retries))
        self.load_nodes = load_nodes or _load_nodes
        self.tag = managed_tag_of(params)  # None under ownership source_id: no region carries it
        self.schema: _schema.Schema | None = None
        self.links: _links.Links | None = None
        self.schema_written = False
        self.plan: Plan | None = None
        self.applied = {"vacate": 0, "create": 0, "update": 0, "delete": 0}
        self.source_ids: dict[str, int] = {}  # geo_source_id -> region id, grows as creates land
        # create request sizes on MPTT releases, from the seconds per region of the ones before
        self.create_pace = PacedBatches(self.nb.batch_size, self.http.read_timeout * MPTT_REQUEST_SHARE,
                                        FIRST_MPTT_BATCH)
        self._lock = threading.Lock()
        self.progress = progress_to(params.get("progress_file"))
        # the run's map (option map): its countries noted as the plan reads the dataset, drawn
        # in a thread of its own while the plan is written to NetBox
        self.map_countries = DatasetCountries() if params.get("map") else None
        self.map_thread: threading.Thread | None = None
        self.map_drawn: dict[str, Any] | None = None
        self.map_error: str | None = None

    # helpers -------------------------------------------------------------------
    def clean(self, text: object) -> str:
        return redact(text, [self.token])

    def phase(self, name: str, started: float) -> None:
        self.durations[name] = round(self.clock() - started, 3)

    def fail(self, message: str) -> NoReturn:
        raise SyncError(self.clean(message), self.result(partial=True))

    # 1. inputs that need no NetBox -------------------------------------------------------
    def check_dataset(self) -> None:
        """The dataset opens and starts with a dataset header (its nodes are checked as the
        plan reads them, still before any write)."""
        if (self.params.get("state") or "present") == "absent":
            return
        from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetError, read_header
        try:
            read_header(self.params["dataset"])
        except DatasetError as exc:
            raise SyncError(str(exc)) from None

    # 2. preflight --------------------------------------------------------------------
    def preflight(self) -> None:
        self.nb.status()
        missing = self.nb.missing_permissions({"dcim.region": ("view",)})
        if missing:
            self.fail("the NetBox token lacks: %s (an administrator must grant it)" % ", ".join(missing))

    # 3. reading ------------------------------------------------------------------------
    def inspect_schema(self) -> None:
        """What NetBox lacks of the custom fields and the tag; nothing is created yet."""
        schema = _schema.inspect(self.nb, self.tag, bool(self.params.get("attribute_fields")))
        self.schema = schema
        self.warnings.extend(schema.warnings)
        if not schema.todo:
            return
        if not schema.visible:
            if not self.check_mode:
                self.fail(schema.unwritable())
        elif self.check_mode:
            if schema.missing:
                self.warnings.append("check mode: would create %s" % ", ".join(schema.missing))
            self.warnings.extend("check mode: would change %s" % change.describe() for change in schema.fields_to_change)

    def inspect_links(self) -> None:
        """netbox_links: what the custom links and export template need; nothing written yet."""
        if not self.params.get("netbox_links"):
            return
        present = (self.params.get("state") or "present") != "absent"
        links = self.links = _links.inspect(self.nb, present=present)
        if links.todo and self.check_mode:
            self.warnings.append("check mode: would %s" % ", ".join(links.todo))

    def root_id(self) -> int | None:
        root = self.params.get("root_region")
        if not root:
            return None
        for key in ("slug", "name"):
            found = self.nb.request("GET", REGIONS, params={key: root, "brief": 1}).get("results", [])
            if found:
                return int(found[0]["id"])
        self.fail("root_region %r: no region with this slug or name exists in NetBox; create it first" % root)

    def read_state(self) -> list[dict[str, Any]]:
        # the managed ids (by tag; under ownership source_id the regions alone tell) are read
        # beside the regions: two independent reads, each waiting on NetBox
        with ThreadPoolExecutor(max_workers=1) as pool:
            managed_ids = pool.submit(self.read_managed_ids) if self.tag else None
            regions = self.nb.read_all(REGIONS, fields=REGION_FIELDS, page_size=1000, streams=self.concurrency,
                                       shape=_parent_by_id)
            managed = managed_ids.result() if managed_ids else set()
        if self.tag:
            managed |= self.tagged_meanwhile(regions, managed)
        tagged: tuple[dict[str, str], ...] = ({"slug": self.tag},) if self.tag else ()
        for region in regions:
            region["tags"] = tagged if region["id"] in managed else ()  # shared: read only, as the planner does
            self.parents_with_children.add(parent_id(region))
            sid = source_id(region)
            if sid:
                self.source_ids.setdefault(sid, region["id"])
        return regions

    def tagged_meanwhile(self, regions: list[dict[str, Any]], managed: set[int]) -> set[int]:
        """The regions with a geo_source_id that the tag read missed but that carry the tag: a
        write still landing (a run killed or timed out a moment ago) can commit between the two
        parallel reads, and its regions would look like someone else's. Asked again by id;
        normally there are none to ask about."""
        unconfirmed = sorted(region["id"] for region in regions if source_id(region) and region["id"] not in managed)
        if len(unconfirmed) > 10 * REREAD_CHUNK:  # many (a tree to adopt): one more tag read costs less
            return self.read_managed_ids() & set(unconfirmed)
        return {region["id"] for region in self.by_id(unconfirmed, "id,tags")
                if self.tag in tag_slugs(region)}

    def read_managed_ids(self) -> set[int]:
        try:
            tagged = self.nb.iter_objects(REGIONS, params={"tag": self.tag}, fields=("id",), page_size=1000)
            return {region["id"] for region in tagged}
        except NetBoxError as exc:
            if exc.status != 400:  # 400: the tag does not exist yet, so nothing is managed
                raise
            return set()

    # 4. planning -----------------------------------------------------------------------
    def make_plan(self) -> Plan:
        started = self.clock()
        self.preflight()
        self.inspect_schema()
        self.inspect_links()
        options = PlanOptions(managed_tag=self.tag, root_id=self.root_id(),
                              adopt=bool(self.params.get("adopt")), prune=bool(self.params.get("prune")),
                              state=self.params.get("state") or "present",
                              attribute_fields=bool(self.params.get("attribute_fields")))
        self.progress.phase("read")
        regions = self.read_state()
        self.progress.advance(len(regions))
        self.phase("read", started)
        started = self.clock()
        self.progress.phase("plan", unit="")  # one step: the line names it
        nodes: Iterable[dict[str, Any]] = []
        if options.state != "absent":
            nodes = self.load_nodes(self.params["dataset"],
                                    keep_attributes=options.attribute_fields or self.map_countries is not None)
            if self.map_countries is not None:
                nodes = noting_countries(nodes, self.map_countries, keep_attributes=options.attribute_fields)
        try:
            plan = self.plan = make_plan(nodes, regions, options)
        except DatasetOrderError as exc:
            raise SyncError("%s:%d: %s" % (self.params["dataset"], exc.index + HEADER_LINES + 1, exc)) from None
        self.add_site_counts(plan)
        self.keep_other_tags(plan)
        self.warnings.extend(plan.warnings)
        self.phase("plan", started)
        data = self.plan_data(plan)
        self.write_plan_file(data)
        self.start_map(data)
        if plan.conflicts:
            self.fail("the plan has %d conflicts, nothing was written: %s"
                      % (len(plan.conflicts), "; ".join(plan.conflicts[:20])))
        limit = self.params.get("max_deletes")
        impact = plan.impact
        if limit is not None and impact["regions_deleted"] > limit:
            self.fail("the plan deletes %d regions (%d managed, %d unmanaged children with them, %d sites detached), "
                      "more than max_deletes=%d; nothing was written"
                      % (impact["regions_deleted"], impact["managed_deleted"], impact["unmanaged_deleted_with_parent"],
                         impact["sites_detached"], limit))
        return plan

    def by_id(self, ids: Sequence[int], fields: str) -> Iterator[dict[str, Any]]:
        """The regions with these ids, with `fields` (a few ids per request)."""
        for part in chunks(ids, REREAD_CHUNK):
            params = [("id", rid) for rid in part] + [("fields", fields), ("limit", 1000)]
            yield from self.nb.request("GET", REGIONS, params=params).get("results", [])

    def add_site_counts(self, plan: Plan) -> None:
        """The sites below each region the plan deletes (NetBox's site_count covers the
        subtree), for the delete entries and impact.sites_detached."""
        counts = {region["id"]: region.get("site_count") or 0
                  for region in self.by_id([d.id for d in plan.delete], "id,site_count")}
        plan.set_site_counts(counts)

    def keep_other_tags(self, plan: Plan) -> None:
        """Adoption adds the managed tag: read the region's other tags so the PATCH keeps them."""
        adopted = {u.id: u for u in plan.update if "tags" in u.changes}
        for region in self.by_id(sorted(adopted), "id,tags"):
            slugs = [t["slug"] for t in region.get("tags") or []]
            change = adopted[region["id"]].changes["tags"]
            change.old, change.new = slugs, slugs + [self.tag]

    def plan_data(self, plan: Plan) -> dict[str, Any] | None:
        """The plan file's content (None when neither the plan file nor the map needs it)."""
        if not self.params.get("plan_file") and self.map_countries is None:
            return None
        options = {k: v for k, v in self.params.items() if k not in ("netbox_token",)}
        data = dict(plan.to_dict(), run_id=self.run_id, check_mode=self.check_mode, options=options)
        return json.loads(self.clean(json.dumps(data, default=str)))

    def write_plan_file(self, data: dict[str, Any] | None) -> None:
        path = self.params.get("plan_file")
        if not path or data is None:
            return
        try:
            write_json_atomic(path, data)
        except OSError as exc:  # the plan file's folder is missing or read-only
            self.fail("plan_file %s: %s" % (path, exc))

    # the map -----------------------------------------------------------------------
    def start_map(self, plan: dict[str, Any] | None) -> None:
        """Draw the map of the plan in a thread beside the writes: the drawing (matplotlib's
        import included) waits for no answer of NetBox and NetBox waits for none of it, so it
        adds no time unless the writes end first. A map that cannot be drawn is a warning of
        the run, never its failure."""
        if self.map_countries is None or plan is None:
            return
        options = dict(self.params["map"], dataset=self.params.get("dataset"))
        countries = self.map_countries

        def draw() -> None:
            started = time.monotonic()  # not self.clock: a test's clock serves the main thread
            try:
                from ansible_collections.geofoss.netbox.plugins.module_utils._report.map import draw_run_map
                self.map_drawn = draw_run_map(options, countries, plan)
            except Exception as exc:  # pylint: disable=broad-except  # reported as a warning, see above
                self.map_error = self.clean(getattr(exc, "message", None) or "%s: %s" % (type(exc).__name__, exc))
            self.durations["map"] = round(time.monotonic() - started, 3)

        self.map_thread = threading.Thread(target=draw, name="netbox_geo_sync-map", daemon=True)
        self.map_thread.start()

    def finish_map(self) -> dict[str, Any]:
        """Wait for the map; the result's map (its path) and its warnings."""
        if self.map_thread is None:
            return {}
        self.map_thread.join()
        if self.map_drawn is None:
            return {"map": None, "warnings": ["the map was not drawn: %s" % self.map_error]}
        return {"map": self.map_drawn["path"], "warnings": list(self.map_drawn.get("warnings") or [])}

    # 5. writing ------------------------------------------------------------------------
    def require_permissions(self, plan: Plan) -> None:
        """Probe every write permission the run needs (writes nothing), before the first write."""
        schema = self.schema
        wanted = dict(schema.permissions()) if schema is not None and schema.visible else {}
        if plan.changed:
            wanted["dcim.region"] = ("add", "change") + ("delete",) * bool(plan.delete)
        if self.links is not None:
            wanted.update(self.links.permissions())
        missing = self.nb.missing_permissions(wanted)
        lacking_change = "change %s" % _schema.CUSTOM_FIELD_TYPE
        if schema is not None and lacking_change in missing and all(c.settings_only for c in schema.fields_to_change):
            # a unique geo_source_id costs NetBox time, nothing else: without the right, keep it and say so
            self.warnings.extend(change.kept() for change in schema.fields_to_change)
            schema.fields_to_change = []
            missing.remove(lacking_change)
        if schema is not None and [m for m in missing if not m.endswith(" dcim.region")]:
            self.fail("NetBox's schema needs changes (%s) and the token may not make them (missing: %s); an "
                      "administrator must: %s" % ("; ".join(schema.todo), ", ".join(missing),
                                                  _schema.instructions(self.tag, schema.attribute_fields)))
        if missing:
            self.fail("the NetBox token lacks: %s (an administrator must grant them, or the token has "
                      "write disabled); nothing was written" % ", ".join(missing))

    @property
    def mptt(self) -> bool:
        """True on NetBox 4.4-4.6, whose region tree django-mptt keeps (known after preflight)."""
        return self.nb.tree == MPTT

    def apply(self, plan: Plan) -> None:
        started = self.clock()
        mptt = self.mptt
        if plan.vacate:  # renames: on MPTT one per request, as a bulk PATCH would corrupt the tree
            self.progress.phase("vacate", total=len(plan.vacate))
            self.run_tree_batches("vacate", plan.vacate, lambda v: [v.tree],
                                  lambda batch: self.writer.update(REGIONS, [v.body() for v in batch]),
                                  alone=lambda v: mptt)
        if plan.summary["create"]:
            self.progress.phase("create", total=plan.summary["create"])
        for level in plan.create:
            if mptt:
                self.create_level_in_order(level)
            else:
                self.run_tree_batches("create", level, lambda op: [op.tree], self.create_batch)
        if plan.update:
            self.progress.phase("update", total=len(plan.update))
        for depth in sorted({u.depth for u in plan.update}):
            self.run_tree_batches("update", [u for u in plan.update if u.depth == depth], lambda u: u.trees,
                                  self.update_batch, alone=lambda u: mptt and u.moves_in_tree)
        if plan.delete:
            self.progress.phase("delete", total=len(plan.delete))
        for depth in sorted({d.depth for d in plan.delete}, reverse=True):
            ids = [d.id for d in plan.delete if d.depth == depth]
            self.run_batches("delete", chunks(ids, self.nb.batch_size), lambda batch: set(),
                             lambda batch: self.writer.delete(REGIONS, batch))
        self.phase("apply", started)

    def run_tree_batches(self, phase: str, items: Sequence[Item], trees_of: Callable[[Item], Sequence[str | None]],
                         worker: Callable[[list[Item]], int], alone: Callable[[Item], bool] = lambda item: False,
                         ) -> None:
        """One phase step whose writes lock region trees in NetBox: batches kept within few
        trees, and never two batches of one tree at once (see schedule.py). The items that
        `alone` picks go one per request, first, a tree's in the order given."""
        def locked(item: Item) -> tuple[str, ...]:  # a new top-level region locks no tree
            return tuple(tree for tree in trees_of(item) if tree)

        batches = [[item] for item in items if alone(item)]
        batches += batches_by_tree([item for item in items if not alone(item)], self.nb.batch_size,
                                   lambda item: locked(item) or None, streams=self.concurrency)
        self.run_batches(phase, batches, lambda batch: {tree for item in batch for tree in locked(item)}, worker)

    def create_level_in_order(self, level: list[Create]) -> None:
        """One level of creates on an MPTT NetBox, so that siblings end in NetBox's name order:
        first a seed wave (one child of each parent that has no children yet), then the rest,
        each region then placed among its siblings by NetBox's own query (schedule.seeds_first).
        NetBox runs region creates one at a time under its global lock: the requests go one
        after another, each sized by what the ones before cost (schedule.PacedBatches)."""
        for wave in seeds_first(level, lambda op: op.parent, self.childless):
            ordered = [op for batch in batches_by_tree(wave, max(1, len(wave)), lambda op: op.tree) for op in batch]
            self.create_pace.cut(ordered, lambda batch: self.run_batches("create", [batch], lambda b: set(),
                                                                         self.create_batch), self.clock)

    def childless(self, parent: ParentRef) -> bool:
        """True when `parent` has no child region in NetBox before this level is created: one
        created this run, or an existing region with none (a top-level region has no parent:
        NetBox always places it by name)."""
        if parent.created_this_run:
            return True
        return parent.region_id is not None and parent.region_id not in self.parents_with_children

    def run_batches(self, phase: str, batches: Sequence[list[Item]], keys_of: Callable[[list[Item]], set[str]],
                    worker: Callable[[list[Item]], int]) -> None:
        """Batches of one phase step, `concurrency` at a time (but never two that share a key);
        stop once they are done if one failed for good."""
        if not batches:
            return

        def counted(batch: list[Item]) -> int:
            done = worker(batch)
            self.progress.advance(len(batch))
            return done

        outcomes = run_disjoint(batches, keys_of, counted, self.concurrency)
        errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        self.applied[phase] += sum(outcome for outcome in outcomes if not isinstance(outcome, Exception))
        if errors:
            self.fail("%s failed and the run stopped (re-run to complete it): %s"
                      % (phase, self.clean(getattr(errors[0], "message", str(errors[0])))))

    def created_id(self, source: str) -> int | None:
        with self._lock:
            return self.source_ids.get(source)

    def parent_of(self, op: Create) -> int | None:
        if not op.parent.created_this_run:
            return op.parent.region_id
        parent = self.created_id(op.parent.source or "")
        if parent is None:
            raise GeoFossError("parent %s of %s was not created" % (op.parent.source, op.geo_source_id))
        return parent

    def create_batch(self, ops: list[Create]) -> int:
        """POST one batch (the writer re-reads by geo_source_id after a lost answer)."""
        outcome = self.writer.create(REGIONS, [op.body(self.parent_of(op)) for op in ops], REGION_IDENTITY)
        with self._lock:
            self.source_ids.update(outcome.ids)
            self.concurrent_creates += outcome.by_others
            self.late_creates += outcome.landed_late
        return len(ops)

    def update_batch(self, updates: list[Update]) -> int:
        return self.writer.update(REGIONS, [update.body(self.created_id) for update in updates])

    # results ---------------------------------------------------------------------
    def diff(self, plan: Plan) -> dict[str, Any]:
        limit = self.params.get("diff_limit")
        tracker = DifferenceTracker(DEFAULT_DIFF_LIMIT if limit is None else int(limit))
        for name, before, after in self.schema_changes():
            tracker.add(name, before, after)
        for op in plan.creates:
            tracker.add("create %s %s" % (op.geo_source_id, op.name), {}, op.shown())
        for update in plan.update:
            changes = {key: change.to_list() for key, change in update.changes.items()}
            tracker.add("update %s region %d" % (update.geo_source_id, update.id),
                        {key: old for key, (old, _new) in changes.items()},
                        {key: new for key, (_old, new) in changes.items()})
        for delete in plan.delete:
            tracker.add("delete %s region %d" % (delete.geo_source_id, delete.id), {"name": delete.name}, {})
        for verb, names in (self.links.names.items() if self.links is not None else ()):
            for name in names:
                tracker.add("%s %s" % (verb, name), {} if verb == "create" else {"present": True},
                            {} if verb == "delete" else {"present": True})
        summary = plan.summary
        schema = self.schema_changes()
        return tracker.diff(before_header="NetBox regions", after_header="%s%d creates, %d updates, %d deletes (%d shown)"
                            % ("%d schema changes, " % len(schema) if schema else "", summary["create"],
                               summary["update"], summary["delete"], tracker.shown))

    def schema_changes(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """The custom fields and the tag the run creates or changes (none when the token
        may not see them: it may not change them either)."""
        schema = self.schema
        return schema.changes() if schema is not None and schema.visible else []

    def result(self, partial: bool = False) -> dict[str, Any]:
        drawn = self.finish_map()
        self.durations["total"] = round(self.clock() - self.started, 3)
        counters = self.http.counters
        plan = self.plan
        changed = self.schema_written or any(self.applied.values())
        result: dict[str, Any] = {
            "changed": (changed if not self.check_mode else bool(plan and plan.changed) or bool(self.schema_changes())),
            "run_id": self.run_id,
            "summary": plan.summary if plan else {"create": 0, "update": 0, "delete": 0, "unchanged": 0},
            "request_ids": list(self.nb.request_ids),
            "http": {key: counters.get(key, 0) for key in ("requests", "retries", "throttled")},
            "duration": dict(self.durations),
            "plan_file": self.params.get("plan_file"),
            "warnings": list(self.warnings) + self.write_warnings() + drawn.pop("warnings", []),
        }
        result.update(drawn)
        if self.links is not None:
            result["links"] = self.links.result()
            result["changed"] = result["changed"] or bool(self.links.todo and (self.check_mode or not partial))
        if plan is not None:
            result["impact"] = plan.impact
            result["conflicts"] = plan.conflicts
            if partial and not self.check_mode:
                result["applied"] = dict(self.applied)
            if self.want_diff:
                result["diff"] = self.diff(plan)
        return result

    def write_warnings(self) -> list[str]:
        """What the writes met that the user should know."""
        warnings = []
        if self.late_creates:
            warnings.append(
                "%d regions landed after the request that sent them timed out or lost its answer (NetBox finished "
                "it after the client gave up): found by reading back, not sent again; a larger timeout avoids the "
                "wait" % self.late_creates)
        if self.concurrent_creates:
            warnings.append(
                "%d regions of this run were created meanwhile by another writer (a concurrent sync of the same "
                "tree?): kept, not duplicated; a re-run verifies the tree" % self.concurrent_creates)
        if self.applied["delete"] and self.mptt:
            warnings.append(MPTT_DELETE_GAPS % self.nb.version)
        return warnings

    def run(self) -> dict[str, Any]:
        try:
            self.check_dataset()
            plan = self.make_plan()
            links_todo = bool(self.links and self.links.todo)
            if not self.check_mode and (plan.changed or self.schema_changes() or links_todo):
                self.require_permissions(plan)
                if self.schema is not None and self.schema_changes():  # what the token may change
                    _schema.ensure(self.writer, self.schema)
                    self.schema_written = True
                if plan.changed:
                    self.apply(plan)
                if self.links is not None and links_todo:
                    _links.ensure(self.writer, self.links)
        except SyncError:
            raise
        except GeoFossError as exc:
            self.fail(exc.message)
        finally:
            self.progress.finish()
        return self.result()


def noting_countries(nodes: Iterable[dict[str, Any]], countries: DatasetCountries,
                     keep_attributes: bool) -> Iterator[dict[str, Any]]:
    """The nodes as loaded, each noted for the map first (its attributes dropped after,
    unless the attribute fields need them)."""
    for node in nodes:
        countries.add(node)
        if not keep_attributes:
            node.pop("attributes", None)
        yield node


def _load_nodes(path: str | None, keep_attributes: bool = False) -> Iterator[dict[str, Any]]:
    """The dataset's nodes as a lazy stream holding only PLANNED_KEYS (plus "attributes" when
    the attribute fields need them), so a world of cities is never held whole.

    A missing path fails at once; a bad node fails when the stream reaches it, with file and
    line, which is still before any write (the plan reads every node first)."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetError, iter_node_dicts
    if not path:
        raise SyncError("dataset is required when state is present")
    keys = PLANNED_KEYS + ("attributes",) * bool(keep_attributes)

    def stream() -> Iterator[dict[str, Any]]:
        try:
            for node in iter_node_dicts(path, validate=True):
                yield {key: node.get(key) for key in keys}
        except DatasetError as exc:
            raise SyncError(str(exc)) from None
    return stream()


def run_sync(params: Mapping[str, Any], check_mode: bool = False, diff: bool = False, **kwargs: Any) -> dict[str, Any]:
    """The module's one call: returns the result dict or raises SyncError."""
    try:
        sync = Sync(params, check_mode=check_mode, diff=diff, **kwargs)
    except SyncError:
        raise
    except GeoFossError as exc:
        raise SyncError(exc.message) from None
    return sync.run()
