"""Distance on the index (search.NearQuery, geo.within_reach, geo.elsewhere_condition): the same services, in
the same order and at the same distances, as the queryset path (geo.nearest_first), whatever a service's
places and areas; the index's keys follow places as they gain or lose coordinates."""

import datetime
import math
import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from resources import geo, search
from resources.filters import ServiceFilter
from resources.models import Location, Service, ServiceArea

from .conftest import make_area, make_location, make_schedule, make_service, make_service_at_location
from .test_distance import located, point_at, zip_point

pytestmark = pytest.mark.django_db

DOWNTOWN = zip_point("77002")


def filterset(data):
    return ServiceFilter(QueryDict(urlencode(data, doseq=True)), queryset=Service.objects.published())


@pytest.fixture
def around(needs):
    """Services around downtown Houston, each a case of nearest_first()'s rules."""
    made = {
        "near": located("Near Clinic", point_at(DOWNTOWN, 3, 40), terms=[needs["legal-aid"]]),
        "nearer": located("Nearer Clinic", point_at(DOWNTOWN, 1, 200)),
        "twin": located("Twin Clinic", point_at(DOWNTOWN, 3, 40)),  # the same distance as "near": by name
        "edge": located("Edge Clinic", point_at(DOWNTOWN, 24, 90)),
        "far": located("Far Clinic", point_at(DOWNTOWN, 80, 300)),
        "shelter": located("Quiet Shelter", point_at(DOWNTOWN, 6, 10), confidential=True),
        "austin": located("Austin Centre", zip_point("78701"), city="Austin"),
    }
    # Far away but serving Texas by phone: listed after those within reach.
    made["statewide"] = make_service(name="Texas Phone Line", description="A line for all of Texas.")
    make_area(made["statewide"], ServiceArea.Kind.SUBDIVISION, subdivision="US-TX", country="US")
    made["far_statewide"] = located("El Paso Office", zip_point("79901"), city="El Paso")
    make_area(made["far_statewide"], ServiceArea.Kind.SUBDIVISION, subdivision="US-TX", country="US")
    # Within reach and serving Texas: once, among those within reach.
    make_area(made["near"], ServiceArea.Kind.SUBDIVISION, subdivision="US-TX", country="US")
    made["national"] = make_service(name="National Line")
    make_area(made["national"], ServiceArea.Kind.COUNTRY, country="US")
    made["world"] = make_service(name="World Chat")
    make_area(made["world"], ServiceArea.Kind.WORLDWIDE)
    made["ugandan"] = make_service(name="Kampala Line")
    make_area(made["ugandan"], ServiceArea.Kind.COUNTRY, country="UG")
    made["silent"] = make_service(name="Online Only")  # no place, no area: says nothing of where it serves
    made["elsewhere_area"] = make_service(name="Mekong Outreach")
    make_area(made["elsewhere_area"], ServiceArea.Kind.OTHER, name="The Mekong region")
    # A place in Houston with no coordinates: not on the map, in Texas.
    made["unmapped"] = make_service(name="Unmapped Office")
    make_service_at_location(made["unmapped"], make_location(country="US", state_province="TX", city="Houston"))
    # A place in California with no coordinates, and no area: not on the map, not in Texas.
    made["californian"] = make_service(name="Fresno Office")
    make_service_at_location(made["californian"], make_location(country="US", state_province="CA", city="Fresno"))
    # On the map far away, with a city area in Texas: in the region but on the map, so not kept.
    made["city_area"] = located("Denver Office", (39.74, -104.99), city="Denver", state="CO")
    make_area(made["city_area"], ServiceArea.Kind.CITY, country="US", subdivision="US-TX", city="Houston")
    return made


def by_index(data):
    found = filterset(data)
    assert found.on_index()
    results = found.results()
    return [(service.name, service.distance) for service in results[0 : results.count()]]


def by_queryset(data):
    return [(service.name, service.distance) for service in filterset(data).qs]


def same(indexed, queried):
    assert [name for name, _miles in indexed] == [name for name, _miles in queried]
    for (_name, miles), (_same, expected) in zip(indexed, queried, strict=True):
        assert (miles is None) == (expected is None)
        if miles is not None:
            assert miles == pytest.approx(expected, abs=1e-6)


