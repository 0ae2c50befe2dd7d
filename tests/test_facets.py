"""Facet counts: how many results each choice would leave, under every other filter (disjunctive)."""

from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from resources import search
from resources.facets import Choice, languages_in_use
from resources.filters import ServiceFilter, regions_in_use
from resources.models import Phone, Service, ServiceArea, Taxonomy

from .conftest import (
    make_area,
    make_language,
    make_location,
    make_phone,
    make_service,
    make_service_at_location,
    make_term,
)
from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(needs, populations):
    return build_world(needs, populations)


def filterset(data):
    return ServiceFilter(QueryDict(urlencode(data, doseq=True)), queryset=Service.objects.published())


def counts(data, facet):
    return {choice.value: choice.count for choice in filterset(data).facets()[facet]}


def result_count(data):
    return filterset(data).qs.count()


def test_needs_count_each_service_under_its_need_and_every_need_above(world):
    assert counts({}, "need") == {
        "legal-aid": 1,  # the clinic, through record clearing
        "record-clearing": 1,
        "immigration-relief": 1,  # the T visa project, through T visa
        "t-visa": 1,
        "emergency-shelter": 1,
        "reporting-trafficking": 1,
    }


def test_a_service_with_a_need_and_one_below_it_counts_once(world, needs):
    make_service(name="Both", terms=[needs["legal-aid"], needs["record-clearing"]])
    make_service(name="Grandchild", terms=[make_term(Taxonomy.NEEDS, "expungement", parent=needs["record-clearing"])])
    found = counts({}, "need")
    assert found["legal-aid"] == 3
    assert found["record-clearing"] == 3
    assert found["expungement"] == 1


def test_a_facets_own_choice_does_not_zero_its_other_values(world):
    found = counts({"need": "legal-aid"}, "need")
    assert found["legal-aid"] == 1
    assert found["emergency-shelter"] == 1
    assert found["reporting-trafficking"] == 1


def test_other_facets_are_counted_under_the_chosen_need(world):
    assert counts({"need": "legal-aid"}, "language") == {"es": 1}
    assert counts({"need": "legal-aid"}, "delivery") == {"in_person": 1, "phone": 1}
    assert counts({"need": ["legal-aid", "emergency-shelter"]}, "language") == {"es": 1, "en": 1, "lg": 1}


def test_several_filters_at_once(world):
    data = {"region": "US", "free": "on", "language": ["en", "es"]}
    # Under region, free and language: the hotline (en) and the clinic (es).
    assert counts(data, "need") == {"legal-aid": 1, "record-clearing": 1, "reporting-trafficking": 1}
    # Languages are counted without the language filter, but under region and free.
    assert counts(data, "language") == {"en": 1, "es": 1}
    # Regions are counted without the region filter: Uganda's home is neither free nor in these languages.
    assert counts(data, "region") == {"US": 2, "US-TX": 2, "US-CA": 1}
    assert counts(data, "delivery") == {"in_person": 1, "phone": 2, "text": 1}


def test_regions_count_services_located_in_them_or_serving_them(world):
    found = counts({}, "region")
    assert found["US"] == 3  # hotline (whole US), clinic (in Houston), T visa project (California)
    assert found["US-TX"] == 2  # the clinic, and the US-wide hotline
    assert found["US-CA"] == 2  # the T visa project, and the US-wide hotline
    assert found["UG"] == 1
    assert found["UG-102"] == 1  # Kampala, where the home is


def test_a_worldwide_service_counts_in_every_region(world):
    chat = make_service(name="Worldwide Chat")
    make_area(chat, ServiceArea.Kind.WORLDWIDE)
    found = counts({}, "region")
    assert found["UG"] == 2
    assert found["US-TX"] == 3


