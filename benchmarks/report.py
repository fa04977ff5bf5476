# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's verdicts against the issue's targets, the Markdown report of a run, and
the benchmark figures of README.md and docs/, rendered from the results files:

    python benchmarks/report.py --render   # rewrite the marked blocks from benchmarks/results
    python benchmarks/report.py --check    # exit 1 when a block differs from its rendering

Each figure of the docs sits in a block ``<!-- benchmark:NAME -->`` ... ``<!-- /benchmark:NAME -->``
whose text only this file writes, from the ``<UTC time>.json`` files that bench.py wrote and
the ``sites-<UTC time>.json`` files of sites_placement.py. A block whose measurement no
results file holds says what is to be measured and with which command.
"""

from __future__ import annotations

import glob
import json
import os
import re
import statistics
import sys

# issue 8's targets
FIRST_IMPORT_SPEEDUP = 40.0      # world first import vs netbox.netbox at its per-region rate
RERUN_SPEEDUP = 200.0            # world no-change re-run vs the same
CEILING_FRACTION = 0.85          # sync write throughput / raw concurrent bulk-POST ceiling
# issue 18's: against the ceiling of bare regions (name, slug, parent); no slowdown as the tree grows
BARE_CEILING_FRACTION = 0.9
CITIES_RATE_FRACTION = 0.9       # cities15000 first import rate / the world's, same run
CITIES_RERUN_SECONDS = 30.0      # the ~37,000-region no-change re-run
TRANSFORM_SECONDS = 60.0         # 234,908 cities
PEAK_RSS_MIB = 512.0
FOLLOW_OVERHEAD_PERCENT = 2.0    # progress and the map, against the same world import without them


def loop_comparable(loop) -> bool:
    """Whether the netbox.netbox loop may be set beside the sync of its run: measured in that run
    (not reused from another), at a size where its per-region cost was steady."""
    return bool(loop) and not loop.get("reused_from") and all(
        part.get("steady") for part in (loop.get("steadiness") or {"missing": {}}).values())


def _verdict(value, limit, higher_is_better, what):
    if value is None:
        return {"what": what, "value": None, "target": limit, "pass": None}
    ok = value >= limit if higher_is_better else value <= limit
    return {"what": what, "value": round(value, 3), "target": limit, "pass": ok}


def evaluate_targets(results: dict) -> list:
    stages = results.get("stages", {})
    loop, world, cities = stages.get("loop"), stages.get("world"), stages.get("cities")
    ceiling, memory, follow = stages.get("ceiling"), stages.get("memory"), stages.get("follow")
    verdicts = []
    if follow:
        verdicts.append(_verdict(follow["overhead_percent"], FOLLOW_OVERHEAD_PERCENT, False,
                                 "world first import: progress and map overhead, percent"))
        client = follow_client_percent(follow)
        if client is not None:
            verdicts.append(_verdict(client, FOLLOW_OVERHEAD_PERCENT, False,
                                     "world first import: the client work progress and map add, percent"))
    if loop_comparable(loop) and world:
        per_region = loop["netbox_netbox"]
        verdicts.append(_verdict(per_region["create_seconds_per_region"] * world["regions"] / world["first_import_median"],
                                 FIRST_IMPORT_SPEEDUP, True, "world first import: speed-up over netbox.netbox"))
        verdicts.append(_verdict(per_region["rerun_seconds_per_region"] * world["regions"] / world["rerun_median"],
                                 RERUN_SPEEDUP, True, "world no-change re-run: speed-up over netbox.netbox"))
    if world and ceiling:
        bare = ceiling.get("payload") == "bare"
        verdicts.append(_verdict(world["first_import_regions_per_second"] / ceiling["best_regions_per_second"],
                                 BARE_CEILING_FRACTION if bare else CEILING_FRACTION, True,
                                 "world first import: fraction of the raw bulk-POST ceiling%s" % (
                                     " of bare regions" if bare else "")))
        untagged = world.get("first_import_source_id")
        if untagged and bare:
            verdicts.append(_verdict(untagged["regions_per_second"] / ceiling["best_regions_per_second"],
                                     BARE_CEILING_FRACTION, True, "world first import with ownership source_id (no "
                                     "tag): fraction of the raw bulk-POST ceiling of bare regions"))
    if world and cities:
        verdicts.append(_verdict(cities["first_import_regions_per_second"] / world["first_import_regions_per_second"],
                                 CITIES_RATE_FRACTION, True, "cities15000 first import: fraction of the world's rate"))
    if cities:
        verdicts.append(_verdict(cities["rerun_median"], CITIES_RERUN_SECONDS, False,
                                 "cities15000 world no-change re-run, seconds"))
    if memory:
        verdicts.append(_verdict(memory["transform_seconds"], TRANSFORM_SECONDS, False,
                                 "cities500 geo_transform, seconds"))
        verdicts.append(_verdict(memory["peak_rss_mib"], PEAK_RSS_MIB, False,
                                 "cities500 transform + check-mode plan, peak RSS MiB"))
    return verdicts


def _s(value, unit=" s"):
    return "n/a" if value is None else "%.1f%s" % (value, unit)


def _row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown_report(results: dict) -> str:
    machine, netbox = results.get("machine", {}), results.get("netbox", {})
    stages = results.get("stages", {})
    lines = [
        "# geofoss.netbox benchmark, %s" % results.get("started"),
        "",
        "Machine: %s, %s CPUs, %s GiB; load average at start %s, at end %s." % (
            machine.get("cpu_model"), machine.get("cpus"), machine.get("memory_gib"),
            results.get("load_average_start"), results.get("load_average_end")),
        "NetBox %s (Python %s), %s gunicorn workers x %s threads, on the same machine." % (
            netbox.get("version"), netbox.get("python"), netbox.get("gunicorn_workers"), netbox.get("gunicorn_threads")),
        "Versions: %s." % ", ".join("%s: %s" % kv for kv in sorted(results.get("versions", {}).items())),
        "Times are the module task's wall time (ansible-playbook start-up excluded); medians of %s runs "
        "for the short steps. CPU seconds: all processes of the playbook on the controller (not NetBox's); "
        "unlike wall times they do not grow with the machine's load." % results.get("runs_per_short_step"),
        "",
    ]
    loop = stages.get("loop")
    if loop:
        nn, gs = loop["netbox_netbox"], loop["geo_sync"]
        lines += ["## netbox.netbox loop vs netbox_geo_sync, %d regions" % loop["regions"], "",
                  "Reused from %s." % loop["reused_from"] if loop.get("reused_from") else "",
                  _row("step", "netbox.netbox loop", "netbox_geo_sync", "ratio"), _row("---", "---", "---", "---"),
                  _row("create", _s(nn["create_seconds"]), _s(gs["create_median"]), "%sx" % loop["ratio_create"]),
                  _row("no-change re-run", _s(nn["rerun_seconds"]), _s(gs["rerun_median"]), "%sx" % loop["ratio_rerun"]),
                  "", "netbox.netbox: %.3f s per region to create, %.3f s per region to check." % (
                      nn["create_seconds_per_region"], nn["rerun_seconds_per_region"]), ""]
    for key, title in (("world", "World countries + first-level divisions"), ("cities", "World with cities15000")):
        stage = stages.get(key)
        if not stage:
            continue
        lines += ["## %s, %d regions" % (title, stage["regions"]), "",
                  _row("step", "seconds", "summary"), _row("---", "---", "---"),
                  _row("geo_transform", _s(stage["transform_seconds"]), ""),
                  _row("first import (median)", _s(stage["first_import_median"]),
                       "%s regions/s; runs %s; CPU %s; gunicorn worker CPU %s s; NetBox CPU %s ms per region"
                       % (stage["first_import_regions_per_second"], stage["first_import_seconds"],
                          _s(stage.get("first_import_cpu_seconds")),
                          " / ".join(str(s) for s in stage.get("first_import_worker_cpu_seconds") or []) or "-",
                          stage.get("first_import_netbox_cpu_ms_per_region", "-"))),
                  _row("no-change re-run (median)", _s(stage["rerun_median"]), stage["rerun_summary"]),
                  _row("update to the 2025-11 admin1 release (prune on)", _s(stage["update_seconds"]),
                       stage["update_summary"]),
                  _row("prune of %s" % ", ".join(stage["pruned_countries"]), _s(stage["prune_seconds"]),
                       stage["prune_summary"]),
                  "", "Peak RSS of the largest process: %.0f MiB." % stage["peak_rss_mib"], ""]
    ceiling = stages.get("ceiling")
    if ceiling:
        lines += ["## Raw bulk-POST ceiling, %d %sregions, batches of %d" % (
            ceiling["regions"], "bare " if ceiling.get("payload") == "bare" else "", ceiling["batch_size"]), "",
                  _row("streams", "seconds", "regions/s", "gunicorn worker CPU s"), _row("---", "---", "---", "---")]
        lines += [_row(streams, _s(r["seconds"]), r["regions_per_second"],
                       " / ".join(str(s) for s in r.get("worker_cpu_seconds") or []) or "-")
                  for streams, r in ceiling["by_streams"].items()]
        lines.append("")
    lines += _payload_lines(stages.get("payload")) + _cities500_lines(stages.get("cities500"))
    memory = stages.get("memory")
    if memory:
        lines += ["## Memory: derived-cities500, %d nodes" % memory["regions"], "",
                  _row("step", "seconds", "peak RSS"), _row("---", "---", "---"),
                  _row("geo_transform", "%s (CPU %s)" % (_s(memory["transform_seconds"]), _s(memory.get("transform_cpu_seconds"))),
                       _s(memory["transform_peak_rss_mib"], " MiB")),
                  _row("check-mode sync plan (%d regions in NetBox)" % memory["regions_in_netbox_during_plan"],
                       "%s (CPU %s)" % (_s(memory["plan_seconds"]), _s(memory.get("plan_cpu_seconds"))),
                       _s(memory["plan_peak_rss_mib"], " MiB")), ""]
    if stages.get("follow"):
        lines += ["## Following a run", ""] + follow_lines(stages["follow"]) + [""]
    verdicts = results.get("targets") or []
    if verdicts:
        lines += ["## Targets", "", _row("target", "measured", "limit", "verdict"), _row("---", "---", "---", "---")]
        for v in verdicts:
            verdict = "n/a" if v["pass"] is None else ("pass" if v["pass"] else "FAIL")
            lines.append(_row(v["what"], v["value"], v["target"], verdict))
        lines.append("")
    return "\n".join(lines)


# the payload stage's order (payload.py: each variant adds one part); a results file keeps its keys sorted
PAYLOAD_SCALES = ("world", "cities")
PAYLOAD_VARIANTS = ("bare", "description", "tag", "source_field", "unique", "attributes", "changelog", "sync")
SITE_VARIANTS = ("region", "time_zone", "both", "changelog", "omit_counts")


def _in_order(mapping, order) -> dict:
    """`mapping` with the keys of `order` first, in that order, then any others."""
    return {key: mapping[key] for key in [k for k in order if k in mapping] + [k for k in mapping if k not in order]}


def _payload_table(stage) -> list:
    """The payload stage's tables: NetBox CPU ms per region created, per variant and tree size;
    then per site PATCHed, per variant."""
    scales = _in_order(stage["scales"], PAYLOAD_SCALES)
    names = list(scales)
    lines = [_row("variant", "sends", *["%s tree (%s regions)" % (n, _n(scales[n]["regions_in_netbox"], 0))
                                         for n in names]),
             _row("---", "---", *["---"] * len(names))]
    first = _in_order(scales[names[0]]["variants"], PAYLOAD_VARIANTS) if names else {}

    def cell(scale, key):
        """CPU ms per region, and the multiple of the bare region's in the same tree."""
        variants = scales[scale]["variants"]
        cost, bare = variants[key]["cpu_ms_per_region"], (variants.get("bare") or {}).get("cpu_ms_per_region")
        return _n(cost) + (" (%s x bare)" % _n(cost / bare, 2) if bare and key != "bare" else "")
    for key, variant in first.items():
        lines.append(_row("`%s`" % key, variant["adds"], *[cell(n, key) for n in names]))
    sites = stage.get("sites")
    if sites:
        lines += ["", _row("site PATCH (%s sites, world tree)" % _n(sites["sites"], 0), "sends", "CPU ms per site"),
                  _row("---", "---", "---")]
        lines += [_row("`%s`" % key, variant["adds"], _n(variant["cpu_ms_per_site"]))
                  for key, variant in _in_order(sites["variants"], SITE_VARIANTS).items()]
    return lines


