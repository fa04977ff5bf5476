# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NetBox client against a local fake NetBox: auth, errors, pagination, probes, writes."""

from __future__ import annotations

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._http import AmbiguousWriteError, HttpClient
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import (
    NetBoxClient, NetBoxError, api_url, auth_header, chunks,
)

from fake_netbox import FakeNetBox

TOKEN = "nbt_key.secret"
V1 = "0123456789abcdef0123456789abcdef01234567"


def client(server, token=TOKEN, **kwargs):
    return NetBoxClient(server.url, token, HttpClient(retries=0, sleep=lambda s: None), **kwargs)


def test_auth_header_follows_the_token_form():
    assert auth_header("nbt_abc.def") == "Bearer nbt_abc.def"
    assert auth_header(V1) == "Token " + V1
    assert auth_header(" Token xyz ") == "Token xyz"
    with pytest.raises(NetBoxError, match="NETBOX_TOKEN"):
        auth_header("")


def test_api_url_accepts_a_base_with_or_without_api():
    assert api_url("https://nb/", "dcim/regions") == "https://nb/api/dcim/regions/"
    assert api_url("https://nb/api", "/status/") == "https://nb/api/status/"


def test_chunks():
    assert chunks(range(5), 2) == [[0, 1], [2, 3], [4]]
    assert chunks([], 3) == []


@pytest.mark.parametrize("token", [TOKEN, V1])
def test_status_with_v1_and_v2_tokens(token):
    with FakeNetBox(tokens={TOKEN: None, V1: None}) as server:
        assert client(server, token).status()["netbox-version"] == "4.7.3"


def test_a_refused_token_says_so_and_hides_the_token():
    with FakeNetBox() as server:
        with pytest.raises(NetBoxError) as caught:
            client(server, "nbt_wrong.supersecretvalue").status()
    assert caught.value.status == 403
    assert "refused the token" in caught.value.message
    assert "supersecretvalue" not in str(caught.value) + str(caught.value.body)


def test_iter_objects_pages_by_id_and_asks_for_fields():
    with FakeNetBox() as server:
        for number in range(7):
            server.add_region("R%d" % number)
        rows = list(client(server).iter_objects("dcim/regions", fields=("name",), page_size=3))
        assert [r["name"] for r in rows] == ["R%d" % n for n in range(7)]
        assert set(rows[0]) == {"id", "name"}
        gets = [dict(q) for m, p, q in server.requests if p == "/api/dcim/regions/"]
    # cursor pages: no ordering (NetBox refuses it with start), no count to compute
    assert [g["start"] for g in gets] == ["1", "4", "7"]
    assert gets[0]["fields"] == "id,name" and not any("ordering" in g for g in gets)


def test_a_netbox_without_cursor_pages_is_read_by_id_all_the_same():
    with FakeNetBox() as server:
        server.cursor_pages = False  # ignores start, answers by name with a count
        for number in range(7):
            server.add_region("R%d" % (9 - number))  # name order is the reverse of id order
        nb = client(server)
        rows = list(nb.iter_objects("dcim/regions", fields=("name",), page_size=3))
        assert [r["name"] for r in rows] == ["R%d" % (9 - n) for n in range(7)]
        gets = [dict(q) for m, p, q in server.requests if p == "/api/dcim/regions/"]
        # one probe with start, then keyset pages by id
        assert "start" in gets[0] and [(g.get("ordering"), g.get("id__gt")) for g in gets[1:]] == [
            ("id", "0"), ("id", "3"), ("id", "6")]
        assert nb.cursor_pages is False
        server.requests.clear()
        assert len(list(nb.iter_objects("dcim/regions", page_size=3))) == 7
        assert not any("start" in dict(q) for m, p, q in server.requests)  # known now: not probed again


@pytest.mark.parametrize("streams", [1, 2, 3])
def test_read_all_splits_the_id_range_and_keeps_id_order(streams):
    with FakeNetBox() as server:
        for number in range(20):
            server.add_region("R%d" % number)
        rows = client(server).read_all("dcim/regions", fields=("name",), page_size=4, streams=streams,
                                       shape=lambda row: {"name": row["name"].lower()})
        assert rows == [{"name": "r%d" % n} for n in range(20)]  # shaped in every stream
        ranges = {(dict(q).get("id__gte"), dict(q).get("id__lte")) for m, p, q in server.requests
                  if p == "/api/dcim/regions/" and "start" in dict(q)}
    # one id range per stream (a single unbounded one for streams=1)
    assert len(ranges) == streams


