# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local download site other tests rely on: layouts, conditional requests, faults, lifetime.

Needs GEOFOSS_GEODATA, not NetBox.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import subprocess
import sys
import zipfile
import zlib

import pytest

from geodata_server import GeodataServer

GEODATA = os.environ.get("GEOFOSS_GEODATA")
pytestmark = pytest.mark.skipif(not GEODATA or not os.path.isdir(GEODATA), reason="GEOFOSS_GEODATA not set")


def get(server, path, method="GET", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def real(relative):
    with open(os.path.join(GEODATA, relative), "rb") as handle:
        return handle.read()


def zip_is_broken(data):
    try:
        return zipfile.ZipFile(io.BytesIO(data)).testzip() is not None
    except (zipfile.BadZipFile, zlib.error, EOFError):
        return True


@pytest.fixture
def server():
    with GeodataServer(GEODATA, lifetime=60) as srv:
        yield srv


def test_publisher_layouts(server):
    assert get(server, "/export/dump/countryInfo.txt")[2] == real("geonames/countryInfo.txt")
    cdn = get(server, "/naturalearth/110m/cultural/ne_110m_admin_0_countries.zip")[2]
    assert cdn == real("naturalearth/ne_110m_admin_0_countries.zip")
    assert get(server, "/naturalearth/ne_110m_admin_0_countries.zip")[2] == cdn
    assert get(server, "/geonames/alternate-2025-11/admin1CodesASCII.txt")[2] == \
        real("geonames/alternate-2025-11/admin1CodesASCII.txt")
    assert get(server, "/export/dump/../../README.md")[2] == real("README.md")  # normalised, inside the root
    assert get(server, "/%2e%2e/%2e%2e/etc/passwd")[0] == 404


def test_conditional_requests_and_head(server):
    status, headers, body = get(server, "/export/dump/cities15000.zip", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(real("geonames/cities15000.zip"))
    assert get(server, "/export/dump/cities15000.zip", headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert get(server, "/export/dump/cities15000.zip", headers={"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(server, "/export/dump/cities15000.zip", headers={"If-None-Match": '"other"'})[0] == 200


def test_faults_are_used_up_in_order(server):
    path = "/export/dump/cities15000.zip"
    server.set_faults(path, ["503", "429:7", "corrupt"])
    assert get(server, path)[0] == 503
    status, headers, _body = get(server, path)
    assert status == 429 and headers["Retry-After"] == "7"
    _status, _headers, corrupt = get(server, path)
    original = real("geonames/cities15000.zip")
    assert len(corrupt) == len(original) and corrupt != original
    assert zip_is_broken(corrupt)
    assert hashlib.sha256(get(server, path)[2]).digest() == hashlib.sha256(original).digest()


def test_drop_and_reset(server):
    path = "/export/dump/admin1CodesASCII.txt"
    server.set_faults(path, ["drop", "reset"])
    with pytest.raises(http.client.IncompleteRead):
        get(server, path)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(server, path)
    assert get(server, path)[0] == 200
    assert [e["fault"] for e in server.requests(path)] == ["drop", "reset", None]


def test_control_endpoints_and_nominatim(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"path": "/export/dump/countryInfo.txt", "faults": ["500"]})
    connection.request("POST", "/_control/faults", body=body, headers={"Content-Type": "application/json"})
    assert connection.getresponse().read()
    connection.close()
    assert get(server, "/export/dump/countryInfo.txt")[0] == 500
    answer = json.loads(get(server, "/search?q=Berlin&format=jsonv2")[2])
    assert answer[0]["name"] == "Berlin"
    assert json.loads(get(server, "/search?q=Atlantis")[2]) == []
    log = json.loads(get(server, "/_control/log")[2])
    assert [e["status"] for e in log][:1] == [500]


def test_it_stops_by_itself():
    srv = GeodataServer(GEODATA, lifetime=0.5).start()
    srv._thread.join(10)  # pylint: disable=protected-access
    assert not srv._thread.is_alive()  # pylint: disable=protected-access


def test_command_line_writes_the_port_and_honours_faults(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "geodata_server.py")
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, script, "--root", GEODATA, "--port-file", str(port_file),
                                "--lifetime", "30", "--fault", "/export/dump/countryInfo.txt=503"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert b"serving" in process.stdout.readline()  # printed after the port file is written
        srv = type("Port", (), {"port": int(port_file.read_text())})
        assert get(srv, "/export/dump/countryInfo.txt")[0] == 503
        assert get(srv, "/export/dump/countryInfo.txt")[0] == 200
        get(srv, "/_control/shutdown", method="POST")
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
