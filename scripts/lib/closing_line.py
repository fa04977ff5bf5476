# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closing line of scripts/test: every stage and every test it ran, counted once.

    python closing_line.py RESULTS-DIR [--allowlist tests/skip-allowlist.txt]

RESULTS-DIR holds what scripts/test recorded:

- ``stages.tsv``: one line per stage, ``name<TAB>exit status``;
- ``<stage>/*.xml``: JUnit XML of the stage's tests (pytest's --junitxml, ansible-test
  sanity's --junit files), one test case each ``testcase`` element;
- ``<stage>/targets.log``: ansible-test integration's output (run with --continue-on-error):
  one test case each target it ran; ``<stage>/targets.status``: ansible-test's exit status
  (the stage's own status also counts the system tests that ran after it).

Counting rules, so that "0 failed" means nothing failed:

- a test case with a failure or an error is failed;
- a skipped test case is failed unless the allow-list names it (pattern on
  ``classname::name`` and on the skip message), then it counts as skipped;
- a stage without test records (lint) is one test case, passed or failed by its status;
- a stage whose status is not 0 but none of whose test cases failed (it failed before
  its tests started, or after them) counts one failure more;
- a stage that did not run at all (``-`` as its status: the set-up failed) is one failure.

Prints what failed, then ``N passed, N failed, N skipped`` as its last line; exits 1 when
anything failed, 0 otherwise.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
# the XML read here is what pytest and ansible-test wrote in this run, not outside input
import xml.etree.ElementTree as ET  # nosec B405
from dataclasses import dataclass, field

TARGET_RAN = re.compile(r"Running (\S+) integration test (?:role|script)")
TARGETS_FAILED = re.compile(r"The (\d+) integration test\(s\) listed below \(out of \d+\) failed[^\n]*\n((?:\S+\n?)*)")


@dataclass
class AllowedSkip:
    case: str      # fnmatch pattern on "classname::name"
    message: str   # fnmatch pattern on the skip message
    reason: str


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)  # "stage: what" lines

    def fail(self, stage, what):
        self.failed += 1
        self.failures.append("%s: %s" % (stage, what))


def read_allowlist(path) -> list:
    """The allowed skips: ``case pattern | message pattern | reason`` lines (# comments)."""
    allowed = []
    if not path:
        return allowed
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 3 or not all(parts):
                raise ValueError("%s:%d: expected 'case pattern | message pattern | reason', got %r"
                                 % (path, number, line))
            allowed.append(AllowedSkip(*parts))
    return allowed


def is_allowed(case, message, allowed) -> bool:
    return any(fnmatch.fnmatchcase(case, a.case) and fnmatch.fnmatchcase(message, a.message) for a in allowed)


def count_junit(path, stage, tally, allowed) -> int:
    """Count the test cases of one JUnit file; returns how many failed (allow-list misses included)."""
    failed_before = tally.failed
    try:
        root = ET.parse(path).getroot()  # nosec B314  # this run's own test results
    except ET.ParseError as exc:
        tally.fail(stage, "unreadable test results %s: %s" % (os.path.basename(path), exc))
        return tally.failed - failed_before
    for case in root.iter("testcase"):
        name = "%s::%s" % (case.get("classname", ""), case.get("name", ""))
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if problem is not None:
            lines = (problem.get("message") or problem.text or "").strip().splitlines()
            tally.fail(stage, "%s: %s" % (name, lines[0][:200] if lines else problem.tag))
        elif skipped is not None:
            message = skipped.get("message") or (skipped.text or "").strip()
            if is_allowed(name, message, allowed):
                tally.skipped += 1
            else:
                tally.fail(stage, "%s skipped and not on the allow-list: %s" % (name, message[:200]))
        else:
            tally.passed += 1
    return tally.failed - failed_before


def count_targets(path, stage, status, tally) -> int:
    """ansible-test integration targets from its output; returns how many failed. `status`
    is the stage's; ansible-test's own, when recorded beside its output, decides."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    status_file = os.path.join(os.path.dirname(path), "targets.status")
    if os.path.exists(status_file):
        with open(status_file, encoding="utf-8") as handle:
            status = handle.read().strip() or status
    ran = TARGET_RAN.findall(text)
    listed = TARGETS_FAILED.search(text)
    if listed:
        bad = [name for name in listed.group(2).split() if name in ran]
    elif status != "0" and ran:
        bad = [ran[-1]]  # ansible-test failed without its list: it stopped in the last target
    else:
        bad = []
    for name in ran:
        if name in bad:
            tally.fail(stage, "integration target %s" % name)
        else:
            tally.passed += 1
    return len(bad)


def summarize(results, allowed) -> Tally:
    tally = Tally()
    stages_file = os.path.join(results, "stages.tsv")
    stages = []
    if os.path.exists(stages_file):
        with open(stages_file, encoding="utf-8") as handle:
            stages = [line.rstrip("\n").split("\t")[:2] for line in handle if line.strip()]
    if not stages:
        tally.fail("scripts/test", "no stage recorded its result")
    for stage, status in stages:
        if status == "-":
            tally.fail(stage, "did not run (the set-up failed)")
            continue
        folder = os.path.join(results, stage)
        files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        records = [f for f in files if f.endswith(".xml") or f == "targets.log"]  # targets.status: read beside it
        failed = 0
        for name in records:
            path = os.path.join(folder, name)
            if name == "targets.log":
                failed += count_targets(path, stage, status, tally)
            else:
                failed += count_junit(path, stage, tally, allowed)
        if not records:
            if status == "0":
                tally.passed += 1
            else:
                tally.fail(stage, "failed (exit %s)" % status)
        elif status != "0" and failed == 0:
            tally.fail(stage, "failed (exit %s) outside its tests: before they started or after them" % status)
    return tally


def main(argv) -> int:
    args = list(argv)
    allowlist = None
    if "--allowlist" in args:
        index = args.index("--allowlist")
        allowlist = args[index + 1]
        del args[index:index + 2]
    if len(args) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    tally = summarize(args[0], read_allowlist(allowlist))
    if tally.failures:
        print("what failed:")
        for line in tally.failures[:100]:
            print("  " + line)
        if len(tally.failures) > 100:
            print("  ... and %d more" % (len(tally.failures) - 100))
    print("%d passed, %d failed, %d skipped" % (tally.passed, tally.failed, tally.skipped))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
