"""Benchmark the search page and the services API on large synthetic directories (not part of make test).

    make bench-search                                       # 10,000 and 100,000 services, SQLite and PostgreSQL
    .venv/bin/python tests/benchmarks/bench_search.py --sizes 10000,100000,1000000 --engines sqlite,postgresql
        [--repeat 5] [--naive-repeat N] [--seed 1] [--workdir DIR] [--postgres-url URL] [--rebuild] [--drop]

What it does. For each size it builds a synthetic directory (generate.py with realistic text: clearly marked
"Synthetic", a few services per organization, 1-4 needs, languages that fit each city, most places in a dozen
metro areas, some national hotlines) and imports it with `manage.py import_hsds --publish` into a SQLite file
and a PostgreSQL database. Built databases are kept in the work folder (default tests/benchmarks/work/, not
committed; the PostgreSQL ones are databases named bench_search_<size>_s<seed>_v<version>) and reused by the
next run (imports with the search index ran at about 800 services/s on SQLite and 170/s on PostgreSQL on
2 cores: 100,000 take minutes, 1,000,000 well over an hour). `--rebuild` builds them again; `--drop` deletes
those of the given sizes and engines and stops. Each run applies any new migration to a kept database first,
and builds it again when a migration it was built with has changed since. PostgreSQL databases are analyzed
after import and migration, as autovacuum would do soon after; SQLite ones are left without statistics, as
the application leaves them (see analyze()).

Then, for each engine and size, a separate Python process (its own DATABASE_URL, DEBUG off) serves requests
in-process through the project's WSGI application (directory.wsgi, with the whole middleware stack), and times a
fixed mix of searches (QUERIES below: one common word, rare words, several words, misspellings, words with
facets, facets only, region only, distance, plain browsing). After a warm-up pass (which also counts the SQL
queries of each request, and again with one row per page for the first search of each kind), every search is
timed --repeat times on each of these, in turn:

  page    our search page, GET /search/?...
  api     our HSDS API, GET /api/services?... (its keyword parameter is `search`)
  naive   a reference page in this file: a plain django-filter FilterSet (icontains on the text fields, M2M
          filters with their default DISTINCT), Django's Paginator with its full COUNT, and a minimal template
          that touches what a result card shows without any prefetching (so one query per related field per row)
  floor   the SQL of our page's result query (the page of rows, as our filters build it), executed and fetched
          with a plain cursor: what no Python code around it can beat
  count   likewise, the COUNT(*) our page runs for its "N results" heading

It prints, per engine and size, p50/p95/max in milliseconds over all timings of each, the SQL queries per
request, naive p95 / page p95, the slowest searches and the medians by kind of search, and whether the bars
of the search issue are met (100,000 services: page p95 <= 50 ms and naive p95 >= 10 x page p95; 1,000,000
services: page p95 <= 300 ms and no page over 1 s). MISSED marks a bar that is not met; the exit status is
still 0, since this is a measurement (it is 1 only when a database cannot be built or a run fails). The
figures are saved as JSON under tests/benchmarks/results/ (not committed).

Distance searches use the parameter named in NEAR_PARAM (a US ZIP code), and one uses LAT_PARAM and LON_PARAM (a
browser's location). A search whose distance parameter the search filter does not have (yet) is reported as
skipped, not timed. Run on an otherwise idle machine: other work on the cores inflates every figure.
"""

import argparse
import contextlib
import datetime
import hashlib
import io
import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results"
WORKDIR = HERE / "work"
sys.path.insert(0, str(HERE))

import generate  # noqa: E402 (beside this file, not a package on the path)

DEFAULT_SIZES = (10_000, 100_000)
ENGINES = ("sqlite", "postgresql")
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Bump when the generated directory changes, so kept databases are not reused by mistake.
DATA_VERSION = 1
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"
# The parameter that asks for results near a place (a US ZIP code); the search filter may not know it yet.
NEAR_PARAM = "near"
LAT_PARAM, LON_PARAM = "lat", "lon"
DISTANCE_PARAMS = (NEAR_PARAM, LAT_PARAM, LON_PARAM)
ENDPOINTS = ("page", "api", "naive", "floor", "count")
# More extra queries than this for a full page rather than one row means a query per row (an N+1).
N_PLUS_ONE = 2
PAGE_URL, API_URL, NAIVE_URL = "/search/", "/api/services", "/bench/naive/"

COMMON = "common word"
RARE = "rare word"
WORDS = "several words"
MISSPELLING = "misspelling"
FACETS = "words with facets"
FACETS_ONLY = "facets only"
REGION = "region only"
DISTANCE = "distance"
BROWSE = "browse"
CATEGORIES = (COMMON, RARE, WORDS, MISSPELLING, FACETS, FACETS_ONLY, REGION, DISTANCE, BROWSE)

Query = namedtuple("Query", "category query")

