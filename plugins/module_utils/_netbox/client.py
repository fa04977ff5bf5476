# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NetBox REST client on top of the shared HttpClient: auth header from the token
form, preflight (status, permission probes that write nothing), keyset-paginated reads
with ``fields=``, one-send bulk writes carrying a changelog message, X-Request-ID
collection. Whether a failed write is sent again is decided in one place, ``writer.py``.

Plain requests through HttpClient rather than pynetbox: bulk PATCH and DELETE, the
``fields=`` parameter, keyset pagination and the per-request changelog message are all
one line each here, and every request goes through one rate limiter and retry policy.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ansible_collections.geofoss.netbox.plugins.module_utils._common import redact, strip_text_credentials
from ansible_collections.geofoss.netbox.plugins.module_utils._http import AmbiguousWriteError, HttpClient, HttpError

# the write probes: an empty bulk list is checked for permission and then writes nothing
_PROBE_METHOD = {"add": "POST", "change": "PATCH", "delete": "DELETE"}
_OK = {"GET": (200,), "POST": (201,), "PATCH": (200,), "DELETE": (204,)}
# NetBox's oldest supported major version
MIN_MAJOR_VERSION = 4
# the first release that keeps the region tree in a PostgreSQL ltree; the ones before keep it
# with django-mptt, whose numbering some bulk writes corrupt (docs/netbox-versions.md)
LTREE_SINCE = (4, 7)
MPTT = "mptt"
LTREE = "ltree"

T = TypeVar("T")


class NetBoxError(HttpError):
    """A NetBox request that failed; the message says what to do and never holds the token."""


def auth_header(token: str | None) -> str:
    """The Authorization value for a token: v2 ``nbt_…`` → Bearer, v1 (40 hex) → Token.

    A value that already starts with ``Bearer `` or ``Token `` is kept as given.
    """
    token = (token or "").strip()
    if not token:
        raise NetBoxError("no NetBox token: set netbox_token or the NETBOX_TOKEN environment variable")
    if token.startswith(("Bearer ", "Token ")):
        return token
    if token.startswith("nbt_"):
        return "Bearer " + token
    return "Token " + token


def api_url(base_url: str, endpoint: str) -> str:
    """``https://nb/`` + ``dcim/regions`` → ``https://nb/api/dcim/regions/``."""
    base = (base_url or "").rstrip("/")
    if base.endswith("/api"):
        base = base[:-4]
    return "%s/api/%s/" % (base, endpoint.strip("/"))


