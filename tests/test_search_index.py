"""Searching on the index alone (search.IndexQuery, ServiceFilter.results()): the same services, in the same
order, as the queryset path; samples and tiers once results are many."""

import math
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from resources import facets, search
from resources.filters import ServiceFilter
from resources.models import Service, ServiceArea
from resources.templatetags.directory import rounded

from .conftest import make_area, make_language, make_phone, make_schedule, make_service
from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(needs, populations):
    return build_world(needs, populations)


def filterset(data):
    return ServiceFilter(QueryDict(urlencode(data, doseq=True)), queryset=Service.objects.published())


def by_index(data):
    found = filterset(data)
    assert found.on_index()
    results = found.results()
    return [service.pk for service in results[0 : results.count()]]


def by_queryset(data):
    return list(filterset(data).qs.values_list("pk", flat=True))


SEARCHES = [
    {},
    {"q": "trafficking"},
    {"q": "legal help"},
    {"q": "clinic houston"},
    {"q": "shelter texas"},
    {"q": "visa"},
    {"q": "vis"},  # still typing
    {"q": "nothing like this anywhere"},
    {"need": "legal-aid"},
    {"need": ["legal-aid", "t-visa"]},
    {"need": "legal-aid", "population": "foreign-nationals"},
    {"population": "women"},
    {"region": "UG"},
    {"region": "US-TX"},
    {"region": "US"},
    {"region": ["UG", "US-CA"]},
    {"language": "es"},
    {"language": ["es", "lg"]},
    {"delivery": "text"},
    {"delivery": ["in_person", "online"]},
    {"free": "on"},
    {"q": "help", "region": "US", "free": "on"},
    {"q": "trafficking", "delivery": "phone", "language": "en"},
]


@pytest.mark.parametrize("data", SEARCHES, ids=[urlencode(data, doseq=True) or "everything" for data in SEARCHES])
def test_the_index_finds_what_the_queryset_finds_in_the_same_order(world, data):
    assert by_index(data) == by_queryset(data)


# Searches that each hidden service of the world would match, were it public: words, keys, both.
HIDDEN_MATCHES = [
    {},
    {"q": "shelter"},
    {"need": "emergency-shelter"},
    {"region": "UG"},
    {"q": "shelter", "region": "UG"},
]


@pytest.mark.parametrize("data", HIDDEN_MATCHES, ids=[urlencode(data) or "everything" for data in HIDDEN_MATCHES])
def test_the_index_never_shows_what_is_not_public(world, data):
    from .world import HIDDEN

    hidden = {world[name].pk for name in HIDDEN}
    assert len(hidden) == 4
    found = filterset(data)
    query = found.index_query()
    if data:  # some would match were they public (migration 0007: kpub0, or not knopub0)
        clauses = [clause if clause != [search.PUBLIC] else [search.PUBLIC, search.HIDDEN] for clause in query.clauses]
        assert hidden & set(search.IndexQuery(query.using, query.concepts, clauses).ids_of_matches())
    shown = by_index(data)
    assert shown
    assert not hidden & set(shown)
    assert not hidden & set(query.ids_of_matches())
    assert query.count() == len(shown) == len(by_queryset(data))
    sampled = query.keys()  # what facet counts read
    assert not hidden & {sid for sid, _keys in sampled}


def test_every_filter_of_the_search_page_runs_on_the_index_and_the_api_s_own_do_not(world):
    assert filterset({"open_now": "on", "near": "77002", "within": "25", "q": "help", "need": "legal-aid"}).on_index()
    assert filterset({"lat": "29.76", "lon": "-95.37", "free": "on", "language": "es"}).on_index()
    from resources.api.filters import HSDSServiceFilter

    def api(query):
        return HSDSServiceFilter.from_query(QueryDict(query), queryset=Service.objects.published())

    assert api("open_now=true&search=help").on_index()
    assert not api("modified_after=2026-01-01").on_index()
    assert not api(f"organization_id={world['legal'].organization.uuid}").on_index()
    assert filterset({"q": "help", "need": "legal-aid"}).on_index()


def test_a_page_past_the_end_is_empty(world):
    results = filterset({"q": "trafficking"}).results()
    assert list(results[results.count() : results.count() + 10]) == []


@pytest.fixture
def many(needs, populations):
    """Sixty-four services, a third of them in Texas."""
    made = []
    for number in range(64):
        service = make_service(
            name=f"Harbor {number:02d}",
            description="A harbor for people rebuilding their lives.",
            terms=[needs["legal-aid"] if number % 2 else needs["emergency-shelter"]],
        )
        if number % 3 == 0:
            make_area(service, ServiceArea.Kind.SUBDIVISION, subdivision="US-TX", country="US")
        made.append(service)
    return made


