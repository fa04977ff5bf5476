# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared HTTP client: a requests session with a token-bucket rate limit,
retries with exponential backoff and full jitter, Retry-After, separate connect
and read timeouts, a User-Agent naming the collection, and counters.

Writes are retried only when the caller says a retry is safe; a write whose
outcome is unknown raises AmbiguousWriteError so that the caller can re-read.
One client may be shared by several threads: the limiter and the counters are
locked. Clock, sleep and random are injectable so tests never sleep.
"""

from __future__ import annotations

import email.utils
import math
import random as _random
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from ansible_collections.geofoss.netbox.plugins.module_utils._common import (
    strip_text_credentials,
    strip_url_credentials,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._version import USER_AGENT

# Without requests the module imports (sanity's import test); HttpClient() then refuses to start
# and modules report REQUESTS_IMPORT_ERROR through missing_required_lib.
REQUESTS_IMPORT_ERROR: str | None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError
except ImportError:
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

# The defaults of the options documented in the http_client doc fragment (one place for them)
DEFAULT_RETRIES = 5
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_RATE_LIMIT = 0.0

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_IN_MESSAGE = 300  # characters of an error body quoted in the message
BODY_KEPT = 4000  # characters of an error body kept on the exception
DOWNLOAD_CHUNK = 1 << 16


class DownloadSink(Protocol):
    """What download() writes to: a binary file, or an _io.AtomicFile (rewound per attempt)."""

    def write(self, data: bytes, /) -> int | None: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def truncate(self, size: int | None = None, /) -> int: ...


class HttpError(GeoFossError):
    """A request that failed: an unexpected status, or a network error after the retries.

    The message and `url` never carry URL credentials; no headers are ever included.
    `transient` says whether waiting may help (a connection error or timeout, a status of
    RETRY_STATUSES); `retry_after` is the server's Retry-After in seconds, if it sent one.
    """

    def __init__(self, message: str, url: str | None = None, status: int | None = None, body: str | None = None,
                 retry_after: float | None = None, transient: bool = False) -> None:
        super().__init__(strip_text_credentials(message))
        self.url = strip_url_credentials(url) if url else url
        self.status = status
        self.body = body[:BODY_KEPT] if isinstance(body, str) else body
        self.retry_after = retry_after
        self.transient = transient


class AmbiguousWriteError(HttpError):
    """A write whose outcome is unknown: it was sent, then the connection was lost or timed out."""


Clock = Callable[[], float]
Sleep = Callable[[float], Any]


class TokenBucket:
    """A thread-safe token bucket: `rate` tokens per second, at most `burst` saved up.

    Each caller reserves its token under the lock (the balance may go below zero)
    and sleeps for its own share outside it, so concurrent callers are spaced
    exactly 1/rate apart and none waits on another's sleep.
    """

    def __init__(self, rate: float = 0.0, burst: int = 1, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0 (0 means unlimited), got %r" % (rate,))
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._last: float | None = None

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            if self._last is not None:
                self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def parse_retry_after(value: object, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP-date).

    `now` is the reference time (epoch seconds) for an HTTP-date; None when the
    value is missing or unreadable. A date in the past gives 0.
    """
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    reference = time.time() if now is None else now
    return max(0.0, when.timestamp() - reference)


def _not_sent(exc: Exception) -> bool:
    """True when a requests exception happened before the request left (nothing can have landed)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    # Malformed URL, missing schema and such: raised before any connection.
    return not isinstance(exc, (requests.exceptions.Timeout, requests.exceptions.ConnectionError,
                                requests.exceptions.ChunkedEncodingError))


def _retryable_exception(exc: Exception) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not heal by waiting
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            requests.exceptions.ChunkedEncodingError))


class _Attempts:
    """Retry bookkeeping for one logical request (a download shares it with its body reads)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> bool:
        return self.used < self.limit


