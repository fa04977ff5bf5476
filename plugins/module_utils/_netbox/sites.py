# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sites' engine: put NetBox sites in the deepest managed region that
contains them and set their time zone, from their coordinates (geocoding the
physical address through Nominatim when asked).

`plan_sites` is a pure function of (sites, dataset index, managed regions,
options); `run` reads NetBox, plans, and applies the plan as bulk PATCHes through the one
retry-and-recheck layer (writer.py). Every input (options, the dataset and polygons,
NetBox's version, the token's permissions) is checked before the first write.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ansible_collections.geofoss.netbox.plugins.module_utils._common import plain_http_warning, redact
from ansible_collections.geofoss.netbox.plugins.module_utils._errors import GeoFossError
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndexError, load_index
from ansible_collections.geofoss.netbox.plugins.module_utils._http import (
    below_minimum, http_client_from, http_option_problems,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, chunks
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.diff import DifferenceTracker
from ansible_collections.geofoss.netbox.plugins.module_utils._contract import (
    DEFAULT_MANAGED_TAG, SOURCE_FIELD, managed_tag_of,
)
from ansible_collections.geofoss.netbox.plugins.module_utils._io import write_bytes
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.writer import BatchWriter
from ansible_collections.geofoss.netbox.plugins.module_utils._progress import NoProgress, counted, progress_to
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.nominatim import NominatimError, NominatimSearch

if TYPE_CHECKING:
    from ansible_collections.geofoss.netbox.plugins.module_utils._dataset.validate import NodeDict
    from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndex

# The site fields read from NetBox, and the ones this engine may write.
SITE_FIELDS = ("id", "name", "slug", "region", "time_zone", "latitude", "longitude", "physical_address")
REGION_FIELDS = ("id", "name", "slug", "custom_fields")
SITES = "dcim/sites"
SITES_FILE_KIND = "geofoss.netbox/sites"
# A point farther than this from its country's places, whose swapped twin lies
# within a fifth of that distance, is taken for lat/lon given the wrong way round.
SWAP_MIN_KM = 300.0
SWAP_RATIO = 5.0
DIFF_CAP = 200  # sites shown in --diff and in `changes`
WARNING_CAP = 100  # one warning per skipped site up to this many, then a summary
COORDINATE_DECIMALS = 6  # NetBox stores site coordinates with 6 decimals
NOMINATIM_RATE = 1.0  # requests per second: Nominatim's usage policy, kept for self-hosted servers too

Site = Mapping[str, Any]
Region = Mapping[str, Any]
Problem = tuple[str, str]  # (reason, text)

COUNT_KEYS = ("sites", "updated", "unchanged", "no_coordinates", "bad_coordinates", "outside_dataset",
              "unmanaged_region", "geocoded", "geocode_failed")


class SitesError(GeoFossError):
    """A failure of the whole run (bad options, unreadable dataset, NetBox errors)."""


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _rounded(coordinate: float | None) -> float | None:
    """A coordinate as NetBox stores it."""
    return None if coordinate is None else round(coordinate, COORDINATE_DECIMALS)


def coordinate_problem(lat: float | None, lon: float | None, index: GeoIndex | None = None,
                       country_code: str | None = None) -> Problem | None:
    """(reason, text) when coordinates are unusable, else None.

    Reasons: ``not_a_number``, ``zero`` (0,0: an unset value saved as zero),
    ``out_of_range``, ``swapped`` (latitude and longitude given the wrong way round:
    the point is far from the site's country and the swapped point is close to it).
    """
    if lat is None or lon is None:
        return "missing", "no coordinates"
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "not_a_number", "latitude/longitude are not numbers"
    if lat == 0 and lon == 0:
        return "zero", "coordinates 0,0 (probably unset)"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        hint = " (swapped?)" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        return "out_of_range", "latitude %s / longitude %s out of range%s" % (lat, lon, hint)
    if index is not None and -90 <= lon <= 90 and lat != lon:
        if _looks_swapped(lat, lon, index, country_code):
            return "swapped", ("latitude %s / longitude %s look swapped: %s,%s is far from %s, %s,%s is near it"
                               % (lat, lon, lat, lon, country_code or "every place of the dataset", lon, lat))
    return None


def _looks_swapped(lat: float, lon: float, index: GeoIndex, country_code: str | None) -> bool:
    if country_code:
        here = index.nearest_in_country(lat, lon, country_code)
        if here is None or here < SWAP_MIN_KM:
            return False
        there = index.nearest_in_country(lon, lat, country_code, max_km=here / SWAP_RATIO)
        return there is not None
    if index.places.any_within(lat, lon, SWAP_MIN_KM):
        return False
    return index.places.any_within(lon, lat, SWAP_MIN_KM / SWAP_RATIO)


def _related_id(value: Any) -> Any:
    """The id of a NetBox relation as read (nested object, id, or None)."""
    if isinstance(value, dict):
        return value.get("id")
    return value


class ManagedRegions:
    """NetBox regions the sync manages, matched to dataset nodes by geo_source_id."""

    def __init__(self, regions: Iterable[Region]) -> None:
        self.by_source_id: dict[str, Region] = {}
        self.by_id: dict[int, Region] = {}
        for region in regions:
            source_id = (region.get("custom_fields") or {}).get(SOURCE_FIELD)
            if source_id:
                self.by_source_id[source_id] = region
                self.by_id[region["id"]] = region

    def region_for(self, index: GeoIndex, node: NodeDict) -> Region | None:
        """The managed region of `node`, or of its nearest managed ancestor; None if none."""
        for candidate in index.ancestors(node):
            region = self.by_source_id.get(candidate["geo_source_id"])
            if region is not None:
                return region
        return None

    def country_code(self, index: GeoIndex, region_id: int | None) -> str | None:
        """The country code of a managed region (from its dataset node), or None."""
        region = self.by_id.get(region_id) if region_id is not None else None
        source_id = (region.get("custom_fields") or {}).get(SOURCE_FIELD) if region else None
        node = index.nodes.get(source_id) if source_id else None
        return index.country_code(node) if node else None


def site_country_hint(site: Site, index: GeoIndex, regions: ManagedRegions,
                      geocoded: Mapping[str, Any] | None = None) -> str | None:
    """The site's country as far as NetBox or the geocoder tells, for the swap check."""
    if geocoded and geocoded.get("country_code"):
        return geocoded["country_code"].upper()
    code = regions.country_code(index, _related_id(site.get("region")))
    if code:
        return code
    time_zone = site.get("time_zone")
    countries = index.countries_of_time_zone(time_zone) if time_zone else set()
    return next(iter(countries)) if len(countries) == 1 else None


class SitePlan:
    """The PATCHes to send, the before/after of each changed site, counts and warnings."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.counts = dict.fromkeys(COUNT_KEYS, 0)
        # every site with how it was placed, or why not: the sites file (the run's map)
        self.placements: list[dict[str, Any]] = []

    def place(self, site: Site, lat: float | None, lon: float | None, method: str | None = None,
              placed_in: str | None = None, reason: str | None = None) -> None:
        self.placements.append({"id": site["id"], "name": site.get("name"), "latitude": lat, "longitude": lon,
                                "method": method, "placed_in": placed_in, "reason": reason})

    def skip(self, site: Site, reason: str, text: str, count_key: str) -> None:
        self.counts[count_key] += 1
        self.skipped.append({"id": site["id"], "name": site.get("name"), "reason": reason, "message": text})
        if len(self.skipped) <= WARNING_CAP:
            self.warnings.append("site %s (id %s): %s; skipped" % (site.get("name"), site["id"], text))

    def finish(self) -> SitePlan:
        extra = len(self.skipped) - WARNING_CAP
        if extra > 0:
            self.warnings.append("%d more sites skipped (see `skipped_sites` in the result)" % extra)
        return self


def plan_sites(sites: Iterable[Site], index: GeoIndex, regions: ManagedRegions, assign_region: bool = True,
               set_time_zone: bool = True, overwrite: bool = False, city_radius_km: float = 30.0,
               max_distance_km: float = 500.0, geocoded: Mapping[int, Mapping[str, Any]] | None = None) -> SitePlan:
    """The plan for `sites` (NetBox site dicts with SITE_FIELDS).

    `regions` is a ManagedRegions; `geocoded` maps site id to {latitude, longitude,
    country_code} found by the geocoder. Without `overwrite` only empty fields are filled.
    """
    plan = SitePlan()
    geocoded = geocoded or {}
    for site in sites:
        plan.counts["sites"] += 1
        found = geocoded.get(site["id"])
        lat, lon = _number(site.get("latitude")), _number(site.get("longitude"))
        if found is not None and (lat is None or lon is None):
            lat, lon = found["latitude"], found["longitude"]
        else:
            found = None
        if lat is None and lon is None:
            plan.counts["no_coordinates"] += 1
            plan.place(site, None, None, reason="no_coordinates")
            continue
        problem = coordinate_problem(lat, lon, index, site_country_hint(site, index, regions, found))
        if problem or lat is None or lon is None:
            problem = problem or ("missing", "no coordinates")
            plan.skip(site, problem[0], problem[1], "bad_coordinates")
            plan.place(site, lat, lon, reason=problem[0])
            continue
        placement = index.locate(lat, lon, city_radius_km=city_radius_km, max_distance_km=max_distance_km)
        if placement is None:
            plan.skip(site, "outside_dataset", "no place of the dataset within %g km of %s,%s"
                      % (max_distance_km, lat, lon), "outside_dataset")
            plan.place(site, lat, lon, reason="outside_dataset")
            continue
        before, after = {}, {}
        if assign_region:
            region = regions.region_for(index, placement.node)
            current = _related_id(site.get("region"))
            if region is None:
                plan.skip(site, "unmanaged_region", "%s (%s) and its parents have no managed region in NetBox"
                          % (placement.node["name"], placement.node["geo_source_id"]), "unmanaged_region")
                plan.place(site, lat, lon, reason="unmanaged_region")
                continue
            if region["id"] != current and (current is None or overwrite):
                before["region"], after["region"] = current, region["id"]
        if set_time_zone:
            zone = index.time_zone_for(placement, lat, lon)
            current = site.get("time_zone") or None
            if zone and zone != current and (current is None or overwrite):
                before["time_zone"], after["time_zone"] = current, zone
        if found is not None:
            before.update(latitude=site.get("latitude"), longitude=site.get("longitude"))
            after.update(latitude=_rounded(lat), longitude=_rounded(lon))
        plan.place(site, lat, lon, method=placement.method, placed_in=placement.node["geo_source_id"])
        if not after:
            plan.counts["unchanged"] += 1
            continue
        plan.counts["updated"] += 1
        plan.updates.append(dict(after, id=site["id"]))
        if len(plan.changes) < DIFF_CAP:
            plan.changes.append({
                "id": site["id"], "name": site.get("name"), "before": before, "after": after,
                "placed_in": placement.node["geo_source_id"], "method": placement.method,
                "distance_km": None if placement.distance_km is None else round(placement.distance_km, 3),
            })
    return plan.finish()


def describe_changes(plan: SitePlan, regions: ManagedRegions) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The plan's changes with region ids shown as slugs too (for --diff)."""
    def slug(region_id: Any) -> Any:
        region = regions.by_id.get(region_id)
        return region.get("slug") if region else region_id
    shown = []
    for change in plan.changes:
        before, after = dict(change["before"]), dict(change["after"])
        if "region" in after:
            before["region"], after["region"] = slug(before["region"]), slug(after["region"])
        shown.append((change["name"], before, after))
    return shown


def needs_geocoding(site: Site) -> bool:
    return (_number(site.get("latitude")) is None and _number(site.get("longitude")) is None
            and bool((site.get("physical_address") or "").strip()))


def geocode_sites(sites: Iterable[Site], searcher: Any, warnings: list[str]) -> dict[int, dict[str, Any]]:
    """{site id: {latitude, longitude, country_code, display_name}} for sites with an
    address and no coordinates; the best (first) Nominatim answer of each address."""
    found = {}
    for site in sites:
        if not needs_geocoding(site):
            continue
        address = " ".join(site["physical_address"].split())
        try:
            answers = searcher.search(address)
        except Exception as exc:  # one address failing must not end the run
            warnings.append("site %s (id %s): geocoding failed: %s" % (site.get("name"), site["id"], exc))
            status = getattr(exc, "status", None)
            if status in (403, 429):
                warnings.append("geocoding stopped: the server refuses more requests (HTTP %s)" % status)
                break
            continue
        best = _best_answer(answers)
        if best is None:
            warnings.append("site %s (id %s): Nominatim found nothing for %r" % (site.get("name"), site["id"], address))
            continue
        found[site["id"]] = best
    return found


def _best_answer(answers: Iterable[Mapping[str, Any]] | None) -> dict[str, Any] | None:
    for answer in answers or ():
        lat, lon = _number(answer.get("lat")), _number(answer.get("lon"))
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        address = answer.get("address") or {}
        return {"latitude": lat, "longitude": lon, "country_code": (address.get("country_code") or "").upper() or None,
                "display_name": answer.get("display_name")}
    return None


def option_problems(city_radius_km: float, max_distance_km: float, concurrency: int) -> list[str]:
    options = {"city_radius_km": city_radius_km, "max_distance_km": max_distance_km, "concurrency": concurrency}
    return (below_minimum(options, ("city_radius_km",), 0) + below_minimum(options, ("max_distance_km",), 0, strict=True)
            + below_minimum(options, ("concurrency",), 1))


def run(nb: Any, index: Any, site_filter: Mapping[str, Any] | None = None, managed_tag: str | None = DEFAULT_MANAGED_TAG,
        assign_region: bool = True, set_time_zone: bool = True, overwrite: bool = False,
        city_radius_km: float = 30.0, max_distance_km: float = 500.0, check_mode: bool = False,
        searcher: Any = None, concurrency: int = 2, clock: Any = time.monotonic, diff: bool = False,
        writer: BatchWriter | None = None, sites_file: str | None = None, progress: Any = None) -> dict[str, Any]:
    """Read NetBox, plan, and (unless check_mode) apply as bulk PATCHes of the client's
    batch size, `concurrency` in flight. Returns the module result (no secrets). The sites
    file, when asked, lists every site with how it was placed (written in check mode too)."""
    started = clock()
    progress = progress or NoProgress()
    problems = option_problems(city_radius_km, max_distance_km, concurrency)
    if problems:
        raise SitesError("; ".join(problems))
    # managed_tag None (ownership source_id): every region with a geo_source_id is managed
    regions = ManagedRegions(nb.iter_objects("dcim/regions", params={"tag": managed_tag} if managed_tag else {},
                                             fields=REGION_FIELDS))
    if assign_region and not regions.by_id:
        raise SitesError("NetBox shows no region %swith a %s: run netbox_geo_sync first (or grant the token view on "
                         "dcim.region)" % ("tagged %r " % managed_tag if managed_tag else "", SOURCE_FIELD))
    progress.phase("read sites", unit="")
    sites = list(nb.iter_objects(SITES, params=filter_params(site_filter), fields=SITE_FIELDS))
    timings = {"read": clock() - started}
    warnings: list[str] = []
    geocoded = geocode_sites(sites, searcher, warnings) if searcher is not None else {}
    progress.phase("place", total=len(sites), unit="sites")
    plan = plan_sites(counted(sites, progress, every=100), index, regions, assign_region=assign_region,
                      set_time_zone=set_time_zone,
                      overwrite=overwrite, city_radius_km=city_radius_km, max_distance_km=max_distance_km,
                      geocoded=geocoded)
    plan.counts["geocoded"] = len(geocoded)
    plan.counts["geocode_failed"] = sum(1 for site in sites if needs_geocoding(site)) - len(geocoded)
    timings["plan"] = clock() - started - timings["read"]
    if sites_file:
        write_sites_file(sites_file, plan)
    if plan.updates and not check_mode:
        missing = nb.missing_permissions({"dcim.site": ("change",)})
        if missing:
            raise SitesError("the NetBox token lacks: %s (an administrator must grant it, or the token has write "
                             "disabled); %d sites would change, nothing was written"
                             % (", ".join(missing), len(plan.updates)))
        progress.phase("write", total=len(plan.updates), unit="sites")
        write(writer or BatchWriter(nb, 0), plan.updates, concurrency, progress)
    timings["write"] = clock() - started - timings["read"] - timings["plan"]
    result = {
        "changed": bool(plan.updates),
        "summary": plan.counts,
        "changes": plan.changes,
        "skipped_sites": plan.skipped[:DIFF_CAP],
        "warnings": warnings + plan.warnings,
        "request_ids": list(getattr(nb, "request_ids", []) or [])[-50:],
        "duration": round(clock() - started, 3),
        "timings": {key: round(value, 3) for key, value in timings.items()},
    }
    if diff:
        tracker = DifferenceTracker()
        for name, before, after in describe_changes(plan, regions):
            tracker.add(name, before, after)
        result["diff"] = tracker.diff()
    return result


def write_sites_file(path: str, plan: SitePlan) -> None:
    """Every site and how it was placed (method, region node) or why not (reason), for the map."""
    data = {"kind": SITES_FILE_KIND, "counts": plan.counts, "sites": plan.placements}
    try:
        write_bytes(path, (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
    except OSError as exc:
        raise SitesError("sites_file %s: %s" % (path, exc.strerror or exc)) from None


def write(writer: BatchWriter, updates: Sequence[Mapping[str, Any]], concurrency: int, progress: Any = None) -> None:
    """PATCH the updates, `concurrency` batches in flight; the first failure is raised after
    the batches in flight have finished (a re-run completes what is left)."""
    batches = chunks(updates, writer.nb.batch_size)
    progress = progress or NoProgress()

    def update(batch: list[Mapping[str, Any]]) -> int:
        done = writer.update(SITES, batch)
        progress.advance(len(batch))
        return done

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(batches)))) as pool:
        futures = [pool.submit(update, batch) for batch in batches]
        errors = [error for error in (future.exception() for future in futures) if error is not None]
    if errors:
        raise SitesError("%d of %d batches of site updates failed (the others were written; a re-run "
                         "completes the rest): %s" % (len(errors), len(batches), errors[0])) from None


