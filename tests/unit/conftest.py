# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit test configuration: the ``fuzz`` marker.

Tests marked ``fuzz`` are the long hypothesis runs (many more examples than the normal
run). They are left out unless asked for: ``-m fuzz`` (or any -m expression naming fuzz)
or the environment variable GEOFOSS_FUZZ=1; `make test` runs them as its fuzz stage:
    bash scripts/test fuzz
"""

from __future__ import annotations

import os


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: long hypothesis runs, left out unless -m fuzz or GEOFOSS_FUZZ=1")


def fuzz_wanted(config) -> bool:
    return "fuzz" in (config.getoption("markexpr", "") or "") or os.environ.get("GEOFOSS_FUZZ") == "1"


def pytest_collection_modifyitems(config, items):
    if fuzz_wanted(config):
        return
    deselected = [item for item in items if item.get_closest_marker("fuzz")]
    if deselected:
        items[:] = [item for item in items if not item.get_closest_marker("fuzz")]
        config.hook.pytest_deselected(items=deselected)
