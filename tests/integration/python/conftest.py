# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every integration test leaves NetBox's region tree sound, or fails (issue 13: on NetBox
4.4-4.6 a corrupt tree is silent, the API keeps answering). Web UI tests get the test bed's
headless Chromium as the `browser` fixture."""

from __future__ import annotations

import pytest

from region_tree import check_region_tree, judge, rebuild_region_tree  # pylint: disable=import-error
from web_browser import headless_chromium  # pylint: disable=import-error


@pytest.fixture(autouse=True)
def region_tree_stays_sound():
    """After the test, the local NetBox's tree passes `scripts/local-netbox check-tree`: sound,
    and exactly what Region.objects.rebuild() gives when it was so before and the test deleted
    no region. A test that breaks it fails, and the tree is rebuilt so the next test is judged
    on its own. Without a local NetBox there is nothing to check."""
    before = check_region_tree("exact")
    yield
    if before is None:
        return
    verdict = judge(before, check_region_tree("exact"))
    if verdict:
        rebuild_region_tree()
        pytest.fail(verdict, pytrace=False)


@pytest.fixture
def browser(tmp_path):
    """The test bed's headless Chromium (web_browser.py), quit after the test."""
    driver = headless_chromium(tmp_path / "profile")
    yield driver
    driver.quit()
