# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of netbox_geo_sites: place N sites (default 10,000) in a synced region tree.

    bash benchmarks/run sites [--sites 10000] [--keep]
    (or NETBOX_URL=... NETBOX_TOKEN=... GEOFOSS_GEODATA=../shared/geodata \\
        .venv/bin/python benchmarks/sites_placement.py [--sites 10000] [--keep] [--results DIR])

1. geo_transform + netbox_geo_sync of nine European countries (country, admin1, cities of
   50,000+) under the root region `bench-sites-root`, tag `bench-sites-managed`;
2. N sites bulk-created straight through the API, tagged `bench-sites`, each within
   ~15 km of a random city of the dataset;
3. netbox_geo_sites through ansible-playbook: check mode, the placement, the re-run.
Writes benchmarks/results/sites-<UTC time>.json (machine, load average, NetBox, timings, the
gunicorn workers' CPU during the placement) and prints it; deletes the sites afterwards
unless --keep (the results file is written before the clean-up).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bench import load_average, machine_info
from nbapi import GunicornWorkers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COUNTRIES = ["AT", "BE", "CH", "DE", "ES", "FR", "IT", "NL", "PL"]
ROOT, MANAGED_TAG, SITE_TAG = "bench-sites-root", "bench-sites-managed", "bench-sites"
GEONAMES_FILES = ("countryInfo.txt", "admin1CodesASCII.txt", "cities15000.zip")


def collection_tree(work):
    """ansible_collections/geofoss/netbox -> this repository (a symlink, nothing copied)."""
    parent = os.path.join(work, "collections", "ansible_collections", "geofoss")
    os.makedirs(parent)
    os.symlink(REPO, os.path.join(parent, "netbox"))
    return os.path.join(work, "collections")


def playbook(work, collections, name, tasks):
    """Run the tasks in a playbook; (seconds, the last task's result)."""
    path = os.path.join(work, name + ".yml")
    output = os.path.join(work, name + ".result.json")
    tasks = [dict(task, register="outcome") for task in tasks]
    tasks.append({"ansible.builtin.copy": {"content": "{{ outcome | to_json }}", "dest": output}})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    started = time.monotonic()
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), path],
                          env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode:
        raise SystemExit("%s failed:\n%s\n%s" % (name, done.stdout[-4000:], done.stderr[-2000:]))
    with open(output, encoding="utf-8") as handle:
        return elapsed, json.load(handle)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=10000)
    parser.add_argument("--keep", action="store_true", help="leave the sites in NetBox")
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    results = {"benchmark": "benchmarks/sites_placement.py --sites %d" % args.sites,
               "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine_info(),
               "load_average_start": load_average(), "sites": args.sites, "countries": COUNTRIES}
    workers = GunicornWorkers(int(os.environ.get("GEOFOSS_NETBOX_PORT", "8765")),
                              os.environ.get("GEOFOSS_NETBOX_HOME", ""))
    work = tempfile.mkdtemp(prefix="geo-sites-bench.")
    collections = collection_tree(work)
    sys.path.insert(0, collections)
    from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import load_index
    from ansible_collections.geofoss.netbox.plugins.module_utils._http import http_client_from
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, chunks
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import BatchWriter, Identity

    geodata = os.environ["GEOFOSS_GEODATA"]
    for name in GEONAMES_FILES:
        os.symlink(os.path.join(geodata, "geonames", name), os.path.join(work, name))
    dataset = os.path.join(work, "europe.jsonl")
    nb = NetBoxClient(os.environ["NETBOX_URL"], os.environ["NETBOX_TOKEN"], http_client_from({"timeout": 600}),
                      batch_size=200)
    writer = BatchWriter(nb, retries=5)
    try:
        nb.request("POST", "dcim/regions", json={"name": ROOT, "slug": ROOT})
    except Exception:  # already there from an earlier run
        pass
    try:
        nb.request("POST", "extras/tags", json={"name": SITE_TAG, "slug": SITE_TAG})
    except Exception:
        pass
    connection = {"netbox_url": os.environ["NETBOX_URL"], "netbox_token": os.environ["NETBOX_TOKEN"]}
    sync_seconds, _ = playbook(work, collections, "sync", [
        {"geofoss.netbox.geo_transform": {"src": work, "dest": dataset, "countries": COUNTRIES,
                                          "levels": ["country", "admin1", "city"], "city_min_population": 50000,
                                          "city_source": "cities15000"}},
        {"geofoss.netbox.netbox_geo_sync": dict(connection, dataset=dataset, root_region=ROOT,
                                                managed_tag=MANAGED_TAG)},
    ])
    cities = load_index(dataset).by_level["city"]
    rng = random.Random(20261201)
    sites = []
    for number in range(args.sites):
        city = rng.choice(cities)["attributes"]
        sites.append({"name": "bench-site-%05d" % number, "slug": "bench-site-%05d" % number,
                      "latitude": round(city["latitude"] + rng.uniform(-0.12, 0.12), 6),
                      "longitude": round(city["longitude"] + rng.uniform(-0.12, 0.12), 6),
                      "tags": [{"slug": SITE_TAG}]})
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:  # two streams, as the module writes
        list(pool.map(lambda batch: writer.create("dcim/sites", batch, Identity("slug", "id,slug", lambda o: o["slug"])),
                      chunks(sites, 200)))
    create_seconds = time.monotonic() - started
    place = dict(connection, dataset=dataset, managed_tag=MANAGED_TAG, sites={"tag": SITE_TAG}, timeout=600)
    runs = {}
    try:
        for label, extra in (("check_mode", {"check_mode": True}), ("place", {}), ("rerun", {})):
            before = workers.snapshot()
            seconds, result = playbook(work, collections, label, [dict({"geofoss.netbox.netbox_geo_sites": place},
                                                                         **extra)])
            if label == "place":
                results["place_worker_cpu_seconds"] = workers.split(before, workers.snapshot())
            runs[label] = {"playbook_seconds": round(seconds, 2), "module_duration": result.get("duration"),
                           "timings": result.get("timings"),
                           "changed": result.get("changed"), "summary": result.get("summary"),
                           "requests": (result.get("http") or {}).get("requests")}
        status = nb.request("GET", "status")
        results.update({
            "netbox": {"version": status.get("netbox-version"), "python": status.get("python-version"),
                       "gunicorn_workers": int(os.environ.get("GEOFOSS_NETBOX_WORKERS", "2")), "gunicorn_threads": 3},
            "managed_regions": nb.request("GET", "dcim/regions", params={"tag": MANAGED_TAG, "limit": 1})["count"],
            "regions_synced_seconds": round(sync_seconds, 2), "cities": len(cities),
            "site_bulk_create_seconds": round(create_seconds, 2),
            "site_create_rate": round(args.sites / create_seconds, 1), "runs": runs,
            "load_average_end": load_average()})
        os.makedirs(args.results, exist_ok=True)
        path = os.path.join(args.results, "sites-%s.json" % started.strftime("%Y%m%dT%H%M%SZ"))
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1, sort_keys=True)
        print(json.dumps(results, indent=1, sort_keys=True))
        print("results: %s" % path)
    finally:
        if not args.keep:
            ids = [site["id"] for site in nb.iter_objects("dcim/sites", params={"tag": SITE_TAG}, fields=("id",))]
            with ThreadPoolExecutor(max_workers=2) as pool:  # ~60 deletes/s: minutes for 10,000
                list(pool.map(lambda batch: writer.delete("dcim/sites", batch), chunks(ids, 200)))


if __name__ == "__main__":
    main()