def _payload_method(stage) -> str:
    return ("NetBox CPU (gunicorn workers + PostgreSQL backends) per object, median of %d rounds, batches of %d, "
            "%s new regions per variant." % (stage["rounds"], stage["batch_size"],
                                              " / ".join(_n(s["sample"], 0) for s in stage["scales"].values())))


def _payload_lines(stage) -> list:
    if not stage:
        return []
    return (["## What each part of a region create costs NetBox, CPU ms per region", "", _payload_method(stage), ""]
            + _payload_table(stage) + [""])


def _cities500_table(stage) -> list:
    return [_row("step", "seconds", "detail"), _row("---", "---", "---"),
            _row("first import", _n(stage["first_import_seconds"]),
                 "%s regions/s; NetBox CPU %s ms per region; peak RSS %s MiB" % (
                     _n(stage["first_import_regions_per_second"]), _n(stage["first_import_netbox_cpu_ms_per_region"]),
                     _n(stage["first_import_peak_rss_mib"], 0))),
            _row("no-change re-run", _n(stage["rerun_seconds"]), "peak RSS %s MiB; summary %s" % (
                _n(stage["rerun_peak_rss_mib"], 0), stage["rerun_summary"]))]


def _cities500_lines(stage) -> list:
    if not stage:
        return []
    return ["## cities500 end to end, %d regions" % stage["regions"], ""] + _cities500_table(stage) + [""]


