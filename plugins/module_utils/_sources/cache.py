# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_fetch's cache folder: a manifest of what was fetched, conditional GET,
atomic replacement, checksum verification and zip integrity.

A download goes to a temporary file in the cache folder and replaces the cached
copy only after it is complete and verified, so a failed fetch (truncated body,
broken zip, checksum mismatch, full disk) leaves the previous good copy and its
manifest entry as they were.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import errno
import json
import os
import shutil
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from ansible_collections.geofoss.netbox.plugins.module_utils._common import strip_url_credentials
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._io import (
    DEFAULT_FILE_MODE, HASH_CHUNK, AtomicFile, ensure_mode, sha256_file, write_bytes, zip_problem,
)

if TYPE_CHECKING:
    from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient

try:
    import fcntl
except ImportError:  # not POSIX: runs are not serialised
    fcntl = None  # type: ignore[assignment]

MANIFEST_NAME = "manifest.json"
MANIFEST_KIND = "geofoss.netbox/fetch-manifest"
LOCK_NAME = ".geofoss-fetch.lock"
RESERVED_NAMES = frozenset({MANIFEST_NAME, LOCK_NAME})
HEAD_UNSUPPORTED = (405, 501)  # servers that refuse HEAD: check mode then predicts a change


class CacheError(GeoFossError):
    """A fetch that failed cleanly; the cached copy is untouched."""


def utc_now_iso(now: float | None = None) -> str:
    when = datetime.datetime.now(datetime.timezone.utc) if now is None else \
        datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _normalise_checksum(checksum: Any) -> str | None:
    if not checksum:
        return None
    expected = str(checksum).strip().lower()
    return expected[len("sha256:"):] if expected.startswith("sha256:") else expected


def _mismatch(name: str, url: str, expected: str, got: str) -> str:
    return "checksum mismatch for %s from %s: expected sha256 %s, got %s; the cached copy is kept" % (
        name, strip_url_credentials(url), expected, got)


def _describe_os_error(exc: OSError, what: str) -> str:
    if getattr(exc, "errno", None) == errno.ENOSPC:
        return "%s: no space left on device" % what
    return "%s: %s" % (what, exc.strerror or exc)


