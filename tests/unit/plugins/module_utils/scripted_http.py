# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local HTTP server for unit tests that answers each path from a script of steps.

    with ScriptedServer() as server:
        server.add("/x", Step(status=503), Step(body=b"ok"))
        server.add("/x", Step(status=201), method="POST")   # POSTs to /x get their own script
        ...  server.url("/x") ...; server.requests -> what arrived

The last step of a path repeats. A step can drop the connection without an
answer (drop=True), cut the body short (truncate=n bytes), or hold the answer
until an event is set (hold=threading.Event()).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Step:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    drop: bool = False
    truncate: int | None = None
    hold: threading.Event | None = None
    send_date: bool = True


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes
    connection: tuple = ()  # the client's (address, port): one per TCP connection


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that time out or drop on purpose are part of the tests


class ScriptedServer:
    def __init__(self):
        self.script = {}
        self.requests = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no delayed-ACK stalls between headers and body

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                step = owner._next(Seen(self.command, self.path, dict(self.headers), body, self.client_address))
                if step.hold is not None:
                    step.hold.wait(10)
                if step.drop:
                    self.close_connection = True
                    return
                if step.send_date:
                    self.send_response(step.status)
                else:
                    self.send_response_only(step.status)
                headers = {"Content-Length": str(len(step.body))}
                if self.close_connection:  # the client asked for it (NetBox writes do): echoed, as servers do
                    headers["Connection"] = "close"
                headers.update(step.headers)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(step.body if step.truncate is None else step.body[: step.truncate])
                if step.truncate is not None:
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _next(self, seen):
        with self._lock:
            self.requests.append(seen)
            path = seen.path.split("?", 1)[0]
            steps = (self.script.get((seen.method, path)) or self.script.get(path)
                     or [Step(status=404, body=b"no such path")])
            return steps.pop(0) if len(steps) > 1 else steps[0]

    def add(self, path, *steps, method=None):
        """The answers to `path` in order (to its `method` requests only, when given)."""
        with self._lock:
            self.script[(method, path) if method else path] = list(steps)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def hits(self, path, method=None):
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path and method in (None, r.method)]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()
