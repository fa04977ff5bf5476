# -*- coding: utf-8 -*-
# Copyright: geofoss.netbox contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_geo_sites' engine: put NetBox sites in the deepest managed region that
contains them and set their time zone, from their coordinates (geocoding the
physical address through Nominatim when asked).

`plan_sites` is a pure function of (sites, dataset index, managed regions,
options); `run` reads NetBox, plans, and applies the plan as bulk PATCHes.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.geofoss.netbox.plugins.module_utils._common import env_fallback, plain_http_warning, redact
from ansible_collections.geofoss.netbox.plugins.module_utils._geo.index import GeoIndexError, load_index
from ansible_collections.geofoss.netbox.plugins.module_utils._http import HttpClient, HttpError
from ansible_collections.geofoss.netbox.plugins.module_utils._netbox.client import NetBoxClient, NetBoxError, chunks
from ansible_collections.geofoss.netbox.plugins.module_utils._sources.nominatim import NominatimError, NominatimSearch

# The site fields read from NetBox, and the ones this engine may write.
SITE_FIELDS = ("id", "name", "slug", "region", "time_zone", "latitude", "longitude", "physical_address")
REGION_FIELDS = ("id", "name", "slug", "custom_fields")
SOURCE_ID_FIELD = "geo_source_id"
# A point farther than this from its country's places, whose swapped twin lies
# within a fifth of that distance, is taken for lat/lon given the wrong way round.
SWAP_MIN_KM = 300.0
SWAP_RATIO = 5.0
DIFF_CAP = 200  # sites shown in --diff and in `changes`
WARNING_CAP = 100  # one warning per skipped site up to this many, then a summary
COORDINATE_DECIMALS = 6  # NetBox stores site coordinates with 6 decimals
NOMINATIM_RATE = 1.0  # requests per second: Nominatim's usage policy, kept for self-hosted servers too

COUNT_KEYS = ("sites", "updated", "unchanged", "no_coordinates", "bad_coordinates", "outside_dataset",
              "unmanaged_region", "geocoded", "geocode_failed")


class SitesError(Exception):
    """A failure of the whole run (bad options, unreadable dataset, NetBox errors)."""


def _number(value):
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def coordinate_problem(lat, lon, index=None, country_code=None):
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


def _looks_swapped(lat, lon, index, country_code):
    if country_code:
        here = index.nearest_in_country(lat, lon, country_code)
        if here is None or here < SWAP_MIN_KM:
            return False
        there = index.nearest_in_country(lon, lat, country_code, max_km=here / SWAP_RATIO)
        return there is not None
    if index.places.any_within(lat, lon, SWAP_MIN_KM):
        return False
    return index.places.any_within(lon, lat, SWAP_MIN_KM / SWAP_RATIO)


def _related_id(value):
    """The id of a NetBox relation as read (nested object, id, or None)."""
    if isinstance(value, dict):
        return value.get("id")
    return value


class ManagedRegions:
    """NetBox regions the sync manages, matched to dataset nodes by geo_source_id."""

    def __init__(self, regions):
        self.by_source_id = {}
        self.by_id = {}
        for region in regions:
            source_id = (region.get("custom_fields") or {}).get(SOURCE_ID_FIELD)
            if source_id:
                self.by_source_id[source_id] = region
                self.by_id[region["id"]] = region

    def region_for(self, index, node):
        """The managed region of `node`, or of its nearest managed ancestor; None if none."""
        for candidate in index.ancestors(node):
            region = self.by_source_id.get(candidate["geo_source_id"])
            if region is not None:
                return region
        return None

    def country_code(self, index, region_id):
        """The country code of a managed region (from its dataset node), or None."""
        region = self.by_id.get(region_id)
        node = index.nodes.get((region.get("custom_fields") or {}).get(SOURCE_ID_FIELD)) if region else None
        return index.country_code(node) if node else None


def site_country_hint(site, index, regions, geocoded=None):
    """The site's country as far as NetBox or the geocoder tells, for the swap check."""
    if geocoded and geocoded.get("country_code"):
        return geocoded["country_code"].upper()
    code = regions.country_code(index, _related_id(site.get("region")))
    if code:
        return code
    countries = index.countries_of_time_zone(site.get("time_zone")) if site.get("time_zone") else set()
    return next(iter(countries)) if len(countries) == 1 else None


