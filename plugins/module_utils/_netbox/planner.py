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
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCE_FIELD = "geo_source_id"
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


@dataclass
class PlanOptions:
    managed_tag: str = "geo-managed"  # the tag's slug
    root_id: int | None = None  # the region that top-level nodes hang under
    adopt: bool = False
    prune: bool = False
    state: str = "present"
    attribute_fields: bool = False


@dataclass
class Plan:
    vacate: list = field(default_factory=list)  # [{"id", "name", "slug"}] temporary values
    create: list = field(default_factory=list)  # [[op, ...] per depth]; op holds parent_id or parent_source
    update: list = field(default_factory=list)  # [{"id", "geo_source_id", "depth", "changes": {f: [old, new]}}]
    delete: list = field(default_factory=list)  # [{"id", "geo_source_id", "name", "depth", "site_count", "top"}]
    unchanged: int = 0
    conflicts: list = field(default_factory=list)  # texts; the sync writes nothing when there are any
    warnings: list = field(default_factory=list)
    cascade: list = field(default_factory=list)  # unmanaged regions deleted with a pruned parent
    sites_detached: int = 0

    @property
    def creates(self) -> list:
        return [op for level in self.create for op in level]

    @property
    def summary(self) -> dict:
        return {"create": len(self.creates), "update": len(self.update), "delete": len(self.delete),
                "unchanged": self.unchanged}

    @property
    def changed(self) -> bool:
        return bool(self.create or self.update or self.delete)

    @property
    def impact(self) -> dict:
        return {"regions_deleted": len(self.delete) + len(self.cascade), "managed_deleted": len(self.delete),
                "unmanaged_deleted_with_parent": len(self.cascade), "sites_detached": self.sites_detached}

    def set_site_counts(self, counts):
        """Each deleted region's site count (its subtree's, as NetBox counts it); the top of a
        deleted subtree counts its sites once in sites_detached."""
        for entry in self.delete:
            entry["site_count"] = counts.get(entry["id"], 0)
        self.sites_detached = sum(entry["site_count"] for entry in self.delete if entry["top"])

    def to_dict(self) -> dict:
        return {"summary": self.summary, "impact": self.impact, "conflicts": self.conflicts,
                "warnings": self.warnings, "vacate": self.vacate, "create": self.creates, "update": self.update,
                "delete": self.delete, "cascade": self.cascade}


def parent_id(region) -> int | None:
    """A region's parent id whether the read gave an id or a nested object."""
    parent = region.get("parent")
    if isinstance(parent, dict):
        return parent.get("id")
    return parent


def tag_slugs(region) -> list:
    slugs = []
    for tag in region.get("tags") or ():
        slugs.append(tag.get("slug") or tag.get("name") if isinstance(tag, dict) else str(tag))
    return slugs


def source_id(region) -> str | None:
    return (region.get("custom_fields") or {}).get(SOURCE_FIELD) or None


def _decimal(value):
    return None if value is None else round(float(value), DECIMAL_PLACES)


def attribute_values(node) -> dict:
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


def _same_value(name, current, wanted) -> bool:
    if ATTRIBUTE_FIELDS.get(name, ("text",))[0] == "decimal":
        return _decimal(current) == _decimal(wanted)
    return (current if current != "" else None) == wanted


def temporary_values(region_id) -> dict:
    value = "%s%d" % (TEMPORARY_PREFIX, region_id)
    return {"name": value, "slug": value}


def _depths(regions_by_id) -> dict:
    """Current depth of every region (0 at the top), from the parent links."""
    depths = {}
    for start in regions_by_id:
        chain, current = [], start
        while current is not None and current not in depths and current in regions_by_id and len(chain) <= 1000:
            chain.append(current)
            current = parent_id(regions_by_id[current])
        base = depths.get(current, -1) if current is not None else -1
        for offset, region_id in enumerate(reversed(chain), 1):
            depths[region_id] = base + offset
    return depths


