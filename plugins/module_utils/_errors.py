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

from ansible_collections.geofoss.netbox.plugins.module_utils._common import redact


class GeoFossError(Exception):
    """A failure with a message for the user and, optionally, a partial result."""

    def __init__(self, message, result=None, secrets=()):
        self.message = redact(message, secrets)
        self.result = dict(result or {})
        super().__init__(self.message)

    def fail(self, module, **extra):
        """End `module` with this error: ``fail_json(msg=..., **partial result)``."""
        module.fail_json(msg=self.message, **dict(self.result, **extra))
