# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Natural Earth admin-0 / admin-1 reader (shapefile zip via pyshp, or GeoJSON) and the
polygons side file.

Natural Earth only enriches GeoNames here: ISO 3166-2 codes and Wikidata ids, linked by
``gn_a1_code`` (GeoNames' ``CC.CODE``) or ``gn_id`` (the geonameid); polygons are kept out
of the dataset and written to a GeoJSON side file for the site placement.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import traceback
import zipfile
import zlib
from typing import Any, Iterable, Iterator, NamedTuple, Pattern

from ansible_collections.geofoss.netbox.plugins.module_utils._io import DEFAULT_FILE_MODE, archive_problem, atomic_write
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.geonames import SourceError

try:
    import shapefile  # pyshp
    PYSHP_IMPORT_ERROR = None
except ImportError:
    shapefile = None
    PYSHP_IMPORT_ERROR = traceback.format_exc()

_ISO_A2_RE = re.compile(r"[A-Z]{2}\Z")
_ISO_A3_RE = re.compile(r"[A-Z]{3}\Z")
_ISO_3166_2_RE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}\Z")
_WIKIDATA_RE = re.compile(r"Q[0-9]+\Z")
_GN_A1_RE = re.compile(r"[A-Z]{2}\.[^\t\x00-\x1f.]{1,80}\Z")


class Admin1Feature(NamedTuple):
    number: int               # the feature's position in the file
    name: str
    country_code: str | None
    gn_a1_code: str | None    # "US.CA"
    gn_id: int | None
    iso_3166_2: str | None
    wikidata_id: str | None
    adm1_code: str | None     # Natural Earth's own id, e.g. "USA-3521"
    latitude: float | None    # Natural Earth's label point
    longitude: float | None
    geometry: dict | None


class Admin0Feature(NamedTuple):
    number: int
    name: str
    iso_a2: str | None        # ISO_A2, or ISO_A2_EH where ISO_A2 is -99
    iso_a3: tuple             # alpha-3 candidates, best first: ISO_A3, ISO_A3_EH, ADM0_A3 (France: -99, -99, FRA)
    wikidata_id: str | None
    geometry: dict | None


def _features(path: str) -> Iterator[tuple[int, dict[str, Any], Any]]:
    """(index, lower-cased properties, geometry) per feature of a shapefile zip or GeoJSON."""
    name = os.path.basename(path)
    if path.endswith((".geojson", ".json")):
        try:
            with open(path, "rb") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as exc:
            raise SourceError(name, "not a readable GeoJSON file: %s" % exc) from exc
        features = document.get("features") if isinstance(document, dict) else None
        if not isinstance(features, list):
            raise SourceError(name, "not a GeoJSON FeatureCollection")
        for index, feature in enumerate(features):
            if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
                raise SourceError(name, "feature %d has no properties object" % index)
            properties = {str(k).lower(): v for k, v in feature["properties"].items()}
            yield index, properties, feature.get("geometry")
        return
    if shapefile is None:
        raise SourceError(name, "reading shapefiles needs the Python library pyshp")
    try:
        with zipfile.ZipFile(path) as archive:
            problem = archive_problem(archive)  # the members are read into memory: no bombs
            if problem:
                raise SourceError(name, problem)
            members = {os.path.splitext(m)[1].lower(): m for m in archive.namelist()}
            if ".shp" not in members or ".dbf" not in members:
                raise SourceError(name, "zip holds no .shp/.dbf pair")
            encoding = "utf-8"
            if ".cpg" in members:
                encoding = archive.read(members[".cpg"]).decode("ascii", "replace").strip() or encoding
            parts = {ext[1:]: io.BytesIO(archive.read(members[ext])) for ext in (".shp", ".dbf", ".shx") if ext in members}
        reader = shapefile.Reader(encoding=encoding, **parts)
        fields = [f[0].lower() for f in reader.fields[1:]]
        for index, shape_record in enumerate(reader.iterShapeRecords()):
            geometry = shape_record.shape.__geo_interface__ if shape_record.shape.shapeType else None
            yield index, dict(zip(fields, shape_record.record)), geometry
    except SourceError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceError(name, "damaged or truncated zip: %s" % exc) from exc
    except (OSError, LookupError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(name, "not a readable shapefile: %s" % exc) from exc
    except Exception as exc:  # pyshp raises its own ShapefileException and struct errors
        raise SourceError(name, "not a readable shapefile: %s: %s" % (type(exc).__name__, exc)) from exc


def _code(value: Any, pattern: Pattern[str]) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        if pattern.match(value):
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value > 0 and value.is_integer() else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip()) or None
    return None


def _degrees(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
        return None  # also NaN
    return float(value)


def read_admin1(path: str, keep_geometry: bool = True) -> Iterator[Admin1Feature]:
    """The admin-1 features; fields missing from older releases come back as None."""
    for index, props, geometry in _features(path):
        yield Admin1Feature(
            number=index,
            name=str(props.get("name") or "").strip(),
            country_code=_code(props.get("iso_a2"), _ISO_A2_RE),
            gn_a1_code=_code(props.get("gn_a1_code"), _GN_A1_RE),
            gn_id=_int(props.get("gn_id")),
            iso_3166_2=_code(props.get("iso_3166_2"), _ISO_3166_2_RE),
            wikidata_id=_code(props.get("wikidataid"), _WIKIDATA_RE),
            adm1_code=str(props.get("adm1_code") or "").strip() or None,
            latitude=_degrees(props.get("latitude"), 90),
            longitude=_degrees(props.get("longitude"), 180),
            geometry=geometry if keep_geometry else None,
        )


def read_admin0(path: str, keep_geometry: bool = True) -> Iterator[Admin0Feature]:
    """The admin-0 features. ISO_A2 = -99 (France, Norway, ...) falls back to ISO_A2_EH; releases
    without ISO_A2_EH (v4 at 1:50m) leave iso_a2 None and the caller matches the alpha-3 candidates."""
    for index, props, geometry in _features(path):
        yield Admin0Feature(
            number=index,
            name=str(props.get("name") or "").strip(),
            iso_a2=_code(props.get("iso_a2"), _ISO_A2_RE) or _code(props.get("iso_a2_eh"), _ISO_A2_RE),
            iso_a3=tuple(code for code in (_code(props.get(key), _ISO_A3_RE) for key in ("iso_a3", "iso_a3_eh", "adm0_a3"))
                         if code),
            wikidata_id=_code(props.get("wikidataid"), _WIKIDATA_RE),
            geometry=geometry if keep_geometry else None,
        )


def write_polygons(path: str, features: Iterable[tuple[dict[str, Any], Any]], dry_run: bool = False,
                   mode: int = DEFAULT_FILE_MODE) -> dict[str, Any]:
    """Write a GeoJSON FeatureCollection atomically (_io); ``features``: (properties, geometry)
    pairs, written sorted by properties["geo_source_id"] so the file is deterministic.
    An identical file in place is left untouched. Returns {count, sha256, changed};
    with ``dry_run`` nothing is written (changed tells whether it would be)."""
    ordered = sorted((f for f in features if f[1]), key=lambda f: f[0]["geo_source_id"])
    with atomic_write(path, mode=mode, dry_run=dry_run) as out:
        out.write(b'{"type":"FeatureCollection","features":[\n')
        for number, (properties, geometry) in enumerate(ordered):
            feature = {"type": "Feature", "properties": properties, "geometry": geometry}
            out.write((("," if number else "") + json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
                       + "\n").encode("utf-8"))
        out.write(b"]}\n")
        written = out.commit()
    return {"count": len(ordered), "sha256": written.sha256, "changed": written.changed}
