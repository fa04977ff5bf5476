# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the Nominatim search (_nominatim.py) against a local stand-in server."""

from __future__ import annotations

import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import nominatim as _nominatim
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._version import USER_AGENT

UA = "acme-netops-geo-tests/1.0 (netops@example.com)"
BERLIN = [{
    "place_id": 159647018, "licence": "Data (c) OpenStreetMap contributors, ODbL 1.0.", "osm_type": "relation",
    "osm_id": 62422, "lat": "52.5170365", "lon": "13.3888599", "category": "boundary", "type": "administrative",
    "place_rank": 8, "name": "Berlin", "display_name": "Berlin, Deutschland",
    "address": {"city": "Berlin", "ISO3166-2-lvl4": "DE-BE", "country": "Deutschland", "country_code": "de"},
    "boundingbox": ["52.3382448", "52.6755087", "13.0883450", "13.7611609"],
}]


class FakeClock:
    """Monotonic and wall clock in one; sleeping advances it, so tests never wait."""

    def __init__(self, start=1_000_000.0):
        self.now = start
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class StandIn:
    """A local Nominatim: records each request (with the fake time it arrived) and answers from a script."""

    def __init__(self, clock):
        self.clock = clock
        self.requests = []
        self.answers = []  # (status, body bytes, headers); the last one repeats
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                stand_in.requests.append({"path": self.path, "headers": dict(self.headers), "at": stand_in.clock()})
                status, body, headers = stand_in.answers[0] if len(stand_in.answers) == 1 else stand_in.answers.pop(0)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def answer(self, status=200, body=None, headers=None):
        data = json.dumps(BERLIN if body is None else body).encode("utf-8") if not isinstance(body, bytes) else body
        self.answers.append((status, data, headers or {}))

    def params(self, index):
        return {k: v[0] for k, v in parse_qs(urlsplit(self.requests[index]["path"]).query).items()}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def server(clock):
    stand_in = StandIn(clock)
    yield stand_in
    stand_in.close()


@pytest.fixture
def http():
    client = HttpClient(retries=0, sleep=lambda s: None)
    yield client
    client.close()


@pytest.fixture
def public(monkeypatch):
    """Treat the local stand-in as the public server, so its rules apply."""
    monkeypatch.setattr(_nominatim, "PUBLIC_HOSTS", frozenset({"127.0.0.1"}))


def searcher(http, server, clock, tmp_path, **options):
    options.setdefault("user_agent", UA)
    options.setdefault("cache_dir", str(tmp_path))
    return _nominatim.NominatimSearch(http, server.url, clock=clock, sleep=clock.sleep, wall_clock=clock, **options)


def answer_files(folder):
    """The cached answers, without the rate limiter's hidden file."""
    return [name for name in os.listdir(folder) if not name.startswith(".")]


def test_search_sends_jsonv2_with_address_details_and_returns_places(http, server, clock, tmp_path):
    server.answer()
    places = searcher(http, server, clock, tmp_path, email="netops@example.com").search("  Berlin,   Germany ")
    assert places == BERLIN
    assert urlsplit(server.requests[0]["path"]).path == "/search"
    assert server.params(0) == {"format": "jsonv2", "addressdetails": "1", "q": "Berlin, Germany",
                                "email": "netops@example.com"}
    assert server.requests[0]["headers"]["User-Agent"] == UA


def test_structured_query_sends_its_fields(http, server, clock, tmp_path):
    server.answer()
    query = {"City": "Berlin", "country": "Germany", "countrycodes": ["DE"], "limit": 1, "street": ""}
    searcher(http, server, clock, tmp_path).search(query)
    assert server.params(0) == {"format": "jsonv2", "addressdetails": "1", "city": "Berlin", "country": "Germany",
                                "countrycodes": "de", "limit": "1"}


@pytest.mark.parametrize("query, message", [
    ({"q": "Berlin", "city": "Berlin"}, "mixes q with structured fields"),
    ({"limit": 3}, "nothing to search for"),
    ({"town": "Berlin"}, "unknown Nominatim query field 'town'"),
    ({"q": "Berlin", "format": "xml"}, "set by the collection"),
    ("   ", "nothing to search for"),
    (42, "a string or a dict"),
])
def test_bad_queries_are_refused_before_any_request(http, server, clock, tmp_path, query, message):
    server.answer()
    with pytest.raises(_nominatim.NominatimError, match=message):
        _nominatim.run_queries(http, server.url, ["Paris", query], str(tmp_path), UA, None, 3600, 1.0,
                               clock=clock, sleep=clock.sleep, wall_clock=clock)
    assert server.requests == []


def test_public_server_is_held_to_one_request_per_second(http, server, clock, tmp_path, public):
    server.answer()
    entries = _nominatim.run_queries(http, server.url, ["Berlin", "Paris", "Rome", "Oslo"], str(tmp_path), UA, None,
                                     3600, 10.0, clock=clock, sleep=clock.sleep, wall_clock=clock)
    assert [entry["fetched"] for entry in entries] == [True] * 4
    arrivals = [request["at"] for request in server.requests]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert len(gaps) == 3 and all(gap >= 1.0 - 1e-9 for gap in gaps)
    assert sum(clock.slept) == pytest.approx(3.0)