class SitePlan:
    """The PATCHes to send, the before/after of each changed site, counts and warnings."""

    def __init__(self):
        self.updates = []
        self.changes = []
        self.skipped = []
        self.warnings = []
        self.counts = dict.fromkeys(COUNT_KEYS, 0)

    def skip(self, site, reason, text, count_key):
        self.counts[count_key] += 1
        self.skipped.append({"id": site["id"], "name": site.get("name"), "reason": reason, "message": text})
        if len(self.skipped) <= WARNING_CAP:
            self.warnings.append("site %s (id %s): %s; skipped" % (site.get("name"), site["id"], text))

    def finish(self):
        extra = len(self.skipped) - WARNING_CAP
        if extra > 0:
            self.warnings.append("%d more sites skipped (see `skipped_sites` in the result)" % extra)
        return self


def plan_sites(sites, index, regions, assign_region=True, set_time_zone=True, overwrite=False,
               city_radius_km=30.0, max_distance_km=500.0, geocoded=None):
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
            continue
        problem = coordinate_problem(lat, lon, index, site_country_hint(site, index, regions, found))
        if problem:
            plan.skip(site, problem[0], problem[1], "bad_coordinates")
            continue
        placement = index.locate(lat, lon, city_radius_km=city_radius_km, max_distance_km=max_distance_km)
        if placement is None:
            plan.skip(site, "outside_dataset", "no place of the dataset within %g km of %s,%s"
                      % (max_distance_km, lat, lon), "outside_dataset")
            continue
        before, after = {}, {}
        if assign_region:
            region = regions.region_for(index, placement.node)
            current = _related_id(site.get("region"))
            if region is None:
                plan.skip(site, "unmanaged_region", "%s (%s) and its parents have no managed region in NetBox"
                          % (placement.node["name"], placement.node["geo_source_id"]), "unmanaged_region")
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
            after.update(latitude=round(lat, COORDINATE_DECIMALS), longitude=round(lon, COORDINATE_DECIMALS))
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


def describe_changes(plan, regions):
    """The plan's changes with region ids shown as slugs too (for --diff)."""
    def slug(region_id):
        region = regions.by_id.get(region_id)
        return region.get("slug") if region else region_id
    shown = []
    for change in plan.changes:
        before, after = dict(change["before"]), dict(change["after"])
        if "region" in after:
            before["region"], after["region"] = slug(before["region"]), slug(after["region"])
        shown.append((change["name"], before, after))
    return shown


def needs_geocoding(site):
    return (_number(site.get("latitude")) is None and _number(site.get("longitude")) is None
            and bool((site.get("physical_address") or "").strip()))


def geocode_sites(sites, searcher, warnings):
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
            if getattr(exc, "status", None) in (403, 429):
                warnings.append("geocoding stopped: the server refuses more requests (HTTP %s)" % exc.status)
                break
            continue
        best = _best_answer(answers)
        if best is None:
            warnings.append("site %s (id %s): Nominatim found nothing for %r" % (site.get("name"), site["id"], address))
            continue
        found[site["id"]] = best
    return found


def _best_answer(answers):
    for answer in answers or ():
        lat, lon = _number(answer.get("lat")), _number(answer.get("lon"))
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        address = answer.get("address") or {}
        return {"latitude": lat, "longitude": lon, "country_code": (address.get("country_code") or "").upper() or None,
                "display_name": answer.get("display_name")}
    return None


def run(nb, index, site_filter=None, managed_tag="geo-managed", assign_region=True, set_time_zone=True,
        overwrite=False, city_radius_km=30.0, max_distance_km=500.0, check_mode=False,
        searcher=None, concurrency=2, clock=time.monotonic):
    """Read NetBox, plan, and (unless check_mode) apply as bulk PATCHes of the client's
    batch size, `concurrency` in flight. Returns the module result (no secrets)."""
    started = clock()
    if city_radius_km < 0 or max_distance_km <= 0:
        raise SitesError("city_radius_km must be >= 0 and max_distance_km > 0")
    if concurrency < 1:
        raise SitesError("concurrency must be at least 1, got %d" % concurrency)
    regions = ManagedRegions(nb.iter_objects("dcim/regions", params={"tag": managed_tag}, fields=REGION_FIELDS))
    if assign_region and not regions.by_id:
        raise SitesError("NetBox shows no region tagged %r with a %s: run netbox_geo_sync first (or grant the "
                         "token view on dcim.region)" % (managed_tag, SOURCE_ID_FIELD))
    sites = list(nb.iter_objects("dcim/sites", params=filter_params(site_filter), fields=SITE_FIELDS))
    timings = {"read": clock() - started}
    warnings = []
    geocoded = geocode_sites(sites, searcher, warnings) if searcher is not None else {}
    plan = plan_sites(sites, index, regions, assign_region=assign_region, set_time_zone=set_time_zone,
                      overwrite=overwrite, city_radius_km=city_radius_km, max_distance_km=max_distance_km,
                      geocoded=geocoded)
    plan.counts["geocoded"] = len(geocoded)
    plan.counts["geocode_failed"] = sum(1 for site in sites if needs_geocoding(site)) - len(geocoded)
    timings["plan"] = clock() - started - timings["read"]
    if plan.updates and not check_mode:
        missing = nb.missing_permissions({"dcim.site": ("change",)})
        if missing:
            raise SitesError("the NetBox token lacks: %s (an administrator must grant it, or the token has write "
                             "disabled); %d sites would change, nothing was written"
                             % (", ".join(missing), len(plan.updates)))
        write(nb, plan.updates, getattr(nb, "batch_size", 200), concurrency)
    timings["write"] = clock() - started - timings["read"] - timings["plan"]
    return {
        "changed": bool(plan.updates),
        "summary": plan.counts,
        "changes": plan.changes,
        "skipped_sites": plan.skipped[:DIFF_CAP],
        "warnings": warnings + plan.warnings,
        "diff_items": describe_changes(plan, regions),
        "request_ids": list(getattr(nb, "request_ids", []) or [])[-50:],
        "duration": round(clock() - started, 3),
        "timings": {key: round(value, 3) for key, value in timings.items()},
    }


