# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync interrupted or raced, against the real NetBox:

- a sync killed with SIGKILL in the middle of its writes, then run again: converges, no
  duplicates (the killed run's regions are found by geo_source_id and kept);
- two syncs of the same tree at once: no duplicates (NetBox's unique index on parent and
  slug decides: geo_source_id is not unique), the loser says another writer was there, a
  re-run has nothing left to do.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import _load_nodes as load_nodes
import pytest

from reliability_kit import (  # pylint: disable=import-error  # tests/integration/python is on sys.path
    OWNERSHIP_TAGS, admin_fixture, needs_netbox, root_fixture, run_engine, start_engine_process, sync_params,
    tree_nodes, write_nodes,
)

pytestmark = needs_netbox


admin = admin_fixture()
root = root_fixture("interrupt")
CONCURRENT_WARNING = re.compile(r"(\d+) regions of this run were created meanwhile by another writer")


def test_sigkill_mid_apply_then_rerun_converges(tmp_path, admin, root):
    nodes = tree_nodes(countries=3, divisions=6, cities=3)  # 75 regions
    dataset = write_nodes(tmp_path / "kill.jsonl", nodes)
    # slowed down (8 requests/s, 3 regions per POST) so that the kill lands while it writes
    params = sync_params(dataset, root["slug"], batch_size=3, concurrency=1, rate_limit=8)
    process = start_engine_process(params)
    landed = 0
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            landed = admin.count_below(root["id"])
            if landed >= 15:
                break
            time.sleep(0.1)
        assert process.poll() is None, "the sync ended before it could be killed: %s" % process.stdout.read()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    assert process.returncode == -signal.SIGKILL
    # A request NetBox had accepted may still commit after this count: regions are only ever
    # added, so the count is a lower bound of what the killed run left, and >= 15 was seen
    # before the kill. A late commit during the re-run meets the unique geo_source_id (the
    # re-run keeps that region: it counts as unchanged or as created by another writer).
    after_kill = admin.count_below(root["id"])
    assert 15 <= after_kill < len(nodes), after_kill

    result, error = run_engine(sync_params(dataset, root["slug"]))
    assert error is None, error
    # what the killed run wrote is kept, not written again
    assert result["summary"]["unchanged"] >= after_kill
    assert result["summary"]["create"] + result["summary"]["unchanged"] == len(nodes)
    assert admin.assert_tree_is(root["id"], nodes) == len(nodes)


@pytest.mark.parametrize("ownership", sorted(OWNERSHIP_TAGS))
def test_two_syncs_at_once_make_no_duplicates_and_the_loser_says_so(tmp_path, admin, root, ownership):
    nodes = tree_nodes(countries=3, divisions=5, cities=2)  # 48 regions
    dataset = write_nodes(tmp_path / "race.jsonl", nodes)
    outcomes = [None, None]
    both_have_read = threading.Barrier(2, timeout=120)

    def load_after_both_read(path, **options):
        # called after the run has read NetBox: both plan from the same (empty) state
        both_have_read.wait()
        return load_nodes(path, **options)

    def one_sync(index):
        outcomes[index] = run_engine(sync_params(dataset, root["slug"], batch_size=4, concurrency=1,
                                                 ownership=ownership), load_nodes=load_after_both_read)

    threads = [threading.Thread(target=one_sync, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert all(o is not None for o in outcomes), "a sync did not finish"
    assert admin.assert_tree_is(root["id"], nodes, tag=OWNERSHIP_TAGS[ownership]) == len(nodes)

    # Both planned all 48 creates and both succeed. Each region was created by one run, and the
    # other found it made "meanwhile by another writer" when NetBox refused its batch: the
    # numbers the two runs' warnings give add up to every region of the tree.
    assert [error for _result, error in outcomes] == [None, None]
    assert all(result["summary"]["create"] == len(nodes) for result, _error in outcomes)
    raced = []
    for result, _error in outcomes:
        raced += [int(found.group(1)) for found in map(CONCURRENT_WARNING.search, result["warnings"]) if found]
    assert raced and sum(raced) == len(nodes), [result["warnings"] for result, _error in outcomes]

    result, error = run_engine(sync_params(dataset, root["slug"], ownership=ownership))
    assert error is None, error
    assert result["changed"] is False and result["summary"]["unchanged"] == len(nodes)
