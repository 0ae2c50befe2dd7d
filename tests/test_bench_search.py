"""The search benchmark (tests/benchmarks/bench_search.py) measures what it says: a full mix of searches, a naive
reference that filters correctly, honest percentiles and bars, and a measuring loop that runs end to end."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import QueryDict

from resources import regions
from resources.filters import ServiceFilter
from resources.models import Service, Taxonomy

from .benchmarks import bench_search, generate
from .conftest import make_organization, make_service, make_term
from .hsds_schemas import errors

VOCABULARIES = Path(generate.VOCABULARIES)


def params(query):
    return parse_qsl(query.query)


def codes_of(slug):
    found = set()

    def walk(items):
        for item in items:
            found.add(item["code"])
            walk(item.get("children", []))

    for taxonomy in json.loads(VOCABULARIES.read_text(encoding="utf-8"))["taxonomies"]:
        if taxonomy["slug"] == slug:
            walk(taxonomy["terms"])
    return found


# --- The mix of searches ----------------------------------------------------------------------------------------


def test_the_mix_has_forty_searches_of_every_kind_the_issue_names():
    assert len(bench_search.QUERIES) >= 40
    kinds = {query.category for query in bench_search.QUERIES}
    required = {"common word", "rare word", "several words", "misspelling", "words with facets", "region only"}
    assert required | {"distance"} <= kinds
    assert kinds <= set(bench_search.CATEGORIES)
    assert len({query.query for query in bench_search.QUERIES}) == len(bench_search.QUERIES), "a search is repeated"


def test_each_kind_is_what_it_says():
    facets = {"need", "population", "trafficking_type", "language", "delivery", "open_now", "free", "region"}
    for query in bench_search.QUERIES:
        names = [name for name, _value in params(query)]
        words = " ".join(value for name, value in params(query) if name == "q").split()
        expected = {
            "common word": names == ["q"] and len(words) == 1,
            "rare word": names == ["q"] and len(words) == 1,
            "several words": names == ["q"] and len(words) >= 2,
            "words with facets": bool(words and set(names) & facets),
            "facets only": bool(not words and set(names) & facets),
            "region only": names == ["region"],
        }
        assert expected.get(query.category, True), query


def test_distance_searches_use_the_distance_parameters_and_only_they_do():
    near = [query for query in bench_search.QUERIES if bench_search.NEAR_PARAM in dict(params(query))]
    assert len(near) >= 3
    for query in bench_search.QUERIES:
        distance = {name for name, _value in params(query)} & set(bench_search.DISTANCE_PARAMS)
        assert bool(distance) == (query.category == "distance"), query


def test_facet_values_come_from_our_vocabularies_and_places():
    for query in bench_search.QUERIES:
        for name, value in params(query):
            if name == "need":
                assert value in codes_of("needs"), value
            elif name == "population":
                assert value in codes_of("populations"), value
            elif name == "trafficking_type":
                assert value in codes_of("trafficking-types"), value
            elif name == "language":
                assert value in generate.LANGUAGE_NAMES, value
            elif name == "region":
                assert regions.parse_region(value)
            elif name == bench_search.NEAR_PARAM:
                assert re.fullmatch(r"\d{5}", value), value


def test_the_words_searched_are_common_and_rare_in_the_generated_text(tmp_path):
    path = tmp_path / "synthetic.ndjson"
    generate.generate(path, 1000, seed=1, text="realistic")
    texts = [json.loads(line)["description"].lower() for line in path.read_text().splitlines()]
    share = {word: sum(word in text for text in texts) / len(texts) for word in ("help", "emdr", "shleter")}
    assert share["help"] > 0.5
    assert 0 < share["emdr"] < 0.05
    assert share["shleter"] == 0


def test_the_api_gets_the_keyword_as_search():
    assert bench_search.api_query("q=legal+aid&need=t-visa&need=u-visa") == "search=legal+aid&need=t-visa&need=u-visa"
    assert bench_search.api_query("") == ""


# --- Percentiles and bars -----------------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks():
    assert bench_search.percentile([4, 1, 3, 2], 0.5) == 2.5
    assert bench_search.percentile(list(range(1, 101)), 0.95) == pytest.approx(95.05)
    assert bench_search.percentile([7], 0.95) == 7
    assert bench_search.percentile([], 0.5) is None


def test_summary_of_timings():
    summary = bench_search.summarize([10.0, 20.0, 30.0, 40.0, 1000.0])
    assert summary == {"n": 5, "p50": 30.0, "p95": 808.0, "max": 1000.0}
    assert bench_search.summarize([])["p95"] is None


def test_bars_at_100000_services():
    met = bench_search.evaluate_bars(100_000, {"page": {"p95": 40.0, "max": 90.0}, "naive": {"p95": 800.0}})
    assert [bar["met"] for bar in met] == [True, True]
    assert met[1]["value"] == 20.0
    slow = bench_search.evaluate_bars(100_000, {"page": {"p95": 60.0, "max": 90.0}, "naive": {"p95": 300.0}})
    assert [bar["met"] for bar in slow] == [False, False]


def test_bars_at_a_million_services_and_none_elsewhere():
    verdicts = bench_search.evaluate_bars(1_000_000, {"page": {"p95": 250.0, "max": 1200.0}, "naive": {"p95": 1.0}})
    assert [(bar["bar"], bar["met"]) for bar in verdicts] == [
        ("page p95 <= 300 ms", True),
        ("page max <= 1000 ms", False),
    ]
    assert bench_search.evaluate_bars(10_000, {"page": {"p95": 5000.0}, "naive": {"p95": 1.0}}) == []


# --- Realistic text ---------------------------------------------------------------------------------------------


def test_realistic_text_is_valid_synthetic_hsds_with_the_same_structure(tmp_path):
    short, realistic = tmp_path / "short.ndjson", tmp_path / "realistic.ndjson"
    generate.generate(short, 200, seed=4)
    generate.generate(realistic, 200, seed=4, text="realistic")
    plain = [json.loads(line) for line in short.read_text().splitlines()]
    documents = [json.loads(line) for line in realistic.read_text().splitlines()]
    assert [document["id"] for document in documents] == [document["id"] for document in plain]
    lengths = sorted(len(document["description"]) for document in documents)
    assert lengths[0] >= 150
    assert lengths[len(lengths) // 2] >= 300
    assert lengths[-1] >= 800
    assert any(document.get("alternate_name") for document in documents)
    for document in documents:
        assert document["name"].startswith("Synthetic ")
        assert document["organization"]["name"].startswith("Synthetic ")
        assert document["description"].endswith(generate.SYNTHETIC)
        assert errors("service.json", document) == [], document["name"]


# --- The naive reference and the measuring loop, on a tiny directory -------------------------------------------


@pytest.fixture
def tiny(db, needs):
    women = make_term(Taxonomy.POPULATIONS, "women", name="Women")
    organization = make_organization(name="Synthetic Harbor Alliance")
    return {
        "legal": make_service(
            name="Synthetic Legal Aid Clinic",
            description="Free legal help for survivors.",
            organization=organization,
            terms=[needs["legal-aid"], women],
        ),
        "both": make_service(
            name="Synthetic Case Management",
            description="Help with shelter and legal papers.",
            terms=[needs["legal-aid"], needs["emergency-shelter"]],
        ),
        "shelter": make_service(
            name="Synthetic Shelter", description="A safe bed tonight.", terms=[needs["emergency-shelter"]]
        ),
        "draft": make_service(
            name="Synthetic Draft Legal Clinic",
            review_state=Service.ReviewState.DRAFT,
            terms=[needs["legal-aid"]],
        ),
    }


def naive_names(query):
    filterset = bench_search.naive_filter_class()(QueryDict(query), queryset=Service.objects.published())
    return sorted(service.name for service in filterset.qs)


def test_the_naive_filterset_filters_like_a_first_version_would(tiny):
    assert naive_names("q=LEGAL") == ["Synthetic Case Management", "Synthetic Legal Aid Clinic"]
    assert naive_names("q=harbor+free") == ["Synthetic Legal Aid Clinic"]
    assert naive_names("need=emergency-shelter") == ["Synthetic Case Management", "Synthetic Shelter"]
    # Several values of a facet: each service once, thanks to the default DISTINCT.
    assert naive_names("need=legal-aid&need=emergency-shelter") == [
        "Synthetic Case Management",
        "Synthetic Legal Aid Clinic",
        "Synthetic Shelter",
    ]
    assert naive_names("need=legal-aid&population=women") == ["Synthetic Legal Aid Clinic"]


@pytest.fixture
def requests_keep_the_connection():
    """As Django's test client does: a request must not close the connection holding the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_measuring_loop_times_every_endpoint(tiny, requests_keep_the_connection):
    queries = [
        bench_search.Query("words with facets", "q=legal&need=legal-aid"),
        bench_search.Query("distance", f"{bench_search.NEAR_PARAM}=77002&q=legal"),
    ]
    figures = bench_search.measure(2, 1, queries=queries)
    assert figures["errors"] == []
    timed = [entry for entry in figures["searches"] if "skipped" not in entry]
    assert len(timed) == 1 + (bench_search.NEAR_PARAM in ServiceFilter.base_filters)
    first = timed[0]
    assert (first["results"], first["naive_results"], first["api_results"]) == (2, 2, 2)
    assert first["status"] == {"page": 200, "api": 200, "naive": 200}
    # Every search runs a COUNT, a search near a point one for each of its parts: each endpoint is timed.
    for entry in timed:
        assert [len(entry["ms"][endpoint]) for endpoint in bench_search.ENDPOINTS] == [2, 2, 1, 2, 2]
        assert entry["floor_sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        assert all(ms > 0 for timings in entry["ms"].values() for ms in timings)
    for endpoint in bench_search.ENDPOINTS:
        assert figures["summary"][endpoint]["n"] == len(timed) * (1 if endpoint == "naive" else 2)
        assert 0 <= figures["summary"][endpoint]["p50"] <= figures["summary"][endpoint]["max"]
    # The naive page queries once per row and relation; ours does not.
    assert figures["queries_extra_for_full_page"]["page"] == 0
    assert figures["queries_extra_for_full_page"]["naive"] > 0
    assert bench_search.constancy(0) == "constant"
    assert "N+1" in bench_search.constancy(5)


def test_a_distance_parameter_the_filter_lacks_is_skipped_not_timed(tiny, requests_keep_the_connection, monkeypatch):
    monkeypatch.delitem(ServiceFilter.base_filters, bench_search.NEAR_PARAM, raising=False)
    queries = [
        bench_search.Query("distance", f"{bench_search.NEAR_PARAM}=77002"),
        bench_search.Query("rare word", "q=bed"),
    ]
    figures = bench_search.measure(1, 1, queries=queries)
    skipped, timed = figures["searches"]
    assert "unsupported" in skipped["skipped"]
    assert "ms" not in skipped
    assert timed["results"] == 1
    assert len(timed["ms"]["page"]) == 1