def test_self_hosted_server_may_go_faster(http, server, clock, tmp_path):
    server.answer()
    search = searcher(http, server, clock, tmp_path, rate_limit=4.0)
    assert search.rate == 4.0
    for place in ("Berlin", "Paris", "Rome"):
        search.search(place)
    arrivals = [request["at"] for request in server.requests]
    assert [round(b - a, 6) for a, b in zip(arrivals, arrivals[1:])] == [0.25, 0.25]


def test_searchers_sharing_a_cache_folder_share_the_rate_limit(http, server, clock, tmp_path, public):
    """Two instances stand for two Ansible worker processes: together they stay at 1 request/s."""
    server.answer()
    one = searcher(http, server, clock, tmp_path)
    two = searcher(http, server, clock, tmp_path)
    for search, place in ((one, "Berlin"), (two, "Paris"), (one, "Rome"), (two, "Oslo")):
        search.search(place)
    arrivals = [request["at"] for request in server.requests]
    assert [round(b - a, 6) for a, b in zip(arrivals, arrivals[1:])] == [1.0, 1.0, 1.0]


def test_a_clock_set_back_does_not_stall_the_spacing(tmp_path):
    clock = FakeClock()
    spacing = _nominatim.SharedSpacing(str(tmp_path / "rate"), 1.0, wall_clock=clock, sleep=clock.sleep)
    assert spacing.acquire() == 0.0
    clock.now -= 3600
    assert spacing.acquire() == 1.0  # at most one interval, not an hour


def test_without_a_cache_folder_each_searcher_spaces_its_own_requests(http, server, clock, public):
    server.answer()
    search = _nominatim.NominatimSearch(http, server.url, user_agent=UA, cache_dir=None, clock=clock,
                                        sleep=clock.sleep, wall_clock=clock)
    search.search("Berlin")
    search.search("Berlin")  # no cache: asked again, one second later
    arrivals = [request["at"] for request in server.requests]
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] == pytest.approx(1.0)


def test_effective_rate_caps_only_the_public_server():
    public = "https://nominatim.openstreetmap.org"
    assert _nominatim.effective_rate(public, 5) == 1.0
    assert _nominatim.effective_rate(public, 0) == 1.0  # "unlimited" is not allowed there
    assert _nominatim.effective_rate(public, 0.5) == 0.5
    assert _nominatim.effective_rate("https://nominatim.example.net", 5) == 5.0
    assert _nominatim.effective_rate("https://nominatim.example.net", 0) == 0.0
    with pytest.raises(_nominatim.NominatimError, match="rate_limit"):
        _nominatim.effective_rate(public, -1)


def test_cache_hit_needs_no_request_and_ignores_case_and_spacing(http, server, clock, tmp_path):
    server.answer()
    search = searcher(http, server, clock, tmp_path)
    first = search.lookup("Berlin")
    second = search.lookup("  berlin ")
    assert (first["fetched"], second["fetched"]) == (True, False)
    assert len(server.requests) == 1
    assert second["results"] == BERLIN and second["sha256"] == first["sha256"] and second["path"] == first["path"]
    with open(first["path"], "rb") as handle:  # the body exactly as the server sent it
        assert json.loads(handle.read()) == BERLIN
    assert answer_files(tmp_path) == [os.path.basename(first["path"])]


def test_cache_expires_after_the_ttl(http, server, clock, tmp_path):
    server.answer()
    search = searcher(http, server, clock, tmp_path, cache_ttl=600)
    search.search("Berlin")
    clock.now += 599
    search.search("Berlin")
    assert len(server.requests) == 1
    clock.now += 1
    assert search.lookup("Berlin")["fetched"] is True
    assert len(server.requests) == 2


def test_ttl_zero_always_asks_and_a_damaged_cache_file_is_refetched(http, server, clock, tmp_path):
    server.answer()
    always = searcher(http, server, clock, tmp_path, cache_ttl=0)
    always.search("Berlin")
    always.search("Berlin")
    assert len(server.requests) == 2
    search = searcher(http, server, clock, tmp_path)
    path = search.lookup("Berlin")["path"]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    assert search.lookup("Berlin")["fetched"] is True
    assert len(server.requests) == 3


def test_different_servers_do_not_share_cache_entries():
    params = _nominatim.normalise_query("Berlin")
    one = _nominatim.cache_key("https://a.example/search", params)
    assert one != _nominatim.cache_key("https://b.example/search", params)
    assert one == _nominatim.cache_key("https://a.example/search", _nominatim.normalise_query("BERLIN"))


