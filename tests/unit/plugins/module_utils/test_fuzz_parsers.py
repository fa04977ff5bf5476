# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests (hypothesis) of everything that reads untrusted text: the GeoNames
parsers, the dataset reader, slugs and names, credential stripping, Retry-After.

Each property runs in two sizes: "quick" in the normal run (a few thousand examples in
all, derandomized so that CI is reproducible) and "deep" behind the ``fuzz`` marker
(ten times more, seeded by GEOFOSS_FUZZ_SEED when it is set, random otherwise; `make test`
runs it as its fuzz stage with a seed that changes daily):  bash scripts/test fuzz
"""

from __future__ import annotations

import json
import math
import os
import zipfile

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import geonames  # noqa: E402
from ansible_collections.geofoss.netbox.plugins.module_utils._sources import natural_earth  # noqa: E402
from ansible_collections.geofoss.netbox.plugins.module_utils._common import (  # noqa: E402
    redact, strip_text_credentials, strip_url_credentials,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.model import (  # noqa: E402
    DatasetError, DatasetHeader, iter_node_dicts, read_dataset, write_dataset,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._http import parse_retry_after  # noqa: E402
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (  # noqa: E402
    SLUG_MAX, clean_name, is_valid_slug, make_slug, name_problem, slugify, unique_names_and_slugs,
)

QUICK = 200
BUDGETS = [pytest.param(QUICK, id="quick"), pytest.param(QUICK * 10, id="deep", marks=pytest.mark.fuzz)]
DEEP_SEED = os.environ.get("GEOFOSS_FUZZ_SEED")


def run(budget, strategy, check):
    """Run `check` on `budget` examples of `strategy` (quick runs are derandomized, deep
    ones seeded by GEOFOSS_FUZZ_SEED when it is set)."""
    @settings(max_examples=budget, deadline=None, database=None, derandomize=budget <= QUICK,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(strategy)
    def property_test(value):
        check(value)
    if budget > QUICK and DEEP_SEED:
        property_test = hypothesis.seed(int(DEEP_SEED))(property_test)
    property_test()


# -- strategies -----------------------------------------------------------------------------------

# Field values a hostile or damaged file may hold: realistic ones, edge numbers, junk.
FIELD = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "DE", "DE.02", "2921044", "-1", "0", "99999999999999999999", "48.1", "-90", "90.0001",
                     "nan", "inf", "-inf", "1e309", "PPLA", "ADM1", "Europe/Berlin", " ", "=1+1", "<b>", "\x00",
                     "\r", "\ufeff", "\u202e", "EU", "XX"]),
    st.from_regex(r"-?[0-9]{1,4}\.[0-9]{1,6}", fullmatch=True),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
)


def row_of(columns):
    return st.lists(FIELD, min_size=columns - 2, max_size=columns + 2).map("\t".join)


def file_bytes(columns):
    """A file of rows with about the right number of columns, plus raw junk lines."""
    line = st.one_of(row_of(columns).map(lambda s: s.encode("utf-8", "surrogatepass")),
                     st.binary(max_size=60), st.just(b"#comment"), st.just(b""))
    return st.lists(line, max_size=8).map(b"\n".join)


def check_parser_output(path, items, line_count):
    """Only records and RowErrors, in line order, each record within the documented rules."""
    last = 0
    for item in items:
        if isinstance(item, geonames.RowError):
            number = item.line
            assert item.file and str(item).startswith(item.file)
        else:
            number = item[0] if isinstance(item, tuple) and not hasattr(item, "_fields") else item.line
            check_record(item)
        assert last < number <= line_count, (path, number, line_count)
        last = number


def check_record(record):
    name = getattr(record, "name", None)
    if name is not None:
        assert name and name == name.strip() and not any(ord(c) < 32 for c in name)
    geonameid = getattr(record, "geonameid", None)
    if geonameid is not None:
        assert geonameid > 0
    if isinstance(record, geonames.Place):
        assert math.isfinite(record.latitude) and -90 <= record.latitude <= 90
        assert math.isfinite(record.longitude) and -180 <= record.longitude <= 180
        assert record.population >= 0 and len(record.country_code) == 2
    if isinstance(record, geonames.Country):
        assert record.continent in geonames.CONTINENTS and record.code.isupper()


PARSERS = {
    "countryInfo.txt": (geonames.parse_country_info, geonames.COUNTRY_INFO_COLUMNS),
    "admin1CodesASCII.txt": (geonames.parse_admin_codes, geonames.ADMIN_CODES_COLUMNS),
    "admin1Iso3166-2.txt": (geonames.parse_iso3166_2, 2),
    "cities15000.txt": (geonames.parse_geonames_table, geonames.GEONAME_COLUMNS),
}


# -- the GeoNames parsers -------------------------------------------------------------------------

@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("file_name", sorted(PARSERS))
def test_parsers_yield_only_valid_records_or_row_errors(tmp_path, budget, file_name):
    parser, columns = PARSERS[file_name]
    path = tmp_path / file_name

    def check(data):
        path.write_bytes(data)
        items = list(parser(str(path)))
        check_parser_output(file_name, items, data.count(b"\n") + 1)
    run(budget, file_bytes(columns), check)


PLACE = st.fixed_dictionaries({
    "geonameid": st.integers(1, 10 ** 12),
    "name": st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), min_size=1, max_size=40)
    .filter(lambda s: not s.startswith(("=", "+", "-", "@")) and "<" not in s and ">" not in s and "\ufeff" not in s),
    "latitude": st.floats(-90, 90, allow_nan=False),
    "longitude": st.floats(-180, 180, allow_nan=False),
    "country": st.from_regex(r"[A-Z]{2}", fullmatch=True),
    "admin1": st.from_regex(r"[0-9A-Z]{0,3}", fullmatch=True),
    "population": st.integers(0, 10 ** 10),
})


@pytest.mark.parametrize("budget", BUDGETS)
def test_valid_geoname_rows_round_trip(tmp_path, budget):
    path = tmp_path / "cities15000.txt"

    def check(place):
        columns = [str(place["geonameid"]), place["name"], "", "", repr(place["latitude"]), repr(place["longitude"]),
                   "P", "PPL", place["country"], "", place["admin1"], "", "", "", str(place["population"]), "", "",
                   "Europe/Berlin", "2024-01-01"]
        path.write_bytes(("\t".join(columns) + "\n").encode("utf-8"))
        (parsed,) = list(geonames.parse_geonames_table(str(path)))
        assert not isinstance(parsed, geonames.RowError), parsed
        assert (parsed.geonameid, parsed.name, parsed.latitude, parsed.longitude, parsed.country_code,
                parsed.admin1, parsed.population) == (place["geonameid"], place["name"].strip(), place["latitude"],
                                                      place["longitude"], place["country"], place["admin1"],
                                                      place["population"])
    run(budget, PLACE, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_damaged_zips_raise_only_source_errors(tmp_path, budget):
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cities15000.txt", "2867714\tMunich\tMunich\t\t48.1\t11.5\tP\tPPLA\tDE\t\t02\t091\t\t\t1260391"
                         "\t\t524\tEurope/Berlin\t2023-10-12\n" * 50)
    original = whole.read_bytes()
    path = tmp_path / "cities15000.zip"
    damage = st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255), st.integers(0, len(original)))

    def check(change):
        offset, xor, cut = change
        data = bytearray(original)
        data[offset] ^= xor
        path.write_bytes(bytes(data[:cut]))
        try:
            items = list(geonames.parse_geonames_table(str(path)))
        except geonames.SourceError as exc:
            assert "cities15000.zip" in str(exc)
        else:
            check_parser_output("cities15000.zip", items, 51)
    run(budget, damage, check)


# -- the dataset reader ---------------------------------------------------------------------------

def valid_dataset(tmp_path):
    path = tmp_path / "base.jsonl"
    node = {"geo_source_id": "geonames:1", "level": "country", "name": "Aland", "slug": "aland", "parent": None,
            "description": "", "attributes": {k: None for k in ("country_code", "iso_3166_1_alpha3", "iso_3166_2",
                                                                "geonames_code", "population", "latitude",
                                                                "longitude", "time_zone", "feature_code",
                                                                "wikidata_id", "continent")}}
    node["attributes"]["country_code"] = "AA"
    write_dataset(str(path), DatasetHeader(levels=["country"], provenance=[], filters={}), [node])
    return path.read_bytes()


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(SCALARS,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                       max_size=8), max_leaves=20)


@pytest.mark.parametrize("budget", BUDGETS)
def test_dataset_reader_raises_only_dataset_errors(tmp_path, budget):
    header_and_node = valid_dataset(tmp_path)
    path = tmp_path / "fuzz.jsonl"
    tail = st.lists(st.one_of(st.binary(max_size=80), JSON_VALUES.map(lambda v: json.dumps(v).encode())), max_size=5)

    def check(lines):
        path.write_bytes(header_and_node + b"\n".join(lines))
        for read in (lambda: list(iter_node_dicts(str(path), validate=True)),
                     lambda: list(read_dataset(str(path))[1])):
            try:
                read()
            except DatasetError as exc:
                assert str(path) in str(exc)
    run(budget, tail, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_dataset_writer_refuses_or_writes_a_file_that_reads_back(tmp_path, budget):
    path = tmp_path / "w.jsonl"
    node = st.fixed_dictionaries({
        "geo_source_id": st.one_of(st.just("geonames:1"), st.text(max_size=15)),
        "level": st.sampled_from(["country", "continent", "city", "bogus"]),
        "name": st.text(max_size=110), "slug": st.text(max_size=20), "parent": st.none() | st.text(max_size=12),
        "description": st.text(max_size=30),
        "attributes": st.fixed_dictionaries({k: st.none() | JSON_VALUES for k in (
            "country_code", "iso_3166_1_alpha3", "iso_3166_2", "geonames_code", "population", "latitude", "longitude",
            "time_zone", "feature_code", "wikidata_id", "continent")}),
    })

    def check(data):
        if path.exists():
            path.unlink()
        try:
            write_dataset(str(path), DatasetHeader(levels=[data["level"]] if data["level"] != "bogus" else ["city"],
                                                   provenance=[], filters={}), [data])
        except DatasetError as exc:
            assert str(path) in str(exc)
            assert not path.exists()  # nothing half written
            return
        assert [n["geo_source_id"] for n in iter_node_dicts(str(path), validate=True)] == [data["geo_source_id"]]
    run(budget, node, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_natural_earth_geojson_gives_clean_features_or_source_errors(tmp_path, budget):
    path = tmp_path / "ne_50m_admin_1_states_provinces.geojson"
    feature = st.fixed_dictionaries({"type": st.just("Feature"), "properties": st.dictionaries(
        st.sampled_from(["name", "iso_a2", "gn_a1_code", "gn_id", "iso_3166_2", "latitude", "longitude", "wikidataid",
                         "ISO_A2", "iso_a2_eh", "iso_a3"]), SCALARS, max_size=8), "geometry": st.none()})
    document = st.one_of(st.fixed_dictionaries({"type": st.just("FeatureCollection"),
                                                "features": st.lists(feature, max_size=4)}), SCALARS)

    def check(data):
        path.write_text(json.dumps(data), encoding="utf-8")
        for reader in (natural_earth.read_admin1, natural_earth.read_admin0):
            try:
                features = list(reader(str(path)))
            except geonames.SourceError as exc:
                assert path.name in str(exc)
                continue
            for item in features:
                assert isinstance(item.name, str)
                for value, bound in ((getattr(item, "latitude", None), 90), (getattr(item, "longitude", None), 180)):
                    assert value is None or (math.isfinite(value) and -bound <= value <= bound)
    run(budget, document, check)


# -- slugs and names ------------------------------------------------------------------------------

@pytest.mark.parametrize("budget", BUDGETS)
def test_slugs_are_always_netbox_safe_and_stable(budget):
    def check(text):
        slug = slugify(text)
        assert slug == "" or is_valid_slug(slug)
        assert slugify(slug) == slug
        suffixed = make_slug(text, "x" * 90, suffix="1234567")
        assert is_valid_slug(suffixed) and suffixed.endswith("-1234567") and len(suffixed) <= SLUG_MAX
    run(budget, st.text(max_size=300), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_cleaned_names_are_valid_region_names(budget):
    def check(args):
        text, qualifier = args
        name = clean_name(text, qualifier)
        assert name == "" or name_problem(name) is None, (name, name_problem(name))
    run(budget, st.tuples(st.text(max_size=150), st.text(max_size=80)), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_siblings_always_get_unique_names_and_slugs(budget):
    entry = st.fixed_dictionaries({"name": st.sampled_from(["Springfield", "Springfield (A)", "X", "x"]),
                                   "qualifier": st.sampled_from([None, "A", "B"]), "rank": st.integers(0, 3)})

    def check(entries):
        prepared = [dict(e, id=str(i + 1), slug=slugify(e["name"]), slug_prefix="us") for i, e in enumerate(entries)]
        result = unique_names_and_slugs(prepared)
        names = [v[0] for v in result.values()]
        slugs = [v[1] for v in result.values()]
        assert len(result) == len(entries)
        assert len(set(names)) == len(names) and len(set(slugs)) == len(slugs)
        assert all(is_valid_slug(s) for s in slugs)
    run(budget, st.lists(entry, max_size=12), check)


# -- secrets and Retry-After ----------------------------------------------------------------------

SECRET = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEF0123456789_."), min_size=8, max_size=48)


@pytest.mark.parametrize("budget", BUDGETS)
def test_redact_never_leaves_the_secret(budget):
    def check(args):
        secret, before, after = args
        text = before + secret + after + secret
        assert secret not in redact(text, [secret])
    run(budget, st.tuples(SECRET, st.text(max_size=40), st.text(max_size=40)), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_url_passwords_never_survive_stripping(budget):
    def check(args):
        user, password, host, path = args
        url = "https://%s:%s@%s/%s" % (user, password, host, path)
        for out in (strip_url_credentials(url), strip_text_credentials("GET %s failed" % url)):
            assert password not in out.replace(host, "").replace(path, "")
        query = "https://%s/x?api_key=%s&n=1" % (host, password)
        stripped = strip_url_credentials(query)
        assert password not in stripped.replace(host, "") and "api_key=" in stripped and "n=1" in stripped
    hosts = st.from_regex(r"[a-z]{1,10}\.example", fullmatch=True)
    run(budget, st.tuples(st.from_regex(r"[a-z]{1,8}", fullmatch=True), SECRET, hosts,
                          st.from_regex(r"[a-z/]{0,10}", fullmatch=True)), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_retry_after_is_none_or_a_non_negative_number(budget):
    def check(value):
        seconds = parse_retry_after(value, now=1_700_000_000)
        assert seconds is None or (seconds >= 0 and not math.isnan(seconds))
    samples = ["Wed, 21 Oct 2015 07:28:00 GMT", "-5", "1e999", "nan", "Mon, 99 Foo 2015 07:28:00 GMT"]
    run(budget, st.one_of(st.text(max_size=40), st.sampled_from(samples)), check)
