# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local NetBox test bed (scripts/local-netbox): tokens work, regions can be
written through pynetbox, `up` reuses a running instance, `up --fresh` empties it.

`up --fresh` empties the instance: that test is the last of this file, and the files
that sort before this one (test_sync_*, ...) build their own data and need none of it.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pynetbox
import pytest

NETBOX_URL = os.environ.get("NETBOX_URL")
NETBOX_TOKEN = os.environ.get("NETBOX_TOKEN")
NETBOX_TOKEN_V1 = os.environ.get("NETBOX_TOKEN_V1")
LOCAL_NETBOX = os.environ.get("GEOFOSS_LOCAL_NETBOX")

pytestmark = pytest.mark.skipif(not (NETBOX_URL and NETBOX_TOKEN), reason="NETBOX_URL / NETBOX_TOKEN not set")


def api(token=NETBOX_TOKEN):
    nb = pynetbox.api(NETBOX_URL, token=token)
    # no keep-alive: an idle open connection slows gunicorn's graceful stop in `up --fresh`
    nb.http_session.headers["Connection"] = "close"
    return nb


def local_netbox(*args, timeout=300):
    if not LOCAL_NETBOX:
        pytest.skip("GEOFOSS_LOCAL_NETBOX not set")
    return subprocess.run([LOCAL_NETBOX, *args], capture_output=True, text=True, timeout=timeout, check=False)


def gunicorn_pid():
    result = local_netbox("status")
    for line in result.stdout.splitlines():
        if line.startswith("gunicorn:") and "pid" in line:
            return int(line.split("pid", 1)[1].split(",", 1)[0])
    raise AssertionError("no gunicorn pid in `status` output:\n%s" % result.stdout)


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_token_reads_status_and_regions(which):
    token = NETBOX_TOKEN if which == "v2" else NETBOX_TOKEN_V1
    if not token:
        pytest.skip("NETBOX_TOKEN_V1 not set")
    nb = api(token)
    status = nb.status()
    assert status["netbox-version"].startswith("4.")
    assert isinstance(nb.dcim.regions.count(), int)


def test_default_token_is_v2_where_netbox_has_them():
    release = tuple(int(part) for part in api().status()["netbox-version"].split(".")[:2])
    if release >= (4, 5):
        assert NETBOX_TOKEN.startswith("nbt_") and "." in NETBOX_TOKEN
    else:  # v1 tokens only before NetBox 4.5
        assert len(NETBOX_TOKEN) == 40 and not NETBOX_TOKEN.startswith("nbt_")
    if NETBOX_TOKEN_V1:
        assert len(NETBOX_TOKEN_V1) == 40


def test_status_names_the_release_that_answers():
    result = local_netbox("status")
    assert result.returncode == 0, result.stderr
    served = api().status()["netbox-version"]
    assert "release:    NetBox %s " % served in result.stdout
    assert "(API answers: NetBox %s)" % served in result.stdout


def test_bad_token_is_refused():
    with pytest.raises(pynetbox.RequestError) as caught:
        list(api("nbt_notakey.notasecret").dcim.regions.filter(limit=1))
    assert caught.value.req.status_code in (401, 403)


def test_region_create_and_delete():
    nb = api()
    slug = "testbed-%s" % uuid.uuid4().hex[:8]
    region = nb.dcim.regions.create(name=slug, slug=slug)
    assert nb.dcim.regions.get(slug=slug).id == region.id
    assert region.delete()
    assert nb.dcim.regions.get(slug=slug) is None


def test_up_again_reuses_the_instance():
    before = gunicorn_pid()
    result = local_netbox("up")
    assert result.returncode == 0, result.stderr
    # reused, not restarted: the same gunicorn, and no template or migration step ran
    assert "reusing" in result.stderr, result.stderr
    assert "migrating" not in result.stderr and "installing" not in result.stderr, result.stderr
    assert gunicorn_pid() == before


def test_up_fresh_empties_the_instance():
    nb = api()
    slug = "testbed-fresh-%s" % uuid.uuid4().hex[:8]
    nb.dcim.regions.create(name=slug, slug=slug)
    result = local_netbox("up", "--fresh")
    assert result.returncode == 0, result.stderr
    # --fresh re-clones the database from the template, whose tokens are the same
    assert nb.dcim.regions.get(slug=slug) is None
    assert nb.dcim.regions.count() == 0