# -- the figures of README.md and docs/ ---------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
DOCUMENTS = ("README.md", "docs/benchmarks.md", "docs/dataset.md", "docs/sites.md", "docs/sync.md")
BLOCK = re.compile(r"(<!-- benchmark:([a-z0-9-]+) -->\n)(.*?)(<!-- /benchmark:\2 -->)", re.S)
RUN_FILE = re.compile(r"^(sites-)?\d{8}T\d{6}Z\.json$")
FRESH_FILE = re.compile(r"^fresh-\d{8}T\d{6}Z\.json$")  # benchmarks/fresh_machine: make test on a fresh system
TO_BE_MEASURED = "*To be measured:* %s"
WORLD_RUN = "bash benchmarks/run --only loop,ceiling,world,cities"
LTREE_SINCE = (4, 7)  # the release the single-run blocks speak of is 4.7 or later
RELEASES_RUN = "bash benchmarks/run --netbox-versions 4.4.10,4.5.10,4.6.8,4.7.3 --only world,ceiling"
PAYLOAD_RUN = "bash benchmarks/run --only ceiling,payload,world,cities"


def _load_results(folder, pattern) -> list:
    """(file name, results) of the results files in `folder` whose names match `pattern`, oldest first."""
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        if pattern.match(os.path.basename(path)):
            with open(path, encoding="utf-8") as handle:
                runs.append((os.path.basename(path), json.load(handle)))
    return runs