def test_a_mailing_address_does_not_count_for_a_region(world):
    remote = make_service(name="Remote Advice Line")
    make_service_at_location(remote, make_location(country="GB", location_type="postal"))
    assert "GB" not in counts({}, "region")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"need": "legal-aid"},
        {"region": "US", "free": "on"},
        {"q": "line"},
        {"language": "en", "delivery": "phone"},
        {"population": "women", "need": ["emergency-shelter", "t-visa"]},
        {"near": "77002", "within": "100"},
    ],
)
def test_every_count_is_the_number_of_results_that_choice_gives(world, needs, data):
    """Ticking a choice alone in its facet (the other filters kept) gives exactly its count."""
    extra = make_service(name="Extra Phone Line", terms=[needs["record-clearing"], needs["legal-aid"]])
    make_phone(service=extra, number="+18005550100", type=Phone.Type.TEXT)
    make_language(phone=extra.phones.first(), code="fr")
    make_area(extra, ServiceArea.Kind.SUBDIVISION, country="UG", subdivision="UG-C")
    facets = filterset(data).facets()
    checked = 0
    for facet, choices in facets.items():
        for choice in choices:
            assert choice.count == result_count({**data, facet: choice.value}), (facet, choice.value)
            checked += 1
    assert checked >= 5


def test_choices_that_would_leave_nothing_are_hidden_unless_chosen(world):
    facets = filterset({"need": "legal-aid", "language": "lg"}).facets()
    # Under "Luganda", nothing is about legal aid, but the chosen need stays so it can be unticked.
    assert [(c.value, c.count) for c in facets["need"]] == [("emergency-shelter", 1), ("legal-aid", 0)]
    assert all(choice.count for choice in facets["population"] if not choice.selected)


def test_unknown_values_do_not_break_the_counts(world):
    facets = filterset({"need": "no-such-need", "region": "Atlantis", "language": "no-such-language"}).facets()
    assert {choice.value for choice in facets["need"]} >= {"legal-aid", "emergency-shelter"}


def test_counts_show_inside_each_choices_label(client, world):
    response = client.get("/search/?need=legal-aid")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert (
        '<label class="facet-choice"><input type="checkbox" name="need" value="legal-aid" checked> Legal aid '
        '<span class="count">(1)</span></label>'
    ) in page
    assert (
        '<label class="facet-choice depth-1"><input type="checkbox" name="need" value="t-visa"> T visa '
        '<span class="count">(1)</span></label>'
    ) in page
    assert '<option value="es">Spanish (1)</option>' in page
    assert '<option value="lg">' not in page  # Luganda would leave nothing under legal aid
    assert '<option value="US-TX">Texas (United States) (1)</option>' in page
    assert 'value="in_person"> In person <span class="count">(1)</span>' in page


def test_facet_controls_escape_their_labels_and_say_when_a_count_is_estimated():
    hostile = '<b onclick="x">&\'</b>'
    choices = [
        Choice(value=f"v{hostile}", label=f"Label {hostile}", count=12_000, approximate=True, depth=2),
        Choice(value="plain", label="Plain", count=7, selected=True),
        Choice(value="unknown", label="Unknown", count=None, approximate=True),
    ]
    escaped = "&lt;b onclick=&quot;x&quot;&gt;&amp;&#x27;&lt;/b&gt;"
    boxes = Template('{% load directory %}{% facet_checkboxes "need" legend choices %}').render(
        Context({"legend": f"Need {hostile}", "choices": choices})
    )
    assert "<b " not in boxes
    assert f"<legend>Need {escaped}</legend>" in boxes
    assert (
        f'<label class="facet-choice depth-2"><input type="checkbox" name="need" value="v{escaped}"> Label {escaped} '
        '<span class="count">(about 12,000)</span></label>'
    ) in boxes
    assert '<input type="checkbox" name="need" value="plain" checked> Plain <span class="count">(7)</span>' in boxes
    assert 'value="unknown"> Unknown <span class="count"></span>' in boxes
    options = Template("{% load directory %}{% facet_options choices chosen %}").render(
        Context({"choices": choices, "chosen": "plain"})
    )
    assert f'<option value="v{escaped}">Label {escaped} (about 12,000)</option>' in options
    assert '<option value="plain" selected>Plain (7)</option><option value="unknown">Unknown </option>' in options
    with translation.override("es"):
        spanish = Template("{% load directory %}{% facet_options choices '' %}").render(Context({"choices": choices}))
    assert "Label " + escaped + " (unos 12\xa0000)</option>" in spanish
    empty = Template('{% load directory %}{% facet_checkboxes "need" "Need" choices %}').render(
        Context({"choices": []})
    )
    assert (
        empty
        == '<fieldset><legend>Need</legend>\n<p class="muted">None of these fit the other filters.</p>\n</fieldset>'
    )


