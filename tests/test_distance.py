"""Distance: near a US ZIP code or the browser's location, nearest first, phone and online help kept.

Places sit at real ZIP code coordinates (the `zipcodes` package's own table) around Houston, TX.
"""

import logging
import math
import re
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
import zipcodes
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from resources import geo
from resources.filters import ServiceFilter
from resources.models import Location, Service, ServiceArea

from .conftest import make_area, make_hotline, make_location, make_phone, make_service, make_service_at_location

pytestmark = pytest.mark.django_db


def zip_point(code):
    place = zipcodes.matching(code)[0]
    return float(place["lat"]), float(place["long"])


def miles_between(a, b):
    """Haversine, independent of the SQL under test."""
    (lat1, lon1), (lat2, lon2) = ((math.radians(x), math.radians(y)) for x, y in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * geo.EARTH_RADIUS_MILES * math.asin(math.sqrt(h))


def point_at(start, miles, bearing_degrees):
    """The point `miles` from `start` on the given bearing (the sphere's direct problem)."""
    lat, lon = (math.radians(x) for x in start)
    angle, bearing = miles / geo.EARTH_RADIUS_MILES, math.radians(bearing_degrees)
    lat2 = math.asin(math.sin(lat) * math.cos(angle) + math.cos(lat) * math.sin(angle) * math.cos(bearing))
    lon2 = lon + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(lat), math.cos(angle) - math.sin(lat) * math.sin(lat2)
    )
    return math.degrees(lat2), math.degrees(lon2)


def located(name, point, *, confidential=False, city="Houston", state="TX", country="US", **fields):
    service = make_service(name=name, **fields)
    place = make_location(
        country=country,
        state_province=state,
        city=city,
        latitude=Decimal(f"{point[0]:.6f}"),
        longitude=Decimal(f"{point[1]:.6f}"),
        is_confidential=confidential,
    )
    make_service_at_location(service, place)
    return service


@pytest.fixture
def houston(db):
    """Places at real ZIP code centres: downtown (77002), the Medical Center (77030), Katy (77494), Austin."""
    return {
        "downtown": located("Downtown Legal Clinic", zip_point("77002")),
        "medical": located("Medical Center Clinic", zip_point("77030")),
        "katy": located("Katy Family Services", zip_point("77494"), city="Katy"),
        "austin": located("Austin Drop-in Centre", zip_point("78701"), city="Austin"),
    }


def results(data):
    filterset = ServiceFilter(QueryDict(urlencode(data, doseq=True)), queryset=Service.objects.published())
    return list(filterset.qs)


def names(data):
    return [service.name for service in results(data)]


def page(client, data):
    response = client.get("/search/?" + urlencode(data, doseq=True))
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def test_the_zip_code_table_is_the_real_one():
    # Downtown Houston to Austin is about 146 miles as the crow flies.
    assert 140 < miles_between(zip_point("77002"), zip_point("78701")) < 150


def test_nearest_first_within_the_radius(houston):
    assert names({"near": "77002", "within": "50"}) == [
        "Downtown Legal Clinic",
        "Medical Center Clinic",
        "Katy Family Services",
    ]


def test_distances_are_those_of_the_map(houston):
    found = {service.name: service.distance for service in results({"near": "77002"})}
    expected = miles_between(zip_point("77002"), zip_point("77494"))
    assert found["Katy Family Services"] == pytest.approx(expected, abs=0.05)
    assert found["Downtown Legal Clinic"] == pytest.approx(0, abs=0.01)


def test_radius_cuts_off_farther_places(houston):
    assert names({"near": "77002", "within": "10"}) == ["Downtown Legal Clinic", "Medical Center Clinic"]
    assert "Austin Drop-in Centre" not in names({"near": "77002", "within": "100"})
    assert names({"near": "78701", "within": "10"}) == ["Austin Drop-in Centre"]


def test_default_radius_is_50_miles(houston):
    assert names({"near": "77002"}) == names({"near": "77002", "within": "50"})


@pytest.mark.parametrize("bearing", [0, 45, 90, 135, 180, 270, 315])
def test_places_just_inside_the_radius_are_kept_in_every_direction(db, bearing):
    start = zip_point("77002")
    located("Just inside", point_at(start, 24.95, bearing))
    located("Just outside", point_at(start, 25.05, bearing))
    assert names({"near": "77002", "within": "25"}) == ["Just inside"]


