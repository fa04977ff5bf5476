# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nominatim search within the OSM Foundation's usage policy.

https://operations.osmfoundation.org/policies/nominatim/ asks of every client of
the public server (nominatim.openstreetmap.org): at most 1 request per second, a
User-Agent (or Referer) that identifies the application, and results cached on the
client's side. This module enforces all three for the public server, whatever the
caller asks for; a self-hosted Nominatim (any other base_url) may be queried faster.

Answers are cached one JSON file per query, the body exactly as the server sent it
(a `/search?format=jsonv2&addressdetails=1` array), named after a hash of the
normalised query and the server, and reused while younger than the cache TTL.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Callable, Union
from urllib.parse import urlencode, urlsplit

from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient, HttpError, TokenBucket
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._io import DEFAULT_FILE_MODE, write_bytes
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.catalog import NOMINATIM_CACHE_TTL
from ansible_collections.geofoss.netbox.plugins.module_utils._version import USER_AGENT

try:
    import fcntl
except ImportError:  # not POSIX: each process spaces only its own requests
    fcntl = None  # type: ignore[assignment]

# A query: free text, or a dict of structured fields and parameters.
Query = Union[str, dict[str, Any]]

POLICY_URL = "https://operations.osmfoundation.org/policies/nominatim/"
PUBLIC_HOSTS = frozenset({"nominatim.openstreetmap.org"})
PUBLIC_MAX_RATE = 1.0  # requests per second the public server allows
ANSWER_FORMAT = (("format", "jsonv2"), ("addressdetails", "1"))

STRUCTURED_FIELDS = ("amenity", "street", "city", "county", "state", "country", "postalcode")
OPTIONAL_PARAMETERS = ("countrycodes", "limit", "viewbox", "bounded", "layer", "featureType", "accept-language",
                       "extratags", "namedetails", "dedupe", "exclude_place_ids")
# Set by this module (format, addressdetails, email) or making answers too large to cache (polygons).
RESERVED_PARAMETERS = ("format", "addressdetails", "email", "json_callback", "polygon_geojson", "polygon_kml",
                       "polygon_svg", "polygon_text", "polygon_threshold")
# User-Agents that identify a library, not a deployment: the public server blocks them.
GENERIC_USER_AGENT_PREFIXES = ("python-requests/", "python-urllib", "curl/", "wget/", "ansible-httpget")


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


_PARAMETER_NAMES = {_key(name): name for name in ("q",) + STRUCTURED_FIELDS + OPTIONAL_PARAMETERS}
_RESERVED_KEYS = {_key(name) for name in RESERVED_PARAMETERS}
_STRUCTURED_KEYS = frozenset(STRUCTURED_FIELDS)