class HttpClient:
    """requests.Session with rate limit, retries, timeouts, User-Agent and counters."""

    def __init__(self, rate: float = DEFAULT_RATE_LIMIT, burst: int = 1, retries: int = DEFAULT_RETRIES,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, retry_after_cap: float = 120.0,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, read_timeout: float = DEFAULT_TIMEOUT,
                 user_agent: str | None = USER_AGENT, validate_certs: bool = True, ca_path: str | None = None,
                 headers: Mapping[str, str] | None = None, clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 random: Callable[[], float] = _random.random, wall_clock: Clock = time.time,
                 pool_size: int = 10) -> None:
        if REQUESTS_IMPORT_ERROR is not None:
            raise RuntimeError("the Python library requests is required: %s" % REQUESTS_IMPORT_ERROR)
        if retries < 0:
            raise ValueError("retries must be >= 0, got %r" % (retries,))
        self.retries = int(retries)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.retry_after_cap = float(retry_after_cap)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.user_agent = user_agent or USER_AGENT
        self._sleep = sleep
        self._random = random
        self._wall_clock = wall_clock
        self.limiter = TokenBucket(rate, burst, clock=clock, sleep=sleep)
        self._lock = threading.Lock()
        self._counters = {"requests": 0, "retries": 0, "throttled": 0, "bytes": 0}
        verify = ca_path if ca_path else bool(validate_certs)
        self.session = self._new_session(pool_size, headers, verify)
        # Requests sent with fresh_connection=True go through a pool of their own, each with
        # "Connection: close": the server closes it after the answer, so that pool never
        # holds a connection to reuse. A request from the shared pool may go out on a
        # kept-alive connection the server is closing at that moment (its idle timeout,
        # gunicorn's 2 s): harmless for a read, which is resent, but for a write it is an
        # answer lost after sending, which costs a read-back and one of the retries.
        self.fresh_session = self._new_session(pool_size, dict(headers or {}, Connection="close"), verify)

    def _new_session(self, pool_size: int, headers: Mapping[str, str] | None, verify: Any) -> Any:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = self.user_agent
        if headers:
            session.headers.update(headers)
        session.verify = verify
        return session

    # counters ------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        """A snapshot: requests sent, retries made, 429 answers, response bytes received."""
        with self._lock:
            return dict(self._counters)

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + amount

    # timing --------------------------------------------------------------------
    def backoff_delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds before retry `retry_number` (0-based): Retry-After (capped), else full jitter."""
        if retry_after is not None:
            return min(float(retry_after), self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** retry_number))
        return self._random() * ceiling

    def pause_before_retry(self, retry_number: int, retry_after: float | None = None) -> None:
        """Count retry `retry_number` (0-based) and wait its backoff: for callers that retry
        on their own terms (the NetBox write layer), with this client's clock and budget."""
        self.count("retries")
        delay = self.backoff_delay(retry_number, retry_after)
        if delay > 0:
            self._sleep(delay)

    def _retry_after(self, response: Any) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        # An HTTP-date is measured against the server's own Date header when it sent one,
        # so a skewed local clock does not stretch or shrink the wait.
        reference = None
        date = response.headers.get("Date")
        if date:
            try:
                reference = email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError, IndexError):
                reference = None
        return parse_retry_after(value, self._wall_clock() if reference is None else reference)

    def _wait_before_retry(self, attempts: _Attempts, retry_after: float | None = None) -> None:
        self.pause_before_retry(attempts.used, retry_after)
        attempts.used += 1

    # requests ------------------------------------------------------------------
    def request(self, method: str, url: str, params: Any = None, json: Any = None, data: Any = None,
                headers: Mapping[str, str] | None = None, stream: bool = False, retry_safe: bool | None = None,
                expected: tuple[int, ...] | None = (200,), timeout: Any = None,
                fresh_connection: bool = False) -> Any:
        """Send one request, retrying what may be retried; returns the requests.Response.

        retry_safe None retries GET/HEAD/OPTIONS only; a write is retried only with
        retry_safe=True. `expected` lists the accepted statuses (None accepts any);
        others raise HttpError. A write that was sent and then lost raises
        AmbiguousWriteError. fresh_connection sends it on a new connection, closed after
        the answer (never one that sat idle in the pool).
        """
        return self._request(method, url, _Attempts(self.retries), params=params, json=json, data=data,
                             headers=headers, stream=stream, retry_safe=retry_safe, expected=expected,
                             timeout=timeout, fresh_connection=fresh_connection)

    def _request(self, method: str, url: str, attempts: _Attempts, params: Any = None, json: Any = None,
                 data: Any = None, headers: Mapping[str, str] | None = None, stream: bool = False,
                 retry_safe: bool | None = None, expected: tuple[int, ...] | None = (200,),
                 timeout: Any = None, fresh_connection: bool = False) -> Any:
        method = method.upper()
        session = self.fresh_session if fresh_connection else self.session
        if retry_safe is None:
            retry_safe = method in SAFE_METHODS
        shown = strip_url_credentials(url)
        timeouts = timeout if timeout is not None else (self.connect_timeout, self.read_timeout)
        while True:
            self.limiter.acquire()
            self.count("requests")
            try:
                # verify given per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override
                # the session's own setting (validate_certs=false, ca_path) otherwise
                response = session.request(method, url, params=params, json=json, data=data, headers=headers,
                                           stream=stream, timeout=timeouts, verify=session.verify)
            except requests.exceptions.RequestException as exc:
                if retry_safe and attempts.left and _retryable_exception(exc):
                    self._wait_before_retry(attempts)
                    continue
                self._raise_network_error(method, shown, exc, attempts)
            if not stream:
                self.count("bytes", len(response.content))
            status = response.status_code
            if status == 429:
                self.count("throttled")
            if status in RETRY_STATUSES and retry_safe and attempts.left and (expected is None or status not in expected):
                retry_after = self._retry_after(response)
                response.close()
                self._wait_before_retry(attempts, retry_after)
                continue
            if expected is not None and status not in expected:
                self._raise_status_error(method, shown, response, attempts)
            return response

    def _raise_network_error(self, method: str, shown: str, exc: Exception, attempts: _Attempts) -> None:
        detail = strip_text_credentials("%s: %s" % (type(exc).__name__, exc))
        after = " after %d retries" % attempts.used if attempts.used else ""
        if method not in SAFE_METHODS and not _not_sent(exc):
            raise AmbiguousWriteError(
                "%s %s: outcome unknown, the request was sent and then %s%s (%s); re-read before retrying"
                % (method, shown, "timed out" if isinstance(exc, requests.exceptions.Timeout) else "the connection was lost",
                   after, detail),
                url=shown, transient=True,
            ) from None
        raise HttpError("%s %s failed%s: %s" % (method, shown, after, detail), url=shown,
                        transient=_retryable_exception(exc)) from None

    def _raise_status_error(self, method: str, shown: str, response: Any, attempts: _Attempts) -> None:
        try:
            body = response.text
        except Exception:  # pylint: disable=broad-except  # a body we cannot read is no reason to hide the status
            body = ""
        retry_after = self._retry_after(response)
        response.close()
        snippet = " ".join((body or "").split())[:BODY_IN_MESSAGE]
        after = " after %d retries" % attempts.used if attempts.used else ""
        raise HttpError(
            "%s %s: HTTP %d %s%s%s" % (method, shown, response.status_code, response.reason or "", after,
                                       (": " + snippet) if snippet else ""),
            url=shown, status=response.status_code, body=body, retry_after=retry_after,
            transient=response.status_code in RETRY_STATUSES,
        )

    def download(self, url: str, fileobj: DownloadSink, headers: Mapping[str, str] | None = None,
                 expected: tuple[int, ...] = (200,), chunk_size: int = DOWNLOAD_CHUNK) -> tuple[Any, int]:
        """GET `url` into the binary file object `fileobj` (rewound and truncated per attempt).

        A body cut short (connection dropped, Content-Length not reached) is retried
        with the same backoff and budget as the request itself. Returns
        (response, bytes written); for a status other than 200 (a 304) nothing is written.
        """
        shown = strip_url_credentials(url)
        attempts = _Attempts(self.retries)
        while True:
            response = self._request("GET", url, attempts, headers=headers, stream=True, expected=expected)
            if response.status_code != 200:
                response.close()
                return response, 0
            fileobj.seek(0)
            fileobj.truncate()
            written = 0
            problem = None
            try:
                for chunk in response.iter_content(chunk_size):
                    fileobj.write(chunk)
                    written += len(chunk)
                problem = _length_problem(response, written)
            except (requests.exceptions.RequestException, ProtocolError, OSError) as exc:
                local = not isinstance(exc, (requests.exceptions.RequestException, ProtocolError,
                                             ConnectionError, TimeoutError))
                if local:
                    raise  # a local write error (disk full) is not the network's fault
                problem = strip_text_credentials("%s: %s" % (type(exc).__name__, exc))
            finally:
                response.close()
                self.count("bytes", _wire_bytes(response, written))
            if problem is None:
                return response, written
            if attempts.left:
                self._wait_before_retry(attempts)
                continue
            after = " after %d retries" % attempts.used if attempts.used else ""
            raise HttpError("GET %s: truncated download%s, %d bytes received: %s" % (shown, after, written, problem),
                            url=shown, status=response.status_code, transient=True)

    def close(self) -> None:
        self.session.close()
        self.fresh_session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def below_minimum(params: Mapping[str, Any], names: Iterable[str], least: float, strict: bool = False,
                  unit: str = "") -> list[str]:
    """"<option> must be at least <least>, got <value>" (with `strict`: "more than") for each
    option of `names` that is set and out of range."""
    problems = []
    for name in names:
        value = params.get(name)
        if value is not None and (value <= least if strict else value < least):
            relation = "more than" if strict else "at least"
            problems.append("%s must be %s %s%s, got %s" % (name, relation, least, unit, value))
    return problems


