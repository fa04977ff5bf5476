# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry-and-recheck layer for NetBox writes.

The HTTP client sends a write once (``retry_safe=False``); whether a failed bulk write
is sent again is decided here and nowhere else, after reading back what landed, so a
batch is sent at most ``retries + 1`` times in all and nothing is ever written twice.

What a failed send leads to (``rule_for``):

=========================================  ===========  ==========================
failure                                    read back    send again
=========================================  ===========  ==========================
not sent (connection refused, connect      no           yes
timeout)
answer lost after sending (read timeout,   yes          what did not land
connection reset or cut)
408, 502, 503, 504 (a gateway may answer   yes          what did not land
after NetBox committed)
425, 429 (refused before any work)         no           yes, after Retry-After
500 naming a deterministic exception       no           no (NetBox rolled back)
(InvalidMove, ...)
500 otherwise (a database hiccup:          yes          what did not land, once
OperationalError; a proxy's own 500)                    per batch
400 on a create or a delete; 500           yes, once    what another writer did not
IntegrityError on a create (a unique                    already create / delete; if
constraint: two runs raced)                             it did nothing, no
400 on an update, 401, 403, 404, other     no           no
=========================================  ===========  ==========================

Reading back: creates by a field NetBox indexes (a region's slug, a custom field's name,
a tag's slug), keeping only the objects whose identity (``geo_source_id``, the name, the
slug) and other key fields (a region's parent) are the body's; deletes by id (what is
gone landed); updates by id, comparing every field the PATCH sets with what NetBox holds
now. No read-back filters on a custom field: NetBox would scan the whole table for it.
Between sends the wait is the HTTP client's backoff (full jitter, Retry-After honoured),
counted in its ``retries`` counter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ansible_collections.geofoss.netbox.plugins.module_utils._http import AmbiguousWriteError, HttpError
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, chunks

# answered after NetBox may have committed (a gateway timing out, a proxy giving up); a 500
# has rules of its own
MAY_HAVE_LANDED = frozenset({408, 502, 503, 504})
# refused before any work was done
REFUSED_BEFORE_WORK = frozenset({425, 429})
# the exceptions behind a NetBox 500 that may heal (deadlock, serialisation failure, lost
# database connection); any other exception NetBox names is the request's own fault
TRANSIENT_EXCEPTIONS = frozenset({"OperationalError", "InterfaceError"})
RESENDS_AFTER_500 = 1
REREAD_CHUNK = 100  # values per read-back request (keeps the URL short)
DECIMALS = 6  # NetBox keeps site coordinates with 6 decimals, decimal custom fields with 4


class Rule(Enum):
    """What to do after a failed send."""

    RESEND = "resend"            # nothing can have landed: send the batch again
    RECHECK = "recheck"          # it may have landed: read back, send the rest again
    RECHECK_ONCE = "recheck once"  # a 500 that may heal: as RECHECK, one resend per batch
    REFUSED = "refused"          # a 400 on a create/delete: read back once for another writer's work
    FAIL = "fail"                # sending again cannot help


def netbox_exception(error: HttpError) -> str | None:
    """The exception class a NetBox 500 names in its JSON body (``{"exception": ...}``)."""
    try:
        data = json.loads(error.body or "")
    except ValueError:
        return None
    name = data.get("exception") if isinstance(data, dict) else None
    return str(name) if name else None


def rule_for(error: HttpError, method: str) -> Rule:
    """The rule of the table in the module docstring for one failed send."""
    status = error.status
    if isinstance(error, AmbiguousWriteError):
        return Rule.RECHECK
    if status is None:
        return Rule.RESEND if error.transient else Rule.FAIL
    if status in REFUSED_BEFORE_WORK:
        return Rule.RESEND
    if status == 500:
        exception = netbox_exception(error)
        if exception is None or exception in TRANSIENT_EXCEPTIONS:
            return Rule.RECHECK_ONCE
        # two runs creating the same regions at the same instant: the loser's insert hits the
        # unique constraint inside the database, NetBox's own checks having passed
        return Rule.REFUSED if exception == "IntegrityError" and method == "POST" else Rule.FAIL
    if status in MAY_HAVE_LANDED:
        return Rule.RECHECK
    if status == 400 and method in ("POST", "DELETE"):
        return Rule.REFUSED
    return Rule.FAIL


@dataclass(frozen=True)
class Identity:
    """How an object created by a POST is found again: `key`, a body field that NetBox
    filters by (a query parameter of the same name) on an indexed column; `fields`, what to
    read back (`key` and `match` among them); `value_of`, its identity value in a body or
    in what NetBox returns; `match`, further body fields the object found must hold too
    (a region's slug is unique per parent only)."""

    key: str
    fields: str
    value_of: Callable[[Mapping[str, Any]], Any]
    match: tuple[str, ...] = ()

    def found(self, body: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
        """True when `obj`, read back, is what `body` created."""
        return (self.value_of(obj) == self.value_of(body)
                and all(same_value(obj.get(name), body.get(name)) for name in (self.key,) + self.match))


@dataclass
class Created:
    """The outcome of creates: every body's identity value -> object id (created now, or
    found by the read-back); how many of them another writer had created meanwhile
    (found after NetBox refused a batch that nothing of ours can have written); and how
    many landed although the request that sent them timed out or lost its answer (NetBox
    finished it after the client gave up)."""

    ids: dict[Any, int] = field(default_factory=dict)
    by_others: int = 0
    landed_late: int = 0


def same_value(current: Any, wanted: Any) -> bool:
    """True when NetBox's `current` value (as read) is what a PATCH set as `wanted`.

    A nested relation (``{"id": 3, ...}``) equals its id; tags equal their slugs (a tag
    list in any order); a partial custom_fields dict is compared key by key; numbers
    at NetBox's precision (read as numbers or as strings); "" and None are the same."""
    if isinstance(wanted, Mapping) and "id" not in wanted and "slug" not in wanted:
        current = current if isinstance(current, Mapping) else {}
        return all(same_value(current.get(key), value) for key, value in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return sorted(map(_label, current or ())) == sorted(map(_label, wanted))
    if isinstance(current, Mapping):
        current = current.get("id")
    if isinstance(wanted, Mapping):
        wanted = wanted.get("id")
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool) and current not in (None, ""):
        try:
            return round(float(current), DECIMALS) == round(float(wanted), DECIMALS)
        except (TypeError, ValueError):
            return False
    return (None if current == "" else current) == (None if wanted == "" else wanted)


def _label(item: Any) -> str:
    if isinstance(item, Mapping):
        item = item.get("slug") or item.get("name") or item.get("id")
    return str(item)


class BatchWriter:
    """Bulk writes through the one retry-and-recheck layer. Each public call writes its
    objects in batches of the client's batch size; each batch is sent at most
    ``retries + 1`` times and re-read as the rules say. Thread-safe (one batch per call
    and thread; the client's counters and request ids are locked)."""

    def __init__(self, nb: NetBoxClient, retries: int) -> None:
        self.nb = nb
        self.retries = max(0, int(retries))

    # the three kinds of write ------------------------------------------------------
    def create(self, endpoint: str, bodies: Sequence[Mapping[str, Any]], identity: Identity) -> Created:
        """POST `bodies`; a body that the read-back finds by `identity` is not sent again."""
        outcome = Created()
        for batch in chunks(bodies, self.nb.batch_size):
            def recheck(pending: list[Mapping[str, Any]], refused: bool) -> list[Mapping[str, Any]]:
                found = self._find(endpoint, identity, pending)
                outcome.ids.update(found)
                if refused:  # NetBox refused our batch as a whole: what exists now, another writer made
                    outcome.by_others += len(found)
                else:  # an earlier send of ours whose answer was lost
                    outcome.landed_late += len(found)
                return [body for body in pending if identity.value_of(body) not in found]

            answer = self._send("POST", endpoint, batch, recheck)
            outcome.ids.update({identity.value_of(obj): obj["id"] for obj in answer})
        return outcome

    def update(self, endpoint: str, bodies: Sequence[Mapping[str, Any]]) -> int:
        """PATCH `bodies` (each with its "id"); one that NetBox already holds is not sent again."""
        for batch in chunks(bodies, self.nb.batch_size):
            def recheck(pending: list[Mapping[str, Any]], refused: bool) -> list[Mapping[str, Any]]:
                return self._differing(endpoint, pending)

            self._send("PATCH", endpoint, batch, recheck)
        return len(bodies)

    def delete(self, endpoint: str, ids: Sequence[int]) -> int:
        """DELETE the objects with these ids; one that is gone already is not sent again."""
        objects: list[Mapping[str, Any]] = [{"id": int(i)} for i in ids]
        for batch in chunks(objects, self.nb.batch_size):
            def recheck(pending: list[Mapping[str, Any]], refused: bool) -> list[Mapping[str, Any]]:
                remaining = self._existing(endpoint, [body["id"] for body in pending])
                return [body for body in pending if body["id"] in remaining]

            self._send("DELETE", endpoint, batch, recheck)
        return len(ids)

    # the one loop ----------------------------------------------------------------
    def _send(self, method: str, endpoint: str, batch: list[Mapping[str, Any]],
              recheck: Callable[[list[Mapping[str, Any]], bool], list[Mapping[str, Any]]],
              ) -> list[dict[str, Any]]:
        """NetBox's answer to the last send, once `batch` has landed.

        `recheck(pending, refused)` reads NetBox back and returns what has not landed;
        `refused` is True after a 400 when no earlier send of this batch lost its answer
        (NetBox did nothing; what exists is someone else's). After a lost answer, what a
        refusal finds is most likely that send's, finished by NetBox after the client gave
        up (a read timeout while NetBox waited on its region lock)."""
        pending = list(batch)
        sends = 0
        resent_after_500 = rechecked_refusal = answer_lost = False
        while True:
            sends += 1
            try:
                return self.nb.write(method, endpoint, pending)
            except HttpError as error:
                rule = rule_for(error, method)
                if rule is Rule.FAIL or (rule is Rule.REFUSED and rechecked_refusal):
                    raise
                if rule is not Rule.RESEND:
                    before = len(pending)
                    pending = recheck(pending, rule is Rule.REFUSED and not answer_lost)
                    answer_lost = answer_lost or rule is not Rule.REFUSED
                    if not pending:
                        return []
                    if rule is Rule.REFUSED:
                        rechecked_refusal = True
                        if len(pending) == before:
                            raise  # nobody else was at work: the data's own fault
                if rule is Rule.RECHECK_ONCE:
                    if resent_after_500:
                        raise
                    resent_after_500 = True
                if sends > self.retries:
                    raise
                self.nb.http.pause_before_retry(sends - 1, error.retry_after)

    # reading back ------------------------------------------------------------------
    def _get(self, endpoint: str, params: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        page = self.nb.request("GET", endpoint, params=params + [("limit", 1000)])
        return list(page.get("results", [])) if isinstance(page, dict) else []

    def _find(self, endpoint: str, identity: Identity, bodies: list[Mapping[str, Any]]) -> dict[Any, int]:
        """{identity value: id} of the objects these bodies would create that exist now."""
        found: dict[Any, int] = {}
        for part in chunks(bodies, REREAD_CHUNK):
            by_key: dict[Any, list[Mapping[str, Any]]] = {}
            for body in part:
                by_key.setdefault(body.get(identity.key), []).append(body)
            params = [(identity.key, key) for key in sorted(by_key, key=str)] + [("fields", identity.fields)]
            for obj in self._get(endpoint, params):
                for body in by_key.get(obj.get(identity.key), ()):
                    if identity.found(body, obj):  # the filter may match others' objects, elsewhere
                        found[identity.value_of(body)] = obj["id"]
        return found

    def _existing(self, endpoint: str, ids: list[int]) -> set[int]:
        present: set[int] = set()
        for part in chunks(ids, REREAD_CHUNK):
            present.update(obj["id"] for obj in self._get(endpoint, [("id", i) for i in part] + [("brief", 1)]))
        return present

    def _differing(self, endpoint: str, bodies: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The PATCH bodies whose fields NetBox does not hold yet."""
        keys = sorted({key for body in bodies for key in body if key != "id"})
        current: dict[int, dict[str, Any]] = {}
        for part in chunks([body["id"] for body in bodies], REREAD_CHUNK):
            params = [("id", i) for i in part] + [("fields", ",".join(["id"] + keys))]
            current.update((obj["id"], obj) for obj in self._get(endpoint, params))
        return [body for body in bodies
                if body["id"] not in current
                or not all(same_value(current[body["id"]].get(key), value) for key, value in body.items()
                           if key != "id")]
