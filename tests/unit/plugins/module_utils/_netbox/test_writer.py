# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry-and-recheck layer for NetBox writes against a scripted server: what is
sent again and what is not, what is read back first, and the bound (a batch is sent at
most retries + 1 times, however it fails)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._http import AmbiguousWriteError, HttpClient, HttpError
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, NetBoxError
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import (
    BatchWriter, Identity, Rule, rule_for, same_value,
)

from scripted_http import ScriptedServer, Step

TOKEN = "nbt_key.secret"
REGIONS = "/api/dcim/regions/"
BY_SOURCE = Identity("slug", "id,slug,custom_fields", lambda obj: (obj.get("custom_fields") or {}).get("geo_source_id"))
INVALID_MOVE = json.dumps({"error": "A node may not be made a child of any of its descendants.",
                           "exception": "InvalidMove", "netbox_version": "4.7.3", "python_version": "3.12"}).encode()
DEADLOCK = json.dumps({"error": "deadlock detected", "exception": "OperationalError"}).encode()


def page(*objects):
    return Step(body=json.dumps({"count": None, "next": None, "results": list(objects)}).encode())


def region(rid, source, **fields):
    """A region as NetBox answers; its slug is its body's (see bodies)."""
    return dict({"id": rid, "slug": "r" + source.split(":")[1], "custom_fields": {"geo_source_id": source}}, **fields)


def bodies(count=2):
    return [{"name": "R%d" % n, "slug": "r%d" % n, "custom_fields": {"geo_source_id": "geonames:%d" % n}}
            for n in range(count)]


@pytest.fixture
def server():
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def waits():
    return []


def writer(server, waits, retries=2, batch_size=200):
    http = HttpClient(retries=retries, sleep=waits.append, random=lambda: 1.0, backoff_base=0.5)
    return BatchWriter(NetBoxClient(server.url(""), TOKEN, http, changelog_message="run", batch_size=batch_size),
                       retries)


def sent(server, method):
    return server.hits(REGIONS, method)


# --- the happy path: one request per batch, nothing read back -------------------------------------
def test_each_batch_is_one_request_and_nothing_is_read_back(server, waits):
    server.add(REGIONS, Step(status=201, body=json.dumps([region(1, "geonames:0"), region(2, "geonames:1")]).encode()),
               Step(status=201, body=json.dumps([region(3, "geonames:2")]).encode()), method="POST")
    server.add(REGIONS, Step(status=200, body=b"[]"), method="PATCH")
    server.add(REGIONS, Step(status=204), method="DELETE")
    nb_writer = writer(server, waits, batch_size=2)
    created = nb_writer.create("dcim/regions", bodies(3), BY_SOURCE)
    assert created.ids == {"geonames:0": 1, "geonames:1": 2, "geonames:2": 3} and created.by_others == 0
    assert nb_writer.update("dcim/regions", [{"id": 1, "description": "x"}]) == 1
    assert nb_writer.delete("dcim/regions", [1, 2, 3]) == 3
    assert [r.method for r in server.requests] == ["POST", "POST", "PATCH", "DELETE", "DELETE"]
    assert json.loads(sent(server, "DELETE")[0].body) == [{"id": 1, "changelog_message": "run"},
                                                          {"id": 2, "changelog_message": "run"}]
    assert waits == [] and nb_writer.nb.http.counters["retries"] == 0


# --- the bound ----------------------------------------------------------------------------------
@pytest.mark.parametrize("retries", [0, 2, 5])
@pytest.mark.parametrize("answer", [Step(status=503), Step(status=502), Step(drop=True)], ids=["503", "502", "drop"])
def test_a_patch_that_keeps_failing_is_sent_retries_plus_one_times(server, waits, retries, answer):
    # before: the sync's own loop around HttpClient's retries sent it (retries + 1) ** 2 times
    server.add(REGIONS, answer, method="PATCH")
    server.add(REGIONS, page(region(1, "geonames:0", description="old")), method="GET")
    with pytest.raises(HttpError) as caught:
        writer(server, waits, retries=retries).update("dcim/regions", [{"id": 1, "description": "new"}])
    assert caught.value.status == (None if answer.drop else answer.status)
    assert len(sent(server, "PATCH")) == retries + 1
    assert len(sent(server, "GET")) == retries + 1  # read back after each: it had not landed
    assert len(waits) == retries


