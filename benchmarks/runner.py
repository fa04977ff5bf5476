# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs one benchmark playbook: wall time, the task times from the bench_timer
callback, and the peak resident memory of the largest process it started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOKS = os.path.join(HERE, "playbooks")

# A fresh parent per run, so that RUSAGE_CHILDREN's ru_maxrss (the largest RSS of any
# descendant it waited for: ansible-playbook, its workers, the module process) and its
# CPU time (all of them together) are this run's. CPU seconds do not depend on how busy
# the machine is; wall seconds do.
_RUSAGE_WRAPPER = """
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    out.write("%d %.3f" % (usage.ru_maxrss, usage.ru_utime + usage.ru_stime))
sys.exit(rc)
"""


class PlaybookFailed(RuntimeError):
    pass


class PlaybookRunner:
    """ansible-playbook from a given venv, with the benchmark's callback, in a scratch folder."""

    def __init__(self, workdir: str, secrets=()):
        self.workdir = workdir
        self.secrets = [s for s in secrets if s]
        self._number = 0

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def run(self, venv_bin: str, playbook: str, variables: dict, label: str, main_task: str | None = None) -> dict:
        """Run a playbook; the result's task_seconds and result are those of `main_task` (a task
        name), by default of the last task; "tasks" has every task's seconds by name."""
        self._number += 1
        stem = os.path.join(self.workdir, "run%03d-%s" % (self._number, label))
        vars_file, timer_file, usage_file, log_file = (stem + suffix for suffix in (".vars.json", ".timer.json",
                                                                                   ".rusage", ".log"))
        # the vars file holds the token: private to this user, inside the scratch folder
        with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            json.dump(variables, handle)
        env = dict(os.environ, BENCH_TIMER_OUT=timer_file, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_timer", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
                   PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""))
        command = [sys.executable, "-c", _RUSAGE_WRAPPER, usage_file, os.path.join(venv_bin, "ansible-playbook"),
                   os.path.join(PLAYBOOKS, playbook), "-e", "@" + vars_file]
        started = time.perf_counter()
        with open(log_file, "w", encoding="utf-8") as log:
            rc = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        wall = time.perf_counter() - started
        try:
            with open(timer_file, encoding="utf-8") as handle:
                tasks = json.load(handle)["tasks"]
        except (OSError, ValueError):
            tasks = []
        with open(log_file, encoding="utf-8", errors="replace") as handle:
            log_tail = self._redact(handle.read()[-3000:])
        if rc != 0:
            raise PlaybookFailed("%s (%s) failed with exit %d; the end of its output:\n%s" % (label, playbook, rc, log_tail))
        with open(usage_file, encoding="utf-8") as handle:
            peak_kib, cpu_seconds = handle.read().split()
        main = next((t for t in tasks if t.get("name") == main_task), None) if main_task else None
        main = main or (tasks[-1] if tasks else {})
        return {
            "label": label,
            "wall_seconds": round(wall, 3),
            "task_seconds": main.get("seconds"),
            "tasks": {t.get("name"): t.get("seconds") for t in tasks},
            "item_ends": main.get("item_ends", []),
            "result": main.get("result", {}),
            "peak_rss_mib": round(int(peak_kib) / 1024.0, 1),
            "cpu_seconds": round(float(cpu_seconds), 2),
        }