# The fixed mix. Words are those of generate.py's realistic text ("help" is in about 3 listings in 4; "EMDR"
# in 1 in 100; "beekeeping" in 3 in 100,000); facet values come from resources/demo_data/vocabularies.json
# and generate.py's metro areas; the ZIP codes are in those metro areas.
QUERIES = [
    Query(COMMON, "q=help"),
    Query(COMMON, "q=survivors"),
    Query(COMMON, "q=housing"),
    Query(COMMON, "q=legal"),
    Query(RARE, "q=EMDR"),
    Query(RARE, "q=doula"),
    Query(RARE, "q=braille"),
    Query(RARE, "q=vacatur"),
    Query(RARE, "q=beekeeping"),
    Query(RARE, "q=Kinyarwanda"),
    Query(WORDS, "q=legal+aid"),
    Query(WORDS, "q=emergency+shelter+for+women"),
    Query(WORDS, "q=mental+health+counselling"),
    Query(WORDS, "q=job+training+Houston"),
    Query(WORDS, "q=immigration+lawyers+visas"),
    Query(WORDS, "q=help+with+rent+and+utilities"),
    Query(MISSPELLING, "q=shleter"),
    Query(MISSPELLING, "q=imigration"),
    Query(MISSPELLING, "q=councelling"),
    Query(MISSPELLING, "q=trafficing"),
    Query(MISSPELLING, "q=leagl+aid"),
    Query(MISSPELLING, "q=housng+help"),
    Query(FACETS, "q=legal&need=legal-aid"),
    Query(FACETS, "q=shelter&region=US-TX"),
    Query(FACETS, "q=help&population=women&language=es"),
    Query(FACETS, "q=counselling&open_now=on"),
    Query(FACETS, "q=job+training&free=on&region=US-IL"),
    Query(FACETS, "q=immigration&need=t-visa&need=u-visa"),
    Query(FACETS, "q=help&delivery=text&trafficking_type=labour-trafficking"),
    Query(FACETS_ONLY, "need=emergency-shelter"),
    Query(FACETS_ONLY, "need=legal-aid"),
    Query(FACETS_ONLY, "population=minors&trafficking_type=sex-trafficking"),
    Query(FACETS_ONLY, "language=vi"),
    Query(FACETS_ONLY, "delivery=phone&open_now=on"),
    Query(FACETS_ONLY, "free=on&need=mental-health&region=US-CA"),
    Query(REGION, "region=US-TX"),
    Query(REGION, "region=Texas"),
    Query(REGION, "region=UG"),
    Query(REGION, "region=GB-LND"),
    Query(REGION, "region=US"),
    Query(REGION, "region=TH-10"),
    Query(DISTANCE, f"{NEAR_PARAM}=77002"),
    Query(DISTANCE, f"{NEAR_PARAM}=10001&q=legal"),
    Query(DISTANCE, f"{NEAR_PARAM}=90012&need=emergency-shelter"),
    Query(DISTANCE, f"{NEAR_PARAM}=60601&language=pl"),
    Query(DISTANCE, f"{NEAR_PARAM}=30303&open_now=on"),
    Query(DISTANCE, f"{LAT_PARAM}=29.76&{LON_PARAM}=-95.37&q=shelter"),
    Query(BROWSE, ""),
    Query(BROWSE, "page=2"),
    Query(BROWSE, "q=help&page=5"),
]


def api_query(query):
    """The same search for /api/services, where the keyword parameter is `search`."""
    return urlencode([("search" if key == "q" else key, value) for key, value in parse_qsl(query)])


# --- Figures -------------------------------------------------------------------------------------------------


