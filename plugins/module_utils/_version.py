# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's name and version, for User-Agent headers and provenance."""

from __future__ import annotations

COLLECTION_NAME = "geofoss.netbox"
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "%s/%s (+https://github.com/geofoss/netbox)" % (COLLECTION_NAME, COLLECTION_VERSION)
