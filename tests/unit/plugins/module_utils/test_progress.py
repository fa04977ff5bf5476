# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress: what the module writes (throttled, atomically) and what the controller prints
(nothing for a short run, a line per interval, only when something moved)."""

from __future__ import annotations

import json
import threading

from ansible_collections.geofoss.netbox.plugins.module_utils._progress import (
    NoProgress, Progress, ProgressReporter, progress_line, progress_to, read_progress,
)


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_the_line_names_the_phase_counts_rate_and_time_left():
    snapshot = {"phase": "create", "unit": "regions", "done": 12400, "total": 34856,
                "phase_started": 0.0, "updated": 12400 / 38.0}
    assert progress_line(snapshot) == "create 12,400 / 34,856 regions, 38/s, about 10 min left"
    assert progress_line(dict(snapshot, done=34000, updated=34000 / 38.0)) == \
        "create 34,000 / 34,856 regions, 38/s, about 23 s left"
    assert progress_line({"phase": "read", "unit": "regions", "done": 2000, "total": None,
                          "phase_started": 0.0, "updated": 4.0}) == "read 2,000 regions, 500/s"
    assert progress_line({"phase": "read", "unit": "rows", "done": 3, "total": None, "phase_started": 0.0,
                          "updated": 2.0}) == "read 3 rows, 1.5/s"
    assert progress_line({"phase": "plan", "unit": "", "done": 0, "total": None}) == "plan"
    assert progress_line({"phase": "read", "unit": "regions", "done": 0, "total": None}) == "read regions"
    assert progress_line(None) is None and progress_line({"phase": None}) is None


def test_the_module_writes_at_most_once_a_second_but_every_phase_change_at_once(tmp_path):
    clock, writes = Clock(), []
    progress = Progress(str(tmp_path / "p.json"), clock=clock, write=lambda path, state: writes.append(dict(state)))
    progress.phase("create", total=1000)
    for step in range(50):
        progress.advance(10)  # all at the same instant: no write
    assert [w["done"] for w in writes] == [0]
    clock.now += 1.0
    progress.advance(10)
    assert [w["done"] for w in writes] == [0, 510]
    progress.phase("update", total=3)
    progress.finish()
    assert [(w["phase"], w["done"], w["finished"]) for w in writes[2:]] == [("update", 0, False), ("update", 0, True)]


def test_the_file_is_whole_json_the_reader_understands(tmp_path):
    path = str(tmp_path / "p.json")
    progress = Progress(path)
    progress.phase("create", total=3)
    snapshot = read_progress(path)
    assert snapshot["phase"] == "create" and snapshot["total"] == 3
    (tmp_path / "other.json").write_text(json.dumps({"phase": "x"}))
    (tmp_path / "broken.json").write_text("{")
    assert read_progress(str(tmp_path / "other.json")) is None  # not a progress file
    assert read_progress(str(tmp_path / "broken.json")) is None
    assert read_progress(str(tmp_path / "missing.json")) is None


def test_threads_advancing_together_lose_no_count(tmp_path):
    progress = Progress(str(tmp_path / "p.json"), write=lambda path, state: None)
    progress.phase("create", total=8000)
    threads = [threading.Thread(target=lambda: [progress.advance() for step in range(2000)]) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert progress.state["done"] == 8000


def test_no_progress_file_no_writes(tmp_path):
    assert isinstance(progress_to(None), NoProgress)
    progress_to(None).phase("create", total=1)
    assert list(tmp_path.iterdir()) == []


def snapshot(done):
    return {"phase": "create", "unit": "regions", "done": done, "total": 100, "phase_started": 0.0,
            "updated": float(done)}


def test_a_short_run_prints_nothing_and_a_long_one_a_line_per_interval():
    clock = Clock(0.0)
    reporter = ProgressReporter(interval=10, clock=clock)
    printed = []
    for second in range(1, 36):
        clock.now = float(second)
        line = reporter.poll(snapshot(second))
        if line:
            printed.append((second, line))
    assert [second for second, line in printed] == [10, 20, 30]  # nothing in the first 10 s
    assert printed[0][1] == "create 10 / 100 regions, 1.0/s, about 2 min left"


def test_a_run_that_does_not_move_prints_no_repeated_line():
    clock = Clock(0.0)
    reporter = ProgressReporter(interval=5, clock=clock)
    clock.now = 5.0
    assert reporter.poll(snapshot(3))
    clock.now = 10.0
    assert reporter.poll(snapshot(3)) is None
    clock.now = 11.0
    assert reporter.poll(snapshot(4))


def test_interval_zero_is_silent():
    clock = Clock(0.0)
    reporter = ProgressReporter(interval=0, clock=clock)
    clock.now = 1000.0
    assert reporter.poll(snapshot(50)) is None
