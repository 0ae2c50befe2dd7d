"""Work handed to a helper thread (resources.aside): the search page's facet samples, read while the page reads
its results. A helper has its own connection, so it only works outside a transaction: these tests commit."""

import threading
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.utils import translation

from resources import search
from resources.aside import aside, stop_helpers
from resources.filters import ServiceFilter
from resources.models import Service, ServiceArea

from .conftest import make_area, make_service

here = threading.get_ident


def _where_and_what():
    """The thread it runs in, its language, and how many services its connection sees."""
    return here(), translation.get_language(), Service.objects.count()


@pytest.mark.django_db
def test_inside_a_transaction_the_work_is_done_at_once_in_this_thread():
    """A helper's connection would not see what this transaction has not committed."""
    make_service(name="Uncommitted")
    assert connection.in_atomic_block
    ran = []
    result = aside(lambda: ran.append(here()) or _where_and_what())
    assert ran == []  # done when the result is asked for, in the order it would be without helpers
    assert result() == (here(), "en", 1)
    assert result() == (here(), "en", 1)
    assert ran == [here()]  # once


@pytest.mark.django_db
def test_what_the_work_raised_is_raised_when_its_result_is_asked_for():
    def broken():
        raise LookupError("no such facet")

    result = aside(broken)
    with pytest.raises(LookupError, match="no such facet"):
        result()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_helper_does_the_work_in_the_language_of_the_request():
    make_service(name="Committed")
    assert not connection.in_atomic_block
    with translation.override("es"):
        result = aside(_where_and_what)
    thread, language, services = result()
    assert thread != here()
    assert (language, services) == ("es", 1)
    assert translation.get_language() == "en"  # the helper's language never leaks into the asker's


@pytest.mark.django_db(transaction=True)
def test_a_helpers_failure_is_raised_in_the_asking_thread():
    def broken():
        Service.objects.get(name="Nothing of the kind")

    result = aside(broken)
    with pytest.raises(Service.DoesNotExist):
        result()


@pytest.mark.django_db(transaction=True)
@override_settings(SEARCH_HELPER_THREADS=0)
def test_with_no_helper_threads_the_work_is_done_here():
    result = aside(_where_and_what)
    assert result()[0] == here()


@pytest.mark.django_db(transaction=True)
@override_settings(SEARCH_HELPER_THREADS=1)
def test_work_no_helper_has_started_is_done_by_the_asker_rather_than_waited_for():
    """The only helper is busy (with another request's work, say): waiting for it would be slower."""
    release, busy = threading.Event(), threading.Event()
    blocker = aside(lambda: (busy.set(), release.wait(10)))
    assert busy.wait(10)
    ran = []
    queued = aside(lambda: ran.append(here()) or "done")
    assert queued() == "done"
    assert queued() == "done"
    assert ran == [here()]
    release.set()
    assert blocker()[1] is True
    # Once the helper is free again, it takes the next piece of work.
    started = threading.Event()
    later = aside(lambda: started.set() or here())
    assert started.wait(10)
    assert later() != here()


@pytest.mark.django_db(transaction=True)
def test_in_a_transaction_begun_by_turning_autocommit_off_the_work_is_done_in_this_thread():
    connection.set_autocommit(False)
    try:
        assert not connection.in_atomic_block
        make_service(name="Uncommitted")
        result = aside(_where_and_what)
        assert result() == (here(), "en", 1)  # a helper would have seen no service
    finally:
        connection.rollback()
        connection.set_autocommit(True)


@pytest.mark.django_db(transaction=True)
def test_stopped_helpers_end_closing_their_connections_and_later_work_starts_new_ones():
    make_service()
    opened = []
    aside(lambda: (connection.cursor().close(), opened.append(connection.connection)))()
    assert any(thread.name.startswith("aside") for thread in threading.enumerate())
    stop_helpers()
    assert not any(thread.name.startswith("aside") for thread in threading.enumerate())
    if connection.vendor == "postgresql":  # (Django never closes SQLite's in-memory test database)
        assert opened[0].closed
    assert aside(_where_and_what)()[2] == 1


@pytest.fixture
def tagged(needs, populations):
    """Forty services with one need each, some for women, a third in Texas: the facets' filters have something
    to leave out."""
    made = []
    for number in range(40):
        terms = [needs["legal-aid"] if number % 2 else needs["emergency-shelter"]]
        if number % 5 == 0:
            terms.append(populations["women"])
        service = make_service(name=f"Harbor {number:02d}", description="A harbor for people.", terms=terms)
        if number % 3 == 0:
            make_area(service, ServiceArea.Kind.SUBDIVISION, subdivision="US-TX", country="US")
        made.append(service)
    return made


SEARCHES = [
    {"q": "harbor", "need": "legal-aid", "population": "women"},
    {"need": "emergency-shelter", "region": "US-TX"},
    {"q": "harbor", "region": "US-TX", "population": "women"},
]


def _facets(data, *, started):
    found = ServiceFilter(QueryDict(urlencode(data, doseq=True)), queryset=Service.objects.published())
    found.results()
    if started:
        found.start_facets()
    return found.facets()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("data", SEARCHES)
def test_facet_samples_read_by_a_helper_count_as_those_read_in_turn(tagged, monkeypatch, data):
    threads = []
    sample = search.IndexQuery.sample
    monkeypatch.setattr(search.IndexQuery, "sample", lambda self, *a: threads.append(here()) or sample(self, *a))
    beside = _facets(data, started=True)
    assert any(thread != here() for thread in threads)  # a facet's sample was read by a helper
    read_beside, threads[:] = len(threads), []
    with override_settings(SEARCH_HELPER_THREADS=0):
        in_turn = _facets(data, started=True)
    assert set(threads) == {here()}
    threads.clear()
    assert beside == in_turn == _facets(data, started=False)
    assert read_beside == len(threads)  # each sample read once, by the helper or here
    assert any(choice.count for choices in beside.values() for choice in choices)


@pytest.mark.django_db(transaction=True)
def test_the_search_page_is_the_same_with_and_without_helpers(tagged, client):
    query = {"q": "harbor", "need": "legal-aid", "population": "women", "region": "US-TX"}
    beside = client.get("/search/", query)
    with override_settings(SEARCH_HELPER_THREADS=0):
        in_turn = client.get("/search/", query)
    assert beside.status_code == in_turn.status_code == 200
    assert beside.content == in_turn.content
    assert b"Harbor" in beside.content


@pytest.mark.django_db(transaction=True)
def test_a_facet_in_use_that_start_facets_does_not_know_is_read_in_turn(tagged, monkeypatch):
    data = {"need": "emergency-shelter", "region": "US-TX"}
    with override_settings(SEARCH_HELPER_THREADS=0):
        expected = _facets(data, started=False)
    monkeypatch.setattr(ServiceFilter, "FACETS", ("need",))
    assert _facets(data, started=True) == expected