def percentile(values, fraction):
    """The `fraction` percentile of `values`, interpolating between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(milliseconds):
    """p50, p95 and max (ms, rounded to 0.1) of a list of timings; None values when there are none."""
    if not milliseconds:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {
        "n": len(milliseconds),
        "p50": round(percentile(milliseconds, 0.5), 1),
        "p95": round(percentile(milliseconds, 0.95), 1),
        "max": round(max(milliseconds), 1),
    }


# The bars of the search issue, by number of services.
BARS = {
    100_000: [("page p95 <= 50 ms", "page", "p95", 50), ("naive p95 / page p95 >= 10", "ratio", None, 10)],
    1_000_000: [("page p95 <= 300 ms", "page", "p95", 300), ("page max <= 1000 ms", "page", "max", 1000)],
}


def evaluate_bars(size, summary):
    """[{bar, value, limit, met}] for the bars that apply to `size` (none for other sizes)."""
    page, naive = summary.get("page") or {}, summary.get("naive") or {}
    ratio = naive["p95"] / page["p95"] if page.get("p95") and naive.get("p95") else None
    verdicts = []
    for label, source, statistic, limit in BARS.get(size, []):
        if source == "ratio":
            value, met = ratio, ratio is not None and ratio >= limit
        else:
            value = (summary.get(source) or {}).get(statistic)
            met = value is not None and value <= limit
        verdicts.append({"bar": label, "value": None if value is None else round(value, 1), "limit": limit, "met": met})
    return verdicts


# --- The naive reference page (runs in the measuring process, where Django is set up) --------------------------

NAIVE_TEMPLATE = """<h1>{{ page.paginator.count }} results</h1>
{% for service in page.object_list %}<article>
<h3><a href="{{ service.get_absolute_url }}">{{ service.name }}</a></h3>
<p>{{ service.organization.name }}{% for area in service.service_areas.all %} · {{ area.label }}{% endfor %}</p>
<p>{{ service.description|truncatewords:40 }}</p>
<ul>{% for phone in service.phones.all %}<li>{{ phone.number }}</li>{% endfor %}</ul>
<p>{% for term in service.terms.all %}<span>{{ term.name }}</span>{% endfor %}</p>
</article>{% endfor %}
<p>Page {{ page.number }} of {{ page.paginator.num_pages }}</p>"""

_naive = {}


def naive_filter_class():
    """The FilterSet a first version would have: plain django-filter, icontains, M2M joins with DISTINCT."""
    if "filterset" in _naive:
        return _naive["filterset"]
    import django_filters
    from django.db.models import Q
    from django.utils import timezone

    from resources.models import Service, TaxonomyTerm

    def terms_of(slug):
        return TaxonomyTerm.objects.filter(taxonomy__slug=slug)

    class NaiveServiceFilter(django_filters.FilterSet):
        q = django_filters.CharFilter(method="filter_q")
        need = django_filters.ModelMultipleChoiceFilter(
            field_name="terms__code", to_field_name="code", queryset=terms_of("needs")
        )
        population = django_filters.ModelMultipleChoiceFilter(
            field_name="terms__code", to_field_name="code", queryset=terms_of("populations")
        )
        trafficking_type = django_filters.ModelMultipleChoiceFilter(
            field_name="terms__code", to_field_name="code", queryset=terms_of("trafficking-types")
        )
        language = django_filters.MultipleChoiceFilter(
            field_name="languages__code", choices=[(code, name) for code, name in generate.LANGUAGE_NAMES.items()]
        )
        region = django_filters.CharFilter(method="filter_region")
        delivery = django_filters.MultipleChoiceFilter(
            method="filter_delivery", choices=[(name, name) for name in ("in_person", "phone", "text", "online")]
        )
        open_now = django_filters.CharFilter(method="filter_open_now")
        free = django_filters.CharFilter(method="filter_free")

        class Meta:
            model = Service
            fields = []

        def filter_q(self, queryset, name, value):
            for word in value.split():
                queryset = queryset.filter(
                    Q(name__icontains=word)
                    | Q(alternate_name__icontains=word)
                    | Q(description__icontains=word)
                    | Q(organization__name__icontains=word)
                )
            return queryset

        def filter_region(self, queryset, name, value):
            place = "service_at_locations__location__addresses__"
            return queryset.filter(
                Q(**{f"{place}subdivision": value})
                | Q(**{f"{place}country": value})
                | Q(**{f"{place}state_province__iexact": value})
                | Q(service_areas__subdivision=value)
                | Q(service_areas__country=value)
            ).distinct()

        def filter_delivery(self, queryset, name, value):
            condition = Q()
            if "in_person" in value:
                condition |= Q(service_at_locations__location__location_type="physical")
            if "phone" in value:
                condition |= Q(phones__type__in=["voice", "cell", "textphone", "video"])
            if "text" in value:
                condition |= Q(phones__type="text")
            if "online" in value:
                condition |= Q(available_online=True)
            return queryset.filter(condition).distinct() if value else queryset

        def filter_open_now(self, queryset, name, value):
            # The model's own method, as a first version would call it. (A join with the open schedules,
            # schedules__in=..., is no fairer a reference: SQLite runs it in time quadratic in the services.)
            return queryset.open_at(timezone.now()) if value else queryset

        def filter_free(self, queryset, name, value):
            return queryset.filter(is_free=True) if value else queryset

    _naive["filterset"] = NaiveServiceFilter
    return NaiveServiceFilter


def naive_search(request):
    """The naive reference page: FilterSet, default Paginator (full COUNT), no select_related or prefetch."""
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.http import HttpResponse
    from django.template import engines

    from resources.models import Service

    if "template" not in _naive:
        _naive["template"] = engines["django"].from_string(NAIVE_TEMPLATE)
    queryset = Service.objects.filter(review_state=Service.ReviewState.PUBLISHED).exclude(status=Service.Status.DEFUNCT)
    filterset = naive_filter_class()(request.GET or None, queryset=queryset)
    page = Paginator(filterset.qs, settings.RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return HttpResponse(_naive["template"].render({"page": page}, request))


def bench_urlconf():
    """The project's URLs plus the naive page."""
    from django.urls import path

    from directory.urls import urlpatterns

    class URLs:
        pass

    URLs.urlpatterns = [path(NAIVE_URL.strip("/") + "/", naive_search), *urlpatterns]
    return URLs


# --- Measuring, in the process of one engine and size -------------------------------------------------------