def load_runs(folder=RESULTS) -> list:
    """(file name, results) of every results file a benchmark wrote, oldest first."""
    return _load_results(folder, RUN_FILE)


def _latest(runs, *stages, sites=False):
    """The newest run (name, results) holding all these stages (or a sites run), or (None, None)."""
    for name, results in reversed(runs):
        if name.startswith("sites-") != sites:
            continue
        if results.get("series") and _release(results) < LTREE_SINCE:
            continue  # an older release of a per-release series: only block_releases shows it
        if all(stage in results.get("stages", {}) for stage in stages):
            return name, results
    return None, None


def _n(value, digits=1):
    """A figure as the docs print it: thousands separated, `digits` decimals."""
    if value is None:
        return "n/a"
    return "{:,.{}f}".format(value, digits)


def _load(results, stage=None) -> str:
    part = results["stages"][stage] if stage else results
    start, end = part.get("load_average_start"), part.get("load_average_end")
    if not start:
        return "load average not recorded"
    return "load average %s at the start, %s at the end" % (_n(start[0], 2), _n(end[0], 2) if end else "?")


def _run_line(name, results) -> str:
    netbox = results.get("netbox", {})
    return ("Run `%s` (`benchmarks/results/%s`): NetBox %s, %s gunicorn workers x %s threads on the same %s CPUs "
            "as the client; %s." % (name[:-5], name, netbox.get("version"), netbox.get("gunicorn_workers"),
                                    netbox.get("gunicorn_threads"), results.get("machine", {}).get("cpus"),
                                    _load(results)))


def _worker_ms_per_region(ceiling):
    """NetBox worker CPU per created region on one raw stream (all workers together), in ms."""
    one = ceiling["by_streams"].get("1")
    if not one or not one.get("worker_cpu_seconds"):
        return None
    return 1000.0 * sum(one["worker_cpu_seconds"]) / one["regions"]


def block_how_fast(runs) -> str:
    name, results = _latest(runs, "world", "cities", "ceiling")
    if not results:
        return TO_BE_MEASURED % ("`%s`" % WORLD_RUN)
    world, cities, ceiling = (results["stages"][k] for k in ("world", "cities", "ceiling"))
    loop = results["stages"].get("loop")
    if loop_comparable(loop):
        nn = loop["netbox_netbox"]
        create = "%s s per region: %s hours" % (_n(nn["create_seconds_per_region"], 2),
                                                 _n(nn["create_seconds_per_region"] * world["regions"] / 3600))
        rerun = "%s s per region: %s hours" % (_n(nn["rerun_seconds_per_region"], 2),
                                                _n(nn["rerun_seconds_per_region"] * world["regions"] / 3600))
        loop_note = ("The loop's rates come from %d regions in the same run (per-region cost steady over the loop)."
                     % loop["regions"])
    else:
        create = rerun = "to be measured"
        loop_note = ("The loop column is to be measured in the same run as the sync, at a size where its "
                     "per-region cost is steady: `%s`." % WORLD_RUN)
    lines = [
        _run_line(name, results) + " " + loop_note, "",
        "| | `netbox.netbox.netbox_region` in a loop | `netbox_geo_sync` |",
        "| --- | --- | --- |",
        "| world countries + first-level divisions (%s regions), first import | %s | %s s |" % (
            _n(world["regions"], 0), create, _n(world["first_import_median"])),
        "| the same, nothing to change | %s | %s s |" % (rerun, _n(world["rerun_median"])),
        "| cities15000 world (%s regions), first import | — | %s s |" % (
            _n(cities["regions"], 0), _n(cities["first_import_median"])),
        "| the same, nothing to change | — | %s s |" % _n(cities["rerun_median"]),
        "",
        "The world's first import ran at %s of NetBox's raw bulk-POST ceiling measured in the same run "
        "(the best of its raw runs: 1, 2 and 4 streams)%s." % (
            _n(world["first_import_regions_per_second"] / ceiling["best_regions_per_second"], 2),
            ", a ceiling of bare regions (name, slug, parent): what the sync sends besides, the managed tag "
            "above all, costs NetBox the rest ([docs/benchmarks.md](docs/benchmarks.md#what-each-part-of-a-write-"
            "costs-netbox-the-payload-stage))" if ceiling.get("payload") == "bare" else ""),
    ]
    per_region = _worker_ms_per_region(ceiling)
    if per_region is not None:
        lines[-1] += (" NetBox spent %s ms of worker CPU on each region one raw stream created, so that ceiling "
                      "is NetBox's own;" % _n(per_region, 0))
    if world.get("first_import_cpu_seconds") is not None:
        lines[-1] += " the sync's client used %s s of CPU on the world import." % _n(world["first_import_cpu_seconds"])
    memory_name, memory_results = _latest(runs, "memory")
    if memory_results:
        memory = memory_results["stages"]["memory"]
        lines += ["", "`geo_transform` turned the %s places of a cities500 table into a dataset in %s s of CPU "
                  "with a peak of %s MiB (run `%s`)." % (
                      _n(memory["transform_counts"]["city"], 0), _n(memory["transform_cpu_seconds"]),
                      _n(memory["transform_peak_rss_mib"], 0), memory_name[:-5])]
    return "\n".join(lines)


