# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one bulk POST of regions costs as a region tree grows, and what two streams into
two separate trees gain, on the NetBox at NETBOX_URL (docs/netbox-versions.md).

NetBox 4.4-4.6 keep regions with django-mptt: every insert renumbers the lft/rght of the
regions after it in its tree, and every region POST, PATCH or DELETE of one object takes
one global advisory lock (MPTTLockedMixin). NetBox 4.7's ltree inserts renumber nothing and
lock per tree. Prints one JSON line per batch (regions in the tree before it, seconds), then
the streams line. The regions are left in NetBox: run it on a fresh instance.

    NETBOX_URL=... NETBOX_TOKEN=... .venv/bin/python benchmarks/mptt_create_cost.py \\
        [--batches 8] [--batch-size 200] [--parents 20]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import time
import uuid

from nbapi import REGIONS, NetBoxAdmin  # pylint: disable=import-error  # benchmarks/ is the script's folder


def make_tree(admin: NetBoxAdmin, label: str, parents: int) -> list:
    """A root and its parents, each parent with a first child (so bulk POSTs under it are
    placed by name: see the sibling order of bulk POSTs in docs/netbox-versions.md)."""
    suffix = uuid.uuid4().hex[:6]
    root = admin.call("POST", REGIONS, json={"name": "%s %s" % (label, suffix), "slug": "%s-%s" % (label, suffix)},
                      expected=(201,))
    ids = []
    for index in range(parents):
        parent = admin.call("POST", REGIONS, expected=(201,), json={
            "name": "Parent %03d" % index, "slug": "%s-p%03d-%s" % (label, index, suffix), "parent": root["id"]})
        admin.call("POST", REGIONS, expected=(201,), json={
            "name": "M", "slug": "%s-p%03d-first-%s" % (label, index, suffix), "parent": parent["id"]})
        ids.append(parent["id"])
    return ids


def batch_of(parent_ids: list, size: int, rng: random.Random) -> list:
    """Cities with random names under random parents: inserts land anywhere in the tree."""
    bodies = []
    for _ in range(size):
        name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10))
        bodies.append({"name": name, "slug": "c-%s" % uuid.uuid4().hex[:16], "parent": rng.choice(parent_ids)})
    return bodies


def timed_post(admin: NetBoxAdmin, bodies: list) -> float:
    started = time.monotonic()
    admin.call("POST", REGIONS, json=bodies, expected=(201,))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--parents", type=int, default=20)
    args = parser.parse_args()
    admin = NetBoxAdmin(os.environ["NETBOX_URL"], os.environ["NETBOX_TOKEN"], timeout=1800)
    version = admin.call("GET", "status")["netbox-version"]
    rng = random.Random(13)

    parents = make_tree(admin, "growth", args.parents)
    in_tree = 1 + 2 * args.parents
    for index in range(args.batches):
        seconds = timed_post(admin, batch_of(parents, args.batch_size, rng))
        print(json.dumps({"netbox": version, "batch": index, "regions_before": in_tree, "batch_size": args.batch_size,
                          "seconds": round(seconds, 2)}), flush=True)
        in_tree += args.batch_size

    # two trees of the same size, one batch each: one after the other, then both at once
    trees = [make_tree(admin, "stream-%d" % stream, args.parents) for stream in range(2)]
    serial = sum(timed_post(admin, batch_of(tree, args.batch_size, rng)) for tree in trees)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda tree: timed_post(admin, batch_of(tree, args.batch_size, rng)), trees))
    parallel = time.monotonic() - started
    print(json.dumps({"netbox": version, "two_trees_one_after_the_other_seconds": round(serial, 2),
                      "two_trees_at_once_seconds": round(parallel, 2)}), flush=True)


if __name__ == "__main__":
    main()
