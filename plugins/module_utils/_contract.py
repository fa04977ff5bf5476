# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names shared by more than one part of the collection, each defined once.

What NetBox sees (the identity custom field, the default ownership tag) and what a
dataset file promises its readers (the polygons side files written next to it). The
public ones are in the design contract: extend, never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The custom field on dcim.region that carries a region's identity (a node's geo_source_id).
SOURCE_FIELD = "geo_source_id"
# The tag that marks the regions (and sites) the collection manages, unless managed_tag says otherwise.
DEFAULT_MANAGED_TAG = "geo-managed"
# What makes a region the collection's (netbox_geo_sync's, netbox_geo_sites' and geo_doctor's
# option ownership): the managed tag, or a geo_source_id alone. Without the tag a create costs
# NetBox about what a bare region does: the tag's many-to-many signal re-serialises every object
# and rewrites its change record (docs/sync.md, "Ownership without the tag").
OWNERSHIP_TAG = "tag"
OWNERSHIP_SOURCE_ID = "source_id"
OWNERSHIPS = (OWNERSHIP_TAG, OWNERSHIP_SOURCE_ID)


# Polygons side files: their keys in a dataset header's side_files, and the suffix
# geo_transform appends to the dataset's file name.
ADMIN1_POLYGONS = "admin1_polygons"
ADMIN0_POLYGONS = "admin0_polygons"
CUSTOM_POLYGONS = "custom_polygons"  # a team's own places (geo_transform's own_places)
POLYGONS_SUFFIXES = {ADMIN1_POLYGONS: ".admin1.geojson", ADMIN0_POLYGONS: ".admin0.geojson",
                     CUSTOM_POLYGONS: ".custom.geojson"}

# A run's map (geo_map's size, netbox_geo_sync's map.size): width and height in pixels.
MAP_SIZE = (1600, 900)


def managed_tag_of(params: Mapping[str, Any]) -> str | None:
    """The tag that marks the managed regions under a module's options; None under ownership source_id."""
    if (params.get("ownership") or OWNERSHIP_TAG) != OWNERSHIP_TAG:
        return None
    return params.get("managed_tag") or DEFAULT_MANAGED_TAG