class Client:
    """GET requests through the project's WSGI application, as gunicorn serves it (directory.wsgi: every
    middleware, connections handled as in production, the cycle collector set up as there)."""

    def __init__(self):
        from directory.wsgi import application

        self.handler = application

    def get(self, path, query=""):
        """(status, body bytes, seconds until the whole body was produced)."""
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multiprocess": False,
            "wsgi.multithread": False,
            "wsgi.run_once": False,
        }
        status = []
        started = time.perf_counter()
        response = self.handler(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            body = b"".join(response)
            seconds = time.perf_counter() - started
        finally:
            response.close()
        return int(status[0].split()[0]), body, seconds


@contextlib.contextmanager
def statements_run():
    """Collect the (sql, params) of every statement Django runs inside the block."""
    from django.db import connection

    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def our_statements(query, per_page):
    """The SQL of our page's COUNT and of its page of rows, as the filters build them: ([(sql, params)], [(sql,
    params)], number of results). On the index (ServiceFilter.results()), the page of rows is every statement
    choosing its ids (a large result's tiers take several); through the queryset, the one statement of rows."""
    from django.http import QueryDict

    from resources.filters import ServiceFilter
    from resources.models import Service

    data = QueryDict(query)
    filterset = ServiceFilter(data or None, queryset=Service.objects.published())
    results = filterset.results(prepare=lambda services: services.for_listing())
    with statements_run() as counted:
        total = results.count()
    try:
        number = max(1, int(data.get("page") or 1))
    except ValueError:
        number = 1
    number = min(number, max(1, math.ceil(total / per_page)))
    offset = (number - 1) * per_page
    with statements_run() as fetched:
        if filterset.on_index():
            results.query.page(offset, per_page, total)
        else:
            list(results[offset : offset + per_page])
    # The COUNT itself: on PostgreSQL a small share of the table is counted between statements that steer the
    # planner (search._PostgresqlIndex.counted), timed here as the planner runs it unsteered. A search near a
    # point counts its parts (search.NearQuery), each with its own COUNT: all are timed.
    count = [(sql, params) for sql, params in counted if sql.lstrip().upper().startswith("SELECT COUNT(")]
    # Likewise a ranked page's rows, without the statements that steer the planner around it.
    rows = [(sql, params or ()) for sql, params in fetched if "set_config(" not in sql]
    return count, rows if filterset.on_index() else rows[:1], total


def time_statement(statements):
    """Seconds to execute statements and fetch all their rows."""
    from django.db import connection

    seconds = 0.0
    with connection.cursor() as cursor:
        for sql, params in statements:
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            seconds += time.perf_counter() - started
    return seconds


def counted_get(client, path, query):
    """(status, body, number of SQL queries) of one request, with an empty cache (the page keeps the lists of
    what is in use a few minutes: counted cold, every request's count is comparable). Without helper threads
    (resources/aside.py), whose queries run on connections of their own: all are counted here."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    cache.clear()

    # The log keeps at most 9,000 queries and is only emptied when a request starts, which capturing prevents.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured, override_settings(SEARCH_HELPER_THREADS=0):
        status, body, _seconds = client.get(path, query)
    return status, body, len(captured.captured_queries)


def measure(repeat, naive_repeat, progress=None, queries=QUERIES):
    """Time every search of `queries` on every endpoint; Django must be set up. Returns the figures as a dict."""
    from django.conf import settings
    from django.test.utils import override_settings

    from resources.api.filters import HSDSServiceFilter
    from resources.filters import ServiceFilter

    def say(text):
        if progress:
            progress(text)

    unsupported = [name for name in DISTANCE_PARAMS if name not in ServiceFilter.base_filters]
    per_page = settings.RESULTS_PER_PAGE
    with override_settings(ROOT_URLCONF=bench_urlconf()):
        client = Client()
        searches = []
        for query in queries:
            entry = {"category": query.category, "query": query.query, "api_query": api_query(query.query)}
            missing = [name for name, _value in parse_qsl(query.query) if name in unsupported]
            if missing:
                entry["skipped"] = f"unsupported: the search filter has no {missing[0]!r} parameter (yet)"
            searches.append(entry)
        timed = [entry for entry in searches if "skipped" not in entry]

        def request(entry, endpoint):
            """(status, seconds) of one request or statement."""
            if endpoint == "page":
                status, _body, seconds = client.get(PAGE_URL, entry["query"])
            elif endpoint == "api":
                status, _body, seconds = client.get(API_URL, entry["api_query"])
            elif endpoint == "naive":
                status, _body, seconds = client.get(NAIVE_URL, entry["query"])
            else:
                status, seconds = 200, time_statement(entry["statements"][endpoint])
            return status, seconds

        say("warming up: every search once, counting its SQL queries")
        for entry in timed:
            count, rows, total = our_statements(entry["query"], per_page)
            entry["statements"] = {"count": count, "floor": rows}
            entry["results"] = total
            entry["status"], entry["queries"] = {}, {}
            for endpoint, path, query in (
                ("page", PAGE_URL, entry["query"]),
                ("api", API_URL, entry["api_query"]),
                ("naive", NAIVE_URL, entry["query"]),
            ):
                status, body, queries = counted_get(client, path, query)
                entry["status"][endpoint], entry["queries"][endpoint] = status, queries
                if endpoint == "api" and status == 200:
                    entry["api_results"] = json.loads(body)["total_items"]
                if endpoint == "naive" and status == 200:
                    entry["naive_results"] = int(body.split(b" results", 1)[0].rsplit(b">", 1)[-1])
        # A page whose number of queries depends on how many rows it shows has an N+1 somewhere: the first
        # search of each kind is asked again with one row per page.
        say("counting SQL queries again with one row per page")
        probes = [
            entry
            for number, entry in enumerate(timed)
            if entry["category"] not in {other["category"] for other in timed[:number]}
        ]
        with override_settings(RESULTS_PER_PAGE=1):
            for entry in probes:
                entry["queries_one_row"] = {
                    "page": counted_get(client, PAGE_URL, entry["query"])[2],
                    "api": counted_get(client, API_URL, f"{entry['api_query']}&per_page=1".lstrip("&"))[2],
                    "naive": counted_get(client, NAIVE_URL, entry["query"])[2],
                }
        for entry in timed:
            entry["ms"] = {endpoint: [] for endpoint in ENDPOINTS}
        rounds = max(repeat, naive_repeat)
        for round_number in range(1, rounds + 1):
            say(f"timing, round {round_number} of {rounds}")
            for entry in timed:
                for endpoint in ENDPOINTS:
                    if endpoint == "naive" and round_number > naive_repeat:
                        continue
                    if endpoint != "naive" and round_number > repeat:
                        continue
                    if endpoint in entry["statements"] and not entry["statements"][endpoint]:
                        continue  # no such statement (nothing to count): nothing to time
                    status, seconds = request(entry, endpoint)
                    if status == 200:
                        entry["ms"][endpoint].append(round(seconds * 1000, 3))
                    else:
                        entry["status"][endpoint] = status
        for entry in timed:
            statements = entry.pop("statements")["floor"]
            entry["floor_sql"] = ";\n".join(sql for sql, _params in statements)
            entry["floor_params"] = [str(param) for _sql, params in statements for param in params]

    summary = {endpoint: summarize([ms for entry in timed for ms in entry["ms"][endpoint]]) for endpoint in ENDPOINTS}
    return {
        "distance_params": {
            name: {"page": name in ServiceFilter.base_filters, "api": name in HSDSServiceFilter.base_filters}
            for name in DISTANCE_PARAMS
        },
        "repeat": repeat,
        "naive_repeat": naive_repeat,
        "per_page": per_page,
        "summary": summary,
        "queries_per_request": {
            endpoint: {
                "min": min((entry["queries"][endpoint] for entry in timed), default=None),
                "max": max((entry["queries"][endpoint] for entry in timed), default=None),
            }
            for endpoint in ("page", "api", "naive")
        },
        # How many more queries a full page takes than a page of one row (first search of each kind): 0 is
        # constant; one or two is a prefetch skipped when no row has that relation; more is an N+1.
        "queries_extra_for_full_page": {
            endpoint: max(
                (
                    entry["queries"][endpoint] - entry["queries_one_row"][endpoint]
                    for entry in timed
                    if "queries_one_row" in entry
                ),
                default=None,
            )
            for endpoint in ("page", "api", "naive")
        },
        "errors": [
            {"query": entry["query"], "status": entry["status"]}
            for entry in timed
            if any(status != 200 for status in entry["status"].values())
        ],
        "searches": searches,
    }


def child_main(options):
    """The measuring process for one engine and size: DATABASE_URL and the other settings come from the parent."""
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "directory.settings")
    import django

    django.setup()
    from django.db import connection

    started = time.monotonic()
    figures = measure(
        options.repeat,
        options.naive_repeat,
        progress=lambda text: print(f"    {text} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True),
    )
    figures["vendor"] = connection.vendor
    if connection.vendor == "postgresql":
        figures["database_version"] = f"{connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        figures["database_version"] = connection.Database.sqlite_version
    figures["seconds"] = round(time.monotonic() - started, 1)
    Path(options.output).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


# --- Building and keeping the databases ---------------------------------------------------------------------


def database_key(size, seed):
    return f"bench_search_{size}_s{seed}_v{DATA_VERSION}"


def sqlite_path(workdir, size, seed):
    return workdir / f"{database_key(size, seed)}.sqlite3"


def database_url(engine, size, options):
    if engine == "sqlite":
        return f"sqlite:///{sqlite_path(options.workdir, size, options.seed)}"
    return f"{options.postgres_url.rstrip('/')}/{database_key(size, options.seed)}"


def marker_path(engine, size, options):
    """A note written once a database is completely built; without it the database is built again."""
    return options.workdir / f"{database_key(size, options.seed)}.{engine}.built.json"


def migration_digests():
    """{file name: hash} of the app's migrations, kept with a built database."""
    folder = ROOT / "resources" / "migrations"
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16] for path in sorted(folder.glob("0*.py"))}


