# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync plan: a pure function of (dataset nodes, current NetBox regions, options).

The plan's phases, in the order the sync applies them:

1. ``vacate``: temporary names/slugs for regions whose current name or slug another
   region needs (sibling swaps, a new region taking a renamed or pruned one's name);
2. ``create``: new regions, grouped by depth so parents exist before their children;
3. ``update``: only the fields that differ (moves point at parents that now exist);
4. ``delete``: stale managed regions, deepest first.

Nothing here talks to NetBox; the input ``regions`` is what the paginated read returned.
Each operation is a small type (Vacate, Create, Update, Delete, Cascade); ``Plan.to_dict``
gives the plan file's JSON, which is public and stays as it was when they were dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from ansible_collections.geofoss.netbox.plugins.module_utils._contract import DEFAULT_MANAGED_TAG, SOURCE_FIELD

# optional attribute custom fields: name -> (NetBox type, label)
ATTRIBUTE_FIELDS = {
    "geo_iso_code": ("text", "ISO code"),
    "geo_population": ("integer", "Population"),
    "geo_latitude": ("decimal", "Latitude"),
    "geo_longitude": ("decimal", "Longitude"),
    "geo_time_zone": ("text", "Time zone"),
}
DECIMAL_PLACES = 4
TEMPORARY_PREFIX = "geofoss-tmp-"


class DatasetOrderError(ValueError):
    """The nodes are not a tree in file order: a geo_source_id twice, or a parent that is
    not an earlier node. `index` is the node's position in the stream (0-based), from
    which the caller, who knows the file, gives its line."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass
class PlanOptions:
    # the slug of the tag that makes a region managed; None (ownership source_id): a geo_source_id does
    managed_tag: str | None = DEFAULT_MANAGED_TAG
    root_id: int | None = None  # the region that top-level nodes hang under
    adopt: bool = False
    prune: bool = False
    state: str = "present"
    attribute_fields: bool = False


@dataclass(frozen=True, slots=True)
class ParentRef:
    """Where a region hangs: under an existing region (`region_id`; None is the top of the
    tree) or under one this run creates (`source`, its geo_source_id)."""

    region_id: int | None = None
    source: str | None = None

    @property
    def created_this_run(self) -> bool:
        return self.source is not None

    def shown(self) -> int | str | None:
        """The parent as the plan file and --diff show it: an id, or a geo_source_id."""
        return self.source if self.source is not None else self.region_id


def _plain(value: Any) -> Any:
    """A change's value as the plan file shows it (a new parent is ``{"source": gsid}``)."""
    if isinstance(value, ParentRef):
        return {"source": value.source} if value.created_this_run else value.region_id
    return value


@dataclass(slots=True)
class Change:
    """One field of an update: what NetBox holds now and what it is set to."""

    old: Any
    new: Any

    def to_list(self) -> list[Any]:
        return [_plain(self.old), _plain(self.new)]


@dataclass(slots=True)
class Vacate:
    """A temporary name and slug for a region whose own another region needs meanwhile."""

    id: int
    name: str
    slug: str
    tree: str

    def body(self) -> dict[str, Any]:
        return {"name": self.name, "slug": self.slug, "id": self.id}

    def to_dict(self) -> dict[str, Any]:
        return dict(self.body(), tree=self.tree)


@dataclass(slots=True)
class Create:
    """A new region. `tree` is the tree NetBox locks to insert it (see schedule.py):
    ``id:<top region id>``, ``new:<geo_source_id>`` of a top region created this run,
    or None for a new top region."""

    geo_source_id: str
    name: str
    slug: str
    description: str
    custom_fields: dict[str, Any]
    level: str | None
    depth: int
    parent: ParentRef
    tags: tuple[str, ...]
    tree: str | None

    def body(self, parent_id: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "slug": self.slug, "description": self.description,
                                "parent": parent_id, "custom_fields": self.custom_fields}
        if self.tags:  # none under ownership source_id: the tag is most of what a create costs beyond a bare region
            body["tags"] = [{"slug": tag} for tag in self.tags]
        return body

    def shown(self) -> dict[str, Any]:
        """What --diff shows of it."""
        return {"name": self.name, "slug": self.slug, "description": self.description,
                "custom_fields": self.custom_fields, "parent": self.parent.shown()}

    def to_dict(self) -> dict[str, Any]:
        entry = {"name": self.name, "slug": self.slug, "description": self.description,
                 "custom_fields": self.custom_fields, "geo_source_id": self.geo_source_id, "level": self.level,
                 "depth": self.depth, "tags": list(self.tags), "tree": self.tree}
        entry["parent_source" if self.parent.created_this_run else "parent_id"] = self.parent.shown()
        return entry


@dataclass(slots=True)
class Update:
    """The fields of an existing region that differ; `trees` are the trees NetBox locks
    for it (two for a move: the one it leaves and the one it joins)."""

    id: int
    geo_source_id: str
    depth: int
    changes: dict[str, Change]
    trees: list[str]

    @property
    def moves_in_tree(self) -> bool:
        """True when it changes the name or the parent: django-mptt (NetBox 4.4-4.6) then
        moves the node within its tree (siblings are kept in name order)."""
        return "name" in self.changes or "parent" in self.changes

    def body(self, created_id: Callable[[str], int | None]) -> dict[str, Any]:
        """The PATCH body; a new parent created this run is looked up with `created_id`."""
        body: dict[str, Any] = {"id": self.id}
        for key, change in self.changes.items():
            if key == "parent":
                parent = change.new
                body["parent"] = created_id(parent.source) if parent.created_this_run else parent.region_id
            elif key == "tags":
                body["tags"] = [{"slug": tag} for tag in change.new]
            else:
                body[key] = change.new
        return body

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "geo_source_id": self.geo_source_id, "depth": self.depth,
                "changes": {key: change.to_list() for key, change in self.changes.items()}, "trees": self.trees}