class _Planner:
    """One planning run; the public entry point is plan()."""

    def __init__(self, regions, options):
        self.options = options
        self.plan = Plan()
        self.regions = {region["id"]: region for region in regions}
        self.managed = {rid for rid, r in self.regions.items() if options.managed_tag in tag_slugs(r)}
        self.by_source = {}
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
        self.holders = {}
        for rid, region in self.regions.items():
            for key in ("name", "slug"):
                self.holders[(parent_id(region), key, region.get(key))] = rid
        self.depths = _depths(self.regions)
        self._trees = {}  # region id -> the tree it is in
        self.final = {}  # region id -> ("id"|"source", parent, name, slug) it will have; None when deleted
        self.claimed = set()  # region ids matched to a node

    # the desired state of one node -----------------------------------------------
    def desired(self, node):
        custom_fields = {SOURCE_FIELD: node["geo_source_id"]}
        if self.options.attribute_fields:
            custom_fields.update(attribute_values(node))
        return {"name": node["name"], "slug": node["slug"], "description": node.get("description") or "",
                "custom_fields": custom_fields}

    def parent_ref(self, node):
        """("id", n) for a parent that exists now, ("source", gsid) for one created this run."""
        parent = node.get("parent")
        if parent is None:
            return ("id", self.options.root_id)
        if parent in self.resolved:
            return ("id", self.resolved[parent])
        return ("source", parent)

    def adoptable(self, node, ref):
        """An unmanaged region under the same parent with the node's slug or name."""
        if ref[0] != "id":
            return None
        for key in ("slug", "name"):
            rid = self.holders.get((ref[1], key, node[key]))
            if rid is not None and rid not in self.managed and rid not in self.claimed and not source_id(
                    self.regions[rid]):
                return rid
        return None

    def match(self, node, ref):
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

    def tree_of_region(self, rid) -> str:
        """The tree region `rid` is in, named by its top region ("id:<top id>"): what NetBox
        4.7 locks to insert, move or rename a region in it (see _schedule)."""
        chain, current = [], rid
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

    def tree_of_ref(self, ref, trees_of_new):
        """The tree a region under parent `ref` goes into; None for a new top-level region
        (NetBox locks nothing for it)."""
        if ref[0] == "source":
            return trees_of_new.get(ref[1])
        return None if ref[1] is None else self.tree_of_region(ref[1])

    # planning --------------------------------------------------------------------
    def in_scope(self, rid) -> bool:
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

    def run(self, nodes):
        if self.options.state == "absent":
            self.plan_deletes({rid for rid in self.managed if self.in_scope(rid)})
            return self.finish()
        self.resolved = {}  # geo_source_id -> region id, for regions that exist before the run
        depth_of = {}
        trees_of_new = {}  # geo_source_id of a region created this run -> the tree it is in
        creates = {}
        updates = []
        seen = set()
        for node in nodes:
            sid = node["geo_source_id"]
            seen.add(sid)
            depth = depth_of.get(node.get("parent"), -1) + 1
            depth_of[sid] = depth
            ref = self.parent_ref(node)
            want = self.desired(node)
            rid = self.match(node, ref)
            tree = self.tree_of_ref(ref, trees_of_new)
            if rid is None:
                op = dict(want, geo_source_id=sid, level=node.get("level"), depth=depth,
                          tags=[self.options.managed_tag], tree=tree)
                op["parent_id" if ref[0] == "id" else "parent_source"] = ref[1]
                creates.setdefault(depth, []).append(op)
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
                updates.append({"id": rid, "geo_source_id": sid, "depth": depth, "changes": changes, "trees": trees})
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
        self.plan.update = sorted(updates, key=lambda u: (u["depth"], u["id"]))
        self.check_collisions()
        return self.finish()

    def changes(self, region, want, ref) -> dict:
        changes = {}
        for key in ("name", "slug", "description"):
            if (region.get(key) or "") != want[key]:
                changes[key] = [region.get(key), want[key]]
        current_parent = parent_id(region)
        if ref[0] == "source":
            changes["parent"] = [current_parent, {"source": ref[1]}]
        elif current_parent != ref[1]:
            changes["parent"] = [current_parent, ref[1]]
        current_fields = region.get("custom_fields") or {}
        for name, value in want["custom_fields"].items():
            if not _same_value(name, current_fields.get(name), value):
                changes.setdefault("custom_fields", [{}, {}])
                changes["custom_fields"][0][name] = current_fields.get(name)
                changes["custom_fields"][1][name] = value
        tags = tag_slugs(region)
        if self.options.managed_tag not in tags:
            changes["tags"] = [tags, tags + [self.options.managed_tag]]
        return changes

    def plan_deletes(self, ids):
        for rid in ids:
            self.final[rid] = None
        deleted = set(ids)
        for rid in sorted(ids, key=lambda r: (-self.depths.get(r, 0), r)):
            region = self.regions[rid]
            self.plan.delete.append({"id": rid, SOURCE_FIELD: source_id(region), "name": region.get("name"),
                                     "depth": self.depths.get(rid, 0), "site_count": region.get("site_count") or 0,
                                     "top": parent_id(region) not in deleted})
        self.plan.set_site_counts({d["id"]: d["site_count"] for d in self.plan.delete})
        for rid, region in sorted(self.regions.items()):
            if rid in deleted or rid in self.claimed:
                continue
            ancestor = parent_id(region)
            while ancestor is not None and ancestor in self.regions:
                if ancestor in deleted:
                    self.plan.cascade.append({"id": rid, "name": region.get("name"), "deleted_with": ancestor})
                    break
                ancestor = parent_id(self.regions[ancestor])

    def check_collisions(self):
        """Every name/slug a create or update needs must be free once its holder moved away."""
        vacate = set()
        for key, target in self.final.items():
            if target is None or target[0][0] != "id":
                continue  # deleted, or under a parent created this run (no current siblings)
            ref, name, slug = target
            for field_name, value in (("name", name), ("slug", slug)):
                holder = self.holders.get((ref[1], field_name, value))
                if holder is None or holder == key:
                    continue
                if self.leaves(holder, ref[1], field_name, value):
                    vacate.add(holder)
                    continue
                who = ("the new region %s" % key[1]) if isinstance(key, tuple) else ("region %d" % key)
                self.plan.conflicts.append(
                    "%s needs %s %r under parent %s, held by region %d (%s)%s"
                    % (who, field_name, value, ref[1], holder, self.regions[holder].get("name"),
                       self.conflict_hint(holder)))
        self.plan.vacate = [dict(temporary_values(rid), id=rid, tree=self.tree_of_region(rid)) for rid in sorted(vacate)]
        by_id = {update["id"]: update for update in self.plan.update}
        for rid in sorted(vacate):
            update = by_id.get(rid)
            if update is not None:  # the final update restores both, since vacate changed both
                region = self.regions[rid]
                want = self.final[rid]
                update["changes"].setdefault("name", [region.get("name"), want[1]])
                update["changes"].setdefault("slug", [region.get("slug"), want[2]])

    def leaves(self, holder, parent, field_name, value) -> bool:
        """True when region `holder` will not hold (parent, field, value) at the end."""
        if holder not in self.final:
            return False  # unmanaged or left alone: stays as it is
        target = self.final[holder]
        if target is None:
            return True  # deleted
        ref, name, slug = target
        return ref != ("id", parent) or (name if field_name == "name" else slug) != value

    def conflict_hint(self, holder) -> str:
        if holder in self.managed:
            return ": it is managed but not in the dataset; set prune: true to remove it"
        if self.options.adopt:
            return ": it is not managed and cannot be adopted (it already has a %s)" % SOURCE_FIELD
        return ": it is not managed; set adopt: true to take it over, or rename it"

    def finish(self) -> Plan:
        self.plan.conflicts.sort()
        return self.plan


def plan(nodes, regions, options=None) -> Plan:
    """The plan that makes `regions` (as read from NetBox) equal `nodes` (dataset dicts,
    parents before children)."""
    return _Planner(list(regions), options or PlanOptions()).run(nodes)
