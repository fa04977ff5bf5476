# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark callback: the wall time of every task and a small part of its result,
written as JSON to the file named by BENCH_TIMER_OUT when the playbook ends.

The benchmark times tasks, not ansible-playbook start-up, so that a loop of one
module per region and one bulk module are compared on the work they do.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: task wall times for the geofoss.netbox benchmark
description:
  - Writes each task's duration, changed/failed state and result summary to the file in BENCH_TIMER_OUT.
requirements:
  - the environment variable BENCH_TIMER_OUT
"""

# result keys worth keeping (a loop's per-item results are reduced to counts)
KEPT_KEYS = ("changed", "failed", "msg", "summary", "http", "duration", "counts", "sha256", "dest",
             "plan_file", "impact", "timings", "warnings", "warnings_list", "map")


def _summary(result: dict) -> dict:
    kept = {key: result[key] for key in KEPT_KEYS if key in result}
    items = result.get("results")
    if isinstance(items, list):
        kept["items"] = len(items)
        kept["items_changed"] = sum(1 for item in items if isinstance(item, dict) and item.get("changed"))
        kept["items_failed"] = sum(1 for item in items if isinstance(item, dict) and item.get("failed"))
        failures = [item.get("msg") for item in items if isinstance(item, dict) and item.get("failed")]
        if failures:
            kept["first_failure"] = str(failures[0])[:1000]
    return kept


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._tasks = []
        self._current = None

    def _close_current(self):
        if self._current is not None and "end" not in self._current:
            self._current["end"] = time.time()
            self._current["seconds"] = round(self._current["end"] - self._current["start"], 3)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_current()
        self._current = {"name": task.get_name(), "start": time.time()}
        self._tasks.append(self._current)

    def _record(self, result, failed=False):
        if self._current is None:
            return
        self._close_current()
        summary = _summary(result._result)
        summary["failed"] = bool(failed or summary.get("failed"))
        self._current["result"] = summary

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result)

    def v2_runner_item_on_ok(self, result):
        # when each loop item finished: whether a loop's per-item cost is steady over the loop
        if self._current is not None:
            self._current.setdefault("item_ends", []).append(round(time.time() - self._current["start"], 3))

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        path = os.environ.get("BENCH_TIMER_OUT")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"tasks": self._tasks}, handle, default=str)
