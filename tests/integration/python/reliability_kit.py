# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the reliability and security system tests (test_faults_*, test_secrets,
test_least_privilege): a small generated dataset under a per-test root region, the sync
engine run in-process or in a subprocess, and an admin view of NetBox that checks the
tree against the dataset (exact, no duplicates) and cleans up afterwards.

Each test works under its own root region with geonameids from its own random range, so
the tests neither see nor disturb one another's regions.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
import time
import uuid

import pytest
import requests

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import MPTT, tree_kind

NETBOX_URL = os.environ.get("NETBOX_URL")
NETBOX_TOKEN = os.environ.get("NETBOX_TOKEN")
LOCAL_NETBOX = os.environ.get("GEOFOSS_LOCAL_NETBOX")
SOURCE_FIELD = "geo_source_id"
ATTRIBUTE_KEYS = ("country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude",
                  "longitude", "time_zone", "feature_code", "wikidata_id", "continent")

needs_netbox = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN), reason="NETBOX_URL / NETBOX_TOKEN not set")


def collection_root() -> str:
    """The folder holding ansible_collections/ (the temp tree scripts/test builds)."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import sync as _sync
    return os.path.abspath(os.path.join(os.path.dirname(_sync.__file__), *[os.pardir] * 6))


# -- datasets ---------------------------------------------------------------------------------------

def node(geonameid, level, name, slug, parent, country_code):
    attributes = dict.fromkeys(ATTRIBUTE_KEYS)
    attributes.update(country_code=country_code, population=geonameid % 100000, latitude=1.5, longitude=2.5)
    return {"geo_source_id": "geonames:%d" % geonameid, "level": level, "name": name, "slug": slug,
            "parent": None if parent is None else "geonames:%d" % parent,
            "description": "%s %s (test)" % (level, name), "attributes": attributes}


def tree_nodes(countries=6, divisions=8, cities=3, base=None):
    """countries x (1 + divisions x (1 + cities)) nodes with ids from a random range."""
    base = base or random.SystemRandom().randrange(10 ** 8, 9 * 10 ** 8) * 1000
    nodes, next_id = [], base
    for c in range(countries):
        code = "%s%s" % (chr(65 + c // 26 % 26), chr(65 + c % 26))
        country_id = next_id
        next_id += 1
        nodes.append(node(country_id, "country", "Testland %d" % c, "testland-%d" % c, None, code))
        for d in range(divisions):
            division_id = next_id
            next_id += 1
            nodes.append(node(division_id, "admin1", "Province %d-%d" % (c, d), "%s-province-%d" % (code.lower(), d),
                              country_id, code))
            for t in range(cities):
                nodes.append(node(next_id, "city", "Town %d-%d-%d" % (c, d, t), "%s-town-%d-%d" % (code.lower(), d, t),
                                  division_id, code))
                next_id += 1
    return nodes


def write_nodes(path, nodes) -> str:
    from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import DatasetHeader, write_dataset
    levels = sorted({n["level"] for n in nodes}, key=("continent", "country", "admin1", "admin2", "city").index)
    write_dataset(str(path), DatasetHeader(levels=levels, provenance=[], filters={}), nodes)
    return str(path)


# -- NetBox, as the administrator sees it ----------------------------------------------------------

class Admin:
    """The superuser's view of NetBox, straight through requests (no proxy, no faults)."""

    def __init__(self, url=NETBOX_URL, token=NETBOX_TOKEN):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        scheme = "Bearer" if token.startswith("nbt_") else "Token"
        self.session.headers.update({"Authorization": "%s %s" % (scheme, token), "Accept": "application/json"})

    def get(self, endpoint, **params):
        response = self.session.get("%s/api/%s/" % (self.url, endpoint), params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    def mptt(self) -> bool:
        """True on NetBox 4.4-4.6, where the sync sends creates in seed waves, one request at a
        time (docs/netbox-versions.md): the number of requests a run takes differs there."""
        return tree_kind(self.get("status")["netbox-version"]) == MPTT

    def all(self, endpoint, **params):
        params.setdefault("limit", 1000)
        params["ordering"] = "id"
        last, out = 0, []
        while True:
            page = self.get(endpoint, id__gt=last, **params)["results"]
            out.extend(page)
            if len(page) < params["limit"]:
                return out
            last = page[-1]["id"]

    def post(self, endpoint, body) -> dict:
        response = self.session.post("%s/api/%s/" % (self.url, endpoint), json=body, timeout=60)
        assert response.status_code == 201, (endpoint, response.status_code, response.text[:500])
        return response.json()

    def limited_token(self, spec, write_enabled=True) -> tuple[str, dict]:
        """(token, user) of a new user holding only `spec`, e.g.
        ``view,add,change,delete:dcim.region;view:extras.customfield,extras.tag`` (the
        syntax of ``scripts/local-netbox token --perms``), made through the users API; a v2
        token where NetBox has them (the administrator's is v2), else v1."""
        name = "limited-%s" % uuid.uuid4().hex[:10]
        user = self.post("users/users", {"username": name, "password": uuid.uuid4().hex + "Aa1!"})
        for index, item in enumerate(filter(None, spec.split(";"))):
            actions, models = item.split(":", 1)
            self.post("users/permissions", {"name": "%s-%d" % (name, index), "object_types": models.split(","),
                                            "actions": actions.split(","), "users": [user["id"]], "enabled": True})
        # A secret is proposed here: NetBox 4.5's API answers a new token without its secret
        # (4.6 and later answer with the one they made), and 4.4's (v1 tokens only) never
        # shows a token's key.
        secret = secrets.token_hex(20)
        if self.session.headers["Authorization"].startswith("Bearer "):
            token = self.post("users/tokens", {"user": user["id"], "version": 2, "token": secret,
                                               "write_enabled": write_enabled})
            return "nbt_%s.%s" % (token["key"], token["token"] or secret), user
        self.post("users/tokens", {"user": user["id"], "key": secret, "write_enabled": write_enabled})
        return secret, user

    def delete_user(self, user):
        """The user, its tokens and the permissions made for it."""
        for permission in self.get("users/permissions", user_id=user["id"], limit=100)["results"]:
            self.session.delete("%s/api/users/permissions/%d/" % (self.url, permission["id"]), timeout=60)
        self.session.delete("%s/api/users/users/%d/" % (self.url, user["id"]), timeout=60)

    def make_root(self, prefix="reliab") -> dict:
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
        response = self.session.post("%s/api/dcim/regions/" % self.url, json={"name": name, "slug": name}, timeout=60)
        response.raise_for_status()
        return response.json()

    def delete_region(self, region_id):
        # deleting a region deletes its descendants with it
        self.session.delete("%s/api/dcim/regions/%d/" % (self.url, region_id), timeout=300)

    def subtree(self, root_id) -> list:
        """The regions below root_id (the root itself not included)."""
        return [r for r in self.all("dcim/regions", ancestor_id=root_id, fields="id,name,slug,parent,custom_fields,tags")
                if r["id"] != root_id]

    def count_below(self, root_id) -> int:
        return self.get("dcim/regions", ancestor_id=root_id, limit=1, brief=1)["count"]

    def assert_tree_is(self, root_id, nodes, tag="geo-managed"):
        """NetBox's tree under root_id is exactly the dataset: ids, names, slugs, parents, tag; no extras.
        tag None: the tree of ownership source_id, whose regions carry no tag at all."""
        regions = self.subtree(root_id)
        by_source = {}
        strays = []
        for region in regions:
            sid = (region.get("custom_fields") or {}).get(SOURCE_FIELD)
            if sid is None:
                strays.append(region["name"])
            by_source.setdefault(sid, []).append(region)
        duplicates = {sid: len(found) for sid, found in by_source.items() if sid and len(found) > 1}
        assert not duplicates, "duplicate regions: %s" % duplicates
        assert not strays, "regions without %s under the root: %s" % (SOURCE_FIELD, strays[:10])
        wanted = {n["geo_source_id"]: n for n in nodes}
        missing = sorted(set(wanted) - set(by_source))
        extra = sorted(set(by_source) - set(wanted))
        assert not missing and not extra, "missing %d %s, extra %d %s" % (len(missing), missing[:5], len(extra),
                                                                          extra[:5])
        id_of = {sid: found[0]["id"] for sid, found in by_source.items()}
        for sid, n in wanted.items():
            region = by_source[sid][0]
            parent = (region.get("parent") or {}).get("id")
            expected_parent = root_id if n["parent"] is None else id_of[n["parent"]]
            assert (region["name"], region["slug"], parent) == (n["name"], n["slug"], expected_parent), (sid, region)
            slugs = [t["slug"] for t in region.get("tags") or []]
            assert (tag in slugs) if tag else slugs == [], (sid, region.get("tags"))
        return len(regions)


def admin_fixture():
    """A module-scoped pytest fixture giving the Admin: ``admin = admin_fixture()`` in a test file."""
    @pytest.fixture(scope="module")
    def admin():
        return Admin()
    return admin


def root_fixture(prefix):
    """A pytest fixture giving a fresh root region (deleted with its subtree afterwards):
    ``root = root_fixture("faults")`` in a test file."""
    @pytest.fixture
    def root(admin):
        region = admin.make_root(prefix)
        yield region
        admin.delete_region(region["id"])
    return root


# -- running the sync ---------------------------------------------------------------------------------

def sync_params(dataset, root, url=NETBOX_URL, token=NETBOX_TOKEN, **options) -> dict:
    params = {"netbox_url": url, "netbox_token": token, "validate_certs": True, "ca_path": None, "timeout": 10,
              "connect_timeout": 5, "retries": 6, "rate_limit": 0, "dataset": dataset, "root_region": root,
              "ownership": "tag", "managed_tag": "geo-managed", "prune": False, "max_deletes": None, "adopt": False, "batch_size": 10,
              "concurrency": 2, "changelog_message": "reliability test", "plan_file": None, "diff_limit": 50,
              "state": "present", "attribute_fields": False}
    params.update(options)
    return params


# the ownerships the fault tests run under (the option's values) and the tag each leaves on a region
OWNERSHIP_TAGS = {"tag": "geo-managed", "source_id": None}


def quick_sleep(seconds):
    """Backoff and Retry-After waits shortened: the faults are real, the patience is not needed."""
    time.sleep(min(seconds, 0.05))


def run_engine(params, check_mode=False, diff=False, **engine_options):
    """(result, error): the engine's result dict, or the SyncError's result with its message.
    `engine_options` go to the Sync (e.g. load_nodes)."""
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError, run_sync
    try:
        return run_sync(params, check_mode=check_mode, diff=diff, sleep=quick_sleep, **engine_options), None
    except SyncError as exc:
        return exc.result, exc.message


ENGINE_SCRIPT = """
import json, sys
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError, run_sync
params = json.loads(sys.stdin.read())
try:
    result = run_sync(params)
except SyncError as exc:
    print(json.dumps({"failed": True, "msg": exc.message, "result": exc.result}))
    sys.exit(1)
print(json.dumps(result))
"""


def start_engine_process(params) -> subprocess.Popen:
    """The engine in its own process group (so SIGKILL reaches all of it); params on stdin."""
    env = dict(os.environ, PYTHONPATH=collection_root())
    process = subprocess.Popen([sys.executable, "-c", ENGINE_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    process.stdin.write(json.dumps(params))
    process.stdin.close()
    return process


def local_netbox(*args, timeout=300) -> str:
    if not LOCAL_NETBOX:
        pytest.skip("GEOFOSS_LOCAL_NETBOX not set")
    result = subprocess.run([LOCAL_NETBOX, *args], capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()
