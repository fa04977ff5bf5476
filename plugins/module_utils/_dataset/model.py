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
import re
import tempfile
import traceback

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    DESCRIPTION_MAX, NAME_MAX, SLUG_MAX, SLUG_RE, description_problem, name_problem,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._io import DEFAULT_FILE_MODE, WriteResult, atomic_write
from ansible_collections.geofoss.netbox.plugins.module_utils._version import COLLECTION_NAME, COLLECTION_VERSION

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
LEVELS = ("continent", "country", "admin1", "admin2", "city")
LEVEL_INDEX = {level: index for index, level in enumerate(LEVELS)}
# Every node has all of these attribute keys, in this order; absent values are null.
ATTRIBUTE_KEYS = (
    "country_code",        # ISO 3166-1 alpha-2 of the node's country (null for continents)
    "iso_3166_1_alpha3",   # countries only
    "iso_3166_2",          # admin1 when known (Natural Earth or admin1Iso3166-2.txt), e.g. "DE-BY"
    "geonames_code",       # GeoNames' own code: "EU", "DE", "DE.02", "DE.02.091"; null for cities
    "population",          # int or null
    "latitude",            # float, -90..90, or null
    "longitude",           # float, -180..180, or null
    "time_zone",           # IANA name, or null
    "feature_code",        # GeoNames feature code: CONT, PCLI, ADM1, ADM2, PPLC, PPLA, PPL, ...
    "wikidata_id",         # Q-id when known (Natural Earth)
    "continent",           # GeoNames continent code of the node's country: AF AS EU NA OC SA AN
)
NODE_KEYS = ("geo_source_id", "level", "name", "slug", "parent", "description", "attributes")
GEO_SOURCE_ID_RE = re.compile(r"[a-z][a-z0-9_]*:[A-Za-z0-9._-]+\Z")


class DatasetError(Exception):
    """A dataset file that cannot be read or written; the message names file and line."""


def _check_attributes(attributes) -> str | None:
    if not isinstance(attributes, dict):
        return "attributes: must be an object"
    if tuple(attributes) != ATTRIBUTE_KEYS and set(attributes) != set(ATTRIBUTE_KEYS):
        unknown = sorted(set(attributes) - set(ATTRIBUTE_KEYS))
        missing = [k for k in ATTRIBUTE_KEYS if k not in attributes]
        return "attributes: unknown keys %s, missing keys %s" % (unknown, missing)
    population = attributes["population"]
    if population is not None and (isinstance(population, bool) or not isinstance(population, int) or population < 0):
        return "attributes.population: must be a non-negative integer or null"
    for key, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = attributes[key]
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
                return "attributes.%s: must be a number between -%g and %g or null" % (key, bound, bound)
    for key in ATTRIBUTE_KEYS:
        value = attributes[key]
        if key not in ("population", "latitude", "longitude") and value is not None and not isinstance(value, str):
            return "attributes.%s: must be a string or null" % key
    return None


def node_problem(node: dict) -> str | None:
    """Fast validation of one node dict (no pydantic): the reason it is invalid, or None.

    The same rules as the Node model, cheap enough for hundreds of thousands of nodes.
    """
    if not isinstance(node, dict):
        return "node: must be an object"
    if set(node) != set(NODE_KEYS):
        return "node: keys must be %s, found %s" % (list(NODE_KEYS), sorted(node))
    source_id = node["geo_source_id"]
    if not isinstance(source_id, str) or not GEO_SOURCE_ID_RE.match(source_id):
        return "geo_source_id: %r is not '<source>:<id>'" % (source_id,)
    if node["level"] not in LEVEL_INDEX:
        return "level: %r is not one of %s" % (node["level"], ", ".join(LEVELS))
    problem = name_problem(node["name"])
    if problem:
        return "name: " + problem
    slug = node["slug"]
    if not isinstance(slug, str) or not 0 < len(slug) <= SLUG_MAX or not SLUG_RE.match(slug):
        return "slug: %r is not 1-%d characters of a-z, 0-9, - and _" % (slug, SLUG_MAX)
    parent = node["parent"]
    if parent is not None and (not isinstance(parent, str) or not GEO_SOURCE_ID_RE.match(parent)):
        return "parent: %r is neither null nor a geo_source_id" % (parent,)
    if parent == source_id:
        return "parent: a node cannot be its own parent"
    problem = description_problem(node["description"])
    if problem:
        return "description: " + problem
    return _check_attributes(node["attributes"])