@pytest.mark.parametrize("bearing", [45, 90, 270])
def test_the_bounding_box_is_wide_enough_far_north(db, bearing):
    # At 64.8° N (Fairbanks, AK) a degree of longitude is under 30 miles: the box must reach far east-west.
    start = zip_point("99701")
    located("Just inside", point_at(start, 99.9, bearing), city="Fairbanks", state="AK")
    located("Just outside", point_at(start, 100.1, bearing), city="Fairbanks", state="AK")
    assert names({"near": "99701", "within": "100"}) == ["Just inside"]


def test_bounding_box_holds_the_circle():
    for latitude in (0, 29.76, 64.8, -45):
        box = geo.bounding_box(latitude, -95.0, 50)
        for bearing in range(0, 360, 5):
            lat, lon = point_at((latitude, -95.0), 50, bearing)
            assert box["latitude__gte"] <= lat <= box["latitude__lte"]
            assert box["longitude__gte"] <= lon <= box["longitude__lte"]


def test_near_a_pole_or_the_date_line_only_latitude_bounds():
    assert set(geo.bounding_box(89.5, 10, 50)) == {"latitude__gte", "latitude__lte"}
    assert set(geo.bounding_box(51.9, 179.8, 50)) == {"latitude__gte", "latitude__lte"}