@dataclass(slots=True)
class Delete:
    """A stale managed region; `top` when its parent is not deleted too (its site count,
    which covers the subtree, then counts once in sites_detached); `within`, the
    geo_source_id of its nearest ancestor the plan keeps (the run's map shades that
    ancestor's country)."""

    id: int
    geo_source_id: str | None
    name: str | None
    depth: int
    site_count: int
    top: bool
    within: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, SOURCE_FIELD: self.geo_source_id, "name": self.name, "depth": self.depth,
                "site_count": self.site_count, "top": self.top, "within": self.within}


@dataclass(slots=True)
class Cascade:
    """An unmanaged region that NetBox deletes with a pruned ancestor."""

    id: int
    name: str | None
    deleted_with: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "deleted_with": self.deleted_with}


@dataclass
class Plan:
    vacate: list[Vacate] = field(default_factory=list)
    create: list[list[Create]] = field(default_factory=list)  # per depth, parents first
    update: list[Update] = field(default_factory=list)
    delete: list[Delete] = field(default_factory=list)  # deepest first
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # the sync writes nothing when there are any
    warnings: list[str] = field(default_factory=list)
    cascade: list[Cascade] = field(default_factory=list)
    sites_detached: int = 0

    @property
    def creates(self) -> list[Create]:
        return [op for level in self.create for op in level]

    @property
    def summary(self) -> dict[str, int]:
        return {"create": sum(map(len, self.create)), "update": len(self.update), "delete": len(self.delete),
                "unchanged": self.unchanged}

    @property
    def changed(self) -> bool:
        return bool(self.create or self.update or self.delete)

    @property
    def impact(self) -> dict[str, int]:
        return {"regions_deleted": len(self.delete) + len(self.cascade), "managed_deleted": len(self.delete),
                "unmanaged_deleted_with_parent": len(self.cascade), "sites_detached": self.sites_detached}

    def set_site_counts(self, counts: Mapping[int, int]) -> None:
        """Each deleted region's site count (its subtree's, as NetBox counts it); the top of a
        deleted subtree counts its sites once in sites_detached."""
        for entry in self.delete:
            entry.site_count = counts.get(entry.id, 0)
        self.sites_detached = sum(entry.site_count for entry in self.delete if entry.top)

    def to_dict(self) -> dict[str, Any]:
        """The plan file's JSON (public)."""
        return {"summary": self.summary, "impact": self.impact, "conflicts": self.conflicts,
                "warnings": self.warnings, "vacate": [op.to_dict() for op in self.vacate],
                "create": [op.to_dict() for op in self.creates], "update": [op.to_dict() for op in self.update],
                "delete": [op.to_dict() for op in self.delete], "cascade": [op.to_dict() for op in self.cascade]}