class Attributes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    iso_3166_1_alpha3: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    iso_3166_2: str | None = Field(default=None, pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
    geonames_code: str | None = Field(default=None, max_length=40)
    population: int | None = Field(default=None, ge=0)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    time_zone: str | None = Field(default=None, max_length=64)
    feature_code: str | None = Field(default=None, max_length=10)
    wikidata_id: str | None = Field(default=None, pattern=r"^Q[0-9]+$")
    continent: str | None = Field(default=None, pattern=r"^(AF|AS|EU|NA|OC|SA|AN)$")


class Node(BaseModel):
    """One region-to-be. Subclasses per level add the level's own rules."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    geo_source_id: str = Field(pattern=GEO_SOURCE_ID_RE.pattern[:-2] + "$")
    level: str
    name: str = Field(min_length=1, max_length=NAME_MAX)
    slug: str = Field(min_length=1, max_length=SLUG_MAX, pattern=r"^[a-z0-9_-]+$")
    parent: str | None = None
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    attributes: Attributes = Field(default_factory=Attributes)

    @field_validator("name", "description")
    @classmethod
    def _netbox_text(cls, value, info):
        problem = (name_problem if info.field_name == "name" else description_problem)(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _not_own_parent(self):
        if self.parent is not None and self.parent == self.geo_source_id:
            raise ValueError("a node cannot be its own parent")
        return self

    def to_dict(self) -> dict:
        data = self.model_dump()
        data["attributes"] = {key: data["attributes"][key] for key in ATTRIBUTE_KEYS}
        return {key: data[key] for key in NODE_KEYS}


class ContinentNode(Node):
    level: str = Field(default="continent", pattern=r"^continent$")

    @model_validator(mode="after")
    def _top_level(self):
        if self.parent is not None:
            raise ValueError("a continent has no parent")
        return self


class _CountryScopedNode(Node):
    @model_validator(mode="after")
    def _has_country(self):
        if self.attributes.country_code is None:
            raise ValueError("attributes.country_code is required at level %s" % self.level)
        return self


class CountryNode(_CountryScopedNode):
    level: str = Field(default="country", pattern=r"^country$")


class Admin1Node(_CountryScopedNode):
    level: str = Field(default="admin1", pattern=r"^admin1$")


class Admin2Node(_CountryScopedNode):
    level: str = Field(default="admin2", pattern=r"^admin2$")


class CityNode(_CountryScopedNode):
    level: str = Field(default="city", pattern=r"^city$")


NODE_MODELS = {
    "continent": ContinentNode, "country": CountryNode, "admin1": Admin1Node,
    "admin2": Admin2Node, "city": CityNode,
}


def parse_node(data: dict) -> Node:
    """The level's model for ``data``; raises ValueError (pydantic's ValidationError) when invalid."""
    model = NODE_MODELS.get(data.get("level") if isinstance(data, dict) else None)
    if model is None:
        raise ValueError("level: %r is not one of %s" % (data.get("level") if isinstance(data, dict) else data,
                                                         ", ".join(LEVELS)))
    return model.model_validate(data)


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
    def _known_levels(cls, value):
        unknown = [level for level in value if level not in LEVEL_INDEX]
        if unknown:
            raise ValueError("unknown levels %s" % unknown)
        return sorted(set(value), key=LEVEL_INDEX.get)


def node_sort_key(node: dict) -> tuple:
    """(level, country code, geo_source_id); total on malformed nodes too, so that they
    reach validation and get a proper message."""
    attributes = node.get("attributes")
    country_code = attributes.get("country_code") if isinstance(attributes, dict) else None
    return (LEVEL_INDEX.get(node.get("level"), len(LEVELS)), str(country_code or ""), str(node.get("geo_source_id")))


def _lines(path: str):
    """(line number, bytes) of each line: decoded one by one (_decode), so bad UTF-8 is
    reported with its line."""
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as handle:
            for number, line in enumerate(handle, 1):
                yield number, line
    except (OSError, EOFError) as exc:
        raise DatasetError("%s: cannot read dataset: %s" % (path, exc)) from exc


def _decode(path: str, number: int, line: bytes):
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError("%s:%d: not UTF-8 (byte 0x%02x at byte %d of the line)"
                           % (path, number, line[exc.start], exc.start + 1)) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DatasetError("%s:%d: not JSON: %s" % (path, number, exc)) from exc


def _header(path: str, lines) -> DatasetHeader:
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


def read_dataset(path: str):
    """(header, iterator of Node): every node validated by its level's pydantic model."""
    lines = _lines(path)
    header = _header(path, lines)

    def nodes():
        for number, line in lines:
            data = _decode(path, number, line)
            try:
                yield parse_node(data)
            except ValueError as exc:
                raise DatasetError("%s:%d: invalid node: %s" % (path, number, exc)) from exc
    return header, nodes()


