# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local stand-in for the publishers' download sites, serving GEOFOSS_GEODATA.

Layout (read-only, straight from the geodata folder, nothing copied):

    /export/dump/<file>                      geonames/<file>       (download.geonames.org)
    /naturalearth/<scale>/cultural/<file>    naturalearth/<file>   (naciscdn.org)
    /search?q=...&format=jsonv2              nominatim/search-berlin-jsonv2.json for "berlin", else []
    /<any path in the folder>                that file (/geonames/..., /naturalearth/..., /nominatim/...)

Files get ETag, Last-Modified and Content-Length; If-None-Match and
If-Modified-Since give 304; HEAD works.

Faults, queued per path and used up one request at a time:

    503 | 500 | 502 | 504 | 408 | 404 ...   answer with that status (no body)
    429:<seconds> | 503:<seconds>           with Retry-After: <seconds>
    drop                                    send the headers and half the body, then close
    reset                                   close without any answer
    corrupt                                 send the body with some bytes flipped (a broken zip)

Control (JSON):
    POST /_control/faults   {"path": "/export/dump/cities15000.zip", "faults": ["503", "429:1", "drop"]}
    GET  /_control/log      every request so far: method, path, status, and the conditional headers
    POST /_control/reset    forget faults and log
    POST /_control/shutdown stop now

As a program:
    python geodata_server.py --root "$GEOFOSS_GEODATA" --port-file /tmp/port --lifetime 300 \
        [--fault /export/dump/cities15000.zip=503,429:1,drop]
It always stops by itself after --lifetime seconds. In Python:
    with GeodataServer(root) as server:  server.url("/export/dump/countryInfo.txt") ...
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import os
import posixpath
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

ROUTES = (  # URL prefix -> folder under the root
    ("/export/dump/", "geonames"),
)
NATURAL_EARTH_PREFIX = "/naturalearth/"
NOMINATIM_ANSWER = "nominatim/search-berlin-jsonv2.json"
CHUNK = 1 << 16
DEFAULT_LIFETIME = 600.0


