# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/import.yml and validate.yml against the real NetBox, as a user runs them:
bad variables fail before any work; LU and BE from the bundled source land in NetBox;
a re-run changes nothing; validate passes, then detects a region renamed through the API
(and writes nothing), a check-mode import plans the repair, an import repairs it.

The tests of this file run in order and share one NetBox state and one work folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
COUNTRIES = ["LU", "BE"]

root = own_root("pytest-playbooks")


@pytest.fixture(scope="module")
def work(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("playbooks")
    env = ansible_env(collections_path(tmp_path_factory))
    extra = {"geo_source": "bundled", "geo_countries": COUNTRIES, "geo_cache_dir": str(folder / "cache"),
             "geo_dataset": str(folder / "dataset.jsonl"), "geo_report_dir": str(folder / "reports"),
             "geo_root_region": root["slug"]}
    return {"folder": folder, "env": env, "extra": extra, "runs": 0, "root": root}


def run(work, playbook, *args, **extra_vars):
    """Run a playbook with a fresh run id; returns (process, JSON report of that run)."""
    work["runs"] += 1
    run_id = "pytest-%d" % work["runs"]
    result = run_playbook(playbook, work["env"], dict(work["extra"], geo_run_id=run_id, **extra_vars), *args)
    reports = sorted((work["folder"] / "reports").glob("*-%s.json" % run_id))
    report = json.loads(reports[0].read_text()) if reports else None
    return result, report


def output(result) -> str:
    return result.stdout + result.stderr


def test_bad_variables_fail_before_any_work(work):
    result, report = run(work, IMPORT, geo_levels=["continent", "planet"])
    assert result.returncode != 0
    assert "Validation of arguments failed" in output(result) and "geo_levels" in output(result), output(result)[-3000:]
    assert report is None and not (work["folder"] / "cache").exists()


def test_import_lu_be(work):
    result, report = run(work, IMPORT)
    assert result.returncode == 0, output(result)[-4000:]
    header, nodes = read_dataset(work["folder"] / "dataset.jsonl")
    assert {n["attributes"]["country_code"] for n in nodes if n["level"] == "country"} == set(COUNTRIES)
    assert report["dataset_counts"] == header["counts"]
    assert report["summary"]["create"] + report["summary"]["unchanged"] == len(nodes)
    assert assert_tree_matches(work["root"], nodes) == len(nodes)
    # the output ends with the summary: the last task is "Summary", its message names the report
    last_task = result.stdout.rsplit("TASK [", 1)[1]
    assert last_task.startswith("Summary]") and report["report"] in last_task
    markdown = Path(report["report"]).read_text()
    assert Path(report["report"]).name == "import-%s.md" % report["run_id"] and report["run_id"] in markdown
    assert "| admin1 | %d |" % header["counts"]["admin1"] in markdown
    for country in COUNTRIES:  # the per-country table: levels below country
        divisions = sum(1 for n in nodes if n["level"] == "admin1" and n["attributes"]["country_code"] == country)
        assert "| %s | %d |" % (country, divisions) in markdown


def test_rerun_changes_nothing(work):
    result, report = run(work, IMPORT)
    assert result.returncode == 0, output(result)[-4000:]
    assert (report["summary"]["create"], report["summary"]["update"], report["summary"]["delete"]) == (0, 0, 0)
    assert report["summary"]["unchanged"] == sum(report["dataset_counts"].values())


def test_failed_sync_still_writes_the_report(work):
    result, report = run(work, IMPORT, geo_root_region="no-such-region-anywhere")
    assert result.returncode == 2, output(result)[-4000:]
    assert report["failed"] is True and "no-such-region-anywhere" in report["error"]
    assert "The sync failed" in Path(report["report"]).read_text()
    assert "no-such-region-anywhere" in result.stdout.rsplit("TASK [", 1)[1]


def test_validate_passes_when_in_step(work):
    result, report = run(work, VALIDATE)
    assert result.returncode == 0, output(result)[-4000:]
    assert report["plan_only"] is True and report["drift"] == 0


def renamed_division(work):
    """An admin1 region of the dataset, renamed through the API; returns (node, region)."""
    nodes = read_dataset(work["folder"] / "dataset.jsonl")[1]
    node = next(n for n in nodes if n["level"] == "admin1" and n["attributes"]["country_code"] == "LU")
    region = netbox().dcim.regions.get(cf_geo_source_id=node["geo_source_id"])
    region.name = node["name"] + " (renamed by hand)"
    assert region.save()
    return node, region


def test_validate_detects_drift_and_writes_nothing(work):
    node, region = renamed_division(work)
    work["renamed"] = node
    result, report = run(work, VALIDATE, geo_use_existing_dataset=True)
    assert result.returncode == 2, output(result)[-4000:]
    assert "NetBox has drifted from the dataset" in output(result)
    assert report["drift"] == 1 and report["summary"]["update"] == 1
    markdown = Path(report["report"]).read_text()
    assert node["geo_source_id"] in markdown and "(renamed by hand)" in markdown
    assert netbox().dcim.regions.get(region.id).name == region.name


def test_check_mode_import_plans_the_repair(work):
    node = work["renamed"]
    result, report = run(work, IMPORT, "--check")
    assert result.returncode == 0, output(result)[-4000:]
    assert report["plan_only"] is True and report["summary"]["update"] == 1
    region = netbox().dcim.regions.get(cf_geo_source_id=node["geo_source_id"])
    assert region.name.endswith("(renamed by hand)")


def test_import_repairs_the_drift(work):
    node = work["renamed"]
    result, report = run(work, IMPORT)
    assert result.returncode == 0, output(result)[-4000:]
    assert report["summary"]["update"] == 1 and report["summary"]["create"] == 0
    assert netbox().dcim.regions.get(cf_geo_source_id=node["geo_source_id"]).name == node["name"]
    result, report = run(work, VALIDATE, geo_use_existing_dataset=True)
    assert result.returncode == 0 and report["drift"] == 0, output(result)[-4000:]


def test_the_role_keeps_the_attribute_fields_when_asked(work):
    """geo_attribute_fields: true passes attribute_fields to the sync: the regions get the
    attribute custom fields' values (an update of every region that has any), a re-run
    changes nothing."""
    nodes = read_dataset(work["folder"] / "dataset.jsonl")[1]
    result, report = run(work, IMPORT, geo_attribute_fields=True)
    assert result.returncode == 0, output(result)[-4000:]
    assert report["summary"]["create"] == 0 and report["summary"]["update"] > 0
    for country in COUNTRIES:
        node = next(n for n in nodes if n["level"] == "country" and n["attributes"]["country_code"] == country)
        fields = netbox().dcim.regions.get(cf_geo_source_id=node["geo_source_id"]).custom_fields
        assert fields["geo_iso_code"] == country
        assert fields["geo_population"] == node["attributes"]["population"]
    result, report = run(work, IMPORT, geo_attribute_fields=True)
    assert result.returncode == 0, output(result)[-4000:]
    assert (report["summary"]["create"], report["summary"]["update"]) == (0, 0)


def test_sites_are_placed_in_the_city_region(work):
    """sites.yml after an import of LU with its cities: a site in Luxembourg City lands in a
    managed region of Luxembourg and gets its time zone; a re-run changes nothing."""
    dataset = str(work["folder"] / "lu-cities.jsonl")
    result = run(work, IMPORT, geo_countries=["LU"], geo_levels=["continent", "country", "admin1", "city"],
                 geo_dataset=dataset)[0]
    assert result.returncode == 0, output(result)[-4000:]
    nodes = read_dataset(dataset)[1]
    luxembourg = {n["geo_source_id"] for n in nodes if n["attributes"]["country_code"] == "LU"}
    nb = netbox()
    slug = "pytest-site-luxembourg"
    for old in nb.dcim.sites.filter(slug=slug):
        old.delete()
    site = nb.dcim.sites.create(name=slug, slug=slug, status="active", latitude=49.6116, longitude=6.1319)
    sites = str(COLLECTION_ROOT / "playbooks" / "sites.yml")
    result, report = run(work, sites, geo_dataset=dataset, geo_sites_filter={"slug": slug})
    assert result.returncode == 0, output(result)[-4000:]
    assert report["sites"]["updated"] == 1 and Path(report["report"]).name.startswith("sites-")
    placed = nb.dcim.sites.get(site.id)
    region = nb.dcim.regions.get(placed.region.id)
    assert region.custom_fields["geo_source_id"] in luxembourg
    assert placed.time_zone == "Europe/Luxembourg"
    result, report = run(work, sites, geo_dataset=dataset, geo_sites_filter={"slug": slug})
    assert result.returncode == 0 and report["sites"]["updated"] == 0, output(result)[-4000:]
