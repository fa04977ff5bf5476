# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import email.utils
import io
import socket
import threading

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils import _http
from ansible_collections.geofoss.netbox.plugins.module_utils._http import (
    AmbiguousWriteError,
    HttpClient,
    HttpError,
    TokenBucket,
    parse_retry_after,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._version import COLLECTION_VERSION

from scripted_http import ScriptedServer, Step


class FakeTime:
    """A clock that only moves when somebody sleeps; records every sleep."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []
        self._lock = threading.Lock()

    def clock(self):
        with self._lock:
            return self.now

    def sleep(self, seconds):
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def make_client(fake=None, **kwargs):
    """A client on a fake clock; random() = 1.0 so each backoff is its full ceiling."""
    fake = fake or FakeTime()
    kwargs.setdefault("random", lambda: 1.0)
    return HttpClient(clock=fake.clock, sleep=fake.sleep, wall_clock=fake.clock, **kwargs)


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


# token bucket ------------------------------------------------------------------
def test_bucket_spaces_requests_at_the_rate():
    fake = FakeTime()
    bucket = TokenBucket(rate=4, burst=1, clock=fake.clock, sleep=fake.sleep)
    waits = [bucket.acquire() for _unused in range(5)]
    assert waits == pytest.approx([0.0, 0.25, 0.25, 0.25, 0.25])
    assert fake.now == pytest.approx(1001.0)


def test_bucket_burst_is_free_then_rate_applies():
    fake = FakeTime()
    bucket = TokenBucket(rate=2, burst=3, clock=fake.clock, sleep=fake.sleep)
    waits = [bucket.acquire() for _unused in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.5, 0.5])


def test_bucket_refills_while_idle_but_not_beyond_burst():
    fake = FakeTime()
    bucket = TokenBucket(rate=1, burst=2, clock=fake.clock, sleep=fake.sleep)
    bucket.acquire()
    bucket.acquire()
    fake.now += 100  # idle for long: at most `burst` tokens come back
    waits = [bucket.acquire() for _unused in range(3)]
    assert waits == pytest.approx([0.0, 0.0, 1.0])


def test_bucket_zero_rate_never_waits():
    fake = FakeTime()
    bucket = TokenBucket(rate=0, clock=fake.clock, sleep=fake.sleep)
    assert [bucket.acquire() for _unused in range(50)] == [0.0] * 50
    assert fake.sleeps == []


def test_bucket_rejects_negative_rate():
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=-1)


def test_bucket_is_thread_safe():
    """Threads reserving at one instant each get a distinct slot: 0, 1/r, 2/r, ..."""
    sleeps = []
    lock = threading.Lock()

    def record(seconds):
        with lock:
            sleeps.append(seconds)

    rate, threads, per_thread = 50.0, 8, 40
    bucket = TokenBucket(rate=rate, burst=1, clock=lambda: 5.0, sleep=record)
    waits = []
    barrier = threading.Barrier(threads)

    def worker():
        barrier.wait()
        mine = [bucket.acquire() for _unused in range(per_thread)]
        with lock:
            waits.extend(mine)

    pool = [threading.Thread(target=worker) for _unused in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    total = threads * per_thread
    assert sorted(round(w * rate) for w in waits) == list(range(total))
    assert len(sleeps) == total - 1


# Retry-After parsing -------------------------------------------------------------
def test_parse_retry_after_seconds_and_dates():
    now = 1_700_000_000.0
    assert parse_retry_after("17", now) == 17.0
    assert parse_retry_after(" 2.5 ", now) == 2.5
    assert parse_retry_after("-3", now) == 0.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(42.0)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_is_full_jitter_and_capped():
    draws = iter([0.5, 0.25, 1.0, 1.0])
    client = make_client(backoff_base=1.0, backoff_cap=5.0, random=lambda: next(draws))
    assert client.backoff_delay(0) == pytest.approx(0.5)  # 0.5 * 1
    assert client.backoff_delay(2) == pytest.approx(1.0)  # 0.25 * 4
    assert client.backoff_delay(3) == pytest.approx(5.0)  # 1.0 * min(5, 8)
    assert client.backoff_delay(10) == pytest.approx(5.0)
    assert client.backoff_delay(0, retry_after=500) == client.retry_after_cap


# retries over HTTP ---------------------------------------------------------------
def test_get_retries_503_with_exponential_backoff(server):
    server.add("/data", Step(status=503), Step(status=503), Step(status=200, body=b"hello"))
    fake = FakeTime()
    client = make_client(fake, backoff_base=0.5)
    response = client.request("GET", server.url("/data"))
    assert response.content == b"hello"
    assert len(server.hits("/data")) == 3
    assert fake.sleeps == pytest.approx([0.5, 1.0])  # random()=1.0: the full ceiling
    counters = client.counters
    assert counters["requests"] == 3
    assert counters["retries"] == 2
    assert counters["throttled"] == 0
    assert counters["bytes"] == 5


@pytest.mark.parametrize("status", sorted(_http.RETRY_STATUSES))
def test_every_transient_status_is_retried(server, status):
    server.add("/t", Step(status=status), Step(status=200, body=b"x"))
    client = make_client()
    assert client.request("GET", server.url("/t")).status_code == 200
    assert client.counters["retries"] == 1


def test_429_retry_after_seconds_is_honoured_and_counted(server):
    server.add("/r", Step(status=429, headers={"Retry-After": "7"}), Step(status=200))
    fake = FakeTime()
    client = make_client(fake)
    client.request("GET", server.url("/r"))
    assert fake.sleeps == [7.0]
    assert client.counters["throttled"] == 1
    assert client.counters["retries"] == 1


def test_retry_after_http_date_is_measured_against_the_servers_date(server):
    # The server's Date header is the reference, not the (fake) local clock.
    server_now = 1_800_000_000
    server.add(
        "/d",
        Step(status=503, send_date=False, headers={
            "Date": email.utils.formatdate(server_now, usegmt=True),
            "Retry-After": email.utils.formatdate(server_now + 30, usegmt=True),
        }),
        Step(status=200),
    )
    fake = FakeTime()
    client = make_client(fake)
    client.request("GET", server.url("/d"))
    assert fake.sleeps == pytest.approx([30.0])


def test_retry_after_http_date_without_date_header_uses_the_wall_clock(server):
    fake = FakeTime(start=1_800_000_000.0)
    server.add("/w", Step(status=429, send_date=False,
                          headers={"Retry-After": email.utils.formatdate(fake.now + 12, usegmt=True)}),
               Step(status=200))
    client = make_client(fake)
    client.request("GET", server.url("/w"))
    assert fake.sleeps == pytest.approx([12.0])


def test_retry_after_is_capped(server):
    server.add("/c", Step(status=429, headers={"Retry-After": "3600"}), Step(status=200))
    fake = FakeTime()
    client = make_client(fake, retry_after_cap=20.0)
    client.request("GET", server.url("/c"))
    assert fake.sleeps == [20.0]


def test_retries_run_out_with_a_clear_error(server):
    server.add("/down", Step(status=503, body=b"maintenance", headers={"Retry-After": "1"}))
    fake = FakeTime()
    client = make_client(fake, retries=2)
    with pytest.raises(HttpError) as info:
        client.request("GET", server.url("/down"))
    err = info.value
    assert err.status == 503
    assert err.retry_after == 1.0
    assert "after 2 retries" in str(err)
    assert server.url("/down") in str(err)
    assert "maintenance" in str(err)
    assert len(server.hits("/down")) == 3
    assert fake.sleeps == [1.0, 1.0]


def test_404_is_not_retried_and_names_the_url(server):
    server.add("/missing", Step(status=404, body=b"not here"))
    fake = FakeTime()
    client = make_client(fake)
    with pytest.raises(HttpError) as info:
        client.request("GET", server.url("/missing"))
    assert info.value.status == 404
    assert "404" in str(info.value) and server.url("/missing") in str(info.value)
    assert len(server.hits("/missing")) == 1
    assert fake.sleeps == []


def test_expected_statuses_are_returned(server):
    server.add("/nm", Step(status=304))
    client = make_client()
    assert client.request("GET", server.url("/nm"), expected=(200, 304)).status_code == 304
    assert client.request("GET", server.url("/nm"), expected=None).status_code == 304


def test_rate_limit_applies_to_every_attempt(server):
    server.add("/p", Step(status=200))
    fake = FakeTime()
    client = make_client(fake, rate=2.0, burst=1)
    for _unused in range(4):
        client.request("GET", server.url("/p"))
    assert fake.sleeps == pytest.approx([0.5, 0.5, 0.5])


# writes --------------------------------------------------------------------------
def test_write_is_not_retried_unless_safe(server):
    server.add("/w", Step(status=503), Step(status=201))
    fake = FakeTime()
    client = make_client(fake)
    with pytest.raises(HttpError, match="HTTP 503 Service Unavailable") as info:
        client.request("POST", server.url("/w"), json={"a": 1}, expected=(201,))
    assert info.value.status == 503
    assert not isinstance(info.value, AmbiguousWriteError)
    assert len(server.hits("/w")) == 1
    assert fake.sleeps == []


def test_write_is_retried_when_the_caller_says_it_is_safe(server):
    server.add("/w", Step(status=503), Step(status=201, body=b"{}"))
    client = make_client()
    response = client.request("PATCH", server.url("/w"), json=[{"id": 1}], retry_safe=True, expected=(201,))
    assert response.status_code == 201
    assert [r.method for r in server.hits("/w")] == ["PATCH", "PATCH"]
    assert server.hits("/w")[0].body == b'[{"id": 1}]'


def test_get_marked_unsafe_is_sent_once(server):
    server.add("/g", Step(status=502), Step(status=200))
    client = make_client()
    with pytest.raises(HttpError, match="HTTP 502 Bad Gateway"):
        client.request("GET", server.url("/g"), retry_safe=False)
    assert len(server.hits("/g")) == 1


def test_write_with_connection_lost_after_sending_is_ambiguous(server):
    server.add("/drop", Step(drop=True), Step(status=201))
    client = make_client()
    with pytest.raises(AmbiguousWriteError) as info:
        client.request("POST", server.url("/drop"), json={"name": "x"}, expected=(201,))
    assert "outcome unknown" in str(info.value)
    assert len(server.hits("/drop")) == 1  # it did arrive: exactly why it is ambiguous


def test_write_that_timed_out_is_ambiguous(server):
    release = threading.Event()
    server.add("/slow", Step(status=201, hold=release))
    client = make_client(read_timeout=0.3)
    try:
        with pytest.raises(AmbiguousWriteError) as info:
            client.request("DELETE", server.url("/slow"), expected=(201,))
    finally:
        release.set()
    assert "timed out" in str(info.value)


def test_write_that_never_connected_is_a_plain_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client()
    with pytest.raises(HttpError, match="Connection refused") as info:
        client.request("POST", "http://127.0.0.1:%d/x" % port, json={})
    assert not isinstance(info.value, AmbiguousWriteError)
    assert client.counters["requests"] == 1


def test_get_with_dropped_connection_is_retried(server):
    server.add("/flaky", Step(drop=True), Step(status=200, body=b"ok"))
    fake = FakeTime()
    client = make_client(fake)
    assert client.request("GET", server.url("/flaky")).content == b"ok"
    assert client.counters["retries"] == 1
    assert len(fake.sleeps) == 1


def test_safe_write_with_ambiguous_failures_that_persist_is_still_ambiguous(server):
    server.add("/drop", Step(drop=True))
    client = make_client(retries=1)
    with pytest.raises(AmbiguousWriteError, match="outcome unknown.*after 1 retries"):
        client.request("POST", server.url("/drop"), retry_safe=True)
    assert len(server.hits("/drop")) == 2


# headers, timeouts, secrets -------------------------------------------------------
def test_user_agent_names_the_collection_and_version(server):
    server.add("/ua", Step(status=200))
    client = make_client()
    client.request("GET", server.url("/ua"))
    agent = server.hits("/ua")[0].headers["User-Agent"]
    assert agent.startswith("geofoss.netbox/")
    assert COLLECTION_VERSION in agent


def test_custom_user_agent_and_headers(server):
    server.add("/h", Step(status=200))
    client = make_client(user_agent="my-playbook/1.0 ops@example.com", headers={"Accept": "application/json"})
    client.request("GET", server.url("/h"))
    seen = server.hits("/h")[0].headers
    assert seen["User-Agent"] == "my-playbook/1.0 ops@example.com"
    assert seen["Accept"] == "application/json"


def test_connect_and_read_timeouts_are_separate(monkeypatch):
    client = make_client(connect_timeout=3.0, read_timeout=45.0)
    seen = {}

    class Answer:
        status_code = 200
        content = b""
        headers = {}

    def fake_request(method, url, **kwargs):
        seen.update(kwargs)
        return Answer()

    monkeypatch.setattr(client.session, "request", fake_request)
    client.request("GET", "http://127.0.0.1:1/x")
    assert seen["timeout"] == (3.0, 45.0)
    client.request("GET", "http://127.0.0.1:1/x", timeout=(1.0, 2.0))
    assert seen["timeout"] == (1.0, 2.0)


def test_validate_certs_and_ca_path_set_verify():
    for client in (make_client(validate_certs=False), make_client(ca_path="/etc/ssl/ca.pem"), make_client()):
        assert client.fresh_session.verify == client.session.verify  # writes are verified as reads are
    assert make_client(validate_certs=False).session.verify is False
    assert make_client(ca_path="/etc/ssl/ca.pem").session.verify == "/etc/ssl/ca.pem"
    assert make_client().session.verify is True


def test_messages_strip_credentials_and_never_show_authorization(server):
    server.add("/secret", Step(status=403, body=b"forbidden"))
    client = make_client(headers={"Authorization": "Token s3cr3tt0ken"})
    url = "http://admin:hunter2@127.0.0.1:%d/secret?api_key=k3y&page=2" % server.port
    with pytest.raises(HttpError) as info:
        client.request("GET", url)
    text = str(info.value) + repr(info.value.url)
    for secret in ("hunter2", "admin:", "k3y", "s3cr3tt0ken"):
        assert secret not in text
    assert "page=2" in text
    assert "Authorization" in server.hits("/secret")[0].headers  # sent, just never shown


def test_network_error_message_strips_credentials():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(retries=1)
    with pytest.raises(HttpError) as info:
        client.request("GET", "http://bob:pa55w0rd@127.0.0.1:%d/x?token=tok123" % port)
    assert "pa55w0rd" not in str(info.value) and "tok123" not in str(info.value)
    assert "after 1 retries" in str(info.value)


def test_counters_are_thread_safe(server):
    server.add("/n", Step(status=200, body=b"abc"))
    client = make_client()
    threads = [threading.Thread(target=lambda: [client.request("GET", server.url("/n")) for _unused in range(15)])
               for _unused in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.counters == {"requests": 60, "retries": 0, "throttled": 0, "bytes": 180}


# streaming download ---------------------------------------------------------------
def test_download_retries_a_body_dropped_midway(server):
    payload = bytes(range(256)) * 400
    server.add("/f.zip", Step(body=payload, truncate=1000), Step(body=payload))
    fake = FakeTime()
    client = make_client(fake)
    out = io.BytesIO()
    response, size = client.download(server.url("/f.zip"), out)
    assert response.status_code == 200
    assert size == len(payload)
    assert out.getvalue() == payload  # the partial first attempt was discarded
    assert client.counters["retries"] == 1
    assert client.counters["bytes"] == 1000 + len(payload)
    assert len(fake.sleeps) == 1


def test_download_that_stays_truncated_fails(server):
    server.add("/t.zip", Step(body=b"x" * 5000, truncate=100))
    client = make_client(retries=2)
    with pytest.raises(HttpError) as info:
        client.download(server.url("/t.zip"), io.BytesIO())
    assert "truncated" in str(info.value)
    assert server.url("/t.zip") in str(info.value)
    assert len(server.hits("/t.zip")) == 3


def test_download_304_writes_nothing(server):
    server.add("/c.txt", Step(status=304))
    client = make_client()
    out = io.BytesIO(b"keep")
    response, size = client.download(server.url("/c.txt"), out, headers={"If-None-Match": '"a"'},
                                     expected=(200, 304))
    assert response.status_code == 304 and size == 0
    assert out.getvalue() == b"keep"
    assert server.hits("/c.txt")[0].headers["If-None-Match"] == '"a"'


def test_download_does_not_hide_a_local_write_error(server):
    server.add("/big", Step(body=b"y" * 10000))

    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(28, "No space left on device")

    client = make_client()
    with pytest.raises(OSError) as info:
        client.download(server.url("/big"), FullDisk())
    assert info.value.errno == 28
    assert client.counters["retries"] == 0


def test_a_fresh_connection_request_never_goes_out_on_a_pooled_connection(server):
    """Reads keep their connection alive; a request with fresh_connection opens a new one,
    asks the server to close it, and never takes the one the reads left in the pool."""
    server.add("/r", Step(body=b"{}"))
    server.add("/w", Step(status=201, body=b"[]"), method="POST")
    client = make_client()
    for fresh in (False, False, True, False, True):
        if fresh:
            client.request("POST", server.url("/w"), json=[], expected=(201,), fresh_connection=True)
        else:
            client.request("GET", server.url("/r"))
    reads = [seen for seen in server.requests if seen.method == "GET"]
    writes = [seen for seen in server.requests if seen.method == "POST"]
    assert len({seen.connection for seen in reads}) == 1
    assert len({seen.connection for seen in writes}) == 2
    assert not {seen.connection for seen in writes} & {seen.connection for seen in reads}
    assert [seen.headers.get("Connection") for seen in writes] == ["close", "close"]
    assert all(seen.headers.get("Connection") != "close" for seen in reads)