@pytest.mark.parametrize("retries", [0, 3])
def test_a_create_that_keeps_failing_is_sent_retries_plus_one_times(server, waits, retries):
    server.add(REGIONS, Step(status=504), method="POST")
    server.add(REGIONS, page(), method="GET")
    with pytest.raises(NetBoxError, match="504"):
        writer(server, waits, retries=retries).create("dcim/regions", bodies(), BY_SOURCE)
    assert len(sent(server, "POST")) == retries + 1


def test_throttling_is_waited_out_without_reading_back(server, waits):
    server.add(REGIONS, Step(status=429, headers={"Retry-After": "7"}), Step(status=429, headers={"Retry-After": "3"}),
               Step(status=204), method="DELETE")
    assert writer(server, waits, retries=2).delete("dcim/regions", [1]) == 1
    assert len(sent(server, "DELETE")) == 3 and sent(server, "GET") == []
    assert waits == [7.0, 3.0]


# --- reading back what landed ---------------------------------------------------------------------
def test_a_create_whose_answer_was_lost_is_found_and_not_sent_again(server, waits):
    server.add(REGIONS, Step(drop=True), method="POST")
    server.add(REGIONS, page(region(11, "geonames:0"), region(12, "geonames:1"),
                             region(13, "geonames:10")), method="GET")  # not asked for: ignored
    created = writer(server, waits).create("dcim/regions", bodies(), BY_SOURCE)
    assert created.ids == {"geonames:0": 11, "geonames:1": 12} and created.by_others == 0
    assert created.landed_late == 2  # ours, although the answer never came
    assert len(sent(server, "POST")) == 1 and waits == []
    # by slug, an indexed column: a filter on the custom field would make NetBox scan the table
    assert "?slug=r0&slug=r1&fields=id%2Cslug%2Ccustom_fields" in sent(server, "GET")[0].path


def test_an_object_found_again_must_hold_the_identity_and_every_matched_field(server, waits):
    """A region's slug is unique per parent: the same slug elsewhere, or another region's
    geo_source_id, is not what the lost POST created, so that body is sent again."""
    by_slug_and_parent = Identity("slug", "id,slug,parent,custom_fields", BY_SOURCE.value_of, match=("parent",))
    posted = [dict(body, parent=7) for body in bodies(3)]
    server.add(REGIONS, Step(drop=True), Step(status=201, body=json.dumps([region(33, "geonames:1"),
                                                                           region(34, "geonames:2")]).encode()),
               method="POST")
    server.add(REGIONS, page(region(31, "geonames:0", parent={"id": 7, "name": "P"}),
                             region(32, "geonames:1", parent={"id": 8, "name": "Elsewhere"}),
                             dict(region(35, "geonames:9", parent={"id": 7}), slug="r2")), method="GET")
    created = writer(server, waits).create("dcim/regions", posted, by_slug_and_parent)
    assert created.ids == {"geonames:0": 31, "geonames:1": 33, "geonames:2": 34}
    resent = json.loads(sent(server, "POST")[1].body)
    assert [b["slug"] for b in resent] == ["r1", "r2"]


def test_only_what_did_not_land_is_sent_again(server, waits):
    server.add(REGIONS, Step(status=502), Step(status=201, body=json.dumps([region(22, "geonames:1")]).encode()),
               method="POST")
    server.add(REGIONS, page(region(21, "geonames:0")), method="GET")  # a gateway gave up, half of it is there
    created = writer(server, waits).create("dcim/regions", bodies(), BY_SOURCE)
    assert created.ids == {"geonames:0": 21, "geonames:1": 22}
    resent = json.loads(sent(server, "POST")[1].body)
    assert [b["custom_fields"]["geo_source_id"] for b in resent] == ["geonames:1"]


