# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import zipfile

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import cache as _cache
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.cache import MANIFEST_NAME, Cache, CacheError
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient, HttpError

from ansible_collections.geofoss.netbox.tests.unit.plugins.module_utils.scripted_http import ScriptedServer, Step

ETAG = '"v1-abc"'
MODIFIED = "Wed, 19 Nov 2025 01:02:03 GMT"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def zip_bytes(name="cities.txt", text="1\tBerlin\n"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def leftovers(folder):
    return [n for n in os.listdir(folder) if n.endswith(".part") or n.endswith(".tmp")]


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def http():
    return HttpClient(retries=2, sleep=lambda s: None, random=lambda: 0.0)


def versioned(body, etag=ETAG, modified=MODIFIED):
    return Step(body=body, headers={"ETag": etag, "Last-Modified": modified})


def test_first_fetch_writes_file_and_manifest(tmp_path, server, http):
    body = b"DE\tGermany\n"
    server.add("/countryInfo.txt", versioned(body))
    cache = Cache(str(tmp_path / "cache"), http=http, now=lambda: 1_764_000_000)
    entry = cache.fetch("countryInfo.txt", server.url("/countryInfo.txt"), dataset="countryInfo", source="geonames")
    path = tmp_path / "cache" / "countryInfo.txt"
    assert path.read_bytes() == body
    assert entry["changed"] is True and entry["fetched"] is True
    assert entry["sha256"] == sha(body) and entry["size"] == len(body)
    assert entry["path"] == str(path)
    manifest = json.loads((tmp_path / "cache" / MANIFEST_NAME).read_text())
    assert manifest["kind"] == "geofoss.netbox/fetch-manifest"
    [stored] = manifest["files"]
    assert stored["path"] == "countryInfo.txt"  # relative: the folder can move
    assert stored["url"] == server.url("/countryInfo.txt")
    assert stored["sha256"] == sha(body)
    assert stored["etag"] == ETAG and stored["last_modified"] == MODIFIED
    assert stored["dataset"] == "countryInfo" and stored["source"] == "geonames"
    assert stored["fetched_at"] == "2025-11-24T16:00:00Z"
    assert leftovers(tmp_path / "cache") == []


def test_second_fetch_is_conditional_and_unchanged_on_304(tmp_path, server, http):
    body = b"first"
    server.add("/a.txt", versioned(body), Step(status=304))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    before = os.stat(tmp_path / "a.txt")
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    conditional = server.hits("/a.txt")[1].headers
    assert conditional["If-None-Match"] == ETAG
    assert conditional["If-Modified-Since"] == MODIFIED
    assert entry["changed"] is False and entry["fetched"] is False
    assert entry["sha256"] == sha(body) and entry["etag"] == ETAG
    assert os.stat(tmp_path / "a.txt").st_ino == before.st_ino


def test_same_content_again_is_not_a_change_and_keeps_the_file(tmp_path, server, http):
    server.add("/a.txt", versioned(b"same"), versioned(b"same", etag='"v2"'))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    inode = os.stat(tmp_path / "a.txt").st_ino
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    assert entry["fetched"] is True and entry["changed"] is False
    assert os.stat(tmp_path / "a.txt").st_ino == inode
    assert Cache(str(tmp_path)).entries["a.txt"]["etag"] == '"v2"'


def test_new_content_replaces_the_file_atomically(tmp_path, server, http):
    server.add("/a.txt", versioned(b"old"), versioned(b"new content", etag='"v2"'))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    inode = os.stat(tmp_path / "a.txt").st_ino
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    assert entry["changed"] is True
    assert (tmp_path / "a.txt").read_bytes() == b"new content"
    assert os.stat(tmp_path / "a.txt").st_ino != inode  # renamed into place, not rewritten
    assert leftovers(tmp_path) == []


def test_force_sends_no_conditional_headers(tmp_path, server, http):
    server.add("/a.txt", versioned(b"x"))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"), force=True)
    assert "If-None-Match" not in server.hits("/a.txt")[1].headers
    assert entry["fetched"] is True and entry["changed"] is False


def test_a_tampered_cached_copy_is_downloaded_again(tmp_path, server, http):
    server.add("/a.txt", versioned(b"good"))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    (tmp_path / "a.txt").write_bytes(b"evil")
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    assert "If-None-Match" not in server.hits("/a.txt")[1].headers
    assert entry["changed"] is True and (tmp_path / "a.txt").read_bytes() == b"good"


def test_truncated_download_keeps_the_good_copy(tmp_path, server, http):
    good = zip_bytes()
    server.add("/c.zip", versioned(good), Step(body=b"z" * 4000, truncate=10))
    Cache(str(tmp_path), http=http).fetch("c.zip", server.url("/c.zip"))
    manifest = (tmp_path / MANIFEST_NAME).read_bytes()
    with pytest.raises(HttpError, match="truncated"):
        Cache(str(tmp_path), http=http).fetch("c.zip", server.url("/c.zip"), force=True)
    assert (tmp_path / "c.zip").read_bytes() == good
    assert (tmp_path / MANIFEST_NAME).read_bytes() == manifest
    assert leftovers(tmp_path) == []


def test_broken_zip_fails_and_keeps_the_good_copy(tmp_path, server, http):
    good = zip_bytes()
    broken = bytearray(zip_bytes(text="x" * 1000))
    broken[40:60] = b"\0" * 20  # inside the compressed member: CRC or inflate fails
    server.add("/c.zip", versioned(good), versioned(bytes(broken), etag='"v2"'))
    Cache(str(tmp_path), http=http).fetch("c.zip", server.url("/c.zip"))
    with pytest.raises(CacheError) as info:
        Cache(str(tmp_path), http=http).fetch("c.zip", server.url("/c.zip"))
    assert "c.zip" in str(info.value) and "broken" in str(info.value)
    assert (tmp_path / "c.zip").read_bytes() == good
    assert Cache(str(tmp_path)).entries["c.zip"]["etag"] == ETAG


def test_html_error_page_instead_of_zip_is_refused(tmp_path, server, http):
    server.add("/c.zip", Step(body=b"<html>captive portal</html>"))
    with pytest.raises(CacheError, match="not a valid zip"):
        Cache(str(tmp_path), http=http).fetch("c.zip", server.url("/c.zip"))
    assert not (tmp_path / "c.zip").exists()


def test_checksum_mismatch_fails_and_keeps_the_cache(tmp_path, server, http):
    server.add("/a.txt", versioned(b"v1"), versioned(b"v2", etag='"v2"'))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"), checksum=sha(b"v1"))
    with pytest.raises(CacheError) as info:
        Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"), checksum=sha(b"v1"))
    message = str(info.value)
    assert sha(b"v1") in message and sha(b"v2") in message and "a.txt" in message
    assert (tmp_path / "a.txt").read_bytes() == b"v1"
    assert Cache(str(tmp_path)).entries["a.txt"]["sha256"] == sha(b"v1")


def test_checksum_is_checked_on_an_unchanged_copy_too(tmp_path, server, http):
    server.add("/a.txt", versioned(b"v1"), Step(status=304))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    with pytest.raises(CacheError, match="checksum mismatch"):
        Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"), checksum="0" * 64)
    assert (tmp_path / "a.txt").read_bytes() == b"v1"


def test_checksum_accepts_a_prefix_and_upper_case(tmp_path, server, http):
    server.add("/a.txt", versioned(b"v1"))
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"),
                                                  checksum="sha256:" + sha(b"v1").upper())
    assert entry["sha256"] == sha(b"v1")


