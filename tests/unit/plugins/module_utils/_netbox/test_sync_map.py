# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sync's map option against the in-memory fake NetBox: the map the sync draws
beside its writes is the one geo_map draws from the same plan file, in check mode too and
after a run that failed once planned; a map that cannot be drawn is a warning; a bad size
fails before NetBox is asked anything; and the sync imports matplotlib only to draw."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy
import pytest
from PIL import Image as image  # matplotlib's own dependency

from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.sync import SyncError
from ansible_collections.geofoss.netbox.plugins.module_utils._report.map import OUTCOME_COLOURS, run_map

import test_sync
from fake_netbox import FakeNetBox
from test_sync import COUNTRIES, DIVISIONS, sync

dataset = test_sync.dataset  # the fixture that writes a dataset file


def box(west, south, east, north):
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                [west, south]]]}


@pytest.fixture
def outlines(tmp_path):
    """Belgium and Luxembourg side by side, as a side file's features."""
    features = [{"type": "Feature", "properties": {"geo_source_id": "geonames:%d" % gid, "name": name,
                                                   "country_code": code}, "geometry": box(west, 49, west + 2, 51)}
                for gid, name, code, west in ((1, "Belgium", "BE", 3), (2, "Luxembourg", "LU", 5))]
    path = tmp_path / "outlines.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


def pixels(path):
    with image.open(path) as picture:
        return numpy.asarray(picture.convert("RGB"))


def shaded(path, outcome):
    colour = OUTCOME_COLOURS[outcome]
    return int((pixels(path) == tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))).all(axis=2).sum())


def drawing(tmp_path, outlines, name="run.png", **extra):
    return dict({"dest": str(tmp_path / name), "polygons": outlines, "title": "a run", "extent": "dataset"}, **extra)


def test_the_map_drawn_beside_the_writes_is_the_one_geo_map_draws_from_the_plan_file(dataset, outlines, tmp_path):
    path = dataset(COUNTRIES + DIVISIONS)
    plan_file = str(tmp_path / "plan.json")
    with FakeNetBox() as server:
        result = sync(server, path, plan_file=plan_file, map=drawing(tmp_path, outlines))
        assert len(server.regions) == 8
    assert result["map"] == str(tmp_path / "run.png") and result["duration"]["map"] > 0
    with image.open(result["map"]) as picture:
        assert picture.format == "PNG" and picture.size == (1600, 900)
    alone = run_map(dict(drawing(tmp_path, outlines, "alone.png"), dataset=path, plan_file=plan_file))
    assert (pixels(result["map"]) == pixels(alone["path"])).all()
    assert shaded(result["map"], "created") > 1000  # both countries were created


def test_a_rerun_maps_its_countries_unchanged(dataset, outlines, tmp_path):
    path = dataset(COUNTRIES + DIVISIONS)
    with FakeNetBox() as server:
        sync(server, path, map=drawing(tmp_path, outlines, "first.png"))
        rerun = sync(server, path, map=drawing(tmp_path, outlines, "rerun.png"))
    assert shaded(rerun["map"], "created") == 0 and shaded(rerun["map"], "unchanged") > 1000
    assert shaded(str(tmp_path / "first.png"), "unchanged") == 0


def test_check_mode_draws_the_map_of_what_it_would_do_and_writes_nothing_to_netbox(dataset, outlines, tmp_path):
    with FakeNetBox() as server:
        result = sync(server, dataset(COUNTRIES), check_mode=True, map=drawing(tmp_path, outlines))
        assert server.writes == []
    assert shaded(result["map"], "created") > 1000


def test_a_run_that_fails_once_planned_still_draws_its_map(dataset, outlines, tmp_path):
    with FakeNetBox() as server:
        server.add_region("Belgium", "belgium")  # unmanaged, where the dataset wants its Belgium: a conflict
        with pytest.raises(SyncError, match="conflicts, nothing was written") as caught:
            sync(server, dataset(COUNTRIES + DIVISIONS), map=drawing(tmp_path, outlines))
        assert server.writes == []
    assert caught.value.result["map"] == str(tmp_path / "run.png")
    assert shaded(caught.value.result["map"], "created") > 1000  # Luxembourg, as planned


def test_a_prune_below_a_country_shades_that_country(dataset, outlines, tmp_path):
    with FakeNetBox() as server:
        sync(server, dataset(COUNTRIES + DIVISIONS))
        result = sync(server, dataset(COUNTRIES, "smaller.jsonl"), prune=True, map=drawing(tmp_path, outlines))
        assert len(server.regions) == 2
    assert shaded(result["map"], "pruned") > 1000 and shaded(result["map"], "unchanged") == 0


def test_a_map_that_cannot_be_drawn_is_a_warning_not_a_failure(dataset, tmp_path):
    with FakeNetBox() as server:
        result = sync(server, dataset(COUNTRIES), map=drawing(tmp_path, str(tmp_path / "missing.geojson")))
        assert len(server.regions) == 2
    assert result["map"] is None and not (tmp_path / "run.png").exists()
    assert [w for w in result["warnings"] if w.startswith("the map was not drawn: ") and "missing.geojson" in w]


def test_a_map_size_too_small_fails_before_netbox_is_asked(dataset, outlines, tmp_path):
    with FakeNetBox() as server:
        with pytest.raises(SyncError, match=r"map: the map must be at least 200 x 150 pixels, got 100 x 900"):
            sync(server, dataset(COUNTRIES), map=drawing(tmp_path, outlines, size=[100, 900]))
        assert server.requests == []


def test_the_sync_imports_matplotlib_only_to_draw():
    code = ("import sys\n"
            "from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import sync\n"
            "print('matplotlib' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert done.stdout.strip() == "False"
