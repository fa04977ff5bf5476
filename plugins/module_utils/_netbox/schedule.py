# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batches of region writes that run in parallel only where NetBox can run them in parallel.

NetBox 4.7 keeps the region tree with PostgreSQL ltree triggers that take a transaction
advisory lock on the root of the tree being written (every child insert, move and rename;
not the insert of a new top-level region). A bulk request is one transaction, so two
concurrent batches that touch the same tree run one after the other, the second holding
a gunicorn thread while it waits. Here each batch stays within as few trees as it can,
the biggest trees first, and a batch starts only when no batch in flight holds one of
its trees.

NetBox 4.4-4.6 keep the tree with django-mptt instead, under one lock for every region
create of the whole NetBox; there the sync sends creates one request at a time, sized by
PacedBatches, in seed waves (seeds_first), and renames and moves one region per request
(docs/netbox-versions.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import chunks

Item = TypeVar("Item")
Batch = TypeVar("Batch")
Key = TypeVar("Key", bound=Hashable)


def batches_by_tree(items: Iterable[Item], size: int, tree_of: Callable[[Item], Hashable],
                    streams: int = 1) -> list[list[Item]]:
    """`items` cut into batches of at most `size` that each write into as few trees as they
    can. `tree_of(item)` is a hashable key, or None for an item that locks no tree.

    - A tree with `size` items or more gets full batches of its own, the biggest trees
      first: they run one after another whatever the streams, so they start early. What
      is left of it is packed as a small tree.
    - The smaller trees are packed whole, each into the lightest batch (no two of these
      share a tree, so none of them waits for another): as many batches as `size` needs,
      rounded up to a multiple of the streams, and a new one where a tree fits in none.
    - The items that lock no tree are cut into even batches, as many as `size` needs,
      rounded up to a multiple of the streams.

    A step lasts as long as its slowest stream: 250 new top-level regions on two streams go
    as 125 and 125, not 200 and 50 with one stream idle for most of the step."""
    size = max(1, int(size))
    streams = max(1, int(streams))
    groups: dict[Hashable, list[Item]] = {}
    for item in items:
        groups.setdefault(tree_of(item), []).append(item)
    free = groups.pop(None, [])
    batches: list[list[Item]] = []
    small: list[list[Item]] = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), str(k))):
        group = groups[key]
        whole = len(group) // size * size
        batches += chunks(group[:whole], size)
        if group[whole:]:
            small.append(group[whole:])
    small.sort(key=len, reverse=True)
    if small:
        needed = _batches_needed(sum(map(len, small)), size, min(streams, len(small)))
        packed: list[list[Item]] = [[] for number in range(needed)]
        for group in small:  # the biggest first, each into the lightest batch
            lightest = min(packed, key=len)
            if len(lightest) + len(group) > size:
                lightest = []
                packed.append(lightest)
            lightest.extend(group)
        batches += [batch for batch in packed if batch]
    if free:
        batches += _even_cuts(free, _batches_needed(len(free), size, streams))
    return batches


def _batches_needed(count: int, size: int, streams: int) -> int:
    """The fewest batches of at most `size` for `count` items, rounded up to a multiple of
    `streams`, and never more than there are items."""
    needed = -(-count // size)
    return min(count, -(-needed // streams) * streams)


def _even_cuts(items: Sequence[Item], count: int) -> list[list[Item]]:
    """`items` in `count` consecutive batches whose sizes differ by one at most (the larger first)."""
    cuts = [-(-number * len(items) // count) for number in range(count + 1)]
    return [list(items[start:end]) for start, end in zip(cuts, cuts[1:])]


def run_disjoint(batches: Sequence[Batch], keys_of: Callable[[Batch], Iterable[Hashable]],
                 worker: Callable[[Batch], Any], workers: int) -> list[Any]:
    """Run `worker(batch)` for every batch on `workers` threads, never two batches that share
    a key (`keys_of(batch)` is a set) at the same time. A free thread takes the first
    waiting batch whose keys are free. Returns each batch's result, or the exception it
    raised, in batch order."""
    keys = [frozenset(keys_of(batch)) for batch in batches]
    waiting = list(range(len(batches)))
    held: set[Hashable] = set()
    outcomes: list[Any] = [None] * len(batches)
    changed = threading.Condition()

    def take() -> int | None:
        with changed:
            while waiting:
                for position, number in enumerate(waiting):
                    if not keys[number] & held:
                        del waiting[position]
                        held.update(keys[number])
                        return number
                changed.wait()
            return None

    def loop() -> None:
        while True:
            number = take()
            if number is None:
                return
            try:
                outcomes[number] = worker(batches[number])
            except Exception as exc:  # pylint: disable=broad-except  # handed back to the caller
                outcomes[number] = exc
            with changed:
                held.difference_update(keys[number])
                changed.notify_all()

    threads = [threading.Thread(target=loop, name="geo-writer-%d" % n, daemon=True)
               for n in range(max(1, min(int(workers), len(batches))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


# NetBox 4.4-4.6 (django-mptt) -------------------------------------------------------------
# Region writes there run under one global lock and each insert renumbers its tree
# (docs/netbox-versions.md); the sync then orders and sizes its requests as below.

def seeds_first(items: Iterable[Item], parent_of: Callable[[Item], Key],
                childless: Callable[[Key], bool]) -> tuple[list[Item], list[Item]]:
    """(seeds, rest): the first item of every parent that `childless(parent)` says has no
    children in NetBox yet, and the other items, both in the order given.

    django-mptt places a new region among its siblings by name with a fresh query, except
    when the parent had no descendants as the request loaded it: then every child of that
    request goes last, in the order sent. Once a seed wave has landed, every parent has a
    child, and the rest of a bulk POST finds its places in the database's own collation."""
    seeds: list[Item] = []
    rest: list[Item] = []
    seeded: set[Key] = set()
    for item in items:
        parent = parent_of(item)
        if parent not in seeded and childless(parent):
            seeded.add(parent)
            seeds.append(item)
        else:
            rest.append(item)
    return seeds, rest


class PacedBatches:
    """Batch sizes for writes whose cost grows as NetBox works (an MPTT insert renumbers the
    regions after it in its tree): each batch as many objects as the seconds per object of
    the previous request allow within `budget` seconds, at most twice the size asked
    before, between 1 and `limit`. The first batch, with nothing measured yet, is `first` objects."""

    def __init__(self, limit: int, budget: float, first: int) -> None:
        self.limit = max(1, int(limit))
        self.budget = float(budget)
        self.size = max(1, min(self.limit, int(first)))

    def next_size(self) -> int:
        return self.size

    def record(self, objects: int, seconds: float) -> None:
        """A request of `objects` objects took `seconds`."""
        if objects <= 0:
            return
        per_object = max(float(seconds), 1e-6) / objects
        fits = int(self.budget / per_object)
        self.size = max(1, min(self.limit, 2 * max(objects, self.size), fits))

    def cut(self, items: Sequence[Item], send: Callable[[list[Item]], Any],
            clock: Callable[[], float]) -> list[Any]:
        """Send `items` in batches one after another, each sized by the one before; returns
        what `send` returned for each batch."""
        answers = []
        start = 0
        while start < len(items):
            batch = list(items[start:start + self.next_size()])
            began = clock()
            answers.append(send(batch))
            self.record(len(batch), clock() - began)
            start += len(batch)
        return answers
