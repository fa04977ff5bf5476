# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetBox REST helpers of the benchmark: preparing and emptying the local NetBox,
counting regions, and the raw bulk-POST ceiling (what NetBox itself can take,
with no planning, reading or checking around it)."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time

import requests

REGIONS = "dcim/regions"
SOURCE_FIELD = "geo_source_id"


def auth_header(token: str) -> str:
    return ("Bearer " if token.startswith("nbt_") else "Token ") + token


class NetBoxAdmin:
    """A thin client for the benchmark's own requests (one session per thread)."""

    def __init__(self, url: str, token: str, timeout: float = 300.0):
        self.url = url.rstrip("/")
        self._headers = {"Authorization": auth_header(token), "Accept": "application/json"}
        self._local = threading.local()
        self.timeout = timeout

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self._headers)
        return session

    def call(self, method: str, endpoint: str, params=None, json=None, expected=(200, 201, 204), headers=None):
        url = "%s/api/%s/" % (self.url, endpoint.strip("/"))
        response = self.session.request(method, url, params=params, json=json, headers=headers, timeout=self.timeout)
        if response.status_code not in expected:
            # the token is in a header, never in the URL or the body: safe to show
            raise RuntimeError("%s %s: HTTP %d %s" % (method, url, response.status_code, response.text[:500]))
        return response.json() if response.content else None

    def status(self) -> dict:
        return self.call("GET", "status")

    def count(self, endpoint: str = REGIONS, **filters) -> int:
        return int(self.call("GET", endpoint, params=dict(filters, limit=1, brief=1))["count"])

    def objects(self, endpoint: str, fields: str = "id", **filters) -> list:
        """Every object, by cursor pages (``start=``, NetBox 4.7: no COUNT of the rows, which on a
        large region table takes seconds per page), else ordered by id (offset mode)."""
        found, last, cursor = [], 0, True
        while True:
            params = dict(filters, limit=1000, fields=fields)
            page = self.call("GET", endpoint, params=dict(params, start=last + 1)) if cursor else None
            if page is None or page.get("count") is not None:
                cursor = False
                page = self.call("GET", endpoint, params=dict(params, ordering="id", id__gt=last))
            found.extend(page["results"])
            if not page["results"] or not page.get("next"):
                return found
            last = found[-1]["id"]

    def ids(self, endpoint: str, **filters) -> list:
        return [item["id"] for item in self.objects(endpoint, **filters)]

    def ensure_tag(self, slug: str) -> int:
        found = self.call("GET", "extras/tags", params={"slug": slug})["results"]
        if found:
            return found[0]["id"]
        return self.call("POST", "extras/tags", json={"name": slug, "slug": slug})["id"]

    def ensure_source_field(self, unique: bool = True) -> int:
        """The identity custom field, as the sync creates it (the baseline needs it too)."""
        found = self.call("GET", "extras/custom-fields", params={"name": SOURCE_FIELD})["results"]
        if found:
            return found[0]["id"]
        return self.call("POST", "extras/custom-fields", json={
            "name": SOURCE_FIELD, "label": "Geo source id", "type": "text", "object_types": ["dcim.region"],
            "unique": unique, "required": False, "ui_editable": "no", "filter_logic": "exact",
            "description": "Identity of a region in its open data source (geonames:<geonameid>)",
        })["id"]

    def delete_all_regions(self) -> int:
        """Delete every region (top levels first: NetBox deletes their subtrees with them)."""
        before = self.count()
        while True:
            top = self.ids(REGIONS, parent_id="null")
            if not top:
                return before
            for start in range(0, len(top), 100):
                self.call("DELETE", REGIONS, json=[{"id": i} for i in top[start:start + 100]])


def region_payloads(nodes: list, tag_id: int, bare: bool = False) -> list:
    """Dataset nodes (dicts, parents first) -> levels of POST bodies, each node's parent
    named by its slug (unique across a dataset's tree; resolved to an id when its level has
    been created). `bare`: name, slug and parent only; else with the description, the tag
    and geo_source_id."""
    levels, depth, slug_of = [], {}, {}
    for node in nodes:
        level = 0 if node["parent"] is None else depth[node["parent"]] + 1
        depth[node["geo_source_id"]] = level
        slug_of[node["geo_source_id"]] = node["slug"]
        while len(levels) <= level:
            levels.append([])
        body = {"name": node["name"], "slug": node["slug"], "parent": slug_of.get(node["parent"])}
        if not bare:
            body.update(description=node["description"], tags=[tag_id],
                        custom_fields={SOURCE_FIELD: node["geo_source_id"]})
        levels[level].append(body)
    return levels


