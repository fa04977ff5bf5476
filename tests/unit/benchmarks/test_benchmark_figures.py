# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark figures of README.md and docs/ are what benchmarks/report.py renders from
the results files the benchmarks wrote: none typed by hand, none out of date."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("benchmark_report", REPO / "benchmarks" / "report.py")
report = importlib.util.module_from_spec(_spec)
sys.modules["benchmark_report"] = report
_spec.loader.exec_module(report)


def test_the_docs_hold_the_rendered_figures():
    stale = report.render_documents(repo=str(REPO))
    assert stale == [], "run: python benchmarks/report.py --render (out of date: %s)" % stale


def test_every_block_of_the_docs_is_known_and_rendered_somewhere():
    used = set()
    for relative in report.DOCUMENTS:
        used.update(match.group(2) for match in report.BLOCK.finditer((REPO / relative).read_text(encoding="utf-8")))
    assert used == set(report.BLOCKS)


def test_only_files_a_benchmark_wrote_are_read():
    names = [name for name, _results in report.load_runs()]
    assert names and all(report.RUN_FILE.match(name) for name in names)
    for name, results in report.load_runs():
        # bench.py and sites_placement.py write these; a hand-made file would lack them
        assert {"started", "machine", "load_average_start"} <= set(results), name


def test_fresh_machine_files_are_the_ones_benchmarks_fresh_machine_wrote():
    for name, results in report.load_fresh():
        assert report.FRESH_FILE.match(name)
        assert {"commit", "system", "machine", "load_average_start", "runs"} <= set(results), name


def test_a_fresh_machine_run_renders_both_times_and_a_failed_run_says_so(tmp_path):
    assert report.block_fresh_test([], str(tmp_path)).startswith("*To be measured:* `make benchmark-fresh`")
    results = {"kind": "fresh_machine", "commit": "0123456789abcdef",
               "system": {"debian": "Debian GNU/Linux 12 (bookworm)", "suite": "bookworm", "variant": "minbase",
                          "pythons": "~/.pyenv versions 3.11 and later"},
               "machine": {"cpus": 2, "memory_gib": 23.5, "kernel": "6.1"},
               "load_average_start": [0.1, 0.2, 0.3], "load_average_end": [1.5, 1.2, 1.0],
               "runs": [{"run": "first", "seconds": 3001.4, "exit_status": 0, "closing_line": "9 passed, 0 failed, 1 skipped"},
                        {"run": "second", "seconds": 1500, "exit_status": 0, "closing_line": "9 passed, 0 failed, 1 skipped"}]}
    (tmp_path / "fresh-20260101T000000Z.json").write_text(json.dumps(results))
    text = report.block_fresh_test([], str(tmp_path))
    assert "first run **50 min 01 s**" in text and "second run **25 min 00 s**" in text
    assert "`benchmarks/results/fresh-20260101T000000Z.json`" in text and "commit `0123456789ab`" in text
    results["runs"][1].update(exit_status=1, closing_line="8 passed, 1 failed, 1 skipped")
    (tmp_path / "fresh-20260102T000000Z.json").write_text(json.dumps(results))
    text = report.block_fresh_test([], str(tmp_path))
    assert "second run failed after 25 min 00 s (exit status 1: `8 passed, 1 failed, 1 skipped`)" in text


def test_a_block_without_its_measurement_says_what_to_run(tmp_path):
    assert report.block_sites([]).startswith("*To be measured:* `bash benchmarks/run sites`")
    assert "To be measured" in report.block_how_fast([])


def test_the_loop_is_compared_only_when_measured_in_the_same_run_and_steady():
    steady = {"create": {"steady": True}, "rerun": {"steady": True}}
    assert report.loop_comparable({"steadiness": steady})
    assert not report.loop_comparable({"steadiness": steady, "reused_from": "benchmarks/results/x.json"})
    assert not report.loop_comparable({"steadiness": dict(steady, rerun={"steady": False})})
    assert not report.loop_comparable({})  # measured before steadiness was recorded


def test_a_block_is_replaced_whole_and_unknown_blocks_are_refused():
    text = "a\n<!-- benchmark:memory -->\nold figure 12.2 s\n<!-- /benchmark:memory -->\nb\n"
    rendered = report.render_text(text, [])
    assert "12.2" not in rendered and "bash benchmarks/run --only memory" in rendered
    assert rendered.startswith("a\n<!-- benchmark:memory -->\n") and rendered.endswith("<!-- /benchmark:memory -->\nb\n")
    with pytest.raises(ValueError, match="unknown benchmark block 'nope'"):
        report.render_text("<!-- benchmark:nope -->\n<!-- /benchmark:nope -->", [])


