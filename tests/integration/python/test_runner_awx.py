# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""import.yml as AWX / Automation Controller runs it: under ansible-runner, from a project
that imports the collection's playbook, with the NetBox credential injected as the
environment variables NETBOX_URL / NETBOX_TOKEN (the credential type of docs/awx.md) and
AWX's extra variables (awx_job_id), at verbosity 4.

Checks that the import landed in NetBox (through the API) and that the token is in no job
event, no stdout, no report and no file of the private data dir except the two where runner
keeps the job's environment: its input env/envvars and its record artifacts/<ident>/command
(AWX, too, holds credentials only in the job's environment and keeps them out of job events).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import ansible_runner
import pytest

from playbook_helpers import (
    NETBOX_TOKEN,
    NETBOX_URL,
    ansible_env,
    assert_tree_matches,
    collections_path,
    needs_netbox,
    netbox,
    own_root,
    read_dataset,
)

pytestmark = needs_netbox

JOB_ID = 4242
# Liechtenstein: small (11 municipalities) and used by no other test; without its continent
# (Europe is test_playbooks.py's), under a root region of this file's own
COUNTRY = "LI"
LEVELS = ["country", "admin1"]

root = own_root("pytest-awx")

PROJECT_PLAYBOOK = """\
---
- name: Import geography into NetBox
  ansible.builtin.import_playbook: geofoss.netbox.import
"""


def token_fragments():
    """The token and, for a v2 token (nbt_<key>.<secret>), its secret alone."""
    fragments = {NETBOX_TOKEN}
    if NETBOX_TOKEN.startswith("nbt_") and "." in NETBOX_TOKEN:
        fragments.add(NETBOX_TOKEN.split(".", 1)[1])
    return fragments


def files_holding(folder: Path, fragments) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and any(f.encode() in path.read_bytes() for f in fragments):
            found.append(str(path.relative_to(folder)))
    return found


@pytest.fixture(scope="module")
def job(tmp_path_factory, root):
    """One AWX-like job run of import.yml: its runner, private data dir and work dir."""
    private = tmp_path_factory.mktemp("awx-job")
    work = tmp_path_factory.mktemp("awx-work")
    (private / "project").mkdir()
    (private / "project" / "import.yml").write_text(PROJECT_PLAYBOOK)
    (private / "inventory").mkdir()
    # AWX's demo inventory: the playbooks run on the controller, with the EE's Python
    (private / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n")
    # this test's own country: remove it so that the run creates it (and its change log entries)
    for region in netbox().dcim.regions.filter(slug="liechtenstein"):
        region.delete()
    env = ansible_env(collections_path(tmp_path_factory))
    envvars = {key: env[key] for key in ("NETBOX_URL", "NETBOX_TOKEN", "ANSIBLE_COLLECTIONS_PATH", "PATH", "HOME")
               if key in env}
    runner = ansible_runner.run(
        private_data_dir=str(private),
        playbook="import.yml",
        envvars=envvars,
        extravars={
            "awx_job_id": JOB_ID,
            "tower_job_id": JOB_ID,
            "geo_source": "bundled",
            # a survey's text answer, as AWX passes it
            "geo_countries": COUNTRY.lower(),
            "geo_levels": LEVELS,
            "geo_root_region": root["slug"],
            "geo_cache_dir": str(work / "cache"),
            "geo_dataset": str(work / "dataset.jsonl"),
            "geo_report_dir": str(work / "reports"),
            # progress lines every second; the rate limit makes the sync last seconds whatever the
            # machine (a dozen requests, batches of 2 regions, at most 4 requests a second)
            "geo_progress_interval": 1,
            "geo_rate_limit": 4,
            "geo_batch_size": 2,
        },
        verbosity=4,
        quiet=True,
        timeout=600,
    )
    return SimpleNamespace(runner=runner, private=private, work=work, root=root)


def test_job_succeeds_and_ends_with_the_summary(job):
    runner = job.runner
    assert (runner.status, runner.rc) == ("successful", 0), runner.stdout.read()[-4000:]
    summaries = [e for e in runner.events if e.get("event") == "runner_on_ok" and e["event_data"].get("task") == "Summary"]
    assert summaries, "no Summary task in the job events"
    lines = summaries[-1]["event_data"]["res"]["msg"]
    assert any(line.startswith("Report: ") for line in lines), lines
    assert any("awx-job-%d" % JOB_ID in line for line in lines), lines
    # set_stats: what AWX shows as the job's artifacts
    stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"][-1]
    artifact = stats["event_data"]["artifact_data"]["geofoss_netbox"]
    assert artifact["run_id"] == "awx-job-%d" % JOB_ID and artifact["summary"]["create"] > 0


def test_progress_lines_are_job_events_of_their_own(job):
    runner = job.runner
    lines = [e["stdout"] for e in runner.events if e.get("event") == "verbose" and "netbox_geo_sync: " in e.get("stdout", "")]
    creates = [line for line in lines if "netbox_geo_sync: create " in line]
    assert creates, "no progress line in the job events: %s" % lines
    assert any("/ " in line and " regions" in line for line in creates), creates
    stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"][-1]
    artifact = stats["event_data"]["artifact_data"]["geofoss_netbox"]
    assert artifact["map"].endswith("import-awx-job-%d.png" % JOB_ID) and Path(artifact["map"]).is_file()


def test_import_is_in_netbox(job):
    work = job.work
    header, nodes = read_dataset(work / "dataset.jsonl")
    countries = {n["attributes"]["country_code"] for n in nodes if n["level"] == "country"}
    assert countries == {COUNTRY}
    assert header["counts"].get("admin1", 0) > 0
    assert assert_tree_matches(job.root, nodes) == len(nodes)


def test_changes_carry_the_awx_job_in_the_change_log(job):
    work = job.work
    report = json.loads((work / "reports" / ("import-awx-job-%d.json" % JOB_ID)).read_text())
    assert report["changelog_message"].startswith("geofoss.netbox awx-job-%d (run " % JOB_ID)
    nodes = read_dataset(work / "dataset.jsonl")[1]
    country = next(n for n in nodes if n["level"] == "country")
    nb = netbox()
    region = nb.dcim.regions.get(cf_geo_source_id=country["geo_source_id"])
    changes = list(nb.core.object_changes.filter(changed_object_type="dcim.region", changed_object_id=region.id))
    assert report["changelog_message"] in {change.message for change in changes}


def test_report_names_the_run(job):
    work = job.work
    reports = list((work / "reports").glob("*.md"))
    assert [r.name for r in reports] == ["import-awx-job-%d.md" % JOB_ID]
    text = reports[0].read_text()
    assert "awx-job-%d" % JOB_ID in text and COUNTRY in text


def test_token_is_in_no_event_stdout_or_artifact(job):
    runner, private, work = job.runner, job.private, job.work
    fragments = token_fragments()
    events = json.dumps(list(runner.events))
    assert not [f for f in fragments if f in events], "the token is in a job event"
    stdout = runner.stdout.read()
    assert stdout and not [f for f in fragments if f in stdout], "the token is in the job's stdout"
    holding = files_holding(private, fragments) + files_holding(work, fragments)
    # the job's environment, credential included, is in runner's input and record of it:
    # finding the token there shows the scan reads what it should; anywhere else is a leak
    assert sorted(holding) == ["artifacts/%s/command" % runner.config.ident, "env/envvars"], holding
    assert NETBOX_URL in (private / "env" / "envvars").read_text()