def http_option_problems(params: Mapping[str, Any]) -> list[str]:
    """What is wrong with the http_client options on their own (checked before any request)."""
    return (below_minimum(params, ("retries", "rate_limit"), 0)
            + below_minimum(params, ("timeout", "connect_timeout"), 0, strict=True, unit=" seconds"))


def http_client_from(params: Mapping[str, Any], **overrides: Any) -> HttpClient:
    """The HttpClient for a module's or lookup's options (the http_client doc fragment:
    retries, rate_limit, timeout, connect_timeout, validate_certs, ca_path; user_agent
    where the plugin has it). An option that is absent or None takes the documented
    default; `overrides` are HttpClient arguments that win (pool_size, sleep, rate...)."""
    def option(name: str, default: Any) -> Any:
        value = params.get(name)
        return default if value is None else value

    settings: dict[str, Any] = {
        "rate": float(option("rate_limit", DEFAULT_RATE_LIMIT)),
        "retries": int(option("retries", DEFAULT_RETRIES)),
        "read_timeout": float(option("timeout", DEFAULT_TIMEOUT)),
        "connect_timeout": float(option("connect_timeout", DEFAULT_CONNECT_TIMEOUT)),
        "validate_certs": bool(option("validate_certs", True)),
        "ca_path": params.get("ca_path") or None,
        "user_agent": params.get("user_agent") or None,
    }
    settings.update(overrides)
    return HttpClient(**settings)


def _wire_bytes(response: Any, decoded: int) -> int:
    """Bytes read off the wire (compressed size when the server used Content-Encoding)."""
    try:
        return int(response.raw.tell())
    except (AttributeError, TypeError, ValueError):
        return decoded


def _length_problem(response: Any, written: int) -> str | None:
    """A text when the body is shorter or longer than its Content-Length said."""
    declared = response.headers.get("Content-Length")
    if declared is None or not declared.strip().isdigit():
        return None
    received = written if not response.headers.get("Content-Encoding") else _wire_bytes(response, written)
    if received != int(declared):
        return "Content-Length is %s but %d bytes arrived" % (declared, received)
    return None
