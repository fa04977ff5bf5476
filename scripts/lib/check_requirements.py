# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that this Python has every requirement of the given requirements files installed,
at a version the file allows: after `pip install -r`, so that a missing or wrong package
fails the set-up naming it, instead of turning into skipped tests later.

    python check_requirements.py requirements.txt tests/requirements.txt [--require 'ansible-core>=2.19,<2.20']

Exit 0 when all are there; 1 with one line per problem otherwise.
"""

from __future__ import annotations

import sys
from importlib import metadata

try:
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:  # pip's own copy when packaging is not installed
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement  # type: ignore


def read_requirements(path: str) -> list[tuple[str, int, str]]:
    """(path, line number, requirement text) of each requirement line of a pip requirements file."""
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            text = line.split(" #", 1)[0].strip()
            if text and not text.startswith(("#", "-")):
                found.append((path, number, text))
    return found


def problems(requirements: list[tuple[str, int, str]]) -> list[str]:
    """One message per requirement that is not installed, or installed at a version outside its range."""
    messages = []
    for path, number, text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            messages.append("%s:%d: %r is not a requirement: %s" % (path, number, text, exc))
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            messages.append("%s:%d: %s is not installed" % (path, number, requirement.name))
            continue
        if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            messages.append("%s:%d: %s %s is installed, %s wants %s" % (path, number, requirement.name, version,
                                                                        path, requirement.specifier))
    return messages


def main(argv: list[str]) -> int:
    requirements, extra = [], []
    args = iter(argv)
    for arg in args:
        if arg == "--require":
            extra.append(("--require", 0, next(args)))
        else:
            requirements.extend(read_requirements(arg))
    # a --require replaces the files' line for the same package (the versions stage's ansible-core)
    constrained = {Requirement(text).name.lower() for _, _, text in extra}
    requirements = [r for r in requirements if Requirement(r[2]).name.lower() not in constrained] + extra
    found = problems(requirements)
    for message in found:
        print("missing dependency: " + message, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