class Cache:
    """The cache folder `dest` and its manifest.

    `http` is an HttpClient (only needed for http(s) URLs). Entries are keyed by
    file name; every successful fetch rewrites the manifest atomically. The files and the
    manifest get the permission bits `mode`.
    """

    def __init__(self, dest: str, http: HttpClient | None = None, now: Callable[[], float] | None = None,
                 mode: int = DEFAULT_FILE_MODE) -> None:
        self.dest = os.path.abspath(os.path.expanduser(dest))
        self.http = http
        self.mode = mode
        self._now = now
        self.manifest_path = os.path.join(self.dest, MANIFEST_NAME)
        self.entries: dict[str, dict[str, Any]] = {}
        self._load()

    # manifest --------------------------------------------------------------------
    def _load(self) -> None:
        if os.path.exists(self.dest) and not os.path.isdir(self.dest):
            raise CacheError("dest %s exists and is not a folder" % self.dest)
        try:
            with open(self.manifest_path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise CacheError("cannot read the cache manifest %s: %s; remove it to start afresh"
                             % (self.manifest_path, exc)) from None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list) or data.get("kind") != MANIFEST_KIND or \
                not all(isinstance(item, dict) and isinstance(item.get("path"), str) for item in files):
            raise CacheError("%s is not a geo_fetch manifest (kind %s expected); remove it to start afresh"
                             % (self.manifest_path, MANIFEST_KIND))
        self.entries = {item["path"]: {k: v for k, v in item.items() if k != "path"} for item in files}

    def save(self) -> None:
        # "path" is relative to the manifest's folder, so a cache folder can be moved or copied.
        document = {"kind": MANIFEST_KIND, "schema_version": 1,
                    "files": [dict(self.entries[name], path=name) for name in sorted(self.entries)]}
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
        try:
            write_bytes(self.manifest_path, data, mode=self.mode)
        except OSError as exc:
            raise CacheError(_describe_os_error(exc, "cannot write the cache manifest %s" % self.manifest_path)) from None

    # folder ------------------------------------------------------------------------
    def ensure_dest(self) -> None:
        try:
            os.makedirs(self.dest, exist_ok=True)
        except OSError as exc:
            raise CacheError(_describe_os_error(exc, "cannot create dest %s" % self.dest)) from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise runs on one cache folder (two playbooks fetching into the same dest)."""
        if fcntl is None or not os.path.isdir(self.dest):
            yield
            return
        with open(os.path.join(self.dest, LOCK_NAME), "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def path_for(self, name: Any) -> str:
        """The cache path of file `name`; refuses names that would leave dest or clash with our own files."""
        if not isinstance(name, str) or not name or "\x00" in name:
            raise CacheError("invalid cache file name %r" % (name,))
        if name in (".", "..") or "/" in name or "\\" in name or os.path.isabs(name) or name.startswith("."):
            raise CacheError("refusing file name %r: it would escape dest %s (only plain file names are allowed)"
                             % (name, self.dest))
        if name in RESERVED_NAMES:
            raise CacheError("refusing file name %r: it is reserved for the cache's own bookkeeping" % name)
        path = os.path.join(self.dest, name)
        if os.path.dirname(os.path.realpath(path)) != os.path.realpath(self.dest):
            raise CacheError("refusing file name %r: %s resolves outside dest %s" % (name, path, self.dest))
        return path

    def cached_sha256(self, name: str) -> str | None:
        """sha256 of the cached copy when it exists and matches its manifest entry, else None."""
        path = self.path_for(name)
        entry = self.entries.get(name)
        if not entry or not os.path.isfile(path):
            return None
        if os.path.getsize(path) != entry.get("size"):
            return None
        digest = sha256_file(path)
        return digest if digest == entry.get("sha256") else None

    # fetching ----------------------------------------------------------------------
    def fetch(self, name: str, url: str, dataset: str | None = None, source: str | None = None, force: bool = False,
              checksum: str | None = None, check_mode: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Bring `url` into the cache as file `name`; returns the file's result entry.

        The entry has dataset, path, url, sha256, size, etag, last_modified, fetched
        (content was transferred) and changed (the cached content, or its mode, is different now).
        `extra` (licence, attribution) is stored in the manifest entry as given.
        """
        path = self.path_for(name)
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            fetcher = self._fetch_file
        elif scheme in ("http", "https"):
            self._client(url)
            fetcher = self._fetch_http
        else:
            raise CacheError("unsupported URL scheme %r in %s (use https://, http:// or file://)"
                             % (scheme, strip_url_credentials(url)))
        current = self.cached_sha256(name)
        expected = _normalise_checksum(checksum)
        entry = fetcher(name, path, url, current, None if force else current, expected, check_mode)
        entry.update(extra or {})
        entry.update(dataset=dataset, source=source, path=path, url=strip_url_credentials(url))
        if expected and entry["sha256"] and entry["sha256"] != expected:
            # Reached for a copy that was not re-downloaded (304, or unchanged): it stays as it is.
            raise CacheError(_mismatch(name, url, expected, entry["sha256"]))
        if not entry["changed"] and os.path.isfile(path):
            entry["changed"] = ensure_mode(path, self.mode, dry_run=check_mode)
        if not check_mode:
            self.entries[name] = {k: v for k, v in entry.items() if k not in ("path", "changed", "fetched")}
            self.save()  # an unchanged manifest stays as it is (its mode set)
        return entry

    def _client(self, url: str) -> HttpClient:
        if self.http is None:
            raise CacheError("no HTTP client given for %s" % strip_url_credentials(url))
        return self.http

    def _base_entry(self, name: str) -> dict[str, Any]:
        entry = dict(self.entries.get(name) or {})
        return {"sha256": entry.get("sha256"), "size": entry.get("size"), "etag": entry.get("etag"),
                "last_modified": entry.get("last_modified"), "fetched_at": entry.get("fetched_at")}

    def _fetch_http(self, name: str, path: str, url: str, current: str | None, conditional: str | None,
                    expected: str | None, check_mode: bool) -> dict[str, Any]:
        entry = self._base_entry(name)
        headers = {}
        if conditional is not None:
            if entry.get("etag"):
                headers["If-None-Match"] = entry["etag"]
            if entry.get("last_modified"):
                headers["If-Modified-Since"] = entry["last_modified"]
        if check_mode:
            return self._probe_http(url, headers, entry, current)
        self.ensure_dest()
        with self._writing(name, path) as out:
            response, _written = self._client(url).download(url, out, headers=headers or None, expected=(200, 304))
            if response.status_code == 304:
                out.discard()
                entry.update(fetched=False, changed=False)
                return entry
            return self._adopt(name, out, expected, entry, url, etag=response.headers.get("ETag"),
                               last_modified=response.headers.get("Last-Modified"))

    def _probe_http(self, url: str, headers: dict[str, str], entry: dict[str, Any],
                    cached: str | None) -> dict[str, Any]:
        """Check mode: a HEAD (conditional when cached) predicts the change without writing."""
        response = self._client(url).request("HEAD", url, headers=headers or None,
                                             expected=(200, 304) + HEAD_UNSUPPORTED)
        response.close()
        if response.status_code == 304:
            entry.update(fetched=False, changed=False)
            return entry
        if response.status_code in HEAD_UNSUPPORTED:  # cannot tell without downloading: assume a change
            entry.update(sha256=None, fetched=True, changed=True)
            return entry
        same = cached is not None and (
            (response.headers.get("ETag") and response.headers.get("ETag") == entry.get("etag"))
            or (response.headers.get("Last-Modified") and response.headers.get("Last-Modified") == entry.get("last_modified")
                and str(response.headers.get("Content-Length")) == str(entry.get("size")))
        )
        if not same:
            entry["sha256"] = None  # unknown until downloaded
            length = response.headers.get("Content-Length")
            entry["size"] = int(length) if length and length.isdigit() else None
        entry.update(fetched=not same, changed=not same, etag=response.headers.get("ETag") or entry.get("etag"),
                     last_modified=response.headers.get("Last-Modified") or entry.get("last_modified"))
        return entry

    def _fetch_file(self, name: str, path: str, url: str, current: str | None, conditional: str | None,
                    expected: str | None, check_mode: bool) -> dict[str, Any]:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise CacheError("file:// URL %s names host %r; only local files are supported" % (url, parts.netloc))
        source_path = url2pathname(unquote(parts.path))
        if not os.path.isfile(source_path):
            raise CacheError("source file not found: %s (from %s)" % (source_path, url))
        entry = self._base_entry(name)
        modified = email.utils.formatdate(os.path.getmtime(source_path), usegmt=True)
        if check_mode:
            digest = sha256_file(source_path)
            changed = digest != current
            entry.update(sha256=digest, size=os.path.getsize(source_path), last_modified=modified,
                         fetched=changed, changed=changed)
            return entry
        self.ensure_dest()
        with self._writing(name, path) as out:
            with open(source_path, "rb") as source:
                shutil.copyfileobj(source, out, HASH_CHUNK)
            return self._adopt(name, out, expected, entry, url, etag=None, last_modified=modified)

    @contextlib.contextmanager
    def _writing(self, name: str, path: str) -> Iterator[AtomicFile]:
        """The atomic write of cache file `name`; OSErrors become CacheErrors, the cached copy is kept."""
        try:
            out = AtomicFile(path, mode=self.mode)
        except OSError as exc:
            raise CacheError(_describe_os_error(exc, "cannot write into dest %s" % self.dest)) from None
        try:
            with out:
                yield out
        except OSError as exc:
            raise CacheError(_describe_os_error(
                exc, "cannot write %s into dest %s; the cached copy is kept" % (name, self.dest))) from None

    def _adopt(self, name: str, out: AtomicFile, expected: str | None, entry: dict[str, Any], url: str,
               etag: str | None, last_modified: str | None) -> dict[str, Any]:
        """Verify the complete download, then let it replace the cached copy if it differs."""
        out.flush()
        digest, size = out.sha256, out.size
        if expected and digest != expected:
            raise CacheError(_mismatch(name, url, expected, digest))
        if name.lower().endswith(".zip"):
            problem = zip_problem(out.temp_path) if out.temp_path else None
            if problem:
                raise CacheError("%s from %s is broken: %s; the cached copy is kept"
                                 % (name, strip_url_credentials(url), problem))
        changed = out.commit().changed
        entry.update(sha256=digest, size=size, etag=etag, last_modified=last_modified,
                     fetched_at=utc_now_iso(self._now() if self._now else None), fetched=True, changed=changed)
        return entry
