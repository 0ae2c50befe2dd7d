"""Distance: where a search starts from (a US ZIP code or the browser's location) and how far each service is.

ZIP codes come from the offline table of the `zipcodes` package: nothing is fetched while serving. The
starting point lives for one request: it is never stored or logged, and a browser's coordinates are
rounded to 2 decimals (about 1 km) before they are used.

Confidential places (shelters) must not be found by measuring: their distance is taken from their
coordinates snapped to a 0.1° grid (about 11 km by 9 km in the US), so neither the order of the results,
the radius nor the text can place them more precisely than their city, which the public sees anyway; the
text gives that distance only to the nearest 5 miles. Their coordinates never leave the database.
"""

import json
import math
import re
import threading
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pycountry
import zipcodes
from django.db.models import Case, Exists, F, FloatField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import ACos, Cast, Cos, Greatest, Least, Radians, Round, Sin
from django.utils.translation import gettext

from . import regions

EARTH_RADIUS_MILES = 3958.8
RADIUS_CHOICES = (10, 25, 50, 100)
DEFAULT_RADIUS = 50
# Browser coordinates are rounded to this many decimals (0.01° is about 1 km).
POINT_DECIMALS = 2
# Confidential places are measured from their coordinates rounded to this many decimals (0.1°).
CONFIDENTIAL_GRID_DECIMALS = 1
CONFIDENTIAL_ROUNDING_MILES = 5
# The map grids of the index's cell keys (migration 0007: kgf and kgc), finest first: (letter, cells per
# degree). A distance search asks for the cells of the finest grid that needs at most MAX_MAP_CELLS of them.
MAP_GRIDS = (("f", 4), ("c", 1))
MAX_MAP_CELLS = 64
# A cell's code is its row times this, plus its column (fewer than 360 * 4 columns).
CELL_CODE = 10_000
# A browser's point takes the state of the nearest ZIP code within this distance (for the services that
# serve that state by phone or online); farther from any ZIP code it is outside the US as far as we know.
STATE_LOOKUP_MILES = 30

_ZIP_CODE = re.compile(r"(\d{5})(?:-?\d{4})?")


class UnknownPlace(ValueError):
    """Raised with a message fit to show a person."""


@dataclass(frozen=True)
class Origin:
    """Where distances are measured from, for one request."""

    latitude: float
    longitude: float
    # The state or country the point is in, when we know it: services serving it by phone or online.
    region: regions.Region | None
    zip_code: str = ""
    place_name: str = ""

    @property
    def from_browser(self):
        return not self.zip_code

    @property
    def label(self):
        if self.from_browser:
            return gettext("your location")
        return f"{self.zip_code} ({self.place_name})" if self.place_name else self.zip_code


def _state_region(state):
    try:
        code = regions.normalise_subdivision(f"US-{state}")
    except regions.UnknownRegion:
        return None  # military post offices (AA, AE, AP) are in no state
    return regions.Region(code=code, name=regions.region_name(code))


def zip_code_origin(text):
    """The Origin of a US ZIP code ("77002" or ZIP+4 "77002-1234"), or UnknownPlace."""
    compact = "".join((text or "").split())
    match = _ZIP_CODE.fullmatch(compact)
    if not match:
        raise UnknownPlace(
            gettext("“%(value)s” is not a US ZIP code: give its 5 digits, such as 77002.") % {"value": compact[:20]}
        )
    found = zipcodes.matching(match.group(1))
    if not found or not found[0].get("lat"):
        raise UnknownPlace(gettext("We do not know the US ZIP code %(value)s.") % {"value": match.group(1)})
    place = found[0]
    return Origin(
        latitude=float(place["lat"]),
        longitude=float(place["long"]),
        region=_state_region(place["state"]),
        zip_code=match.group(1),
        place_name=", ".join(part for part in (place["city"].title(), place["state"]) if part),
    )