def stale_reason(engine, size, options):
    """Why the kept database cannot be used (None when it can): missing, incomplete, or built with a migration
    that has changed since (a new migration is fine: it is applied)."""
    marker = marker_path(engine, size, options)
    if not marker.exists() or not database_exists(engine, size, options):
        return "none is kept"
    built_with = json.loads(marker.read_text()).get("migrations", {})
    current = migration_digests()
    changed = sorted(name for name, digest in built_with.items() if current.get(name) != digest)
    if changed:
        return f"migration {changed[0]} changed since it was built"
    return None


def manage(url, *args):
    """Run one manage.py command against the database at `url`; (exit code, seconds, output)."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark-only", "DEBUG": ""}
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return process.returncode, time.monotonic() - started, process.stdout.strip()


def postgres(options, sql, *, database="postgres"):
    """Run one statement on the PostgreSQL server (autocommit); its rows, if any."""
    import psycopg

    with psycopg.connect(f"{options.postgres_url.rstrip('/')}/{database}", autocommit=True) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


def database_exists(engine, size, options):
    if engine == "sqlite":
        return sqlite_path(options.workdir, size, options.seed).exists()
    name = database_key(size, options.seed)
    return bool(postgres(options, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def drop_database(engine, size, options):
    marker_path(engine, size, options).unlink(missing_ok=True)
    if engine == "sqlite":
        path = sqlite_path(options.workdir, size, options.seed)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        postgres(options, f'DROP DATABASE IF EXISTS "{database_key(size, options.seed)}" WITH (FORCE)')


def analyze(engine, size, options):
    """Leave the database as the application would have it. PostgreSQL's autovacuum would soon analyze a freshly
    imported database, so it is done now rather than at some point during the run. Nothing in the application
    runs ANALYZE on SQLite, so neither does this: it would change the plans measured (with statistics, SQLite
    judges an index on a mostly-NULL foreign key useless and may scan the table instead)."""
    if engine == "postgresql":
        postgres(options, "VACUUM ANALYZE", database=database_key(size, options.seed))


def public_services(engine, size, options):
    sql = "SELECT count(*) FROM resources_service WHERE review_state = 'published' AND status <> 'defunct'"
    if engine == "sqlite":
        with contextlib.closing(sqlite3.connect(sqlite_path(options.workdir, size, options.seed))) as database:
            return database.execute(sql).fetchone()[0]
    return postgres(options, sql, database=database_key(size, options.seed))[0][0]


def database_bytes(engine, size, options):
    if engine == "sqlite":
        return sqlite_path(options.workdir, size, options.seed).stat().st_size
    return postgres(options, f"SELECT pg_database_size('{database_key(size, options.seed)}')")[0][0]


def prepare_database(engine, size, options, source):
    """Build the database for `engine` and `size` unless a complete one is kept; apply new migrations; analyze.
    `source()` gives the ndjson file (generated on first use). Returns a note on what was done, or raises."""
    url = database_url(engine, size, options)
    marker = marker_path(engine, size, options)
    reason = "--rebuild" if options.rebuild else stale_reason(engine, size, options)
    fresh = reason is not None
    if fresh:
        print(f"  building the {ENGINE_NAMES[engine]} database of {size:,} services ({reason}); it is kept", flush=True)
        drop_database(engine, size, options)
        if engine == "postgresql":
            postgres(options, f'CREATE DATABASE "{database_key(size, options.seed)}"')
    code, seconds, output = manage(url, "migrate", "--no-input")
    if code:
        raise RuntimeError(f"migrate failed:\n{output[-3000:]}")
    migrated = "Applying " in output
    note = {"built": fresh, "migrations_applied": migrated}
    if fresh:
        code, seconds, output = manage(url, "import_hsds", source(), "--publish")
        if code:
            raise RuntimeError(f"import_hsds failed (exit {code}):\n{output[-3000:]}")
        note["import_seconds"] = round(seconds, 1)
        print(f"  imported in {seconds:.0f} s ({size / seconds:.0f} services/s)", flush=True)
    if fresh or migrated:
        started = time.monotonic()
        analyze(engine, size, options)
        note["analyze_seconds"] = round(time.monotonic() - started, 1)
    found = public_services(engine, size, options)
    if found != size:
        raise RuntimeError(f"the database holds {found} public services, not {size}: build it again with --rebuild")
    # Complete, and migrated with the migration files as they are now.
    built = {"services": size, "seed": options.seed, "data_version": DATA_VERSION, "migrations": migration_digests()}
    marker.write_text(json.dumps(built, indent=1) + "\n")
    note["database_bytes"] = database_bytes(engine, size, options)
    return note


# --- Reporting ----------------------------------------------------------------------------------------------


def fingerprint():
    """A short hash of the search code and migrations measured, to tell runs of different versions apart."""
    digest = hashlib.sha256()
    paths = [ROOT / "resources" / "search.py", ROOT / "resources" / "filters.py"]
    paths += sorted((ROOT / "resources" / "migrations").glob("*.py"))
    for path in paths:
        if path.exists():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def constancy(extra):
    """What the number of extra queries for a full page (rather than one row) says."""
    if extra is None:
        return "not checked"
    if extra <= 0:
        return "constant"
    if extra <= N_PLUS_ONE:
        return f"constant (+{extra}: a prefetch no row needed)"
    return f"GROWS with the rows (+{extra}: N+1)"


def format_ms(value):
    return f"{value:9.1f}" if value is not None else f"{'-':>9}"


def report(run):
    """The printed table of one engine and size."""
    figures, size = run["figures"], run["size"]
    summary = figures["summary"]
    lines = []
    skipped = [entry for entry in figures["searches"] if "skipped" in entry]
    timed = [entry for entry in figures["searches"] if "skipped" not in entry]
    title = f"{ENGINE_NAMES[run['engine']]} {figures['database_version']}, {size:,} synthetic services"
    lines.append(f"\n{title}: {len(timed)} searches x {figures['repeat']} (naive x {figures['naive_repeat']})")
    for entry in skipped:
        lines.append(f"  skipped ?{entry['query']}: {entry['skipped']}")
    lines.append(f"  {'':24}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}   SQL queries per request")
    labels = {
        "page": "our page  /search/",
        "api": "our API   /api/services",
        "naive": "naive page (reference)",
        "floor": "SQL floor (page of rows)",
        "count": "SQL of our COUNT",
    }
    for endpoint in ENDPOINTS:
        stats = summary[endpoint]
        queries = figures["queries_per_request"].get(endpoint)
        spread = ""
        if queries:
            spread = f"{queries['min']}" if queries["min"] == queries["max"] else f"{queries['min']}-{queries['max']}"
        lines.append(
            f"  {labels[endpoint]:24}{format_ms(stats['p50'])}{format_ms(stats['p95'])}{format_ms(stats['max'])}"
            f"   {spread}"
        )
    page, naive = summary["page"], summary["naive"]
    if page["p95"] and naive["p95"]:
        lines.append(f"  naive p95 / page p95: {naive['p95'] / page['p95']:.1f} x")
    extra = figures["queries_extra_for_full_page"]
    lines.append(
        f"  SQL queries per page: at most {figures['queries_per_request']['page']['max']}; a full page vs one row: "
        + "; ".join(f"{endpoint} {constancy(extra[endpoint])}" for endpoint in ("page", "api", "naive"))
    )
    for error in figures["errors"]:
        lines.append(f"  ERROR status {error['status']} for ?{error['query']}")
    bars = run["bars"]
    if bars:
        lines.append(f"  bars for {size:,} services:")
        for bar in bars:
            verdict = "ok" if bar["met"] else "MISSED"
            lines.append(f"    {bar['bar']:28} {bar['value']!s:>8}   {verdict}")
    else:
        lines.append(f"  (the search issue sets no bar for {size:,} services)")

    def median(values):
        return percentile(values, 0.5) if values else None

    lines.append("  by kind of search, median ms:    page      api    naive    floor    count")
    for category in CATEGORIES:
        entries = [entry for entry in timed if entry["category"] == category]
        if not entries:
            continue
        medians = [median([ms for entry in entries for ms in entry["ms"][endpoint]]) for endpoint in ENDPOINTS]
        lines.append(f"    {category:28}" + "".join(format_ms(value) for value in medians))
    slowest = sorted(timed, key=lambda entry: -(median(entry["ms"]["page"]) or 0))[:6]
    lines.append("  slowest searches on our page, median ms (results):")
    for entry in slowest:
        lines.append(
            f"    {median(entry['ms']['page']):8.1f}  ?{entry['query'] or '(nothing)'}  [{entry['category']}]"
            f" ({entry.get('results')})"
        )
    return "\n".join(lines)


def overview(runs):
    lines = ["\nSummary (ms; page/api/naive/floor p95, page max; naive p95 / page p95; bars)"]
    lines.append(
        f"  {'engine':11}{'services':>10}{'page':>9}{'api':>9}{'naive':>9}{'floor':>9}{'page max':>10}  ratio  bars"
    )
    for run in runs:
        if "figures" not in run:
            lines.append(f"  {ENGINE_NAMES[run['engine']]:11}{run['size']:>10,}  FAILED: {run.get('error', '')[:80]}")
            continue
        summary = run["figures"]["summary"]
        page, naive = summary["page"], summary["naive"]
        ratio = f"{naive['p95'] / page['p95']:5.1f}x" if page["p95"] and naive["p95"] else "    -"
        bars = " ".join("ok" if bar["met"] else "MISSED" for bar in run["bars"]) or "-"
        lines.append(
            f"  {ENGINE_NAMES[run['engine']]:11}{run['size']:>10,}"
            + "".join(format_ms(summary[endpoint]["p95"]) for endpoint in ("page", "api", "naive", "floor"))
            + f" {format_ms(page['max'])}  {ratio}  {bars}"
        )
    return "\n".join(lines)


# --- The parent process -------------------------------------------------------------------------------------


def run_child(engine, size, options):
    """Measure one engine and size in a fresh process; its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        output = Path(scratch) / "figures.json"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(engine, size, options),
            "DJANGO_SETTINGS_MODULE": "directory.settings",
            "SECRET_KEY": "benchmark-only",
            "DEBUG": "",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "ERROR",
        }
        command = [sys.executable, str(Path(__file__).resolve()), "--child", "--output", str(output)]
        command += ["--repeat", str(options.repeat), "--naive-repeat", str(naive_repeat(size, options))]
        process = subprocess.run(command, cwd=ROOT, env=env, check=False)
        if process.returncode or not output.exists():
            raise RuntimeError(f"the measuring process failed (exit {process.returncode})")
        return json.loads(output.read_text())


