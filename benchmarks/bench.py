# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The geofoss.netbox benchmark (run it through benchmarks/run, which prepares the
venvs, the collection tree and the local NetBox, then calls this file).

Stages (all by default, or --only a,b; they run in this order):
  memory     geo_transform of the 234,908 cities of derived-cities500 + a check-mode sync plan
  loop       ~200 regions: netbox.netbox.netbox_region in a loop vs netbox_geo_sync, create + no-change
  ceiling    raw bulk POSTs of the world's bare regions with 1, 2 and 4 streams (NetBox's own limit)
  payload    what each part of a region create costs NetBox (CPU per region), at world and cities15000 scale
  world      countries + first-level divisions (4,137): first import, no-change, update, prune; the
             first import also with ownership source_id (no tag), each run beside one with the tag
  cities     the same plus cities15000 (34,856): first import, no-change, update, prune
  cities500  countries + divisions + derived-cities500 (239,045): first import and no-change re-run
             (about 40 minutes; not in the default set: --only cities500)
  follow     the world's first import without, then with progress and the run's map (not in the
             default set: --only follow; --first-runs N pairs); the overhead against its 2 % target
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

from nbapi import GunicornWorkers, NetBoxAdmin, NetBoxCpu, raw_bulk_create, region_payloads
from payload import PayloadStage, present_keys, sample_nodes
from report import evaluate_targets, markdown_report
from runner import PlaybookRunner

# run in this order: the short stages first, so a bounded run still reports them
STAGES = ("memory", "loop", "ceiling", "payload", "world", "cities", "cities500", "follow")
DEFAULT_STAGES = tuple(stage for stage in STAGES if stage not in ("cities500", "follow"))  # hours / a comparison
SYNC_TASK = "Sync the region tree"  # the task of playbooks/geo_sync.yml that is timed
MANAGED_TAG = "geo-managed"
# ten countries whose country + admin1 regions make 201 nodes in the 2024 admin1 table
LOOP_COUNTRIES = ("AT", "AU", "CA", "CH", "DE", "ES", "FR", "IT", "PL", "US")
# source folders: names the transform expects -> files under $GEOFOSS_GEODATA (linked, never copied)
SOURCES = {
    "2024": {"countryInfo.txt": "geonames/countryInfo.txt", "admin1CodesASCII.txt": "geonames/admin1CodesASCII.txt",
             "cities15000.zip": "geonames/cities15000.zip"},
    "2025": {"countryInfo.txt": "geonames/countryInfo.txt",
             "admin1CodesASCII.txt": "geonames/alternate-2025-11/admin1CodesASCII.txt",
             "cities15000.zip": "geonames/cities15000.zip"},
    "cities500": {"countryInfo.txt": "geonames/countryInfo.txt", "admin1CodesASCII.txt": "geonames/admin1CodesASCII.txt",
                  "cities500.zip": "geonames/derived-cities500.zip"},
}
# the prune step drops these countries (354 regions of the world, 3 countries' cities)
PRUNE_COUNTRIES = ("MK", "MT", "SI")
WORLD_LEVELS = ["country", "admin1"]
CITY_LEVELS = ["country", "admin1", "city"]


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def read_nodes(path: str) -> list:
    with open(path, encoding="utf-8") as handle:
        next(handle)  # the header
        return [json.loads(line) for line in handle if line.strip()]


def count_nodes(path: str) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle) - 1


def loop_regions(nodes: list) -> list:
    """Dataset nodes -> the netbox_region loop's items (parents named by slug)."""
    slug_of = {node["geo_source_id"]: node["slug"] for node in nodes}
    return [{"name": n["name"], "slug": n["slug"], "parent_slug": slug_of[n["parent"]] if n["parent"] else "",
             "description": n["description"], "geo_source_id": n["geo_source_id"]} for n in nodes]


