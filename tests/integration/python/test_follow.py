# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following a run, against the real NetBox: import.yml writes a map beside its report (a
PNG that decodes, at its size, linked from the report, drawn by the sync beside its
writes); a check-mode run with --diff prints
progress lines too; the NetBox-native touches (geo_netbox_links) are created once, left
alone by a re-run, removed by state absent, and in NetBox's web UI (the test bed's headless
Chromium, the `browser` fixture) the site's link opens OpenStreetMap at the site's
coordinates and the export template gives the region's sites as GeoJSON. The import goes
below a root region of the test's own."""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from PIL import Image  # matplotlib's own dependency
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from playbook_helpers import (
    COLLECTION_ROOT, NETBOX_TOKEN, NETBOX_URL, ansible_env, collections_path, needs_netbox, own_root,
    read_dataset, run_playbook,
)
from web_browser import PAGE_WAIT  # pylint: disable=import-error

pytestmark = needs_netbox

IMPORT = str(COLLECTION_ROOT / "playbooks" / "import.yml")
COUNTRY = "NL"
SITE_AT = (52.3676, 4.9041)  # Amsterdam
LINK_NAMES = ("OpenStreetMap (geofoss.netbox regions)", "OpenStreetMap (geofoss.netbox sites)")
TEMPLATE_NAME = "GeoJSON (geofoss.netbox)"
root = own_root("pytest-follow")


def api() -> requests.Session:
    session = requests.Session()
    scheme = "Bearer" if NETBOX_TOKEN.startswith("nbt_") else "Token"
    session.headers.update({"Authorization": "%s %s" % (scheme, NETBOX_TOKEN), "Accept": "application/json"})
    return session


def names(endpoint) -> set:
    return {obj["name"] for obj in api().get("%s/api/%s/?limit=0" % (NETBOX_URL, endpoint), timeout=60).json()["results"]}


