# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory NetBox REST API on 127.0.0.1 for the client and sync unit tests.

It knows /api/status/, dcim/regions (list with id__gt/ordering/limit/fields and the
filters the sync uses, bulk POST/PATCH/DELETE as one transaction, sibling name/slug
uniqueness, and geo_source_id uniqueness while its custom field is unique), extras/custom-fields and extras/tags, tokens with permissions,
X-Request-ID and changelog messages. Faults on region writes: ``server.faults.append((method, kind))``
with kind "drop_after_commit" (write, then close the connection without answering),
"503_after_commit", "503" (answer 503, write nothing), "drop" (close the connection, write
nothing) or "400".
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

ALL = {"view", "add", "change", "delete"}
MODELS = {"dcim/regions": "dcim.region", "extras/custom-fields": "extras.customfield", "extras/tags": "extras.tag"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class Invalid(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status, self.body = status, body


class FakeNetBox:
    def __init__(self, tokens=None):
        # token -> {model: actions}; None means a superuser
        self.tokens = tokens if tokens is not None else {"nbt_key.secret": None}
        self.objects = {"dcim/regions": {}, "extras/custom-fields": {}, "extras/tags": {}}
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.faults = []
        self.writes = []  # (method, endpoint, body) of every write that changed data
        self.messages = []  # changelog_message of every written object
        self.requests = []  # (method, path, query) of every request
        self.cursor_pages = True  # False: behave as a NetBox without ?start= paging
        # region ids the next tag-filtered read leaves out, as if their write committed just after it
        self.committed_after_tag_read = set()
        self.version = "4.7.3"
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one send per answer: no Nagle/delayed-ACK stalls

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.handle(self)

            do_POST = do_PATCH = do_DELETE = do_GET

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()

    @property
    def regions(self):
        return self.objects["dcim/regions"]

    def add_region(self, name, slug=None, parent=None, source_id=None, tags=()):
        rid = next(self.ids)
        self.regions[rid] = {"id": rid, "name": name, "slug": slug or name.lower(), "parent": parent,
                             "description": "", "custom_fields": {"geo_source_id": source_id},
                             "tags": [{"slug": t, "name": t} for t in tags]}
        return rid

    # --------------------------------------------------------------------------------
    def handle(self, handler):
        parts = urlsplit(handler.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        method = handler.command
        self.requests.append((method, parts.path, query))
        try:
            status, answer = self.route(handler, method, parts.path, query, body)
        except Invalid as exc:
            status, answer = exc.status, exc.body
        if answer == "drop":
            handler.close_connection = True
            handler.connection.close()
            return
        data = b"" if answer is None else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-Request-ID", str(uuid.uuid4()))
        if handler.close_connection:  # the client asked for it (bulk writes do); echoed as servers do
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data)

    def route(self, handler, method, path, query, body):
        auth = handler.headers.get("Authorization", "")
        scheme, token = (auth.split(" ", 1) + [""])[:2]
        if token not in self.tokens or scheme != ("Bearer" if token.startswith("nbt_") else "Token"):
            raise Invalid(403, {"detail": "Invalid v2 token"})
        if path == "/api/status/":
            return 200, {"netbox-version": self.version}
        endpoint = path[len("/api/"):].strip("/")
        if endpoint not in self.objects:
            raise Invalid(404, {"detail": "Not found."})
        action = {"GET": "view", "POST": "add", "PATCH": "change", "DELETE": "delete"}[method]
        perms = self.tokens[token]
        if perms is not None and action not in perms.get(MODELS[endpoint], ()):
            raise Invalid(403, {"detail": "You do not have permission to perform this action."})
        if method == "GET":
            return 200, self.list(endpoint, query)
        fault = None
        for index, (fault_method, kind) in enumerate(self.faults):
            if fault_method == method and body and endpoint == "dcim/regions":
                fault = self.faults.pop(index)[1]
                break
        if fault == "503":
            return 503, {"detail": "unavailable"}
        if fault == "drop":
            return 0, "drop"
        if fault == "400":
            return 400, {"detail": "bad"}
        with self.lock:
            status, answer = self.write(endpoint, method, body)
        if fault == "drop_after_commit":
            return 0, "drop"
        if fault == "503_after_commit":
            return 503, {"detail": "proxy gave up"}
        return status, answer

    def list(self, endpoint, query):
        rows = sorted(self.objects[endpoint].values(), key=lambda r: r["id"])
        params = {}
        for key, value in query:
            params.setdefault(key, []).append(value)
        limit = int(params.pop("limit", ["50"])[0])
        fields = params.pop("fields", [None])[0]
        # cursor pages (?start=, NetBox 4.7): ordered by id, no count; an older NetBox ignores
        # start and answers in its own order (here: by name) with a count
        start = params.pop("start", [None])[0]
        cursor = start is not None and self.cursor_pages
        if cursor:
            if "ordering" in params:
                raise Invalid(400, ["Ordering cannot be specified in conjunction with cursor-based pagination."])
            rows = [r for r in rows if r["id"] >= int(start)]
        ordering = params.pop("ordering", ["id" if cursor or start is None else "name"])[0]
        if ordering == "-id":
            rows.reverse()
        elif ordering == "name":
            rows.sort(key=lambda r: str(r.get("name")))
        params.pop("brief", None)
        for key, values in params.items():
            if key == "id__gt":
                rows = [r for r in rows if r["id"] > int(values[0])]
            elif key == "id__gte":
                rows = [r for r in rows if r["id"] >= int(values[0])]
            elif key == "id__lte":
                rows = [r for r in rows if r["id"] <= int(values[0])]
            elif key == "id":
                rows = [r for r in rows if str(r["id"]) in values]
            elif key.startswith("cf_"):
                rows = [r for r in rows if (r.get("custom_fields") or {}).get(key[3:]) in values]
            elif key == "tag":
                known = {t["slug"] for t in self.objects["extras/tags"].values()}
                if not set(values) <= known:
                    raise Invalid(400, {"tag": ["Select a valid choice. %s is not one of the available choices."
                                                % values[0]]})
                rows = [r for r in rows if any(t["slug"] in values for t in r.get("tags", []))
                        and r["id"] not in self.committed_after_tag_read]
                self.committed_after_tag_read = set()
            else:
                rows = [r for r in rows if str(r.get(key)) in values]
        page = rows[:limit]
        if fields:
            page = [{k: r.get(k) for k in fields.split(",")} for r in page]
        return {"count": None if cursor else len(rows), "next": "more" if len(rows) > limit else None,
                "results": page}

    def write(self, endpoint, method, body):
        table = self.objects[endpoint]
        staged = {rid: json.loads(json.dumps(row)) for rid, row in table.items()}
        results = []
        for item in body:
            item = dict(item)
            self.messages.append(item.pop("changelog_message", None))
            if method == "POST":
                row = {"id": next(self.ids), "description": "", "parent": None, "custom_fields": {}, "tags": []}
                row.update(item)
                staged[row["id"]] = row
            elif method == "PATCH":
                row = staged.get(item["id"])
                if row is None:
                    raise Invalid(400, {"detail": "object %s not found" % item["id"]})
                fields = dict(row.get("custom_fields") or {}, **item.pop("custom_fields", {}))
                row.update(item)
                row["custom_fields"] = fields
            else:
                if staged.pop(item["id"], None) is None:
                    raise Invalid(400, {"detail": "1 of 1 objects could not be found."})
                continue
            row["tags"] = [{"slug": t.get("slug") or t.get("name"), "name": t.get("slug") or t.get("name")}
                           for t in row.get("tags") or []]
            results.append(row)
        if endpoint == "dcim/regions":
            self.check_unique(staged, self.source_field_unique())
        table.clear()
        table.update(staged)
        if body:
            self.writes.append((method, endpoint, body))
        return {"POST": 201, "PATCH": 200, "DELETE": 204}[method], (None if method == "DELETE" else results)

    def source_field_unique(self):
        return any(cf["name"] == "geo_source_id" and cf.get("unique")
                   for cf in self.objects["extras/custom-fields"].values())

    @staticmethod
    def check_unique(rows, source_field_unique):
        seen = set()
        for row in rows.values():
            keys = [("name", row["parent"], row["name"]), ("slug", row["parent"], row["slug"])]
            if source_field_unique:
                keys.append(("cf", (row.get("custom_fields") or {}).get("geo_source_id")))
            for key in keys:
                if key[-1] is None:
                    continue
                if key in seen:
                    raise Invalid(400, {"errors": [{"__all__": ["%s %r must be unique" % (key[0], key[-1])]}]})
                seen.add(key)
