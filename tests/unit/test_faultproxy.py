# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault-injecting proxy of the integration tests (tests/integration/python/faultproxy.py),
tested against a small local upstream that counts what reached it."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

PROXY_FILE = os.path.join(os.path.dirname(__file__), os.pardir, "integration", "python", "faultproxy.py")
_spec = importlib.util.spec_from_file_location("faultproxy", PROXY_FILE)
faultproxy = importlib.util.module_from_spec(_spec)
sys.modules["faultproxy"] = faultproxy  # dataclasses look their module up by name
_spec.loader.exec_module(faultproxy)
FaultProxy = faultproxy.FaultProxy


class Upstream:
    """Answers every request with a JSON body; POSTs are stored (a write that lands)."""

    def __init__(self, body_size=2000):
        self.seen = []
        self.created = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.seen.append((self.command, self.path, dict(self.headers), body))
                if self.command == "POST":
                    owner.created.append(body)
                payload = json.dumps({"path": self.path, "method": self.command, "pad": "x" * body_size}).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Request-Id", "req-%d" % len(owner.seen))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


def fresh_session():
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def test_no_faults_forwards_everything_unchanged(upstream):
    with FaultProxy(upstream.url) as proxy:
        response = requests.post(proxy.url + "/api/dcim/regions/?x=1", json={"name": "a"}, timeout=5,
                                 headers={"Authorization": "Token abc"})
        assert response.status_code == 201
        assert response.json()["path"] == "/api/dcim/regions/?x=1"
        assert response.headers["X-Request-Id"] == "req-1"
    method, path, headers, body = upstream.seen[0]
    assert (method, path, json.loads(body)) == ("POST", "/api/dcim/regions/?x=1", {"name": "a"})
    assert headers["Authorization"] == "Token abc"
    assert [(r.fault, r.forwarded, r.status) for r in proxy.log] == [("none", True, 201)]


@pytest.mark.parametrize("fault, status", [("throttle", 429), ("unavailable", 503), ("bad_gateway", 502)])
def test_status_faults_answer_without_forwarding(upstream, fault, status):
    with FaultProxy(upstream.url, retry_after="3") as proxy:
        proxy.persist(fault, 1)
        response = requests.post(proxy.url + "/api/x/", json={}, timeout=5)
        assert response.status_code == status
        assert ("Retry-After" in response.headers) == (fault != "bad_gateway")
        if fault != "bad_gateway":
            assert response.headers["Retry-After"] == "3"
        # the fault was used up: the next one passes
        assert requests.post(proxy.url + "/api/x/", json={}, timeout=5).status_code == 201
    assert len(upstream.created) == 1
    assert [r.forwarded for r in proxy.log] == [False, True]


def test_reset_never_reaches_the_upstream(upstream):
    with FaultProxy(upstream.url) as proxy:
        proxy.persist("reset", 1)
        with pytest.raises(requests.exceptions.ConnectionError, match="Connection reset by peer"):
            fresh_session().post(proxy.url + "/api/x/", json={"n": 1}, timeout=5)
    assert upstream.created == []
    assert proxy.log[0].fault == "reset" and not proxy.log[0].forwarded


def test_drop_after_lands_the_write_but_sends_no_answer(upstream):
    with FaultProxy(upstream.url) as proxy:
        proxy.persist("drop_after", 1)
        with pytest.raises(requests.exceptions.ConnectionError, match="Remote end closed connection without response"):
            fresh_session().post(proxy.url + "/api/x/", json={"n": 1}, timeout=5)
    assert [json.loads(b) for b in upstream.created] == [{"n": 1}]
    assert proxy.log[0].forwarded and proxy.log[0].status == 201


def test_slow_answer_times_the_client_out_after_forwarding(upstream):
    # held far longer than the client waits: stopping the proxy releases it
    with FaultProxy(upstream.url, slow_seconds=600) as proxy:
        proxy.persist("slow", 1)
        with pytest.raises(requests.exceptions.ReadTimeout, match="Read timed out"):
            fresh_session().post(proxy.url + "/api/x/", json={}, timeout=(2, 0.3))
        # the client gave up while the proxy still held the answer (no answer time yet)
        assert [(r.fault, r.forwarded, r.seconds) for r in proxy.log] == [("slow", True, None)]
        assert len(upstream.created) == 1


def test_truncated_body_is_detected_by_the_client(upstream):
    with FaultProxy(upstream.url) as proxy:
        proxy.persist("truncate", 1)
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            fresh_session().get(proxy.url + "/api/x/", timeout=5)
        # a streamed read sees fewer bytes than Content-Length announced
        proxy.persist("truncate", 1)
        response = fresh_session().get(proxy.url + "/api/x/", timeout=5, stream=True)
        declared = int(response.headers["Content-Length"])
        received = b""
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            for chunk in response.iter_content(100):
                received += chunk
        assert 0 < len(received) < declared


