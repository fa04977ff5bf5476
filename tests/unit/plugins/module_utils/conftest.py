# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tests mirror plugins/module_utils (_sources/, _dataset/, ...); the shared helpers
(scripted_http, geo_fixtures, ...) stay here, importable from every subfolder."""

from __future__ import annotations

import os
import sys

HELPERS = os.path.dirname(os.path.abspath(__file__))
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
