"""load_cards(): what a result card shows, read for a whole list of services at once. A card must come out
exactly as it does from for_listing()'s prefetching, in any language, for every kind of listing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import set_script_prefix
from django.utils import translation

from resources.cards import service_card
from resources.demo import load_demo_data
from resources.models import Address, Phone, Service, ServiceArea, ServiceTranslation, cards_of, load_cards

from .conftest import (
    make_area,
    make_location,
    make_organization,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
)

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

    assert queries(1) == queries(30) == 12  # the services, then 11
    assert load_cards([]) == []


def test_every_text_on_a_card_is_escaped(db):
    """The card is built in Python (resources/cards.py): what a template would have escaped is escaped there."""
    hostile = '<b onmouseover="x">&\'</b>'
    organization = make_organization(name=f"Org {hostile}")
    service = make_service(
        organization=organization,
        name=f"Name {hostile}",
        description=f"Described {hostile}",
        alert=f"Alert {hostile}",
        status=Service.Status.TEMPORARILY_CLOSED,
    )
    make_phone(service=service, number="+18883737888", type=Phone.Type.TEXT, text_keyword=f"KW{hostile}")
    make_phone(service=service, number="+18883737889", extension="12", description=f"Line {hostile}")
    make_area(service, ServiceArea.Kind.OTHER, name=f"Area {hostile}")
    (loaded,) = load_cards(list(Service.objects.filter(pk=service.pk).for_cards()))
    loaded.distance_text, loaded.nearest_city = f"2 miles {hostile}", f"City {hostile}"

    card = service_card(loaded)

    assert "<b " not in card
    assert 'onmouseover="' not in card
    escaped = "&lt;b onmouseover=&quot;x&quot;&gt;&amp;&#x27;&lt;/b&gt;"
    for text in ("Org ", "Name ", "Described ", "Alert ", "KW", "Line ", "Area ", "2 miles ", "City "):
        assert text + escaped in card, text
    assert "sms:+18883737888?&amp;body=KW%3Cb" in card  # the keyword in the link, quoted, then escaped
    assert '<span class="muted">ext. 12</span>' in card


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_a_card_speaks_the_pages_language_and_links_to_the_listing_in_it(directory, language):
    """The sentences and the address a card repeats are worked out once per language (cards._words): each
    card still gets them in the language of its page, as gettext and get_absolute_url() give them."""
    services = list(Service.objects.published().order_by("pk").for_cards()[:3])
    try:
        for prefix in ("/", "/directory/"):
            set_script_prefix(prefix)
            with translation.override(language):
                for service in load_cards(services):
                    card = service_card(service)
                    assert f'<a href="{service.get_absolute_url()}">' in card
                    assert translation.gettext("Add to shortlist") in card
                    assert str(service.uuid) in service.get_absolute_url()
                assert service.get_absolute_url().startswith(f"{prefix}{language}/" if language != "en" else prefix)
    finally:
        set_script_prefix("/")
    with translation.override("es"):
        assert "Añadir a mi lista" in service_card(load_cards(services)[0])


def test_cards_of_ids_are_the_cards_of_the_queryset_in_the_order_of_the_ids(directory):
    """cards_of() (a search page's results, which are ids) gives what for_cards() and load_cards() give."""
    published = list(Service.objects.published().order_by("-name").values_list("pk", flat=True))
    ids = [*published[::2], 10**9]  # in no order of the table's, and one id that is no listing
    with CaptureQueriesContext(connection) as reading:
        found = cards_of(ids)
    assert len(reading) == 14  # the services, their organizations and hotlines, then load_cards' 11
    expected = {service.pk: service for service in load_cards(list(Service.objects.filter(pk__in=ids).for_cards()))}
    assert [service.pk for service in found] == ids[:-1]
    assert any(service.hotline_or_none for service in found)
    assert not all(service.hotline_or_none for service in found)
    with CaptureQueriesContext(connection) as rendering:
        cards = _cards(found)
    assert not rendering.captured_queries
    assert cards == _cards(expected[pk] for pk in ids[:-1])
    for service in found:
        assert service.organization == expected[service.pk].organization
        assert service.hotline_or_none == expected[service.pk].hotline_or_none
        if service.hotline_or_none:
            assert service.hotline.service is service
    assert cards_of([]) == []


def test_a_row_deleted_between_two_statements_is_left_out(directory, monkeypatch):
    """Each statement of cards_of() and load_cards() sees the database as it is then: a place, or a service's
    organization, that a curator deletes between two of them is left out of the page, never a server error."""
    from resources.models import Location, Organization
    from resources.models.services import _card_reads

    reads = _card_reads()
    place = Location.objects.get(name="Second door")
    doomed = make_organization(name="Doomed")
    moved = Service.objects.get(name="Second phone")
    moved.organization = doomed
    moved.save()
    read_links, read_services = reads["links"].rows, reads["services"].rows

    def links_then_delete(using, *arguments):
        found = read_links(using, *arguments)
        place.delete()  # (its links go with it, but they were read)
        return found

    def services_then_move(using, *arguments):
        found = read_services(using, *arguments)
        Service.objects.filter(pk=moved.pk).update(organization=make_organization(name="Elsewhere"))
        doomed.delete()
        return found

    monkeypatch.setattr(reads["links"], "rows", links_then_delete)
    monkeypatch.setattr(reads["services"], "rows", services_then_move)
    ids = list(Service.objects.published().order_by("pk").values_list("pk", flat=True))
    found = cards_of(ids)
    assert [service.pk for service in found] == [pk for pk in ids if pk != moved.pk]
    assert not any(link.location_id == place.pk for service in found for link in service.service_at_locations.all())
    assert not Organization.objects.filter(pk=doomed.pk).exists()
