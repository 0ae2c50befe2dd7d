"""The shortlist and the referral sheet: /shortlist/?s=<uuid>,... and /shortlist/sheet/?s=<uuid>,...

The list itself is kept in the browser (shortlist.js, tested in test_browser.py); these pages render what
the address names: public listings only, in the order given, in a constant number of queries, quietly
ignoring what is not a UUID of a public listing, and setting no cookie.
"""

import datetime
import re
import uuid
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from resources.models import Phone, ServiceArea
from resources.shortlist import MAX_LISTINGS, parse_ids

from .conftest import (
    make_area,
    make_language,
    make_location,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
)
from .world import HIDDEN, build_world

pytestmark = pytest.mark.django_db

PAGES = ("/shortlist/", "/shortlist/sheet/")


@pytest.fixture
def world(needs, populations):
    return build_world(needs, populations)


def get(client, url, ids=None):
    response = client.get(url, {"s": ",".join(str(value) for value in ids)} if ids is not None else {})
    assert response.status_code == HTTPStatus.OK, url
    assert "Set-Cookie" not in response.headers
    return response.content.decode()


def shown_names(page, names):
    """The names among `names` in the page, in the order they appear."""
    found = [(page.find(f">{name}<"), name) for name in names if f">{name}<" in page]
    return [name for _, name in sorted(found)]


def title(page):
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


ALL = ["National Trafficking Line", "Restore Home", "Houston Record Clearing Clinic", "T Visa Project"]


@pytest.mark.parametrize("url", PAGES)
def test_shows_the_listings_in_the_order_given(client, world, url):
    ids = [world["visa"].uuid, world["hotline"].uuid, world["legal"].uuid]
    page = get(client, url, ids)
    assert shown_names(page, ALL) == ["T Visa Project", "National Trafficking Line", "Houston Record Clearing Clinic"]
    page = get(client, url, list(reversed(ids)))
    assert shown_names(page, ALL) == ["Houston Record Clearing Clinic", "National Trafficking Line", "T Visa Project"]


@pytest.mark.parametrize("url", PAGES)
def test_shows_only_published_listings(client, world, url):
    ids = [world[name].uuid for name in (*HIDDEN, "legal")]
    page = get(client, url, ids)
    assert "Houston Record Clearing Clinic" in page
    for name in HIDDEN:
        assert world[name].name not in page
    # Nor in the list the links are made of (the language links repeat the address as it was asked).
    assert f'data-ids="{world["legal"].uuid}"' in page


@pytest.mark.parametrize("url", PAGES)
def test_a_listing_not_checked_for_too_long_is_left_out(client, world, url, settings):
    settings.FRESHNESS_HIDE_AFTER_DAYS = 30
    old = make_service(name="Long Unchecked Program", assured_date=timezone.localdate() - datetime.timedelta(days=400))
    old.review_state_changed_at = timezone.now() - datetime.timedelta(days=400)
    old.save()
    page = get(client, url, [old.uuid, world["legal"].uuid])
    assert "Long Unchecked Program" not in page


@pytest.mark.parametrize("url", PAGES)
def test_titles_stay_neutral(client, world, url):
    page = get(client, url, [world["restore"].uuid, world["hotline"].uuid])
    assert title(page).split(" · ")[0] in {"Shortlist", "Referral sheet"}
    for name in ALL:
        assert name not in title(page)


@pytest.mark.parametrize(
    "raw",
    [
        "garbage",
        "'; DROP TABLE resources_service; --",
        "<script>alert(1)</script>",
        ",,,,",
        " , , ",
        "00000000-0000-0000-0000-000000000000",
        "%00%ff",
        "😀" * 1000,
        "x" * 10_240,
        ",".join([str(uuid.uuid4())] * 400),
        "{12345678-1234-5678-1234-567812345678}",
    ],
)
@pytest.mark.parametrize("url", PAGES)
def test_nonsense_gives_a_normal_page(client, world, url, raw):
    response = client.get(url, {"s": raw})
    assert response.status_code == HTTPStatus.OK
    assert b"<script>alert" not in response.content


@pytest.mark.parametrize("url", PAGES)
def test_unknown_and_malformed_ids_are_ignored_quietly(client, world, url):
    raw = f"nonsense,{uuid.uuid4()},{world['legal'].uuid},42,{str(world['hotline'].uuid).upper()}"
    page = get(client, url + "?s=" + raw)
    assert shown_names(page, ALL) == ["Houston Record Clearing Clinic", "National Trafficking Line"]
    assert f'data-ids="{world["legal"].uuid},{world["hotline"].uuid}"' in page


@pytest.mark.parametrize("url", PAGES)
def test_a_listing_given_twice_is_shown_once(client, world, url):
    legal = world["legal"].uuid
    page = get(client, url, [legal, world["hotline"].uuid, legal, legal])
    assert page.count(">Houston Record Clearing Clinic<") == 1
    assert shown_names(page, ALL) == ["Houston Record Clearing Clinic", "National Trafficking Line"]


def test_parse_ids_keeps_order_drops_repeats_and_stops_at_the_cap():
    first, second = uuid.uuid4(), uuid.uuid4()
    assert parse_ids(f" {second} ,junk,{first},{second}") == [second, first]
    many = [uuid.uuid4() for _ in range(MAX_LISTINGS + 20)]
    assert parse_ids(",".join(map(str, many))) == many[:MAX_LISTINGS]
    assert parse_ids("") == []
    assert parse_ids("," * 100_000) == []


def test_the_shortlist_is_capped(client, world):
    extra = [make_service(name=f"Capped Program {number:02d}") for number in range(MAX_LISTINGS + 2)]
    page = get(client, "/shortlist/", [service.uuid for service in extra])
    assert page.count('<article class="card') == MAX_LISTINGS
    assert "Capped Program 49" in page
    assert "Capped Program 50" not in page


