# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetBox-safe names, slugs and descriptions for regions.

NetBox 4.7's Region (dcim/models/sites.py) allows names of at most 100 characters
without tabs, slugs of at most 100 characters of ``[-a-zA-Z0-9_]`` and descriptions of
at most 200 characters; (parent, name) and (parent, slug) are unique, the top level
included (``nulls_distinct=False``), compared exactly (plain collation: case matters).
Its API trims leading and trailing whitespace and refuses NUL characters, so names here
are trimmed and free of control characters, or NetBox would store something else than
the dataset says and every sync would see a change.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterator

NAME_MAX = 100
SLUG_MAX = 100
DESCRIPTION_MAX = 200

# Our slugs are lower case: stricter than NetBox's SlugField, never in conflict with it.
SLUG_RE = re.compile(r"[a-z0-9_-]+\Z")
_SLUG_JUNK_RE = re.compile(r"[^a-z0-9]+")
_WHITESPACE_RE = re.compile(r"\s+")
# Unicode categories Cc (control), Cs (surrogates), Zl and Zp (line and paragraph separators)
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")

# Letters that NFKD does not split into an ASCII base letter plus combining marks.
_TRANSLITERATION = str.maketrans({
    "ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "ð": "d", "Ð": "D", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th",
    "ı": "i", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ŋ": "ng", "Ŋ": "Ng", "ĸ": "k",
    "ſ": "s", "ƒ": "f", "ǝ": "e", "ə": "e", "Ə": "E",
    # apostrophes vanish rather than split a word: O'Higgins -> ohiggins
    "'": "", "\u2019": "", "\u02bc": "", "\u02bb": "", "`": "", "\u00b4": "",
})


def is_valid_slug(slug: Any) -> bool:
    return isinstance(slug, str) and 0 < len(slug) <= SLUG_MAX and SLUG_RE.match(slug) is not None


def _text_problem(value: Any, limit: int, allow_empty: bool) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value and not allow_empty:
        return "must not be empty"
    if len(value) > limit:
        return "longer than %d characters (%d)" % (limit, len(value))
    if value != value.strip():
        return "has leading or trailing whitespace"
    if _CONTROL_RE.search(value):
        return "contains control or surrogate characters"
    return None


def name_problem(name: Any) -> str | None:
    """Why NetBox would refuse or alter this region name, or None when it is fine."""
    return _text_problem(name, NAME_MAX, allow_empty=False)


def description_problem(description: Any) -> str | None:
    """Why NetBox would refuse or alter this description (it may be empty), or None."""
    return _text_problem(description, DESCRIPTION_MAX, allow_empty=True)


def _truncate(text: str, limit: int, marker: str = "") -> str:
    if len(text) <= limit:
        return text
    return text[:limit - len(marker)].rstrip() + marker


def clean_text(text: str) -> str:
    """NFC, control characters dropped, whitespace runs (tabs included) as one space, trimmed."""
    if text.isprintable() and "  " not in text and text == text.strip() and (
            text.isascii() or unicodedata.is_normalized("NFC", text)):
        return text  # the common case, without regular expressions
    text = unicodedata.normalize("NFC", text)
    return _WHITESPACE_RE.sub(" ", _CONTROL_RE.sub(" ", text)).strip()


def clean_name(text: str, qualifier: str = "") -> str:
    """A valid region name: ``text`` cleaned, ``qualifier`` appended as `` (qualifier)``,
    truncated so that the whole fits NAME_MAX (the qualifier is kept, the text shortened)."""
    name = clean_text(text)
    qualifier = _truncate(clean_text(qualifier), NAME_MAX // 2) if qualifier else ""
    if not qualifier:
        return _truncate(name, NAME_MAX)
    suffix = " (%s)" % qualifier
    return (_truncate(name, NAME_MAX - len(suffix)) + suffix).strip()


def clean_description(text: str) -> str:
    return _truncate(clean_text(text), DESCRIPTION_MAX, "\u2026")


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """ASCII slug of ``text``: lower case letters and digits joined by single hyphens.

    NFKD splits accented letters into base letter + combining mark (the marks are
    dropped), a small table handles the letters NFKD leaves alone (ß, ø, ł, đ, æ, œ, þ, ...).
    Returns "" when nothing ASCII is left (e.g. a name in Chinese script): the caller
    falls back to another spelling or the geonameid.
    """
    if text.isascii():  # most GeoNames asciinames: no decomposition needed
        ascii_text = text.translate(_TRANSLITERATION).lower()
    else:
        ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION)).translate(_TRANSLITERATION)
        ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_JUNK_RE.sub("-", ascii_text).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rstrip("-")
    return slug


