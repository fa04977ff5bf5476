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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Batch = TypeVar("Batch")


def batches_by_tree(items: Iterable[Item], size: int, tree_of: Callable[[Item], Hashable]) -> list[list[Item]]:
    """`items` cut into batches of at most `size`: the items of a tree together, the trees
    with the most items first (their batches are the ones that must run in sequence), the
    small trees packed together. `tree_of(item)` is a hashable key, or None for an item
    that locks no tree."""
    size = max(1, int(size))
    groups: dict[Hashable, list[Item]] = {}
    for item in items:
        groups.setdefault(tree_of(item), []).append(item)
    ordered: list[Item] = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), str(k))):
        ordered.extend(groups[key])
    return [ordered[start:start + size] for start in range(0, len(ordered), size)]


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
