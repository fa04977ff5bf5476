# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The region tree of the local NetBox, as `scripts/local-netbox check-tree` finds it.

On NetBox 4.4-4.6 (django-mptt) the checks cover nesting, numbering and sibling order, and
(``exact``) the numbering ``Region.objects.rebuild()`` would give; on 4.7 the ltree paths.
conftest.py runs it after every integration test; tests call it to look closer.
"""

from __future__ import annotations

import json
import os
import subprocess

LOCAL_NETBOX = os.environ.get("GEOFOSS_LOCAL_NETBOX")


def check_region_tree(mode: str = "auto") -> dict | None:
    """The checker's report (see scripts/region_tree_mptt.sql), or None without a local NetBox.

    mode: "auto" (exact while no region was ever deleted), "exact" or "structure".
    """
    if not LOCAL_NETBOX:
        return None
    args = [LOCAL_NETBOX, "check-tree"] + ([] if mode == "auto" else ["--" + mode])
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise RuntimeError("check-tree gave no report (exit %d): %s" % (result.returncode, result.stderr.strip())) from None


def describe_problems(problems: dict, report: dict) -> str:
    """One line per kind of problem: how many regions, the first examples."""
    lines = ["NetBox's region tree (%s, %d regions) is unsound:" % (report["tree"], report["regions"])]
    for check, found in sorted(problems.items()):
        lines.append("  %s: %d, e.g. %s" % (check, found["count"], json.dumps(found["examples"][:3])))
    return "\n".join(lines)


def judge(before: dict, after: dict) -> str | None:
    """What is wrong with the tree a test left (two --exact reports, before and after it), or
    None. The numbering must equal rebuild()'s only if it did before and no region was
    deleted meanwhile: NetBox's deletes leave gaps on 4.4-4.6."""
    problems = dict(after["problems"])
    exact = before["sound"] and before.get("deleted_regions", 0) == after.get("deleted_regions", 0)
    if not exact:
        problems.pop("differs_from_rebuild", None)
    return describe_problems(problems, after) if problems else None


def rebuild_region_tree() -> str:
    """NetBox's own repair on MPTT releases (Region.objects.rebuild()); nothing to do on 4.7."""
    result = subprocess.run([LOCAL_NETBOX, "rebuild-tree"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError("rebuild-tree failed: %s" % result.stderr.strip())
    return result.stdout.strip()
