# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test bed's browser for web UI tests: Debian's headless Chromium and chromedriver as
`scripts/local-netbox browser` names them (installing them when missing), driven by selenium.
conftest.py makes it the `browser` fixture."""

from __future__ import annotations

import os
import subprocess

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

LOCAL_NETBOX = os.environ.get("GEOFOSS_LOCAL_NETBOX")
# Chromium as root, without a display, GPU or network, with a profile of its own
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run")
# how long the browser may take to load a page or follow the login (a bound, not a pause)
PAGE_WAIT = 120


def local_netbox(*args) -> str:
    """`scripts/local-netbox ARGS...`'s output; a failure fails the test with its message."""
    assert LOCAL_NETBOX, "GEOFOSS_LOCAL_NETBOX is not set (scripts/test sets it)"
    result = subprocess.run([LOCAL_NETBOX, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def headless_chromium(profile) -> webdriver.Chrome:
    """A headless Chromium with its profile in the folder `profile`; the caller quits it."""
    paths = dict(line.split("=", 1) for line in local_netbox("browser").split())
    options = webdriver.ChromeOptions()
    options.binary_location = paths["chromium"]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=%s" % profile)
    driver = webdriver.Chrome(service=Service(executable_path=paths["chromedriver"]), options=options)
    driver.set_page_load_timeout(PAGE_WAIT)
    return driver