NEAR_SEARCHES = [
    {"near": "77002"},
    {"near": "77002", "within": "10"},
    {"near": "77002", "within": "100"},
    {"near": "78701", "within": "25"},
    {"near": "77002", "q": "clinic"},
    {"near": "77002", "need": "legal-aid"},
    {"near": "94103"},  # San Francisco: nothing within reach, the Californian unmapped office in its state
    {"lat": "29.76", "lon": "-95.37", "within": "25"},
    {"lat": "10.0", "lon": "-30.0"},  # the middle of the Atlantic: no state, no country
    {"lat": "39.66", "lon": "-179.48", "within": "25"},  # a box rounded just past -180
]


@pytest.mark.parametrize("data", NEAR_SEARCHES, ids=[urlencode(data) for data in NEAR_SEARCHES])
def test_distance_on_the_index_is_the_queryset_s(around, data):
    same(by_index(data), by_queryset(data))


@pytest.mark.parametrize("few", [0, 10_000], ids=["ids-filter-the-matches", "ids-looked-up-one-by-one"])
def test_both_ways_of_reading_a_list_of_ids_give_the_same(around, monkeypatch, few):
    monkeypatch.setattr(search, "FEW_IDS", few)
    for data in NEAR_SEARCHES[:6]:
        same(by_index(data), by_queryset(data))


@pytest.mark.parametrize("data", NEAR_SEARCHES, ids=[urlencode(data) for data in NEAR_SEARCHES])
def test_a_results_page_near_a_point_lists_what_the_queryset_does(around, data):
    """As the search page reads them (SearchResults.count with estimate_before): a set this small is counted, on
    PostgreSQL by reading the ids of each part's matches once (NearQuery.matched_once), which then give the
    page and the sample."""
    results = filterset(data).results(estimate_before=0)
    expected = by_queryset(data)
    assert (results.count(), results.estimated) == (len(expected), False)
    assert isinstance(results.query, search.NearQuery)
    assert all(part.matched for part in results.query._parts()) == (connection.vendor == "postgresql")
    same([(service.name, service.distance) for service in results[0 : len(expected)]], expected)
    rows, scale = results.sample()
    assert scale == 1
    assert len(rows) == len(expected)


def test_without_map_cells_the_ids_within_reach_give_the_same(around, monkeypatch):
    """Near a pole or across the 180° meridian there are no map cells (geo.map_cells): the ids within reach
    then filter the query's matches themselves."""
    monkeypatch.setattr(geo, "map_cells", lambda origin, miles: None)
    for data in NEAR_SEARCHES:
        same(by_index(data), by_queryset(data))


def test_the_matches_within_reach_are_listed_by_map_cell(around):
    cells = geo.map_cells(geo.zip_code_origin("77002"), 25)
    assert cells[0].startswith("kgf")  # 25 miles: quarter degrees
    near = filterset({"near": "77002", "within": "25"}).index_query()
    # The parts of a distance search match the cells' keys (SQLite matches those of a few ids itself: few).
    matched = " ".join(
        f"{part.clauses} {search._render(part.condition, 'fts5') if part.condition else ''}" for part in near._parts()
    )
    assert cells[0] in matched
    with CaptureQueriesContext(connection) as queries:
        by_index({"near": "77002", "within": "25"})
    in_sql = any(cells[0] in query["sql"] or cells[0] in str(query.get("params", "")) for query in queries)
    assert in_sql or all(part.engine.few is not None for part in near._parts() if part.ids is not None)


@pytest.mark.parametrize(("latitude", "longitude", "miles"), [(39.66, -179.48, 25), (-17.79, -178.43, 100)])
def test_the_map_cells_at_the_edge_of_the_map_are_keys(latitude, longitude, miles):
    """Bounds rounded outwards, past -180, must not make a cell with a minus sign (not a key, and a syntax error
    in SQLite's full-text query)."""
    cells = geo.map_cells(geo.Origin(latitude=latitude, longitude=longitude, region=None), miles)
    assert cells
    assert all(re.fullmatch(r"kg[fc]\d+x\d+0", cell) for cell in cells), cells