def write(nb, updates, batch_size, concurrency):
    """PATCH the updates, `concurrency` batches in flight; the first failure is raised after
    the batches in flight have finished (a re-run completes what is left)."""
    batches = chunks(updates, batch_size)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(batches)))) as pool:
        futures = [pool.submit(nb.bulk_update, "dcim/sites", batch) for batch in batches]
        errors = [future.exception() for future in futures if future.exception() is not None]
    if errors:
        raise SitesError("%d of %d batches of site updates failed (the others were written; a re-run "
                         "completes the rest): %s" % (len(errors), len(batches), errors[0])) from None


def filter_params(site_filter):
    """A NetBox filter dict as query parameters: None -> 'null', bools lower case, lists kept (repeated)."""
    def text(item):
        if item is None:
            return "null"
        if isinstance(item, bool):
            return "true" if item else "false"
        return str(item)
    return {str(key): [text(v) for v in value] if isinstance(value, (list, tuple)) else text(value)
            for key, value in (site_filter or {}).items()}


def run_module(params, check_mode=False):
    """The module's whole run from its parameters: (result, warnings). Raises SitesError
    with a message that never contains the token."""
    url = params.get("netbox_url") or env_fallback("NETBOX_URL", "NETBOX_API")
    token = params.get("netbox_token") or env_fallback("NETBOX_TOKEN", "NETBOX_API_TOKEN")
    warnings = [w for w in [plain_http_warning(url, "NetBox")] if w]
    try:
        index = load_index(params["dataset"], params.get("polygons"), params.get("country_polygons"))
        http = HttpClient(rate=params.get("rate_limit") or 0.0, retries=params.get("retries", 5),
                          connect_timeout=params.get("connect_timeout", 10.0), read_timeout=params.get("timeout", 60.0),
                          validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
                          pool_size=max(10, 2 * params.get("concurrency", 2)))
        nb = NetBoxClient(url, token, http, changelog_message=params.get("changelog_message"),
                          batch_size=params.get("batch_size", 200))
        nb.status()
        searcher = _nominatim_searcher(params) if params.get("geocode") else None
        result = run(nb, index, site_filter=params.get("sites"), managed_tag=params.get("managed_tag", "geo-managed"),
                     assign_region=params.get("assign_region", True), set_time_zone=params.get("set_time_zone", True),
                     overwrite=params.get("overwrite", False), city_radius_km=params.get("city_radius_km", 30.0),
                     max_distance_km=params.get("max_distance_km", 500.0), check_mode=check_mode, searcher=searcher,
                     concurrency=params.get("concurrency", 2))
    except (SitesError, GeoIndexError, NetBoxError, NominatimError, HttpError, ValueError) as exc:
        raise SitesError(redact(str(exc), [token])) from None
    result["http"] = http.counters
    warnings.extend(result.pop("warnings"))
    return result, warnings


def _nominatim_searcher(params):
    """The geocoder; NominatimSearch spaces its own requests (1/s on the public server) and caches."""
    http = HttpClient(retries=params.get("retries", 5), user_agent=params.get("nominatim_user_agent") or None)
    return NominatimSearch(http, params.get("nominatim_url"), user_agent=params.get("nominatim_user_agent"),
                           email=params.get("nominatim_email"), cache_dir=params.get("nominatim_cache_dir"),
                           cache_ttl=params.get("nominatim_cache_ttl"), rate_limit=NOMINATIM_RATE)