def filter_params(site_filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """A NetBox filter dict as query parameters: None -> 'null', bools lower case, lists kept (repeated)."""
    def text(item: Any) -> str:
        if item is None:
            return "null"
        if isinstance(item, bool):
            return "true" if item else "false"
        return str(item)
    return {str(key): [text(v) for v in value] if isinstance(value, (list, tuple)) else text(value)
            for key, value in (site_filter or {}).items()}


def run_module(params: Mapping[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
    """The module's whole run from its parameters (after the argument spec applied their
    defaults and environment fallbacks): the result, with its "warnings". Raises SitesError
    with a message that never contains the token."""
    token = params.get("netbox_token")
    warnings = [w for w in [plain_http_warning(params.get("netbox_url") or "", "NetBox")] if w]
    try:
        problems = option_problems(params.get("city_radius_km", 30.0), params.get("max_distance_km", 500.0),
                                   params.get("concurrency", 2)) + http_option_problems(params)
        if problems:
            raise SitesError("; ".join(problems))
        progress = progress_to(params.get("progress_file"))
        progress.phase("load the dataset", unit="")
        index = load_index(params["dataset"], params.get("polygons"), params.get("country_polygons"))
        http = http_client_from(params, pool_size=max(10, 2 * params.get("concurrency", 2)))
        nb = NetBoxClient(params.get("netbox_url"), token, http, changelog_message=params.get("changelog_message"),
                          batch_size=params.get("batch_size", 200))
        nb.status()
        searcher = _nominatim_searcher(params) if params.get("geocode") else None
        result = run(nb, index, site_filter=params.get("sites"), managed_tag=managed_tag_of(params),
                     assign_region=params.get("assign_region", True), set_time_zone=params.get("set_time_zone", True),
                     overwrite=params.get("overwrite", False), city_radius_km=params.get("city_radius_km", 30.0),
                     max_distance_km=params.get("max_distance_km", 500.0), check_mode=check_mode, searcher=searcher,
                     concurrency=params.get("concurrency", 2), diff=diff, writer=BatchWriter(nb, http.retries),
                     sites_file=params.get("sites_file"), progress=progress)
    except (GeoFossError, GeoIndexError, NominatimError, ValueError) as exc:
        raise SitesError(redact(getattr(exc, "message", None) or str(exc), [token or ""])) from None
    progress.finish()
    result["http"] = http.counters
    result["warnings"] = warnings + result["warnings"]
    result["sites_file"] = params.get("sites_file")
    return result


def _nominatim_searcher(params: Mapping[str, Any]) -> NominatimSearch:
    """The geocoder; NominatimSearch spaces its own requests (1/s on the public server) and caches."""
    http = http_client_from({"retries": params.get("retries"), "user_agent": params.get("nominatim_user_agent")})
    return NominatimSearch(http, params["nominatim_url"], user_agent=params.get("nominatim_user_agent"),
                           email=params.get("nominatim_email"), cache_dir=params.get("nominatim_cache_dir"),
                           cache_ttl=params.get("nominatim_cache_ttl"), rate_limit=NOMINATIM_RATE)