def test_the_shortlist_page_shows_cards_a_share_link_and_the_sheet_link(client, world):
    ids = [world["legal"].uuid, world["hotline"].uuid]
    page = get(client, "/shortlist/", [*ids, uuid.uuid4()])
    joined = ",".join(map(str, ids))
    assert page.count('<article class="card') == 2
    # The share link names the listings shown (not the unknown one), as an absolute address.
    assert f'value="http://testserver/shortlist/?s={joined}"' in page
    assert f'href="/shortlist/sheet/?s={joined}"' in page
    assert f'data-ids="{joined}"' in page
    # Each card can be taken off the list (with JavaScript), named for its listing.
    assert f'data-shortlist-id="{ids[0]}" aria-pressed="false"' in page
    assert 'Add to shortlist<span class="visually-hidden">: Houston Record Clearing Clinic</span>' in page
    assert 'id="shortlist-clear"' in page
    assert "tel:+18883737888" in page
    assert "sms:233733" in page


def test_without_a_list_the_shortlist_page_explains_itself(client, world):
    page = get(client, "/shortlist/")
    assert "Your shortlist is empty" in page
    assert "needs JavaScript" in page
    assert '<article class="card' not in page
    assert 'data-page-url="/shortlist/"' in page


def test_a_link_whose_listings_are_gone_says_so(client, world):
    page = get(client, "/shortlist/", [world["draft"].uuid, uuid.uuid4()])
    assert "None of the listings in this link can be shown" in page
    assert '<article class="card' not in page


def test_the_sheet_has_what_a_referral_needs_and_the_date(client, world):
    legal, hotline = world["legal"], world["hotline"]
    legal.application_process = "Walk in on Monday mornings with any papers you have."
    legal.save()
    page = get(client, "/shortlist/sheet/", [legal.uuid, hotline.uuid])
    assert "Printed " + timezone.localdate().strftime("%-d %B %Y") in page
    assert "Referral sheet" in page
    assert "Walk in on Monday mornings" in page  # how to apply
    assert "1-888-373-7888" in page  # the numbers are written out
    assert "1-713-555-0100" in page
    assert 'href="tel:+18883737888"' in page  # and still tappable on screen
    assert "Text 233733" in page
    assert "Open 24 hours a day, 7 days a week" in page  # hours
    assert "09:00–17:00" in page
    assert "1 Main Street, Houston, TX" in page  # the address of a public place
    assert "Serves: United States" in page
    assert 'id="print-sheet"' in page
    assert 'href="/shortlist/?s=' in page  # back to the same shortlist


def test_the_sheet_shows_an_intake_line_and_only_the_city_of_a_confidential_place(client, world):
    restore = world["restore"]
    place = restore.service_at_locations.get().location
    make_phone(location=place, number="+256414111222", country="UG")
    page = get(client, "/shortlist/sheet/", [restore.uuid])
    assert "Intake line" in page
    assert "414" in page
    assert "Kampala" in page
    assert "Confidential location" in page
    assert "Plot 7 Secret Road" not in page
    assert "No phone number is listed" not in page


def test_the_sheet_says_when_no_phone_is_listed(client, world):
    page = get(client, "/shortlist/sheet/", [world["visa"].uuid])
    assert "No phone number is listed for this service." in page


def test_the_sheet_of_nothing_says_so(client, world):
    page = get(client, "/shortlist/sheet/", [])
    assert "No listings to print" in page


def add_listings(count):
    services = []
    for number in range(count):
        service = make_service(name=f"Counted Program {number}", is_free=True)
        make_area(service, ServiceArea.Kind.COUNTRY, country="US")
        phone = make_phone(service=service, number="+18883737888")
        make_language(phone=phone, code="fr")
        make_phone(service=service, number="233733", country="US", type=Phone.Type.TEXT)
        make_schedule(service=service, open_24_7=True)
        make_language(service=service, code="es")
        place = make_location(country="US", state_province="TX", city="Austin", address_1="2 Oak Street")
        make_service_at_location(service, place)
        make_phone(location=place, number="+15125550100")
        make_schedule(location=place, open_24_7=True)
        services.append(service)
    return services


@pytest.mark.parametrize("url", PAGES)
def test_the_number_of_queries_does_not_grow_with_the_listings(client, world, url):
    def count(services):
        with CaptureQueriesContext(connection) as queries:
            page = get(client, url, [service.uuid for service in services])
        assert page.count(">Counted Program") == len(services)
        return len(queries)

    services = add_listings(12)
    assert count(services[:1]) == count(services[:3]) == count(services)


def test_no_query_at_all_without_a_list(client, world, django_assert_num_queries):
    with django_assert_num_queries(0):
        get(client, "/shortlist/")


@pytest.mark.parametrize("url", PAGES)
def test_only_get_and_head_are_allowed(client, db, url):
    assert client.post(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.head(url).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "url",
    ["/", "/search/", "/hotlines/", "/safety/", "/services/{legal}/", "/organizations/{organization}/"],
)
def test_listings_elsewhere_have_a_shortlist_button_and_every_page_the_shortlist_link(client, world, url):
    legal = world["legal"]
    page = get(client, url.format(legal=legal.uuid, organization=legal.organization.uuid))
    assert '<a href="/shortlist/">Shortlist (<span id="shortlist-count">0</span>)</a>' in page
    assert '<script src="/static/resources/shortlist.js" defer></script>' in page
    if url.startswith(("/services/", "/organizations/", "/search/")):
        assert f'data-shortlist-id="{legal.uuid}"' in page
        assert 'class="secondary shortlist-toggle js-only"' in page
