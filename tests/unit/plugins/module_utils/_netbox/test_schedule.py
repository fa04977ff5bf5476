# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tree-aware batching and the scheduler that never runs two batches of one tree at once."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.schedule import (
    PacedBatches, batches_by_tree, run_disjoint, seeds_first,
)


def test_batches_keep_trees_together_biggest_first():
    items = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2), (None, 1)]
    batches = batches_by_tree(items, 2, lambda item: item[0])
    # a full batch of a, bigger than a batch; b, and what is left of a with c, packed whole;
    # the item that locks no tree last
    assert batches == [[("a", 1), ("a", 2)], [("b", 1), ("b", 2)], [("a", 3), ("c", 1)], [(None, 1)]]
    assert batches_by_tree([], 5, lambda item: item) == []


def test_small_trees_are_packed_whole_into_even_batches_that_share_no_tree():
    # countries under their continents (as in the world: 7 trees, none bigger than a batch), two streams
    sizes = {"AF": 58, "AS": 53, "EU": 53, "NA": 41, "OC": 27, "SA": 14, "AN": 5}
    items = [(tree, n) for tree, count in sizes.items() for n in range(count)]
    batches = batches_by_tree(items, 200, lambda item: item[0], streams=2)
    trees = [{item[0] for item in batch} for batch in batches]
    assert sorted(len(batch) for batch in batches) == [125, 126]
    assert not trees[0] & trees[1]


@pytest.mark.parametrize("total, size, streams, sizes", [
    (250, 200, 2, [125, 125]),               # not 200 and 50: one stream would idle
    (401, 200, 2, [101, 100, 100, 100]),     # 3 batches needed, 4 for two streams
    (400, 200, 2, [200, 200]),
    (3, 200, 2, [2, 1]),
    (1, 200, 4, [1]),                        # never an empty batch
    (7, 2, 1, [2, 2, 2, 1]),                 # one stream: as many as the size needs
    (0, 200, 2, []),
])
def test_batches_are_even_and_a_multiple_of_the_streams(total, size, streams, sizes):
    assert [len(batch) for batch in batches_by_tree(range(total), size, lambda item: None, streams)] == sizes


def test_batches_of_one_tree_are_not_split_for_streams_that_would_wait_on_each_other():
    one_tree = [len(batch) for batch in batches_by_tree(range(401), 200, lambda item: "t", 2)]
    small_trees = [len(batch) for batch in batches_by_tree(range(9), 200, lambda item: item % 3, 2)]
    assert one_tree == [200, 200, 1] and small_trees == [6, 3]


def test_a_tree_that_fits_in_no_batch_opens_one_of_its_own():
    batches = batches_by_tree(range(360), 200, lambda item: item % 3, 2)
    assert sorted(len(batch) for batch in batches) == [120, 120, 120]


def test_batches_hold_every_item_once_and_respect_the_size():
    items = [(tree, n) for tree in "abcdefg" for n in range(ord(tree) - 95)]
    batches = batches_by_tree(items, 3, lambda item: item[0])
    assert sorted(item for batch in batches for item in batch) == sorted(items)
    assert all(1 <= len(batch) <= 3 for batch in batches)


class Recorder:
    """A worker that blocks until told to finish, so the test decides the order of events."""

    def __init__(self):
        self.lock = threading.Condition()
        self.running = set()
        self.overlaps = []
        self.started = []
        self.release = {}

    def __call__(self, batch):
        name, keys = batch
        with self.lock:
            for other, other_keys in self.running:
                if keys & other_keys:
                    self.overlaps.append((name, other))
            self.running.add((name, frozenset(keys)))
            self.started.append(name)
            self.lock.notify_all()
            event = self.release.setdefault(name, threading.Event())
        assert event.wait(10), "never released"
        with self.lock:
            self.running.discard((name, frozenset(keys)))
        if name == "bad":
            raise ValueError("batch bad failed")
        return name.upper()


def run_in_background(batches, worker, workers):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("outcomes", run_disjoint(
        batches, lambda batch: batch[1], worker, workers)))
    thread.start()
    return thread, box


def wait_started(recorder, count):
    with recorder.lock:
        assert recorder.lock.wait_for(lambda: len(recorder.started) >= count, timeout=10), recorder.started
        return list(recorder.started)