@pytest.mark.parametrize(
    ("origin", "miles"),
    [
        ((29.76, -95.37), 10),
        ((29.76, -95.37), 50),
        ((29.76, -95.37), 100),
        ((64.84, -147.72), 100),
        ((-33.87, 151.21), 25),
        ((-33.87, 151.21), 60),
        ((0.0, 0.0), 10),
        ((0.0, 0.0), 50),
    ],
)
def test_the_map_cells_around_a_point_hold_every_place_within_reach(db, origin, miles):
    """Places all around the point, from its centre to just past its reach, some confidential (measured from
    their grid point, up to 0.05° away): each one within reach is in a cell of map_cells."""
    services = []
    for step in range(96):
        bearing, distance = step * 3.75, miles * (0.05 + (step % 24) / 20)
        services.append(
            located(f"Place {step}", point_at(origin, distance, bearing), confidential=step % 3 == 0, city="Somewhere")
        )
    point = geo.Origin(latitude=origin[0], longitude=origin[1], region=None)
    reach = geo.within_reach(point, miles)
    cells = set(geo.map_cells(point, miles))
    assert len(cells) <= geo.MAX_MAP_CELLS or next(iter(cells)).startswith("kgc")
    assert len(reach) > 10
    found = {sid for sid, keys in search.keys_of(sorted(reach)) if cells & set(keys)}
    assert found == set(reach)
    # The cells wholly within reach hold only places within reach; with the places of the other cells, every
    # one within reach is found.
    inside, per_degree, codes = geo.interior_cells(point, miles)
    every = search.IndexQuery("default", [], [inside]).ids_of_matches() if inside else []
    assert set(every) <= set(reach)
    rest = geo.within_reach(point, miles, skip=(per_degree, codes) if codes else None)
    assert set(every) | set(rest) == set(reach)
    assert all(rest[sid] == reach[sid] for sid in set(rest) - set(every))
    assert bool(inside) == (miles > 10)  # the test means something: past 10 miles, some cells are inside
    assert not inside or (every and rest)  # and each way finds some


def test_facet_counts_near_a_point_are_those_of_the_queryset_path(around, monkeypatch):
    data = {"near": "77002", "within": "25", "need": "legal-aid"}
    indexed = filterset(data).facets()
    monkeypatch.setattr(ServiceFilter, "on_index", lambda self: False)
    queried = filterset(data).facets()
    assert indexed.keys() == queried.keys()
    for name in indexed:
        assert [(c.value, c.count) for c in indexed[name]] == [(c.value, c.count) for c in queried[name]], name


def test_the_cases_fall_where_the_rules_say(around):
    found = by_index({"near": "77002", "within": "25"})
    assert [name for name, miles in found if miles is not None] == [
        "Nearer Clinic",
        "Near Clinic",  # as near as the Twin Clinic: by name
        "Twin Clinic",
        "Quiet Shelter",
        "Edge Clinic",
    ]
    assert [name for name, miles in found if miles is None] == [
        "El Paso Office",  # far, with a Texas area
        "Fresno Office",  # no place on the map, no area: says nothing of where it serves
        "National Line",
        "Online Only",
        "Texas Phone Line",
        "Unmapped Office",  # no place on the map, a place in Texas
        "World Chat",
    ]
    # Left out: the far clinic, Austin (on the map, no area), the Kampala line, the Mekong outreach (an area
    # that does not cover Texas), the Denver office (on the map; its city area in Texas covers no state).


def test_a_place_that_gains_coordinates_moves_its_service_within_reach(around):
    place = around["unmapped"].service_at_locations.get().location
    place.latitude, place.longitude = (Decimal(f"{value:.6f}") for value in point_at(DOWNTOWN, 2, 0))
    place.save()
    found = dict(by_index({"near": "77002", "within": "25"}))
    assert found["Unmapped Office"] == pytest.approx(2, abs=0.01)
    place.latitude = place.longitude = None
    place.save()
    assert dict(by_index({"near": "77002", "within": "25"}))["Unmapped Office"] is None


def test_a_place_no_longer_visited_leaves_the_map(around):
    place = around["far"].service_at_locations.get().location
    Location.objects.filter(pk=place.pk).update(location_type=Location.Type.POSTAL)
    place.refresh_from_db()
    place.save()
    # No place to visit, no area: says nothing of where it serves, so it is offered by phone or online.
    assert dict(by_index({"near": "77002", "within": "25"}))["Far Clinic"] is None


def test_facet_counts_of_a_distance_search_count_its_results(around):
    found = filterset({"near": "77002", "within": "25"})
    total = found.results().count()
    counts = {choice.value: choice.count for choice in found.facets()["need"]}
    assert counts["legal-aid"] == 1
    assert total == len(by_queryset({"near": "77002", "within": "25"}))