def block_latest_run(runs) -> str:
    name, results = _latest(runs, "world", "cities", "ceiling")
    if not results:
        return TO_BE_MEASURED % ("`%s`" % WORLD_RUN)
    stages = results["stages"]
    world, cities, ceiling = stages["world"], stages["cities"], stages["ceiling"]
    lines = [_run_line(name, results), "", "| step | seconds | detail |", "| --- | --- | --- |"]
    keys = sorted(ceiling["by_streams"])
    lines.append("| raw ceiling, %s streams | %s | %s regions/s |" % (
        " / ".join(keys), " / ".join(_n(ceiling["by_streams"][k]["seconds"]) for k in keys),
        " / ".join(_n(ceiling["by_streams"][k]["regions_per_second"]) for k in keys)))
    for label, stage in (("world", world), ("cities15000", cities)):
        http = stage.get("first_import_http") or {}
        workers = stage.get("first_import_worker_cpu_seconds")
        lines += [
            "| %s (%s): first import | %s | %s regions/s, %s requests, %s retries; client CPU %s s%s |" % (
                label, _n(stage["regions"], 0), _n(stage["first_import_median"]),
                _n(stage["first_import_regions_per_second"]), http.get("requests"), http.get("retries"),
                _n(stage.get("first_import_cpu_seconds") or 0),
                "; worker CPU %s s" % " / ".join(_n(w) for w in workers) if workers else ""),
            "| %s: no-change re-run (median of %d) | %s | %s |" % (
                label, len(stage["rerun_seconds"]), _n(stage["rerun_median"]),
                " / ".join(_n(s) for s in stage["rerun_seconds"])),
            "| %s: update to the 2025-11 release (%s / %s / %s) | %s | |" % (
                label, _n(stage["update_summary"]["create"], 0), _n(stage["update_summary"]["update"], 0),
                _n(stage["update_summary"]["delete"], 0), _n(stage["update_seconds"])),
            "| %s: prune of %s (%s) | %s | |" % (
                label, ", ".join(stage["pruned_countries"]), _n(stage["prune_summary"]["delete"], 0),
                _n(stage["prune_seconds"])),
        ]
    lines += ["", "| target | measured | limit | verdict |", "| --- | --- | --- | --- |"]
    for verdict in evaluate_targets(results):
        lines.append("| %s | %s | %s | %s |" % (verdict["what"], _n(verdict["value"], 3), _n(verdict["target"], 2),
                                                 "pass" if verdict["pass"] else "FAIL"))
    if not loop_comparable(stages.get("loop")):
        lines += ["", "No speed-up over netbox.netbox is given for this run: its loop stage was %s. %s" % (
            "reused from another run" if (stages.get("loop") or {}).get("reused_from") else
            "not measured at a size where its per-region cost was steady" if stages.get("loop") else "not run",
            TO_BE_MEASURED % ("`%s`" % WORLD_RUN))]
    return "\n".join(lines)


def block_history(runs) -> str:
    lines = ["| run | load average (start, end) | world first import | fraction of the run's ceiling "
             "| cities15000 first import | cities15000 no-change re-run |", "| --- | --- | --- | --- | --- | --- |"]
    workers_before = None
    for name, results in runs:
        stages = results.get("stages", {})
        world = stages.get("world")
        if not world or name.startswith("sites-"):
            continue
        ceiling, cities = stages.get("ceiling"), stages.get("cities")
        concurrency = (results.get("sync_options") or {}).get("concurrency")
        # the server's size changes what a run can reach: named where it differs from the row above
        workers = results.get("netbox", {}).get("gunicorn_workers")
        resized = workers_before is not None and workers != workers_before
        workers_before = workers
        lines.append("| `%s`%s%s%s | %s, %s | %s s, %s regions/s | %s | %s | %s |" % (
            name[:-5], " (NetBox %s)" % results["netbox"].get("version") if results.get("series") else "",
            " (`concurrency: %d`)" % concurrency if concurrency else "",
            " (%s gunicorn workers)" % workers if resized else "",
            _n(results["load_average_start"][0], 2), _n(results["load_average_end"][0], 2),
            _n(world["first_import_median"]), _n(world["first_import_regions_per_second"]),
            "%s of %s regions/s" % (_n(world["first_import_regions_per_second"] / ceiling["best_regions_per_second"], 2),
                                     _n(ceiling["best_regions_per_second"])) if ceiling else "not run",
            "%s s, %s regions/s" % (_n(cities["first_import_median"]), _n(cities["first_import_regions_per_second"]))
            if cities else "not run",
            "%s s" % _n(cities["rerun_median"]) if cities else "not run"))
    return "\n".join(lines)


