# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Progress of a long run, shared by geo_transform, netbox_geo_sync and netbox_geo_sites."""

    DOCUMENTATION = r"""
options:
  progress_file:
    description:
      - Write the run's progress (phase, done, total, times) to this JSON file while it runs,
        at most once a second. The module's action plugin reads it and prints a line such as
        C(create 12,400 / 34,856 regions, 38/s, about 9 min left) every O(progress_interval)
        seconds, in the terminal and, under ansible-runner (AWX), as job events; the file is
        removed at the end.
      - Lines are printed only where the module runs on the controller (C(ansible_connection=local),
        as the collection's playbooks run it) and not with C(async).
    type: path
  progress_interval:
    description:
      - Seconds between two progress lines, and before the first one, so a run shorter than
        this prints nothing extra. V(0) prints none (the file is still written).
      - Read by the module's action plugin on the controller.
    type: int
    default: 15
"""