def expected_estimate(services, buckets, has):
    sampled = [service for service in services if service.pk % search.SAMPLE_BUCKETS < buckets and has(service)]
    return facets.estimate(len(sampled) * search.SAMPLE_BUCKETS / buckets) if sampled else None


@pytest.mark.parametrize(
    ("few_buckets", "range_blocks"), [(0, 0), (0, 10**6), (1024, 0)], ids=["by-modulo", "by-id-ranges", "by-key"]
)
def test_a_sample_holds_the_matches_of_its_buckets(many, monkeypatch, few_buckets, range_blocks):
    """A sample's buckets are asked for by their keys when few, else by the ids (their modulo, or on PostgreSQL
    the ranges of the first ids of each block): the same services."""
    monkeypatch.setattr(search, "FEW_BUCKETS", few_buckets)
    monkeypatch.setattr(search, "RANGE_BLOCKS", range_blocks)
    query = filterset({"q": "harbor"}).index_query()
    # Up to and with the buckets of a few of them (0 buckets would be no sample at all).
    for buckets in sorted({1, *(service.pk % search.SAMPLE_BUCKETS + 1 for service in many[10:14])}):
        rows = query.sampled(buckets).keys()  # [(id, keys)]
        sampled = {row[0] for row in rows}
        assert sampled == {service.pk for service in many if service.pk % search.SAMPLE_BUCKETS < buckets}


def test_a_sample_of_matches_read_once_is_that_of_the_query(many):
    """Once the ids of the matches are read (matched_once, PostgreSQL's), a sample's buckets are picked from them:
    the same rows and keys as matching again, none when no id is in those buckets."""
    query = filterset({"q": "harbor", "need": "legal-aid"}).index_query()
    matched = query.matched_once()
    assert matched.count() == query.count() == 32
    lowest = min(service.pk % search.SAMPLE_BUCKETS for service in many[1::2])
    for buckets in sorted({lowest, *(service.pk % search.SAMPLE_BUCKETS + 1 for service in many[10:20])}):
        assert sorted(matched.sampled(buckets).keys()) == sorted(query.sampled(buckets).keys())
        assert matched.sampled(buckets).count() == query.sampled(buckets).count()
    if lowest:  # the buckets below the first that holds one hold none (0 buckets would be no sample at all)
        assert matched.sampled(lowest).keys() == []


