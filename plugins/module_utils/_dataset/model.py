# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dataset file: pydantic models, a streaming reader, a fast light reader, an atomic writer.

Format (see docs/internals.md, "The dataset file"): JSON Lines, UTF-8, ``\\n`` line ends,
gzip when the name ends in ``.gz``. Line 1 is the header, each further line one node;
nodes sorted by (level, country code, geo_source_id); same input -> byte-identical file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tempfile
import traceback
from typing import IO, TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, cast

# re-exported: the dataset format's names stay importable from here
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import (  # noqa: F401 pylint: disable=unused-import
    ATTRIBUTE_KEYS, GEO_SOURCE_ID_RE, LEVEL_INDEX, LEVELS, NESTING_LEVELS, NODE_KEYS, NodeDict, NodeProblem,
    check_attributes, check_node, node_problem,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._io import DEFAULT_FILE_MODE, WriteResult, atomic_write
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._version import COLLECTION_NAME, COLLECTION_VERSION

PYDANTIC_IMPORT_ERROR: str | None
if TYPE_CHECKING:  # mypy checks against pydantic; at run time it may be missing (see below)
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
else:
    try:
        from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
        PYDANTIC_IMPORT_ERROR = None
    except ImportError:
        PYDANTIC_IMPORT_ERROR = traceback.format_exc()
        BaseModel = object  # lets the module import; the models are unusable until pydantic is installed

        def _absent(*args, **kwargs):
            return lambda f: f

        ConfigDict = Field = dict
        field_validator = model_validator = _absent

        class ValidationError(Exception):
            pass

DATASET_KIND = "geofoss.netbox/dataset"
SCHEMA_VERSION = 1


class DatasetError(GeoFossError):
    """A dataset file that cannot be read or written; the message names file and line
    (``file:line: field: reason``), kept as attributes too (None where they do not apply)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field

    @classmethod
    def invalid_node(cls, file: str, line: int, problem: NodeProblem, node_id: object = None) -> DatasetError:
        """``file:line: field: reason``, and the node's geo_source_id when the line is not in a file yet."""
        text = "%s:%d: %s" % (file, line, problem)
        if node_id is not None:
            text += " (node %s)" % (node_id,)
        return cls(text, file=file, line=line, field=problem.field)


def _complete(data: dict[str, Any], level: str | None) -> dict[str, Any]:
    """A node given to a model with the defaults a Python caller may leave out (parent,
    description, attributes, null attributes, the level of a per-level model)."""
    node = dict(data)
    if level is not None:
        node.setdefault("level", level)
    node.setdefault("parent", None)
    node.setdefault("description", "")
    attributes = node.get("attributes", {})
    if isinstance(attributes, Attributes):
        attributes = attributes.model_dump()
    if isinstance(attributes, dict):
        node["attributes"] = dict(dict.fromkeys(ATTRIBUTE_KEYS), **attributes)
    return node


class Attributes(BaseModel):
    """A node's attributes; the rules are validate.check_attributes'."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    country_code: str | None = None
    iso_3166_1_alpha3: str | None = None
    iso_3166_2: str | None = None
    geonames_code: str | None = None
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str | None = None
    feature_code: str | None = None
    wikidata_id: str | None = None
    continent: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_validation(cls, data: Any) -> Any:
        if isinstance(data, dict):
            problem = check_attributes(dict(dict.fromkeys(ATTRIBUTE_KEYS), **data))
            if problem:
                raise ValueError(str(problem))
        return data


class Node(BaseModel):
    """One region-to-be. The rules are validate.check_node's (run first, on the node
    completed with its defaults); subclasses per level fix the level."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    LEVEL: ClassVar[str | None] = None

    geo_source_id: str
    level: str
    name: str
    slug: str
    parent: str | None = None
    description: str = ""
    attributes: Attributes = Field(default_factory=Attributes)

    @model_validator(mode="before")
    @classmethod
    def _one_validation(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # pydantic tells what it expected
        node = _complete(data, cls.LEVEL)
        if cls.LEVEL is not None and node["level"] != cls.LEVEL:
            raise ValueError("level: %r is not %s" % (node["level"], cls.LEVEL))
        problem = check_node(node)
        if problem:
            raise ValueError(str(problem))
        return node

    def to_dict(self) -> NodeDict:
        data = self.model_dump()
        data["attributes"] = {key: data["attributes"][key] for key in ATTRIBUTE_KEYS}
        return cast(NodeDict, {key: data[key] for key in NODE_KEYS})


class ContinentNode(Node):
    LEVEL = "continent"


class CountryNode(Node):
    LEVEL = "country"


class Admin1Node(Node):
    LEVEL = "admin1"


class Admin2Node(Node):
    LEVEL = "admin2"


class CityNode(Node):
    LEVEL = "city"


class GroupNode(Node):
    LEVEL = "group"


class CustomNode(Node):
    LEVEL = "custom"


NODE_MODELS = {
    "group": GroupNode, "continent": ContinentNode, "country": CountryNode, "admin1": Admin1Node,
    "admin2": Admin2Node, "city": CityNode, "custom": CustomNode,
}


def parse_node(data: Any) -> Node:
    """The level's model for ``data`` (a node as in the file: every key present); raises
    ValueError naming the field when it is invalid."""
    problem = check_node(data)
    if problem:
        raise ValueError(str(problem))
    return NODE_MODELS[data["level"]].model_validate(data)


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source: str
    licence: str
    attribution: str
    url: str | None = None


class DatasetHeader(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str = DATASET_KIND
    schema_version: int = SCHEMA_VERSION
    generated_by: str = "%s %s" % (COLLECTION_NAME, COLLECTION_VERSION)
    levels: list[str] = Field(default_factory=lambda: ["country", "admin1"])
    counts: dict[str, int] = Field(default_factory=dict)
    provenance: list[Provenance] = Field(default_factory=list)
    filters: dict = Field(default_factory=dict)
    side_files: dict[str, str] = Field(default_factory=dict)  # e.g. {"admin1_polygons": "x.admin1.geojson"}
    sha256_nodes: str | None = None

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, value: list[str]) -> list[str]:
        unknown = [level for level in value if level not in LEVEL_INDEX]
        if unknown:
            raise ValueError("unknown levels %s" % unknown)
        return sorted(set(value), key=LEVEL_INDEX.__getitem__)


def node_sort_key(node: Any, depth: int = 0) -> tuple[int, int, str, str]:
    """(level, depth, country code, geo_source_id); total on malformed nodes too, so that they
    reach validation and get a proper message. ``depth`` counts the ancestors of the node's
    own level (groups and own places nest; every other level has depth 0)."""
    attributes = node.get("attributes")
    country_code = attributes.get("country_code") if isinstance(attributes, dict) else None
    level = node.get("level")
    return (LEVEL_INDEX.get(level, len(LEVELS)) if isinstance(level, str) else len(LEVELS), depth,
            str(country_code or ""), str(node.get("geo_source_id")))


def sort_nodes(nodes: Iterable[Any]) -> list[Any]:
    """The nodes in file order: by level, then (groups, own places) parents before children."""
    nodes = list(nodes)
    by_id = {node.get("geo_source_id"): node for node in nodes if isinstance(node, dict)}
    depths: dict[Any, int] = {}

    def depth_of(node: Any) -> int:
        source_id = node.get("geo_source_id") if isinstance(node, dict) else None
        if source_id not in depths:
            depths[source_id] = 0  # a cycle stops here; the writer refuses it as a later parent
            parent = by_id.get(node.get("parent")) if isinstance(node, dict) else None
            if parent is not None and parent is not node and parent.get("level") == node.get("level") \
                    and node.get("level") in NESTING_LEVELS:
                depths[source_id] = depth_of(parent) + 1
        return depths[source_id]

    return sorted(nodes, key=lambda node: node_sort_key(node, depth_of(node)) if isinstance(node, dict) else
                  node_sort_key({}))


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line: decoded one by one (_decode), so bad UTF-8 is
    reported with its line."""
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as handle:
            for number, line in enumerate(handle, 1):
                yield number, line
    except (OSError, EOFError) as exc:
        raise DatasetError("%s: cannot read dataset: %s" % (path, exc)) from exc


def _decode(path: str, number: int, line: bytes) -> Any:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError("%s:%d: not UTF-8 (byte 0x%02x at byte %d of the line)"
                           % (path, number, line[exc.start], exc.start + 1)) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DatasetError("%s:%d: not JSON: %s" % (path, number, exc)) from exc


def _header(path: str, lines: Iterator[tuple[int, bytes]]) -> DatasetHeader:
    first = next(lines, None)
    if first is None:
        raise DatasetError("%s: empty file, not a dataset" % path)
    data = _decode(path, *first)
    if not isinstance(data, dict) or data.get("kind") != DATASET_KIND:
        raise DatasetError("%s:1: not a %s header" % (path, DATASET_KIND))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError("%s:1: schema_version %r, this collection reads %d"
                           % (path, data.get("schema_version"), SCHEMA_VERSION))
    try:
        return DatasetHeader.model_validate(data)
    except ValidationError as exc:
        raise DatasetError("%s:1: invalid header: %s" % (path, exc)) from exc


def read_header(path: str) -> DatasetHeader:
    return _header(path, _lines(path))


def read_dataset(path: str) -> tuple[DatasetHeader, Iterator[Node]]:
    """(header, iterator of Node): every node checked (validate.check_node), then its level's model."""
    lines = _lines(path)
    header = _header(path, lines)

    def nodes() -> Iterator[Node]:
        for number, line in lines:
            data = _decode(path, number, line)
            problem = check_node(data)
            if problem:
                raise DatasetError.invalid_node(path, number, problem)
            yield NODE_MODELS[data["level"]].model_validate(data)
    return header, nodes()


def iter_node_dicts(path: str, validate: bool = False) -> Iterator[NodeDict]:
    """The nodes as plain dicts, json.loads per line and nothing more (world-scale planning).

    ``validate=True`` checks each node (validate.check_node, the one node validation).
    The header is checked (kind, schema_version) and skipped.
    """
    lines = _lines(path)
    _header(path, lines)
    for number, line in lines:
        data = _decode(path, number, line)
        if validate:
            problem = check_node(data)
            if problem:
                raise DatasetError.invalid_node(path, number, problem)
        yield data


# one encoder for every line: json.dumps with options builds a new one per call
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def node_line(node: NodeDict | Node) -> str:
    """The canonical line of one node (a Node or a dict), keys in file order, without ``\\n``."""
    if not isinstance(node, dict):
        return _dumps(node.to_dict())
    if tuple(node) != NODE_KEYS or tuple(node["attributes"]) != ATTRIBUTE_KEYS:
        given: dict[str, Any] = dict(node)
        ordered = {key: given[key] for key in NODE_KEYS}
        ordered["attributes"] = {key: node["attributes"][key] for key in ATTRIBUTE_KEYS}
        return _dumps(ordered)
    return _dumps(node)


class _Tree:
    """Checks, while nodes stream past, what NetBox would refuse: unknown or later parents,
    duplicate ids, siblings with equal names or slugs (exact comparison, top level included)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.depths: dict[str, int] = {}  # nodes of the nesting levels: ancestors of their own level
        self.levels: dict[str, str] = {}
        self.names: set[tuple[str | None, str]] = set()
        self.slugs: set[tuple[str | None, str]] = set()

    def depth_of(self, node: NodeDict) -> int:
        """Ancestors of the node's own level among the nodes added (0 but for groups and own places)."""
        parent = node["parent"]
        return self.depths[parent] + 1 if parent in self.depths and self.levels[parent] == node["level"] else 0

    def add(self, node: NodeDict) -> NodeProblem | None:
        source_id, parent = node["geo_source_id"], node["parent"]
        if source_id in self.ids:
            return NodeProblem("geo_source_id", "duplicate geo_source_id %s" % source_id)
        if parent is not None and parent not in self.ids:
            return NodeProblem("parent", "parent %s of %s is not an earlier node" % (parent, source_id))
        if (parent, node["name"]) in self.names:
            return NodeProblem("name", "name %r is used twice under parent %s" % (node["name"], parent))
        if (parent, node["slug"]) in self.slugs:
            return NodeProblem("slug", "slug %r is used twice under parent %s" % (node["slug"], parent))
        self.ids.add(source_id)
        if node["level"] in NESTING_LEVELS:
            self.depths[source_id] = self.depth_of(node)
            self.levels[source_id] = node["level"]
        self.names.add((parent, node["name"]))
        self.slugs.add((parent, node["slug"]))
        return None


def write_dataset(path: str, header: DatasetHeader, nodes: Iterable[NodeDict | Node], presorted: bool = False,
                  dry_run: bool = False, mode: int = DEFAULT_FILE_MODE) -> str:
    """write_dataset_file, returning only the sha256 of the file's bytes."""
    return write_dataset_file(path, header, nodes, presorted=presorted, dry_run=dry_run, mode=mode).sha256


def write_dataset_file(path: str, header: DatasetHeader, nodes: Iterable[NodeDict | Node], presorted: bool = False,
                       dry_run: bool = False, mode: int = DEFAULT_FILE_MODE) -> WriteResult:
    """Write the dataset atomically (_io) with the permission bits ``mode``; returns the
    file's sha256, size and whether it changed.

    ``nodes``: Node objects or node dicts. Sorted here unless ``presorted`` (then the order
    is only checked: a generator stays a stream). Every node is checked (validate.check_node) and
    the tree rules enforced; any problem raises DatasetError and leaves ``path`` untouched.
    ``header.counts`` and ``header.sha256_nodes`` are filled in from the nodes.
    When the file in place already has the same bytes, it is not rewritten (mtime kept).
    ``dry_run``: write nothing at ``path``; the result tells what writing would do.
    """
    if not presorted:
        nodes = sort_nodes(n if isinstance(n, dict) else n.to_dict() for n in nodes)
    counts: dict[str, int] = {}
    tree = _Tree()
    nodes_digest = hashlib.sha256()
    previous_key = None
    with tempfile.TemporaryFile() as body:
        writer = io.BufferedWriter(body, 1 << 20)
        for index, node in enumerate(nodes, 2):
            data = node if isinstance(node, dict) else node.to_dict()
            problem = check_node(data)
            if not problem:
                key = node_sort_key(data, tree.depth_of(data))
                if previous_key is not None and key < previous_key:  # equal: a duplicate id, told below
                    problem = NodeProblem("node", "out of order (sort by level, depth, country code, geo_source_id)")
                previous_key = key
            problem = problem or tree.add(data)
            if problem:
                source_id = data.get("geo_source_id") if isinstance(data, dict) else None
                raise DatasetError.invalid_node(path, index, problem, source_id)
            counts[data["level"]] = counts.get(data["level"], 0) + 1
            encoded = (node_line(data) + "\n").encode("utf-8")
            nodes_digest.update(encoded)
            writer.write(encoded)
        writer.flush()
        writer.detach()
        header = header.model_copy(update={
            "counts": {level: counts[level] for level in LEVELS if level in counts},
            "sha256_nodes": nodes_digest.hexdigest(),
        })
        header_line = (_dumps(header.model_dump(exclude_none=True)) + "\n").encode("utf-8")
        return _publish(path, header_line, body, dry_run, mode)


def _publish(path: str, header_line: bytes, body: IO[bytes], dry_run: bool, mode: int) -> WriteResult:
    """The header line, then the spooled node lines, through the atomic write (gzip for .gz)."""
    try:
        with atomic_write(path, mode=mode, dry_run=dry_run) as out:
            # mtime=0 and no file name inside: the same nodes give the same .gz bytes
            gzipped = gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) \
                if path.endswith(".gz") else None
            sink = gzipped or out
            sink.write(header_line)
            body.seek(0)
            for block in iter(lambda: body.read(1 << 20), b""):
                sink.write(block)
            if gzipped is not None:
                gzipped.close()
        return out.commit()
    except OSError as exc:
        raise DatasetError("%s: cannot write dataset: %s" % (path, exc), file=path) from exc
