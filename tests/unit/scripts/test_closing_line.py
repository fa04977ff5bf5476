# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/lib/closing_line.py, the closing line of scripts/test, on fabricated results:
every failed stage and test counts, a skip counts as a failure unless the allow-list names
it, and the exit status says the same as the line."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "lib" / "closing_line.py"
_spec = importlib.util.spec_from_file_location("closing_line", SCRIPT)
closing_line = importlib.util.module_from_spec(_spec)
sys.modules["closing_line"] = closing_line  # dataclasses look their module up by name
_spec.loader.exec_module(closing_line)

ALLOWLIST = """\
# comment
sanity::*  |  No tests applicable.  |  no file of that kind
"""


def junit(*cases) -> str:
    """A pytest-like JUnit file; each case is (classname::name, outcome[, message])."""
    body = []
    for case in cases:
        name, outcome = case[0], case[1]
        message = case[2] if len(case) > 2 else ""
        classname, test = name.split("::")
        inner = "" if outcome == "passed" else '<%s message="%s"/>' % (outcome, message)
        body.append('<testcase classname="%s" name="%s">%s</testcase>' % (classname, test, inner))
    return '<testsuites><testsuite name="pytest">%s</testsuite></testsuites>' % "".join(body)


def results(tmp_path, stages, files=None) -> Path:
    """A results folder: stages.tsv from {stage: status}, and {relative path: text} files."""
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "stages.tsv").write_text("".join("%s\t%s\t1\n" % item for item in stages.items()))
    for relative, text in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def closing(tmp_path, folder, capsys, allowlist=ALLOWLIST):
    """(exit status, closing line, everything printed)."""
    listing = tmp_path / "allow.txt"
    listing.write_text(allowlist)
    status = closing_line.main([str(folder), "--allowlist", str(listing)])
    out = capsys.readouterr().out
    return status, out.strip().splitlines()[-1], out


def test_everything_passed(tmp_path, capsys):
    folder = results(tmp_path, {"setup": 0, "sanity": 0, "lint": 0, "units": 0}, {
        "sanity/ansible-test-sanity-pep8.xml": junit(("sanity::pep8", "passed")),
        "sanity/ansible-test-sanity-pslint.xml": junit(("sanity::pslint", "skipped", "No tests applicable.")),
        "units/pytest.xml": junit(("t::a", "passed"), ("t::b", "passed"), ("t::c", "passed")),
    })
    # setup and lint have no test records: one passed case each
    assert closing(tmp_path, folder, capsys)[:2] == (0, "6 passed, 0 failed, 1 skipped")


def test_a_stage_that_failed_before_its_tests_started_counts(tmp_path, capsys):
    """The issue's fresh clone: integration failed at once, the line said 0 failed."""
    folder = results(tmp_path, {"setup": 0, "units": 0, "integration": 2},
                     {"units/pytest.xml": junit(("t::a", "passed"), ("t::b", "passed"))})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "3 passed, 1 failed, 0 skipped")
    assert "integration: failed (exit 2)" in out


def test_a_stage_that_failed_outside_its_passing_tests_counts(tmp_path, capsys):
    folder = results(tmp_path, {"units": 1}, {"units/pytest.xml": junit(("t::a", "passed"))})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "1 passed, 1 failed, 0 skipped")
    assert "units: failed (exit 1) outside its tests" in out


def test_failed_tests_are_counted_once_each_and_named(tmp_path, capsys):
    folder = results(tmp_path, {"units": 1, "sanity": 1}, {
        "units/pytest.xml": junit(("t::a", "failure", "assert 1 == 2"), ("t::b", "error", "fixture broke"),
                                  ("t::c", "passed")),
        "sanity/ansible-test-sanity-pylint.xml": junit(("sanity::pylint", "failure", "3 issues")),
    })
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "1 passed, 3 failed, 0 skipped")
    assert "t::a: assert 1 == 2" in out and "t::b: fixture broke" in out and "sanity::pylint: 3 issues" in out
    assert "outside its tests" not in out  # the failures explain the stage's status


