# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._common import (
    REDACTED,
    env_fallback,
    is_loopback_host,
    plain_http_warning,
    redact,
    strip_text_credentials,
    strip_url_credentials,
)


def test_env_fallback_takes_the_first_set_variable():
    env = {"NETBOX_API": "http://b", "NETBOX_URL": "", "OTHER": "x"}
    assert env_fallback("NETBOX_URL", "NETBOX_API", environ=env) == "http://b"
    assert env_fallback("NETBOX_TOKEN", environ=env) is None
    assert env_fallback("OTHER", "NETBOX_API", environ=env) == "x"


def test_redact_replaces_every_secret_longest_first():
    token = "nbt_abc123.s3cr3tv4lue"
    text = "token %s and part s3cr3tv4lue" % token
    out = redact(text, [token, "s3cr3tv4lue", None, ""])
    assert token not in out and "s3cr3tv4lue" not in out
    assert out == "token %s and part %s" % (REDACTED, REDACTED)


def test_redact_hides_authorization_headers_even_without_known_secrets():
    out = redact("{'Authorization': 'Bearer nbt_x.y', 'Accept': 'json'}", [])
    assert "nbt_x.y" not in out
    assert "Accept" in out


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://user:pw@example.com/a?b=1", "https://example.com/a?b=1"),
        ("https://tok@example.com:8443/", "https://example.com:8443/"),
        ("http://example.com/x?api_key=abc&page=2", "http://example.com/x?api_key=%2A%2A%2A%2A%2A%2A%2A%2A&page=2"),
        ("file:///tmp/data", "file:///tmp/data"),
        ("", ""),
    ],
)
def test_strip_url_credentials(url, shown):
    assert strip_url_credentials(url) == shown


def test_strip_text_credentials_in_free_text():
    text = "HTTPConnectionPool: Max retries exceeded with url: https://a:b@h/x?token=zzz&q=1 (Authorization: Token 0123)"
    out = strip_text_credentials(text)
    assert "a:b@" not in out and "zzz" not in out and "0123" not in out
    assert "q=1" in out


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
    ("netbox.localhost", True), ("10.0.0.1", False), ("example.com", False), (None, False),
])
def test_is_loopback_host(host, loopback):
    assert is_loopback_host(host) is loopback


def test_plain_http_warning_only_for_remote_http():
    assert plain_http_warning("https://netbox.example.com") is None
    assert plain_http_warning("http://127.0.0.1:8000") is None
    assert plain_http_warning("file:///srv/mirror") is None
    warning = plain_http_warning("http://u:secret@netbox.example.com/", what="NetBox")
    assert warning.startswith("NetBox is reached over plain http://")
    assert "secret" not in warning and "netbox.example.com" in warning
