# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's verdicts against the issue's targets, and the Markdown report."""

from __future__ import annotations

# issue 8's targets
FIRST_IMPORT_SPEEDUP = 40.0      # world first import vs netbox.netbox at its per-region rate
RERUN_SPEEDUP = 200.0            # world no-change re-run vs the same
CEILING_FRACTION = 0.85          # sync write throughput / raw concurrent bulk-POST ceiling
CITIES_RERUN_SECONDS = 30.0      # the ~37,000-region no-change re-run
TRANSFORM_SECONDS = 60.0         # 234,908 cities
PEAK_RSS_MIB = 512.0
FOLLOW_OVERHEAD_PERCENT = 2.0    # progress and the map, against the same world import without them


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
    if loop and world:
        per_region = loop["netbox_netbox"]
        verdicts.append(_verdict(per_region["create_seconds_per_region"] * world["regions"] / world["first_import_median"],
                                 FIRST_IMPORT_SPEEDUP, True, "world first import: speed-up over netbox.netbox"))
        verdicts.append(_verdict(per_region["rerun_seconds_per_region"] * world["regions"] / world["rerun_median"],
                                 RERUN_SPEEDUP, True, "world no-change re-run: speed-up over netbox.netbox"))
    if world and ceiling:
        verdicts.append(_verdict(world["first_import_regions_per_second"] / ceiling["best_regions_per_second"],
                                 CEILING_FRACTION, True, "world first import: fraction of the raw bulk-POST ceiling"))
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
        "Machine: %s, %s CPUs, %s GiB; load average at start %s, at end %s (shared, busy machine)." % (
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
                       "%s regions/s; runs %s; CPU %s; gunicorn worker CPU %s s"
                       % (stage["first_import_regions_per_second"], stage["first_import_seconds"],
                          _s(stage.get("first_import_cpu_seconds")),
                          " / ".join(str(s) for s in stage.get("first_import_worker_cpu_seconds") or []) or "-")),
                  _row("no-change re-run (median)", _s(stage["rerun_median"]), stage["rerun_summary"]),
                  _row("update to the 2025-11 admin1 release (prune on)", _s(stage["update_seconds"]),
                       stage["update_summary"]),
                  _row("prune of %s" % ", ".join(stage["pruned_countries"]), _s(stage["prune_seconds"]),
                       stage["prune_summary"]),
                  "", "Peak RSS of the largest process: %.0f MiB." % stage["peak_rss_mib"], ""]
    ceiling = stages.get("ceiling")
    if ceiling:
        lines += ["## Raw bulk-POST ceiling, %d regions, batches of %d" % (ceiling["regions"], ceiling["batch_size"]), "",
                  _row("streams", "seconds", "regions/s", "gunicorn worker CPU s"), _row("---", "---", "---", "---")]
        lines += [_row(streams, _s(r["seconds"]), r["regions_per_second"],
                       " / ".join(str(s) for s in r.get("worker_cpu_seconds") or []) or "-")
                  for streams, r in ceiling["by_streams"].items()]
        lines.append("")
    memory = stages.get("memory")
    if memory:
        lines += ["## Memory: derived-cities500, %d nodes" % memory["regions"], "",
                  _row("step", "seconds", "peak RSS"), _row("---", "---", "---"),
                  _row("geo_transform", "%s (CPU %s)" % (_s(memory["transform_seconds"]), _s(memory.get("transform_cpu_seconds"))),
                       _s(memory["transform_peak_rss_mib"], " MiB")),
                  _row("check-mode sync plan (%d regions in NetBox)" % memory["regions_in_netbox_during_plan"],
                       "%s (CPU %s)" % (_s(memory["plan_seconds"]), _s(memory.get("plan_cpu_seconds"))),
                       _s(memory["plan_peak_rss_mib"], " MiB")), ""]
    follow = stages.get("follow")
    if follow:
        lines += ["## Following a run: progress and the map, world first import (%d regions), %d pair(s)"
                  % (follow["regions"], follow["pairs"]), "",
                  _row("run", "sync task seconds (median)", "map seconds (median)"), _row("---", "---", "---"),
                  _row("without progress and map", _s(follow["plain_median"]), "-"),
                  _row("with progress (a line every 15 s) and the map", _s(follow["followed_sync_median"]),
                       _s(follow["map_median"])),
                  "", "Overhead: %.2f %%." % follow["overhead_percent"], ""]
    verdicts = results.get("targets") or []
    if verdicts:
        lines += ["## Targets", "", _row("target", "measured", "limit", "verdict"), _row("---", "---", "---", "---")]
        for v in verdicts:
            verdict = "n/a" if v["pass"] is None else ("pass" if v["pass"] else "FAIL")
            lines.append(_row(v["what"], v["value"], v["target"], verdict))
        lines.append("")
    return "\n".join(lines)