def block_memory(runs) -> str:
    name, results = _latest(runs, "memory")
    if not results:
        return TO_BE_MEASURED % "`bash benchmarks/run --only memory`"
    memory = results["stages"]["memory"]
    return "\n".join([
        _run_line(name, results), "",
        "| step (%s nodes: %s cities) | seconds | CPU seconds | peak RSS |" % (
            _n(memory["regions"], 0), _n(memory["transform_counts"]["city"], 0)),
        "| --- | --- | --- | --- |",
        "| `geo_transform` | %s | %s | %s MiB |" % (_n(memory["transform_seconds"]),
                                                   _n(memory["transform_cpu_seconds"]),
                                                   _n(memory["transform_peak_rss_mib"], 0)),
        "| check-mode `netbox_geo_sync` plan (%s regions in NetBox) | %s | %s | %s MiB |" % (
            _n(memory["regions_in_netbox_during_plan"], 0), _n(memory["plan_seconds"]),
            _n(memory["plan_cpu_seconds"]), _n(memory["plan_peak_rss_mib"], 0)),
    ])


def block_sites(runs) -> str:
    name, results = _latest(runs, sites=True)
    if not results:
        return TO_BE_MEASURED % ("`bash benchmarks/run sites` (10,000 sites placed in nine countries' regions; "
                                 "it writes `benchmarks/results/sites-<UTC time>.json`)")
    lines = [_run_line(name, results), "", "| %s sites | seconds | detail |" % _n(results["sites"], 0),
             "| --- | --- | --- |"]
    for label, key in (("check mode", "check_mode"), ("first placement", "place"), ("re-run, nothing to change", "rerun")):
        run = results["runs"][key]
        timings = run.get("timings") or {}
        lines.append("| %s | %s | read %s s, plan %s s, write %s s; %s requests; %s updated |" % (
            label, _n(run["module_duration"]), _n(timings.get("read", 0)), _n(timings.get("plan", 0), 2),
            _n(timings.get("write", 0)), run.get("requests"), _n(run["summary"]["updated"], 0)))
    workers = results.get("place_worker_cpu_seconds")
    if workers:
        lines += ["", "NetBox spent %s ms of worker CPU on each site placed (all workers together)." % _n(
            1000.0 * sum(workers) / results["sites"], 0)]
    lines += ["", "Creating the sites through the API (two streams, 200 per POST): %s sites/s." % _n(
        results["site_create_rate"])]
    return "\n".join(lines)


def _release(results) -> tuple:
    version = (results.get("netbox") or {}).get("version") or ""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("-")[0].split("."))


def _summary_counts(members, key) -> str:
    """'32 created, 11 updated, 53 deleted' of a world step, when every release did the same."""
    summaries = {json.dumps((r["stages"].get("world") or {}).get(key), sort_keys=True) for _name, r in members}
    if len(summaries) != 1:
        return "see each results file"
    summary = json.loads(summaries.pop()) or {}
    done = [("%s %s" % (_n(summary[k], 0), verb)) for k, verb in (("create", "created"), ("update", "updated"),
                                                                  ("delete", "deleted")) if summary.get(k)]
    return ", ".join(done) or "nothing to do"


def block_releases(runs) -> str:
    """The newest series of `benchmarks/run --netbox-versions`: each release's world first
    import, no-change re-run and raw bulk-POST ceiling, measured one after another."""
    series = sorted({results["series"] for _name, results in runs if results.get("series")})
    if not series:
        return TO_BE_MEASURED % ("`%s`" % RELEASES_RUN)
    members = sorted(((name, results) for name, results in runs if results.get("series") == series[-1]),
                     key=lambda run: _release(run[1]))
    machine = members[0][1].get("machine", {})
    lines = ["Series `%s` (in `benchmarks/results/`: %s): one release after another on the same %s CPUs as "
             "the client, each NetBox with %s gunicorn workers x %s threads." % (
                 series[-1], ", ".join("`%s`" % name for name, _results in members), machine.get("cpus"),
                 members[0][1].get("netbox", {}).get("gunicorn_workers"),
                 members[0][1].get("netbox", {}).get("gunicorn_threads")), "",
             "| NetBox | world first import | no-change re-run | release change (%s) | prune (%s) "
             "| raw bulk-POST ceiling (best of %s streams) | first import / ceiling | load average (start, end) |" % (
                 _summary_counts(members, "update_summary"), _summary_counts(members, "prune_summary"),
                 "/".join(sorted({key.split()[0] for _n_, r in members
                                  for key in (r["stages"].get("ceiling") or {}).get("by_streams", {})}) or ["?"])),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for _name, results in members:
        world, ceiling = results["stages"].get("world"), results["stages"].get("ceiling")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s, %s |" % (
            results["netbox"].get("version"),
            "%s s, %s regions/s" % (_n(world["first_import_median"]), _n(world["first_import_regions_per_second"]))
            if world else "not run",
            "%s s" % _n(world["rerun_median"]) if world else "not run",
            "%s s" % _n(world["update_seconds"]) if world else "not run",
            "%s s" % _n(world["prune_seconds"]) if world else "not run",
            "%s regions/s" % _n(ceiling["best_regions_per_second"]) if ceiling else "not run",
            _n(world["first_import_regions_per_second"] / ceiling["best_regions_per_second"], 2)
            if world and ceiling else "-",
            _n(results["load_average_start"][0], 2),
            _n(results["load_average_end"][0], 2) if results.get("load_average_end") else "?"))
    return "\n".join(lines)


