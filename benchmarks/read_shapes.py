# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the shape of the region read changes its cost: every region of the NetBox in
NETBOX_URL, read with several ``fields=`` sets and page sizes (median of --runs).

    NETBOX_URL=... NETBOX_TOKEN=... python benchmarks/read_shapes.py [--runs 3]

Run it against a NetBox that holds a world tree (after `benchmarks/run --only world`,
which leaves ~3,800 regions)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from nbapi import REGIONS, NetBoxAdmin

SHAPES = {
    # what netbox_geo_sync asked for first, tags included (then replaced by a tag=... id read)
    "sync fields + tags": "id,name,slug,parent,description,custom_fields,tags,site_count",
    "sync fields, no tags": "id,name,slug,parent,description,custom_fields,site_count",
    "no tags, no site_count": "id,name,slug,parent,description,custom_fields",
    "ids only": "id",
}


def read_all(admin: NetBoxAdmin, fields: str, page_size: int, **filters) -> int:
    """A keyset-paginated read of every region; returns the rows read."""
    last, rows = 0, 0
    while True:
        page = admin.call("GET", REGIONS, params=dict(filters, limit=page_size, ordering="id", id__gt=last,
                                                      fields=fields))
        rows += len(page["results"])
        if not page.get("next"):
            return rows
        last = page["results"][-1]["id"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-sizes", default="1000")
    args = parser.parse_args()
    admin = NetBoxAdmin(os.environ["NETBOX_URL"], os.environ["NETBOX_TOKEN"])
    results = []
    for page_size in [int(p) for p in args.page_sizes.split(",")]:
        for label, fields in SHAPES.items():
            times, rows = [], 0
            for _ in range(max(1, args.runs)):
                started = time.perf_counter()
                rows = read_all(admin, fields, page_size)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            results.append({"shape": label, "fields": fields, "page_size": page_size, "rows": rows,
                            "median_seconds": round(seconds, 2), "rows_per_second": round(rows / seconds),
                            "runs": [round(t, 2) for t in times]})
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"load_average": os.getloadavg(), "results": results}))


if __name__ == "__main__":
    main()
