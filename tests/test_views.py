import re
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resources.models import Service, ServiceArea

from .conftest import (
    make_area,
    make_hotline,
    make_language,
    make_location,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
)
from .world import HIDDEN, build_world

pytestmark = pytest.mark.django_db

PUBLIC_LISTS = [
    "/",
    "/search/",
    "/hotlines/",
    "/search/?region=UG",
    "/search/?need=emergency-shelter",
    "/search/?q=shelter",
]


@pytest.fixture
def world(needs, populations):
    return build_world(needs, populations)


def html(client, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK, url
    return response.content.decode()


def test_home_shows_hotlines_with_tap_to_call_and_text(client, world):
    page = html(client, "/")
    assert "National Trafficking Line" in page
    assert 'href="tel:+18883737888"' in page
    assert 'href="sms:233733"' in page
    assert 'action="/search/"' in page
    assert "/search/?need=legal-aid" in page
    # A child need is reached through its parent, not listed on the home page.
    assert "/search/?need=record-clearing" not in page


def test_safety_page_shows_the_first_hotlines_and_links_to_the_rest(client, world):
    from resources.views import FIRST_HOTLINES

    page = html(client, "/safety/")
    assert "National Trafficking Line" in page
    assert 'href="tel:+18883737888"' in page
    assert "All hotlines and what happens when you reach out" in page
    # With many more hotlines, only the first few in the curators' order are listed (a directory may hold
    # hundreds), in as many queries as before, and the link says there are more.
    few, _page = _query_count(client, "/safety/")
    for number in range(FIRST_HOTLINES + 3):
        service = make_service(name=f"Zeta line {number:02}")
        make_hotline(service)
        make_phone(service=service, number=f"+1888555{number:04}")
    queries, page = _query_count(client, "/safety/")
    assert queries == few
    listed = re.findall(r"<h3><a [^>]*>([^<]+)</a></h3>", page)
    assert len(listed) == FIRST_HOTLINES
    assert listed[0] == "National Trafficking Line"
    assert "Zeta line 00" in page
    assert f"Zeta line {FIRST_HOTLINES + 2:02}" not in page
    assert "More hotlines, and what happens when you reach out" in page


def test_search_page_lists_the_matches_and_not_the_others(client, world):
    page = html(client, "/search/?region=UG")
    assert "Restore Home" in page
    assert "Houston Record Clearing Clinic" not in page
    assert "National Trafficking Line" not in page


@pytest.mark.parametrize("url", PUBLIC_LISTS)
def test_hidden_services_appear_on_no_public_list(client, world, url):
    page = html(client, url)
    for key in HIDDEN:
        assert world[key].name not in page


@pytest.mark.parametrize("key", HIDDEN)
def test_hidden_service_pages_are_not_found(client, world, key):
    assert client.get(f"/services/{world[key].uuid}/").status_code == HTTPStatus.NOT_FOUND


def test_organization_page_lists_only_public_services(client, world):
    organization = world["restore"].organization
    make_service(organization=organization, name="Secret Draft", review_state=Service.ReviewState.DRAFT)
    page = html(client, f"/organizations/{organization.uuid}/")
    assert "Restore Home" in page
    assert "Secret Draft" not in page


def test_organization_without_public_services_is_not_found(client, world):
    assert client.get(f"/organizations/{world['draft'].organization.uuid}/").status_code == HTTPStatus.NOT_FOUND


def test_service_page_has_what_a_person_needs_to_act(client, world):
    page = html(client, f"/services/{world['legal'].uuid}/")
    assert 'href="tel:+17135550100"' in page
    assert "1-713-555-0100" in page
    assert "1 Main Street" in page
    assert "Houston" in page
    assert "Monday: 09:00–17:00" in page
    assert "America/Chicago" in page
    assert "Spanish" in page
    assert "Foreign Nationals".lower() in page.lower()
    assert "Not verified yet" in page
    assert "Record clearing" in page


def test_hotline_page_says_what_happens_when_you_reach_out(client, world):
    page = html(client, f"/services/{world['hotline'].uuid}/")
    assert "What happens when you reach out" in page
    assert "Will they contact the police?" in page
    assert "Open 24 hours a day" in page
    assert "United States" in page


def test_confidential_location_shows_only_city_and_region(client, world):
    page = html(client, f"/services/{world['restore'].uuid}/")
    assert "Confidential location" in page
    assert "Kampala" in page
    assert "Plot 7 Secret Road" not in page


def test_verified_listing_shows_the_date(client, world):
    import datetime

    Service.objects.filter(pk=world["legal"].pk).update(assured_date=datetime.date(2026, 10, 1))
    page = html(client, f"/services/{world['legal'].uuid}/")
    assert "Last verified 1 October 2026" in page
    assert "Not verified yet" not in page


def _query_count(client, url):
    cache.clear()  # the search form's lists of what is in use are kept a few minutes: count them every time
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    return len(queries), response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/hotlines/",
        "/search/",
        "/search/?region=US&need=legal-aid&language=es&delivery=phone&free=on",
        "/search/?q=line",
    ],
)
def test_list_pages_run_a_constant_number_of_queries(client, world, url, settings):
    settings.RESULTS_PER_PAGE = 50

    def add_listings(numbers):
        for number in numbers:
            service = make_service(name=f"Extra line {number}", is_free=True, terms=[world["legal"].terms.first()])
            make_hotline(service)
            make_area(service, ServiceArea.Kind.COUNTRY, country="US")
            phone = make_phone(service=service, number="+18883737888")
            make_language(phone=phone, code="fr")
            make_language(service=service, code="es")
            make_schedule(service=service, open_24_7=True)
            place = make_location(country="US", state_province="TX", city="Austin")
            make_service_at_location(service, place)
            make_phone(location=place, number="+15125550100")
            make_schedule(location=place, open_24_7=True)
            make_language(location=place, code="vi")

    add_listings(range(1))
    one, _page = _query_count(client, url)
    add_listings(range(1, 12))
    twelve, page = _query_count(client, url)
    assert "Extra line 11" in page  # the new listings are on the page, so their cards were counted
    assert twelve == one