def make_slug(*parts: str, suffix: str = "") -> str:
    """Join slugified ``parts`` with hyphens, then ``-suffix``; always at most SLUG_MAX.

    The suffix (a geonameid, normally) is never cut: the parts are shortened instead.
    Empty parts are skipped; the result is "" only when every part and the suffix are empty.
    """
    suffix = slugify(suffix, SLUG_MAX) if suffix else ""
    budget = SLUG_MAX - (len(suffix) + 1 if suffix else 0)
    body = "-".join(p for p in parts if p)
    if SLUG_RE.match(body) and "--" not in body and body[0] != "-" and body[-1] != "-":
        body = body[:max(budget, 0)].rstrip("-")  # parts that are slugs already
    else:
        body = slugify(body, max(budget, 0))
    return "-".join(p for p in (body, suffix) if p)


def unique_names_and_slugs(entries: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Give each sibling a name and a slug no other sibling has, deterministically.

    ``entries``: list of dicts with ``id`` (unique, e.g. the geonameid as text), ``name``,
    ``slug`` (the preferred ones), ``qualifier`` (e.g. the admin1 name: used first to tell
    equal names apart), ``slug_prefix`` (e.g. the country code) and ``rank`` (sortable; the
    best-ranked entry of a clash keeps the plain name). Returns {id: (name, slug)}.
    Plain names and slugs are kept wherever they are unique; a clash gives the other
    entries `` (qualifier)``, then `` (id)``; slugs get ``-<id>``.
    """
    ordered = sorted(entries, key=lambda e: (e["rank"], e["id"]))
    result: dict[str, list[str]] = {}
    for field, candidates in (("name", _name_candidates), ("slug", slug_candidates)):
        first_holder: dict[str, str] = {}
        for entry in ordered:
            first_holder.setdefault(entry[field], entry["id"])
        taken = set(first_holder)
        chosen = {}
        for entry in ordered:
            if first_holder[entry[field]] == entry["id"]:
                chosen[entry["id"]] = entry[field]
                continue
            for candidate in candidates(entry):
                if candidate and candidate not in taken:
                    break
            taken.add(candidate)
            chosen[entry["id"]] = candidate
        for entry_id, value in chosen.items():
            result.setdefault(entry_id, []).append(value)
    return {entry_id: tuple(values) for entry_id, values in result.items()}


def _name_candidates(entry: dict[str, Any]) -> Iterator[str]:
    if entry.get("qualifier"):
        yield clean_name(entry["name"], entry["qualifier"])
    yield clean_name(entry["name"], entry["id"])
    counter = 2
    while True:  # only when someone's real name is "X (<our id>)"
        yield clean_name(entry["name"], "%s-%d" % (entry["id"], counter))
        counter += 1


def slug_candidates(entry: dict[str, Any]) -> Iterator[str]:
    base = entry["slug"]
    prefix = entry.get("slug_prefix", "")
    if prefix and base.startswith(prefix + "-"):
        base = base[len(prefix) + 1:]
    yield make_slug(prefix, base, suffix=entry["id"])
    counter = 2
    while True:
        yield make_slug(prefix, base, suffix="%s-%d" % (entry["id"], counter))
        counter += 1


def format_population(population: int) -> str:
    return "{:,}".format(population)
