# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site placement's region choice on real data: the US states of Natural Earth's 1:50m
admin-1 layer (the polygons side file geo_transform writes) and GeoNames' cities15000.

Checks, over points sampled around real cities, that a city is chosen only inside the
state whose polygon contains the point, that this rule really decides cases (the nearest
city overall lies across a state border), and that points of cities found by the lookup
keep their names. No NetBox is needed; the files are read in place.
"""

from __future__ import annotations

import os
import random

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import load_index
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.lookup import run_lookup
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.transform import run_transform

GEODATA = os.environ.get("GEOFOSS_GEODATA", "")
LINKS = {
    "countryInfo.txt": "geonames/countryInfo.txt",
    "admin1CodesASCII.txt": "geonames/admin1CodesASCII.txt",
    "cities15000.zip": "geonames/cities15000.zip",
    "ne_50m_admin_1_states_provinces.zip": "naturalearth/ne_50m_admin_1_states_provinces.zip",
}

pytestmark = pytest.mark.skipif(not all(os.path.isfile(os.path.join(GEODATA, p)) for p in LINKS.values()),
                                reason="GEOFOSS_GEODATA does not hold the GeoNames and Natural Earth files")


@pytest.fixture(scope="module")
def us_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("us")
    src = folder / "src"
    src.mkdir()
    for name, relative in LINKS.items():
        os.symlink(os.path.join(GEODATA, relative), src / name)
    dest = str(folder / "us.jsonl")
    run_transform(src=str(src), dest=dest, countries=["US"], levels=["country", "admin1", "city"],
                  city_min_population=15000, city_source="cities15000", enrich="natural_earth")
    return dest


def points_near_cities(index, seed, spread, count=3000):
    """`count` points, each within `spread` degrees of a random city of the dataset."""
    cities = index.by_level["city"]
    rng = random.Random(seed)
    for _number in range(count):
        city = rng.choice(cities)["attributes"]
        yield city["latitude"] + rng.uniform(-spread, spread), city["longitude"] + rng.uniform(-spread, spread)


def test_cities_are_chosen_only_inside_the_containing_state(us_dataset):
    index = load_index(us_dataset)
    assert index.polygons is not None and len(index.polygons) >= 50
    decided_by_polygon = checked = 0
    for lat, lon in points_near_cities(index, seed=6, spread=0.25):
        division = index.containing_division(lat, lon)
        if division is None:
            continue  # at sea or outside the generalised coastline
        placement = index.locate(lat, lon, city_radius_km=30)
        checked += 1
        if placement.method == "city":
            assert index.division_of(placement.node) is division, (lat, lon, placement)
        else:
            assert placement.method == "polygon" and placement.node is division
        nearest = index.cities.within(lat, lon, 30)
        if nearest and index.division_of(nearest[0][1]) is not division:
            decided_by_polygon += 1
    assert checked > 2000
    assert decided_by_polygon > 10  # near state lines the nearest city is often across the border


def test_known_points_and_the_lookup(us_dataset):
    # Kansas City, Missouri, and the state line 1.5 km west of downtown
    missouri = run_lookup([], dataset=us_dataset, latitude=39.0997, longitude=-94.5786)[0]
    assert missouri["country_code"] == "US" and missouri["parent_slug"] == "us-missouri"
    assert missouri["time_zone"] == "America/Chicago"
    kansas = run_lookup([], dataset=us_dataset, latitude=39.0997, longitude=-94.64)[0]
    assert kansas["parent_slug"] == "us-kansas" or kansas["slug"] == "us-kansas"
    # a point in the Mojave desert far from any city of 15,000: the containing state
    desert = run_lookup([], dataset=us_dataset, latitude=35.0, longitude=-116.2, city_radius_km=10)[0]
    assert desert["slug"] == "us-california" and desert["method"] == "polygon"
    assert desert["time_zone"] == "America/Los_Angeles"
    texas = run_lookup(["US-TX"], dataset=us_dataset)[0]
    assert texas["level"] == "admin1" and texas["name"] == "Texas"


@pytest.fixture(scope="module")
def border_dataset(tmp_path_factory):
    """Five neighbours with their divisions and cities, and only Natural Earth's admin-0
    layer: the country polygons are the only polygons."""
    admin0 = "naturalearth/ne_50m_admin_0_countries.zip"
    if not os.path.isfile(os.path.join(GEODATA, admin0)):
        pytest.fail("GEOFOSS_GEODATA lacks %s" % admin0)
    folder = tmp_path_factory.mktemp("borders")
    src = folder / "src"
    src.mkdir()
    links = {name: relative for name, relative in LINKS.items() if "admin_1" not in name}
    links["ne_50m_admin_0_countries.zip"] = admin0
    for name, relative in links.items():
        os.symlink(os.path.join(GEODATA, relative), src / name)
    dest = str(folder / "borders.jsonl")
    run_transform(src=str(src), dest=dest, countries=["BE", "DE", "FR", "LU", "NL"],
                  levels=["country", "admin1", "city"], city_min_population=15000, city_source="cities15000",
                  enrich="natural_earth")
    return dest


def test_country_polygons_keep_sites_on_their_side_of_the_border(border_dataset):
    index = load_index(border_dataset)
    assert index.polygons is None and index.country_polygons is not None and len(index.country_polygons) == 5
    checked = decided_by_border = 0
    for lat, lon in points_near_cities(index, seed=8, spread=0.3):
        country = index.containing_country(lat, lon)
        if country is None:
            continue  # at sea or in a country outside the dataset
        placement = index.locate(lat, lon, city_radius_km=30)
        checked += 1
        assert index.country_of(placement.node) is country, (lat, lon, placement)
        nearest = index.cities.within(lat, lon, 30)
        if nearest and index.country_of(nearest[0][1]) is not country:
            decided_by_border += 1
    assert checked > 2000
    assert decided_by_border > 10  # near borders the nearest city is often in the neighbour