def raw_bulk_create(admin: NetBoxAdmin, levels: list, streams: int, batch_size: int, fresh_connections=False,
                    clock=time.perf_counter) -> dict:
    """POST every level in batches over `streams` threads; a level starts when its parents exist.

    Each thread keeps its connection alive, or with `fresh_connections` opens one per POST
    (gunicorn keeps a kept-alive connection in the worker that accepted it: two streams may
    share one worker for the whole run). Returns seconds spent posting (set-up excluded),
    objects created and requests sent."""
    headers = {"Connection": "close"} if fresh_connections else None
    ids_by_slug = {}
    requests_sent = 0
    seconds = 0.0
    with concurrent.futures.ThreadPoolExecutor(max_workers=streams) as pool:
        for level in levels:
            bodies = [dict(body, parent=ids_by_slug[body["parent"]] if body["parent"] else None) for body in level]
            batches = [bodies[start:start + batch_size] for start in range(0, len(bodies), batch_size)]
            started = clock()
            posted = pool.map(lambda batch: admin.call("POST", REGIONS, json=batch, expected=(201,), headers=headers),
                              batches)
            for created in posted:
                for region in created:
                    ids_by_slug[region["slug"]] = region["id"]
            seconds += clock() - started
            requests_sent += len(batches)
    return {"seconds": round(seconds, 3), "regions": len(ids_by_slug), "requests": requests_sent,
            "regions_per_second": round(len(ids_by_slug) / seconds, 1) if seconds else None}


class GunicornWorkers:
    """CPU seconds of each worker of the local gunicorn, from /proc: how a run's load was
    split over the workers (a worker near 100 % while the other idles means the streams
    shared one process)."""

    def __init__(self, port: int, home: str = ""):
        home = home or os.path.join(os.path.expanduser("~"), ".cache", "geofoss-netbox")
        self.pid_file = os.path.join(home, "run", "gunicorn-%d.pid" % port)

    def _workers(self) -> list:
        try:
            with open(self.pid_file, encoding="ascii") as handle:
                master = handle.read().strip()
            with open("/proc/%s/task/%s/children" % (master, master), encoding="ascii") as handle:
                return sorted(int(pid) for pid in handle.read().split())
        except OSError:
            return []

    def snapshot(self) -> dict:
        seconds = {pid: _cpu_seconds(pid) for pid in self._workers()}
        return {pid: value for pid, value in seconds.items() if value is not None}

    @staticmethod
    def split(before: dict, after: dict) -> list:
        """CPU seconds each worker spent between two snapshots, busiest first."""
        return sorted((round(after[pid] - before.get(pid, 0.0), 1) for pid in after), reverse=True)


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, from /proc (None once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backends(database: str) -> list:
    """The PostgreSQL backends serving `database`'s clients (their process title names it:
    "postgres: ... <user> <database> <client> <state>"), from /proc. Autovacuum workers,
    which name the database too, are left out: they clean up after deletes, whenever."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                title = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        words = title.split()
        if title.startswith("postgres:") and database in words[2:] and "autovacuum" not in words:
            found.append(int(entry))
    return found


class NetBoxCpu:
    """The CPU seconds NetBox spends between start() and stop(): its gunicorn workers and the
    PostgreSQL backends of its database. A query's work (a table scan, say) runs in the
    backend, not in the worker waiting for it, so both count. Unlike wall time, this does not
    grow with other load on a shared machine.

    Backends come and go (Django closes a connection older than CONN_MAX_AGE), so a thread
    samples them every `interval` seconds: a backend that ends between two samples loses at
    most its last interval."""

    def __init__(self, workers: GunicornWorkers, database: str, interval: float = 0.5):
        self.workers = workers
        self.database = database
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self._workers_before = {}
        self._backends = {}  # pid -> [cpu when first seen (0 if born after start), cpu when last seen]

    def _sample(self, first: bool = False) -> None:
        for pid in database_backends(self.database):
            seconds = _cpu_seconds(pid)
            if seconds is None:
                continue
            if pid in self._backends:
                self._backends[pid][1] = seconds
            else:
                self._backends[pid] = [seconds if first else 0.0, seconds]

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> "NetBoxCpu":
        self._backends = {}
        self._workers_before = self.workers.snapshot()
        self._sample(first=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict:
        """{"workers": [CPU s of each gunicorn worker, busiest first], "database": CPU s of the
        backends, "total": both}."""
        self._stop.set()
        self._thread.join()
        self._sample()
        workers = GunicornWorkers.split(self._workers_before, self.workers.snapshot())
        database = round(sum(last - first for first, last in self._backends.values()), 2)
        return {"workers": workers, "database": database, "total": round(sum(workers) + database, 2)}
