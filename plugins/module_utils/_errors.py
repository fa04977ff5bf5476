# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error base of the collection.

Every failure a user should read (bad input, a refused request, a run that stopped)
is a ``GeoFossError``: a message that names the cause, an optional partial result
(what was planned or applied before the failure), and ``fail(module)``, which ends an
Ansible module with both. Secrets given to the error never reach its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._common import redact


class GeoFossError(Exception):
    """A failure with a message for the user and, optionally, a partial result."""

    def __init__(self, message: object, result: Mapping[str, Any] | None = None, secrets: Iterable[str] = ()) -> None:
        self.message = redact(message, secrets)
        self.result: dict[str, Any] = dict(result or {})
        super().__init__(self.message)

    def fail(self, module: Any, **extra: Any) -> None:
        """End `module` with this error: its warnings through ``module.warn``, then
        ``fail_json(msg=..., **partial result)``."""
        result = dict(self.result, **extra)
        warnings = result.pop("warnings", None) or []
        for warning in warnings:
            module.warn(warning)
        if warnings:  # for reports, as exit_with_warnings returns them
            result["warnings_list"] = warnings
        module.fail_json(msg=self.message, **result)