def block_payload(runs) -> str:
    name, results = _latest(runs, "payload")
    if not results:
        return TO_BE_MEASURED % ("`%s` (the quiet run that also gives issue 18's targets)" % PAYLOAD_RUN)
    stage = results["stages"]["payload"]
    lines = [_run_line(name, results) + " " + _load(results, "payload").capitalize() + " during this stage.", "",
             _payload_method(stage), ""] + _payload_table(stage)
    return "\n".join(lines)


def follow_client_percent(follow):
    """The client CPU that progress and the map add (median with - median without), as a
    percentage of the import without them: their cost without NetBox's run-to-run variation."""
    if not follow.get("plain_cpu_seconds") or not follow.get("followed_cpu_seconds"):
        return None
    added = statistics.median(follow["followed_cpu_seconds"]) - statistics.median(follow["plain_cpu_seconds"])
    return round(100.0 * added / follow["plain_median"], 2)


def follow_lines(follow) -> list:
    """The follow stage (issue 17): the world's first import without and with progress and the map."""
    beside = follow.get("map_beside_writes")  # the sync draws it (map option), else a task after it
    lines = ["World first import (%d regions), %d pair(s), outlines `%s`:" % (
                 follow["regions"], follow["pairs"], follow.get("polygons", "ne_50m_admin_0_countries.zip")), "",
             _row("run", "sync task seconds", "median",
                  "map seconds (beside the writes)" if beside else "map task seconds", "client CPU seconds (median)"),
             _row("---", "---", "---", "---", "---"),
             _row("without progress and map", ", ".join(_n(v) for v in follow["plain_sync_seconds"]),
                  _n(follow["plain_median"]), "-", _n(statistics.median(follow["plain_cpu_seconds"]))
                  if follow.get("plain_cpu_seconds") else "n/a"),
             _row("with progress (a line every 15 s) and the map",
                  ", ".join(_n(v) for v in follow["followed_sync_seconds"]), _n(follow["followed_sync_median"]),
                  ", ".join(_n(v, 2) for v in follow["map_seconds"]),
                  _n(statistics.median(follow["followed_cpu_seconds"])) if follow.get("followed_cpu_seconds") else "n/a"),
             ""]
    if follow.get("pair_overhead_percent"):
        lines.append("Overhead of each pair, (%s with) / (sync without) - 1: %s; **median %s %%** "
                     "against the target of %s %% (of the medians above: %s %%)." % (
                         "sync" if beside else "sync + map",
                         ", ".join("%s %%" % _n(v, 2) for v in follow["pair_overhead_percent"]),
                         _n(follow["overhead_percent"], 2), _n(FOLLOW_OVERHEAD_PERCENT, 0),
                         _n(follow["overhead_of_medians_percent"], 2)))
    else:
        lines.append("Overhead, of the medians: **%s %%** against the target of %s %%." % (
            _n(follow["overhead_percent"], 2), _n(FOLLOW_OVERHEAD_PERCENT, 0)))
    client = follow_client_percent(follow)
    if client is not None:
        spread = max(follow["plain_sync_seconds"]) / min(follow["plain_sync_seconds"]) - 1
        lines += ["", "The runs without progress and map alone spread by %s %%: NetBox's pace varies from run to "
                      "run by more than the target, so the pairs cannot resolve it. The work progress and the map "
                      "add on the client (its CPU seconds, median with minus median without) is **%s %%** of the "
                      "import without them, against the same target%s." % (
                          _n(100.0 * spread, 0), _n(client, 2),
                          "; the sync draws the map in a thread beside its writes (option `map`), so its seconds "
                          "above overlap them" if beside else "; the map was a task of its own after the sync")]
    return lines


def block_follow(runs) -> str:
    name, results = _latest(runs, "follow")
    if not results:
        return TO_BE_MEASURED % "`bash benchmarks/run --only follow --first-runs 6`"
    during = " %s during this stage." % _load(results, "follow").capitalize() if len(results["stages"]) > 1 else ""
    return "\n".join([_run_line(name, results) + during, ""] + follow_lines(results["stages"]["follow"]))