def test_429_ends_with_a_clear_message(http, server, clock, tmp_path):
    server.answer(429, {"error": "Too many requests"}, {"Retry-After": "30"})
    with pytest.raises(_nominatim.NominatimError) as caught:
        searcher(http, server, clock, tmp_path).search("Berlin")
    message = str(caught.value)
    assert caught.value.status == 429
    assert "429" in message and "1 request per second" in message and "Retry-After: 30" in message
    assert _nominatim.POLICY_URL in message
    assert len(server.requests) == 1  # not retried: asking again is what the server objects to
    assert answer_files(tmp_path) == []


def test_403_explains_the_usage_policy_block(http, server, clock, tmp_path):
    server.answer(403, b"<html>Access blocked</html>")
    with pytest.raises(_nominatim.NominatimError) as caught:
        searcher(http, server, clock, tmp_path, email="netops@example.com").search("Berlin")
    message = str(caught.value)
    assert caught.value.status == 403 and "blocked" in message and "User-Agent" in message
    assert _nominatim.POLICY_URL in message
    assert "netops@example.com" not in message  # the reported URL leaves the address out


def test_server_error_and_non_array_answers_are_named(http, server, clock, tmp_path):
    server.answer(500, b"boom")
    with pytest.raises(_nominatim.NominatimError, match=r"HTTP 500.*q=Berlin|q=Berlin.*HTTP 500"):
        searcher(http, server, clock, tmp_path).search("Berlin")
    server.answers[:] = []
    server.answer(200, {"error": "Unable to geocode"})
    with pytest.raises(_nominatim.NominatimError, match="Unable to geocode"):
        searcher(http, server, clock, tmp_path).search("Paris")
    server.answers[:] = []
    server.answer(200, b"<html>")
    with pytest.raises(_nominatim.NominatimError, match="not JSON"):
        searcher(http, server, clock, tmp_path).search("Rome")


@pytest.mark.parametrize("user_agent", [None, "", "   ", USER_AGENT, "python-requests/2.32.3", "curl/8.5.0"])
def test_public_server_refuses_a_missing_or_generic_user_agent(user_agent):
    with pytest.raises(_nominatim.NominatimError) as caught:
        _nominatim.NominatimSearch(None, "https://nominatim.openstreetmap.org", user_agent=user_agent)
    message = str(caught.value)
    assert "usage policy" in message and _nominatim.POLICY_URL in message and "user_agent" in message


def test_public_server_accepts_an_identifying_user_agent_and_self_hosted_needs_none():
    search = _nominatim.NominatimSearch(None, "https://nominatim.openstreetmap.org/", user_agent=UA)
    assert search.public and search.rate == 1.0
    assert search.endpoint == "https://nominatim.openstreetmap.org/search"
    own = _nominatim.NominatimSearch(None, "http://nominatim.internal:8080/search", user_agent=None)
    assert not own.public and own.endpoint == "http://nominatim.internal:8080/search"


def test_self_hosted_without_user_agent_keeps_the_client_default(http, server, clock, tmp_path):
    server.answer()
    searcher(http, server, clock, tmp_path, user_agent=None).search("Berlin")
    assert server.requests[0]["headers"]["User-Agent"] == USER_AGENT


def test_run_queries_reports_one_file_per_query(http, server, clock, tmp_path):
    server.answer()
    queries = ["Berlin", {"city": "Berlin", "country": "Germany"}, "Berlin"]
    entries = _nominatim.run_queries(http, server.url, queries, str(tmp_path / "nominatim"), UA, None, 3600, 1.0,
                                     clock=clock, sleep=clock.sleep, wall_clock=clock)
    assert [entry["query"] for entry in entries] == queries
    assert [entry["fetched"] for entry in entries] == [True, True, False]
    assert [entry["results"] for entry in entries] == [1, 1, 1]
    assert entries[0]["path"] == entries[2]["path"] != entries[1]["path"]
    assert entries[1]["url"].startswith(server.url + "/search?format=jsonv2&addressdetails=1&")
    assert len(server.requests) == 2


def test_answer_files_follow_the_mode_rule(http, server, clock, tmp_path):
    server.answer()
    folder = tmp_path / "nominatim"
    old = os.umask(0o077)
    try:
        default = _nominatim.run_queries(http, server.url, ["Berlin"], str(folder), UA, None, 3600, 1.0,
                                         clock=clock, sleep=clock.sleep, wall_clock=clock)
        asked = _nominatim.run_queries(http, server.url, ["Paris"], str(folder), UA, None, 3600, 1.0,
                                       clock=clock, sleep=clock.sleep, wall_clock=clock, mode=0o640)
    finally:
        os.umask(old)
    assert [stat.S_IMODE(os.stat(e["path"]).st_mode) for e in default + asked] == [0o644, 0o640]
    assert [e["changed"] for e in default + asked] == [True, True]


@pytest.mark.parametrize("base_url", ["ftp://example.com", "nominatim.openstreetmap.org", "https://x.example/?q=1"])
def test_bad_base_url_is_refused(base_url):
    with pytest.raises(_nominatim.NominatimError, match="base_url"):
        _nominatim.NominatimSearch(None, base_url, user_agent=UA)