Region = Mapping[str, Any]
Node = Mapping[str, Any]


def parent_id(region: Region) -> int | None:
    """A region's parent id whether the read gave an id or a nested object."""
    parent = region.get("parent")
    if isinstance(parent, Mapping):
        return parent.get("id")
    return parent


def tag_slugs(region: Region) -> list[str | None]:
    slugs: list[str | None] = []
    for tag in region.get("tags") or ():
        slugs.append(tag.get("slug") or tag.get("name") if isinstance(tag, Mapping) else str(tag))
    return slugs


def source_id(region: Region) -> str | None:
    return (region.get("custom_fields") or {}).get(SOURCE_FIELD) or None


def _decimal(value: Any) -> float | None:
    return None if value is None else round(float(value), DECIMAL_PLACES)


def attribute_values(node: Node) -> dict[str, Any]:
    """The attribute custom fields' values for a node."""
    attributes = node.get("attributes") or {}
    iso = attributes.get("iso_3166_2")
    if node.get("level") == "country":
        iso = attributes.get("country_code")
    return {
        "geo_iso_code": iso,
        "geo_population": attributes.get("population"),
        "geo_latitude": _decimal(attributes.get("latitude")),
        "geo_longitude": _decimal(attributes.get("longitude")),
        "geo_time_zone": attributes.get("time_zone"),
    }


def _same_value(name: str, current: Any, wanted: Any) -> bool:
    if ATTRIBUTE_FIELDS.get(name, ("text",))[0] == "decimal":
        return _decimal(current) == _decimal(wanted)
    return (current if current != "" else None) == wanted


def temporary_values(region_id: int) -> dict[str, str]:
    value = "%s%d" % (TEMPORARY_PREFIX, region_id)
    return {"name": value, "slug": value}


def _depths(regions_by_id: Mapping[int, Region]) -> dict[int, int]:
    """Current depth of every region (0 at the top), from the parent links."""
    depths: dict[int, int] = {}
    for start in regions_by_id:
        chain: list[int] = []
        current: int | None = start
        while current is not None and current not in depths and current in regions_by_id and len(chain) <= 1000:
            chain.append(current)
            current = parent_id(regions_by_id[current])
        base = depths.get(current, -1) if current is not None else -1
        for offset, region_id in enumerate(reversed(chain), 1):
            depths[region_id] = base + offset
    return depths


# what a region (an existing one by id, a new one by ("new", geo_source_id)) will be at the
# end of the run: its parent, name and slug; None when it is deleted
Target = tuple[ParentRef, str, str]
TargetKey = Union[int, tuple[str, str]]