def test_a_distance_page_reads_the_same_number_of_queries_however_many_are_near(around, client):
    def queries(data):
        cache.clear()  # the regions in use are cached for a while
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/search/?" + urlencode(data)).status_code == 200
        return len(captured)

    few = queries({"near": "77002", "within": "10"})
    for number in range(15):
        located(f"More Clinic {number}", point_at(DOWNTOWN, 2 + number / 10, 90))
    assert queries({"near": "77002", "within": "10"}) == few


def test_many_results_near_a_point_are_sampled_for_facets_and_paged_in_order(around, monkeypatch):
    monkeypatch.setattr(search, "EXACT_LIMIT", 4)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 2)
    data = {"near": "77002", "within": "25"}
    results = filterset(data).results()
    paged = []
    for start in range(0, results.count(), 3):
        paged += [service.name for service in filterset(data).results()[start : start + 3]]
    whole = by_index(data)
    assert paged == [name for name, _miles in whole]
    # Past EXACT_LIMIT, those as near come newest first rather than by name: the same services, as near.
    same(sorted(whole, key=lambda row: row[0]), sorted(by_queryset(data), key=lambda row: row[0]))
    assert any(choice.approximate for choice in filterset(data).facets()["need"])
    # Those within reach, nearest first, and among those as near ("Near" and "Twin") the newest first.
    ids = dict(Service.objects.values_list("name", "pk"))
    within = [(miles, -ids[name]) for name, miles in whole if miles is not None]
    assert within == sorted(within)
    assert len(within) > search.EXACT_LIMIT
    names = [name for name, _miles in whole]
    assert names.index("Twin Clinic") < names.index("Near Clinic")


def parts(near):
    """{part: set of ids} of a NearQuery's parts."""
    found = {"inner": set(near.inner.ids_of_matches()) if near.inner is not None else set()}
    return found | {"edge": set(near.edge.ids_of_matches()), "far": set(near.far.ids_of_matches())}


