# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files a team writes by hand (the grouping mapping, own places): YAML read with line
numbers, and every problem collected as ``file:line: field: reason`` before one error is
raised, so a user fixes them all in one go and nothing is written meanwhile."""

from __future__ import annotations

import os
from typing import Any, Iterable

from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError

try:  # comes with ansible-core; compose_yaml says so when it is missing
    import yaml
except ImportError:
    yaml = None  # type: ignore[assignment]

MAX_LISTED = 20
MAX_FILE_BYTES = 16 << 20  # a team's own file; anything larger is a mistake


class TeamFileError(GeoFossError):
    """Problems in a team's file; ``errors`` lists them as {file, line, field, reason}."""

    def __init__(self, message: str, errors: Iterable[dict[str, Any]] = (), total: int | None = None) -> None:
        self.errors = list(errors)
        super().__init__(message, result={"errors": self.errors, "error_count": total or len(self.errors)})


class Problems:
    """Collects the problems of one file; ``raise_if_any`` ends the reading with all of them."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what
        self.items: list[dict[str, Any]] = []

    def add(self, line: int | None, field: str | None, reason: str) -> None:
        self.items.append({"file": self.path, "line": line, "field": field, "reason": reason})

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        listed = self.items[:MAX_LISTED]
        text = "; ".join("%s:%s: %s%s" % (e["file"], e["line"], "%s: " % e["field"] if e["field"] else "", e["reason"])
                         for e in listed)
        raise TeamFileError("%d problem%s in the %s, nothing written: %s%s"
                            % (len(self.items), "" if len(self.items) == 1 else "s", self.what, text,
                               " ..." if len(self.items) > len(listed) else ""),
                            errors=listed, total=len(self.items))


def read_text(path: str, what: str) -> str:
    """The file's text (UTF-8, a BOM accepted); TeamFileError naming the file otherwise."""
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise TeamFileError("%s: the %s is larger than %d MiB" % (path, what, MAX_FILE_BYTES >> 20))
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise TeamFileError("%s: cannot read the %s: %s" % (path, what, exc.strerror or exc)) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise TeamFileError("%s:%d: the %s is not UTF-8 (byte 0x%02x)" % (path, line, what, data[exc.start])) from None


def compose_yaml(path: str, what: str) -> Any:
    """The YAML document's node tree (yaml.Node, with ``start_mark.line``), or None when empty."""
    if yaml is None:
        raise TeamFileError("reading the %s %s needs the Python package PyYAML" % (what, path))
    text = read_text(path, what)
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise TeamFileError("%s:%d: the %s is not valid YAML: %s" % (path, line, what, getattr(exc, "problem", None) or exc)) from None


def line_of(node: Any) -> int:
    return node.start_mark.line + 1


def is_mapping(node: Any) -> bool:
    return yaml is not None and isinstance(node, yaml.MappingNode)


def is_sequence(node: Any) -> bool:
    return yaml is not None and isinstance(node, yaml.SequenceNode)


def is_scalar(node: Any) -> bool:
    return yaml is not None and isinstance(node, yaml.ScalarNode)


def scalar_text(node: Any) -> str | None:
    """A scalar's text as written (``NO`` stays ``NO``, not YAML 1.1's false), else None."""
    return node.value if is_scalar(node) and node.tag != "tag:yaml.org,2002:null" else None


def to_python(node: Any) -> Any:
    """A node as plain Python data (for a GeoJSON geometry written inline)."""
    return yaml.load(yaml.serialize(node), Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
