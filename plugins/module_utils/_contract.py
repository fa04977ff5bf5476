# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names shared by more than one part of the collection, each defined once.

What NetBox sees (the identity custom field, the default ownership tag) and what a
dataset file promises its readers (the polygons side files written next to it). The
public ones are in the design contract: extend, never rename.
"""

from __future__ import annotations

# The custom field on dcim.region that carries a region's identity (a node's geo_source_id).
SOURCE_FIELD = "geo_source_id"
# The tag that marks the regions (and sites) the collection manages, unless managed_tag says otherwise.
DEFAULT_MANAGED_TAG = "geo-managed"

# Polygons side files: their keys in a dataset header's side_files, and the suffix
# geo_transform appends to the dataset's file name.
ADMIN1_POLYGONS = "admin1_polygons"
ADMIN0_POLYGONS = "admin0_polygons"
CUSTOM_POLYGONS = "custom_polygons"  # a team's own places (geo_transform's own_places)
POLYGONS_SUFFIXES = {ADMIN1_POLYGONS: ".admin1.geojson", ADMIN0_POLYGONS: ".admin0.geojson",
                     CUSTOM_POLYGONS: ".custom.geojson"}

# A run's map (geo_map's size, netbox_geo_sync's map.size): width and height in pixels.
MAP_SIZE = (1600, 900)
