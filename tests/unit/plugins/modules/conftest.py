# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module tests use the module_utils tests' helpers (the fake NetBox, the scripted server)."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
for helpers in (os.path.join(HERE, os.pardir, "module_utils"), os.path.join(HERE, os.pardir, "module_utils", "_netbox")):
    helpers = os.path.normpath(helpers)
    if helpers not in sys.path:
        sys.path.insert(0, helpers)
