"""load_cards(): what a result card shows, read for a whole list of services at once. A card must come out
exactly as it does from for_listing()'s prefetching, in any language, for every kind of listing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from resources.cards import service_card
from resources.demo import load_demo_data
from resources.models import Address, Service, ServiceTranslation, load_cards

from .conftest import make_location, make_phone, make_schedule, make_service, make_service_at_location

pytestmark = pytest.mark.django_db

RELATIONS = ("phones", "schedules", "service_areas", "terms", "service_at_locations")


@pytest.fixture
def directory(db):
    load_demo_data()
    # What the demo data lacks: a translation, a place's own hours and addresses, several phones in order.
    service = Service.objects.published().order_by("pk").first()
    ServiceTranslation.objects.create(service=service, language="es", description="Ayuda legal gratuita.")
    place = make_location(country="US", state_province="TX", city="Houston", name="Second door")
    Address.objects.create(location=place, address_type=Address.Type.POSTAL, country="US", city="Houston")
    make_schedule(location=place, opens_at=datetime.time(9), closes_at=datetime.time(17), byday="MO,TU")
    make_schedule(location=place, open_24_7=True)
    make_service_at_location(service, place)
    other = make_service(name="Second phone")
    make_phone(service=other, number="+18883737888", position=2)
    make_phone(service=other, number="+442071234567", position=1)
    make_service_at_location(other, place)


def _cards(services):
    return [service_card(service) for service in services]


@pytest.mark.parametrize("language", ["en", "es"])
def test_cards_are_what_for_listing_shows(directory, language):
    with translation.override(language):
        published = Service.objects.published().order_by("name", "pk")
        expected = list(published.for_listing())
        loaded = load_cards(list(published.for_cards()))
        assert len(loaded) == len(expected) > 10
        for mine, theirs in zip(loaded, expected, strict=True):
            for name in RELATIONS:
                assert list(getattr(mine, name).all()) == list(getattr(theirs, name).all()), (mine.name, name)
            for link, their_link in zip(
                mine.service_at_locations.all(), theirs.service_at_locations.all(), strict=True
            ):
                for name in ("addresses", "schedules"):
                    assert list(getattr(link.location, name).all()) == list(getattr(their_link.location, name).all())
            assert mine.translation == theirs.translation
        with CaptureQueriesContext(connection) as rendering:
            cards = _cards(loaded)
        assert not rendering.captured_queries  # everything was loaded
        assert cards == _cards(expected)
        assert ("Ayuda legal gratuita." in "".join(cards)) is (language == "es")


def test_cards_cost_the_same_queries_for_one_service_or_many(directory):
    def queries(count):
        with CaptureQueriesContext(connection) as captured:
            load_cards(list(Service.objects.published().order_by("pk").for_cards()[:count]))
        return len(captured)

    assert queries(1) == queries(30) == 10  # the services, then 9
    assert load_cards([]) == []
