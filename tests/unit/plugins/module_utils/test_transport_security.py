# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS settings of the shared HTTP client against a local https server with a self-signed
certificate (offline), and the plain-http warning of the NetBox modules."""

from __future__ import annotations

import importlib.util
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient, HttpError


# the certificate maker of the test suite's fault proxy (tests/integration/python/faultproxy.py)
_faultproxy = sys.modules.get("faultproxy")
if _faultproxy is None:
    _spec = importlib.util.spec_from_file_location(
        "faultproxy", os.path.join(os.path.dirname(__file__), *[os.pardir] * 3, "integration", "python", "faultproxy.py"))
    _faultproxy = importlib.util.module_from_spec(_spec)
    sys.modules["faultproxy"] = _faultproxy  # dataclasses look their module up by name
    _spec.loader.exec_module(_faultproxy)


@pytest.fixture
def https_server(tmp_path):
    """(url, certificate file) of a local https server answering {"ok": true}."""
    cert, key = _faultproxy.self_signed_certificate(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # pylint: disable=invalid-name  # the name http.server calls
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield "https://127.0.0.1:%d/" % server.server_address[1], cert
    server.shutdown()
    server.server_close()


def test_certificates_are_verified_by_default(https_server):
    url = https_server[0]
    client = HttpClient(retries=0)
    assert client.session.verify is True
    with pytest.raises(HttpError) as caught:
        client.request("GET", url)
    assert "certificate" in str(caught.value).lower()


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # validate_certs=False, on purpose
@pytest.mark.parametrize("environment", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", None])
def test_validate_certs_false_and_ca_path_beat_a_bundle_in_the_environment(https_server, monkeypatch, environment):
    """Execution environments and corporate hosts set REQUESTS_CA_BUNDLE; requests would let it
    override the session's verify setting unless verify is given with each request."""
    url, cert = https_server
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    if environment:
        monkeypatch.setenv(environment, certifi.where())
    assert HttpClient(retries=0, validate_certs=False).request("GET", url).json() == {"ok": True}
    assert HttpClient(retries=0, ca_path=cert).request("GET", url).json() == {"ok": True}
    with pytest.raises(HttpError, match="(?i)certificate"):
        HttpClient(retries=0).request("GET", url)  # the bundle in the environment does not hold our CA


@pytest.mark.parametrize("url, warned", [
    ("http://netbox.example.com", True),
    ("http://10.1.2.3:8000", True),
    ("https://netbox.example.com", False),
    ("http://127.0.0.1:8765", False),
    ("http://localhost:8000", False),
    ("http://[::1]:8000", False),
])
def test_the_sync_warns_about_plain_http_to_a_remote_host(url, warned):
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import Sync
    sync = Sync({"netbox_url": url, "netbox_token": "nbt_abc.def", "dataset": "x"})
    found = [w for w in sync.warnings if "plain http" in w]
    assert bool(found) == warned, sync.warnings
    assert not [w for w in sync.warnings if "nbt_abc.def" in w]
