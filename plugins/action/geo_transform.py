# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_transform runs through the progress action: lines while it runs (plugin_utils/progress_action.py)."""

from __future__ import annotations

from ansible_collections.geofoss.netbox.plugins.plugin_utils.progress_action import ProgressAction


class ActionModule(ProgressAction):
    pass