@pytest.mark.parametrize("limit", [2, 2000])
@pytest.mark.parametrize("within", ["25", "50"])
def test_near_a_point_the_count_and_facet_sample_come_from_three_disjoint_parts(around, monkeypatch, limit, within):
    """Near a point the results are three disjoint parts: the matches in the map cells wholly within reach, those
    with a place within reach in the other cells, those serving the point from elsewhere. The count and the
    facet sample are theirs: the same rows and scale as the whole result's."""
    monkeypatch.setattr(search, "EXACT_LIMIT", limit)
    data = {"near": "77002", "within": within}
    near = filterset(data).index_query()
    found = parts(near)
    assert not found["inner"] & found["edge"]
    assert not found["inner"] & found["far"]
    assert not found["edge"] & found["far"]
    expected = {Service.objects.get(name=name).pk for name, _miles in by_queryset(data)}
    assert found["inner"] | found["edge"] | found["far"] == expected
    total = near.count()
    assert total == len(expected)
    assert near.close_count() == len(found["inner"] | found["edge"])
    # Buckets that hold about half of the results (whatever their ids).
    half = sorted(sid % search.SAMPLE_BUCKETS for sid in expected)[len(expected) // 2]
    monkeypatch.setattr(search, "_buckets", lambda total: half)
    rows, scale = near.sample(total)
    whole = dict(search.keys_of(sorted(expected)))
    if limit == 2:
        assert scale == search.SAMPLE_BUCKETS / half
        kept = {sid for sid in expected if sid % search.SAMPLE_BUCKETS < half}
        assert 0 < len(kept) < total  # the test means something: a sample leaves some out
    else:
        assert scale == 1
        kept = expected
    assert sorted((sid, sorted(keys)) for sid, keys in rows) == sorted((sid, sorted(whole[sid])) for sid in kept)


@pytest.mark.parametrize("limit", [2, 2000])
def test_a_facet_s_set_near_a_point_is_sized_by_guesses_and_sampled_by_the_index(around, monkeypatch, limit):
    """A facet's set near a point (sample() with no total): guessed from the index, a large one sampled there, a
    small one read whole; either way none of the services in the cells around the point but out of reach."""
    monkeypatch.setattr(search, "EXACT_LIMIT", limit)
    # In the box of map cells around the point, beyond its 25 miles (30 miles north-east).
    corner = located("Corner Clinic", point_at(DOWNTOWN, 30, 45))
    data = {"near": "77002", "within": "25"}
    assert (
        corner.pk
        in search.IndexQuery("default", [], [geo.map_cells(geo.zip_code_origin("77002"), 25)]).ids_of_matches()
    )
    expected = {Service.objects.get(name=name).pk for name, _miles in by_queryset(data)}
    assert corner.pk not in expected
    # The buckets up to the corner's (ids are small here, each its own bucket), so that a sample could hold it.
    half = corner.pk % search.SAMPLE_BUCKETS + 1
    monkeypatch.setattr(search, "_buckets", lambda total: half)
    near = filterset(data).index_query()
    rows, scale = near.sample()
    if limit == 2:
        assert near.probe()[0] > limit
        assert scale == search.SAMPLE_BUCKETS / half
        kept = {sid for sid in expected if sid % search.SAMPLE_BUCKETS < half}
    else:
        assert scale == 1
        kept = expected
    assert rows
    assert {sid for sid, _keys in rows} == kept


@pytest.mark.parametrize("limit", [3, 5, 40])
def test_a_distance_page_orders_those_as_near_as_the_whole_result_would(around, monkeypatch, limit):
    """Each page puts only the services as near as its own in order; the pages still make the list that
    ordering every match and then sorting by distance gives. That order is the query's own (ranked: words in
    the name before words only in the description) while at most EXACT_LIMIT are within reach, and newest
    first past it, as the page says."""
    monkeypatch.setattr(search, "EXACT_LIMIT", limit)
    hub, other = point_at(DOWNTOWN, 2, 100), point_at(DOWNTOWN, 5, 250)
    for number in range(4):  # services at one place: as near as each other
        located(f"Harbor Help {number}", hub)
        located(f"Bay Centre {number}", hub, description="Harbor help for anyone who asks.")
    located("Harbor Help Downtown", other, description="Harbor help, also by phone.")
    data = {"near": "77002", "within": "25", "q": "harbor help"}
    near = filterset(data).index_query()
    count = near.count()
    close = near.close_count()
    assert close == 9
    # The reference: every match within reach in the query's own order (or newest first), then a stable sort
    # by distance.
    reach = geo.within_reach(geo.zip_code_origin("77002"), 25)
    within = near.query.restricted(ids=set(reach))
    own_order = within.page(0, close, close) if close <= limit else sorted(within.ids_of_matches())[::-1]
    expected = sorted(own_order, key=lambda sid: reach[sid][0])
    assert len(expected) == close
    for size in (1, 2, 4):
        paged = []
        for start in range(0, count, size):
            query = filterset(data).index_query()
            paged += query.page(start, size, count)
        assert paged[:close] == expected
    names = dict(Service.objects.values_list("pk", "name"))
    at_hub = [names[sid].split()[0] for sid in expected if names[sid] != "Harbor Help Downtown"]
    if close <= limit:  # ranked: those with the words in their names first
        assert at_hub == ["Harbor"] * 4 + ["Bay"] * 4
    else:  # newest first: each "Bay Centre" was made after its "Harbor Help"
        assert at_hub == ["Bay", "Harbor"] * 4


@pytest.fixture
def hours(around):
    """Hours on a Monday at noon in Houston (18:00 UTC): some open, some closed, one place's own hours."""
    monday = {"byday": "MO", "timezone": "America/Chicago"}
    make_schedule(service=around["near"], opens_at=datetime.time(9), closes_at=datetime.time(17), **monday)
    make_schedule(service=around["twin"], opens_at=datetime.time(13), closes_at=datetime.time(17), **monday)
    place = around["edge"].service_at_locations.get().location
    make_schedule(
        location=place, opens_at=datetime.time(20), closes_at=datetime.time(2), byday="SU", timezone="America/Chicago"
    )
    make_schedule(service=around["national"], open_24_7=True)
    make_schedule(service=around["world"], open_24_7=True)
    Service.objects.filter(pk=around["world"].pk).update(status=Service.Status.TEMPORARILY_CLOSED)
    make_schedule(location=around["far"].service_at_locations.get().location, open_24_7=True)
    return around


MONDAY_NOON_IN_HOUSTON = datetime.datetime(2026, 11, 23, 18, 0, tzinfo=datetime.UTC)
MONDAY_AT_ONE_IN_THE_MORNING = datetime.datetime(2026, 11, 23, 7, 0, tzinfo=datetime.UTC)
OPEN_SEARCHES = [
    {"open_now": "on"},
    {"open_now": "on", "near": "77002"},
    {"open_now": "on", "near": "77002", "within": "100"},
    {"open_now": "on", "q": "clinic"},
    {"open_now": "on", "need": "legal-aid", "near": "77002"},
]


@pytest.mark.parametrize("moment", [MONDAY_NOON_IN_HOUSTON, MONDAY_AT_ONE_IN_THE_MORNING], ids=["noon", "1am"])
@pytest.mark.parametrize("data", OPEN_SEARCHES, ids=[urlencode(data) for data in OPEN_SEARCHES])
def test_open_now_on_the_index_is_the_queryset_s(hours, data, moment):
    def made():
        return ServiceFilter(QueryDict(urlencode(data)), queryset=Service.objects.published(), now=moment)

    indexed = made()
    assert indexed.on_index()
    results = indexed.results()
    found = [(service.name, service.distance if "near" in data else None) for service in results[0 : results.count()]]
    expected = [(service.name, getattr(service, "distance", None)) for service in made().qs]
    same(found, expected)
    # Each finds something, but legal aid near downtown at one in the morning (the Near Clinic is closed).
    assert bool(found) != ("need" in data and moment == MONDAY_AT_ONE_IN_THE_MORNING)


def test_open_now_keeps_exactly_those_open(hours):
    at_noon = ServiceFilter(QueryDict("open_now=on"), queryset=Service.objects.published(), now=MONDAY_NOON_IN_HOUSTON)
    names = {service.name for service in at_noon.results()[0:50]}
    assert names == {"Near Clinic", "National Line", "Far Clinic"}  # Twin opens at 13:00; World Chat is closed
    at_one = ServiceFilter(
        QueryDict("open_now=on"), queryset=Service.objects.published(), now=MONDAY_AT_ONE_IN_THE_MORNING
    )
    # The Edge Clinic's place opened on Sunday at 20:00 and closes at 2:00.
    assert {service.name for service in at_one.results()[0:50]} == {"Edge Clinic", "National Line", "Far Clinic"}


@pytest.fixture
def odd_hours(db):
    """Services whose hours start and end off the hour, in timezones off the hour, past midnight, at a place."""
    kolkata = {"timezone": "Asia/Kolkata"}  # UTC+5:30
    for name, opens, closes, days, zone in [
        ("Early", datetime.time(8, 52, 30), datetime.time(12, 7), "MO,TU,WE,TH,FR", "Asia/Kolkata"),
        ("Late", datetime.time(22, 10), datetime.time(1, 5), "SU,MO", "America/Chicago"),
        ("Short", datetime.time(9, 20), datetime.time(9, 40), "MO", "Asia/Kathmandu"),  # UTC+5:45
        ("Quarters", datetime.time(9, 15), datetime.time(16, 45), "MO,SA", "Europe/London"),
    ]:
        service = make_service(name=name)
        make_schedule(service=service, opens_at=opens, closes_at=closes, byday=days, timezone=zone)
    placed = make_service(name="Placed")
    place = make_location(country="IN", name="Centre")
    make_service_at_location(placed, place)
    make_schedule(location=place, opens_at=datetime.time(13, 1), closes_at=datetime.time(13, 59), byday="MO", **kolkata)
    make_schedule(service=make_service(name="Always"), open_24_7=True)


def _edges():
    """Moments on each side of the odd hours' openings and closings (in UTC, Monday 23 and Sunday 22 November
    2026), and every 7 minutes through a Monday."""
    start = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
    edges = [
        (2026, 11, 23, 3, 22, 29),  # 8:52:29 in Kolkata: before Early's 8:52:30 (which counts from 8:53)
        (2026, 11, 23, 3, 23, 0),
        (2026, 11, 23, 6, 36, 59),  # 12:06:59 in Kolkata
        (2026, 11, 23, 6, 37, 0),
        (2026, 11, 23, 3, 35, 0),  # 9:20 in Kathmandu
        (2026, 11, 23, 3, 54, 59),
        (2026, 11, 23, 3, 55, 0),
        (2026, 11, 23, 4, 10, 0),  # 22:10 on Sunday in Chicago
        (2026, 11, 23, 7, 4, 59),  # 1:04:59 on Monday in Chicago
        (2026, 11, 23, 7, 5, 0),
        (2026, 11, 23, 7, 30, 59),  # 13:00:59 in Kolkata: the place opens at 13:01
        (2026, 11, 23, 7, 31, 0),
        (2026, 11, 23, 8, 28, 59),
        (2026, 11, 23, 8, 29, 0),
        (2026, 11, 23, 9, 14, 59),
        (2026, 11, 23, 9, 15, 0),
        (2026, 11, 23, 16, 44, 59),
        (2026, 11, 23, 16, 45, 0),
    ]
    moments = [datetime.datetime(*edge, tzinfo=datetime.UTC) for edge in edges]
    return moments + [start + datetime.timedelta(minutes=7 * step) for step in range(0, 24 * 60 // 7)]


def test_open_now_on_the_index_is_open_at_to_the_minute(odd_hours):
    """The open-hour keys (whole hours, quarter hours, minutes) say open exactly when open_at does."""
    wrong = []
    for moment in _edges():
        found = ServiceFilter(QueryDict("open_now=on"), queryset=Service.objects.published(), now=moment)
        assert found.on_index()
        names = {service.name for service in found.results()[0:20]}
        expected = set(Service.objects.published().open_at(moment).values_list("name", flat=True))
        if names != expected:
            wrong.append((moment.isoformat(), sorted(names ^ expected)))
    assert not wrong
    # The test means something: each service is open at some moments and closed at others.
    seen = set()
    for moment in _edges():
        seen |= set(Service.objects.open_at(moment).values_list("name", flat=True))
    assert seen == {"Early", "Late", "Short", "Quarters", "Placed", "Always"}


def test_the_page_says_when_many_results_near_a_point_come_newest_first(around, client, monkeypatch):
    query = "/search/?" + urlencode({"near": "77002", "within": "25"})
    assert "come first among those as near" not in client.get(query).content.decode()
    monkeypatch.setattr(search, "EXACT_LIMIT", 3)
    assert "come first among those as near" in client.get(query).content.decode()


def test_services_in_cells_wholly_within_reach_and_at_the_rim_are_found_as_the_queryset_finds_them(around):
    """Within 50 miles the index finds the services in the map cells wholly within reach by their keys, and only
    the places of the other cells are measured: a place at the rim, a service with a place in each, and a
    confidential place in a cell at the rim whose grid point is within reach."""
    rim = located("Rim Clinic", point_at(DOWNTOWN, 48, 135))
    both = located("Two Sites", point_at(DOWNTOWN, 49, 300))
    make_service_at_location(both, make_location(latitude=Decimal("29.7600"), longitude=Decimal("-95.3700")))
    hidden = located("Rim Shelter", point_at(DOWNTOWN, 47, 200), confidential=True)
    outside = located("Past The Rim", point_at(DOWNTOWN, 53, 135))
    data = {"near": "77002", "within": "50"}
    near = filterset(data).index_query()
    assert near.around.inside
    found = parts(near)
    assert {rim.pk, hidden.pk} <= found["edge"]
    assert both.pk in found["inner"]
    assert around["near"].pk in found["inner"]
    assert outside.pk not in found["inner"] | found["edge"]
    same(by_index(data), by_queryset(data))
    assert dict(by_index(data))["Two Sites"] < 1


def test_a_page_of_many_results_near_a_point_reads_a_ring_that_holds_it(around, monkeypatch):
    """With many matches within reach, a page reads the places within a ring wide enough to hold it, not the
    whole reach; every page is still the queryset's, and the last reads the whole reach."""
    for number in range(40):
        located(f"Spread Clinic {number}", point_at(DOWNTOWN, 0.5 + number * 0.6, number * 37))
    data = {"near": "77002", "within": "50"}
    expected = by_queryset(data)
    rings = []
    ring = search.Around.ring
    monkeypatch.setattr(search.Around, "ring", lambda self, miles: rings.append(miles) or ring(self, miles))
    for start in range(0, len(expected), 2):
        results = filterset(data).results()
        page = [(service.name, service.distance) for service in results[start : start + 2]]
        same(page, expected[start : start + 2])
    assert min(rings) < 25  # the first page: the miles around the point
    assert max(rings) == 50


def test_a_confidential_place_just_outside_the_circle_s_box_is_found_where_its_grid_point_is(db):
    """Only confidential places are read in the box's margin: this one is north of the box of the 10 miles
    around the point, and measured from its grid point (29.8, -95.4), 7 miles away."""
    origin = (29.70, -95.37)
    north = geo.bounding_box(*origin, 10)["latitude__lte"]
    shelter = located("Margin Shelter", (north + 0.004, -95.37), confidential=True)
    open_place = located("Margin Clinic", (north + 0.004, -95.37))
    reach = geo.within_reach(geo.Origin(latitude=origin[0], longitude=origin[1], region=None), 10)
    assert reach[shelter.pk][0] == pytest.approx(7.1, abs=0.1)
    assert open_place.pk not in reach
    data = {"lat": "29.70", "lon": "-95.37", "within": "10"}
    same(by_index(data), by_queryset(data))
    assert "Margin Shelter" in dict(by_index(data))


def test_many_results_near_a_point_are_estimated_from_their_parts_in_the_sample(around, monkeypatch):
    """The results page's total near a point (SearchResults.count with estimate_before): those in the cells wholly
    within reach and those from elsewhere as their share of the sample says, those at the edge counted. The
    first page is still the queryset's; a page past the estimate's first three quarters counts them all."""
    for number in range(40):
        located(f"Spread Clinic {number}", point_at(DOWNTOWN, 0.5 + number * 0.6, number * 37))
    data = {"near": "77002", "within": "50"}
    expected = by_queryset(data)
    near = filterset(data).index_query()
    found = parts(near)
    assert found["inner"]
    assert found["far"]
    monkeypatch.setattr(search, "EXACT_LIMIT", 2)
    monkeypatch.setattr(search, "ESTIMATE_FROM", 1)
    monkeypatch.setattr(search, "ESTIMATE_SAMPLE_MIN", 1)
    monkeypatch.setattr(search.IndexQuery, "probe", lambda self: (64, None))  # a guess, as PostgreSQL's
    every = sorted(found["inner"] | found["edge"] | found["far"])
    half = sorted(sid % search.SAMPLE_BUCKETS for sid in every)[len(every) // 2]
    monkeypatch.setattr(search, "_buckets", lambda total: half)
    scale = search.SAMPLE_BUCKETS / half

    def estimate(ids):
        sampled = sum(1 for sid in ids if sid % search.SAMPLE_BUCKETS < half)
        return round(sampled * scale) if sampled else None

    inner = estimate(found["inner"])
    far = estimate(found["far"]) or len(found["far"])
    assert inner is not None
    results = filterset(data).results(estimate_before=0)
    assert (results.count(), results.estimated) == (inner + len(found["edge"]) + far, True)
    # Those from elsewhere are estimated even when fewer than ESTIMATE_FROM (the total says "about" already), and
    # counted when the sample holds too few of them to tell.
    assert far != len(found["far"])
    monkeypatch.setattr(search, "ESTIMATE_FROM", inner)
    assert far < inner
    results = filterset(data).results(estimate_before=0)
    assert (results.count(), results.estimated) == (inner + len(found["edge"]) + far, True)
    sampled_inner, sampled_far = (
        sum(1 for sid in found[part] if sid % search.SAMPLE_BUCKETS < half) for part in ("inner", "far")
    )
    assert sampled_inner > sampled_far
    monkeypatch.setattr(search, "ESTIMATE_SAMPLE_MIN", sampled_far + 1)
    results = filterset(data).results(estimate_before=0)
    assert (results.count(), results.estimated) == (inner + len(found["edge"]) + len(found["far"]), True)
    same([(service.name, service.distance) for service in results[0:2]], expected[0:2])
    deep = filterset(data).results(estimate_before=math.ceil(search.ESTIMATE_SHARE * inner))
    assert (deep.count(), deep.estimated) == (len(expected), False)


def test_sqlite_counts_the_parts_of_a_distance_search_with_words(around, monkeypatch):
    """On SQLite, with words, a distance search's total is counted: probing each part would read each word's
    whole list, as counting does. Without words, or on PostgreSQL (its planner's guess), it may be estimated."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 2)
    monkeypatch.setattr(search, "ESTIMATE_FROM", 1)
    monkeypatch.setattr(search, "ESTIMATE_SAMPLE_MIN", 1)
    probes = []
    probe = search.NearQuery.probe
    monkeypatch.setattr(search.NearQuery, "probe", lambda self: probes.append(self) or probe(self))
    with_words = filterset({"near": "77002", "q": "clinic"}).results(estimate_before=0)
    with_words.count()
    if connection.vendor == "sqlite":
        assert not probes
        assert with_words.count() == len(by_queryset({"near": "77002", "q": "clinic"}))
    else:
        assert len(probes) == 1
    assert filterset({"near": "77002"}).index_query().estimates_pay
