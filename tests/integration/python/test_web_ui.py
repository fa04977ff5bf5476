# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local NetBox's web UI in a real browser (Debian's headless Chromium, driven by
selenium): the admin user `make demo` names logs in, the region list shows a region made
through the API, and the page has its style sheets (no "Static Media Failure")."""

from __future__ import annotations

import os
import uuid

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from web_browser import LOCAL_NETBOX, PAGE_WAIT, local_netbox  # pylint: disable=import-error

NETBOX_URL = os.environ.get("NETBOX_URL")
NETBOX_TOKEN = os.environ.get("NETBOX_TOKEN")

pytestmark = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN and LOCAL_NETBOX),
                                reason="needs the local NetBox (NETBOX_URL, NETBOX_TOKEN, GEOFOSS_LOCAL_NETBOX)")


def api_session() -> requests.Session:
    session = requests.Session()
    scheme = "Bearer" if NETBOX_TOKEN.startswith("nbt_") else "Token"
    session.headers.update({"Authorization": "%s %s" % (scheme, NETBOX_TOKEN), "Accept": "application/json"})
    return session


@pytest.fixture
def region():
    """A region made through the API, as an import would."""
    session = api_session()
    name = "Web UI %s" % uuid.uuid4().hex[:8]
    response = session.post(NETBOX_URL + "/api/dcim/regions/", json={"name": name, "slug": name.lower().replace(" ", "-")})
    assert response.status_code == 201, response.text
    yield response.json()
    session.delete("%s/api/dcim/regions/%d/" % (NETBOX_URL, response.json()["id"]))


def test_static_files_are_served():
    response = requests.get(NETBOX_URL + "/static/netbox.js", timeout=60)
    assert response.status_code == 200
    assert "javascript" in response.headers["Content-Type"]
    assert len(response.content) > 10000


def test_admin_logs_in_and_sees_an_imported_region(browser, region):
    browser.get(NETBOX_URL + "/login/?next=/dcim/regions/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(local_netbox("password").strip())
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, PAGE_WAIT).until(expected_conditions.url_contains("/dcim/regions/"))
    link = WebDriverWait(browser, PAGE_WAIT).until(
        expected_conditions.presence_of_element_located((By.LINK_TEXT, region["name"])))
    assert link.get_attribute("href").endswith("/dcim/regions/%d/" % region["id"])
    assert "Static Media Failure" not in browser.title
    # NetBox's own style sheet arrived and was parsed: the page is styled, not bare HTML
    assert browser.execute_script(
        "return [...document.styleSheets].some(s => s.href && s.href.includes('/static/netbox')"
        " && s.cssRules.length > 100)")
