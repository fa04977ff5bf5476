# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's checks that need no NetBox: versions, token kinds, the cache folder, the
age of cached downloads against a local publisher, the Python side, time zone data, and
the netbox_links check against a stand-in of NetBox's answers."""

from __future__ import annotations

import http.server
import json
import threading
from collections import namedtuple

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._doctor import (
    FAILED, MIB, OK, WARNING, check_cache_folder, check_links, check_python_requirements, check_schema,
    check_source_age, check_time_zones, check_token_kind, check_version, needed_bytes, parse_version, token_kind,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.links import (
    CUSTOM_LINKS, EXPORT_TEMPLATES, WANTED_LINKS, WANTED_TEMPLATES,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.schema import CUSTOM_FIELDS, wanted_fields

# made-up tokens of the right shapes: 40 hex characters (v1), nbt_<key>.<secret> (v2)
V1 = "f" * 40
V2 = "nbt_" + "fakekey" + "." + "not-a-secret"


def test_versions_are_read_as_release_numbers():
    assert parse_version("4.7.3") == (4, 7, 3)
    assert parse_version("4.5.0-beta1") == (4, 5, 0)
    assert parse_version("v4") == ()


@pytest.mark.parametrize("version, status", [
    ("4.4.9", FAILED), ("4.4.10", OK), ("4.5.10", OK), ("4.6.8", OK), ("4.7.3", OK), ("4.8.0", WARNING),
    ("3.7.8", FAILED), ("dev", WARNING),
])
def test_the_supported_netbox_releases_are_4_4_10_through_4_7(version, status):
    assert check_version(version).status == status


def test_token_kinds_and_the_releases_that_take_them():
    assert (token_kind(V1), token_kind(V2), token_kind("secret")) == ("v1", "v2", None)
    assert check_token_kind(V2, "4.4.10").status == FAILED  # v2 tokens came with 4.5
    assert check_token_kind(V2, "4.7.3").status == OK
    assert check_token_kind(V1, "4.4.10").status == OK
    assert check_token_kind("secret", "4.7.3").status == WARNING


def test_a_cache_folder_to_be_created_is_checked_where_it_will_be(tmp_path):
    check = check_cache_folder(str(tmp_path / "a" / "b"), ["countryInfo"])
    assert check.status == OK and str(tmp_path) in check.message
    assert not (tmp_path / "a").exists()  # the probe leaves nothing behind
    assert list(tmp_path.iterdir()) == []


def test_a_cache_folder_that_cannot_be_written_fails_with_the_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    check = check_cache_folder(str(blocker / "cache"), ["countryInfo"], disk_usage=lambda path: None)
    assert check.status == FAILED and "is not a folder" in check.message and "geo_cache_dir" in check.fix


def test_free_space_is_compared_with_what_the_datasets_need(tmp_path):
    usage = namedtuple("usage", "total used free")
    need = needed_bytes(["allCountries"])
    assert need > 800 * MIB  # the zip, and its replacement while it is fetched again
    short = check_cache_folder(str(tmp_path), ["allCountries"], disk_usage=lambda path: usage(0, 0, need - 1))
    enough = check_cache_folder(str(tmp_path), ["allCountries"], disk_usage=lambda path: usage(0, 0, need))
    assert short.status == FAILED and "allCountries" in short.message
    assert enough.status == OK


class Publisher(http.server.BaseHTTPRequestHandler):
    last_modified = "Wed, 19 Nov 2025 01:00:00 GMT"

    def do_HEAD(self):  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.send_header("Last-Modified", self.last_modified)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def publisher():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Publisher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def write_manifest(folder, entries):
    folder.mkdir(exist_ok=True)
    files = [dict(entry, path=name) for name, entry in entries.items()]
    (folder / "manifest.json").write_text(json.dumps({"kind": "geofoss.netbox/fetch-manifest", "schema_version": 1,
                                                      "files": files}))


def test_a_cached_file_older_than_the_publishers_is_a_warning_with_the_fix(tmp_path, publisher):
    write_manifest(tmp_path / "cache", {
        "cities15000.zip": {"url": publisher + "/cities15000.zip", "last_modified": "Mon, 01 Sep 2025 01:00:00 GMT"},
        "countryInfo.txt": {"url": publisher + "/countryInfo.txt", "last_modified": Publisher.last_modified},
        "bundled.txt": {"url": None},
    })
    checks = {c.name: c for c in check_source_age(str(tmp_path / "cache"), HttpClient(retries=0))}
    assert checks["source_age cities15000.zip"].status == WARNING
    assert "newer" in checks["source_age cities15000.zip"].message
    assert "geo_force" in checks["source_age cities15000.zip"].fix
    assert checks["source_age countryInfo.txt"].status == OK
    assert "source_age bundled.txt" not in checks  # generated from the installed packages: nothing to compare


def test_offline_is_one_warning_not_a_failure(tmp_path):
    closed = http.server.HTTPServer(("127.0.0.1", 0), Publisher)
    url = "http://127.0.0.1:%d" % closed.server_address[1]
    closed.server_close()  # nothing listens there now: connection refused, as offline
    write_manifest(tmp_path / "cache", {name: {"url": "%s/%s" % (url, name), "last_modified": None}
                                        for name in ("a.txt", "b.txt", "c.txt")})
    checks = check_source_age(str(tmp_path / "cache"), HttpClient(retries=0, connect_timeout=2))
    assert [c.status for c in checks] == [WARNING]
    assert "offline?" in checks[0].message and "3 cached file(s)" in checks[0].message
    assert check_source_age(str(tmp_path / "cache"), None, online=False)[0].status == WARNING


def test_a_missing_requirement_fails_and_an_optional_one_warns():
    def importer(name):
        if name in ("pydantic", "matplotlib"):
            raise ImportError("No module named %r" % name)
    checks = {c.name: c for c in check_python_requirements(importer)}
    assert checks["python pydantic"].status == FAILED and "requirements.txt" in checks["python pydantic"].fix
    assert checks["python matplotlib"].status == WARNING and "map" in checks["python matplotlib"].message
    assert checks["python requests"].status == OK


def test_missing_time_zone_data_fails_with_the_package_to_install():
    def no_zones(name):
        raise LookupError("No time zone found with key %s" % name)

    class Finder:
        @staticmethod
        def timezone_at(lng, lat):
            return "Europe/Berlin"
    checks = {c.name: c for c in check_time_zones(zone_loader=no_zones, finder=Finder())}
    assert checks["time_zone_data"].status == FAILED and "tzdata" in checks["time_zone_data"].fix
    assert checks["time_zone_polygons"].status == OK


class LinksNetBox:
    """What NetBox holds of the links and which permissions the token lacks."""

    def __init__(self, objects, lacking=()):
        self.objects, self.lacking, self.asked, self.read = objects, list(lacking), None, []

    def iter_objects(self, endpoint, params=None, fields=None, page_size=1000):
        self.read.append(endpoint)
        return [dict(obj, id=number) for number, obj in enumerate(self.objects.get(endpoint, []), 1)]

    def missing_permissions(self, wanted):
        self.asked = wanted
        return self.lacking


def test_the_links_check_names_what_the_sync_would_write_and_the_permissions_it_lacks():
    present = LinksNetBox({CUSTOM_LINKS: list(WANTED_LINKS), EXPORT_TEMPLATES: list(WANTED_TEMPLATES)})
    assert check_links(present).status == OK and present.asked is None  # nothing to write, nothing to ask
    creatable = LinksNetBox({CUSTOM_LINKS: list(WANTED_LINKS)})
    check = check_links(creatable)
    assert check.status == OK and "create export template" in check.message
    assert creatable.asked == {"extras.exporttemplate": ("add",)}
    refused = LinksNetBox({}, lacking=["add extras.customlink", "add extras.exporttemplate"])
    check = check_links(refused)
    assert check.status == FAILED and "lacks add extras.customlink, add extras.exporttemplate" in check.message
    assert "grant" in check.fix and "netbox_links off" in check.fix


def test_the_schema_check_looks_for_the_tag_only_when_it_makes_ownership():
    fields = [dict(field, unique=False) for field in wanted_fields(False).values()]
    untagged = LinksNetBox({CUSTOM_FIELDS: fields})
    check = check_schema(untagged, None)  # ownership source_id
    assert (check.status, check.message) == (OK, "the custom fields are present")
    assert untagged.read == [CUSTOM_FIELDS]
    tagged = LinksNetBox({CUSTOM_FIELDS: fields}, lacking=["add extras.tag"])
    check = check_schema(tagged, "geo-managed")
    assert check.status == FAILED and "NetBox lacks create tag geo-managed" in check.message
    assert tagged.asked == {"extras.tag": ("add",)}
