# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind the long-running modules: it runs the module and, while it
runs, reads the progress file the module writes and prints a line now and then.

Printed through Ansible's Display, so the lines reach the terminal of ansible-playbook
and, under ansible-runner (AWX, Automation Controller), become job events of their own.
Only where the module runs on the controller (connection local), which is how the
collection's playbooks and roles run it; elsewhere, with ``async``, or without a
``progress_file``, the module runs as usual and prints nothing extra.
"""

from __future__ import annotations

import os
import threading

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.geofoss.netbox.plugins.module_utils._progress import (
    DEFAULT_INTERVAL, ProgressReporter, read_progress, remove_progress,
)

display = Display()
POLL_SECONDS = 1.0  # how often the progress file is read; lines are printed every progress_interval
LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")


class ProgressAction(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # no longer used
        args = self._task.args
        path = args.get("progress_file")
        try:
            interval = float(args.get("progress_interval", DEFAULT_INTERVAL))
        except (TypeError, ValueError):
            interval = DEFAULT_INTERVAL  # the module's argument check names the bad value
        watch = (path and interval > 0 and not self._task.async_val
                 and self._connection.transport in LOCAL_CONNECTIONS)
        if not watch:
            return merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=self._task.async_val))
        path = os.path.expanduser(str(path))
        remove_progress(path)  # a file left by an earlier run must not be shown as this one's
        outcome = {}

        def run_module():
            try:
                outcome["result"] = self._execute_module(task_vars=task_vars)
            except BaseException as exc:  # re-raised in the task's own thread below
                outcome["error"] = exc

        worker = threading.Thread(target=run_module, name="geofoss-module", daemon=True)
        worker.start()
        reporter = ProgressReporter(interval)
        label = self._task.action.rsplit(".", 1)[-1]
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            line = reporter.poll(read_progress(path))
            if line:
                display.display("%s: %s" % (label, line))
        remove_progress(path)
        if "error" in outcome:
            raise outcome["error"]
        return merge_hash(result, outcome["result"])