def fault_sequence(upstream_url, seed, n=60):
    faults = {"throttle": 0.2, "bad_gateway": 0.1, "unavailable": 0.1}
    with FaultProxy(upstream_url, seed=seed, faults=faults) as proxy:
        session = requests.Session()
        for i in range(n):
            session.get(proxy.url + "/api/%d/" % i, timeout=5)
    return [r.fault for r in proxy.log]


def test_same_seed_same_faults_other_seed_other_faults(upstream):
    first = fault_sequence(upstream.url, seed=11)
    assert fault_sequence(upstream.url, seed=11) == first
    assert fault_sequence(upstream.url, seed=12) != first
    share = sum(f != "none" for f in first) / len(first)
    assert 0.2 < share < 0.6  # 40 % asked for


def test_filters_limit_faults_to_matching_methods_and_paths(upstream):
    with FaultProxy(upstream.url, faults={"bad_gateway": 1.0}, methods=["POST"], paths=["/api/dcim/"]) as proxy:
        assert requests.get(proxy.url + "/api/dcim/regions/", timeout=5).status_code == 200
        assert requests.post(proxy.url + "/api/extras/tags/", json={}, timeout=5).status_code == 201
        assert requests.post(proxy.url + "/api/dcim/regions/", json={}, timeout=5).status_code == 502
    assert [r.fault for r in proxy.log] == ["none", "none", "bad_gateway"]


def test_persist_queues_in_order_and_clear_stops_everything(upstream):
    with FaultProxy(upstream.url, faults={"throttle": 1.0}) as proxy:
        proxy.persist("none", 1)
        proxy.persist("unavailable", 2)
        proxy.persist("bad_gateway", 1)
        statuses = [requests.get(proxy.url + "/", timeout=5).status_code for attempt in range(5)]
        proxy.clear()
        statuses.append(requests.get(proxy.url + "/", timeout=5).status_code)
    assert statuses == [200, 503, 503, 502, 429, 200]
    assert [r.persistent for r in proxy.log] == [True, True, True, True, False, False]
    assert proxy.counts() == {"unavailable": 2, "bad_gateway": 1, "throttle": 1, "none": 2}
    assert [r.number for r in proxy.faulted()] == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="unknown fault"):
        proxy.persist("explode", 1)


def test_persist_for_one_method_leaves_the_other_requests_alone(upstream):
    with FaultProxy(upstream.url) as proxy:
        proxy.persist("unavailable", 1, method="delete")
        proxy.persist("bad_gateway", 1)
        statuses = [requests.request(method, proxy.url + "/", timeout=5).status_code
                    for method in ("GET", "DELETE", "DELETE", "GET")]
    # the GET takes the method-less entry; the first DELETE its own; then all pass
    assert statuses == [502, 503, 200, 200]
    assert [(r.method, r.fault, r.persistent) for r in proxy.log] == [
        ("GET", "bad_gateway", True), ("DELETE", "unavailable", True), ("DELETE", "none", False),
        ("GET", "none", False)]


def test_log_file_has_one_json_line_per_request(upstream, tmp_path):
    path = tmp_path / "faults.jsonl"
    with FaultProxy(upstream.url, log_path=str(path)) as proxy:
        proxy.persist("throttle", 1)
        requests.get(proxy.url + "/a", timeout=5)
        requests.get(proxy.url + "/b", timeout=5)
    # one line per answer, in the order the answers went out: sorted back into arrival order
    lines = sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda x: x["number"])
    assert [(x["path"], x["fault"], x["status"]) for x in lines] == [("/a", "throttle", 429), ("/b", "none", 200)]


def test_lifetime_bounds_the_proxy(upstream):
    proxy = FaultProxy(upstream.url, lifetime=0.3).start()
    assert proxy.running
    assert proxy.wait(10), "the proxy outlived its lifetime"
    assert not proxy.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        FaultProxy("http://127.0.0.1:1", faults={"explode": 0.1})
    with pytest.raises(ValueError, match="sum to at most 1"):
        FaultProxy("http://127.0.0.1:1", faults={"throttle": 0.7, "reset": 0.5})
    with pytest.raises(ValueError, match="http"):
        FaultProxy("ftp://example.org")


def test_upstream_down_gives_502_and_is_logged():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FaultProxy("http://127.0.0.1:%d" % port, upstream_timeout=2) as proxy:
        response = requests.get(proxy.url + "/api/status/", timeout=5)
    assert response.status_code == 502
    assert "upstream failed" in response.json()["detail"]


def test_command_line_prints_url_and_serves_until_its_lifetime(upstream, tmp_path):
    log = tmp_path / "cli.jsonl"
    process = subprocess.Popen(
        [sys.executable, PROXY_FILE, "--upstream", upstream.url, "--seed", "3", "--fault", "throttle=1",
         "--lifetime", "2", "--log", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/x", timeout=5).status_code == 429
        errors = process.communicate(timeout=15)[1]  # it ends by itself
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert json.loads(errors.strip().splitlines()[-1]) == {"throttle": 1}
    assert json.loads(log.read_text())["fault"] == "throttle"