def test_a_skip_fails_unless_the_allowlist_names_it_and_its_message(tmp_path, capsys):
    folder = results(tmp_path, {"units": 0, "sanity": 0}, {
        "units/pytest.xml": junit(("t::needs_netbox", "skipped", "NETBOX_URL / NETBOX_TOKEN not set"),
                                  ("t::ok", "passed")),
        # the right test case with another reason is not allowed either
        "sanity/ansible-test-sanity-shellcheck.xml": junit(("sanity::shellcheck", "skipped", "shellcheck missing")),
        "sanity/ansible-test-sanity-pslint.xml": junit(("sanity::pslint", "skipped", "No tests applicable.")),
    })
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "1 passed, 2 failed, 1 skipped")
    assert "t::needs_netbox skipped and not on the allow-list: NETBOX_URL / NETBOX_TOKEN not set" in out
    assert "sanity::shellcheck skipped and not on the allow-list" in out


INTEGRATION_LOG = """\
Running geo_fetch integration test role
Running netbox_geo_sync integration test role
Running testbed integration test role
%s"""


def test_integration_targets_that_failed_are_named_by_ansible_test(tmp_path, capsys):
    log = INTEGRATION_LOG % ("ERROR: The 1 integration test(s) listed below (out of 3) failed. See error output "
                             "above for details:\nnetbox_geo_sync\n")
    folder = results(tmp_path, {"integration": 1}, {"integration/targets.log": log,
                                                    "integration/pytest.xml": junit(("t::a", "passed"))})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "3 passed, 1 failed, 0 skipped")
    assert "integration target netbox_geo_sync" in out


def test_without_the_list_the_last_target_run_is_the_failed_one(tmp_path, capsys):
    folder = results(tmp_path, {"integration": 1}, {"integration/targets.log": INTEGRATION_LOG % ""})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "2 passed, 1 failed, 0 skipped")
    assert "integration target testbed" in out


def test_targets_that_passed_stay_passed_when_only_the_system_tests_failed(tmp_path, capsys):
    # the stage failed (a system test did), ansible-test itself did not: no target is blamed
    folder = results(tmp_path, {"integration": 1}, {"integration/targets.log": INTEGRATION_LOG % "",
                                                    "integration/targets.status": "0\n",
                                                    "integration/pytest.xml": junit(("t::a", "failure", "boom"))})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "3 passed, 1 failed, 0 skipped")
    assert "integration target" not in out and "t::a: boom" in out


def test_a_recorded_failure_of_ansible_test_without_its_list_blames_the_last_target(tmp_path, capsys):
    folder = results(tmp_path, {"integration": 1}, {"integration/targets.log": INTEGRATION_LOG % "",
                                                    "integration/targets.status": "1\n",
                                                    "integration/pytest.xml": junit(("t::a", "passed"))})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "3 passed, 1 failed, 0 skipped")
    assert "integration target testbed" in out


def test_stages_that_never_ran_because_the_setup_failed_count(tmp_path, capsys):
    folder = results(tmp_path, {"setup": 1, "sanity": "-", "units": "-"})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "0 passed, 3 failed, 0 skipped")
    assert "sanity: did not run (the set-up failed)" in out


def test_no_recorded_stage_is_a_failure(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert closing(tmp_path, folder, capsys)[:2] == (1, "0 passed, 1 failed, 0 skipped")


def test_unreadable_results_are_a_failure(tmp_path, capsys):
    folder = results(tmp_path, {"units": 0}, {"units/pytest.xml": "<testsuites><testsuite>"})
    status, line, out = closing(tmp_path, folder, capsys)
    assert (status, line) == (1, "0 passed, 1 failed, 0 skipped")
    assert "unreadable test results pytest.xml" in out


def test_a_malformed_allowlist_line_is_refused_naming_it(tmp_path):
    listing = tmp_path / "allow.txt"
    listing.write_text("# fine\nsanity::* | no reason given\n")
    with pytest.raises(ValueError, match=r"allow.txt:2: expected 'case pattern \| message pattern \| reason'"):
        closing_line.read_allowlist(str(listing))


def test_the_project_allowlist_is_well_formed_and_short():
    entries = closing_line.read_allowlist(str(SCRIPT.parents[2] / "tests" / "skip-allowlist.txt"))
    assert 0 < len(entries) <= 5 and all(len(entry.reason) > 10 for entry in entries)