@pytest.mark.parametrize("range_blocks", [0, 10**6], ids=["by-modulo", "by-id-ranges"])
def test_a_sample_by_ids_spans_every_block_of_ids(many, monkeypatch, range_blocks):
    """Blocks of 8 ids instead of 1,024 (the ids alone tell a sample's buckets here, not their keys): the
    sixty-four services span eight blocks or more, and the first ids of each are in the sample."""
    monkeypatch.setattr(search, "FEW_BUCKETS", 0)
    monkeypatch.setattr(search, "RANGE_BLOCKS", range_blocks)
    monkeypatch.setattr(search, "SAMPLE_BUCKETS", 8)
    query = filterset({"q": "harbor"}).index_query()
    for buckets in (1, 3, 7):
        rows = query.sampled(buckets).keys()  # [(id, keys)]
        sampled = {row[0] for row in rows}
        assert sampled == {service.pk for service in many if service.pk % 8 < buckets}
        assert len({pk // 8 for pk in sampled}) >= 8


def test_many_results_are_counted_on_a_sample_and_said_to_be_estimates(many, needs, monkeypatch):
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 20)
    found = filterset({"q": "harbor"}).facets()
    buckets = -(-search.SAMPLE_BUCKETS * 20 // 64)  # as IndexQuery.sample chooses them
    need_counts = {choice.value: choice for choice in found["need"]}
    legal = need_counts["legal-aid"]
    assert legal.approximate
    assert legal.count == expected_estimate(many, buckets, lambda service: service.name[-1] in "13579")
    texas = {choice.value: choice for choice in found["region"]}["US-TX"]
    assert texas.approximate
    assert texas.count == expected_estimate(many, buckets, lambda service: int(service.name[-2:]) % 3 == 0)
    # The total stays exact.
    assert filterset({"q": "harbor"}).results().count() == 64


def test_a_choice_the_sample_misses_is_still_offered_without_a_number(many, monkeypatch):
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 2)  # 32 buckets of 1024: about two services of sixty-four
    # Of 64 consecutive ids, at most 32 fall in buckets 0-31: the last bucket's service is not sampled.
    tigrinya = max(many, key=lambda service: service.pk % search.SAMPLE_BUCKETS)
    assert tigrinya.pk % search.SAMPLE_BUCKETS >= 32
    make_language(service=tigrinya, code="ti")
    languages = {choice.value: choice for choice in filterset({"q": "harbor"}).facets()["language"]}
    assert "ti" in languages
    assert languages["ti"].count is None
    assert languages["ti"].shown


def test_few_results_are_counted_exactly(many):
    legal = {choice.value: choice for choice in filterset({"q": "harbor"}).facets()["need"]}["legal-aid"]
    assert (legal.count, legal.approximate) == (32, False)


@pytest.mark.parametrize("guess", [5, 64, 500])
def test_a_facet_sized_by_the_planners_guess_counts_as_one_sized_by_a_count(many, monkeypatch, guess):
    """A facet's set (here: every need, without the need filter) sized by a guess instead of a count (PostgreSQL):
    a guess of few reads them all and finds they are too many, so counts them; a right guess samples as the
    count would; a guess of too many samples fewer buckets, each count scaled by the buckets read."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 20)
    counted = {}
    original_count, original_beyond = search.IndexQuery.count, search.IndexQuery.count_beyond

    def count(self):
        counted["times"] = counted.get("times", 0) + 1
        return original_count(self)

    def count_beyond(self, rows):  # (a count after the rows read: SQLite's does not call count())
        if self.vendor == "sqlite":
            counted["times"] = counted.get("times", 0) + 1
        return original_beyond(self, rows)

    monkeypatch.setattr(search.IndexQuery, "probe", lambda self: (guess, None))  # as PostgreSQL's
    monkeypatch.setattr(search.IndexQuery, "likely", lambda self, guess: guess)  # the planner's guess as it is
    monkeypatch.setattr(search.IndexQuery, "count", count)
    monkeypatch.setattr(search.IndexQuery, "count_beyond", count_beyond)
    found = filterset({"q": "harbor", "need": "legal-aid"})
    need = {choice.value: choice for choice in found.facets()["need"]}["emergency-shelter"]
    # The results (32 legal aid) are counted for the page; the facet's 64 only when the guess was too small.
    assert counted["times"] == (2 if guess <= 10 else 1)
    buckets = -(-search.SAMPLE_BUCKETS * 20 // (64 if guess <= 10 else guess))
    assert need.approximate
    assert need.count == expected_estimate(many, buckets, lambda service: service.name[-1] in "02468")


def test_sqlite_sizes_a_facet_s_set_from_a_few_sample_buckets_and_counts_only_the_results(many, monkeypatch):
    """SQLite's guess: the matches of the first PROBE_BUCKETS buckets, counted, less two standard deviations,
    scaled to all buckets. Only the results' own total is counted whole. The sample is sized for the matches the
    probe found, not for that lower bound (which would make it a third larger than SAMPLE_TARGET)."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's guess is its planner's (the test above)")
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 20)
    # Probe as many buckets as hold half the services, wherever their ids start.
    probe = sorted(service.pk % search.SAMPLE_BUCKETS for service in many)[32] + 1
    monkeypatch.setattr(search, "PROBE_BUCKETS", probe)
    found = filterset({"q": "harbor", "need": "legal-aid"})
    without_need = found.index_query(without="need")
    probed = sum(1 for service in many if service.pk % search.SAMPLE_BUCKETS < probe)
    guess = int(max(0.0, probed - 2 * probed**0.5) * search.SAMPLE_BUCKETS / probe)
    assert probed >= 33
    assert without_need.probe()[0] == guess
    whole_counts = []
    original_count = search.IndexQuery.count

    def count(self):
        if self.buckets is None:
            whole_counts.append(self.clauses)
        return original_count(self)

    monkeypatch.setattr(search.IndexQuery, "count", count)
    need = {choice.value: choice for choice in found.facets()["need"]}["emergency-shelter"]
    assert len(whole_counts) == 1
    assert [search.key("t", search_term_pk(found, "legal-aid"))] in whole_counts[0]
    assert guess > 10  # sampled, in as many buckets as the matches found call for
    likely = search._SqliteIndex.likely(guess)
    assert abs(likely - probed * search.SAMPLE_BUCKETS / probe) <= 2 * search.SAMPLE_BUCKETS / probe
    buckets = -(-search.SAMPLE_BUCKETS * 20 // likely)
    assert buckets < -(-search.SAMPLE_BUCKETS * 20 // guess)
    assert need.approximate
    assert need.count == expected_estimate(many, buckets, lambda service: service.name[-1] in "02468")


def search_term_pk(found, code):
    return next(term.pk for term in found.cleaned["need"] if term.code == code)


def test_postgresql_counts_a_small_share_of_a_large_table_through_its_indexes(many, monkeypatch):
    """Sequential scans are off for such a count alone: the same number, and the setting is back after it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's full-text index has no planner to steer")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE resources_searchdocument")  # the planner's idea of the table's size
    monkeypatch.setattr(search, "INDEX_SCAN_ROWS", 1)

    def count(share):
        monkeypatch.setattr(search, "INDEX_SCAN_SHARE", share)
        query = filterset({"q": "harbor", "need": "legal-aid"}).index_query()
        found = []
        for read in (query.count, lambda: query.page(0, 40, 32)):  # a count, a ranked page
            with CaptureQueriesContext(connection) as queries:
                found.append(read())
            steered = any("enable_seqscan" in run["sql"] for run in queries.captured_queries)
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('enable_seqscan')")
                assert cursor.fetchone()[0] == "on"
            found.append(steered)
        return found

    steered, unsteered = count(share=2.0), count(share=0.0)  # any guess is a small share; none is
    assert steered[:2] == [32, True]
    assert unsteered[:2] == [32, False]
    assert steered[3] is True
    assert unsteered[3] is False
    assert len(steered[2]) == 32
    assert steered[2] == unsteered[2]


def test_a_sample_of_the_queryset_path_is_counted_the_same_way(many, monkeypatch, a_monday_noon_utc):
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 20)
    monkeypatch.setattr(ServiceFilter, "on_index", lambda self: False)
    found = filterset({"q": "harbor"})
    facets = found.facets()
    assert facets["need"]
    for choices in facets.values():
        assert all(choice.approximate for choice in choices)


def test_a_large_result_lists_listings_about_the_words_before_those_that_mention_them(needs, monkeypatch):
    monkeypatch.setattr(search, "EXACT_LIMIT", 3)
    about = [make_service(name=f"Lighthouse {number}") for number in range(2)]
    mentions = [make_service(name=f"Place {number}", description="Near the old lighthouse.") for number in range(4)]
    found = by_index({"q": "lighthouse"})
    if connection.vendor == "sqlite":
        # The two named ones first, ranked; then the four that mention it, more than 3: newest first.
        assert set(found[:2]) == {service.pk for service in about}
        assert found[2:] == sorted((service.pk for service in mentions), reverse=True)
    else:
        assert found == sorted((service.pk for service in [*about, *mentions]), reverse=True)


def test_sqlite_finds_and_ranks_a_large_result_s_first_tier_in_the_headings(needs, monkeypatch):
    """The first tier (the words in a listing's name, organization or needs) is counted and ranked in the
    index's headings, without the descriptions (migration 0016). bm25 weighs the words in the columns a MATCH
    names, but measures a listing's length over all its columns: there, a long description no longer pushes a
    listing with the word in a short name below one with it in a longer name."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL lists a large result newest first, in one tier")
    monkeypatch.setattr(search, "EXACT_LIMIT", 3)
    short_name = make_service(
        name="Lighthouse office", description="Open every day for the families of the coast. " * 8
    )
    longer_name = make_service(name="The old lighthouse keepers' cooperative")
    mentions = [make_service(name=f"Place {number}", description="Near the old lighthouse.") for number in range(4)]
    with CaptureQueriesContext(connection) as queries:
        found = by_index({"q": "lighthouse"})
    assert found == [short_name.pk, longer_name.pk, *sorted((service.pk for service in mentions), reverse=True)]
    ranked_in = [
        table for query in queries for table in search._SQLITE_TABLE_COLUMNS if f'bm25("{table}"' in query["sql"]
    ]
    assert ranked_in == [search.SQLITE_HEADINGS]


@pytest.mark.parametrize("per_page", [1, 2, 3, 4])
def test_a_large_first_tier_pages_the_same_however_far_it_is_counted(needs, monkeypatch, per_page):
    """SQLite counts the first tier only as far as a page needs (past EXACT_LIMIT it fills the page alone): pages
    of any size, across the tiers' border too, list the named ones newest first, then those that mention it."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL lists a large result newest first, in one tier")
    monkeypatch.setattr(search, "EXACT_LIMIT", 3)
    about = [make_service(name=f"Lighthouse {number}") for number in range(5)]
    mentions = [make_service(name=f"Place {number}", description="Near the old lighthouse.") for number in range(4)]
    expected = sorted((s.pk for s in about), reverse=True) + sorted((s.pk for s in mentions), reverse=True)
    results = filterset({"q": "lighthouse"}).results()
    assert results.count() == 9
    paged = []
    for start in range(0, 9, per_page):
        paged += [service.pk for service in results[start : start + per_page]]
    assert paged == expected


@pytest.mark.parametrize(("named", "mentioning"), [(6, 2), (2, 3)])
def test_some_matches_are_put_in_the_order_of_the_whole_result(needs, monkeypatch, named, mentioning):
    """IndexQuery.in_order (a distance page's services as near as each other): the same order as page() gives
    them among all the matches, whichever tier they are in and however large the other tier (6 named: the
    first tier newest first; 2, and 3 that mention it: both tiers ranked, each mention a rank of its own)."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 3)
    about = [make_service(name=f"Lighthouse {number}", description="Lighthouse " * number) for number in range(named)]
    mentions = [
        make_service(name=f"Place {number}", description="Near the old lighthouse. " * (number + 1) + "Far " * number)
        for number in range(mentioning)
    ]
    total = named + mentioning
    query = filterset({"q": "lighthouse"}).index_query()
    whole = query.page(0, total, total)
    assert sorted(whole) == sorted(s.pk for s in [*about, *mentions])
    for some in (
        [s.pk for s in mentions],
        [about[0].pk, about[-1].pk],
        [about[0].pk, mentions[1].pk],
        [s.pk for s in [*mentions, *about]],
    ):
        assert query.in_order(some, total) == [pk for pk in whole if pk in some]


def test_browsing_many_results_lists_the_newest_first(many, monkeypatch):
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    legal = [service.pk for service in many if service.name[-1] in "13579"]
    assert by_index({"need": "legal-aid"}) == sorted(legal, reverse=True)
    assert filterset({"need": "legal-aid"}).index_query().ordering(len(legal)) == "newest"
    monkeypatch.setattr(search, "EXACT_LIMIT", 2000)
    assert by_index({"need": "legal-aid"}) == by_queryset({"need": "legal-aid"})  # by name


def test_sqlite_looks_a_few_ids_up_one_by_one_only_for_a_query_of_public_listings_alone(many):
    """Looked up one by one, each id rereads the lists of matches of every word and key asked for (700 ms for 60
    ids and "legal" at 100,000 services): only a query with neither, and few ids, is driven by its ids."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's full-text index is driven by ids; PostgreSQL plans for itself")
    ids = [service.pk for service in many[:5]]

    def looked_up(data, ids=ids):
        query = filterset(data).index_query().restricted(ids=ids)
        return "+resources_searchdocument.rowid IN" not in query.engine.count()[0], query.count()

    assert looked_up({}) == (True, 5)
    assert looked_up({"q": "harbor"}) == (False, 5)
    assert looked_up({"need": "legal-aid"}) == (False, sum(1 for service in many[:5] if service.name[-1] in "13579"))
    assert looked_up({}, ids=list(range(1, search.FEW_IDS + 2)))[0] is False


def test_a_page_costs_the_same_number_of_queries_for_any_number_of_results(needs, client):
    def queries(text):
        cache.clear()  # both read the lists of what is in use
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/search/", {"q": text}).status_code == 200
        return len(captured)

    for number in range(30):
        make_service(name=f"Lantern house {number}", terms=[needs["legal-aid"]])
    make_service(name="Solitary beacon", terms=[needs["legal-aid"]])
    assert queries("lantern house") == queries("solitary beacon")


def test_key_is_letters_and_digits_ending_in_zero():
    assert search.key("ps", "US-TX") == "kpsustx0"
    assert search.key("d", "in_person") == "kdinperson0"
    assert search.key("t", 12) == "kt120"
    assert search.key("pub") == "kpub0"


@pytest.mark.parametrize("words", ["kpub0", "KFREE0", "kpub0s", "help kfree0", "kfree", "kpu", "koal", "kdphone"])
def test_words_never_match_the_keys_or_the_open_hours(needs, words):
    """The keys and open-hour keys are in the index with the text; a person's words never match them, however
    much they look like one: typed whole, with a letter more (which the stemmer cuts off), or still being typed
    (a prefix)."""
    service = make_service(name="Help desk", is_free=True)
    make_schedule(service=service, open_24_7=True)
    make_phone(service=service)
    keys = dict(search.keys_of([service.pk]))[service.pk]
    assert {"kpub0", "kfree0", "kdphone0"} <= set(keys)
    assert by_index({"q": words}) == by_queryset({"q": words}) == []


def test_words_that_start_with_k_are_still_found(needs):
    kids = make_service(name="Kids' help desk")
    make_service(name="Something else")
    for words in ("kids", "kid", "ki", "help ki"):
        assert by_index({"q": words}) == by_queryset({"q": words}) == [kids.pk], words


def test_sqlite_matches_plain_words_in_every_column_and_a_word_like_a_key_in_the_text_columns(needs):
    """A column filter costs FTS5 a check at every position of every match (twice the time of "help" at
    100,000 services), so words that cannot be a key are matched without one; they match the same."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps the keys out of the words' tsvector")
    make_service(name="Help desk")
    text_columns = "{" + " ".join(search.TEXT_COLUMNS) + "} :"
    for words, filtered in (("help", False), ("help desk", False), ("kpub0", True), ("help kp", True)):
        with CaptureQueriesContext(connection) as queries:
            by_index({"q": words})
        matches = [query["sql"] for query in queries if "MATCH" in query["sql"]]
        assert matches, words
        assert any(text_columns in sql for sql in matches) is filtered, words


def test_listings_unchecked_for_too_long_are_left_out_as_published_leaves_them_out(needs):
    import datetime

    from django.conf import settings
    from django.utils import timezone

    today = timezone.localdate()
    since = today - datetime.timedelta(days=settings.FRESHNESS_HIDE_AFTER_DAYS)
    made = {
        "edge": make_service(name="Edge beacon", assured_date=since),
        "fresh": make_service(name="Fresh beacon", assured_date=today),
        "day before": make_service(name="Day-before beacon", assured_date=since - datetime.timedelta(days=1)),
        "month before": make_service(name="Month-before beacon", assured_date=since - datetime.timedelta(days=31)),
        "years before": make_service(name="Old beacon", assured_date=since - datetime.timedelta(days=900)),
    }
    public = {made["edge"].pk, made["fresh"].pk}
    for data in ({"q": "beacon"}, {}):
        assert set(by_index(data)) == set(by_queryset(data)) == public


def test_the_keys_are_read_as_the_index_holds_them(world):
    """SQLite reads the keys from the index's content table (search._SQLITE_KEYS): the same as its keys column,
    for a query's matches and by id."""
    query = filterset({}).index_query()
    found = dict(query.keys())
    assert len(found) >= 4
    assert dict(search.keys_of(list(found))) == found
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT rowid, keys FROM resources_searchdocument")
            stored = {sid: keys.split() for sid, keys in cursor.fetchall()}
        assert found == {sid: keys for sid, keys in stored.items() if sid in found}
        assert all("kpub0" in keys for keys in found.values())


@pytest.mark.parametrize("hours", [False, True])
def test_a_query_of_the_index_with_no_clause_keeps_to_public_services(world, hours):
    """IndexQuery with words (or open hours) and no clause at all: public services only, on both engines, as a
    query with the public key as its clause."""
    from .world import HIDDEN

    concepts = search.understand("shelter")[1]
    open_keys = (search.open_now_keys(search.timezone.now()) or ["koalways0"]) if hours else None
    bare = search.IndexQuery("default", concepts, [], hours=open_keys)
    public = search.IndexQuery("default", concepts, [[search.PUBLIC]], hours=open_keys)
    hidden = {world[name].pk for name in HIDDEN}
    assert sorted(bare.ids_of_matches()) == sorted(public.ids_of_matches())
    assert not hidden & set(bare.ids_of_matches())
    if not hours:
        assert bare.ids_of_matches()


# --- An estimated total on the results page (SearchResults.count with estimate_before) ----------------------


@pytest.fixture
def estimating(many, monkeypatch):
    """The sixty-four services of `many` made a large set, sampled in the buckets of about half of them (their
    ids, so the buckets, depend on the tests run before). Returns the estimate of their number."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "ESTIMATE_FROM", 1)
    monkeypatch.setattr(search, "ESTIMATE_SAMPLE_MIN", 5)
    monkeypatch.setattr(search.IndexQuery, "probe", lambda self: (64, None))  # a guess, as PostgreSQL's
    buckets = sorted(service.pk % search.SAMPLE_BUCKETS for service in many)[32] + 1
    monkeypatch.setattr(search, "_buckets", lambda total: buckets)
    sampled = sum(1 for service in many if service.pk % search.SAMPLE_BUCKETS < buckets)
    return round(sampled * search.SAMPLE_BUCKETS / buckets)


def test_a_large_total_is_estimated_from_the_sample_for_the_first_pages(many, estimating):
    expected = estimating
    results = filterset({"q": "harbor"}).results(estimate_before=20)
    assert (results.count(), results.estimated) == (expected, True)
    # The same services, in the same order, as with the exact count (both tiers are listed newest first).
    assert [service.pk for service in results[20:40]] == by_index({"q": "harbor"})[20:40]


@pytest.mark.parametrize("page", [-1, 0, "last", 9999])
def test_a_page_near_the_end_counts_every_match(many, estimating, client, page):
    """A page past ESTIMATE_SHARE of the estimate, or one the paginator turns into the last page (below 1,
    very far), is shown with the exact total; not a whole number is page 1, estimated."""
    estimate = estimating
    far = math.ceil(search.ESTIMATE_SHARE * estimate)
    results = filterset({"q": "harbor"}).results(estimate_before=far)
    assert (results.count(), results.estimated) == (64, False)
    assert not results.query.matched  # counted: a set this large (for ESTIMATE_FROM) is not read by its ids
    body = client.get("/search/", {"q": "harbor", "page": page}).content.decode()
    if page == "last":
        assert f"About {rounded(estimate)} results" in body
        assert "Page 1 of about" in body
    else:
        assert "64 results" in body
        assert "About" not in body
        assert "Page 4 of 4" in body  # the last page, where the paginator says it is


def test_the_results_page_says_about_and_the_api_stays_exact(many, estimating, client):
    estimate = estimating
    body = client.get("/search/", {"q": "harbor"}).content.decode()
    assert f"About {rounded(estimate)} results" in body
    pages = -(-estimate // 20)
    assert f"Page 1 of about {rounded(pages)}" in body
    assert client.get("/api/services", {"search": "harbor"}).json()["total_items"] == 64


def test_a_set_guessed_small_is_read_whole_on_sqlite_and_by_its_ids_on_postgresql(many):
    """A set guessed to hold at most EXACT_LIMIT: on SQLite, whose guesses err small (IndexQuery.
    small_guesses_hold), its keys are read whole, which counts it, in one statement. PostgreSQL reads the ids of
    its matches once (IndexQuery.reads_ids), which counts it too; its sample and its page are then looked up by
    those ids, without matching the words again."""
    results = filterset({"q": "harbor"}).results(estimate_before=0)
    with CaptureQueriesContext(connection) as captured:
        assert (results.count(), results.estimated) == (64, False)
        rows, scale = results.sample()
        page = [service.pk for service in results[0:20]]
    counts = [query for query in captured if "count(" in query["sql"].lower()]
    assert counts == []
    assert (len(rows), scale) == (64, 1.0)
    assert {row[0] for row in rows} == {service.pk for service in many}
    assert page == by_index({"q": "harbor"})[:20]  # as ranked when counted (below, without estimates)
    if connection.vendor == "postgresql":
        matching = [query["sql"] for query in captured if "@@" in query["sql"] and "EXPLAIN" not in query["sql"]]
        assert len(matching) == 2  # the ids read once, and the rank of the page (its words weighed, not matched)
        assert "ORDER BY" in matching[1]
        assert "ANY(" in matching[1]


@pytest.mark.parametrize("data", [{"q": "harbor"}, {}], ids=["words, in tiers", "none, newest first"])
def test_postgresql_reads_the_ids_of_a_set_its_sample_finds_small(many, estimating, monkeypatch, data):
    """A set guessed large whose sample says it holds fewer than ESTIMATE_FROM is counted: on PostgreSQL by reading
    the ids of its matches, by which its page is then found; the sample already read is kept."""
    estimate = estimating  # what the sample says: the guess is larger, ESTIMATE_FROM between the two
    monkeypatch.setattr(search.IndexQuery, "probe", lambda self: (estimate + 2, None))
    monkeypatch.setattr(search, "ESTIMATE_FROM", estimate + 1)
    results = filterset(data).results(estimate_before=0)
    assert (results.count(), results.estimated) == (64, False)
    assert results.query.matched == (connection.vendor == "postgresql")
    _rows, scale = results.sample()
    assert scale > 1  # the sample read before the count
    assert [service.pk for service in results[20:40]] == by_index(data)[20:40]
    assert [service.pk for service in results[60:80]] == by_index(data)[60:80]


@pytest.mark.parametrize("data", [{"need": "legal-aid"}, {"region": "US-TX"}, {}])
def test_a_page_by_name_of_a_set_read_whole_sorts_what_was_read(many, data):
    """Without words, a set whose every match the page has read (its sample, on SQLite) is put in order by name
    among those ids, not matched again: the same pages, the last ones included."""
    make_service(name="Harbor 05", terms=[Service.objects.get(name="Harbor 05").terms.get()])  # a name twice
    results = filterset(data).results(estimate_before=0)
    total = results.count()
    query = results.query
    matches = query.ids_of_matches()
    assert len(matches) == total > 20
    for offset in (0, 5, total - 3):
        assert query.page(offset, 10, total, matches) == query.page(offset, 10, total)
    by_name = sorted(Service.objects.filter(pk__in=matches), key=lambda service: (service.name, service.pk))
    assert [service.pk for service in results[5:15]] == [service.pk for service in by_name[5:15]]
    with CaptureQueriesContext(connection) as captured:
        results[0:10]
    statements = " ".join(query["sql"] for query in captured)
    if connection.vendor == "sqlite":  # its set was read whole while counted: the page does not match again
        assert results.sample()[1] == 1
        assert " MATCH " not in statements


@pytest.mark.parametrize("data", [{"q": "harbor"}, {"need": "legal-aid"}, {}])
def test_a_set_guessed_small_that_is_not_is_counted(many, monkeypatch, data):
    """On SQLite, read whole up to EXACT_LIMIT + 1 (the first matches, in the order of their ids), then only those
    after the last of them are counted (count_beyond); PostgreSQL reads the ids of every match."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 20)
    monkeypatch.setattr(search.IndexQuery, "probe", lambda self: (10, None))
    expected = len(by_index(data))
    assert expected > 21
    results = filterset(data).results(estimate_before=0)
    with CaptureQueriesContext(connection) as captured:
        assert (results.count(), results.estimated) == (expected, False)
    if connection.vendor == "sqlite":
        (counted,) = [query["sql"] for query in captured if "count(" in query["sql"].lower()]
        assert ".rowid > " in counted
    rows, scale = results.sample()
    assert round(len(rows) * scale) == expected
    # A facet's sample, sized by the count, likewise.
    query = filterset(data).index_query()  # (its words understood: whether each is in the index)
    with CaptureQueriesContext(connection) as captured:
        query.sample()
    counts = [statement["sql"] for statement in captured if "count(" in statement["sql"].lower()]
    assert len(counts) == 1
    assert (".rowid > " in counts[0]) == (connection.vendor == "sqlite")


def test_a_set_below_estimate_from_is_counted(many, estimating, monkeypatch):
    monkeypatch.setattr(search, "ESTIMATE_FROM", 10_000)
    results = filterset({"q": "harbor"}).results(estimate_before=0)
    assert (results.count(), results.estimated) == (64, False)


def test_a_sample_too_small_to_trust_leaves_the_total_counted(many, estimating, monkeypatch):
    monkeypatch.setattr(search, "ESTIMATE_SAMPLE_MIN", 10_000)
    results = filterset({"q": "harbor"}).results(estimate_before=0)
    assert (results.count(), results.estimated) == (64, False)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's guess is its planner's, without rows")
def test_sqlite_samples_a_large_set_from_its_probe(many, monkeypatch):
    """The probe's rows hold the sample's buckets: they are the sample, no statement more."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 10)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 2)
    monkeypatch.setattr(search, "PROBE_BUCKETS", search.SAMPLE_BUCKETS)  # the probe: every match
    query = filterset({"q": "harbor"}).index_query()
    with CaptureQueriesContext(connection) as captured:
        rows, scale = query.sample()
    assert len(captured) == 1
    buckets = round(search.SAMPLE_BUCKETS / scale)
    assert buckets < search.SAMPLE_BUCKETS
    assert sorted(rows) == sorted(query.sampled(buckets).keys())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's guess is its planner's, without rows")
def test_sqlite_reads_the_sample_of_a_probe_that_fills_probe_rows(many, monkeypatch):
    """A probe of PROBE_ROWS is cut short: the set is guessed from how far through the ids the probe reached, and
    the sample is read on its own, sized by that guess."""
    monkeypatch.setattr(search, "EXACT_LIMIT", 5)
    monkeypatch.setattr(search, "SAMPLE_TARGET", 2)
    monkeypatch.setattr(search, "PROBE_BUCKETS", search.SAMPLE_BUCKETS)
    monkeypatch.setattr(search, "PROBE_ROWS", 10)
    query = filterset({"q": "harbor"}).index_query()
    matches = sorted(query.ids_of_matches())
    assert len(matches) > 10
    # The tenth match is as far as the probe read, of ids up to the highest service's: the guess is as many as
    # that share of the ids holds, less two standard deviations, as for a probe that was not cut short.
    found = 10 / ((matches[9] + 1) / (Service.objects.order_by("-pk")[0].pk + 1))
    guess = int(found - 2 * found**0.5)
    assert guess > len(matches) / 2
    assert query.probe() == (guess, None)
    rows, scale = query.sample()
    likely = search._SqliteIndex.likely(guess)
    assert abs(likely - found) <= 2  # (both the guess and this are whole numbers)
    buckets = -(-search.SAMPLE_BUCKETS * 2 // likely)
    assert scale == search.SAMPLE_BUCKETS / buckets
    assert sorted(rows) == sorted(query.sampled(buckets).keys())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's guess is its planner's, without rows")
def test_sqlite_counts_the_probe_of_a_search_without_words(many, monkeypatch):
    """Without words the probe's buckets are counted (cheaper than their keys), and sampled on their own."""
    monkeypatch.setattr(search, "PROBE_BUCKETS", search.SAMPLE_BUCKETS)
    with_words = filterset({"q": "harbor", "need": "legal-aid"}).index_query().probe()
    without = filterset({"need": "legal-aid"}).index_query().probe()
    assert sorted(row[0] for row in with_words[1]) == sorted(s.pk for s in many if s.name[-1] in "13579")
    assert without == (int(32 - 2 * 32**0.5), None)