class NominatimError(GeoFossError):
    """A Nominatim search that cannot be made or failed; the message says why and what to do."""

    def __init__(self, message: str, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


# policy ---------------------------------------------------------------------------------
def _host(base_url: str | None) -> str:
    try:
        return (urlsplit(base_url or "").hostname or "").lower()
    except ValueError:
        return ""


def is_public_server(base_url: str) -> bool:
    """True when base_url is the OSM Foundation's public Nominatim."""
    return _host(base_url).rstrip(".") in PUBLIC_HOSTS


def effective_rate(base_url: str, rate_limit: float | None) -> float:
    """Requests per second actually used: the public server never more than 1; 0 means unlimited elsewhere."""
    rate = float(rate_limit or 0)
    if rate < 0:
        raise NominatimError("rate_limit must be >= 0 requests per second (0: unlimited on a self-hosted server), "
                             "got %r" % (rate_limit,))
    if is_public_server(base_url):
        return PUBLIC_MAX_RATE if rate <= 0 else min(rate, PUBLIC_MAX_RATE)
    return rate


def user_agent_problem(user_agent: str | None) -> str | None:
    """Why the public server would refuse this User-Agent, or None when it identifies a deployment."""
    text = (user_agent or "").strip()
    if not text:
        return "no User-Agent was given"
    if text == USER_AGENT:
        return "the User-Agent %r is the collection's default and names no deployment" % text
    if text.lower().startswith(GENERIC_USER_AGENT_PREFIXES):
        return "the User-Agent %r names a library, not a deployment" % text
    return None


def check_user_agent(base_url: str, user_agent: str | None) -> None:
    """Raise NominatimError when the public server is asked without an identifying User-Agent."""
    if not is_public_server(base_url):
        return
    problem = user_agent_problem(user_agent)
    if problem:
        raise NominatimError(
            "refusing to query the public Nominatim server (%s): %s. Its usage policy (%s) requires a "
            "User-Agent that identifies your application and a way to contact you, at most 1 request per "
            "second, no bulk geocoding, and cached results; clients that break it are blocked. Set user_agent "
            "to something like 'acme-netops-netbox-geo/1.0 (netops@example.com)' (and email to your address), "
            "or point base_url at a self-hosted Nominatim." % (_host(base_url), problem, POLICY_URL)
        )


def search_endpoint(base_url: str) -> str:
    """`<base_url>/search` for an http(s) base_url (a trailing /search is not doubled)."""
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NominatimError("base_url must be an http:// or https:// URL of a Nominatim server, got %r"
                             % (base_url,))
    if parts.query or parts.fragment:
        raise NominatimError("base_url must not carry a query or fragment, got %r" % (base_url,))
    endpoint = base_url.rstrip("/")
    return endpoint if endpoint.endswith("/search") else endpoint + "/search"


# queries ---------------------------------------------------------------------------------
def _value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [_value(name, item) for item in value]
        return ",".join(item for item in items if item) or None
    if isinstance(value, str):
        text = " ".join(value.split())
        if name == "countrycodes":
            text = text.replace(" ", "").lower()
        return text or None
    raise NominatimError("query field %r: expected a string, a number or a list, got %s" % (name, type(value).__name__))


def normalise_query(query: Query) -> dict[str, str]:
    """The query as Nominatim parameters: whitespace collapsed, empty fields dropped, keys sorted.

    A string is a free-form query (q=); a dict holds either q or structured fields
    (street, city, county, state, country, postalcode, amenity), plus optional
    parameters (countrycodes, limit, accept-language, ...).
    """
    if isinstance(query, str):
        query = {"q": query}
    if not isinstance(query, dict):
        raise NominatimError("a Nominatim query is a string or a dict of fields, got %s: %r"
                             % (type(query).__name__, query))
    params = {}
    for raw_name, raw_value in query.items():
        key = _key(str(raw_name))
        if key in _RESERVED_KEYS:
            raise NominatimError("query field %r is set by the collection and cannot be given (query %r)"
                                 % (raw_name, query))
        if key not in _PARAMETER_NAMES:
            raise NominatimError("unknown Nominatim query field %r in %r; valid: %s" % (
                raw_name, query, ", ".join(("q",) + STRUCTURED_FIELDS + OPTIONAL_PARAMETERS)))
        name = _PARAMETER_NAMES[key]
        value = _value(name, raw_value)
        if value is not None:
            params[name] = value
    structured = _STRUCTURED_KEYS.intersection(params)
    if "q" in params and structured:
        raise NominatimError("query %r mixes q with structured fields (%s): Nominatim accepts one or the other"
                             % (query, ", ".join(sorted(structured))))
    if "q" not in params and not structured:
        raise NominatimError("query %r has nothing to search for: give q or one of %s"
                             % (query, ", ".join(STRUCTURED_FIELDS)))
    return dict(sorted(params.items()))


def cache_key(endpoint: str, params: dict[str, str]) -> str:
    """A hash of the server and the normalised query; letter case does not matter to Nominatim."""
    canonical = json.dumps({"endpoint": endpoint.lower(), "params": {k: v.casefold() for k, v in params.items()}},
                           sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _answer(data: bytes, url: str) -> list[dict[str, Any]]:
    """The parsed body, which must be a JSON array of places."""
    try:
        answer = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        snippet = " ".join(data[:200].decode("utf-8", "replace").split())
        raise NominatimError("Nominatim answer for %s is not JSON (%s): %s" % (url, exc, snippet), url=url) from None
    if isinstance(answer, dict) and "error" in answer:
        raise NominatimError("Nominatim refused %s: %s" % (url, answer["error"]), url=url)
    if not isinstance(answer, list):
        raise NominatimError("Nominatim answer for %s is a JSON %s, expected an array of places"
                             % (url, type(answer).__name__), url=url)
    return answer


class SharedSpacing:
    """Spaces requests 1/rate apart across every process and thread that shares one cache folder.

    Ansible runs lookups and tasks in several worker processes (forks): a limiter in
    memory would let each of them send 1 request per second. The time of the last
    request is kept in a small file under an exclusive lock, held while waiting, so
    the callers queue up behind each other.
    """

    def __init__(self, path: str, rate: float, wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._wall_clock = wall_clock
        self._sleep = sleep

    def acquire(self) -> float:
        """Wait for this caller's turn; returns the seconds waited."""
        if not self.interval:
            return 0.0
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "a+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                try:
                    last = float(handle.read().strip())
                except ValueError:
                    last = None
                now = self._wall_clock()
                # capped: a clock set back must not stall the run for the difference
                wait = 0.0 if last is None else min(self.interval, max(0.0, last + self.interval - now))
                if wait > 0:
                    self._sleep(wait)
                handle.seek(0)
                handle.truncate()
                handle.write(repr(now + wait))
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return wait


class NominatimSearch:
    """Searches one Nominatim server: policy checks, rate limit, per-query answer cache.

    Requests are spaced 1/rate apart across all instances and processes that share
    `cache_dir` (without one, per instance). `cache_dir` None also disables the cache;
    `cache_ttl` None keeps answers forever, 0 always asks the server. Answer files are
    written with the permission bits `file_mode`.
    """

    def __init__(self, http: HttpClient, base_url: str, user_agent: str | None = None, email: str | None = None,
                 cache_dir: str | None = None, cache_ttl: float | None = NOMINATIM_CACHE_TTL,
                 rate_limit: float | None = PUBLIC_MAX_RATE, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, wall_clock: Callable[[], float] = time.time,
                 file_mode: int = DEFAULT_FILE_MODE) -> None:
        self.endpoint = search_endpoint(base_url)
        self.public = is_public_server(base_url)
        check_user_agent(base_url, user_agent)
        if cache_ttl is not None and cache_ttl < 0:
            raise NominatimError("cache_ttl must be >= 0 seconds (or None: never expire), got %r" % (cache_ttl,))
        if email is not None and email.strip() and "@" not in email:
            raise NominatimError("email must be an e-mail address the server operators can reach, got %r" % (email,))
        self.http = http
        self.user_agent = (user_agent or "").strip() or None
        self.email = (email or "").strip() or None
        self.cache_dir = cache_dir
        self.cache_ttl = cache_ttl
        self.file_mode = file_mode
        self.rate = effective_rate(base_url, rate_limit)
        if cache_dir and fcntl is not None:
            spacing_file = os.path.join(cache_dir, ".nominatim-%s.rate" % (_host(base_url) or "server"))
            self.limiter: SharedSpacing | TokenBucket = SharedSpacing(spacing_file, self.rate, wall_clock=wall_clock,
                                                                      sleep=sleep)
        else:
            self.limiter = TokenBucket(self.rate, 1, clock=clock, sleep=sleep)
        self._wall_clock = wall_clock

    def url_for(self, params: dict[str, str]) -> str:
        """The request URL as reported: the e-mail address is left out."""
        return self.endpoint + "?" + urlencode(list(ANSWER_FORMAT) + list(params.items()))

    def cache_path(self, params: dict[str, str]) -> str | None:
        if not self.cache_dir:
            return None
        return os.path.join(self.cache_dir, "nominatim-search-%s.json" % cache_key(self.endpoint, params)[:32])

    def _cached(self, path: str | None) -> tuple[bytes, list[dict[str, Any]]] | None:
        """(bytes, answer) of a fresh, readable cache file, else None."""
        if path is None or self.cache_ttl == 0:
            return None
        try:
            age = self._wall_clock() - os.stat(path).st_mtime
            if self.cache_ttl is not None and age >= self.cache_ttl:
                return None
            with open(path, "rb") as handle:
                data = handle.read()
            return data, _answer(data, path)
        except (OSError, NominatimError):
            return None  # missing or damaged: ask the server again

    def _fetch(self, params: dict[str, str], url: str) -> bytes:
        request_url = url + ("&" + urlencode({"email": self.email}) if self.email else "")
        headers = {"Accept": "application/json"}
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        self.limiter.acquire()
        try:
            # 403 and 429 come back here rather than being retried: asking again breaks the policy
            response = self.http.request("GET", request_url, headers=headers, expected=(200, 400, 403, 429))
        except HttpError as exc:
            raise NominatimError("Nominatim search failed: %s" % exc.message.replace(request_url, url),
                                 url=url, status=exc.status) from None
        status = response.status_code
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            raise NominatimError(
                "Nominatim answered HTTP 429 Too Many Requests for %s: this client sent more than the server "
                "allows%s. The public server allows 1 request per second (%s); lower rate_limit, keep "
                "cache_ttl long so answers are reused, and wait before running again%s."
                % (url, " (%.3g requests/s were configured)" % self.rate if self.rate else "", POLICY_URL,
                   " (Retry-After: %s s)" % retry_after if retry_after else ""),
                url=url, status=429)
        if status == 403:
            raise NominatimError(
                "Nominatim answered HTTP 403 Forbidden for %s: the server blocked this client, usually under "
                "its usage policy (%s) for a missing or generic User-Agent, too many requests or bulk "
                "geocoding. Set user_agent to a string naming your deployment with contact details (and "
                "email), cache answers, stay at 1 request per second, or use a self-hosted Nominatim."
                % (url, POLICY_URL), url=url, status=403)
        if status == 400:
            raise NominatimError("Nominatim rejected the query %s (HTTP 400): %s"
                                 % (url, " ".join(response.text.split())[:300]), url=url, status=400)
        return response.content

    def lookup(self, query: Query) -> dict[str, Any]:
        """Search one query: {query, path, url, sha256, fetched, changed (the answer file), results
        (the list of places)}."""
        params = normalise_query(query)
        url = self.url_for(params)
        path = self.cache_path(params)
        fetched = changed = False
        cached = self._cached(path)
        if cached is None:
            data = self._fetch(params, url)
            answer = _answer(data, url)
            if path is not None:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                changed = write_bytes(path, data, mode=self.file_mode).changed
                # the age of a cached answer is its mtime: set from the clock the TTL is measured with
                now = self._wall_clock()
                os.utime(path, (now, now))
            fetched = True
        else:
            data, answer = cached
        return {"query": query, "path": path, "url": url, "sha256": hashlib.sha256(data).hexdigest(),
                "fetched": fetched, "changed": changed, "results": answer}

    def search(self, query: Query) -> list[dict[str, Any]]:
        """The places Nominatim finds for `query` (cached), in its jsonv2 format with address details."""
        return self.lookup(query)["results"]


def run_queries(http: HttpClient, base_url: str, queries: Query | list[Query], dest_dir: str, user_agent: str | None,
                email: str | None, cache_ttl: float | None, rate_limit: float | None,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                wall_clock: Callable[[], float] = time.time, mode: int = DEFAULT_FILE_MODE) -> list[dict[str, Any]]:
    """geo_fetch's nominatim source: every query searched (or reused from dest_dir), one file each.

    Returns per query {query, path, url, sha256, fetched, changed, results}, where `results` is the
    number of places found (the places themselves are in the file at `path`). Every query
    is checked before the first request, so a bad one does not leave a run half done.
    """
    searcher = NominatimSearch(http, base_url, user_agent=user_agent, email=email, cache_dir=dest_dir,
                               cache_ttl=cache_ttl, rate_limit=rate_limit, clock=clock, sleep=sleep,
                               wall_clock=wall_clock, file_mode=mode)
    if not dest_dir:
        raise NominatimError("dest_dir is required: the nominatim source writes one answer file per query")
    if isinstance(queries, (str, dict)):
        queries = [queries]
    for query in queries:
        normalise_query(query)
    entries = []
    for query in queries:
        entry = searcher.lookup(query)
        entry["results"] = len(entry["results"])
        entries.append(entry)
    return entries
