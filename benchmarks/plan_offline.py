# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync's client side without NetBox: load a dataset and plan it, against an empty
NetBox (all creates) or against regions made from the dataset itself (a no-change
re-run), and report seconds, CPU seconds and peak RSS. Separates the planner's cost from
NetBox's when the machine is busy, and compares ways of loading the nodes.

    python benchmarks/plan_offline.py DATASET [--existing] [--loader list|stream]

Needs the collection importable: run it with ANSIBLE_COLLECTIONS_PATH's parent folder of
ansible_collections on PYTHONPATH (benchmarks/run sets ANSIBLE_COLLECTIONS_PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

for folder in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
    if folder and folder not in sys.path:
        sys.path.insert(0, folder)

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import iter_node_dicts  # noqa: E402
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.planner import PlanOptions, plan  # noqa: E402

# what the planner reads from a node when attribute custom fields are off
PLANNED_KEYS = ("geo_source_id", "level", "name", "slug", "parent", "description")


def load(path, loader):
    if loader == "list":  # every node whole, in a list (what the sync did first)
        return list(iter_node_dicts(path, validate=True))
    return ({key: node[key] for key in PLANNED_KEYS} for node in iter_node_dicts(path, validate=True))


def regions_from(path, tag):
    """The regions NetBox would return after an import of `path` (ids in file order)."""
    ids, regions = {}, []
    for number, node in enumerate(iter_node_dicts(path), 1):
        ids[node["geo_source_id"]] = number
        parent = ids.get(node["parent"]) if node["parent"] else None
        regions.append({"id": number, "name": node["name"], "slug": node["slug"], "description": node["description"],
                        "parent": {"id": parent} if parent else None, "site_count": 0,
                        "custom_fields": {"geo_source_id": node["geo_source_id"]}, "tags": [{"slug": tag}]})
    return regions


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--existing", action="store_true", help="plan against the dataset's own regions (no change)")
    parser.add_argument("--loader", choices=("list", "stream"), default="stream")
    args = parser.parse_args()
    options = PlanOptions()
    regions = regions_from(args.dataset, options.managed_tag) if args.existing else []
    started, cpu_started = time.perf_counter(), time.process_time()
    result = plan(load(args.dataset, args.loader), regions, options)
    print(json.dumps({
        "dataset": os.path.basename(args.dataset), "loader": args.loader, "regions_in_netbox": len(regions),
        "summary": result.summary, "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu_started, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }))


if __name__ == "__main__":
    main()