def test_pagination_keeps_the_filters(client, world, settings):
    settings.RESULTS_PER_PAGE = 1
    page = html(client, "/search/?region=US&free=on")
    assert "Page 1 of 2" in page
    assert 'href="?region=US&amp;free=on&amp;page=2"' in page
    second = html(client, "/search/?region=US&free=on&page=2")
    assert "Page 2 of 2" in second


def test_active_filters_are_shown_and_removable(client, world):
    page = html(client, "/search/?region=UG&need=emergency-shelter&need=legal-aid")
    assert "Region: Uganda" in page
    assert "Need: Emergency shelter" in page
    # Removing one need keeps the region and the other need.
    assert 'href="?region=UG&amp;need=legal-aid"' in page
    assert 'href="?need=emergency-shelter&amp;need=legal-aid"' in page


def test_empty_result_suggests_what_to_try_and_shows_the_regions_hotlines(client, world):
    page = html(client, "/search/?region=US-TX&q=zzzzzz")
    assert "0 results" in page
    assert "Remove a filter" in page
    assert "National Trafficking Line" in page
    uganda = html(client, "/search/?region=UG&q=zzzzzz")
    assert "National Trafficking Line" not in uganda
    assert "No hotline in our directory serves this region yet" in uganda


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "x" * 5000,
        "q=%22%22%22",
        "q=%25",
        "q=%27",
        "q=%F0%9F%98%80",
        "q=%00",
        "q=a%00b&region=%00",
        "need=%00",
        "need=no-such-need",
        "region=Atlantis",
        "region=" + "y" * 5000,
        "language=klingon",
        "delivery=teleport",
        "open_now=banana&free=42",
        "page=abc",
        "page=99999",
        "page=-1",
        "region=UG&region=UG&region=%20",
    ],
)
def test_nonsense_input_gives_a_normal_page(client, world, query):
    response = client.get(f"/search/?{query}")
    assert response.status_code == HTTPStatus.OK
    assert b"Search for help" in response.content


def test_unknown_filters_are_explained(client, world):
    page = html(client, "/search/?need=no-such-need&region=Atlantis&region=UG")
    assert "We have no need called “no-such-need”" in page
    assert "Atlantis" in page
    assert "That filter was left out" in page


def test_long_query_is_shortened_with_a_notice(client, world):
    page = html(client, "/search/?q=" + "shelter " * 600)
    assert "only its first 200 characters" in page