def browser_origin(latitude, longitude):
    """The Origin of a point from the browser, rounded; its state when it is in the US."""
    latitude, longitude = round(latitude, POINT_DECIMALS), round(longitude, POINT_DECIMALS)
    state = _nearest_state(latitude, longitude)
    return Origin(latitude=latitude, longitude=longitude, region=_state_region(state) if state else None)


def _nearest_state(latitude, longitude):
    """The state (or district or territory) of the nearest ZIP code within STATE_LOOKUP_MILES, or None. Only
    the ZIP codes in the squares of a degree around the point are measured (_zip_squares): the package's own
    filter_by_coordinates measures all 42,000 of them, 10 ms a search."""
    band = math.degrees(STATE_LOOKUP_MILES / EARTH_RADIUS_MILES)
    # East-west, a degree is shortest on the band's edge nearest a pole.
    reach = band / max(0.01, math.cos(math.radians(min(90.0, abs(latitude) + band))))
    squares = _zip_squares()
    nearest, state = STATE_LOOKUP_MILES, None
    for row in range(math.floor(latitude - band), math.floor(latitude + band) + 1):
        for column in range(math.floor(longitude - reach), math.floor(longitude + reach) + 1):
            for lat, lon, where in squares.get((row, (column + 180) % 360 - 180), ()):
                miles = zipcodes.haversine(longitude, latitude, lon, lat)
                if miles <= nearest:
                    nearest, state = miles, where
    return state


def _zip_squares():
    """{(degree of latitude, degree of longitude): [(latitude, longitude, state)]} of the ZIP codes of the US
    states, district and territories, read once per process (under a lock: two first near-me searches at once
    would each take the 0.8 s), a state at a time: the whole table at once would hold 145 MB of dicts, where
    this adds 17. Left out: military post offices (AA, AE, AP), which are in no state; the freely associated
    states, which are not part of the US; and the ZIP codes the table puts at 0, 0 for want of a place (45 of
    them, in DC, New Jersey, California...), which would give a browser's failed "0, 0" a state."""
    with _ZIP_SQUARES_LOCK:
        if not _ZIP_SQUARES:
            squares = {}
            for subdivision in pycountry.subdivisions.get(country_code="US"):
                state = subdivision.code.split("-", 1)[1]
                for place in zipcodes.filter_by(state=state):
                    lat, lon = float(place.get("lat") or 0), float(place.get("long") or 0)
                    if lat or lon:
                        squares.setdefault((math.floor(lat), math.floor(lon)), []).append((lat, lon, state))
            _ZIP_SQUARES.update(squares)
    return _ZIP_SQUARES


_ZIP_SQUARES, _ZIP_SQUARES_LOCK = {}, threading.Lock()


def great_circle(latitude, longitude, to_latitude, to_longitude, radius):
    """SQL for the great-circle distance from a point (floats, degrees) to two float expressions (degrees), in
    the unit of `radius`: the spherical law of cosines, with maths functions SQLite and PostgreSQL share."""
    lat, lng = Radians(to_latitude), Radians(to_longitude)
    here_lat, here_lng = math.radians(latitude), math.radians(longitude)
    cosine = Value(math.sin(here_lat)) * Sin(lat) + Value(math.cos(here_lat)) * Cos(lat) * Cos(lng - Value(here_lng))
    # Rounding can push the cosine just past ±1, where acos is undefined.
    return Value(float(radius)) * ACos(Least(Greatest(cosine, Value(-1.0)), Value(1.0)))


def bounding_box(latitude, longitude, miles, margin=0.0):
    """{lookup: bound} on latitude and longitude that holds every point within `miles` (plus `margin` degrees),
    for an index range scan before any trigonometry. Near a pole or across the 180° meridian only the
    latitude band is used."""
    angle = miles / EARTH_RADIUS_MILES
    band = math.degrees(angle)
    box = {"latitude__gte": _lower(latitude - band - margin), "latitude__lte": _upper(latitude + band + margin)}
    if abs(latitude) + band + margin >= 90:
        return box
    # The widest east-west reach of a circle on the sphere (at its tangent meridians), not band / cos(lat).
    reach = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(latitude))))) + margin
    if longitude - reach < -180 or longitude + reach > 180:
        return box
    return box | {"longitude__gte": _lower(longitude - reach), "longitude__lte": _upper(longitude + reach)}


