# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """HTTP behaviour shared by every module that makes requests."""

    DOCUMENTATION = r"""
options:
  retries:
    description:
      - How many times a failed request is retried (connection errors, 408, 425, 429,
        500, 502, 503, 504), with exponential backoff and full jitter, honouring
        C(Retry-After). Writes are retried only where a retry cannot duplicate them.
    type: int
    default: 5
  rate_limit:
    description:
      - Requests per second at most (a token bucket); C(0) means no limit.
    type: float
    default: 0
"""