@pytest.mark.parametrize("url", ["/", "/search/", "/hotlines/"])
def test_only_get_and_head_are_allowed(client, db, url):
    assert client.post(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.head(url).status_code == HTTPStatus.OK


def test_unknown_service_is_not_found(client, db):
    assert client.get("/services/00000000-0000-0000-0000-000000000000/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/services/not-a-uuid/").status_code == HTTPStatus.NOT_FOUND


def test_not_found_page_points_to_search_and_hotlines(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"We could not find that page" in response.content
    assert b'href="/hotlines/"' in response.content


def test_needs_are_offered_as_a_tree(client, world):
    page = html(client, "/search/")
    legal, record, immigration, visa = (
        page.index(label) for label in ("Legal aid", "Record clearing", "Immigration relief", "T visa")
    )
    assert immigration < visa < legal < record


def test_a_chosen_region_stays_selected_even_when_no_service_names_it(client, world):
    page = html(client, "/search/?region=US-NY")
    # The national hotline serves New York.
    assert '<option value="US-NY" selected>New York (United States) (1)</option>' in page


def test_organization_page_runs_a_constant_number_of_queries(client, world):
    organization = world["legal"].organization
    url = organization.get_absolute_url()
    before, _page = _query_count(client, url)
    for number in range(8):
        service = make_service(organization=organization, name=f"Clinic {number}", terms=[world["legal"].terms.first()])
        make_phone(service=service, number="+17135550100")
        make_schedule(service=service, open_24_7=True)
    after, page = _query_count(client, url)
    assert "Clinic 7" in page
    assert after == before


def test_intake_phone_of_a_confidential_place_is_shown_without_its_address(client, world):
    home = world["restore"].service_at_locations.first().location
    make_phone(location=home, number="+256414000000")
    page = html(client, f"/services/{world['restore'].uuid}/")
    assert "Intake line" in page
    assert 'href="tel:+256414000000"' in page
    assert "Plot 7 Secret Road" not in page


def test_a_service_without_any_contact_points_to_the_hotlines(client, world):
    page = html(client, f"/services/{world['restore'].uuid}/")
    assert "No phone number is listed for this service." in page
    assert 'href="/hotlines/"' in page


def test_temporarily_closed_service_is_not_shown_as_open(client, world):
    Service.objects.filter(pk=world["hotline"].pk).update(status=Service.Status.TEMPORARILY_CLOSED)
    page = html(client, f"/services/{world['hotline'].uuid}/")
    assert "Temporarily closed" in page
    assert "Open now" not in page


def test_hotlines_come_in_the_curators_order(client, world):
    first = make_service(name="Zeta Trafficking Line")
    make_hotline(first, position=1)
    page = html(client, "/")
    assert page.index("Zeta Trafficking Line") < page.index("National Trafficking Line")


def test_age_range_reads_naturally(client, world):
    Service.objects.filter(pk=world["legal"].pk).update(minimum_age=18)
    assert "Ages: 18 and over" in html(client, f"/services/{world['legal'].uuid}/")
    Service.objects.filter(pk=world["legal"].pk).update(minimum_age=None, maximum_age=17)
    assert "Ages: up to 17" in html(client, f"/services/{world['legal'].uuid}/")


def test_every_chosen_region_and_language_survives_a_new_search(client, world):
    page = html(client, "/search/?region=UG&region=US-CA&language=es&language=lg")
    assert '<option value="UG" selected>' in page
    assert '<input type="hidden" name="region" value="US-CA">' in page
    assert '<input type="hidden" name="language" value="lg">' in page


def test_ambiguous_region_name_asks_which_one(client, world):
    page = html(client, "/search/?region=Punjab")
    assert "names several places" in page
    assert "IN-PB" in page


def _hotline_names(page):
    return [name for name in (f"Extra Line {number:02d}" for number in range(30)) if name in page]


def test_home_shows_the_first_hotlines_and_the_hotlines_page_lists_them_all_a_page_at_a_time(client, world, settings):
    settings.RESULTS_PER_PAGE = 10
    for number in range(30):
        make_hotline(make_service(name=f"Extra Line {number:02d}"), position=number + 1)
    home = html(client, "/")
    assert _hotline_names(home) == [f"Extra Line {number:02d}" for number in range(6)]
    assert "More hotlines" in home
    pages = [html(client, f"/hotlines/?page={number}") for number in (1, 2, 3, 4)]
    shown = [_hotline_names(page) for page in pages]
    assert [len(names) for names in shown] == [10, 10, 10, 0]
    assert [name for names in shown for name in names] == [f"Extra Line {number:02d}" for number in range(30)]
    assert "Page 1 of 4" in pages[0]
    assert 'rel="next"' in pages[0]
    # The world's own hotline comes after the thirty in the curators' order.
    assert "National Trafficking Line" in pages[3]
    # The same page (the language links keep the query string as it was typed).
    nonsense = html(client, "/hotlines/?page=nonsense")
    assert nonsense.replace("?page=nonsense", "?page=1") == pages[0]


def test_home_links_to_all_hotlines_when_it_shows_them_all(client, world):
    assert "All hotlines and what happens" in html(client, "/")


def test_result_counts_are_grouped_in_thousands(client, needs):
    from .test_export import bulk_directory

    bulk_directory(1005, needs["record-clearing"])
    page = html(client, "/search/")
    assert "1,005 results" in page