def test_two_batches_of_one_tree_never_overlap_and_others_go_ahead():
    recorder = Recorder()
    batches = [("us-1", {"us"}), ("us-2", {"us"}), ("cn-1", {"cn"}), ("free", set())]
    for name, _keys in batches:
        recorder.release[name] = threading.Event()
    thread, box = run_in_background(batches, recorder, 2)
    # us-1 takes the first thread; us-2 must wait for it, so cn-1 takes the second
    assert wait_started(recorder, 2) == ["us-1", "cn-1"]
    recorder.release["cn-1"].set()
    assert wait_started(recorder, 3)[2] == "free"  # us-2 still blocked: the next free batch runs
    recorder.release["us-1"].set()
    assert wait_started(recorder, 4)[3] == "us-2"
    recorder.release["us-2"].set()
    recorder.release["free"].set()
    thread.join(10)
    assert box["outcomes"] == ["US-1", "US-2", "CN-1", "FREE"]
    assert recorder.overlaps == []


def test_a_failed_batch_is_returned_and_the_rest_still_run():
    recorder = Recorder()
    for name in ("bad", "good"):
        recorder.release[name] = threading.Event()
        recorder.release[name].set()
    outcomes = run_disjoint([("bad", {"x"}), ("good", {"x"})], lambda batch: batch[1], recorder, 2)
    assert isinstance(outcomes[0], ValueError) and outcomes[1] == "GOOD"


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_many_batches_many_workers_no_overlap(workers):
    recorder = Recorder()
    batches = [("b%d" % n, {"t%d" % (n % 3)}) for n in range(12)]
    for name, _keys in batches:
        recorder.release[name] = threading.Event()
        recorder.release[name].set()
    outcomes = run_disjoint(batches, lambda batch: batch[1], recorder, workers)
    assert outcomes == ["B%d" % n for n in range(12)]
    assert recorder.overlaps == []


# --- NetBox 4.4-4.6 (django-mptt) ---------------------------------------------------------------
def test_a_seed_wave_holds_one_child_of_each_childless_parent():
    items = [("new-be", "b2"), ("new-be", "b1"), ("old-full", "x"), ("old-empty", "e1"), (None, "root"),
             ("new-be", "b3"), ("old-empty", "e2"), ("new-lu", "l1")]
    childless = {"new-be", "new-lu", "old-empty"}
    seeds, rest = seeds_first(items, lambda item: item[0], childless.__contains__)
    assert seeds == [("new-be", "b2"), ("old-empty", "e1"), ("new-lu", "l1")]
    assert rest == [("new-be", "b1"), ("old-full", "x"), (None, "root"), ("new-be", "b3"), ("old-empty", "e2")]
    assert seeds_first([], lambda item: item, bool) == ([], [])


def test_paced_batches_start_small_and_stay_within_the_budget():
    pace = PacedBatches(limit=200, budget=15.0, first=50)
    assert pace.next_size() == 50
    pace.record(50, 5.0)  # 0.1 s per object: 150 would fit, growth is at most double
    assert pace.next_size() == 100
    pace.record(100, 5.0)  # 0.05 s: 300 fit, the limit is 200
    assert pace.next_size() == 200
    pace.record(3, 0.15)  # a remnant batch measures the rate, it sets no ceiling of twice 3
    assert pace.next_size() == 200
    pace.record(200, 60.0)  # 0.3 s per object (a tree that grew): 50 fit
    assert pace.next_size() == 50
    pace.record(50, 1000.0)  # never below one
    assert pace.next_size() == 1
    assert PacedBatches(limit=20, budget=15.0, first=50).next_size() == 20


def test_paced_batches_send_everything_in_order_sized_by_the_clock():
    now = [0.0]
    sizes = []

    def send(batch):
        sizes.append(len(batch))
        now[0] += 0.5 * len(batch)  # 0.5 s per object
        return batch

    pace = PacedBatches(limit=200, budget=10.0, first=4)
    answers = pace.cut(list(range(50)), send, lambda: now[0])
    assert [item for batch in answers for item in batch] == list(range(50))
    assert sizes == [4, 8, 16, 20, 2]  # doubling until 10 s / 0.5 s = 20 per request