def test_a_sites_results_file_renders(tmp_path):
    run = {"timings": {"read": 1.5, "plan": 0.3, "write": 0.0}, "module_duration": 2.0, "requests": 13,
           "summary": {"updated": 10}}
    results = {"started": "2026-01-01T00:00:00Z", "machine": {"cpus": 2}, "load_average_start": [1.0],
               "load_average_end": [1.5], "netbox": {"version": "4.7.3"}, "sites": 10, "site_create_rate": 50.0,
               "place_worker_cpu_seconds": [0.1, 0.08],
               "runs": {"check_mode": run, "place": dict(run, module_duration=3.0), "rerun": run}}
    path = tmp_path / "sites-20260101T000000Z.json"
    path.write_text(json.dumps(results))
    text = report.block_sites(report.load_runs(str(tmp_path)))
    assert "| first placement | 3.0 |" in text and "18 ms of worker CPU on each site" in text
    assert re.search(r"load average 1\.00 at the start, 1\.50 at the end", text)


def test_a_per_release_series_renders_one_row_per_release_and_stays_out_of_the_single_run_blocks(tmp_path):
    def run(version, started, seconds):
        return {"started": started, "series": "20260101T000000Z", "machine": {"cpus": 2},
                "load_average_start": [1.0], "load_average_end": [2.0],
                "netbox": {"version": version, "gunicorn_workers": 2, "gunicorn_threads": 3},
                "stages": {"world": {"regions": 4137, "first_import_median": seconds, "rerun_median": 3.0,
                                     "first_import_regions_per_second": round(4137 / seconds, 1),
                                     "update_seconds": seconds / 20, "prune_seconds": seconds / 10,
                                     "update_summary": {"create": 32, "update": 11, "delete": 53, "unchanged": 4071},
                                     "prune_summary": {"create": 0, "update": 0, "delete": 354, "unchanged": 3760}},
                           "ceiling": {"best_regions_per_second": 50.0, "by_streams": {"1": {}, "2 fresh": {}}}}}
    for version, started, seconds in (("4.7.3", "20260101T000000Z", 90.0), ("4.4.10", "20260101T003000Z", 400.0)):
        (tmp_path / ("%s.json" % started)).write_text(json.dumps(run(version, started, seconds)))
    runs = report.load_runs(str(tmp_path))
    text = report.block_releases(runs)
    rows = [line for line in text.splitlines() if line.startswith("| 4.")]
    assert [row.split(" | ")[0] for row in rows] == ["| 4.4.10", "| 4.7.3"]  # by release, not by time
    assert "400.0 s, 10.3 regions/s | 3.0 s | 20.0 s | 40.0 s |" in rows[0] and "| 0.21 |" in rows[0]
    assert "release change (32 created, 11 updated, 53 deleted) | prune (354 deleted)" in text
    assert "best of 1/2 streams" in text
    assert report._latest(runs, "world")[1]["netbox"]["version"] == "4.7.3"  # pylint: disable=protected-access
    assert "(NetBox 4.4.10)" in report.block_history(runs)
    assert report.block_releases([]).startswith("*To be measured:* `bash benchmarks/run --netbox-versions")


def _bench_run(stages):
    return {"started": "2026-01-01T00:00:00Z", "machine": {"cpus": 2}, "load_average_start": [1.0],
            "load_average_end": [1.5], "netbox": {"version": "4.7.3"}, "stages": stages}


def test_a_payload_stage_renders_its_cost_per_variant_and_tree_size(tmp_path):
    def variants(bare, unique):
        return {"bare": {"adds": "name, slug, parent", "cpu_ms_per_region": bare},
                "unique": {"adds": "+ geo_source_id unique", "cpu_ms_per_region": unique}}
    payload = {"batch_size": 200, "rounds": 2, "load_average_start": [0.5], "load_average_end": [0.7],
               "scales": {"world": {"regions_in_netbox": 4137, "sample": 1000, "variants": variants(20.0, 24.5)},
                          "cities": {"regions_in_netbox": 34856, "sample": 1000, "variants": variants(20.5, 61.25)}},
               "sites": {"sites": 1000, "variants": {"region": {"adds": "region", "cpu_ms_per_site": 17.0}}}}
    (tmp_path / "20260101T000000Z.json").write_text(json.dumps(_bench_run({"payload": payload})))
    text = report.block_payload(report.load_runs(str(tmp_path)))
    assert "| `unique` | + geo_source_id unique | 24.5 (1.23 x bare) | 61.2 (2.99 x bare) |" in text
    assert "| `bare` | name, slug, parent | 20.0 | 20.5 |" in text
    assert "cities tree (34,856 regions)" in text and "| `region` | region | 17.0 |" in text
    assert "Load average 0.50 at the start, 0.70 at the end during this stage." in text
    assert report.block_payload([]).startswith("*To be measured:* `bash benchmarks/run --only ceiling,payload,")


def test_a_cities500_stage_cut_to_some_countries_is_never_quoted(tmp_path):
    stage = {"regions": 239045, "countries": [], "first_import_seconds": 5000.0, "first_import_regions_per_second": 47.8,
             "first_import_netbox_cpu_ms_per_region": 30.5, "first_import_peak_rss_mib": 400.0,
             "rerun_seconds": 80.0, "rerun_peak_rss_mib": 350.0, "rerun_summary": {"unchanged": 239045}}
    (tmp_path / "20260101T000000Z.json").write_text(json.dumps(_bench_run({"cities500": stage})))
    text = report.block_cities500(report.load_runs(str(tmp_path)))
    assert "239,045 regions" in text and "| first import | 5,000.0 | 47.8 regions/s" in text
    assert "| no-change re-run | 80.0 | peak RSS 350 MiB" in text
    (tmp_path / "20260101T000000Z.json").write_text(json.dumps(_bench_run({"cities500": dict(stage, countries=["MT"])})))
    assert "To be measured" in report.block_cities500(report.load_runs(str(tmp_path)))