def test_read_all_of_few_objects_is_one_stream():
    with FakeNetBox() as server:
        for number in range(3):
            server.add_region("R%d" % number)
        rows = client(server).read_all("dcim/regions", fields=("name",), page_size=1000, streams=2)
        assert len(rows) == 3
        lists = [dict(q) for m, p, q in server.requests if p == "/api/dcim/regions/" and "start" in dict(q)]
    assert len(lists) == 1 and "id__gte" not in lists[0]


def test_missing_permissions_probes_without_writing():
    tokens = {TOKEN: {"dcim.region": {"view", "change"}}}
    with FakeNetBox(tokens=tokens) as server:
        nb = client(server)
        missing = nb.missing_permissions({"dcim.region": ("view", "add", "change", "delete"),
                                          "extras.tag": ("view",)})
        assert server.writes == []
    assert missing == ["add dcim.region", "delete dcim.region", "view extras.tag"]


def test_permission_error_names_what_is_missing():
    with FakeNetBox(tokens={TOKEN: {"dcim.region": {"view"}}}) as server:
        with pytest.raises(NetBoxError) as caught:
            client(server).write("POST", "dcim/regions", [{"name": "A", "slug": "a"}])
    assert caught.value.status == 403 and "lacks the permission" in caught.value.message


def test_each_write_is_one_request_that_stamps_the_message_and_collects_its_request_id():
    with FakeNetBox() as server:
        nb = client(server, changelog_message="run 42", batch_size=2)
        created = nb.write("POST", "dcim/regions", [{"name": n, "slug": n.lower()} for n in "ABC"])
        assert [r["name"] for r in created] == ["A", "B", "C"]
        nb.write("PATCH", "dcim/regions", [{"id": created[0]["id"], "description": "x"}])
        assert nb.write("DELETE", "dcim/regions", [{"id": r["id"]} for r in created]) == []
        assert server.regions == {}
        assert [write[0] for write in server.writes] == ["POST", "PATCH", "DELETE"]
        assert set(server.messages) == {"run 42"}
    assert len(nb.request_ids) == 3 and len(set(nb.request_ids)) == 3


@pytest.mark.parametrize("fault, error", [("503", NetBoxError), ("drop_after_commit", AmbiguousWriteError)])
def test_a_write_is_sent_once_whatever_the_http_retries(fault, error):
    """Sending a write again is the writer's decision (after reading back), never the HTTP client's."""
    with FakeNetBox() as server:
        server.faults.append(("PATCH", fault))
        region = server.add_region("A")
        nb = NetBoxClient(server.url, TOKEN, HttpClient(retries=5, sleep=lambda s: None))
        with pytest.raises(error) as caught:
            nb.write("PATCH", "dcim/regions", [{"id": region, "description": "x"}])
        sent = [m for m, p, q in server.requests if m == "PATCH"]
    assert len(sent) == 1 and nb.http.counters["retries"] == 0
    assert caught.value.transient


def test_a_rejected_write_quotes_netbox():
    with FakeNetBox() as server:
        nb = client(server)
        nb.write("POST", "dcim/regions", [{"name": "A", "slug": "a"}])
        with pytest.raises(NetBoxError) as caught:
            nb.write("POST", "dcim/regions", [{"name": "A", "slug": "a2"}])
    assert caught.value.status == 400 and "must be unique" in caught.value.message


def test_not_a_netbox():
    with FakeNetBox() as server:
        with pytest.raises(NetBoxError, match="HTTP 404"):
            client(server).request("GET", "nothing/here")


def test_writes_go_on_fresh_connections_and_reads_on_kept_alive_ones():
    sent = []

    class Recording(HttpClient):
        def request(self, method, url, **kwargs):
            sent.append((method, bool(kwargs.get("fresh_connection"))))
            return super().request(method, url, **kwargs)

    with FakeNetBox() as server:
        nb = NetBoxClient(server.url, TOKEN, Recording(retries=0, sleep=lambda s: None))
        created = nb.write("POST", "dcim/regions", [{"name": "A", "slug": "a"}])
        nb.write("PATCH", "dcim/regions", [{"id": created[0]["id"], "description": "x"}])
        list(nb.iter_objects("dcim/regions"))
        nb.write("DELETE", "dcim/regions", [{"id": created[0]["id"]}])
    assert sent == [("POST", True), ("PATCH", True), ("GET", False), ("DELETE", True)]
