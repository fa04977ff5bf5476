# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by the modules: environment fallbacks, redaction of
secrets, URL credential stripping, the plain-HTTP warning, and a module's exit with
its warnings."""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "********"

# Query parameters whose values are credentials (api_key=..., token=...).
_SECRET_QUERY_KEYS = re.compile(r"(token|key|secret|password|passwd|pwd|auth|signature|sig|credential)", re.I)
# user:password@ (or token@) inside any URL found in free text.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
# key=value pairs of secret-looking query parameters inside free text.
_TEXT_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:[A-Za-z0-9_.-]*)(?:token|key|secret|password|passwd|pwd|auth|signature|sig|credential)"
    r"[A-Za-z0-9_.-]*=)(?P<value>[^&#\s'\"]+)",
    re.I,
)
# An Authorization header as it may appear in a repr or a log line.
_AUTH_HEADER = re.compile(r"(?P<key>['\"]?(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?P<value>[^'\"\r\n,}]+)", re.I)


def env_fallback(*names: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the first of the environment variables `names` that is set and not empty."""
    environ = os.environ if environ is None else environ
    for name in names:
        value = environ.get(name)
        if value:
            return value
    return None


def redact(text: Any, secrets: Iterable[Any] | None) -> str:
    """`text` with every non-empty secret replaced by ``********``.

    Longer secrets are replaced first so that a secret containing another one
    is not left half visible. Authorization header values are redacted too.
    """
    text = "" if text is None else str(text)
    for secret in sorted({str(s) for s in secrets or () if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _AUTH_HEADER.sub(lambda m: m.group("key") + REDACTED, text)


def strip_url_credentials(url: str) -> str:
    """`url` without user:password@ and with secret-looking query values redacted."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return strip_text_credentials(url)
    if not parts.scheme or not parts.netloc:
        return strip_text_credentials(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_QUERY_KEYS.search(key) for key, _value in pairs):
            query = urlencode([(k, REDACTED if _SECRET_QUERY_KEYS.search(k) else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def strip_text_credentials(text: Any) -> str:
    """Free text (an exception message) with URL credentials and Authorization values removed."""
    text = "" if text is None else str(text)
    text = _URL_USERINFO.sub(lambda m: m.group("scheme"), text)
    text = _TEXT_SECRET_PARAM.sub(lambda m: m.group("key") + REDACTED, text)
    return _AUTH_HEADER.sub(lambda m: m.group("key") + REDACTED, text)


def is_loopback_host(host: str | None) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(url: str, what: str = "the server") -> str | None:
    """A warning text when `url` is http:// to a host that is not loopback, else None."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or is_loopback_host(parts.hostname):
        return None
    return "%s is reached over plain http:// (%s): traffic, including any token, is not encrypted; use https://" % (
        what,
        strip_url_credentials(url),
    )


def exit_with_warnings(module: Any, result: dict[str, Any]) -> None:
    """End `module` with `result`: its "warnings" shown by Ansible (module.warn) and returned
    as warnings_list (Ansible keeps the key warnings for itself)."""
    result["warnings_list"] = result.pop("warnings")
    for warning in result["warnings_list"]:
        module.warn(warning)
    module.exit_json(**result)