# Bounds on the columns' 6 decimals, rounded outwards (and a little more, for the float arithmetic).
def _lower(value):
    return math.floor(value * 1e6) / 1e6 - 1e-6


def _upper(value):
    return math.ceil(value * 1e6) / 1e6 + 1e-6


def _coordinate(field):
    """A place's coordinate as the distance sees it: snapped to the grid when the place is confidential."""
    return Case(
        When(location__is_confidential=True, then=Cast(Round(field, CONFIDENTIAL_GRID_DECIMALS), FloatField())),
        default=Cast(field, FloatField()),
        output_field=FloatField(),
    )


def nearest_first(queryset, origin, miles):
    """Services within `miles` of `origin`, nearest first, then those that serve it by phone or online.

    Each service gets `distance` (miles to its nearest place people can visit, None when none is within
    reach) and `nearest_place` (that place's id). The rest of the list keeps the queryset's own order, and
    so does each tie. Services with no place within reach stay when one of their areas covers the origin's
    state or country, or when they have no place on the map at all and serve the origin's region (or say
    nothing about where they serve): hotlines and online services are never dropped.
    """
    from .models import Location, Service, ServiceArea, ServiceAtLocation

    margin = 0.5 * 10**-CONFIDENTIAL_GRID_DECIMALS  # snapping moves a confidential place this far at most
    box = {
        f"location__{key}": value
        for key, value in bounding_box(origin.latitude, origin.longitude, miles, margin).items()
    }
    visitable = ServiceAtLocation.objects.filter(location__location_type=Location.Type.PHYSICAL)
    in_box = visitable.filter(**box)
    measured = (
        in_box.filter(service=OuterRef("pk"))
        .annotate(
            miles=great_circle(
                origin.latitude,
                origin.longitude,
                _coordinate("location__latitude"),
                _coordinate("location__longitude"),
                EARTH_RADIUS_MILES,
            )
        )
        .filter(miles__lte=miles)
        .order_by("miles", "location_id")
    )
    # The uncorrelated box (an index range scan) decides which services are measured at all.
    boxed = Q(pk__in=in_box.values("service_id"))
    queryset = queryset.annotate(
        distance=Case(When(boxed, then=Subquery(measured.values("miles")[:1])), output_field=FloatField()),
        nearest_place=Case(When(boxed, then=Subquery(measured.values("location_id")[:1]))),
    )

    on_map = Exists(visitable.filter(service=OuterRef("pk"), location__latitude__isnull=False))
    if origin.region is None:
        elsewhere = ~on_map
    else:
        region = origin.region
        areas = ServiceArea.objects.filter(service=OuterRef("pk"))
        covering = areas.filter(
            Q(kind=ServiceArea.Kind.WORLDWIDE)
            | Q(kind=ServiceArea.Kind.COUNTRY, country=region.country)
            | Q(kind=ServiceArea.Kind.SUBDIVISION, subdivision__in=region.ancestors())
        )
        elsewhere = Exists(covering) | (~on_map & (Service.objects.region_condition(region) | ~Exists(areas)))
    order = queryset.query.order_by or Service._meta.ordering
    return queryset.filter(Q(distance__isnull=False) | elsewhere).order_by(F("distance").asc(nulls_last=True), *order)


def _reach_box(origin, miles):
    """The bounding box within_reach() reads: wider by half the confidential grid, where a confidential place
    may lie from the grid point it is measured from."""
    return bounding_box(origin.latitude, origin.longitude, miles, 0.5 * 10**-CONFIDENTIAL_GRID_DECIMALS)