class _Planner:
    """One planning run; the public entry point is plan()."""

    def __init__(self, regions: Iterable[Region], options: PlanOptions) -> None:
        self.options = options
        self.plan = Plan()
        self.regions: dict[int, Region] = {region["id"]: region for region in regions}
        tag = options.managed_tag
        self.managed = {rid for rid, r in self.regions.items() if (tag in tag_slugs(r) if tag else source_id(r))}
        self.by_source: dict[str, int] = {}
        for rid, region in sorted(self.regions.items()):
            sid = source_id(region)
            if sid is None:
                continue
            if sid in self.by_source:
                self.plan.warnings.append("regions %d and %d both carry %s %s; using %d"
                                          % (self.by_source[sid], rid, SOURCE_FIELD, sid, self.by_source[sid]))
                continue
            self.by_source[sid] = rid
        # (parent id, "name"|"slug", value) -> region id: who holds each sibling-unique value now
        self.holders: dict[tuple[int | None, str, Any], int] = {}
        for rid, region in self.regions.items():
            for key in ("name", "slug"):
                self.holders[(parent_id(region), key, region.get(key))] = rid
        self.depths = _depths(self.regions)
        self._trees: dict[int, str] = {}  # region id -> the tree it is in
        self.final: dict[TargetKey, Target | None] = {}
        self.claimed: set[int] = set()  # region ids matched to a node
        self.resolved: dict[str, int] = {}  # geo_source_id -> region id, for regions that exist before the run

    # the desired state of one node -----------------------------------------------
    def desired(self, node: Node) -> dict[str, Any]:
        custom_fields = {SOURCE_FIELD: node["geo_source_id"]}
        if self.options.attribute_fields:
            custom_fields.update(attribute_values(node))
        return {"name": node["name"], "slug": node["slug"], "description": node.get("description") or "",
                "custom_fields": custom_fields}

    def parent_ref(self, node: Node) -> ParentRef:
        """The parent that exists now (by id), or the one created this run (by source id)."""
        parent = node.get("parent")
        if parent is None:
            return ParentRef(region_id=self.options.root_id)
        if parent in self.resolved:
            return ParentRef(region_id=self.resolved[parent])
        return ParentRef(source=parent)

    def adoptable(self, node: Node, ref: ParentRef) -> int | None:
        """An unmanaged region under the same parent with the node's slug or name."""
        if ref.created_this_run:
            return None
        for key in ("slug", "name"):
            rid = self.holders.get((ref.region_id, key, node[key]))
            if rid is not None and rid not in self.managed and rid not in self.claimed and not source_id(
                    self.regions[rid]):
                return rid
        return None

    def match(self, node: Node, ref: ParentRef) -> int | None:
        """The existing region that is this node, or None; records conflicts of ownership."""
        sid = node["geo_source_id"]
        rid = self.by_source.get(sid)
        if rid is not None and rid not in self.claimed:
            if rid in self.managed or self.options.adopt:
                return rid
            self.plan.conflicts.append(
                "region %d (%s) carries %s %s but not the tag %s: set adopt: true to take it over"
                % (rid, self.regions[rid].get("name"), SOURCE_FIELD, sid, self.options.managed_tag))
            return None
        if self.options.adopt:
            return self.adoptable(node, ref)
        return None

    def tree_of_region(self, rid: int) -> str:
        """The tree region `rid` is in, named by its top region ("id:<top id>"): what NetBox
        4.7 locks to insert, move or rename a region in it (see _schedule)."""
        chain: list[int] = []
        current = rid
        while current not in self._trees:
            parent = parent_id(self.regions[current]) if current in self.regions else None
            if parent is None or parent not in self.regions or len(chain) > 1000:
                self._trees[current] = "id:%d" % current
                break
            chain.append(current)
            current = parent
        for region_id in chain:
            self._trees[region_id] = self._trees[current]
        return self._trees[current]

    def tree_of_ref(self, ref: ParentRef, trees_of_new: Mapping[str, str]) -> str | None:
        """The tree a region under parent `ref` goes into; None for a new top-level region
        (NetBox locks nothing for it)."""
        if ref.source is not None:
            return trees_of_new.get(ref.source)
        return None if ref.region_id is None else self.tree_of_region(ref.region_id)

    # planning --------------------------------------------------------------------
    def in_scope(self, rid: int) -> bool:
        """Prune and state=absent touch only the tree under root_region (when one is set),
        so two trees under different roots can share a managed tag."""
        root = self.options.root_id
        if root is None:
            return True
        ancestor = parent_id(self.regions[rid])
        while ancestor is not None:
            if ancestor == root:
                return True
            ancestor = parent_id(self.regions[ancestor]) if ancestor in self.regions else None
        return False

    def run(self, nodes: Iterable[Node]) -> Plan:
        if self.options.state == "absent":
            self.plan_deletes({rid for rid in self.managed if self.in_scope(rid)})
            return self.finish()
        depth_of: dict[str, int] = {}  # every node seen so far
        trees_of_new: dict[str, str] = {}  # geo_source_id of a region created this run -> the tree it is in
        creates: dict[int, list[Create]] = {}
        updates: list[Update] = []
        tags = (self.options.managed_tag,) if self.options.managed_tag else ()
        for index, node in enumerate(nodes):
            sid = node["geo_source_id"]
            parent = node.get("parent")
            if sid in depth_of:
                raise DatasetOrderError("%s %s appears twice" % (SOURCE_FIELD, sid), index)
            if parent is not None and parent not in depth_of:
                raise DatasetOrderError("the parent %s of %s is not an earlier node" % (parent, sid), index)
            depth = depth_of.get(parent, -1) + 1 if parent is not None else 0
            depth_of[sid] = depth
            ref = self.parent_ref(node)
            want = self.desired(node)
            rid = self.match(node, ref)
            tree = self.tree_of_ref(ref, trees_of_new)
            if rid is None:
                creates.setdefault(depth, []).append(Create(
                    geo_source_id=sid, name=want["name"], slug=want["slug"], description=want["description"],
                    custom_fields=want["custom_fields"], level=node.get("level"), depth=depth, parent=ref,
                    tags=tags, tree=tree))
                self.final[("new", sid)] = (ref, want["name"], want["slug"])
                trees_of_new[sid] = tree or "new:%s" % sid
                continue
            self.claimed.add(rid)
            self.resolved[sid] = rid
            changes = self.changes(self.regions[rid], want, ref)
            self.final[rid] = (ref, want["name"], want["slug"])
            if changes:
                # a move locks the tree it leaves and the one it joins
                trees = sorted({self.tree_of_region(rid), tree or "id:%d" % rid} if "parent" in changes
                               else {self.tree_of_region(rid)})
                updates.append(Update(id=rid, geo_source_id=sid, depth=depth, changes=changes, trees=trees))
            else:
                self.plan.unchanged += 1
        stale = {rid for rid in self.managed if rid not in self.claimed and self.in_scope(rid)}
        if self.options.prune:
            self.plan_deletes(stale)
        for rid in stale:
            if source_id(self.regions[rid]) is None and not self.options.prune:
                self.plan.warnings.append("region %d (%s) has the tag %s but no %s; left alone"
                                          % (rid, self.regions[rid].get("name"), self.options.managed_tag,
                                             SOURCE_FIELD))
        self.plan.create = [creates[depth] for depth in sorted(creates)]
        self.plan.update = sorted(updates, key=lambda u: (u.depth, u.id))
        self.check_collisions()
        return self.finish()

    def changes(self, region: Region, want: Mapping[str, Any], ref: ParentRef) -> dict[str, Change]:
        changes: dict[str, Change] = {}
        for key in ("name", "slug", "description"):
            if (region.get(key) or "") != want[key]:
                changes[key] = Change(region.get(key), want[key])
        current_parent = parent_id(region)
        if ref.created_this_run or current_parent != ref.region_id:
            changes["parent"] = Change(current_parent, ref)
        current_fields = region.get("custom_fields") or {}
        for name, value in want["custom_fields"].items():
            if not _same_value(name, current_fields.get(name), value):
                fields = changes.setdefault("custom_fields", Change({}, {}))
                fields.old[name] = current_fields.get(name)
                fields.new[name] = value
        tags = tag_slugs(region)
        if self.options.managed_tag and self.options.managed_tag not in tags:
            changes["tags"] = Change(tags, tags + [self.options.managed_tag])
        return changes

    def plan_deletes(self, ids: set[int]) -> None:
        for rid in ids:
            self.final[rid] = None
        deleted = set(ids)
        for rid in sorted(ids, key=lambda r: (-self.depths.get(r, 0), r)):
            region = self.regions[rid]
            self.plan.delete.append(Delete(id=rid, geo_source_id=source_id(region), name=region.get("name"),
                                           depth=self.depths.get(rid, 0), site_count=region.get("site_count") or 0,
                                           top=parent_id(region) not in deleted,
                                           within=self.kept_ancestor(region, deleted)))
        self.plan.set_site_counts({d.id: d.site_count for d in self.plan.delete})
        for rid, region in sorted(self.regions.items()):
            if rid in deleted or rid in self.claimed:
                continue
            ancestor = parent_id(region)
            while ancestor is not None and ancestor in self.regions:
                if ancestor in deleted:
                    self.plan.cascade.append(Cascade(id=rid, name=region.get("name"), deleted_with=ancestor))
                    break
                ancestor = parent_id(self.regions[ancestor])

    def kept_ancestor(self, region: Region, deleted: set[int]) -> str | None:
        """The geo_source_id of the nearest ancestor of `region` that is not deleted, if any."""
        ancestor = parent_id(region)
        while ancestor is not None and ancestor in self.regions:
            if ancestor not in deleted:
                return source_id(self.regions[ancestor])
            ancestor = parent_id(self.regions[ancestor])
        return None

    def check_collisions(self) -> None:
        """Every name/slug a create or update needs must be free once its holder moved away."""
        vacate = set()
        for key, target in self.final.items():
            if target is None or target[0].created_this_run:
                continue  # deleted, or under a parent created this run (no current siblings)
            ref, name, slug = target
            for field_name, value in (("name", name), ("slug", slug)):
                holder = self.holders.get((ref.region_id, field_name, value))
                if holder is None or holder == key:
                    continue
                if self.leaves(holder, ref.region_id, field_name, value):
                    vacate.add(holder)
                    continue
                who = ("the new region %s" % key[1]) if isinstance(key, tuple) else ("region %d" % key)
                self.plan.conflicts.append(
                    "%s needs %s %r under parent %s, held by region %d (%s)%s"
                    % (who, field_name, value, ref.region_id, holder, self.regions[holder].get("name"),
                       self.conflict_hint(holder)))
        self.plan.vacate = [Vacate(id=rid, tree=self.tree_of_region(rid), **temporary_values(rid))
                            for rid in sorted(vacate)]
        by_id = {update.id: update for update in self.plan.update}
        for rid in sorted(vacate):
            update = by_id.get(rid)
            final = self.final[rid]
            if update is not None and final is not None:  # the final update restores both, since vacate changed both
                region = self.regions[rid]
                update.changes.setdefault("name", Change(region.get("name"), final[1]))
                update.changes.setdefault("slug", Change(region.get("slug"), final[2]))

    def leaves(self, holder: int, parent: int | None, field_name: str, value: Any) -> bool:
        """True when region `holder` will not hold (parent, field, value) at the end."""
        if holder not in self.final:
            return False  # unmanaged or left alone: stays as it is
        target = self.final[holder]
        if target is None:
            return True  # deleted
        ref, name, slug = target
        return ref != ParentRef(region_id=parent) or (name if field_name == "name" else slug) != value

    def conflict_hint(self, holder: int) -> str:
        if holder in self.managed:
            return ": it is managed but not in the dataset; set prune: true to remove it"
        if self.options.adopt:
            return ": it is not managed and cannot be adopted (it already has a %s)" % SOURCE_FIELD
        return ": it is not managed; set adopt: true to take it over, or rename it"

    def finish(self) -> Plan:
        self.plan.conflicts.sort()
        return self.plan


def plan(nodes: Iterable[Node], regions: Iterable[Region], options: PlanOptions | None = None) -> Plan:
    """The plan that makes `regions` (as read from NetBox) equal `nodes` (dataset dicts,
    parents before children). Raises DatasetOrderError when they are not."""
    return _Planner(list(regions), options or PlanOptions()).run(nodes)