def test_a_patch_that_landed_is_recognised_by_its_fields(server, waits):
    server.add(REGIONS, Step(status=503), method="PATCH")
    server.add(REGIONS, page({"id": 1, "name": "New", "parent": {"id": 5, "name": "P"}, "description": "",
                              "tags": [{"id": 9, "slug": "geo-managed", "name": "geo-managed"}],
                              "custom_fields": {"geo_source_id": "geonames:1", "geo_latitude": 50.1235}}),
               method="GET")
    body = {"id": 1, "name": "New", "parent": 5, "description": None, "tags": [{"slug": "geo-managed"}],
            "custom_fields": {"geo_latitude": 50.1235}}
    assert writer(server, waits).update("dcim/regions", [body]) == 1
    assert len(sent(server, "PATCH")) == 1
    fields = sent(server, "GET")[0].path
    assert "fields=id%2Ccustom_fields%2Cdescription%2Cname%2Cparent%2Ctags" in fields


def test_a_delete_whose_answer_was_lost_sends_only_what_still_exists(server, waits):
    server.add(REGIONS, Step(drop=True), Step(status=204), method="DELETE")
    server.add(REGIONS, page({"id": 2}), method="GET")
    assert writer(server, waits).delete("dcim/regions", [1, 2]) == 2
    assert [json.loads(r.body) for r in sent(server, "DELETE")][1] == [{"id": 2, "changelog_message": "run"}]


def test_a_400_on_a_create_skips_what_another_writer_created_then_sends_the_rest(server, waits):
    server.add(REGIONS, Step(status=400, body=b'{"custom_fields": ["must be unique"]}'),
               Step(status=201, body=json.dumps([region(32, "geonames:1")]).encode()), method="POST")
    server.add(REGIONS, page(region(31, "geonames:0")), method="GET")
    created = writer(server, waits).create("dcim/regions", bodies(), BY_SOURCE)
    assert created.ids == {"geonames:0": 31, "geonames:1": 32} and created.by_others == 1


def test_a_timed_out_create_that_lands_after_the_read_back_is_ours_not_another_writers(server, waits):
    """NetBox 4.4-4.6 run region creates under one lock: a request that timed out may still
    be running when it is read back, then land before the resend, which NetBox refuses."""
    server.add(REGIONS, Step(drop=True), Step(status=400, body=b'{"slug": ["must be unique"]}'), method="POST")
    server.add(REGIONS, page(), page(region(11, "geonames:0"), region(12, "geonames:1")), method="GET")
    created = writer(server, waits).create("dcim/regions", bodies(), BY_SOURCE)
    assert created.ids == {"geonames:0": 11, "geonames:1": 12}
    assert created.landed_late == 2 and created.by_others == 0
    assert len(sent(server, "POST")) == 2


def test_a_400_that_nobody_else_caused_is_the_datas_fault(server, waits):
    server.add(REGIONS, Step(status=400, body=b'{"name": ["bad"]}'), method="POST")
    server.add(REGIONS, page(), method="GET")
    with pytest.raises(NetBoxError, match="rejected the data"):
        writer(server, waits, retries=5).create("dcim/regions", bodies(), BY_SOURCE)
    assert len(sent(server, "POST")) == 1 and len(sent(server, "GET")) == 1


# --- what is never sent again -----------------------------------------------------------------------
@pytest.mark.parametrize("method, status", [("PATCH", 400), ("PATCH", 404), ("DELETE", 403), ("POST", 401),
                                            ("DELETE", 404)])