def test_a_follow_stage_renders_each_pair_and_its_median_against_the_target(tmp_path):
    follow = {"regions": 4135, "pairs": 2, "polygons": "ne_110m_admin_0_countries.zip",
              "plain_sync_seconds": [40.0, 38.0], "followed_sync_seconds": [40.2, 38.1], "map_seconds": [0.6, 0.62],
              "plain_cpu_seconds": [9.0, 9.2], "followed_cpu_seconds": [10.0, 10.4],
              "plain_median": 39.0, "followed_sync_median": 39.15, "map_median": 0.61,
              "pair_overhead_percent": [2.0, 1.89], "overhead_of_medians_percent": 1.95, "overhead_percent": 1.95}
    (tmp_path / "20260101T000000Z.json").write_text(json.dumps(_bench_run({"follow": follow})))
    text = report.block_follow(report.load_runs(str(tmp_path)))
    assert "2 pair(s), outlines `ne_110m_admin_0_countries.zip`" in text
    assert "| without progress and map | 40.0, 38.0 | 39.0 | - | 9.1 |" in text
    assert "2.00 %, 1.89 %; **median 1.95 %** against the target of 2 %" in text
    assert "during this stage" not in text  # a run of this stage alone: its load is the run's
    # the client's added CPU (10.2 - 9.1 s) against the import without (39.0 s), and its verdict
    assert "spread by 5 %" in text and "is **2.82 %** of the import" in text
    verdicts = {v["what"]: v for v in report.evaluate_targets({"stages": {"follow": follow}})}
    assert verdicts["world first import: the client work progress and map add, percent"]["pass"] is False
    assert verdicts["world first import: progress and map overhead, percent"]["pass"] is True
    assert report.block_follow([]).startswith("*To be measured:* `bash benchmarks/run --only follow")


def test_the_ownership_block_sets_both_first_imports_beside_the_bare_ceiling_of_their_run(tmp_path):
    world = {"regions": 4135, "first_import_median": 38.0, "first_import_regions_per_second": 108.8,
             "first_import_netbox_cpu_ms_per_region": 13.6,
             "first_import_source_id": {"seconds": [22.0, 23.0], "median": 22.5, "regions_per_second": 183.8,
                                        "netbox_cpu_ms_per_region": 8.1}}
    ceiling = {"payload": "bare", "best_regions_per_second": 190.0, "by_streams": {}}
    (tmp_path / "20260101T000000Z.json").write_text(json.dumps(_bench_run({"world": world, "ceiling": ceiling})))
    text = report.block_ownership(report.load_runs(str(tmp_path)))
    assert "with `ownership: source_id` 22.5 s, 183.8 regions/s, **0.97** of the ceiling of bare regions" in text
    assert "(190.0 regions/s" in text and "with the tag (the default) 38.0 s, 108.8 regions/s, 0.57" in text
    verdicts = {v["what"]: v for v in report.evaluate_targets({"stages": {"world": world, "ceiling": ceiling}})}
    untagged = verdicts["world first import with ownership source_id (no tag): fraction of the raw bulk-POST "
                        "ceiling of bare regions"]
    assert (untagged["value"], untagged["pass"]) == (0.967, True)
    assert verdicts["world first import: fraction of the raw bulk-POST ceiling of bare regions"]["pass"] is False
    assert report.block_ownership([]).startswith("*To be measured:* `bash benchmarks/run --only ceiling,world`")
    results = dict(_bench_run({"world": world, "ceiling": ceiling}), sync_options={"concurrency": 4})
    (tmp_path / "20260101T000000Z.json").write_text(json.dumps(results))
    assert "taking turns, the sync with `concurrency: 4`):" in report.block_ownership(report.load_runs(str(tmp_path)))


def test_the_history_names_the_worker_count_where_it_changes_from_the_row_above(tmp_path):
    def run(started, workers):
        return {"started": started, "load_average_start": [1.0], "load_average_end": [2.0],
                "netbox": {"version": "4.7.3", "gunicorn_workers": workers, "gunicorn_threads": 3},
                "stages": {"world": {"first_import_median": 40.0, "first_import_regions_per_second": 103.4}}}
    for started, workers in (("20260101T000000Z", 2), ("20260102T000000Z", 2), ("20260103T000000Z", 5),
                             ("20260104T000000Z", 5)):
        (tmp_path / ("%s.json" % started)).write_text(json.dumps(run(started, workers)))
    rows = report.block_history(report.load_runs(str(tmp_path))).splitlines()[2:]
    assert ["gunicorn workers" in row for row in rows] == [False, False, True, False]
    assert rows[2].startswith("| `20260103T000000Z` (5 gunicorn workers) |")