def iter_node_dicts(path: str, validate: bool = False):
    """The nodes as plain dicts, json.loads per line and nothing more (world-scale planning).

    ``validate=True`` adds the fast check (node_problem), still without pydantic.
    The header is checked (kind, schema_version) and skipped.
    """
    lines = _lines(path)
    _header(path, lines)
    for number, line in lines:
        data = _decode(path, number, line)
        if validate:
            problem = node_problem(data)
            if problem:
                raise DatasetError("%s:%d: invalid node: %s" % (path, number, problem))
        yield data


# one encoder for every line: json.dumps with options builds a new one per call
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def node_line(node) -> str:
    """The canonical line of one node (a Node or a dict), keys in file order, without ``\\n``."""
    if not isinstance(node, dict):
        node = node.to_dict()
    elif tuple(node) != NODE_KEYS or tuple(node["attributes"]) != ATTRIBUTE_KEYS:
        attributes = node["attributes"]
        node = {key: node[key] for key in NODE_KEYS}
        node["attributes"] = {key: attributes[key] for key in ATTRIBUTE_KEYS}
    return _dumps(node)


class _Tree:
    """Checks, while nodes stream past, what NetBox would refuse: unknown or later parents,
    duplicate ids, siblings with equal names or slugs (exact comparison, top level included)."""

    def __init__(self):
        self.ids = set()
        self.names = set()
        self.slugs = set()

    def add(self, node: dict) -> str | None:
        source_id, parent = node["geo_source_id"], node["parent"]
        if source_id in self.ids:
            return "duplicate geo_source_id %s" % source_id
        if parent is not None and parent not in self.ids:
            return "parent %s of %s is not an earlier node" % (parent, source_id)
        if (parent, node["name"]) in self.names:
            return "name %r is used twice under parent %s" % (node["name"], parent)
        if (parent, node["slug"]) in self.slugs:
            return "slug %r is used twice under parent %s" % (node["slug"], parent)
        self.ids.add(source_id)
        self.names.add((parent, node["name"]))
        self.slugs.add((parent, node["slug"]))
        return None


def write_dataset(path: str, header: DatasetHeader, nodes, presorted: bool = False, dry_run: bool = False,
                  mode: int = DEFAULT_FILE_MODE) -> str:
    """write_dataset_file, returning only the sha256 of the file's bytes."""
    return write_dataset_file(path, header, nodes, presorted=presorted, dry_run=dry_run, mode=mode).sha256


def write_dataset_file(path: str, header: DatasetHeader, nodes, presorted: bool = False, dry_run: bool = False,
                       mode: int = DEFAULT_FILE_MODE) -> WriteResult:
    """Write the dataset atomically (_io) with the permission bits ``mode``; returns the
    file's sha256, size and whether it changed.

    ``nodes``: Node objects or node dicts. Sorted here unless ``presorted`` (then the order
    is only checked: a generator stays a stream). Every node is checked (node_problem) and
    the tree rules enforced; any problem raises DatasetError and leaves ``path`` untouched.
    ``header.counts`` and ``header.sha256_nodes`` are filled in from the nodes.
    When the file in place already has the same bytes, it is not rewritten (mtime kept).
    ``dry_run``: write nothing at ``path``; the result tells what writing would do.
    """
    if not presorted:
        nodes = sorted((n if isinstance(n, dict) else n.to_dict() for n in nodes), key=node_sort_key)
    counts = {}
    tree = _Tree()
    nodes_digest = hashlib.sha256()
    previous_key = None
    with tempfile.TemporaryFile() as body:
        writer = io.BufferedWriter(body, 1 << 20)
        for index, node in enumerate(nodes, 2):
            data = node if isinstance(node, dict) else node.to_dict()
            problem = node_problem(data)
            if not problem:
                key = node_sort_key(data)
                if previous_key is not None and key < previous_key:  # equal: a duplicate id, told below
                    problem = "out of order (sort by level, country code, geo_source_id)"
                previous_key = key
            problem = problem or tree.add(data)
            if problem:
                source_id = data.get("geo_source_id") if isinstance(data, dict) else None
                raise DatasetError("%s: line %d (%s): %s" % (path, index, source_id, problem))
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


def _publish(path: str, header_line: bytes, body, dry_run: bool, mode: int) -> WriteResult:
    """The header line, then the spooled node lines, through the atomic write (gzip for .gz)."""
    try:
        with atomic_write(path, mode=mode, dry_run=dry_run) as out:
            # mtime=0 and no file name inside: the same nodes give the same .gz bytes
            sink = gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) \
                if path.endswith(".gz") else out
            sink.write(header_line)
            body.seek(0)
            for block in iter(lambda: body.read(1 << 20), b""):
                sink.write(block)
            if sink is not out:
                sink.close()
    except OSError as exc:
        raise DatasetError("%s: cannot write dataset: %s" % (path, exc)) from exc
    return out.result
