# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_fetch's engine: source -> dataset names -> file names and URLs -> cache.

geonames and natural_earth are downloaded here (through _cache.Cache); bundled
and nominatim are delegated to _bundled and _nominatim, whose files are recorded
in the same manifest so that every source leaves the same kind of cache folder.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlsplit

from ansible_collections.geofoss.netbox.plugins.module_utils._sources.cache import Cache, CacheError
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.catalog import (
    ADMIN0_LAYER, ADMIN1_LAYER, GEONAMES_BASE_URL, GEONAMES_FILES, LICENCES, NATURAL_EARTH_BASE_URL, NATURAL_EARTH_FILE_RE,
    NATURAL_EARTH_LAYERS, NATURAL_EARTH_SCALES, NOMINATIM_BASE_URL, NOMINATIM_CACHE_TTL, natural_earth_name,
    unknown_dataset,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._common import plain_http_warning, strip_url_credentials
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient, HttpError, http_client_from
from ansible_collections.geofoss.netbox.plugins.module_utils._io import (
    DEFAULT_FILE_MODE, ensure_mode, file_mode, sha256_file,
)

BUNDLED_IMPORT_ERROR: str | None
NOMINATIM_IMPORT_ERROR: str | None
try:
    from ansible_collections.geofoss.netbox.plugins.module_utils._sources import bundled as _bundled
except ImportError:
    _bundled = None  # type: ignore[assignment]
    BUNDLED_IMPORT_ERROR = traceback.format_exc()
else:
    BUNDLED_IMPORT_ERROR = None

try:
    from ansible_collections.geofoss.netbox.plugins.module_utils._sources import nominatim as _nominatim
except ImportError:
    _nominatim = None  # type: ignore[assignment]
    NOMINATIM_IMPORT_ERROR = traceback.format_exc()
else:
    NOMINATIM_IMPORT_ERROR = None

SOURCES = ("bundled", "geonames", "natural_earth", "nominatim")
Params = Mapping[str, Any]  # the module's parameters
MakeHttp = Callable[..., HttpClient]  # (params, rate=None) -> the client

GEONAMES_COUNTRY_PREFIX = "country:"
_COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")

DEFAULT_DATASETS = {
    "bundled": ("countryInfo", "admin1CodesASCII", "cities15000"),
    "geonames": ("countryInfo", "admin1CodesASCII", "cities15000"),
    "natural_earth": (ADMIN0_LAYER, ADMIN1_LAYER),
}


class FetchError(GeoFossError):
    """A fetch that failed; `result` holds what was done before the failure (files, counters)."""


class Target:
    """One file to bring into the cache: its dataset name, file name and URL."""

    __slots__ = ("dataset", "file", "url")

    def __init__(self, dataset: str, file: str, url: str) -> None:
        self.dataset = dataset
        self.file = file
        self.url = url


# names and URLs -----------------------------------------------------------------------
def geonames_file(dataset: object) -> tuple[str, str]:
    """(canonical dataset name, GeoNames file name) for a dataset name, a file name, or a country code."""
    name = str(dataset).strip()
    if name in GEONAMES_FILES:
        return name, GEONAMES_FILES[name]
    by_file = {file: key for key, file in GEONAMES_FILES.items()}
    if name in by_file:
        return by_file[name], name
    code = name[len(GEONAMES_COUNTRY_PREFIX):] if name.lower().startswith(GEONAMES_COUNTRY_PREFIX) else name
    if code.lower().endswith(".zip"):
        code = code[:-4]
    if _COUNTRY_CODE.match(code) and (code.isupper() or name != code):
        code = code.upper()
        return GEONAMES_COUNTRY_PREFIX + code, code + ".zip"
    raise ValueError(unknown_dataset("geonames", dataset, list(GEONAMES_FILES),
                                     ", or a per-country file as country:XX or XX (ISO 3166-1 alpha-2, e.g. country:DE)"))


def natural_earth_file(dataset: object, scale: str) -> tuple[str, str, str]:
    """(layer, scale, Natural Earth file name) for a layer name (at `scale`) or a full ne_<scale>_<layer> name."""
    name = str(dataset).strip()
    ext = ".zip"
    match = NATURAL_EARTH_FILE_RE.match(name)
    if match:
        layer, scale, ext = match.group("layer"), match.group("scale"), match.group("ext") or ".zip"
    else:
        layer = name
    if layer not in NATURAL_EARTH_LAYERS:
        raise ValueError(unknown_dataset(
            "natural_earth", dataset, list(NATURAL_EARTH_LAYERS),
            " (at the scale option, or named in full like ne_50m_admin_0_countries[.zip|.geojson])"))
    if scale not in NATURAL_EARTH_SCALES:
        raise ValueError("unknown natural_earth scale %r; valid: %s" % (scale, ", ".join(NATURAL_EARTH_SCALES)))
    return layer, scale, natural_earth_name(scale, layer, ext)


def normalise_base_url(base_url: object) -> str:
    """base_url with a trailing slash; a plain absolute path becomes a file:// URL."""
    text = str(base_url).strip()
    if text.startswith("/"):
        text = Path(text).as_uri()
    scheme = urlsplit(text).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ValueError("base_url must be an https://, http:// or file:// URL (or an absolute folder path), got %r"
                         % strip_url_credentials(text))
    return text if text.endswith("/") else text + "/"


def file_url(base_url: str, file_name: str, scale: str | None = None) -> str:
    base = base_url.replace("{scale}", scale) if scale else base_url
    return base + quote(file_name)


def plan_targets(source: str, datasets: list[str] | None, base_url: str | None = None,
                 scale: str = "10m") -> list[Target]:
    """The files to fetch for a geonames or natural_earth request, duplicates dropped, in order."""
    datasets = list(datasets) if datasets else list(DEFAULT_DATASETS[source])
    targets, seen = [], set()
    if source == "geonames":
        base = normalise_base_url(base_url or GEONAMES_BASE_URL)
        for dataset in datasets:
            name, file_name = geonames_file(dataset)
            if file_name not in seen:
                seen.add(file_name)
                targets.append(Target(name, file_name, file_url(base, file_name)))
    elif source == "natural_earth":
        base = normalise_base_url(base_url or NATURAL_EARTH_BASE_URL)
        for dataset in datasets:
            layer, layer_scale, file_name = natural_earth_file(dataset, scale)
            if file_name.endswith(".geojson") and not base_url:
                raise ValueError("%s: Natural Earth's download host serves zipped shapefiles only; for GeoJSON set "
                                 "base_url to a mirror that has it" % dataset)
            if file_name not in seen:
                seen.add(file_name)
                targets.append(Target(layer, file_name, file_url(base, file_name, layer_scale)))
    else:
        raise ValueError("source %r has no download plan" % source)
    return targets


def checksums_for(checksums: object, targets: list[Target]) -> dict[str, str]:
    """file name -> sha256 from a dict keyed by dataset or file name; a key matching nothing is an error."""
    if not checksums:
        return {}
    if not isinstance(checksums, dict):
        raise ValueError("checksums must be a dict of dataset or file name -> sha256")
    by_file = {}
    names = []
    for target in targets:
        names += [target.dataset, target.file]
        for key in (target.dataset, target.file):
            if key in checksums:
                by_file[target.file] = str(checksums[key])
    unused = sorted(set(checksums) - set(names))
    if unused:
        raise ValueError("checksums names %s, which this run does not fetch; fetched: %s"
                         % (", ".join(map(str, unused)), ", ".join(dict.fromkeys(names))))
    bad = {k: v for k, v in by_file.items() if not re.match(r"^(sha256:)?[0-9a-fA-F]{64}$", v.strip())}
    if bad:
        raise ValueError("checksums must be sha256 hex digests (64 characters); not one: %s"
                         % ", ".join("%s=%r" % item for item in sorted(bad.items())))
    return by_file


# the run --------------------------------------------------------------------------------
def _http_client(params: Params, rate: float | None = None) -> HttpClient:
    return http_client_from(params, **({} if rate is None else {"rate": rate}))


RESULT_KEYS = ("dataset", "file", "path", "url", "sha256", "size", "etag", "last_modified", "fetched", "changed",
               "fetched_at", "source")
NOMINATIM_KEYS = ("query", "results")  # the query as given, the number of places found


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    public = {key: entry.get(key) for key in RESULT_KEYS}
    public.update({key: entry[key] for key in NOMINATIM_KEYS if key in entry})
    return public


class _Run:
    """State shared by the steps of one run, so that a failure can report what was done."""

    def __init__(self, params: Params, check_mode: bool, make_http: MakeHttp | None) -> None:
        self.params = params
        self.source = params.get("source") or "bundled"
        self.check_mode = check_mode
        self.make_http = make_http or _http_client
        self.http: HttpClient | None = None
        self._cache: Cache | None = None
        self.mode = DEFAULT_FILE_MODE  # the files' permission bits, from the mode option
        self.files: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.extra: dict[str, Any] = {}  # source-specific result keys

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            raise FetchError("dest %s is not open yet" % self.params.get("dest"))
        return self._cache

    @cache.setter
    def cache(self, cache: Cache) -> None:
        self._cache = cache

    def result(self) -> dict[str, Any]:
        result = {
            "changed": any(entry["changed"] for entry in self.files),
            "source": self.source,
            "files": self.files,
            "dest": self._cache.dest if self._cache else self.params.get("dest"),
            "manifest": self._cache.manifest_path if self._cache else None,
            "http": self.http.counters if self.http else {"requests": 0, "retries": 0, "throttled": 0, "bytes": 0},
        }
        if self.source in LICENCES:
            result["licence"], result["attribution"] = LICENCES[self.source]
        result.update(self.extra)
        return result


def run_fetch(params: Params, check_mode: bool = False, make_http: MakeHttp | None = None) -> dict[str, Any]:
    """Run geo_fetch with the module's parameters; returns its result or raises FetchError."""
    run = _Run(params, check_mode, make_http)
    if run.source not in SOURCES:
        raise FetchError("unknown source %r; valid: %s" % (run.source, ", ".join(SOURCES)))
    if not params.get("dest"):
        raise FetchError("dest (the cache folder) is required")
    if run.source != "nominatim":
        stray = [name for name in ("queries", "email") if params.get(name)]
        if stray:
            raise FetchError("%s only apply to source nominatim (source is %s)" % (" and ".join(stray), run.source))
    try:
        run.mode = file_mode(params.get("mode"))
    except ValueError as exc:
        raise FetchError(str(exc)) from None
    try:
        run.cache = Cache(params["dest"], mode=run.mode)
        if run.source in ("geonames", "natural_earth"):
            _fetch_downloads(run)
        elif run.source == "bundled":
            _fetch_bundled(run)
        else:
            _fetch_nominatim(run)
    except FetchError as exc:
        exc.result = dict(run.result(), **exc.result)
        raise
    except (ValueError, CacheError, HttpError) as exc:
        raise FetchError(str(exc), run.result()) from None
    except OSError as exc:
        raise FetchError("cannot use dest %s: %s" % (params["dest"], exc), run.result()) from None
    result = run.result()
    result["warnings"] = run.warnings
    return result


def _fetch_downloads(run: _Run) -> None:
    params = run.params
    targets = plan_targets(run.source, params.get("datasets"), params.get("base_url"), params.get("scale") or "10m")
    expected = checksums_for(params.get("checksums"), targets)
    if any(urlsplit(t.url).scheme in ("http", "https") for t in targets):
        run.http = run.make_http(params)
        run.cache.http = run.http
        warning = plain_http_warning(targets[0].url, "the %s download server" % run.source)
        if warning:
            run.warnings.append(warning + " (set checksums to detect tampering)")
    licence = dict(zip(("licence", "attribution"), LICENCES[run.source]))
    with run.cache.locked():
        for target in targets:
            entry = run.cache.fetch(target.file, target.url, dataset=target.dataset, source=run.source,
                                    force=bool(params.get("force")), checksum=expected.get(target.file),
                                    check_mode=run.check_mode, extra=licence)
            entry["file"] = target.file
            run.files.append(_public(entry))


def _record_delegated(run: _Run, entries: list[dict[str, Any]]) -> None:
    """Add files written by _bundled / _nominatim to the manifest and the results."""
    for entry in entries:
        entry.setdefault("file", os.path.basename(entry["path"]))
        entry.setdefault("source", run.source)
        for key in ("url", "etag", "last_modified", "fetched_at"):
            entry.setdefault(key, None)
        if entry.get("size") is None and os.path.isfile(entry["path"]):
            entry["size"] = os.path.getsize(entry["path"])
        run.files.append(_public(entry))
    if not run.check_mode and entries:
        licence = {"licence": run.extra.get("licence"), "attribution": run.extra.get("attribution")}
        for entry in entries:
            stored = {k: v for k, v in _public(entry).items() if k not in ("path", "changed", "fetched", "file", "results")}
            run.cache.entries[entry["file"]] = dict(stored, **licence)
        run.cache.save()


def _compare_with_dest(run: _Run, entries: list[dict[str, Any]], scratch: str) -> list[dict[str, Any]]:
    """Check mode: entries written into `scratch` are reported at their dest path, changed if they
    differ in content or mode."""
    for entry in entries:
        real = os.path.join(run.cache.dest, os.path.relpath(entry["path"], scratch))
        entry["changed"] = (not os.path.isfile(real) or sha256_file(real) != entry["sha256"]
                            or ensure_mode(real, run.mode, dry_run=True))
        entry["path"] = real
    return entries


def _fetch_bundled(run: _Run) -> None:
    if _bundled is None:
        raise FetchError("the bundled source is not available in this installation: %s" % BUNDLED_IMPORT_ERROR)
    datasets = _bundled.validate_datasets(run.params.get("datasets") or list(DEFAULT_DATASETS["bundled"]))
    if run.params.get("checksums"):
        raise FetchError("checksums apply to downloaded files; the bundled source writes its files from the "
                         "installed Python packages (their versions are in the result's bundled.packages)")
    try:
        if not run.check_mode:
            run.cache.ensure_dest()
        with run.cache.locked():
            if run.check_mode:
                with tempfile.TemporaryDirectory(prefix="geo_fetch-check-") as scratch:
                    entries = _compare_with_dest(run, _bundled.write_bundled_files(scratch, datasets, run.mode),
                                                 scratch)
            else:
                entries = _bundled.write_bundled_files(run.cache.dest, datasets, run.mode)
    except _bundled.BundledDataError as exc:
        raise FetchError(str(exc)) from None
    for entry in entries:
        entry["fetched"] = entry["changed"] and not run.check_mode
    run.extra["bundled"] = described = _bundled.describe()
    run.extra["licence"], run.extra["attribution"] = described.get("licence"), described.get("attribution")
    _record_delegated(run, entries)


def _fetch_nominatim(run: _Run) -> None:
    if _nominatim is None:
        raise FetchError("the nominatim source is not available in this installation: %s" % NOMINATIM_IMPORT_ERROR)
    params = run.params
    queries = params.get("queries")
    if not queries:
        raise FetchError("source nominatim needs queries (a list of search strings or structured queries)")
    if params.get("datasets"):
        raise FetchError("source nominatim takes queries, not datasets")
    base_url = params.get("base_url") or NOMINATIM_BASE_URL
    warning = plain_http_warning(base_url, "the Nominatim server")
    if warning:
        run.warnings.append(warning)
    # the Nominatim searcher spaces its own requests (1/s on the public server): no second limiter
    run.http = http = run.make_http(params, rate=0.0)
    ttl = params.get("cache_ttl")
    ttl = NOMINATIM_CACHE_TTL if ttl is None else int(ttl)
    dest = run.cache.dest
    run.extra["licence"], run.extra["attribution"] = LICENCES["nominatim"]

    def search(into: str) -> list[dict[str, Any]]:
        return _nominatim.run_queries(http, base_url, queries, into, params.get("user_agent"),
                                      params.get("email"), ttl, params.get("rate_limit"), mode=run.mode)

    try:
        if not run.check_mode:
            run.cache.ensure_dest()
        with run.cache.locked():
            if run.check_mode:
                with tempfile.TemporaryDirectory(prefix="geo_fetch-check-") as scratch:
                    for path in glob.glob(os.path.join(dest, "nominatim-*.json")):
                        shutil.copy2(path, scratch)  # answers still fresh are reused, as a real run would
                    entries = _compare_with_dest(run, search(scratch), scratch)
            else:
                entries = search(dest)
                for entry in entries:  # an answer reused from the cache keeps its content, gets the mode
                    entry["changed"] = entry["changed"] or ensure_mode(entry["path"], run.mode)
    except _nominatim.NominatimError as exc:
        raise FetchError(str(exc)) from None
    for entry in entries:
        entry["dataset"] = "nominatim"
    _record_delegated(run, entries)


def needs_http(params: Params) -> bool:
    """True when the run will make HTTP requests (so requests must be installed)."""
    source = params.get("source") or "bundled"
    if source == "nominatim":
        return True
    if source not in ("geonames", "natural_earth"):
        return False
    base_url = (params.get("base_url") or "").strip()
    return not (base_url.startswith("/") or base_url.lower().startswith("file:"))
