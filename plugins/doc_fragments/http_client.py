# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """How requests are made: timeouts, retries, rate limit and TLS verification, shared by
    every module that makes HTTP requests (whatever the server)."""

    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - A CA bundle file to verify the server's certificate with.
    type: path
    required: false
  timeout:
    description:
      - Read timeout of one request, in seconds. The connect timeout is O(connect_timeout).
    type: float
    default: 60
  connect_timeout:
    description:
      - Connect timeout of one request, in seconds.
    type: float
    default: 10
  retries:
    description:
      - How many times a failed request is retried (connection errors, 408, 425, 429,
        500, 502, 503, 504), with exponential backoff and full jitter, honouring
        C(Retry-After) up to 120 seconds.
      - A write is sent at most O(retries) + 1 times, and sent again only where that
        cannot duplicate it.
    type: int
    default: 5
  rate_limit:
    description:
      - Requests per second at most (a token bucket); C(0) means no limit.
    type: float
    default: 0
"""
