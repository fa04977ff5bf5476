# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of a long run, for people watching a terminal or an AWX job log.

A module cannot print while it runs, so it writes small JSON snapshots to a progress file
(``Progress``: at most one write a second, atomically, the phase, done, total and the
times); the collection's action plugin runs the module and reads that file meanwhile,
printing a line now and then (``ProgressReporter``):

    create 12,400 / 34,856 regions, 38/s, about 9 min left

Nothing is printed before a run has lasted one interval, so a short run prints nothing extra.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ansible_collections.geofoss.netbox.plugins.module_utils._io import write_bytes

PROGRESS_KIND = "geofoss.netbox/progress"
WRITE_EVERY = 1.0  # seconds between two writes of the progress file (phase changes are written at once)
DEFAULT_INTERVAL = 15  # seconds between two printed lines, and before the first
Item = TypeVar("Item")


class Progress:
    """The module's side: phases and counts, written to `path` now and then (thread-safe:
    the sync's write streams advance it from several threads)."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time, write_every: float = WRITE_EVERY,
                 write: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.path = path
        self.clock = clock
        self.write_every = write_every
        self._write = write or _write_json
        self._lock = threading.Lock()
        self._written: float | None = None
        self.state: dict[str, Any] = {
            "kind": PROGRESS_KIND, "started": clock(), "phase": None, "unit": None, "done": 0, "total": None,
            "phase_started": None, "updated": None, "finished": False}

    def phase(self, name: str, total: int | None = None, unit: str = "regions") -> None:
        """A new phase (create, update, read, ...); `total` None when it is not known yet."""
        with self._lock:
            now = self.clock()
            self.state.update(phase=name, unit=unit, done=0, total=total, phase_started=now)
            self._flush(now, force=True)

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.state["done"] += count
            self._flush(self.clock())

    def finish(self) -> None:
        with self._lock:
            self.state["finished"] = True
            self._flush(self.clock(), force=True)

    def _flush(self, now: float, force: bool = False) -> None:
        if not force and self._written is not None and now - self._written < self.write_every:
            return
        self.state["updated"] = now
        self._written = now
        try:
            self._write(self.path, self.state)
        except OSError:
            pass  # progress is for people watching; a full disk must not end the run


class NoProgress:
    """Progress that goes nowhere (no progress file asked for)."""

    def phase(self, name: str, total: int | None = None, unit: str = "regions") -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


def counted(items: Iterable[Item], progress: Progress | NoProgress, every: int = 1000) -> Iterator[Item]:
    """`items`, passed through, advancing `progress` every `every` items (and by the rest at
    the end), so a loop over 200,000 rows pays for 200 advances."""
    pending = 0
    for item in items:
        yield item
        pending += 1
        if pending == every:
            progress.advance(pending)
            pending = 0
    if pending:
        progress.advance(pending)


def progress_to(path: str | None, clock: Callable[[], float] = time.time) -> Progress | NoProgress:
    """A Progress writing to `path`, or a NoProgress without one."""
    return Progress(path, clock=clock) if path else NoProgress()


def _write_json(path: str, state: dict[str, Any]) -> None:
    write_bytes(path, json.dumps(state, sort_keys=True).encode("utf-8"))


def read_progress(path: str) -> dict[str, Any] | None:
    """The last snapshot, or None (not written yet, or being replaced)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == PROGRESS_KIND else None


def _count(number: float) -> str:
    return "{:,}".format(int(number))


def _time_left(seconds: float) -> str:
    if seconds < 90:
        return "about %d s left" % max(1, round(seconds))
    if seconds < 90 * 60:
        return "about %d min left" % round(seconds / 60)
    return "about %.1f h left" % (seconds / 3600)


def progress_line(snapshot: dict[str, Any] | None) -> str | None:
    """ "create 12,400 / 34,856 regions, 38/s, about 9 min left", from one snapshot."""
    if not snapshot or not snapshot.get("phase"):
        return None
    done, total, unit = snapshot.get("done") or 0, snapshot.get("total"), snapshot.get("unit") or ""
    if not done and not total:  # a phase that is one step (reading, planning): its name
        return ("%s %s" % (snapshot["phase"], unit)).strip()
    text = "%s %s" % (snapshot["phase"], _count(done))
    if total:
        text += " / %s" % _count(total)
    text += " %s" % unit if unit else ""
    elapsed = (snapshot.get("updated") or 0) - (snapshot.get("phase_started") or 0)
    if done and elapsed > 0:
        rate = done / elapsed
        text += ", %s/s" % ("%.0f" % rate if rate >= 10 else "%.1f" % rate)
        if total and total > done:
            text += ", " + _time_left((total - done) / rate)
    return text


class ProgressReporter:
    """The controller's side: which snapshots become printed lines. Silent for the first
    `interval` seconds of a run, then a line at most every `interval` seconds, and only
    when something moved."""

    def __init__(self, interval: float = DEFAULT_INTERVAL, started: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.started = clock() if started is None else started
        self.last_printed = self.started
        self.last_line: str | None = None

    def poll(self, snapshot: dict[str, Any] | None) -> str | None:
        now = self.clock()
        if self.interval <= 0 or now - self.last_printed < self.interval:
            return None
        line = progress_line(snapshot)
        if line is None or line == self.last_line:
            return None
        self.last_printed, self.last_line = now, line
        return line


def remove_progress(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