class GeodataServer:
    """The server, on 127.0.0.1 and a free port; stops itself after `lifetime` seconds."""

    def __init__(self, root, port=0, lifetime=DEFAULT_LIFETIME, faults=None):
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise ValueError("geodata folder %s does not exist" % root)
        self.lifetime = lifetime
        self.faults = {}
        self.log = []
        self._lock = threading.Lock()
        self._etags = {}
        for path, queue in (faults or {}).items():
            self.set_faults(path, queue)
        self.httpd = _Server(("127.0.0.1", port), _handler(self))
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop) if lifetime else None

    # control ----------------------------------------------------------------------------
    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def set_faults(self, path, queue):
        with self._lock:
            self.faults[path] = [str(f) for f in queue]

    def next_fault(self, path):
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def reset(self):
        with self._lock:
            self.faults.clear()
            self.log.clear()

    def record(self, entry):
        with self._lock:
            self.log.append(entry)

    def requests(self, path=None):
        with self._lock:
            return [dict(e) for e in self.log if path is None or e["path"] == path]

    def start(self):
        self._thread.start()
        if self._timer:
            self._timer.daemon = True
            self._timer.start()
        return self

    def stop(self):
        if self._timer:
            self._timer.cancel()
        threading.Thread(target=self.httpd.shutdown, daemon=True).start()

    def wait(self):
        self._thread.join()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
        self.wait()

    # files ---------------------------------------------------------------------------------
    def resolve(self, url_path):
        """The file under root for a URL path, or None (never outside root)."""
        path = posixpath.normpath(unquote(url_path))
        relative = None
        for prefix, folder in ROUTES:
            if path.startswith(prefix):
                relative = posixpath.join(folder, path[len(prefix):])
        if relative is None and path.startswith(NATURAL_EARTH_PREFIX):
            parts = path[len(NATURAL_EARTH_PREFIX):].split("/")
            # /naturalearth/<scale>/cultural/<file> as on naciscdn.org, or /naturalearth/<file>
            relative = posixpath.join("naturalearth", parts[-1])
        if relative is None:
            relative = path.lstrip("/")
        full = os.path.realpath(os.path.join(self.root, relative))
        if not full.startswith(self.root + os.sep) or not os.path.isfile(full):
            return None
        return full

    def etag(self, full):
        stat = os.stat(full)
        key = (full, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._etags.get(key)
        if cached is None:
            digest = hashlib.sha256()
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            cached = '"%s"' % digest.hexdigest()[:32]
            with self._lock:
                self._etags[key] = cached
        return cached


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up on a fault are expected


def _handler(owner):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "geofoss-geodata/1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stalls

        def log_message(self, *args):
            pass

        def _log(self, status, fault=None):
            owner.record({"method": self.command, "path": urlsplit(self.path).path, "status": status, "fault": fault,
                          "if_none_match": self.headers.get("If-None-Match"),
                          "if_modified_since": self.headers.get("If-Modified-Since"),
                          "user_agent": self.headers.get("User-Agent"), "time": time.time()})

        def _send(self, status, body=b"", headers=None):
            self.send_response(status)
            headers = dict(headers or {})
            headers.setdefault("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _json(self, status, data):
            self._send(status, json.dumps(data).encode("utf-8"), {"Content-Type": "application/json"})

        def do_POST(self):
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._json(400, {"error": "body is not JSON"})
            if path == "/_control/faults":
                owner.set_faults(payload["path"], payload.get("faults") or [])
                return self._json(200, {"path": payload["path"], "faults": owner.faults[payload["path"]]})
            if path == "/_control/reset":
                owner.reset()
                return self._json(200, {"reset": True})
            if path == "/_control/shutdown":
                self._json(200, {"stopping": True})
                owner.stop()
                return None
            return self._json(404, {"error": "unknown control path %s" % path})

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path == "/_control/log":
                return self._json(200, owner.requests())
            fault = owner.next_fault(parts.path)
            if fault == "reset":
                self._log(None, fault)
                self.close_connection = True
                return None
            if fault and fault.split(":")[0].isdigit():
                status, _sep, retry_after = fault.partition(":")
                self._log(int(status), fault)
                return self._send(int(status), headers={"Retry-After": retry_after} if retry_after else None)
            if parts.path.rstrip("/") == "/search":
                return self._search(parts)
            full = owner.resolve(parts.path)
            if full is None:
                self._log(404, fault)
                return self._send(404, b"not found\n", {"Content-Type": "text/plain"})
            return self._file(full, fault)

        def _file(self, full, fault):
            stat = os.stat(full)
            etag = owner.etag(full)
            modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
            headers = {"ETag": etag, "Last-Modified": modified, "Content-Length": str(stat.st_size),
                       "Content-Type": "application/zip" if full.endswith(".zip") else "text/plain; charset=utf-8"}
            if self._not_modified(etag, stat.st_mtime):
                self._log(304, fault)
                return self._send(304, headers={"ETag": etag, "Last-Modified": modified, "Content-Length": "0"})
            self._log(200, fault)
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return None
            limit = stat.st_size // 2 if fault == "drop" else stat.st_size
            sent = 0
            with open(full, "rb") as handle:
                while sent < limit:
                    block = handle.read(min(CHUNK, limit - sent))
                    if not block:
                        break
                    if fault == "corrupt" and sent == 0:
                        block = _flip(block)
                    self.wfile.write(block)
                    sent += len(block)
            if fault == "drop":
                self.wfile.flush()
                self.close_connection = True
            return None

        def _not_modified(self, etag, mtime):
            if_none_match = self.headers.get("If-None-Match")
            if if_none_match is not None:
                return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
            since = self.headers.get("If-Modified-Since")
            if since:
                try:
                    return int(mtime) <= email.utils.parsedate_to_datetime(since).timestamp()
                except (TypeError, ValueError):
                    return False
            return False

        def _search(self, parts):
            query = " ".join(v for values in parse_qs(parts.query).values() for v in values).lower()
            answer = os.path.join(owner.root, NOMINATIM_ANSWER)
            if "berlin" in query and os.path.isfile(answer):
                with open(answer, "rb") as handle:
                    body = handle.read()
            else:
                body = b"[]"
            self._log(200)
            return self._send(200, body, {"Content-Type": "application/json; charset=utf-8"})

    return Handler


def _flip(block):
    """The block with bytes flipped past the first local header, so a zip fails its CRC or inflate."""
    data = bytearray(block)
    for index in range(min(64, len(data) // 2), min(len(data), 4096), 97):
        data[index] ^= 0x5A
    return bytes(data)


def _parse_fault(text):
    path, _sep, queue = text.partition("=")
    if not path.startswith("/") or not queue:
        raise argparse.ArgumentTypeError("--fault wants /path=FAULT[,FAULT...], got %r" % text)
    return path, queue.split(",")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", default=os.environ.get("GEOFOSS_GEODATA"), help="the geodata folder")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME, help="stop after this many seconds")
    parser.add_argument("--fault", action="append", type=_parse_fault, default=[], help="/path=FAULT[,FAULT...]")
    args = parser.parse_args(argv)
    if not args.root:
        parser.error("--root or GEOFOSS_GEODATA is required")
    server = GeodataServer(args.root, port=args.port, lifetime=args.lifetime, faults=dict(args.fault))
    server.start()
    if args.port_file:
        temp = args.port_file + ".tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write("%d\n" % server.port)
        os.replace(temp, args.port_file)
    print("serving %s on %s for at most %.0f s" % (server.root, server.url(), args.lifetime), flush=True)
    server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