def test_phone_and_online_help_is_listed_after_the_places_not_dropped(client, houston):
    hotline = make_service(name="US Trafficking Line")
    make_hotline(hotline)
    make_area(hotline, ServiceArea.Kind.COUNTRY, country="US")
    texas_online = make_service(name="Texas Online Advice", available_online=True)
    make_area(texas_online, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-TX")
    anywhere = make_service(name="Worldwide Chat", available_online=True)
    make_area(anywhere, ServiceArea.Kind.WORLDWIDE)
    make_service(name="Unplaced Advice Line")  # says nothing about where it works
    # Not for Houston: another state's line, and another country's.
    california = make_service(name="California Line")
    make_area(california, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-CA")
    uganda = make_service(name="Uganda Line")
    make_area(uganda, ServiceArea.Kind.COUNTRY, country="UG")
    # A place too far away, but the service works across Texas by phone.
    statewide = located("Austin Statewide Legal Line", zip_point("78701"), city="Austin")
    make_area(statewide, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-TX")

    found = names({"near": "77002", "within": "10"})
    assert found[:2] == ["Downtown Legal Clinic", "Medical Center Clinic"]
    assert set(found[2:]) == {
        "US Trafficking Line",
        "Texas Online Advice",
        "Worldwide Chat",
        "Unplaced Advice Line",
        "Austin Statewide Legal Line",
    }
    for absent in ("California Line", "Uganda Line", "Austin Drop-in Centre", "Katy Family Services"):
        assert absent not in found

    html = page(client, {"near": "77002", "within": "10"})
    heading = html.index("Available by phone or online")
    assert html.index("Medical Center Clinic") < heading < html.index("US Trafficking Line")
    assert "California Line" not in html


def test_browser_location_finds_the_state_for_phone_lines(houston):
    texas_online = make_service(name="Texas Online Advice", available_online=True)
    make_area(texas_online, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-TX")
    california = make_service(name="California Line")
    make_area(california, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-CA")
    lat, lon = zip_point("77030")
    found = names({"lat": f"{lat}", "lon": f"{lon}", "within": "10"})
    assert found[:2] == ["Medical Center Clinic", "Downtown Legal Clinic"]
    assert "Texas Online Advice" in found
    assert "California Line" not in found


def test_other_filters_still_apply_with_distance(houston):
    Service.objects.filter(pk=houston["katy"].pk).update(is_free=True)
    assert names({"near": "77002", "free": "on"}) == ["Katy Family Services"]


def test_keyword_search_and_distance_together(houston):
    assert names({"near": "77002", "q": "clinic"}) == ["Downtown Legal Clinic", "Medical Center Clinic"]


def test_page_shows_how_far_each_place_is(client, houston):
    html = page(client, {"near": "77002", "within": "50"})
    katy = miles_between(zip_point("77002"), zip_point("77494"))
    assert f"{round(katy)} miles away" in html
    medical = miles_between(zip_point("77002"), zip_point("77030"))
    assert f"{medical:.1f} miles away" in html
    assert "Near: 77002 (Houston, TX), within 50 miles" in html
    assert "for this search only" in html
    assert html.index("Downtown Legal Clinic") < html.index("Medical Center Clinic") < html.index("Katy Family")


def test_browser_location_is_rounded_and_kept_for_the_next_search(client, houston):
    html = page(client, {"lat": "29.706812", "lon": "-95.401234", "within": "10"})
    assert '<input type="hidden" name="lat" value="29.71">' in html
    assert '<input type="hidden" name="lon" value="-95.40">' in html
    assert "29.706812" not in html
    assert "Near: your location, within 10 miles" in html
    # Removing the chip drops the whole point.
    assert 'href="?within=10"' in html


def test_confidential_place_shows_only_a_coarse_distance(client, db):
    start = zip_point("77002")
    secret = point_at(start, 3.21, 60)
    located("Safe House", secret, confidential=True)
    located("Open Clinic", point_at(start, 3.21, 240))
    html = page(client, {"near": "77002", "within": "25"})
    assert re.search(r"(Within about 5 miles|About 5 miles away) \(the exact place is kept private\)", html)
    assert "3.2 miles away" in html  # the open clinic, at the same distance, is precise
    assert html.count("3.2 miles away") == 1
    for coordinate in (f"{secret[0]:.6f}", f"{secret[1]:.6f}", f"{secret[0]:.2f}", f"{secret[1]:.2f}"):
        assert coordinate not in html


def test_moving_a_confidential_place_within_its_grid_cell_changes_nothing(db):
    shelter = located("Safe House", (29.71, -95.41), confidential=True)
    before = results({"near": "77002"})[0].distance
    Location.objects.filter(service_at_locations__service=shelter).update(
        latitude=Decimal("29.74"), longitude=Decimal("-95.44")
    )
    after = results({"near": "77002"})[0].distance
    assert before == after
    assert before == pytest.approx(miles_between(zip_point("77002"), (29.7, -95.4)), abs=0.01)


def test_confidential_place_far_away_is_rounded_to_5_miles(client, db):
    located("Safe House", point_at(zip_point("77002"), 23, 90), confidential=True)
    html = page(client, {"near": "77002", "within": "25"})
    assert re.search(r"About (20|25) miles away \(the exact place is kept private\)", html)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"near": "99999"}, "We do not know the US ZIP code 99999."),
        ({"near": "abc"}, "“abc” is not a US ZIP code"),
        ({"near": "SW1A 1AA"}, "“SW1A1AA” is not a US ZIP code"),
        ({"near": "7" * 5000}, "is not a US ZIP code"),
        ({"lat": "999", "lon": "0"}, "“999” is not a latitude"),
        ({"lat": "29.7", "lon": "abc"}, "“abc” is not a longitude"),
        ({"lat": "nan", "lon": "1"}, "“nan” is not a latitude"),
        ({"lat": "29.7", "lon": "inf"}, "“inf” is not a longitude"),
        ({"lat": "29.7"}, "Give both latitude and longitude"),
        ({"lon": "-95.3"}, "Give both latitude and longitude"),
        ({"near": "77002", "within": "7"}, "Choose a distance of 10, 25, 50, 100 miles, not “7”."),
    ],
)
def test_bad_distance_input_is_explained_and_the_rest_still_works(client, houston, data, message):
    html = page(client, {**data, "q": "clinic"})
    assert message in html
    assert "That filter was left out" in html
    assert "Downtown Legal Clinic" in html


def test_bad_radius_falls_back_to_50_miles(houston):
    assert names({"near": "77002", "within": "7"}) == names({"near": "77002", "within": "50"})


def test_zip_plus_four_and_spaces_are_accepted(houston):
    assert names({"near": " 77002-1234 "}) == names({"near": "77002"})


def test_zip_code_wins_over_the_browser_point(houston):
    austin = zip_point("78701")
    assert names({"near": "77002", "lat": austin[0], "lon": austin[1], "within": "10"})[0] == "Downtown Legal Clinic"


def test_outside_the_us_a_browser_point_still_works(db):
    kampala = (0.3476, 32.5825)
    located("Kampala Centre", point_at(kampala, 2, 10), city="Kampala", state="", country="UG")
    line = make_service(name="Uganda Line")
    make_area(line, ServiceArea.Kind.COUNTRY, country="UG")
    found = names({"lat": "0.35", "lon": "32.58", "within": "10"})
    assert found == ["Kampala Centre", "Uganda Line"]


def test_search_page_runs_a_constant_number_of_queries_with_distance(client, db, settings, django_assert_num_queries):
    settings.RESULTS_PER_PAGE = 50
    start = zip_point("77002")

    def add(numbers):
        for number in numbers:
            service = located(f"Clinic {number}", point_at(start, 1 + number, 7 * number))
            make_phone(service=service, number="+17135550100")
            remote = make_service(name=f"Line {number}")
            make_area(remote, ServiceArea.Kind.COUNTRY, country="US")

    url = "/search/?near=77002&within=50"
    add(range(1))
    cache.clear()  # the search form's lists of what is in use are kept a few minutes: count them both times
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    add(range(1, 12))
    cache.clear()
    with django_assert_num_queries(len(one)):
        html = client.get(url).content.decode()
    assert "Clinic 11" in html
    assert "Line 11" in html


def test_api_sorts_by_distance_and_refuses_a_bad_zip(client, houston):
    response = client.get("/api/services?near=77002&within=10")
    assert response.status_code == HTTPStatus.OK
    assert [item["name"] for item in response.json()["contents"]] == ["Downtown Legal Clinic", "Medical Center Clinic"]
    for params, parameter in (({"near": "99999"}, "near"), ({"lat": "999", "lon": "1"}, "lat"), ({"lat": "1"}, "lon")):
        bad = client.get("/api/services?" + urlencode(params))
        assert bad.status_code == HTTPStatus.BAD_REQUEST
        assert parameter in bad.json()["parameters"]


def test_api_places_endpoint_accepts_near_too(client, houston):
    response = client.get("/api/service_at_locations?near=77002&within=10")
    assert response.status_code == HTTPStatus.OK
    assert {item["service"]["name"] for item in response.json()["contents"]} == {
        "Downtown Legal Clinic",
        "Medical Center Clinic",
    }


def test_coordinates_and_zip_codes_are_not_logged(client, houston, caplog):
    # The most an operator can ask for: LOG_LEVEL=DEBUG, and DEBUG=1 (which sends SQL to django.db.backends).
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        page(client, {"lat": "29.76", "lon": "-95.36", "q": "clinic"})
        page(client, {"near": "77030"})
    finally:
        connection.force_debug_cursor = False
    assert "29.76" not in caplog.text
    assert "-95.36" not in caplog.text
    assert "77030" not in caplog.text


@pytest.mark.parametrize(
    ("miles", "confidential", "text"),
    [
        (0.04, False, "Less than 0.1 miles away"),
        (3.24, False, "3.2 miles away"),
        (23.4, False, "23 miles away"),
        (2.4, True, "Within about 5 miles (the exact place is kept private)"),
        (7.4, True, "About 5 miles away (the exact place is kept private)"),
        (23.0, True, "About 25 miles away (the exact place is kept private)"),
    ],
)
def test_distance_in_words(miles, confidential, text):
    assert geo.describe_distance(miles, confidential) == text


@pytest.mark.parametrize(
    "point",
    [
        (29.76, -95.37),  # Houston
        (40.75, -73.99),  # Manhattan, among the most ZIP codes
        (39.1, -94.6),  # Kansas City, on the border of Kansas and Missouri
        (38.9, -77.04),  # Washington, DC
        (18.4, -66.06),  # San Juan, Puerto Rico
        (13.44, 144.79),  # Guam
        (51.88, -176.65),  # Adak, Alaska, near the 180th meridian
        (64.84, -147.72),  # Fairbanks, where a degree of longitude is short
        (45.0, -100.0),  # the middle of South Dakota
        (30.0, -88.0),  # the Gulf of Mexico, off Alabama
        (51.5, -0.1),  # London: no ZIP code near
    ],
)
def test_a_browser_point_takes_the_state_of_the_nearest_zip_code(point):
    # The package's own scan of every ZIP code is the reference (leaving out military post offices, which
    # are in no state).
    lat, lon = point
    near = [
        place
        for place in zipcodes.filter_by_coordinates(lat, lon, geo.STATE_LOOKUP_MILES)
        if place["state"] not in {"AA", "AE", "AP"} and (float(place["lat"]), float(place["long"])) != (0, 0)
    ]
    expected = None
    if near:
        nearest = min(near, key=lambda p: zipcodes.haversine(lon, lat, float(p["long"]), float(p["lat"])))
        expected = f"US-{nearest['state']}"
    origin = geo.browser_origin(lat, lon)
    assert (origin.region.code if origin.region else None) == expected
    assert (expected is None) == (point == (51.5, -0.1))


@pytest.mark.parametrize("point", [(0.0, 0.0), (0.2, -0.1)])
def test_a_point_at_0_0_is_in_no_state(point):
    """A browser's failed location often says 0, 0; the ZIP code table puts the codes it has no place for there
    (in DC, New Jersey...), which must not give it a state."""
    assert any(place["state"] == "DC" for place in zipcodes.filter_by_coordinates(0.0, 0.0, 1))
    assert geo.browser_origin(*point).region is None