def naive_repeat(size, options):
    """How often to time the naive page: --naive-repeat, else --repeat (once at a million: it is slow there)."""
    if options.naive_repeat:
        return options.naive_repeat
    return 1 if size >= 1_000_000 else options.repeat


def parse_sizes(text):
    sizes = [int(item.replace("_", "")) for item in text.split(",") if item.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give sizes such as 10000,100000")
    return sizes


def parse_engines(text):
    engines = [item.strip().lower() for item in text.split(",") if item.strip()]
    engines = ["postgresql" if engine in {"postgres", "pg"} else engine for engine in engines]
    unknown = set(engines) - set(ENGINES)
    if unknown or not engines:
        raise argparse.ArgumentTypeError(f"engines are {', '.join(ENGINES)}")
    return engines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES), help="default: 10000,100000")
    parser.add_argument("--engines", type=parse_engines, default=list(ENGINES), help="default: sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5, help="timings of each search on each endpoint (default 5)")
    parser.add_argument("--naive-repeat", type=int, help="timings of the naive page (default: --repeat; 1 at 1M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="where built databases are kept")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help=f"server for the PostgreSQL databases (default $BENCH_POSTGRES_URL or {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the databases again even when kept")
    parser.add_argument("--drop", action="store_true", help="delete the kept databases of these sizes and stop")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        return child_main(options)

    options.workdir = options.workdir.resolve()
    options.workdir.mkdir(parents=True, exist_ok=True)
    if options.drop:
        for size in options.sizes:
            for engine in options.engines:
                drop_database(engine, size, options)
                print(f"Dropped the {ENGINE_NAMES[engine]} database of {size:,} services.")
        return 0

    load = os.getloadavg()
    print(
        f"Search benchmark: sizes {', '.join(f'{size:,}' for size in options.sizes)}; "
        f"engines {', '.join(ENGINE_NAMES[engine] for engine in options.engines)}; {len(QUERIES)} searches; "
        f"{os.cpu_count()} CPUs; work folder {options.workdir}",
        flush=True,
    )
    if load[0] > 0.5:
        print(f"Note: load average {load[0]:.1f} before starting; the figures include other work.", flush=True)
    runs, failed = [], False
    for size in options.sizes:
        source = options.workdir / f"{database_key(size, options.seed)}.ndjson"

        def generated(size=size, source=source):
            if not source.exists():
                started = time.monotonic()
                partial = source.with_suffix(".partial")
                generate.generate(partial, size, seed=options.seed, text="realistic")
                partial.rename(source)
                print(f"  generated {size:,} synthetic services in {time.monotonic() - started:.0f} s", flush=True)
            return source

        try:
            for engine in options.engines:
                run = {"engine": engine, "size": size, "seed": options.seed}
                runs.append(run)
                print(f"\n{ENGINE_NAMES[engine]}, {size:,} services:", flush=True)
                try:
                    run["database"] = prepare_database(engine, size, options, generated)
                    print("  measuring", flush=True)
                    run["figures"] = run_child(engine, size, options)
                except (RuntimeError, OSError, ImportError) as error:
                    failed = True
                    run["error"] = str(error)
                    print(f"  FAILED: {error}", flush=True)
                    continue
                run["bars"] = evaluate_bars(size, run["figures"]["summary"])
                print(report(run), flush=True)
        finally:
            source.unlink(missing_ok=True)

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "when": stamp,
        "search_code": fingerprint(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": load,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "queries": [{"category": query.category, "query": query.query} for query in QUERIES],
        "runs": runs,
    }
    path = RESULTS / f"search-{stamp}.json"
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(overview(runs))
    missed = [bar for run in runs for bar in run.get("bars", []) if not bar["met"]]
    if missed:
        print(f"MISSED: {len(missed)} bar(s) not met (see above).")
    print(f"Figures saved in {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
