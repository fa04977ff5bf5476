# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One difference tracker for ``--diff``, shared by netbox_geo_sync and netbox_geo_sites:
each change is added with a name and its before and after; the first `limit` are kept
for Ansible's diff callback, all of them are counted."""

from __future__ import annotations

from typing import Any


class DifferenceTracker:
    """The before/after of a run's changes, as Ansible's ``diff`` result key wants them."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.total = 0
        self._entries: list[tuple[str, Any, Any]] = []

    def add(self, name: str, before: Any, after: Any) -> None:
        self.total += 1
        if self.limit is None or len(self._entries) < self.limit:
            self._entries.append((name, before, after))

    @property
    def shown(self) -> int:
        return len(self._entries)

    def diff(self, before_header: str | None = None, after_header: str | None = None) -> dict[str, Any]:
        """``{"before": {name: before}, "after": {name: after}}`` plus the headers given."""
        result: dict[str, Any] = {"before": {name: before for name, before, _after in self._entries},
                                  "after": {name: after for name, _before, after in self._entries}}
        if before_header is not None:
            result["before_header"] = before_header
        if after_header is not None:
            result["after_header"] = after_header
        return result