def _first_line(command) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def machine_info() -> dict:
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        info["cpu_model"] = models[0] if models else "unknown"
        with open("/proc/meminfo", encoding="utf-8") as handle:
            info["memory_gib"] = round(int(handle.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


# the loop's per-region cost counts as stable when its second half's per-item time is within
# this fraction of its first half's: the size is then large enough to publish its rate
STEADY_TOLERANCE = 0.15


def steadiness(item_ends, tolerance=STEADY_TOLERANCE) -> dict:
    """Per-item seconds of a loop's first and second half (from when each item finished) and
    whether they agree within `tolerance`."""
    if len(item_ends) < 4:
        return {"items": len(item_ends), "steady": False}
    middle = len(item_ends) // 2
    first = item_ends[middle - 1] / middle
    second = (item_ends[-1] - item_ends[middle - 1]) / (len(item_ends) - middle)
    return {"items": len(item_ends), "first_half_seconds_per_item": round(first, 4),
            "second_half_seconds_per_item": round(second, 4), "tolerance": tolerance,
            "steady": abs(second - first) <= tolerance * first}


def load_average() -> list:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


class Bench:
    def __init__(self, args):
        self.args = args
        env = os.environ
        self.geodata = env["GEOFOSS_GEODATA"]
        self.work = env["GEOFOSS_BENCH_WORK"]
        self.collection_bin = env["GEOFOSS_COLLECTION_BIN"]
        self.baseline_bin = env["GEOFOSS_BASELINE_BIN"]
        self.local_netbox = env["GEOFOSS_LOCAL_NETBOX"]
        self.url, self.token, self.token_v1 = env["NETBOX_URL"], env["NETBOX_TOKEN"], env["NETBOX_TOKEN_V1"]
        self.admin = NetBoxAdmin(self.url, self.token)
        self.workers = GunicornWorkers(int(env.get("GEOFOSS_NETBOX_PORT", "8776")), env.get("GEOFOSS_NETBOX_HOME", ""))
        self.netbox_cpu = NetBoxCpu(self.workers, env.get("GEOFOSS_NETBOX_DB", "geofoss_nb_bench"))
        self.runner = PlaybookRunner(self.work, secrets=(self.token, self.token_v1))
        self.datasets = {}
        self.results = {"started": _now(), "stages_run": args.only, "runs_per_short_step": args.runs,
                        "machine": machine_info(), "load_average_start": load_average(), "stages": {},
                        # what every netbox_geo_sync run was given besides the dataset (None: the module's default)
                        "sync_options": {"batch_size": args.batch_size or None, "concurrency": args.concurrency or None}}
        if args.series:
            self.results["series"] = args.series  # one of the runs of `benchmarks/run --netbox-versions`

    # -- plumbing ----------------------------------------------------------------------------
    def log(self, message):
        print("[bench %s] %s" % (datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S"), message), flush=True)

    def reset(self):
        """An empty NetBox: a fresh clone of the migrated template database (~15 s)."""
        subprocess.run([self.local_netbox, "up", "--fresh"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        self.admin = NetBoxAdmin(self.url, self.token)
        self.admin.status()  # warm the workers up before anything is timed

    def source_folder(self, variant: str) -> str:
        folder = os.path.join(self.work, "src-" + variant)
        if not os.path.isdir(folder):
            os.makedirs(folder)
            for name, relative in SOURCES[variant].items():
                os.symlink(os.path.join(self.geodata, relative), os.path.join(folder, name))
        return folder

    def dataset(self, name, variant, levels, countries=(), city_min_population=None):
        """Build a dataset with geo_transform once per run; returns (path, the transform run)."""
        if name not in self.datasets:
            dest = os.path.join(self.work, name + ".jsonl")
            variables = {"src": self.source_folder(variant), "dest": dest, "levels": list(levels),
                         "countries": list(countries)}
            if city_min_population is not None:
                variables["city_min_population"] = city_min_population
            self.log("geo_transform %s (%s, levels %s)" % (name, variant, ",".join(levels)))
            run = self.runner.run(self.collection_bin, "geo_transform.yml", variables, "transform-" + name)
            self.datasets[name] = (dest, run)
        return self.datasets[name]

    def sync(self, dataset, label, **options):
        variables = {"netbox_url": self.url, "netbox_token": self.token, "dataset": dataset}
        for key in ("batch_size", "concurrency"):
            if getattr(self.args, key):
                variables[key] = getattr(self.args, key)
        variables.update(options)
        self.netbox_cpu.start()
        run = self.runner.run(self.collection_bin, "geo_sync.yml", variables, label, main_task=SYNC_TASK)
        cpu = run["netbox_cpu_seconds"] = self.netbox_cpu.stop()
        run["worker_cpu_seconds"] = cpu["workers"]
        self.log("%s: %.1f s (task), summary %s, peak RSS %.0f MiB, NetBox CPU %s s" % (
            label, run["task_seconds"] or 0, run["result"].get("summary"), run["peak_rss_mib"], cpu))
        return run

    def expect_regions(self, expected, when):
        found = self.admin.count()
        if found != expected:
            raise RuntimeError("%s: NetBox holds %d regions, expected %d" % (when, found, expected))

    # -- stages ------------------------------------------------------------------------------
    def stage_loop(self):
        path, _ = self.dataset("loop", "2024", WORLD_LEVELS, self.args.loop_countries)
        nodes = read_nodes(path)
        regions = loop_regions(nodes)
        self.reset()
        self.admin.ensure_source_field()
        self.admin.ensure_tag(MANAGED_TAG)
        loop_vars = {"netbox_url": self.url, "netbox_token": self.token_v1, "regions": regions,
                     "managed_tag": MANAGED_TAG}
        self.log("netbox.netbox loop: creating %d regions one task each (minutes)" % len(regions))
        create = self.runner.run(self.baseline_bin, "netbox_region_loop.yml", loop_vars, "loop-create")
        self.expect_regions(len(nodes), "after the netbox.netbox loop")
        self.log("loop create: %.1f s; re-run with nothing to change" % create["task_seconds"])
        rerun = self.runner.run(self.baseline_bin, "netbox_region_loop.yml", loop_vars, "loop-rerun")
        self.log("loop re-run: %.1f s, %s items changed" % (rerun["task_seconds"], rerun["result"].get("items_changed")))

        self.reset()
        creates, reruns = [], []
        for number in range(self.args.runs):
            if number:
                self.admin.delete_all_regions()
            creates.append(self.sync(path, "loop-sync-create-%d" % number))
            self.expect_regions(len(nodes), "after netbox_geo_sync")
        for number in range(self.args.runs):
            reruns.append(self.sync(path, "loop-sync-rerun-%d" % number))
        n = len(nodes)
        stage = {
            "regions": n, "countries": list(self.args.loop_countries),
            "steadiness": {"create": steadiness(create["item_ends"]), "rerun": steadiness(rerun["item_ends"])},
            "netbox_netbox": {"create_seconds": create["task_seconds"], "rerun_seconds": rerun["task_seconds"],
                              "create_seconds_per_region": round(create["task_seconds"] / n, 4),
                              "rerun_seconds_per_region": round(rerun["task_seconds"] / n, 4),
                              "rerun_items_changed": rerun["result"].get("items_changed"),
                              "create_cpu_seconds": create.get("cpu_seconds"), "rerun_cpu_seconds": rerun.get("cpu_seconds"),
                              "peak_rss_mib": max(create["peak_rss_mib"], rerun["peak_rss_mib"])},
            "geo_sync": {"create_seconds": [r["task_seconds"] for r in creates],
                         "rerun_seconds": [r["task_seconds"] for r in reruns],
                         "create_median": median(r["task_seconds"] for r in creates),
                         "rerun_median": median(r["task_seconds"] for r in reruns),
                         "rerun_summary": reruns[-1]["result"].get("summary"),
                         "create_cpu_seconds": creates[-1].get("cpu_seconds"), "rerun_cpu_seconds": reruns[-1].get("cpu_seconds"),
                         "peak_rss_mib": max(r["peak_rss_mib"] for r in creates + reruns)},
        }
        if not all(part["steady"] for part in stage["steadiness"].values()):
            self.log("the loop's per-region cost was not steady over %d regions (%s): use more --loop-countries "
                     "or a quieter machine before publishing its rate" % (n, stage["steadiness"]))
        stage["ratio_create"] = round(create["task_seconds"] / stage["geo_sync"]["create_median"], 1)
        stage["ratio_rerun"] = round(rerun["task_seconds"] / stage["geo_sync"]["rerun_median"], 1)
        return stage

    def scale_stage(self, key, levels, untagged=False):
        """First import (median of --first-runs, each on an empty NetBox), no-change re-runs,
        an update to the 2025-11 admin1 release (renames, new and removed divisions: it needs
        prune, as new divisions take names that removed ones hold), then a prune of three
        countries. With `untagged`, each first import is preceded by one with ownership
        source_id (no tag), on an empty NetBox too, so the pairs share the machine's state."""
        base, transform = self.dataset(key, "2024", levels)
        alternate, _ = self.dataset(key + "-2025", "2025", levels)
        kept = sorted({n["attributes"]["country_code"] for n in read_nodes(alternate) if n["level"] == "country"}
                      - set(PRUNE_COUNTRIES))
        pruned, _ = self.dataset(key + "-2025-pruned", "2025", levels, countries=kept)
        n, n_alternate, n_pruned = count_nodes(base), count_nodes(alternate), count_nodes(pruned)
        firsts, untagged_firsts = [], []
        for number in range(self.args.first_runs):
            if untagged:
                self.reset()
                self.log("%s: first import of %d regions, ownership source_id (run %d of %d)"
                         % (key, n, number + 1, self.args.first_runs))
                untagged_firsts.append(self.sync(base, "%s-first-source-id-%d" % (key, number), ownership="source_id"))
                self.expect_regions(n, "%s after the first import with ownership source_id" % key)
            self.reset()
            self.log("%s: first import of %d regions (run %d of %d)" % (key, n, number + 1, self.args.first_runs))
            firsts.append(self.sync(base, "%s-first-%d" % (key, number)))
            self.expect_regions(n, "%s after the first import" % key)
        reruns = [self.sync(base, "%s-rerun-%d" % (key, number)) for number in range(self.args.runs)]
        update = self.sync(alternate, key + "-update", prune=True, max_deletes=n)
        self.expect_regions(n_alternate, "%s after the update" % key)
        prune = self.sync(pruned, key + "-prune", prune=True, max_deletes=n)
        self.expect_regions(n_pruned, "%s after the prune" % key)
        first_median = median(r["task_seconds"] for r in firsts)
        first_cpu = firsts[-1]["netbox_cpu_seconds"]
        stage = {
            "regions": n, "regions_2025": n_alternate, "regions_after_prune": n_pruned,
            "pruned_countries": list(PRUNE_COUNTRIES),
            "transform_seconds": transform["task_seconds"],
            "first_import_seconds": [r["task_seconds"] for r in firsts], "first_import_median": first_median,
            "first_import_cpu_seconds": firsts[-1].get("cpu_seconds"), "rerun_cpu_seconds": reruns[-1].get("cpu_seconds"),
            "first_import_regions_per_second": round(n / first_median, 1),
            "first_import_duration": firsts[-1]["result"].get("duration"),
            "first_import_http": firsts[-1]["result"].get("http"),
            "first_import_worker_cpu_seconds": firsts[-1].get("worker_cpu_seconds"),
            "first_import_netbox_cpu_seconds": first_cpu,
            "first_import_netbox_cpu_ms_per_region": round(1000.0 * first_cpu["total"] / n, 2),
            "rerun_seconds": [r["task_seconds"] for r in reruns], "rerun_median": median(r["task_seconds"] for r in reruns),
            "rerun_duration": reruns[-1]["result"].get("duration"),
            "rerun_summary": reruns[-1]["result"].get("summary"), "rerun_http": reruns[-1]["result"].get("http"),
            "update_seconds": update["task_seconds"], "update_summary": update["result"].get("summary"),
            "prune_seconds": prune["task_seconds"], "prune_summary": prune["result"].get("summary"),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in firsts + reruns + [update, prune]),
        }
        if untagged_firsts:
            untagged_median = median(r["task_seconds"] for r in untagged_firsts)
            untagged_cpu = untagged_firsts[-1]["netbox_cpu_seconds"]
            stage["first_import_source_id"] = {
                "seconds": [r["task_seconds"] for r in untagged_firsts], "median": untagged_median,
                "regions_per_second": round(n / untagged_median, 1),
                "summary": untagged_firsts[-1]["result"].get("summary"),
                "duration": untagged_firsts[-1]["result"].get("duration"),
                "netbox_cpu_seconds": untagged_cpu,
                "netbox_cpu_ms_per_region": round(1000.0 * untagged_cpu["total"] / n, 2),
                "cpu_seconds": untagged_firsts[-1].get("cpu_seconds"),
            }
        return stage

    def stage_world(self):
        return self.scale_stage("world", WORLD_LEVELS, untagged=True)

    def stage_cities(self):
        return self.scale_stage("cities", CITY_LEVELS)

    def stage_follow(self):
        """What following a run costs (issue 17): the world's first import without progress and
        map, and with both (the progress file, a line every 15 s, and the map of the 1:110m
        outlines a world-size picture needs, which the sync draws in a thread beside its writes,
        as the netbox_geo role asks it to), in alternating order, --first-runs pairs, each on an
        empty NetBox. Both write the plan file, as the role does. The overhead is the median
        over the pairs of (sync with) / (sync without) - 1: the two runs of a pair are back to
        back, so the machine's drift over the stage cancels out of each. The client's CPU
        seconds (getrusage of the playbook and its modules) tell the same without NetBox's noise."""
        base, _ = self.dataset("world", "2024", WORLD_LEVELS)
        n = count_nodes(base)
        polygons = os.path.join(self.geodata, "naturalearth", "ne_110m_admin_0_countries.zip")
        runs = {"plain": [], "followed": []}
        for number in range(self.args.first_runs):
            for label in ("plain", "followed") if number % 2 == 0 else ("followed", "plain"):
                self.reset()
                stem = os.path.join(self.work, "follow-%s-%d" % (label, number))
                options = {"plan_file": stem + ".plan.json"}
                if label == "followed":
                    options.update(progress_file=stem + ".progress.json", progress_interval=15,
                                   map_file=stem + ".png", map_polygons=polygons)
                self.log("follow: world first import, %s (pair %d of %d)" % (label, number + 1, self.args.first_runs))
                run = self.sync(base, "follow-%s-%d" % (label, number), **options)
                if label == "followed" and not run["result"].get("map"):
                    raise RuntimeError("follow %d: the sync drew no map: %s" % (number, run["result"].get("warnings_list")))
                runs[label].append(run)
                self.expect_regions(n, "follow %s %d" % (label, number))
        plain = median(r["task_seconds"] for r in runs["plain"])
        sync = median(r["task_seconds"] for r in runs["followed"])
        pair_overheads = [round(100.0 * (with_["task_seconds"] - without["task_seconds"]) / without["task_seconds"], 2)
                          for without, with_ in zip(runs["plain"], runs["followed"])]
        return {
            "regions": n, "pairs": self.args.first_runs, "polygons": os.path.basename(polygons),
            "map_beside_writes": True,
            "plain_sync_seconds": [r["task_seconds"] for r in runs["plain"]],
            "followed_sync_seconds": [r["task_seconds"] for r in runs["followed"]],
            "map_seconds": [r["result"].get("duration", {}).get("map") for r in runs["followed"]],
            "plain_cpu_seconds": [r.get("cpu_seconds") for r in runs["plain"]],
            "followed_cpu_seconds": [r.get("cpu_seconds") for r in runs["followed"]],
            "plain_median": plain, "followed_sync_median": sync,
            "map_median": median(r["result"].get("duration", {}).get("map") for r in runs["followed"]),
            "pair_overhead_percent": pair_overheads,
            "overhead_of_medians_percent": round(100.0 * (sync - plain) / plain, 2),
            "overhead_percent": median(pair_overheads),
        }

    def stage_ceiling(self):
        path, _ = self.dataset("world", "2024", WORLD_LEVELS)
        nodes = read_nodes(path)
        if self.args.ceiling_limit:
            nodes = nodes[:self.args.ceiling_limit]  # parents come first: any prefix is a valid tree
        bare = self.args.ceiling_payload == "bare"
        by_streams = {}
        # one stream has nothing to balance; more are measured on kept-alive connections (each
        # pinned to the gunicorn worker that accepted it) and on a fresh connection per POST
        runs = [(streams, fresh) for streams in self.args.ceiling_streams for fresh in (False, True)
                if streams > 1 or not fresh]
        for streams, fresh in runs:
            self.reset()
            tag_id = self.admin.ensure_tag(MANAGED_TAG)
            self.admin.ensure_source_field(unique=False)
            self.netbox_cpu.start()
            result = raw_bulk_create(self.admin, region_payloads(nodes, tag_id, bare=bare), streams,
                                     self.args.ceiling_batch, fresh_connections=fresh)
            cpu = result["netbox_cpu_seconds"] = self.netbox_cpu.stop()
            result["worker_cpu_seconds"] = cpu["workers"]
            result["netbox_cpu_ms_per_region"] = round(1000.0 * cpu["total"] / max(1, result["regions"]), 2)
            key = "%d%s" % (streams, " fresh" if fresh else "")
            self.log("raw bulk POST, %s stream(s), batches of %d: %s" % (key, self.args.ceiling_batch, result))
            by_streams[key] = result
        best = max(by_streams.values(), key=lambda r: r["regions_per_second"] or 0)
        return {"regions": len(nodes), "batch_size": self.args.ceiling_batch, "payload": self.args.ceiling_payload,
                "by_streams": by_streams, "best_regions_per_second": best["regions_per_second"],
                "netbox_cpu_ms_per_region": median(r["netbox_cpu_ms_per_region"] for r in by_streams.values())}

    def stage_payload(self):
        """Each part of a region create, in NetBox CPU per region, at two tree sizes (payload.py)."""
        world, _ = self.dataset("world", "2024", WORLD_LEVELS)
        cities, _ = self.dataset("cities", "2024", CITY_LEVELS)
        cities500, _ = self.dataset("cities500", "cities500", CITY_LEVELS, city_min_population=0)
        candidates = read_nodes(cities500)
        world_nodes, city_nodes = read_nodes(world), read_nodes(cities)
        if self.args.payload_cities_limit:
            # the cities scale cut short: the world, then the first N cities (parents come first)
            city_nodes = city_nodes[:len(world_nodes) + self.args.payload_cities_limit]
        self.reset()
        stage = PayloadStage(self.admin, self.netbox_cpu, MANAGED_TAG, self.args.payload_batch, self.log)
        stage.prepare()
        scales, sites = {}, None
        for scale, nodes in (("world", world_nodes), ("cities", city_nodes)):
            if scale not in self.args.payload_scales:
                continue
            sample = sample_nodes(candidates, present_keys(nodes), self.args.payload_sample)
            scales[scale] = stage.run_scale(nodes, sample, self.args.payload_rounds)
            self.log("payload at %s scale, CPU ms per region: %s" % (scale, {
                key: variant["cpu_ms_per_region"] for key, variant in scales[scale]["variants"].items()}))
            if scale == "world" and self.args.payload_sites:
                sites = stage.run_sites(self.args.payload_sites, self.args.payload_rounds)
                self.log("payload, site PATCHes, CPU ms per site: %s" % {
                    key: variant["cpu_ms_per_site"] for key, variant in sites["variants"].items()})
        return {"batch_size": self.args.payload_batch, "rounds": self.args.payload_rounds, "scales": scales,
                "sites": sites}

    def stage_cities500(self):
        """The largest tree end to end: countries, divisions and every city of derived-cities500."""
        countries = self.args.cities500_countries
        name = "cities500-" + "-".join(countries) if countries else "cities500"
        path, transform = self.dataset(name, "cities500", CITY_LEVELS, countries, city_min_population=0)
        n = count_nodes(path)
        self.reset()
        self.log("cities500: first import of %d regions (about 40 minutes)" % n)
        first = self.sync(path, "cities500-first")
        self.expect_regions(n, "cities500 after the first import")
        rerun = self.sync(path, "cities500-rerun")
        cpu = first["netbox_cpu_seconds"]
        return {
            "regions": n, "countries": list(countries), "transform_seconds": transform["task_seconds"],
            "transform_peak_rss_mib": transform["peak_rss_mib"],
            "first_import_seconds": first["task_seconds"],
            "first_import_regions_per_second": round(n / first["task_seconds"], 1) if first["task_seconds"] else None,
            "first_import_duration": first["result"].get("duration"), "first_import_http": first["result"].get("http"),
            "first_import_peak_rss_mib": first["peak_rss_mib"], "first_import_cpu_seconds": first.get("cpu_seconds"),
            "first_import_netbox_cpu_seconds": cpu,
            "first_import_netbox_cpu_ms_per_region": round(1000.0 * cpu["total"] / n, 2),
            "rerun_seconds": rerun["task_seconds"], "rerun_summary": rerun["result"].get("summary"),
            "rerun_duration": rerun["result"].get("duration"), "rerun_peak_rss_mib": rerun["peak_rss_mib"],
            "peak_rss_mib": max(first["peak_rss_mib"], rerun["peak_rss_mib"]),
        }

    def stage_memory(self):
        path, transform = self.dataset("cities500", "cities500", CITY_LEVELS, city_min_population=0)
        present = self.admin.count()
        plan = self.sync(path, "cities500-check-plan", sync_check_mode=True)
        return {
            "regions": count_nodes(path), "transform_seconds": transform["task_seconds"],
            "transform_cpu_seconds": transform.get("cpu_seconds"), "plan_cpu_seconds": plan.get("cpu_seconds"),
            "transform_counts": transform["result"].get("counts"), "transform_peak_rss_mib": transform["peak_rss_mib"],
            "plan_seconds": plan["task_seconds"], "plan_summary": plan["result"].get("summary"),
            "plan_peak_rss_mib": plan["peak_rss_mib"], "regions_in_netbox_during_plan": present,
            "peak_rss_mib": max(transform["peak_rss_mib"], plan["peak_rss_mib"]),
        }

    # -- the run -----------------------------------------------------------------------------
    def netbox_facts(self) -> dict:
        status = self.admin.status()
        return {"version": status.get("netbox-version"), "python": status.get("python-version"),
                "django": status.get("django-version"), "url": self.url,
                "gunicorn_workers": int(os.environ.get("GEOFOSS_NETBOX_WORKERS", "2")), "gunicorn_threads": 3}

    def run(self):
        self.results["netbox"] = self.netbox_facts()
        self.results["versions"] = {
            "collection_ansible": _first_line([os.path.join(self.collection_bin, "ansible"), "--version"]),
            "baseline_ansible": _first_line([os.path.join(self.baseline_bin, "ansible"), "--version"]),
            "netbox_netbox": os.environ.get("GEOFOSS_NETBOX_NETBOX_VERSION", "unknown"),
        }
        if self.args.loop_from and "loop" not in self.args.only:
            # the baseline loop takes many minutes: a run may reuse the loop stage of an earlier one
            with open(self.args.loop_from, encoding="utf-8") as handle:
                self.results["stages"]["loop"] = dict(json.load(handle)["stages"]["loop"], reused_from=self.args.loop_from)
        for stage in STAGES:
            if stage in self.args.only:
                self.log("stage %s" % stage)
                started = datetime.datetime.now(datetime.timezone.utc)
                load_before = load_average()
                self.results["stages"][stage] = getattr(self, "stage_" + stage)()
                # how busy the machine was: the wall times of this stage depend on it
                self.results["stages"][stage]["load_average_start"] = load_before
                self.results["stages"][stage]["load_average_end"] = load_average()
                self.results["stages"][stage]["stage_wall_seconds"] = round(
                    (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), 1)
                self.save()
        self.results["load_average_end"] = load_average()
        self.results["finished"] = _now()
        self.results["targets"] = evaluate_targets(self.results)
        return self.save()

    def save(self):
        os.makedirs(self.args.results, exist_ok=True)
        stem = os.path.join(self.args.results, self.results["started"].replace(":", "").replace("-", ""))
        with open(stem + ".json", "w", encoding="utf-8") as handle:
            json.dump(self.results, handle, indent=1, sort_keys=True)
        with open(stem + ".md", "w", encoding="utf-8") as handle:
            handle.write(markdown_report(self.results))
        return stem


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(DEFAULT_STAGES),
                        help="comma-separated stages (default: all but follow)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each short step; the median is reported")
    parser.add_argument("--loop-countries", default=",".join(LOOP_COUNTRIES),
                        help="countries of the loop stage (default: 10 countries, 201 regions)")
    parser.add_argument("--loop-from", help="a results .json whose loop stage to reuse when loop is not run")
    parser.add_argument("--first-runs", type=int, default=1, help="first imports of the world stage (each ~minutes)")
    parser.add_argument("--batch-size", type=int, default=0, help="netbox_geo_sync batch_size (default: the module's)")
    parser.add_argument("--concurrency", type=int, default=0, help="netbox_geo_sync concurrency (default: the module's)")
    parser.add_argument("--ceiling-batch", type=int, default=200, help="objects per raw bulk POST")
    parser.add_argument("--ceiling-limit", type=int, default=0,
                        help="post only the first N world regions in the ceiling stage (default: all)")
    parser.add_argument("--ceiling-streams", default="1,2,4", help="stream counts of the raw ceiling")
    parser.add_argument("--series", default="",
                        help="the name shared by the runs of one `benchmarks/run --netbox-versions` (one per release)")
    parser.add_argument("--ceiling-payload", choices=("bare", "full"), default="bare",
                        help="bare: name, slug, parent (issue 18); full: + description, tag, geo_source_id")
    parser.add_argument("--payload-sample", type=int, default=1000, help="regions created per payload variant")
    parser.add_argument("--payload-rounds", type=int, default=2, help="measurements of each payload variant")
    parser.add_argument("--payload-batch", type=int, default=200, help="objects per POST of the payload stage")
    parser.add_argument("--payload-scales", default="world,cities", help="tree sizes of the payload stage")
    parser.add_argument("--payload-sites", type=int, default=1000,
                        help="sites PATCHed per variant in the world tree (0: no site part)")
    parser.add_argument("--payload-cities-limit", type=int, default=0,
                        help="fill the payload stage's cities scale with only N cities (default: all)")
    parser.add_argument("--cities500-countries", default="",
                        help="cities500 stage: only these countries (a short check of the stage; default: all)")
    parser.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(STAGES))
    if unknown:
        parser.error("unknown stage(s) %s; choose from %s" % (", ".join(unknown), ",".join(STAGES)))
    args.loop_countries = [c.strip().upper() for c in args.loop_countries.split(",") if c.strip()]
    args.ceiling_streams = [int(s) for s in args.ceiling_streams.split(",")]
    args.payload_scales = [s.strip() for s in args.payload_scales.split(",") if s.strip()]
    args.cities500_countries = [c.strip().upper() for c in args.cities500_countries.split(",") if c.strip()]
    args.payload_rounds = max(1, args.payload_rounds)
    args.runs = max(1, args.runs)
    args.first_runs = max(1, args.first_runs)
    return args


def main(argv=None):
    bench = Bench(parse_args(sys.argv[1:] if argv is None else argv))
    stem = bench.run()
    with open(stem + ".md", encoding="utf-8") as handle:
        print(handle.read())
    bench.log("results: %s.json and .md" % stem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