@pytest.fixture(scope="module")
def work(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("follow")
    env = ansible_env(collections_path(tmp_path_factory))
    extra = {"geo_source": "bundled", "geo_countries": [COUNTRY], "geo_cache_dir": str(folder / "cache"),
             "geo_dataset": str(folder / "dataset.jsonl"), "geo_report_dir": str(folder / "reports"),
             "geo_netbox_links": True, "geo_progress_interval": 1,
             # a sync that lasts seconds on any machine: batches of 2 regions, 4 requests a second at most
             "geo_rate_limit": 4, "geo_batch_size": 2, "geo_root_region": root["slug"]}
    return {"folder": folder, "env": env, "extra": extra}


def run(work, run_id, *args, **extra_vars):
    result = run_playbook(IMPORT, work["env"], dict(work["extra"], geo_run_id=run_id, **extra_vars), *args)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    reports = sorted((work["folder"] / "reports").glob("*-%s.json" % run_id))
    return output, json.loads(reports[0].read_text())


@pytest.fixture(scope="module")
def imported(work):
    return run(work, "follow-import")


def test_the_report_links_a_map_that_decodes_at_its_size(imported):
    output, report = imported
    path = Path(report["map"])
    assert path.name == "import-follow-import.png" and path.parent == Path(report["report"]).parent
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.size == (1600, 900)
    assert "](import-follow-import.png)" in Path(report["report"]).read_text()
    assert "Map: %s" % path in output
    # the sync drew it beside its writes (its option map): the role's geo_map task was skipped
    lines = [line for line in output.splitlines() if line.strip()]
    drawn_by_role = [n for n, line in enumerate(lines) if line.startswith("TASK [") and "Draw the run's map" in line]
    assert drawn_by_role and lines[drawn_by_role[0] + 1].startswith("skipping:"), output[-3000:]


def test_the_links_are_created_once_and_a_rerun_leaves_them(work, imported):
    assert set(LINK_NAMES) <= names("extras/custom-links") and TEMPLATE_NAME in names("extras/export-templates")
    output, report = run(work, "follow-rerun")
    assert report["links"] == {"create": [], "update": [], "delete": []}
    assert report["summary"]["create"] == 0


def test_check_mode_with_diff_prints_progress_too(work, imported):
    output, report = run(work, "follow-check", "--check", "--diff", geo_rate_limit=2)
    assert report["plan_only"] is True
    assert [line for line in output.splitlines() if line.startswith("netbox_geo_sync: ")], output[-3000:]


def test_state_absent_removes_the_links_and_a_sync_puts_them_back(work, imported, root):
    sys.path.insert(0, str(COLLECTION_ROOT.parents[2]))
    from ansible_collections.geofoss.netbox.plugins.module_utils._contract import DEFAULT_MANAGED_TAG
    from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import run_sync
    # a tag of its own: state absent removes that tag's regions (none) and the links
    params = {"netbox_url": NETBOX_URL, "netbox_token": NETBOX_TOKEN, "state": "absent", "netbox_links": True,
              "managed_tag": "follow-%s" % uuid.uuid4().hex[:8]}
    planned = run_sync(params, check_mode=True, diff=True)
    assert len(planned["links"]["delete"]) == 3 and set(LINK_NAMES) <= names("extras/custom-links")
    # --diff: the links' deletes beside the regions' (none), before present, after gone
    assert {"delete custom link %s" % name for name in LINK_NAMES} <= set(planned["diff"]["before"])
    assert planned["diff"]["after"]["delete export template %s" % TEMPLATE_NAME] == {}
    removed = run_sync(params)
    assert removed["changed"] and len(removed["links"]["delete"]) == 3
    assert not set(LINK_NAMES) & names("extras/custom-links") and TEMPLATE_NAME not in names("extras/export-templates")
    restored = run_sync(dict(params, state="present", dataset=str(work["folder"] / "dataset.jsonl"),
                             managed_tag=DEFAULT_MANAGED_TAG, root_region=root["slug"]))
    assert len(restored["links"]["create"]) == 3


@pytest.fixture
def site(work, imported, root):
    """A site in the imported country's region (below the test's own root), with coordinates."""
    session = api()
    country = [n for n in read_dataset(work["folder"] / "dataset.jsonl")[1] if n["level"] == "country"][0]
    region = session.get("%s/api/dcim/regions/" % NETBOX_URL, timeout=60, params={
        "cf_geo_source_id": country["geo_source_id"], "ancestor_id": root["id"]}).json()["results"][0]
    name = "follow-%s" % uuid.uuid4().hex[:8]
    response = session.post("%s/api/dcim/sites/" % NETBOX_URL, timeout=60, json={
        "name": name, "slug": name, "region": region["id"], "latitude": SITE_AT[0], "longitude": SITE_AT[1]})
    assert response.status_code == 201, response.text
    yield dict(response.json(), region_id=region["id"], region_name=region["name"])
    session.delete("%s/api/dcim/sites/%d/" % (NETBOX_URL, response.json()["id"]), timeout=60)


@pytest.fixture
def user():
    """A user of this test who may view regions, sites and the export templates, to log in with."""
    session = api()
    # NetBox's validator wants a numeral, an upper- and a lower-case letter: a random token may lack one
    username, password = "follow-%s" % uuid.uuid4().hex[:8], "Aa1-" + secrets.token_urlsafe(16)
    response = session.post("%s/api/users/users/" % NETBOX_URL, timeout=60,
                            json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    response = session.post("%s/api/users/permissions/" % NETBOX_URL, timeout=60, json={
        "name": username, "actions": ["view"], "users": [user_id],
        "object_types": ["dcim.region", "dcim.site", "extras.exporttemplate", "extras.customlink"]})
    assert response.status_code == 201, response.text
    yield username, password
    session.delete("%s/api/users/permissions/%d/" % (NETBOX_URL, response.json()["id"]), timeout=60)
    session.delete("%s/api/users/users/%d/" % (NETBOX_URL, user_id), timeout=60)


def test_the_web_ui_links_the_site_to_openstreetmap_and_exports_geojson(browser, user, site, tmp_path):
    browser.get("%s/login/?next=/dcim/sites/%d/" % (NETBOX_URL, site["id"]))
    browser.find_element(By.NAME, "username").send_keys(user[0])
    browser.find_element(By.NAME, "password").send_keys(user[1])
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    link = WebDriverWait(browser, PAGE_WAIT).until(
        expected_conditions.presence_of_element_located((By.LINK_TEXT, "OpenStreetMap")))
    href = link.get_attribute("href")
    browser.save_screenshot(str(tmp_path / "site.png"))
    assert href.startswith("https://www.openstreetmap.org/?mlat=")
    assert "mlat=%s" % SITE_AT[0] in href and "mlon=%s" % SITE_AT[1] in href, href
    assert link.get_attribute("target") == "_blank"
    # the region has no coordinates (no attribute fields): its link searches OpenStreetMap by name
    browser.get("%s/dcim/regions/%d/" % (NETBOX_URL, site["region_id"]))
    region_link = WebDriverWait(browser, PAGE_WAIT).until(
        expected_conditions.presence_of_element_located((By.LINK_TEXT, "OpenStreetMap")))
    assert region_link.get_attribute("href") == "https://www.openstreetmap.org/search?query=%s" % quote(site["region_name"])
    # the export template, as the site list's Export menu asks for it, with the browser's session
    session = requests.Session()
    for cookie in browser.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    response = session.get("%s/dcim/sites/" % NETBOX_URL, timeout=PAGE_WAIT,
                           params={"region_id": site["region_id"], "export": TEMPLATE_NAME})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/geo+json")
    features = {f["properties"]["name"]: f for f in json.loads(response.text)["features"]}
    assert features[site["name"]]["geometry"] == {"type": "Point", "coordinates": [SITE_AT[1], SITE_AT[0]]}
    assert features[site["name"]]["properties"]["region"] == site["region_name"]