def _places_within_box(origin, miles, vendor, skip=None):
    """The WHERE clause and parameters of the places people can visit in within_reach()'s bounding box, but
    those in the map cells of `skip` (within_reach's)."""
    from .models import Location

    bounds = {"latitude__gte": ">=", "latitude__lte": "<=", "longitude__gte": ">=", "longitude__lte": "<="}

    def inside(box):
        return [f"loc.{key.split('__')[0]} {bounds[key]} %s" for key in box], list(box.values())

    conditions, params = inside(_reach_box(origin, miles))
    conditions, params = ["loc.location_type = %s", *conditions], [Location.Type.PHYSICAL, *params]
    # Only a confidential place is measured from elsewhere than where it is: the others must be in the box
    # of the circle itself, without the margin (at 0.78 miles around 10001 at 1,000,000 services, the margin
    # held 7 places in 8).
    tight, tight_params = inside(bounding_box(origin.latitude, origin.longitude, miles))
    conditions.append(f"(loc.is_confidential OR ({' AND '.join(tight)}))")
    params += tight_params
    if skip:
        # A place's cell as the index's triggers work it out (migration 0007).
        per_degree, codes = skip
        if vendor == "postgresql":
            cell = "floor((loc.{} + {}) * %s)::bigint"
            conditions.append(f"NOT ({cell.format('latitude', 90)} * %s + {cell.format('longitude', 180)} = ANY(%s))")
            params += [per_degree, CELL_CODE, per_degree, sorted(codes)]
        else:
            cell = "CAST((loc.{} + {}) * %s AS INTEGER)"
            conditions.append(
                f"{cell.format('latitude', 90)} * %s + {cell.format('longitude', 180)} "
                "NOT IN (SELECT value FROM json_each(%s))"
            )
            params += [per_degree, CELL_CODE, per_degree, json.dumps(sorted(codes))]
    return " AND ".join(conditions), params


def any_place_within_box(origin, miles, using="default", skip=None):
    """Whether within_reach() has any place to read (with the same `skip`): one look at the coordinates' index."""
    from django.db import connections

    where, params = _places_within_box(origin, miles, connections[using].vendor, skip)
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM resources_location loc WHERE {where} LIMIT 1", params)
        return cursor.fetchone() is not None


