# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_ownership=source_id through the playbooks, against the real NetBox, as a user switches
to it: the import creates no tag and sends none, the tree equals the dataset, a re-run and
validate find nothing to do, sites.yml places a site in an untagged region, and switching
back to the tag is refused as conflicts (nothing written) until one run with geo_adopt tags
every region."""

from __future__ import annotations

import json

from playbook_helpers import (
    COLLECTION_ROOT,
    ansible_env,
    assert_tree_matches,
    collections_path,
    needs_netbox,
    netbox,
    own_root,
    read_dataset,
    run_playbook,
)

pytestmark = needs_netbox

IMPORT = str(COLLECTION_ROOT / "playbooks" / "import.yml")
VALIDATE = str(COLLECTION_ROOT / "playbooks" / "validate.yml")
SITES = str(COLLECTION_ROOT / "playbooks" / "sites.yml")
# ignored under source_id: a tag of this test's own, so that its absence from NetBox shows it
TAG = "pytest-ownership"
SITE = "pytest-ownership-luxembourg"

root = own_root("pytest-ownership")


def test_ownership_by_source_id_end_to_end(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("ownership")
    env = ansible_env(collections_path(tmp_path_factory))
    dataset = folder / "dataset.jsonl"
    base = {"geo_source": "bundled", "geo_countries": ["LU"], "geo_levels": ["country", "admin1", "city"],
            "geo_cache_dir": str(folder / "cache"), "geo_dataset": str(dataset),
            "geo_report_dir": str(folder / "reports"), "geo_root_region": root["slug"], "geo_managed_tag": TAG}
    runs = []

    def run(playbook, **extra):
        runs.append(len(runs) + 1)
        run_id = "ownership-%d" % runs[-1]
        result = run_playbook(playbook, env, dict(base, geo_run_id=run_id, **extra))
        report = json.loads(next((folder / "reports").glob("*-%s.json" % run_id)).read_text())
        return result, report, (result.stdout + result.stderr)[-4000:]

    nb = netbox()
    nb.extras.tags.filter(slug=TAG).delete()  # left by an earlier run against a kept NetBox
    result, report, output = run(IMPORT, geo_ownership="source_id")
    assert result.returncode == 0, output
    nodes = read_dataset(dataset)[1]
    assert report["summary"]["create"] == len(nodes)
    assert assert_tree_matches(root, nodes, tag=None) == len(nodes)  # no region carries any tag
    assert list(nb.extras.tags.filter(slug=TAG)) == []

    result, report, output = run(IMPORT, geo_ownership="source_id")
    assert result.returncode == 0, output
    assert report["summary"]["unchanged"] == len(nodes) and report["summary"]["update"] == 0
    result, report, output = run(VALIDATE, geo_ownership="source_id", geo_use_existing_dataset=True)
    assert result.returncode == 0 and report["drift"] == 0, output

    # sites.yml finds the untagged regions
    for old in nb.dcim.sites.filter(slug=SITE):
        old.delete()
    site = nb.dcim.sites.create(name=SITE, slug=SITE, status="active", latitude=49.6116, longitude=6.1319)
    try:
        result, report, output = run(SITES, geo_ownership="source_id", geo_sites_filter={"slug": SITE})
        assert result.returncode == 0 and report["sites"]["updated"] == 1, output
        region = nb.dcim.regions.get(nb.dcim.sites.get(site.id).region.id)
        assert region.custom_fields["geo_source_id"] in {n["geo_source_id"] for n in nodes}
        assert region.tags == []
    finally:
        site.delete()

    # back to the tag: the untagged regions are someone else's until adopted
    result, report, output = run(IMPORT)
    assert result.returncode == 2 and "but not the tag %s" % TAG in report["error"], output
    assert assert_tree_matches(root, nodes, tag=None) == len(nodes)  # nothing was written
    result, report, output = run(IMPORT, geo_adopt=True)
    assert result.returncode == 0, output
    assert report["summary"]["update"] == len(nodes) and report["summary"]["create"] == 0
    assert assert_tree_matches(root, nodes, tag=TAG) == len(nodes)
    nb.extras.tags.filter(slug=TAG).delete()