def test_search_page_queries_do_not_grow_with_results_or_facet_values(client, world, settings):
    settings.RESULTS_PER_PAGE = 50
    states = ["US-NY", "US-FL", "US-WA", "US-IL", "US-GA", "US-OH", "US-MI", "US-AZ", "US-CO", "US-OR", "US-NV"]
    languages = ["fr", "de", "vi", "ar", "zh", "ru", "ko", "pt", "hi", "tl", "so"]

    def add(numbers):
        for number in numbers:
            need = make_term(Taxonomy.NEEDS, f"need-{number}", name=f"Need {number}")
            population = make_term(Taxonomy.POPULATIONS, f"group-{number}")
            service = make_service(name=f"Listing {number}", terms=[need, population])
            make_area(service, ServiceArea.Kind.SUBDIVISION, country="US", subdivision=states[number])
            make_language(service=service, code=languages[number])
            place = make_location(country="US", state_province=states[number].split("-")[1], city="Town")
            make_service_at_location(service, place)
            make_phone(service=service, number="+17135550100")

    url = "/search/?" + urlencode({"region": "US", "need": "legal-aid", "language": "es", "q": "listing"})
    add(range(1))
    with CaptureQueriesContext(connection) as one:
        assert client.get("/search/").status_code == HTTPStatus.OK
    with CaptureQueriesContext(connection) as one_filtered:
        client.get(url)
    add(range(1, 11))
    cache.clear()  # the regions in use are kept a few minutes; here the new ones must be counted
    with CaptureQueriesContext(connection) as eleven:
        page = client.get("/search/").content.decode()
    with CaptureQueriesContext(connection) as eleven_filtered:
        client.get(url)
    assert "Listing 10" in page
    assert "Need 10 <span" in page  # its need is a counted choice
    assert "Oregon (United States) (2)" in page  # so is its state (with the US-wide hotline)
    assert len(eleven) == len(one)
    assert len(eleven_filtered) == len(one_filtered)


def test_the_lists_of_what_is_in_use_hold_what_public_services_offer_and_no_more(db):
    """The region and language lists of the search form: the keys of the index's vocabulary on SQLite, the codes
    of the tables on PostgreSQL, each kept if a public service holds it; the same lists either way."""
    open_service = make_service(name="Open door")
    make_service_at_location(open_service, make_location(country="US", state_province="TX"))
    make_area(open_service, ServiceArea.Kind.COUNTRY, country="UG")
    make_area(open_service, ServiceArea.Kind.SUBDIVISION, country="TH", subdivision="TH-10")
    make_language("lg", phone=make_phone(service=open_service))
    draft = make_service(name="Draft", review_state=Service.ReviewState.DRAFT)
    make_area(draft, ServiceArea.Kind.COUNTRY, country="FR")
    make_language("fr", service=draft)
    closed = make_service(name="Closed for good", status=Service.Status.DEFUNCT)
    make_service_at_location(closed, make_location(country="GB", state_province="London"))
    make_language("de", service=closed)

    def in_use():
        cache.clear()
        return {code for code, _label in regions_in_use()}, languages_in_use()

    assert in_use() == ({"US", "US-TX", "UG", "TH", "TH-10"}, ["lg"])
    draft.review_state = Service.ReviewState.PUBLISHED
    draft.save()
    assert in_use() == ({"US", "US-TX", "UG", "TH", "TH-10", "FR"}, ["fr", "lg"])
    # SQLite's index lists its keys; PostgreSQL's does not.
    assert (search.indexed_keys(["kl"]) is None) is (connection.vendor != "sqlite")