class FullDiskHttp:
    """Writes part of a body, then the disk is full."""

    def download(self, url, handle, headers=None, expected=(200,)):
        handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_fails_and_leaves_the_cache_intact(tmp_path, server, http):
    server.add("/a.txt", versioned(b"good"))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    manifest = (tmp_path / MANIFEST_NAME).read_bytes()
    with pytest.raises(CacheError) as info:
        Cache(str(tmp_path), http=FullDiskHttp()).fetch("a.txt", server.url("/a.txt"), force=True)
    assert "no space left on device" in str(info.value)
    assert "a.txt" in str(info.value)
    assert (tmp_path / "a.txt").read_bytes() == b"good"
    assert (tmp_path / MANIFEST_NAME).read_bytes() == manifest
    assert leftovers(tmp_path) == []


def test_full_disk_while_saving_the_manifest_is_reported(tmp_path, monkeypatch):
    source = tmp_path / "src.txt"
    source.write_bytes(b"data")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_cache, "write_bytes", no_space)
    with pytest.raises(CacheError, match="manifest.*no space left"):
        Cache(str(tmp_path / "c")).fetch("a.txt", source.as_uri())


def test_file_url_fetch_and_change_detection(tmp_path):
    source = tmp_path / "mirror" / "admin1CodesASCII.txt"
    source.parent.mkdir()
    source.write_bytes(b"DE.01\tBaden\n")
    dest = str(tmp_path / "cache")
    first = Cache(dest).fetch("admin1CodesASCII.txt", source.as_uri())
    second = Cache(dest).fetch("admin1CodesASCII.txt", source.as_uri())
    source.write_bytes(b"DE.01\tBaden-Wuerttemberg\n")
    third = Cache(dest).fetch("admin1CodesASCII.txt", source.as_uri())
    assert [first["changed"], second["changed"], third["changed"]] == [True, False, True]
    assert first["etag"] is None and first["last_modified"].endswith("GMT")
    assert (tmp_path / "cache" / "admin1CodesASCII.txt").read_bytes() == b"DE.01\tBaden-Wuerttemberg\n"