def test_refusals_are_not_sent_again_nor_read_back(server, waits, method, status):
    server.add(REGIONS, Step(status=status, body=b'{"detail": "no"}'), method=method)
    nb_writer = writer(server, waits, retries=5)
    with pytest.raises(NetBoxError) as caught:
        if method == "POST":
            nb_writer.create("dcim/regions", bodies(), BY_SOURCE)
        elif method == "PATCH":
            nb_writer.update("dcim/regions", [{"id": 1, "name": "x"}])
        else:
            nb_writer.delete("dcim/regions", [1])
    assert caught.value.status == status
    assert len(sent(server, method)) == 1 and sent(server, "GET") == [] and waits == []


def test_a_deterministic_500_is_not_sent_again(server, waits):
    server.add(REGIONS, Step(status=500, body=INVALID_MOVE), method="PATCH")
    with pytest.raises(NetBoxError, match="may not be made a child"):
        writer(server, waits, retries=5).update("dcim/regions", [{"id": 1, "parent": 2}])
    assert len(sent(server, "PATCH")) == 1 and sent(server, "GET") == []


def test_a_500_that_may_heal_is_read_back_and_sent_again_once(server, waits):
    server.add(REGIONS, Step(status=500, body=DEADLOCK), method="PATCH")
    server.add(REGIONS, page(region(1, "geonames:1", name="old")), method="GET")
    with pytest.raises(NetBoxError, match="deadlock"):
        writer(server, waits, retries=5).update("dcim/regions", [{"id": 1, "name": "new"}])
    assert len(sent(server, "PATCH")) == 2 and len(sent(server, "GET")) == 2


# --- the rules as a table ---------------------------------------------------------------------------
@pytest.mark.parametrize("error, method, rule", [
    (HttpError("refused", transient=True), "POST", Rule.RESEND),          # connection refused: never sent
    (HttpError("certificate", transient=False), "POST", Rule.FAIL),       # a TLS failure does not heal
    (AmbiguousWriteError("lost", transient=True), "PATCH", Rule.RECHECK),
    (NetBoxError("x", status=408), "DELETE", Rule.RECHECK),
    (NetBoxError("x", status=425), "POST", Rule.RESEND),
    (NetBoxError("x", status=429), "PATCH", Rule.RESEND),
    (NetBoxError("x", status=503), "PATCH", Rule.RECHECK),
    (NetBoxError("x", status=500, body=INVALID_MOVE.decode()), "PATCH", Rule.FAIL),
    (NetBoxError("x", status=500, body='{"exception": "IntegrityError"}'), "POST", Rule.REFUSED),  # a race
    (NetBoxError("x", status=500, body='{"exception": "IntegrityError"}'), "PATCH", Rule.FAIL),
    (NetBoxError("x", status=500, body=DEADLOCK.decode()), "POST", Rule.RECHECK_ONCE),
    (NetBoxError("x", status=500, body="<html>proxy error</html>"), "POST", Rule.RECHECK_ONCE),
    (NetBoxError("x", status=400), "POST", Rule.REFUSED),
    (NetBoxError("x", status=400), "DELETE", Rule.REFUSED),
    (NetBoxError("x", status=400), "PATCH", Rule.FAIL),
    (NetBoxError("x", status=403), "POST", Rule.FAIL),
    (NetBoxError("x", status=404), "DELETE", Rule.FAIL),
])
def test_rules(error, method, rule):
    assert rule_for(error, method) is rule


@pytest.mark.parametrize("current, wanted, same", [
    ({"id": 5, "name": "P"}, 5, True), (None, None, True), ("", None, True), (6, 5, False),
    ([{"id": 1, "slug": "b"}, {"id": 2, "slug": "a"}], [{"slug": "a"}, {"slug": "b"}], True),
    ([{"slug": "a"}], [{"slug": "a"}, {"slug": "b"}], False),
    ({"a": 1, "b": 2}, {"a": 1}, True), ({"a": 1}, {"a": 2}, False),
    ("52.517037", 52.517037, True), (50.12349, 50.1235, False), (None, 1.5, False),
    (["dcim.site", "dcim.region"], ["dcim.region", "dcim.site"], True),
])
def test_same_value(current, wanted, same):
    assert same_value(current, wanted) is same