def within_reach(origin, miles, using="default", skip=None):
    """{service id: (miles, place id)}: every service with a place people can visit within
    `miles` of `origin`, measured to its nearest such place (ties: the lower place id), as nearest_first()
    measures. Read by an index range scan of the bounding box; the distances are worked out here, from the
    same coordinates (a confidential place's snapped to the grid) and the same formula as in SQL.

    `skip`: (cells per degree, codes), map cells (cell_code()) whose places are left unread, and so their
    services, unless they have a place within reach elsewhere (then measured to the nearest of those). A
    place's cell is worked out before its services are looked up: that lookup is most of the statement."""
    from django.db import connections

    vendor = connections[using].vendor
    where, params = _places_within_box(origin, miles, vendor, skip)
    # Each place once, with the ids of its services in one value (an array on PostgreSQL, a comma-separated
    # list on SQLite): a row per link made 3-4 times as many rows, whose tuples took longer to make than
    # the statement took to run (14 ms instead of 11 for the 14,205 links of 3,919 places around 77002).
    linked = "SELECT {} FROM resources_serviceatlocation sal WHERE sal.location_id = loc.id"
    if vendor == "postgresql":
        services = f"ARRAY({linked.format('sal.service_id')})"
    else:
        services = f"({linked.format('group_concat(sal.service_id)')})"
    # A raw statement: plain floats, not Django's Decimal conversion of every coordinate (most of the time).
    sql = (
        "SELECT loc.id, CAST(loc.latitude AS DOUBLE PRECISION), CAST(loc.longitude AS DOUBLE PRECISION), "
        f"loc.is_confidential, {services} FROM resources_location loc WHERE {where}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    here_lat, here_lng = math.radians(origin.latitude), math.radians(origin.longitude)
    sin_here, cos_here = math.sin(here_lat), math.cos(here_lat)
    # A place farther than `miles` has a cosine below this one (a little margin for rounding): no arc cosine
    # is worked out for it.
    least_cosine = math.cos(min(math.pi, miles / EARTH_RADIUS_MILES)) - 1e-9
    found = {}
    for location_id, latitude, longitude, confidential, services in rows:
        if not services:
            continue
        if confidential:
            latitude, longitude = (_snapped(value) for value in (latitude, longitude))
        lat, lng = math.radians(latitude), math.radians(longitude)
        cosine = sin_here * math.sin(lat) + cos_here * math.cos(lat) * math.cos(lng - here_lng)
        if cosine < least_cosine:
            continue
        distance = EARTH_RADIUS_MILES * math.acos(min(1.0, max(-1.0, cosine)))
        if distance > miles:
            continue
        for service_id in services.split(",") if isinstance(services, str) else services:
            service_id = int(service_id)
            if service_id not in found or (distance, location_id) < found[service_id]:
                found[service_id] = (distance, location_id)
    return found


def _cell(degrees, offset, per_degree):
    return math.floor((degrees + offset) * per_degree)


def _cell_key(grid, row, column):
    return f"kg{grid}{row}x{column}0"


def cell_key(grid, per_degree, latitude, longitude):
    """The index key of the map cell of a point on one of MAP_GRIDS, as migration 0007 writes it."""
    return _cell_key(grid, _cell(latitude, 90, per_degree), _cell(longitude, 180, per_degree))


def _rows_and_columns(box, per_degree):
    """The rows and columns of the cells of one grid that cover a bounding box."""
    # The box's bounds are rounded outwards, a little past -90 or -180 at the edge of the map, where no place
    # can be (and a key with a minus sign would not be a key).
    rows = range(max(0, _cell(box["latitude__gte"], 90, per_degree)), _cell(box["latitude__lte"], 90, per_degree) + 1)
    columns = range(
        max(0, _cell(box["longitude__gte"], 180, per_degree)), _cell(box["longitude__lte"], 180, per_degree) + 1
    )
    return rows, columns


def _grid(origin, miles):
    """(grid letter, cells per degree, rows, columns) of the cells map_cells() gives, or None."""
    box = _reach_box(origin, miles)
    if "longitude__gte" not in box:
        return None
    for grid, per_degree in MAP_GRIDS:
        rows, columns = _rows_and_columns(box, per_degree)
        if len(rows) * len(columns) <= MAX_MAP_CELLS or (grid, per_degree) == MAP_GRIDS[-1]:
            return grid, per_degree, rows, columns


def map_cells(origin, miles):
    """The keys of the map cells that hold every place within_reach() can find (the bounding box it reads), on
    the finest grid that needs at most MAX_MAP_CELLS of them (else the coarsest); None where that box has no
    bounds east and west (near a pole or across the 180° meridian)."""
    grid = _grid(origin, miles)
    if grid is None:
        return None
    letter, _per_degree, rows, columns = grid
    return [_cell_key(letter, row, column) for row in rows for column in columns]


def interior_cells(origin, miles):
    """The map cells wholly within reach: every place in one of them is within `miles` of `origin` as
    within_reach() measures it, a confidential one from its grid point (half a grid step away at most, so
    each cell is taken that much wider). On the finest grid that has at most MAX_MAP_CELLS of them (whichever
    grid map_cells() uses: a cell of a degree is rarely wholly within 50 miles). ([keys], cells per degree,
    {cell_code()}); none without map cells.

    A service holding one of their keys is within reach whatever its other places: the index finds and
    counts those, and only the places of the other cells need measuring. The farthest point of a cell is one
    of its corners (east and west of a point, the distance grows with the difference in longitude; along a
    meridian, with the distance from the nearest point of it)."""
    box = _reach_box(origin, miles)
    if "longitude__gte" not in box:
        return [], None, set()
    here_lat, here_lng = math.radians(origin.latitude), math.radians(origin.longitude)
    # A corner is within reach when its cosine is above this one (a little margin for rounding).
    least_cosine = math.cos(min(math.pi, miles / EARTH_RADIUS_MILES)) + 1e-9

    def within(latitude, longitude):
        lat, lng = math.radians(latitude), math.radians(longitude)
        cosine = math.sin(here_lat) * math.sin(lat) + math.cos(here_lat) * math.cos(lat) * math.cos(lng - here_lng)
        return cosine >= least_cosine

    wider = 0.5 * 10**-CONFIDENTIAL_GRID_DECIMALS + 1e-6
    for letter, per_degree in MAP_GRIDS:
        step = 1 / per_degree
        keys, codes = [], set()
        rows, columns = _rows_and_columns(box, per_degree)
        for row in rows:
            south, north = row * step - 90 - wider, (row + 1) * step - 90 + wider
            for column in columns:
                west, east = column * step - 180 - wider, (column + 1) * step - 180 + wider
                if all(within(lat, lng) for lat in (south, north) for lng in (west, east)):
                    keys.append(_cell_key(letter, row, column))
                    codes.add(cell_code(row, column))
        if len(keys) <= MAX_MAP_CELLS:
            return keys, per_degree, codes
    return [], None, set()


def cell_code(row, column):
    """A map cell as one number (within_reach's `skip`)."""
    return row * CELL_CODE + column


def _snapped(value):
    """A coordinate rounded to the confidential grid, half away from zero as SQL's ROUND does."""
    step = Decimal(1).scaleb(-CONFIDENTIAL_GRID_DECIMALS)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


def elsewhere_condition(origin):
    """The index condition (search.any_of, all_of, but_not) of the services nearest_first() keeps with no place
    within reach: an area covering the origin's state or country, or no place on the map and either serving
    its region or saying nothing of where they serve."""
    from . import search
    from .facets import region_keys

    if origin.region is None:
        return "knomap0"
    region = origin.region
    covering = [search.key("ww"), search.key("wc", region.country)]
    covering += [search.key("ws", ancestor) for ancestor in region.ancestors()]
    # knomap0 rather than "every public service but those on the map": the index then reads the few services
    # with no place on the map, not every public one (about 20 ms less at 100,000 services); and rather than
    # "in the region but not on the map", which read every service on the map and every one in the state
    # (the condition alone: 4 ms instead of 1.5 around 10001 at 100,000 services).
    serving = search.all_of("knomap0", search.any_of(*region_keys(region)))
    return search.any_of(*covering, serving, search.but_not("knomap0", "karea0"))


def describe_distance(miles, confidential):
    """How far, in words: to a tenth of a mile nearby, whole miles farther, the nearest 5 when confidential."""
    if confidential:
        step = CONFIDENTIAL_ROUNDING_MILES
        rounded = step * round(miles / step)
        if not rounded:
            return gettext("Within about %(miles)s miles (the exact place is kept private)") % {"miles": step}
        return gettext("About %(miles)s miles away (the exact place is kept private)") % {"miles": rounded}
    if miles < 0.1:
        return gettext("Less than 0.1 miles away")
    shown = f"{miles:.1f}" if miles < 10 else f"{round(miles)}"
    return gettext("%(miles)s miles away") % {"miles": shown}


def place_the_results(services):
    """Give each service of a page (annotated by nearest_first) `distance_text` and `nearest_city`, from
    what for_listing() prefetched."""
    for service in services:
        service.distance_text = service.nearest_city = ""
        if service.distance is None:
            continue
        place = next(
            (sal.location for sal in service.service_at_locations.all() if sal.location_id == service.nearest_place),
            None,
        )
        confidential = place is None or place.is_confidential
        service.distance_text = describe_distance(service.distance, confidential)
        if place is not None:
            service.nearest_city = next((a.city for a in place.addresses.all() if a.city), "")