def test_missing_file_url_names_the_path(tmp_path):
    with pytest.raises(CacheError) as info:
        Cache(str(tmp_path)).fetch("x.txt", (tmp_path / "nope" / "x.txt").as_uri())
    assert str(tmp_path / "nope" / "x.txt") in str(info.value)


def test_unsupported_scheme_is_refused(tmp_path):
    with pytest.raises(CacheError, match="unsupported URL scheme 'ftp'"):
        Cache(str(tmp_path)).fetch("x.txt", "ftp://example.com/x.txt")


@pytest.mark.parametrize("name, message", [(name, "it would escape dest")
                                           for name in ("../escape.txt", "a/b.txt", "/etc/passwd", "..", ".hidden", "a\\b")]
                         + [("", "invalid cache file name"), (MANIFEST_NAME, "reserved for the cache's own bookkeeping")])
def test_names_that_would_escape_dest_are_refused(tmp_path, name, message):
    with pytest.raises(CacheError, match=message):
        Cache(str(tmp_path)).path_for(name)


def test_symlink_out_of_dest_is_refused(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(str(tmp_path / "outside" / "x.txt"), str(tmp_path / "cache" / "x.txt"))
    with pytest.raises(CacheError, match="outside dest"):
        Cache(str(tmp_path / "cache")).path_for("x.txt")


def test_check_mode_http_probes_with_head_and_writes_nothing(tmp_path, server, http):
    server.add("/a.txt", versioned(b"abc"))
    dest = tmp_path / "cache"
    entry = Cache(str(dest), http=http).fetch("a.txt", server.url("/a.txt"), check_mode=True)
    assert entry["changed"] is True and entry["size"] == 3
    assert [r.method for r in server.hits("/a.txt")] == ["HEAD"]
    assert not dest.exists()


def test_check_mode_http_unchanged_when_the_etag_matches(tmp_path, server, http):
    server.add("/a.txt", versioned(b"abc"))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"), check_mode=True)
    assert entry["changed"] is False
    assert server.hits("/a.txt")[1].method == "HEAD"
    assert server.hits("/a.txt")[1].headers["If-None-Match"] == ETAG


def test_check_mode_file_url_predicts_without_writing(tmp_path):
    source = tmp_path / "s.txt"
    source.write_bytes(b"one")
    dest = tmp_path / "cache"
    entry = Cache(str(dest)).fetch("s.txt", source.as_uri(), check_mode=True)
    assert entry["changed"] is True and entry["sha256"] == sha(b"one")
    assert not dest.exists()


def test_corrupt_manifest_is_reported_with_its_path(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(CacheError) as info:
        Cache(str(tmp_path))
    assert str(tmp_path / MANIFEST_NAME) in str(info.value)


def test_foreign_manifest_is_refused(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"name": "something else"}))
    with pytest.raises(CacheError, match="not a geo_fetch manifest"):
        Cache(str(tmp_path))


def test_dest_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    source = tmp_path / "s.txt"
    source.write_text("y")
    with pytest.raises(CacheError, match="not a folder"):
        Cache(str(tmp_path / "file")).fetch("s.txt", source.as_uri())


def test_check_mode_with_a_server_that_refuses_head_predicts_a_change(tmp_path, server, http):
    server.add("/a.txt", versioned(b"abc"), Step(status=405))
    Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"))
    entry = Cache(str(tmp_path), http=http).fetch("a.txt", server.url("/a.txt"), check_mode=True)
    assert entry["changed"] is True and entry["sha256"] is None
    assert (tmp_path / "a.txt").read_bytes() == b"abc"
