# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting HTTP reverse proxy for the test suite.

It listens on 127.0.0.1 (port 0: the OS picks one) and forwards every request to an
upstream (the real NetBox), injecting faults with per-fault probabilities drawn from a
seeded random generator, so a failing run reproduces with the same seed:

  throttle      429 with Retry-After; not forwarded
  bad_gateway   502; not forwarded
  unavailable   503 with Retry-After; not forwarded
  reset         the connection is reset (RST) before the request reaches the upstream
  drop_after    forwarded (a write lands), then the connection closes without an answer
  slow          forwarded, the answer held `slow_seconds` (longer than the client's timeout)
  truncate      forwarded, the answer cut after half its body

    with FaultProxy(upstream, seed=7, faults={"throttle": 0.1, "drop_after": 0.05}) as proxy:
        ... proxy.url ...                        # point the client here
        proxy.persist("unavailable", count=20)   # the next 20 matching requests get this fault
        proxy.persist("none", count=3)           # ("none": the next 3 pass; queue it first to delay a fault)
        proxy.persist("reset", 1, method="PATCH")  # the next PATCH is reset, other requests go on
        proxy.log                                # one FaultRecord per request
        proxy.counts()                           # {"throttle": 3, "none": 40, ...}

Faults hit only requests whose method is in `methods` and whose path starts with one of
`paths` (default: all); the others pass through and are logged with fault "none".
A proxy stops by itself after `lifetime` seconds, so a forgotten one never outlives a test.
With `tls_cert` (and `tls_key`) it speaks https:// to its clients (certificate tests).

Command line (prints the URL, then serves until the lifetime ends or Ctrl-C):
    python faultproxy.py --upstream http://127.0.0.1:8765 --seed 7 --fault throttle=0.1 \\
        --fault drop_after=0.05 --lifetime 600 --log faults.jsonl
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import ssl
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("throttle", "bad_gateway", "unavailable", "reset", "drop_after", "slow", "truncate")
NO_FAULT = "none"
# Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business, never forwarded.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "proxy-connection"})
DEFAULT_LIFETIME = 900.0


@dataclass
class FaultRecord:
    """What happened to one request."""

    number: int          # 1-based arrival order (the order of proxy.log)
    method: str
    path: str
    fault: str           # one of FAULTS, or "none"
    forwarded: bool      # the upstream saw the request (a write may have landed)
    status: int | None   # the upstream's status, or the injected one; None when no status was sent
    persistent: bool     # the fault came from persist(), not from the dice
    seconds: float       # time spent in the proxy; None while the answer is not sent yet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, proxy):
        self.proxy = proxy
        self.reset_sockets = set()
        super().__init__(address, handler)

    def shutdown_request(self, request):
        if request in self.reset_sockets:
            # SO_LINGER 0 and close without the FIN of shutdown(): the peer gets an RST
            self.reset_sockets.discard(request)
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_request(request)
            return
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that gave up (its timeout, a fault we injected) is expected here, not news.
        if sys.exc_info()[0] in (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # the base class names it so
        pass

    def _handle(self):
        proxy = self.server.proxy
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = proxy.arrive(self.command, self.path)
        try:
            self._answer(proxy, record.fault, body, record)
        finally:
            record.seconds = round(time.monotonic() - started, 4)
            proxy.answered(record)

    def _answer(self, proxy, fault, body, record):
        if fault in ("throttle", "unavailable", "bad_gateway"):
            status = {"throttle": 429, "unavailable": 503, "bad_gateway": 502}[fault]
            headers = {"Retry-After": proxy.retry_after} if fault != "bad_gateway" else {}
            self._send(status, headers, b'{"detail": "injected by faultproxy: %s"}' % fault.encode())
            record.status = status
            return
        if fault == "reset":
            self._reset()
            return
        try:
            status, reason, headers, payload = proxy.forward(self.command, self.path, self.headers, body)
        except (OSError, http.client.HTTPException) as exc:
            record.forwarded = True  # it may have reached the upstream before the error
            self._send(502, {}, json.dumps({"detail": "faultproxy: upstream failed: %s" % exc}).encode())
            record.status = 502
            return
        record.forwarded = True
        record.status = status
        if fault == "drop_after":
            self.close_connection = True  # closes with a FIN, no answer at all
            return
        if fault == "slow":
            proxy.stopping.wait(proxy.slow_seconds)
        if fault == "truncate":
            # a FIN after half the body: the client reads it, then finds Content-Length unmet
            self._send(status, headers, payload, reason=reason, cut=len(payload) // 2)
            self.close_connection = True
            return
        self._send(status, headers, payload, reason=reason)

    def _reset(self):
        self.close_connection = True
        self.server.reset_sockets.add(self.connection)

    def _send(self, status, headers, payload, reason=None, cut=None):
        self.send_response(status, reason)
        for name, value in headers.items():
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("content-length", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            # the request asked for it (every bulk write does): say so, as NetBox's gunicorn does,
            # or the client pools the socket and may send its next request into the closing one
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload if cut is None else payload[:cut])
        self.wfile.flush()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle


class FaultProxy:
    """A threaded reverse proxy on 127.0.0.1 that forwards to `upstream`, injecting faults."""

    def __init__(self, upstream, seed=0, faults=None, methods=None, paths=None, retry_after="1",
                 slow_seconds=5.0, upstream_timeout=120.0, lifetime=DEFAULT_LIFETIME, log_path=None,
                 tls_cert=None, tls_key=None):
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream must be an http:// or https:// URL, got %r" % upstream)
        self.upstream = upstream.rstrip("/")
        self._upstream_parts = parts
        self.seed = seed
        self.faults = dict(faults or {})
        unknown = sorted(set(self.faults) - set(FAULTS))
        if unknown:
            raise ValueError("unknown fault(s) %s; known: %s" % (", ".join(unknown), ", ".join(FAULTS)))
        if any(p < 0 for p in self.faults.values()) or sum(self.faults.values()) > 1:
            raise ValueError("fault probabilities must be >= 0 and sum to at most 1: %r" % self.faults)
        self.methods = {m.upper() for m in methods} if methods else None
        self.paths = tuple(paths) if paths else None
        self.retry_after = str(retry_after)
        self.slow_seconds = float(slow_seconds)
        self.upstream_timeout = float(upstream_timeout)
        self.lifetime = float(lifetime)
        self.log_path = log_path
        self.log = []
        self.stopping = threading.Event()  # set when stop() begins: held answers give up
        self._stopped = threading.Event()  # set when the port is closed
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._persistent = []  # [fault, remaining, method or None] entries, used in order
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.port = self._server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        if tls_cert:
            # https:// in front of a plain-http upstream: for the certificate verification tests
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.url = "https://127.0.0.1:%d" % self.port
        self._thread = None
        self._timer = None

    # fault choice ----------------------------------------------------------------
    def matches(self, method, path) -> bool:
        """Whether faults may hit this request (method and path filters)."""
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return self.paths is None or any(path.startswith(p) for p in self.paths)

    def choose(self, method, path):
        """(fault, persistent) for the next request; one draw per matching request, in arrival order."""
        if not self.matches(method, path):
            return NO_FAULT, False
        with self._lock:
            self._persistent = [entry for entry in self._persistent if entry[1] > 0]
            for entry in self._persistent:
                if entry[2] is None or entry[2] == method.upper():
                    entry[1] -= 1
                    return entry[0], True
            draw = self._random.random()
        threshold = 0.0
        for fault in FAULTS:
            threshold += self.faults.get(fault, 0.0)
            if draw < threshold:
                return fault, False
        return NO_FAULT, False

    def persist(self, fault, count, method=None):
        """The next `count` matching requests (of `method` only, when given) get `fault`, queued
        after earlier persist() calls for the same requests.

        `fault` "none" lets them pass untouched: persist("none", 3) then persist("unavailable", 99)
        is "NetBox goes down after the third request"; persist("drop_after", 1, method="DELETE")
        is "the answer to the first DELETE is lost", whatever comes before it."""
        if fault not in FAULTS and fault != NO_FAULT:
            raise ValueError("unknown fault %r; known: %s" % (fault, ", ".join(FAULTS)))
        with self._lock:
            self._persistent.append([fault, int(count), method.upper() if method else None])

    def clear(self):
        """Forget queued persistent faults and stop random ones: from now on everything passes."""
        with self._lock:
            self._persistent.clear()
            self.faults = {}

    def set_faults(self, faults):
        """Change the fault probabilities (the random sequence goes on from where it was)."""
        with self._lock:
            self.faults = dict(faults)

    # bookkeeping -----------------------------------------------------------------
    def arrive(self, method, path) -> FaultRecord:
        """A request arrived: its fault, and its record in the log (its number is its place there)."""
        with self._lock:  # the draws and the log in the same order
            fault, persistent = self.choose(method, path)
            record = FaultRecord(len(self.log) + 1, method, path, fault, False, None, persistent, None)
            self.log.append(record)
        return record

    def answered(self, record):
        """A request's answer went out (or the connection closed): append it to the log file."""
        if self.log_path:
            with self._lock, open(self.log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(record), sort_keys=True) + "\n")

    def counts(self) -> dict:
        """Requests per fault ("none" for those that passed untouched)."""
        with self._lock:
            result = {}
            for entry in self.log:
                result[entry.fault] = result.get(entry.fault, 0) + 1
            return result

    def faulted(self) -> list:
        """The records of requests that got a fault."""
        with self._lock:
            return [r for r in self.log if r.fault != NO_FAULT]

    # forwarding ------------------------------------------------------------------
    def forward(self, method, path, headers, body):
        """Send one request upstream on a fresh connection: (status, reason, headers, body)."""
        parts = self._upstream_parts
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname, parts.port, timeout=self.upstream_timeout)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
            forwarded["Host"] = parts.netloc
            forwarded["Connection"] = "close"
            if body or method in ("POST", "PUT", "PATCH"):
                forwarded["Content-Length"] = str(len(body))
            connection.request(method, parts.path.rstrip("/") + path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            payload = response.read()
            return response.status, response.reason, dict(response.getheaders()), payload
        finally:
            connection.close()

    # lifetime --------------------------------------------------------------------
    def start(self):
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="faultproxy-%d" % self.port, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self):
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        self._stopped.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self.stopping.is_set()

    def wait(self, timeout=None) -> bool:
        """Block until the proxy stops (its lifetime ended, or stop()); True when it did."""
        return self._stopped.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def self_signed_certificate(folder):
    """(certificate, key) PEM file paths for 127.0.0.1 in `folder`, valid for two hours
    (needs the cryptography package, which ansible-core requires anyway)."""
    import datetime
    import ipaddress
    import os
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faultproxy test certificate")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=2))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(str(folder), "cert.pem"), os.path.join(str(folder), "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


def _fault_argument(text):
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected NAME=PROBABILITY, got %r" % text)
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a probability" % value) from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="A seeded fault-injecting HTTP reverse proxy on 127.0.0.1.")
    parser.add_argument("--upstream", required=True, help="the URL to forward to (e.g. NetBox's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault", action="append", type=_fault_argument, default=[],
                        help="NAME=PROBABILITY, repeatable; names: %s" % ", ".join(FAULTS))
    parser.add_argument("--method", action="append", help="fault only these methods (repeatable)")
    parser.add_argument("--path", action="append", help="fault only paths starting with this (repeatable)")
    parser.add_argument("--retry-after", default="1")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME, help="seconds before it stops itself")
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--tls-cert", help="serve https:// with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    args = parser.parse_args(argv)
    try:
        proxy = FaultProxy(args.upstream, seed=args.seed, faults=dict(args.fault), methods=args.method,
                           paths=args.path, retry_after=args.retry_after, slow_seconds=args.slow_seconds,
                           lifetime=args.lifetime, log_path=args.log, tls_cert=args.tls_cert, tls_key=args.tls_key)
    except ValueError as exc:
        parser.error(str(exc))
    with proxy:
        print(proxy.url, flush=True)
        try:
            proxy.wait()
        except KeyboardInterrupt:
            pass
    print(json.dumps(proxy.counts(), sort_keys=True), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
