# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Which regions are the collection's, shared by netbox_geo_sync, netbox_geo_sites and geo_doctor."""

    DOCUMENTATION = r"""
options:
  ownership:
    description:
      - What makes a region the collection's, that is, a region the sync may update, move or delete
        (and netbox_geo_sites may place sites in).
      - V(tag) - the regions carrying the tag O(managed_tag). A region with a C(geo_source_id) but
        without the tag is someone else's, taken over only with the sync's O(geofoss.netbox.netbox_geo_sync#module:adopt).
      - V(source_id) - every region with a C(geo_source_id), tagged or not. No tag is created or
        sent, and the sync creates a region at about the cost of a bare one; NetBox's signal for a
        tag is the largest part of what a tagged create costs it (see the collection's docs/sync.md,
        "Ownership without the tag"). Use it when
        no one else writes C(geo_source_id). With O(geofoss.netbox.netbox_geo_sync#module:prune) or
        O(geofoss.netbox.netbox_geo_sync#module:state=absent), every region with a C(geo_source_id) that is not
        in the dataset (under O(geofoss.netbox.netbox_geo_sync#module:root_region), when set) is deleted.
      - Switching from V(tag) to V(source_id) leaves the tags in place. Switching back, the regions
        without the tag are someone else's again - the sync refuses them as conflicts before any
        write - until one run with O(geofoss.netbox.netbox_geo_sync#module:adopt=true) tags them.
    type: str
    choices: [tag, source_id]
    default: tag
  managed_tag:
    description:
      - Slug (and name) of the tag that marks the collection's regions under O(ownership=tag).
        Ignored under O(ownership=source_id).
    type: str
    default: geo-managed
"""