def release_of(version: str) -> tuple[int, ...]:
    """``"4.6.8"`` or ``"4.7.3-Docker-3.4"`` → (4, 6, 8), (4, 7, 3); () when it starts with no number."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def tree_kind(version: str) -> str:
    """How a NetBox of this version keeps its region tree: MPTT (django-mptt, before 4.7)
    or LTREE (4.7 and later)."""
    return LTREE if release_of(version)[:2] >= LTREE_SINCE else MPTT


def chunks(items: Iterable[T], size: int) -> list[list[T]]:
    every = list(items)
    size = max(1, int(size))
    return [every[start:start + size] for start in range(0, len(every), size)]


class NetBoxClient:
    """One NetBox, one token, one HttpClient (shared rate limit and counters)."""

    def __init__(self, url: str | None, token: str | None, http: HttpClient, changelog_message: str | None = None,
                 batch_size: int = 200) -> None:
        if not url:
            raise NetBoxError("no NetBox URL: set netbox_url or the NETBOX_URL environment variable")
        self.url = url.rstrip("/")
        self._token = (token or "").strip()
        self.http = http
        self.changelog_message = changelog_message
        self.batch_size = batch_size
        self.request_ids: list[str] = []
        self.cursor_pages: bool | None = None  # does this NetBox page by cursor (?start=)? None until a read tells
        self.version = ""  # NetBox's version, once status() has read it
        self._ids_lock = threading.Lock()
        self._headers = {"Authorization": auth_header(token), "Accept": "application/json"}

    # plumbing ------------------------------------------------------------------
    def _clean(self, text: object) -> str:
        return redact(strip_text_credentials(text), [self._token])

    def request(self, method: str, endpoint: str, params: Any = None, json: Any = None,
                expected: tuple[int, ...] | None = None, retry_safe: bool | None = None) -> Any:
        """One API request; returns the decoded JSON body (None for 204). Raises NetBoxError,
        or the HTTP client's AmbiguousWriteError for a write whose answer was lost."""
        method = method.upper()
        url = api_url(self.url, endpoint)
        try:
            # A bulk write goes on a fresh connection. gunicorn keeps a kept-alive connection in
            # the worker process that accepted it, so two streams can end up sharing one process
            # (and its GIL) for a whole run; a new connection goes to whichever worker is free,
            # and is never one the server is closing for idleness. The handshake is nothing next
            # to a write of 200 objects (seconds). docs/benchmarks.md
            response = self.http.request(method, url, params=params, json=json, headers=self._headers,
                                         expected=expected or _OK[method], retry_safe=retry_safe,
                                         fresh_connection=method != "GET" and bool(json))
        except AmbiguousWriteError:
            raise
        except HttpError as exc:
            raise self._error(method, url, exc) from None
        request_id = response.headers.get("X-Request-ID")
        if request_id and method != "GET" and json:  # writes, not the empty-list probes
            with self._ids_lock:
                self.request_ids.append(request_id)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise NetBoxError("%s %s: HTTP %d but the body is not JSON (is %s really NetBox?)"
                              % (method, url, response.status_code, self.url), status=response.status_code,
                              url=url) from None

    def _error(self, method: str, url: str, exc: HttpError) -> NetBoxError:
        status, body = exc.status, self._clean(exc.body or "")
        detail = _detail(body)
        if status == 401 or (status == 403 and _is_auth_problem(detail)):
            message = ("%s %s: NetBox refused the token (HTTP %d: %s); check netbox_token (a v2 token looks like "
                       "nbt_<key>.<secret>, a v1 token is 40 hex characters) and that it is enabled and not expired"
                       % (method, url, status, detail or "no detail"))
        elif status == 403:
            message = ("%s %s: HTTP 403, the token's user lacks the permission (%s); an administrator must grant it"
                       % (method, url, detail or "permission denied"))
        elif status == 400:
            message = "%s %s: NetBox rejected the data (HTTP 400): %s" % (method, url, body[:2000])
        else:
            message = self._clean(exc.message)
        return NetBoxError(self._clean(message), status=status, url=url, body=body, retry_after=exc.retry_after,
                           transient=exc.transient)

    # reads ---------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """/api/status/; fails clearly when the URL is not a NetBox 4.x."""
        data = self.request("GET", "status")
        version = str((data or {}).get("netbox-version", "")) if isinstance(data, dict) else ""
        if not version:
            raise NetBoxError("%s/api/status/ answered without netbox-version: is netbox_url a NetBox?" % self.url)
        major = version.split(".", 1)[0]
        if not major.isdigit() or int(major) < MIN_MAJOR_VERSION:
            raise NetBoxError("NetBox %s at %s: this collection needs NetBox %d.x or newer"
                              % (version, self.url, MIN_MAJOR_VERSION))
        self.version = version
        return data

    @property
    def tree(self) -> str:
        """MPTT or LTREE: how this NetBox keeps its region tree (read by status(); a client
        that never asked is taken for the newest kind)."""
        return tree_kind(self.version) if self.version else LTREE

    def iter_objects(self, endpoint: str, params: Mapping[str, Any] | None = None,
                     fields: Sequence[str] | None = None, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every object of `endpoint`, in pages ordered by id, each starting after the last id
        of the one before, so rows that are created or deleted during the read neither repeat
        nor shift pages.

        NetBox 4.7 pages by cursor (``?start=<id>``): no COUNT of every matching row on
        each page, which on regions also evaluates the subtree site count per row and made
        the pages of a 35,000-region read cost 0.6 s instead of 0.13 s. A NetBox that
        ignores ``start`` answers with a count; the read then goes on with
        ``ordering=id&id__gt=<id>`` (offset mode)."""
        query = dict(params or {})
        query["limit"] = page_size
        if fields:
            names = list(fields)
            if "id" not in names:
                names.insert(0, "id")
            query["fields"] = ",".join(names)
        last_id = 0
        while True:
            page = None
            if self.cursor_pages is not False:
                page = self.request("GET", endpoint, params=dict(query, start=last_id + 1))
                cursor = isinstance(page, dict) and "count" in page and page["count"] is None
                if self.cursor_pages is None:
                    self.cursor_pages = cursor
                if not cursor:
                    page = None  # in the server's own order, not by id: ask again by id
            if page is None:
                page = self.request("GET", endpoint, params=dict(query, ordering="id", id__gt=last_id))
            results = page.get("results", []) if isinstance(page, dict) else []
            yield from results
            # "next" rather than a short page: NetBox caps limit at MAX_PAGE_SIZE
            if not results or not page.get("next"):
                return
            last_id = results[-1]["id"]

    def read_all(self, endpoint: str, params: Mapping[str, Any] | None = None, fields: Sequence[str] | None = None,
                 page_size: int = 1000, streams: int = 2,
                 shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: obj) -> list[dict[str, Any]]:
        """Every object of `endpoint` as a list, read `streams` id ranges at a time: a read
        waits on NetBox, and gunicorn answers pages in parallel. The ranges split the ids up
        to the highest one; each is paginated like iter_objects, and the result keeps id order.
        `shape` is applied to each object as its page arrives, so what it drops is never held
        for the whole read."""
        query = dict(params or {})
        streams = max(1, int(streams))
        if streams > 1:
            top = self.request("GET", endpoint, params=dict(query, ordering="-id", limit=1, fields="id"))
            highest = (top.get("results") or [{"id": 0}])[0]["id"] if isinstance(top, dict) else 0
            span = -(-highest // streams)  # ceiling division
            if highest and span >= page_size:
                ranges = [dict(query, id__gte=start, id__lte=start + span - 1)
                          for start in range(1, highest + 1, span)]
                with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
                    parts = pool.map(lambda part: [shape(obj) for obj in self.iter_objects(endpoint, part, fields,
                                                                                           page_size)], ranges)
                    return [obj for part in parts for obj in part]
        return [shape(obj) for obj in self.iter_objects(endpoint, query, fields, page_size)]

    def missing_permissions(self, wanted: Mapping[str, Sequence[str]]) -> list[str]:
        """``{"dcim.region": ("view", "add", "change")}`` → the ones the token lacks, e.g.
        ``["add dcim.region"]``. View is probed with a GET of one row; add/change/delete
        with a bulk request of an empty list, which NetBox checks and then writes nothing."""
        missing = []
        for model, actions in wanted.items():
            endpoint = _ENDPOINTS.get(model) or model.replace(".", "/", 1) + "s"
            for action in actions:
                method = "GET" if action == "view" else _PROBE_METHOD[action]
                try:
                    if method == "GET":
                        self.request("GET", endpoint, params={"limit": 1, "brief": 1})
                    else:
                        self.request(method, endpoint, json=[], expected=(200, 201, 204), retry_safe=True)
                except NetBoxError as exc:
                    if exc.status == 403 and not _is_auth_problem(_detail(exc.body or "")):
                        missing.append("%s %s" % (action, model))
                    else:
                        raise
        return missing

    # writes --------------------------------------------------------------------
    def write(self, method: str, endpoint: str, objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One bulk POST, PATCH or DELETE of `objects`, each stamped with the changelog
        message, sent once: the HTTP client does not repeat a write; whether to send it
        again is the caller's decision (writer.BatchWriter), after re-reading what landed.
        Returns what NetBox answered (nothing for a DELETE)."""
        stamped = [dict(obj, changelog_message=self.changelog_message) if self.changelog_message else dict(obj)
                   for obj in objects]
        return self.request(method, endpoint, json=stamped, retry_safe=False) or []


_ENDPOINTS = {
    "dcim.region": "dcim/regions",
    "dcim.site": "dcim/sites",
    "extras.customfield": "extras/custom-fields",
    "extras.tag": "extras/tags",
    "extras.customlink": "extras/custom-links",
    "extras.exporttemplate": "extras/export-templates",
}


def _detail(body: str | None) -> str:
    """NetBox's ``{"detail": "..."}`` text, or the start of the body."""
    text = body or ""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"])
    except ValueError:
        pass
    return " ".join(text.split())[:300]


def _is_auth_problem(detail: str | None) -> bool:
    """True for a 403 that is about the credentials, not about a permission."""
    words = (detail or "").lower()
    return any(marker in words for marker in ("invalid", "authentication credentials", "token", "expired",
                                              "authorization header"))
