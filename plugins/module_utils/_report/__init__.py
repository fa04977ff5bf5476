# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's map (``map.py``, which needs matplotlib) and the checks of its options that
need no drawing library, so a bad option fails before a run starts."""

from __future__ import annotations

from collections.abc import Sequence

MIN_MAP_SIZE = (200, 150)  # smaller, the legend and the title cover the map


def map_size_problem(size: Sequence[int] | None) -> str | None:
    """What is wrong with a map's size ([width, height] in pixels), or None."""
    if size is None:
        return None
    if len(size) != 2:
        return "size must be [width, height], got %s" % (list(size),)
    width, height = int(size[0]), int(size[1])
    if width < MIN_MAP_SIZE[0] or height < MIN_MAP_SIZE[1]:
        return "the map must be at least %d x %d pixels, got %d x %d" % (MIN_MAP_SIZE + (width, height))
    return None
