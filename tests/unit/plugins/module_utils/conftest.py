# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared test helpers of this folder (scripted_http, geo_fixtures) stay importable by
plain name from the test folders below it (_netbox/, ...), which mirror module_utils."""

from __future__ import annotations

import os
import sys

HELPERS = os.path.dirname(os.path.abspath(__file__))
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)