def block_cities500(runs) -> str:
    name, results = _latest(runs, "cities500")
    if not results or results["stages"]["cities500"].get("countries"):
        return TO_BE_MEASURED % "`bash benchmarks/run --only cities500` (hours)"
    stage = results["stages"]["cities500"]
    return "\n".join([_run_line(name, results), "", "%s regions (countries, first-level divisions and every "
                                                     "city of derived-cities500):" % _n(stage["regions"], 0), ""]
                      + _cities500_table(stage))


def load_fresh(folder=RESULTS) -> list:
    """(file name, results) of every file benchmarks/fresh_machine wrote, oldest first."""
    return _load_results(folder, FRESH_FILE)


def _minutes(seconds) -> str:
    return "%d min %02d s" % divmod(int(round(seconds)), 60)


def block_fresh_test(_runs, folder=RESULTS) -> str:
    """README: how long `make test` takes on a fresh machine, first and second run."""
    found = load_fresh(folder)
    if not found:
        return TO_BE_MEASURED % "`make benchmark-fresh` (`benchmarks/fresh_machine`, as root)"
    name, results = found[-1]
    runs = {run["run"]: run for run in results["runs"]}
    first, second = runs.get("first"), runs.get("second")

    def outcome(run):
        if run is None:
            return "not run"
        if run["exit_status"] == 0:
            return "**%s**" % _minutes(run["seconds"])
        return "failed after %s (exit status %d: `%s`)" % (_minutes(run["seconds"]), run["exit_status"],
                                                            run["closing_line"] or "no closing line")
    system, machine = results["system"], results["machine"]
    return ("How long it takes on a fresh machine (`time make test`): first run %s (every install, NetBox's "
            "first migrations included), second run %s (the same checkout again). Measured by `make "
            "benchmark-fresh` (`benchmarks/results/%s`): %s bootstrapped anew (%s, with %s), %s CPUs, %s GiB, "
            "commit `%s`; closing lines `%s` and `%s`; %s." % (
                outcome(first), outcome(second), name, system["debian"], system["variant"], system["pythons"],
                machine["cpus"], _n(machine["memory_gib"], 0), results["commit"][:12],
                (first or {}).get("closing_line") or "-", (second or {}).get("closing_line") or "-", _load(results)))


def block_ownership(runs) -> str:
    """The world's first import with and without the managed tag, against the bare ceiling of the same run."""
    for name, results in reversed(runs):
        stages = results.get("stages", {})
        world, ceiling = stages.get("world"), stages.get("ceiling")
        if (world and ceiling and world.get("first_import_source_id") and ceiling.get("payload") == "bare"
                and not results.get("series")):
            break
    else:
        return TO_BE_MEASURED % "`bash benchmarks/run --only ceiling,world`"
    untagged, best = world["first_import_source_id"], ceiling["best_regions_per_second"]
    concurrency = (results.get("sync_options") or {}).get("concurrency")
    return ("%s The world's first import (%s regions, median of %d runs each, each on an empty NetBox, the "
            "two kinds taking turns%s): with `ownership: source_id` %s s, %s regions/s, **%s** of the ceiling of "
            "bare regions (%s regions/s, the best of the raw runs), NetBox CPU %s ms per region; with the tag "
            "(the default) %s s, %s regions/s, %s of the ceiling, NetBox CPU %s ms per region." % (
                _run_line(name, results), _n(world["regions"], 0), len(untagged["seconds"]),
                ", the sync with `concurrency: %d`" % concurrency if concurrency else "", _n(untagged["median"]),
                _n(untagged["regions_per_second"]), _n(untagged["regions_per_second"] / best, 2), _n(best),
                _n(untagged["netbox_cpu_ms_per_region"]), _n(world["first_import_median"]),
                _n(world["first_import_regions_per_second"]), _n(world["first_import_regions_per_second"] / best, 2),
                _n(world["first_import_netbox_cpu_ms_per_region"])))


BLOCKS = {"releases": block_releases, "ownership": block_ownership, "how-fast": block_how_fast, "latest-run": block_latest_run,
          "history": block_history, "memory": block_memory, "sites": block_sites, "payload": block_payload,
          "cities500": block_cities500, "follow": block_follow, "fresh-test": block_fresh_test}


def render_text(text, runs) -> str:
    def replace(match):
        name = match.group(2)
        if name not in BLOCKS:
            raise ValueError("unknown benchmark block %r" % name)
        return match.group(1) + BLOCKS[name](runs).rstrip("\n") + "\n" + match.group(4)
    return BLOCK.sub(replace, text)


def render_documents(repo=REPO, runs=None, write=False) -> list:
    """The documents whose blocks differ from their rendering (rewritten when `write`)."""
    runs = load_runs() if runs is None else runs
    stale = []
    for relative in DOCUMENTS:
        path = os.path.join(repo, relative)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        rendered = render_text(text, runs)
        if rendered != text:
            stale.append(relative)
            if write:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(rendered)
    return stale


def main(argv) -> int:
    if argv not in (["--render"], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    stale = render_documents(write=argv == ["--render"])
    if argv == ["--check"] and stale:
        print("benchmark figures out of date in %s: run python benchmarks/report.py --render" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
