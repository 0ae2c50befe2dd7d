"""Keyword search: one entry point, `search(queryset, text)`, for the HTML pages, the API and the admin.

The text becomes a query the database runs on its full-text index (migration 0004 builds it and keeps
it current with triggers): an FTS5 table ranked with bm25 on SQLite, a weighted tsvector ranked with
ts_rank on PostgreSQL. Field weights: the service's name counts most, then its alternate name and
its organization, then its need and population terms (with their parent terms), then its description.

How the words are read, the same on both engines:
- Every word must match (in any field), stemmed: "shelters" finds "shelter".
- Common words that carry no meaning ("for", "the", "de", "la") are dropped.
- Curators' synonyms (SearchSynonym, edited in the admin) widen a word or phrase to its equivalents:
  "T visa" also finds "immigration relief", "refugio" finds "shelter".
- The last word also matches as a prefix ("shelt" finds "shelter"), for people still typing.
- A word the index does not hold at all is taken as misspelled and widened to the nearest indexed
  words: SQLite compares spellings of the index's vocabulary (fts5vocab); PostgreSQL asks pg_trgm.
- Nothing a person types is ever query syntax: words are quoted (FTS5) or passed as values to the
  tsquery functions (PostgreSQL), so no input can be an error.

Ranking lowers listings not verified in the last year (never hotlines), then orders by name.
"""

import bisect
import contextlib
import copy
import datetime
import functools
import json
import math
import re
import unicodedata
import zoneinfo

from django.db import connections, transaction
from django.db.models import BooleanField, Expression, F, FloatField, IntegerField, Value
from django.utils import timezone

from . import geo

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
# How much a listing not verified in over a year loses in rank (hotlines never do).
STALE_AFTER_DAYS = 365
STALE_FACTOR = 0.8
# How much more a listing counts when its name holds every word as typed (not only a synonym of it).
NAME_BOOST = 2.0
# bm25 weights of the FTS5 columns: name, alternate_name, organization, terms, description, and the keys and
# hours (facts for filters, never ranked).
SQLITE_WEIGHTS = (10.0, 5.0, 5.0, 3.0, 1.0, 0.0, 0.0)
# SQLite's index, and the same without the descriptions, where the first tier of a large result is found and
# ranked (migration 0016; _SqliteIndex.tiered).
SQLITE_INDEX, SQLITE_HEADINGS = "resources_searchdocument", "resources_searchheading"
# ts_rank weights of the tsvector classes D (description), C (terms), B (alternate name and organization),
# A (name). ts_rank, not ts_rank_cd: the cover density of a query of many alternatives (synonyms, corrections)
# cost three times as much to work out (16 of 26 ms to rank the 1,810 open now with "counselling" at 100,000
# services); every labelled relevance query passes with either.
POSTGRESQL_WEIGHTS = "{0.1, 0.3, 0.5, 1.0}"

# Characters that carry meaning in search syntaxes or SQL LIKE separate words.
_SEPARATORS = re.compile(r"[\s\"'`«»“”‘’()\[\]{}<>|&!?;:,*^~+=/\\]+")
# Words that say nothing about what is wanted (English and Spanish).
STOPWORDS = frozenset(
    """a an and are as at be by for from how i in is it me my near need of on or our please the to we
    what where with you your de del el en la las los para por que un una y o al con mi""".split()
)


def clean_query(text):
    """The query as we will use it: no control characters (NUL included), at most 200 characters."""
    text = "".join(ch for ch in (text or "") if unicodedata.category(ch) not in {"Cc", "Cs"} or ch in " \t")
    text = " ".join(text.split())
    return text[:MAX_QUERY_LENGTH].strip()


def words_of(text):
    words = [word.strip("%_-.") for word in _SEPARATORS.split(clean_query(text))]
    return [word for word in words if word][:MAX_WORDS]


def fold(text):
    """Lower case without accents: how synonyms are compared ("Niños" is "ninos")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Concept:
    """One thing the person asked for: a word, or a phrase, and what else means the same."""

    def __init__(self, phrases, *, prefix=False, plain=False):
        self.phrases = list(dict.fromkeys(phrases))  # tuples of words
        self.prefix = prefix  # the person may still be typing the (single) word
        self.plain = plain  # one word as typed, not a synonym: may be a misspelling
        self.corrections = []  # indexed terms near a misspelled word

    @property
    def word(self):
        return self.phrases[0][0]


def parse(text, groups=()):
    """The concepts of a query, every one required. `groups`: synonym groups, each a list of phrases (tuples
    of folded words), as `synonym_groups()` gives them."""
    folded = [fold(word) for word in words_of(text)]
    concepts, position = [], 0
    while position < len(folded):
        match = _longest_synonym(folded, position, groups)
        if match:
            length, group = match
            phrase = tuple(folded[position : position + length])
            concepts.append(Concept([phrase, *group]))
            position += length
            continue
        concepts.append(Concept([(folded[position],)], plain=True))
        position += 1
    # Words that say nothing ("for", "de") go, unless nothing else is left.
    meaningful = [concept for concept in concepts if not (concept.plain and concept.word in STOPWORDS)]
    concepts = meaningful or concepts
    if not concepts:
        return []
    last = concepts[-1]
    # Still typing the last word (no space after it): it also matches as a prefix.
    if last.plain and not (text or "").endswith((" ", "\t")) and len(last.word) >= 2:
        last.prefix = True
    return concepts


def _longest_synonym(folded, position, groups):
    best = None
    for group in groups:
        for phrase in group:
            length = len(phrase)
            matches = length and tuple(folded[position : position + length]) == phrase
            if matches and (best is None or length > best[0]):
                best = (length, group)
    return best


def synonym_groups(using="default"):
    """The curators' synonym groups, each a list of phrases, each phrase a tuple of folded words."""
    return [[tuple(fold(phrase).split()) for phrase in item.phrase_list()] for item in _synonyms().rows(using)]


@functools.cache
def _synonyms():
    """The statement that reads the synonyms, compiled once (models.reading: every search with words reads them)."""
    from .models import SearchSynonym
    from .models.reading import Prepared

    return Prepared(lambda: SearchSynonym.objects.all(), ids=False)


def regions_in(text):
    """The places a query names ("Texas", "New York", "Uganda"), each a list of the regions of that name,
    and the query without them.

    A place is read as a region, as the region filter reads it (located there, or serving it: a US-wide
    hotline serves Texas), not as a word to find in the text. Only names count (and "USA", "UK"), never
    two- or three-letter codes, which are also ordinary words ("in", "me", "and")."""
    from . import regions

    words = words_of(text)
    found, kept, position = [], [], 0
    while position < len(words):
        for length in (3, 2, 1):
            phrase = " ".join(words[position : position + length])
            if len(words[position : position + length]) < length:
                continue
            named = _regions_named(regions, phrase)
            if named:
                if named not in found:
                    found.append(named)
                position += length
                break
        else:
            kept.append(words[position])
            position += 1
    if not found:
        return [], text
    rest = " ".join(kept)
    # Still typing the last word only if it is still the last one.
    if words and kept and kept[-1] == words[-1] and not (text or "").endswith((" ", "\t")):
        return found, rest
    return found, rest + " " if rest else ""


_ABBREVIATIONS = {"usa": "US", "uk": "GB"}


def _regions_named(regions, phrase):
    """Every region of that name: a name may be several (Georgia, the country and the US state; Florida,
    the US state and a department of Uruguay), and a person typing it may mean any of them."""
    folded = phrase.casefold()
    if folded in _ABBREVIATIONS:
        return [regions.parse_region(_ABBREVIATIONS[folded])]
    if len(folded) < 4:
        return []
    codes = [regions._country_names().get(folded), *regions._subdivision_index()[2].get(folded, [])]
    return [regions.parse_region(code) for code in codes if code]


def understand(text, using="default"):
    """(places, concepts): the places a query names (each a list of regions, as regions_in gives them) and
    the concepts of its other words, every one required, misspelled words widened."""
    if not words_of(text):
        return [], []
    places, text = regions_in(text)
    if not words_of(text):
        return places, []
    groups = synonym_groups(using)
    concepts = parse(text, groups)
    vendor = connections[using].vendor
    if vendor not in _ENGINES:
        raise NotImplementedError(f"Search supports SQLite and PostgreSQL, not {vendor}.")
    has_hits, vocabulary, _apply = _ENGINES[vendor]
    with connections[using].cursor() as cursor:
        _correct(cursor, concepts, groups, has_hits, vocabulary)
    return places, concepts


def search(queryset, text):
    """Services of `queryset` that match `text`, best matches first; the queryset itself for no words."""
    return apply(queryset, *understand(text, queryset.db))


def apply(queryset, places, concepts):
    """`queryset` narrowed to the places and concepts understand() found, best matches first."""
    for named in places:
        queryset = queryset.in_any_region(named)
    if not concepts:
        return queryset
    return _ENGINES[connections[queryset.db].vendor][2](queryset, concepts)


def _correct(cursor, concepts, groups, has_hits, vocabulary):
    """Widen each plain word that no indexed listing holds, taking it as misspelled: to the synonym group of
    the nearest synonym ("shleter" is "shelter", so also "housing"), or else to the nearest indexed terms."""
    candidates = [concept for concept in concepts if concept.plain and len(concept.word) >= 4]
    if not candidates:
        return
    found = has_hits(cursor, [concept.word for concept in candidates])
    synonym_words = [(phrase[0], 0) for group in groups for phrase in group if len(phrase) == 1]
    for concept, hits in zip(candidates, found, strict=True):
        if hits:
            continue
        nearest = nearest_terms(concept.word, synonym_words, limit=1, whole=True)
        if nearest:
            group = next(group for group in groups if (nearest[0],) in group)
            concept.phrases += group
            concept.plain = False
            continue
        concept.corrections = nearest_terms(concept.word, vocabulary(cursor, concept.word))


def _fresh_since():
    return timezone.localdate() - datetime.timedelta(days=STALE_AFTER_DAYS)


# What multiplies the text rank: 1 for hotlines and recently verified listings, less for the others.
_FRESHNESS = (
    "(CASE WHEN EXISTS (SELECT 1 FROM resources_hotline h WHERE h.service_id = {key}) THEN 1.0 "
    f"WHEN {{assured}} >= %s THEN 1.0 ELSE {STALE_FACTOR} END)"
)


class _ServiceSql(Expression):
    """A piece of SQL about the service row it is evaluated on: `{key}` and `{assured}` in the template
    become that row's id and assured_date, compiled where the expression is used, so the search still
    works when another query nests it (a subquery renames the service table)."""

    def __init__(self, template, params, output_field):
        super().__init__(output_field=output_field)
        self.template, self.params = template, list(params)
        self.columns = [F("pk"), F("assured_date")]

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, expressions):
        self.columns = list(expressions)

    def as_sql(self, compiler, connection):
        (key, key_params), (assured, assured_params) = (compiler.compile(column) for column in self.columns)
        if key_params or assured_params:
            raise ValueError("A service's columns compile without parameters.")
        return self.template.format(key=key, assured=assured), self.params


def _ranked(queryset, *, where, where_params, rank, rank_params, descending):
    """The services the full-text condition keeps, joined by hand to the index table, ranked."""
    return (
        queryset.extra(tables=["resources_searchdocument"])
        .filter(_ServiceSql(where, where_params, BooleanField()))
        .annotate(search_rank=_ServiceSql(rank, rank_params, FloatField()))
        .order_by("-search_rank" if descending else "search_rank", "name", "pk")
    )


@contextlib.contextmanager
def bulk_index(using="default"):
    """Inside a transaction that adds many rows at once (an import chunk): pause the index's insert triggers
    (each new link, phone or language would rewrite its service's entry again) and index each service once
    at the end. Yields a set for the ids of the services whose entries the new rows change (new services,
    and those given new term links, hotlines, places, phones, languages or areas): the caller adds them.
    Updates and deletes are never paused. SQLite: a row in resources_searchpause pauses the triggers, and
    touching a service's name rewrites its whole entry, keys included. PostgreSQL: the transaction-local
    setting resources.search_pause, then resources_search_refresh() of each service."""
    from django.db import DatabaseError

    connection = connections[using]
    touched = set()
    if connection.vendor == "postgresql":
        pause = "SELECT set_config('resources.search_pause', %s, true)"
        with connection.cursor() as cursor:
            cursor.execute(pause, ["on"])
            try:
                yield touched
            except BaseException:
                # Back on for the rest of the transaction, unless it failed (then it is rolled back anyway).
                with contextlib.suppress(DatabaseError):
                    cursor.execute(pause, ["off"])
                raise
            cursor.execute(pause, ["off"])
            cursor.execute(
                "SELECT resources_search_refresh(id) FROM unnest(%s::bigint[]) AS touched (id)", [sorted(touched)]
            )
        return
    if connection.vendor != "sqlite":
        yield touched
        return
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO resources_searchpause (id) VALUES (1)")
        try:
            yield touched
        finally:
            cursor.execute("DELETE FROM resources_searchpause")
        ids = sorted(touched)
        for start in range(0, len(ids), 500):
            some = ids[start : start + 500]
            cursor.execute(
                f"UPDATE resources_service SET name = name WHERE id IN ({', '.join(['%s'] * len(some))})", some
            )


# An import that creates or changes at least this many records leaves SQLite's full-text index tidied
# (tidy_index), in steps of at most this many pages written.
TIDY_AFTER = 10_000
TIDY_STEP_PAGES = 500


def tidy_index(using="default"):
    """Merge each of SQLite's full-text tables into one segment. Written a few entries at a time, as every write
    path does, an FTS5 table grows segments that each query reads in turn, and keeps the replaced entries until
    a merge drops them: after an import of 100,000 services, counting those with "legal" took 2.7 ms, 0.6 once
    tidied, and the entries of "help" or "ayuda" for women in Spanish 3.8 and 2.0 ms. FTS5 merges small
    segments as they come, not everything: an import of many records does this at its end (TIDY_AFTER),
    `manage.py tidy_search_index` whenever asked. It is done in steps of TIDY_STEP_PAGES, each its own
    transaction, so that another write waits for one step at most (under 0.1 s), never for the whole (2.3 s at
    100,000 services after 3,000 listings were edited one by one; FTS5's 'optimize' takes as long in one go);
    readers read on meanwhile. A step that finds nothing left to merge changes fewer than two rows (FTS5's
    documented signal). PostgreSQL's GIN index keeps itself (its pending entries are merged by autovacuum and
    whenever they outgrow gin_pending_list_limit): nothing to do there."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    for table in (SQLITE_INDEX, SQLITE_HEADINGS):
        merging = True
        while merging:
            with transaction.atomic(using=using), connection.cursor() as cursor:
                before = connection.connection.total_changes
                # A negative number of pages: merge whatever segments there are, not only full levels.
                cursor.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('merge', %s)", [-TIDY_STEP_PAGES])
                merging = connection.connection.total_changes - before >= 2
    return True


# --- SQLite: FTS5 -----------------------------------------------------------------------------------------


def _fts_string(words):
    return '"' + " ".join(words).replace('"', '""') + '"'


def _fts_concept(concept, ranked=True):
    """One concept's alternatives, for a MATCH. With a prefix, the words as typed are there only to be weighed
    (to rank a listing with "legal" itself above one with only "legally"): its prefix finds the same listings,
    so a statement that does not rank leaves them out (`ranked` false), and does a third to a half less work
    ("help" OR "help"*: 15 ms, "help"*: 9, at 100,000 services)."""
    alternatives = [_fts_string(phrase) for phrase in concept.phrases]
    if concept.prefix:
        if not ranked:
            alternatives = alternatives[1:]  # concept.phrases[0], which the prefix extends
        alternatives.append(_fts_string(concept.phrases[0]) + "*")
    alternatives += [_fts_string((term,)) + "*" for term in concept.corrections]
    return "(" + " OR ".join(alternatives) + ")"


def _sqlite_text(concepts):
    """The MATCH expression of the words: every concept, in the text columns only."""
    return _in_columns(TEXT_COLUMNS, SQLITE_INDEX, concepts) + "(" + " AND ".join(map(_fts_concept, concepts)) + ")"


def _in_columns(columns, table, concepts):
    """The column filter ("{name ...} : ") that keeps the words of `concepts` to those of `columns` that `table`
    has, or "" where it would keep nothing out: `columns` are all the table's text columns, and no word can
    be one of the keys in its other columns (_could_be_a_key). FTS5 checks a column filter at every position of
    every match it reads: 9.7 ms to count the listings with "help" or "ayuda" at 100,000 services, 5.0
    without one."""
    text_columns = [column for column in _SQLITE_TABLE_COLUMNS[table] if column in TEXT_COLUMNS]
    if set(columns) >= set(text_columns) and not any(map(_could_be_a_key, concepts)):
        return ""
    return "{" + " ".join(column for column in columns if column in text_columns) + "} : "


def _could_be_a_key(concept):
    """Whether a word of `concept` could match a key of the keys or hours columns, each "k", letters and
    digits, "0" (key()): a word that starts with "k" and holds a digit (the porter stemmer may cut letters off
    its end), or, matched as a prefix, any that starts with "k". FTS5's tokenizer splits words only where
    this does too (at characters other than letters and digits), so no word it reads can start with "k"
    where none of these does."""
    prefixed = concept.prefix or bool(concept.corrections)
    phrases = [*concept.phrases, *((term,) for term in concept.corrections)]
    for phrase in phrases:
        for token in re.split(r"[^0-9a-z]+", fold(" ".join(phrase))):
            if token.startswith("k") and (prefixed or any(character.isdigit() for character in token)):
                return True
    return False


def _sqlite_rank(concepts, table=SQLITE_INDEX):
    """The rank of a match in `table` (the index or its headings; lower is better) as a template of `{key}`
    and `{assured}`, and its parameters."""
    weights = ", ".join(str(weight) for weight in _SQLITE_TABLE_WEIGHTS[table])
    # Listings whose name holds the words as typed: the matches of a column-filtered query, found once.
    in_name = " AND ".join(
        "name : " + _fts_string(concept.phrases[0]) + ("*" if concept.prefix else "") for concept in concepts
    )
    named = f"(CASE WHEN {{key}} IN (SELECT rowid FROM {table} WHERE {table} MATCH %s) THEN {NAME_BOOST} ELSE 1.0 END)"
    # bm25 is negative, better matches lower; the factors push better ones further from zero.
    return f'bm25("{table}", {weights}) * {named} * {_FRESHNESS}', [in_name, _fresh_since()]


def _sqlite(queryset, concepts):
    rank, rank_params = _sqlite_rank(concepts)
    # The index's rowid is hidden behind a unary +: SQLite must then read the index's matches first and
    # look each service up, never run the full-text query once per service (as its planner chose for a
    # COUNT: 28 s for 100,000 services instead of 0.1 s).
    return _ranked(
        queryset,
        where='{key} = +resources_searchdocument.rowid AND "resources_searchdocument" MATCH %s',
        where_params=[_sqlite_text(concepts)],
        rank=rank,
        rank_params=rank_params,
        descending=False,
    )


def _sqlite_has_hits(cursor, words):
    checks = ", ".join(
        "(SELECT count(*) FROM (SELECT 1 FROM resources_searchdocument WHERE resources_searchdocument MATCH %s "
        "LIMIT 1))"
        for _word in words
    )
    cursor.execute(
        f"SELECT {checks}",
        [_in_columns(TEXT_COLUMNS, SQLITE_INDEX, [Concept([(word,)])]) + _fts_string((word,)) for word in words],
    )
    return [bool(hits) for hits in cursor.fetchone()]


def _sqlite_vocabulary(cursor, word):
    """Indexed terms (stems) of the text columns that start like `word`, with how many listings hold them (at
    most: the vocabulary counts by column, migration 0007, so that the keys and hours columns stay out)."""
    cursor.execute(
        "SELECT term, sum(doc) FROM resources_searchvocabulary WHERE term >= %s AND term < %s "
        "AND col NOT IN ('keys', 'hours') "
        "GROUP BY term",
        [word[:2], word[:2] + "\uffff"],
    )
    return cursor.fetchall()


def nearest_terms(word, vocabulary, limit=2, whole=False):
    """The terms of `vocabulary` ((term, how many listings hold it) pairs) a misspelled `word` most likely
    meant: one edit away for a short word, two for a long one. Indexed terms are stems, so unless `whole`
    each is compared with the word's beginning ("traffick" is one edit from "trafick[ing]")."""
    allowed = 1 if len(word) <= 6 else 2
    scored = []
    for term, documents in vocabulary:
        # A stem is at most a few letters shorter than its word, and never much longer.
        if len(term) < 3 or len(word) - len(term) > 3 or len(term) - len(word) > 2 or term == word:
            continue
        lengths = [len(word)] if whole else range(len(term) - 1, len(term) + 3)
        distance = min(_edits(term, word[:length]) for length in lengths)
        if distance <= allowed:
            scored.append((distance, -documents, term))
    return [term for _distance, _documents, term in sorted(scored)[:limit]]


def _edits(a, b):
    """Damerau-Levenshtein distance (adjacent transpositions count one): "shleter" is one from "shelter"."""
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


# --- PostgreSQL: tsvector, websearch_to_tsquery, pg_trgm ----------------------------------------------------

_LEXEME = re.compile(r"[^\w]+")


def _pg_concept(concept):
    """The SQL of one concept's tsquery and its parameters: alternatives joined with ||."""
    parts, params = [], []
    for phrase in concept.phrases:
        parts.append("websearch_to_tsquery('english', %s)")
        params.append('"' + " ".join(phrase).replace('"', " ") + '"')
    prefixes = []
    if concept.prefix:
        prefixes.append(("english", concept.word))
    prefixes += [("simple", term) for term in concept.corrections]
    for config, word in prefixes:
        lexeme = _LEXEME.sub("", word)
        if lexeme:
            parts.append(f"to_tsquery('{config}', %s)")
            params.append(f"'{lexeme}':*")
    return "(" + " || ".join(parts) + ")", params


def _pg_query(concepts):
    """The tsquery of the words (every concept) as SQL, and its parameters."""
    sql, params = [], []
    for concept in concepts:
        part, part_params = _pg_concept(concept)
        sql.append(part)
        params += part_params
    return "(" + " && ".join(sql) + ")", params


def _pg_rank(concepts, vector):
    """The rank of a match (higher is better) as a template of `{key}` and `{assured}`, and its parameters."""
    query, params = _pg_query(concepts)
    # Listings whose name (weight A) holds the words as typed.
    typed = [(_LEXEME.sub("", word), concept.prefix) for concept in concepts for word in concept.phrases[0]]
    in_name = " & ".join(f"'{word}':{'*' if prefix else ''}A" for word, prefix in typed if word)
    named = f"(CASE WHEN {vector} @@ to_tsquery('english', %s) THEN {NAME_BOOST} ELSE 1.0 END)"
    weights = POSTGRESQL_WEIGHTS.replace("{", "{{").replace("}", "}}")  # the template is formatted
    rank = f"ts_rank('{weights}', {vector}, {query}) * {named} * {_FRESHNESS}"
    return rank, [*params, in_name, _fresh_since()]


def _postgresql(queryset, concepts):
    query, params = _pg_query(concepts)
    vector = '"resources_searchdocument"."vector"'
    rank, rank_params = _pg_rank(concepts, vector)
    return _ranked(
        queryset,
        where=f"{{key}} = resources_searchdocument.rowid AND {vector} @@ {query}",
        where_params=params,
        rank=rank,
        rank_params=rank_params,
        descending=True,
    )


def _postgresql_has_hits(cursor, words):
    checks = ", ".join(
        "EXISTS (SELECT 1 FROM resources_searchdocument WHERE vector @@ websearch_to_tsquery('english', %s))"
        for _word in words
    )
    cursor.execute(f"SELECT {checks}", ['"' + word.replace('"', " ") + '"' for word in words])
    return list(cursor.fetchone())


def _postgresql_vocabulary(cursor, word):
    """The indexed words most similar to the stem of `word`, by pg_trgm's trigram index."""
    cursor.execute(
        "WITH stem AS (SELECT coalesce((ts_lexize('english_stem', %s))[1], %s) AS word) "
        "SELECT w.word, 0 FROM resources_searchword w, stem WHERE w.word %% stem.word "
        "ORDER BY similarity(w.word, stem.word) DESC, w.word LIMIT 10",
        [word, word],
    )
    return cursor.fetchall()


# Per engine: does a word hit anything, the vocabulary near a word, and the query itself.
_ENGINES = {
    "sqlite": (_sqlite_has_hits, _sqlite_vocabulary, _sqlite),
    "postgresql": (_postgresql_has_hits, _postgresql_vocabulary, _postgresql),
}


# --- Searching on the index alone: words and filter keys ----------------------------------------------------
#
# The index also holds, for each service, the facts the filters and facet counts need, as keys (tokens of
# its `keys` column, migration 0007: "kpub0" published, "kt120" tagged with term 12 or a term below it,
# "klen0" English, "kdphone0" by phone, "kpsustx0" a place in Texas, "kb70" sample bucket 7...). A search
# whose filters are all keys runs on the index alone: counting, sampling and choosing a page's rows never
# read a service row, so their cost follows the matches of the index, not the size of the directory.

SAMPLE_BUCKETS = 1024  # each service is in one bucket, its id modulo 1024 ("kb{n}0")
# A set of results up to this size is counted and ranked one by one; a larger one is sampled (facet
# counts, PostgreSQL's total) and ranked by tier (below).
EXACT_LIMIT = 2000
# How many results a sample of a larger set should hold, about.
SAMPLE_TARGET = 1000
# The text columns of the index (a person's words never match the keys column).
TEXT_COLUMNS = ("name", "alternate_name", "organization", "terms", "description")
# The columns of the first tier of a large result: the words in what a listing is, not only in its description.
HEAVY_COLUMNS = ("name", "alternate_name", "organization", "terms")
# SQLite's index table: the text columns, then the keys and the open hours (migration 0007); the column of
# its content table that holds the keys.
SQLITE_COLUMNS = (*TEXT_COLUMNS, "keys", "hours")
# The columns of each of SQLite's two index tables, and their bm25 weights.
_SQLITE_TABLE_COLUMNS = {
    SQLITE_INDEX: SQLITE_COLUMNS,
    SQLITE_HEADINGS: tuple(column for column in SQLITE_COLUMNS if column != "description"),
}
_SQLITE_TABLE_WEIGHTS = {
    table: tuple(dict(zip(SQLITE_COLUMNS, SQLITE_WEIGHTS, strict=True))[column] for column in columns)
    for table, columns in _SQLITE_TABLE_COLUMNS.items()
}
_SQLITE_KEYS = f"c{SQLITE_COLUMNS.index('keys')}"
_SQLITE_HOURS = f"c{SQLITE_COLUMNS.index('hours')}"
_KEY_CHARACTERS = re.compile(r"[^a-z0-9]+")
# Up to this many ids (IndexQuery's `ids`) are looked up in SQLite's index one by one.
FEW_IDS = 100
# SQLite guesses the size of a set from the matches in this many sample buckets (_SqliteIndex.estimate), and
# reads at most PROBE_ROWS of them for a sample (_SqliteIndex.probe).
PROBE_BUCKETS = 16
PROBE_ROWS = 2 * SAMPLE_TARGET
# PostgreSQL reads a count through the indexes when it is guessed to match less than this share of an index
# table of at least INDEX_SCAN_ROWS rows (_PostgresqlIndex.counted).
INDEX_SCAN_SHARE = 0.5
INDEX_SCAN_ROWS = 10_000
# A sample of up to this many buckets is asked for by its keys, a larger one by the ids: on PostgreSQL as
# ranges of ids while they span up to RANGE_BLOCKS blocks of SAMPLE_BUCKETS ids (_PostgresqlIndex).
FEW_BUCKETS = 64
RANGE_BLOCKS = 128
# The results page (not the API, whose total_items stays exact) says "about N results" for a set its sample
# says holds at least ESTIMATE_FROM, when that sample holds at least ESTIMATE_SAMPLE_MIN of them and the page
# asked for lies in the first ESTIMATE_SHARE of them (SearchResults.count). Twice EXACT_LIMIT: an estimate off
# by a sample's error never puts a set on the wrong side of it (ranked, or in tiers).
ESTIMATE_FROM = 2 * EXACT_LIMIT
ESTIMATE_SAMPLE_MIN = SAMPLE_TARGET // 4
ESTIMATE_SHARE = 0.75
# The keys of the services the public may see, and of every other one (migrations 0007 and 0015).
PUBLIC, HIDDEN = "kpub0", "knopub0"


def key(kind, value=""):
    """The index key of one fact: "k", the kind, the value in lower-case letters and digits, "0"."""
    return f"k{kind}{_KEY_CHARACTERS.sub('', str(value).lower())}0"


def timezones_in_use(using="default"):
    """The timezones schedules are in: one step of the index on them for each (a loose index scan)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE zones (name) AS (SELECT min(timezone) FROM resources_schedule UNION ALL "
            "SELECT (SELECT min(timezone) FROM resources_schedule WHERE timezone > zones.name) FROM zones "
            "WHERE zones.name IS NOT NULL) SELECT name FROM zones WHERE name IS NOT NULL"
        )
        return [name for (name,) in cursor.fetchall()]


def open_now_keys(moment, using="default"):
    """The keys of which a service open at `moment` (Service.objects.open_at) holds at least one in the
    index's hours: open 24/7, or, for each timezone in use, open for the whole local hour, quarter hour or
    minute of `moment` there (the open-hour keys of migration 0007; IndexQuery's `hours`)."""
    keys = [key("oalways")]
    for name in timezones_in_use(using):
        try:
            local = moment.astimezone(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue  # open_at skips a timezone it cannot read, and so does this
        day, minute = local.weekday(), local.hour * 60 + local.minute
        keys += [
            key("o", f"{name}{day}{local.hour:02d}"),
            key("q", f"{name}{day}{minute // 15:02d}"),
            key("m", f"{name}{day}{minute:04d}"),
        ]
    return keys


def bucket_keys(count):
    """The keys of the first `count` sample buckets."""
    return [key("b", number) for number in range(count)]


def any_of(*items):
    """A condition on keys (IndexQuery's `condition`): a service holds at least one of the items, each a key
    or another condition."""
    return ("or", tuple(items))


def all_of(*items):
    """A condition on keys: a service holds every one of the items."""
    return ("and", tuple(items))


def but_not(item, excluded):
    """A condition on keys: `item` holds and `excluded` does not."""
    return ("but not", item, excluded)


def _holds(condition, keys):
    """Whether a service holding the set of `keys` meets `condition` (as its rendering would match it)."""
    if isinstance(condition, str):
        return condition in keys
    if condition[0] == "or":
        return any(_holds(item, keys) for item in condition[1])
    if condition[0] == "and":
        return all(_holds(item, keys) for item in condition[1])
    return _holds(condition[1], keys) and not _holds(condition[2], keys)


def _render(condition, syntax):
    """The condition in FTS5's query syntax ("fts5") or as a tsquery ("tsquery")."""
    if isinstance(condition, str):
        return condition
    if condition[0] in ("or", "and"):
        joins = {("or", "fts5"): " OR ", ("or", "tsquery"): " | ", ("and", "fts5"): " AND ", ("and", "tsquery"): " & "}
        return "(" + joins[condition[0], syntax].join(_render(i, syntax) for i in condition[1]) + ")"
    item, excluded = (_render(part, syntax) for part in condition[1:])
    return f"({item} NOT {excluded})" if syntax == "fts5" else f"({item} & !{excluded})"


class IndexQuery:
    """Services the index alone selects: the concepts of a search (may be none) and clauses, each a list of
    keys of which a service must hold at least one, and if given a `condition` on keys (any_of, but_not),
    `hours`, open-hour keys of which a service must hold one (open_now_keys), the `ids` a service must be one
    of and the `excluded` ids it must not be. Each method runs one statement on the index, or a few: SQLite's
    estimate counts a few buckets, a PostgreSQL count or ranked page may ask the planner for its guess and
    steer it."""

    def __init__(
        self,
        using,
        concepts,
        clauses,
        *,
        checked_since=None,
        condition=None,
        hours=None,
        ids=None,
        excluded=None,
        buckets=None,
        shared=None,
        matched=False,
    ):
        self.using = using
        # What the queries of one search work out once and share (this one, those made from it, and those given
        # the same dict): the keys of the months too long ago.
        self.shared = {} if shared is None else shared
        self.vendor = connections[using].vendor
        if self.vendor not in _INDEX_ENGINES:
            raise NotImplementedError(f"Search supports SQLite and PostgreSQL, not {self.vendor}.")
        self.concepts = list(concepts)
        self.clauses = [sorted(set(clause)) for clause in clauses]
        # Listings last checked before this date are left out (published()'s age limit), if given.
        self.checked_since = checked_since
        self.condition = condition
        self.hours = None if hours is None else sorted(set(hours))
        self.ids = None if ids is None else sorted(ids)
        self.excluded = sorted(excluded or ())
        # A sample: only the services of the first `buckets` sample buckets (their id modulo SAMPLE_BUCKETS).
        self.buckets = buckets
        # Whether `ids` are exactly the matches, as matched_once() read them: PostgreSQL then looks them up by
        # their key instead of matching the words and keys again.
        self.matched = matched
        self.engine = _INDEX_ENGINES[self.vendor](self)

    def _with(self, **changes):
        options = {
            "checked_since": self.checked_since,
            "condition": self.condition,
            "hours": self.hours,
            "ids": self.ids,
            "excluded": self.excluded,
            "buckets": self.buckets,
            "matched": self.matched,
        }
        clauses = changes.pop("clauses", self.clauses)
        return IndexQuery(self.using, self.concepts, clauses, shared=self.shared, **(options | changes))

    def sampled(self, buckets):
        """The matches in the first `buckets` sample buckets."""
        return self._with(buckets=buckets)

    def restricted(self, **changes):
        """The same query with another condition, ids or excluded ids."""
        return self._with(matched=False, **changes)

    def matched_once(self):
        """The same query, its matches read once (ids_of_matches) and from then on looked up by id, for the page
        and the sample of a set that is not too large (SearchResults.count, on PostgreSQL: reads_ids)."""
        return self._with(ids=self.ids_of_matches(), matched=True)

    @property
    def reads_ids(self):
        """Whether reading the ids of a small or middling set of matches once pays (SearchResults.count): on
        PostgreSQL, where each statement that matches the words and keys again reads their GIN indexes and
        rechecks each match's row (the count, the sample, the ranked page: 17, 16 and 26 ms for the 1,810 open
        now with "counselling" at 100,000 services). Looked up by their key, a page of them and their sample
        take a few. SQLite reads a small set whole instead (small_guesses_hold)."""
        return self.vendor == "postgresql"

    @property
    def impossible(self):
        """A clause with no key left can match nothing (a filter on something no index key stands for), nor
        can an empty list of ids."""
        return any(not clause for clause in self.clauses) or self.ids == [] or self.hours == []

    def _run(self, sql, params):
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def count(self):
        if self.impossible:
            return 0
        return self.engine.counted()

    def count_beyond(self, rows):
        """How many matches there are, given `rows`: what keys(limit=len(rows)) read, the first matches in the
        order of their ids. SQLite counts only those after the last of them: its lists of matches are in the
        order of their ids, so it finds where to start without reading the others (1.2 instead of 3.9 ms for
        the 4,043 with "help" by text for labour trafficking, after the first 2,001, at 100,000 services)."""
        if self.vendor != "sqlite" or not rows or self.engine.few is not None:
            return self.count()
        sql, params = self.engine.count()
        after = f"{sql} AND {self.engine.table}.rowid > %s"
        return len(rows) + self._run(after, [*params, rows[-1][0]])[0][0]

    def keys(self, limit=None):
        """[(service id, [keys])] of every match (of `limit` of them at most, if given)."""
        if self.impossible:
            return []
        rows = self.engine.few
        if rows is None:
            sql, params = self.engine.keys()
            if limit is not None:
                sql, params = f"{sql} LIMIT %s", [*params, limit]
            rows = self._run(sql, params)
        elif limit is not None:
            rows = rows[:limit]
        split = self.engine.split
        return [(sid, split(keys)) for sid, keys in rows]

    def estimated_count(self, sample, before):
        """(total, whether estimated) from `sample` (sample() with no total) for a page at offset `before`, or
        None: the total must be counted (SearchResults.count)."""
        rows, scale = sample
        if scale == 1:
            return len(rows), False
        total = _estimated(len(rows), scale, before)
        return None if total is None else (total, True)

    # Whether SearchResults.count may probe this query to estimate its total (NearQuery.estimates_pay).
    estimates_pay = True

    @property
    def small_guesses_hold(self):
        """Whether a set probe() guesses at most EXACT_LIMIT is so rarely larger that SearchResults.count reads
        its keys (which the facet counts need) before counting it, and counts them: on SQLite, whose guess is
        the probe's matches less two standard deviations. PostgreSQL's planner guesses too small too often
        (4,160 near 10001), and a read of EXACT_LIMIT rows of keys would then be wasted."""
        return self.vendor == "sqlite"

    def probe(self):
        """(About how many matches there are, guessed without counting them all: by PostgreSQL's planner, from
        a few sample buckets on SQLite; and the [(id, keys)] of the matches in those buckets, when they were
        read and are all there are of them (SQLite, with words: a sample of a large set, _sample), else
        None)."""
        if self.impossible:
            return 0, []
        return self.engine.probe()

    def likely(self, guess):
        """How many matches a guess of probe() stands for (to size a sample by): SQLite's guess is a lower bound."""
        return self.engine.likely(guess)

    def highest_id(self):
        """The highest id in the index (0 if empty), read once per search: from the primary key's index, at its
        end."""
        if "highest id" not in self.shared:
            table = "resources_searchdocument_content" if self.vendor == "sqlite" else "resources_searchdocument"
            column = "id" if self.vendor == "sqlite" else "rowid"
            (highest,) = self._run(f"SELECT max({column}) FROM {table}", [])[0]
            self.shared["highest id"] = highest or 0
        return self.shared["highest id"]

    def ids_of_matches(self):
        """The ids of every match, in no order."""
        if self.impossible:
            return []
        if self.engine.few is not None:
            return [row[0] for row in self.engine.few]
        # (Through the engine: PostgreSQL reads thousands of matches through the indexes, as it counts them.)
        return [row[0] for row in self.engine.run(*self.engine.ids())]

    def sample(self, total=None, probed=None):
        """(rows, scale): the [(id, [keys])] of every match when there are at most EXACT_LIMIT, scale 1; else
        of the matches in enough sample buckets to hold about SAMPLE_TARGET, and how many matches each
        stands for. `total`: how many matches there are, if known; `probed`: else what probe() gave, if asked
        already (see _sample)."""
        return _sample(self, total, probed)

    def page(self, offset, limit, total, matches=None):
        """The ids of one page of matches, best first (by name when there are no words). `matches`: the ids of
        every match, when they have been read already (a small set's sample, SearchResults): a page by name then
        sorts those rather than matching them again (3.6 instead of 8.7 ms for 1,936 at 100,000 services)."""
        if self.impossible or offset >= total:
            return []
        if self.newest_first(total):
            if self.engine.few is not None:
                return [row[0] for row in reversed(self.engine.few)][offset : offset + limit]
            if self.engine.matched_ids is not None:  # read once, in the order of their ids
                return self.engine.matched_ids[::-1][offset : offset + limit]
            return [row[0] for row in self._run(*self.engine.newest(offset, limit))]
        if not self.concepts:
            if matches is not None:
                return [row[0] for row in self._run(*_by_name_among(self.vendor, matches, offset, limit))]
            return [row[0] for row in self._run(*self.engine.by_name(offset, limit))]
        if total <= EXACT_LIMIT:
            return [row[0] for row in self.engine.run(*self.engine.ranked(offset, limit))]
        return self.engine.tiered(offset, limit, total)

    def in_order(self, ids, total):
        """`ids`, some of the matches, in the order page() lists them among all `total`, without listing the
        others: newest first is worked out here, an order by name or rank lists those ids only."""
        ids = list(ids)
        if not ids or self.newest_first(total):
            return sorted(ids, reverse=True)
        among = self.restricted(ids=ids)
        if total <= EXACT_LIMIT:  # ranked, or by name: the same order for some as for all
            return among.page(0, len(ids), len(ids))
        return self.engine.tiered(0, len(ids), total, among=among)

    def newest_first(self, total):
        """Whether page() lists these results newest first (the highest id first): many, and no words."""
        return total > EXACT_LIMIT and not self.concepts

    def ordering(self, total):
        """How page() orders these results: "relevance" or "name" (each match weighed), or, for more than
        EXACT_LIMIT, "tiers" (listings about the words first; a large tier newest first) or "newest"."""
        if total <= EXACT_LIMIT:
            return "relevance" if self.concepts else "name"
        return "tiers" if self.concepts else "newest"


def _public_by_exclusion(clauses, something_else):
    """(clauses, whether to leave out the hidden services by their key): kpub0 holds nearly every service, so
    matching it reads a list of them all (4-6 ms a statement on SQLite at 100,000 services, 1-2 on
    PostgreSQL). With other clauses, or `something_else` to match, the public key's clause is dropped and the
    few services that hold HIDDEN are left out instead, which says the same (every service holds one of the
    two keys, migration 0007)."""
    others = [clause for clause in clauses if clause != [PUBLIC]]
    if others != clauses and (others or something_else):
        return others, True
    return clauses, False


def _sample(query, total=None, probed=None):
    """IndexQuery.sample of `query` (an IndexQuery, or the parts of a NearQuery). Without `total`, a guess
    (probe()) stands in for the count, which would read every match (on PostgreSQL each of their rows,
    60-250 ms at 100,000 services; 5-25 ms on SQLite): a set guessed small is read whole (and counted if it
    turns out larger than EXACT_LIMIT after all), a larger one is sampled in as many buckets as the size the
    guess stands for (likely()) calls for (each count is scaled by the buckets actually read, so a wrong guess
    makes the sample larger or smaller, never the counts wrong by its error), taken from the probe's rows when
    they hold those buckets."""
    probe = None
    if total is None:
        guess, probe = query.probe() if probed is None else probed
        if guess <= EXACT_LIMIT:
            rows = query.keys(limit=EXACT_LIMIT + 1)
            if len(rows) <= EXACT_LIMIT:
                return rows, 1.0
            total = query.count_beyond(rows)
        else:
            total = query.likely(guess)
    if total <= EXACT_LIMIT:
        return query.keys(), 1.0
    buckets = _buckets(total)
    if probe is not None and buckets <= PROBE_BUCKETS:  # the probe holds the sample's buckets
        return [row for row in probe if row[0] % SAMPLE_BUCKETS < buckets], SAMPLE_BUCKETS / buckets
    return query.sampled(buckets).keys(), SAMPLE_BUCKETS / buckets


def _buckets(total):
    """How many sample buckets hold about SAMPLE_TARGET of `total` matches."""
    return max(1, min(SAMPLE_BUCKETS, -(-SAMPLE_BUCKETS * SAMPLE_TARGET // total)))


def _estimated(found, scale, before):
    """How many matches `found` sampled ones at `scale` stand for, if that is to be said rather than counted:
    enough of them sampled (ESTIMATE_SAMPLE_MIN), many (ESTIMATE_FROM), and a page at offset `before` in the
    first ESTIMATE_SHARE of them. Else None."""
    total = round(found * scale)
    if found < ESTIMATE_SAMPLE_MIN or total < ESTIMATE_FROM or before >= ESTIMATE_SHARE * total:
        return None
    return total


def _by_tier(tiers, offset, limit):
    """Rows of a page taken from tiers in turn: [(count, rows(offset, limit))], the first tier first."""
    found = []
    for size, rows in tiers:
        if offset < size and len(found) < limit:
            found += rows(offset, limit - len(found))
        offset = max(0, offset - size)
    return found


class _SqliteIndex:
    # (A set it reads whole is its `few`, or the sample SearchResults keeps: IndexQuery.matched_once is
    # PostgreSQL's.)
    matched_ids = None

    def __init__(self, query, table=SQLITE_INDEX):
        self.query = query
        # The index, or its headings (SQLITE_HEADINGS: the columns of TEXT_COLUMNS but the description).
        self.table = table
        self.excluded = []
        if query.checked_since:
            remembered = ("checked before", query.checked_since)
            if remembered not in query.shared:
                query.shared[remembered] = self._checked_before(query.checked_since)
            self.excluded = query.shared[remembered]
        # The MATCH of a statement that ranks, and of one that only finds (_fts_concept).
        self.match = self._match(TEXT_COLUMNS)
        self.finding = self._match(TEXT_COLUMNS, ranked=False)

    def _checked_before(self, since):
        """The keys of the months, and of the days of `since`'s month, before `since` that some listing was
        last checked in (from the index's vocabulary: few, since listings that old are the exception)."""
        month, day = key("c", since.strftime("%Y%m")), key("cd", since.strftime("%Y%m%d"))
        first_day = key("cd", since.strftime("%Y%m01"))
        # Two ranges of terms, each its own SELECT: fts5vocab answers only the first range of an OR.
        vocabulary = "SELECT term FROM resources_searchvocabulary WHERE col = 'keys' AND term >= %s AND term < %s"
        rows = self.query._run(f"{vocabulary} UNION ALL {vocabulary}", ["kc", month, first_day, day])
        return [term for (term,) in rows]

    def _match(self, columns, ranked=True):
        words = []
        if self.query.concepts:
            concepts = " AND ".join(_fts_concept(concept, ranked) for concept in self.query.concepts)
            words.append(_in_columns(columns, self.table, self.query.concepts) + "(" + concepts + ")")
        hours = [] if self.query.hours is None else ["hours : (" + " OR ".join(self.query.hours) + ")"]
        few_buckets = self.query.buckets and self.query.buckets <= FEW_BUCKETS
        # Public services only, unless the clauses say otherwise (as on PostgreSQL).
        clauses = (self.query.clauses or [[PUBLIC]]) + ([bucket_keys(self.query.buckets)] if few_buckets else [])
        clauses, hide = _public_by_exclusion(clauses, bool(words or hours) or self.query.condition is not None)
        excluded = [HIDDEN, *self.excluded] if hide else list(self.excluded)
        keys = [f"({' OR '.join(clause)})" for clause in clauses]
        if self.query.condition is not None:
            keys.append(_render(self.query.condition, "fts5"))
        match = " AND ".join([*words, *(["keys : (" + " AND ".join(keys) + ")"] if keys else []), *hours])
        if excluded:
            match = f"({match}) NOT (keys : ({' OR '.join(excluded)}))"
        return match

    # A row's keys as a list (a few thousand rows a search: a builtin, not a function of ours, for each).
    split = staticmethod(str.split)

    @functools.cached_property
    def few(self):
        """[(id, keys)] of the matches in the order of their ids, worked out here from the entries of the query's
        ids, when it has at most FEW_IDS of them and no words (else None). The full-text table would read the
        whole list of each key it matches to keep those of a few ids (8 ms at 100,000 services for the 16 places
        on the edge of a distance search open now, whose 31 open-hour keys include that of every service open
        24/7), and a lookup of each id would read them again for each; their entries take a read of a few rows."""
        query = self.query
        if query.concepts or query.ids is None or len(query.ids) > FEW_IDS or self.table != SQLITE_INDEX:
            return None
        rows = query._run(
            f"SELECT id, {_SQLITE_KEYS}, {_SQLITE_HOURS} FROM resources_searchdocument_content "
            "WHERE id IN (SELECT value FROM json_each(%s)) ORDER BY id",
            [json.dumps(query.ids)],
        )
        excluded = set(query.excluded)
        found = []
        for sid, keys, hours in rows:
            held = set(keys.split())
            if (
                sid not in excluded
                and (not query.buckets or sid % SAMPLE_BUCKETS < query.buckets)
                and all(held.intersection(clause) for clause in query.clauses or [[PUBLIC]])
                and (query.condition is None or _holds(query.condition, held))
                and (query.hours is None or not set(hours.split()).isdisjoint(query.hours))
                and held.isdisjoint(self.excluded)
            ):
                found.append((sid, keys))
        return found

    @functools.cached_property
    def _filters(self):
        """SQL and parameters of what the full-text query leaves to a filter: the query's ids and excluded ids,
        each a JSON array SQLite reads once, and a sample of more than FEW_BUCKETS buckets, by the id's modulo
        (matching hundreds of bucket keys takes longer than the rest of the query: 57 ms instead of 20 for
        512 buckets of "help" in Spanish for women, at 100,000 services)."""
        sql, params = "", []
        if self.query.buckets and self.query.buckets > FEW_BUCKETS:
            sql += f" AND {self.table}.rowid %% %s < %s"
            params += [SAMPLE_BUCKETS, self.query.buckets]
        if self.query.ids is not None:
            # A few ids are looked up one by one when the query asks only for public listings (about 60 µs each
            # at 100,000 services). With words or keys, each lookup reads their whole lists of matches again (up
            # to 17 ms an id: 700 ms for 60 ids and "legal"), so then, as for many ids, the ids filter the
            # matches ("+" keeps SQLite from driving the match by them).
            query = self.query
            keys = [clause for clause in query.clauses if clause != [PUBLIC]]
            plain = not (query.concepts or keys or query.hours or query.buckets or query.condition is not None)
            lookup = "" if plain and len(query.ids) <= FEW_IDS else "+"
            sql += f" AND {lookup}{self.table}.rowid IN (SELECT value FROM json_each(%s))"
            params.append(json.dumps(self.query.ids))
        if self.query.excluded:
            sql += f" AND {self.table}.rowid NOT IN (SELECT value FROM json_each(%s))"
            params.append(json.dumps(self.query.excluded))
        return sql, params

    @property
    def _WHERE(self):
        return f"WHERE {self.table} MATCH %s" + self._filters[0]

    @property
    def _FROM(self):
        return f"FROM {self.table} {self._WHERE}"

    def _params(self, match, *rest):
        return [match, *self._filters[1], *rest]

    def count(self):
        return f"SELECT count(*) {self._FROM}", self._params(self.finding)

    def counted(self):
        if self.few is not None:
            return len(self.few)
        return self.run(*self.count())[0][0]

    def run(self, sql, params):
        return self.query._run(sql, params)

    def keys(self):
        # The keys from the index's content table (FTS5 keeps the text of column n of a row in c{n} of its
        # shadow table "_content"): the full-text table hands its columns out one row at a time, a third
        # slower (9.4 instead of 6.4 ms for 1,936 rows at 100,000 services).
        # In the order of their ids, as FTS5 reads its lists (the order costs nothing: count_beyond needs it).
        keys = f"c{_SQLITE_TABLE_COLUMNS[self.table].index('keys')}"
        return (
            f"SELECT c.id, c.{keys} FROM {self.table} JOIN {self.table}_content c ON c.id = +{self.table}.rowid "
            f"{self._WHERE} ORDER BY {self.table}.rowid",
            self._params(self.finding),
        )

    def estimate(self):
        """FTS5 has no planner's guess, so the matches of the first PROBE_BUCKETS sample buckets (1 in 64) are
        counted and scaled up, less two standard deviations of that count: a set guessed larger than
        EXACT_LIMIT then almost surely is, and a smaller one is still counted exactly. Counting a few buckets
        takes 2-4 ms at 100,000 services, where counting every match takes 5-25 ("help" in Spanish: 30,000)."""
        return self._guess(self.query.sampled(PROBE_BUCKETS).count())

    @staticmethod
    def _guess(found):
        return int(max(0.0, found - 2 * math.sqrt(found)) * SAMPLE_BUCKETS / PROBE_BUCKETS)

    @staticmethod
    def likely(guess):
        """The matches a guess stands for: those its probe found, scaled up (_guess, undone). A sample sized
        from the guess itself held a third more than SAMPLE_TARGET ("help" in Spanish for women at 100,000
        services: 1,331 rows read and tallied instead of 1,000)."""
        if guess <= 0:
            return guess
        found = (1 + math.sqrt(1 + guess * PROBE_BUCKETS / SAMPLE_BUCKETS)) ** 2
        return int(found * SAMPLE_BUCKETS / PROBE_BUCKETS)

    def probe(self):
        """As estimate(), from the keys of those matches rather than their count: for a set of 64,000 or more
        they are a sample of it (_sample), and a statement less. A prefix or a synonym makes FTS5 read the
        whole list of each of their words for a few buckets as for all of them, so counting the probe cost as
        much as counting every match ("survivors"*: 11 ms at 100,000 services). Up to PROBE_ROWS are read:
        FTS5 stops there, and more would be too many to tally (a set of 640,000 holds 10,000 in the probe); a
        set that fills them is guessed from how far through the ids they reached, and its sample is read on its
        own. Without words the probe is counted: FTS5 skips through the lists of keys to the sample buckets'
        matches, and a count of them costs less than reading their keys (which a set of fewer than 64,000 then
        reads again for its sample: 6 ms more for the three facet samples of a search with two filters)."""
        if not self.query.concepts:
            return self.estimate(), None
        rows = self.query.sampled(PROBE_BUCKETS).keys(limit=PROBE_ROWS)
        if len(rows) >= PROBE_ROWS:
            # FTS5 hands matches out in the order of their ids, so the probe stopped at the id it reached: the
            # share of all ids up to it scales the guess up. Guessing "at least PROBE_ROWS * 64" instead sized the
            # sample of "trafficing" (746,611 of 1,000,000 services) for 128,000: 5,828 rows read, 79 ms, where
            # about 1,460 were enough.
            reached = max(row[0] for row in rows)
            share = (reached + 1) / (self.query.highest_id() + 1)
            return self._guess(len(rows) / share), None  # (the matches its buckets would hold, as below)
        return self._guess(len(rows)), rows

    def ids(self):
        return f"SELECT rowid {self._FROM}", self._params(self.finding)

    def ranked(self, offset, limit, match=None):
        rank, rank_params = _sqlite_rank(self.query.concepts, self.table)
        sql = (
            f"SELECT s.id FROM {self.table} JOIN resources_service s ON s.id = +{self.table}.rowid {self._WHERE} "
            f"ORDER BY {rank.format(key='s.id', assured='s.assured_date')}, s.name, s.id LIMIT %s OFFSET %s"
        )
        return sql, self._params(match or self.match, *rank_params, limit, offset)

    def newest(self, offset, limit, match=None):
        return f"SELECT rowid {self._FROM} ORDER BY rowid DESC LIMIT %s OFFSET %s", self._params(
            match or self.finding, limit, offset
        )

    def tiered(self, offset, limit, total, among=None):
        """A large result in two tiers: listings with every word in their name, alternate name, organization
        or needs, then those with some only in their description. A tier of at most EXACT_LIMIT is ranked;
        a larger one lists the newest listings first (ranking tens of thousands of matches that merely
        mention a word costs more than it tells). `among`: this query restricted to some of its matches,
        to list only those, in the same order. The first tier is found, counted and ranked in the index's
        headings (SQLITE_HEADINGS), whose lists of words, without the descriptions', are a tenth as long."""
        counted = _SqliteIndex(self.query, SQLITE_HEADINGS)
        headings = counted if among is None else _SqliteIndex(among, SQLITE_HEADINGS)
        # Each tier's MATCH to rank it, and to find it (_fts_concept): the first's in the headings, whose text
        # columns are HEAVY_COLUMNS; the second's in the index, where HEAVY_COLUMNS are some of its columns.
        heavy = (counted.match, counted.finding)
        in_index = self._match(HEAVY_COLUMNS, ranked=False)
        rest = (f"({self.match}) NOT ({in_index})", f"({self.finding}) NOT ({in_index})")
        # For a page, the first tier is counted only as far as the page needs: up to `enough`, the size tells
        # how to order it and where the second begins; past it, the first tier fills the page alone (and is
        # listed newest first either way). Counting all 40,000 listings with "help" in their name would take
        # 9 ms. Some matches put in order (`among`) may be in either tier, so the second's size must be exact.
        enough = max(EXACT_LIMIT, offset + limit) + 1 if among is None else -1
        (heavy_total,) = self.query._run(
            f"SELECT count(*) FROM (SELECT 1 {counted._FROM} LIMIT %s)", counted._params(heavy[1], enough)
        )[0]

        def listed(lister, matches, size, offset, limit):
            if size <= EXACT_LIMIT:
                return [row[0] for row in self.query._run(*lister.ranked(offset, limit, matches[0]))]
            return [row[0] for row in self.query._run(*lister.newest(offset, limit, matches[1]))]

        if among is not None:
            # Those of the first tier, then the others: all matches, none of the first tier, so matching the
            # whole query ranks them as matching the second tier would (the same phrases hit), without reading
            # the first tier's matches again to leave them out (14 to 9 ms for "legal" near 10001).
            first = listed(headings, heavy, heavy_total, 0, len(among.ids))
            others = among.restricted(ids=set(among.ids).difference(first))
            whole = (self.match, self.finding)
            second = listed(others.engine, whole, total - heavy_total, 0, len(others.ids)) if others.ids else []
            return (first + second)[offset : offset + limit]

        tiers = [
            (heavy_total, functools.partial(listed, headings, heavy, heavy_total)),
            (total - heavy_total, functools.partial(listed, self, rest, total - heavy_total)),
        ]
        return _by_tier(tiers, offset, limit)

    def by_name(self, offset, limit):
        if self.few is not None:
            return _by_name_among("sqlite", [row[0] for row in self.few], offset, limit)
        return (
            f"SELECT s.id FROM {self.table} JOIN resources_service s ON s.id = +{self.table}.rowid {self._WHERE} "
            "ORDER BY s.name, s.id LIMIT %s OFFSET %s",
            self._params(self.match, limit, offset),
        )


class _PostgresqlIndex:
    # (Reading a few ids' entries to match them here, as SQLite does, is not needed: the planner looks them up.)
    few = None

    def __init__(self, query):
        self.query = query
        self.conditions, self.params = [], []
        if query.matched:
            # The matches are known (IndexQuery.matched_once): those of the sample's buckets are picked here.
            ids = query.ids if not query.buckets else [sid for sid in query.ids if sid % SAMPLE_BUCKETS < query.buckets]
            self.conditions.append("d.rowid = ANY(%s)")
            self.params.append(ids)
            self.matched_ids = ids
            return
        self.matched_ids = None
        if query.concepts:
            text, text_params = _pg_query(query.concepts)
            self.conditions.append(f"d.vector @@ {text}")
            self.params += text_params
            self.text, self.text_params = text, text_params
        clauses = query.clauses or [[PUBLIC]]
        if query.buckets and query.buckets <= FEW_BUCKETS:
            clauses = [*clauses, bucket_keys(query.buckets)]
        # Open hours and words are columns of their own here: "not hidden" needs other keys beside it, else
        # it would read every row's keys.
        clauses, hide = _public_by_exclusion(clauses, query.condition is not None)
        keys = [f"({' | '.join(clause)})" for clause in clauses]
        if query.condition is not None:
            keys.append(_render(query.condition, "tsquery"))
        if hide:
            keys.append(f"!{HIDDEN}")
        keys = " & ".join(keys)
        self.conditions.append("d.keys @@ to_tsquery('simple', %s)")
        self.params.append(keys)
        if query.hours is not None:
            self.conditions.append("d.hours @@ to_tsquery('simple', %s)")
            self.params.append(" | ".join(query.hours))
        if query.checked_since:
            self.conditions.append("d.checked >= %s")
            self.params.append(query.checked_since)
        if query.buckets and query.buckets > FEW_BUCKETS:
            # The same services as the bucket keys (kb0, kb1...), told from the id: a tsquery of hundreds of
            # alternatives costs more to match, row by row, than the rest of the conditions. A few keys are
            # better (above): the keys' index then finds the sample's rows without reading the others. The ids
            # of the first buckets are the first of each block of SAMPLE_BUCKETS ids: as ranges, the primary
            # key's index finds them, and the planner reads only the rows that are in both (10 instead of
            # 26 ms for 975 of 3,754 with "help" in Spanish for women, at 100,000 services), where the modulo
            # read every match. Ranges are for up to RANGE_BLOCKS blocks; the planner takes longer over more.
            blocks = self._id_blocks()
            if blocks <= RANGE_BLOCKS:
                self.conditions.append("(" + " OR ".join(["(d.rowid >= %s AND d.rowid < %s)"] * blocks) + ")")
                self.params += [
                    bound
                    for block in range(blocks)
                    for bound in (block * SAMPLE_BUCKETS, block * SAMPLE_BUCKETS + query.buckets)
                ]
            else:
                self.conditions.append("d.rowid %% %s < %s")
                self.params += [SAMPLE_BUCKETS, query.buckets]
        if query.ids is not None:
            self.conditions.append("d.rowid = ANY(%s)")
            self.params.append(query.ids)
        if query.excluded:
            # An anti-join: "NOT d.rowid = ANY(...)" compares each row with every id (0.6 s for 13,000).
            self.conditions.append("NOT EXISTS (SELECT 1 FROM unnest(%s::bigint[]) excluded (id) WHERE id = d.rowid)")
            self.params.append(query.excluded)

    split = staticmethod(list)  # (PostgreSQL hands its arrays out as lists: a builtin, as for SQLite)

    @property
    def where(self):
        return " AND ".join(self.conditions)

    def count(self):
        return f"SELECT count(*) FROM resources_searchdocument d WHERE {self.where}", self.params

    def counted(self):
        """The count. The planner takes matching a tsquery row by row for cheap, so it reads the whole table for
        a count of thousands of matches of many alternatives (misspellings, open now: 130-270 ms at 100,000
        services) where the indexes take 30-65. A count guessed to match less than INDEX_SCAN_SHARE of a large
        table (INDEX_SCAN_ROWS) is therefore read through the indexes: sequential scans are off for that
        statement alone. A larger share is read faster as it is (all 100,000: 45 ms instead of 90). A ranked
        page, and a read of the ids of the matches, are steered likewise (83 to 56 ms for a ranked page of
        counselling open now). The ids of matches read once (IndexQuery.matched_once) are counted here."""
        if self.matched_ids is not None:
            return len(self.matched_ids)
        return self.run(*self.count())[0][0]

    def run(self, sql, params):
        """The rows of a statement on the matches (a count, a ranked page), steered as counted() says. Not some
        matches given by id (IndexQuery.in_order): the planner reads those by their key already."""
        rows = self._table_rows()
        if self.query.ids is not None or rows < INDEX_SCAN_ROWS or self._estimated() >= INDEX_SCAN_SHARE * rows:
            return self.query._run(sql, params)
        with transaction.atomic(using=self.query.using), connections[self.query.using].cursor() as cursor:
            # Local to the transaction, and put back at once for the rest of one that was already open.
            cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
            (before, _off) = cursor.fetchone()
            try:
                cursor.execute(sql, params)
                return cursor.fetchall()
            finally:
                cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [before])

    def _estimated(self):
        """estimate(), asked of the planner once for this query."""
        if not hasattr(self, "_estimate"):
            self._estimate = self.estimate()
        return self._estimate

    def _id_blocks(self):
        """How many blocks of SAMPLE_BUCKETS ids the index table's ids span."""
        return self.query.highest_id() // SAMPLE_BUCKETS + 1

    def _table_rows(self):
        """How many rows the planner thinks the index table holds (-1 if never analysed), once per search."""
        if "table rows" not in self.query.shared:
            (rows,) = self.query._run(
                "SELECT reltuples FROM pg_class WHERE oid = 'resources_searchdocument'::regclass", []
            )[0]
            self.query.shared["table rows"] = rows
        return self.query.shared["table rows"]

    def keys(self):
        return (
            f"SELECT d.rowid, tsvector_to_array(d.keys) FROM resources_searchdocument d WHERE {self.where}",
            self.params,
        )

    def ids(self):
        return f"SELECT d.rowid FROM resources_searchdocument d WHERE {self.where}", self.params

    def estimate(self):
        if self.matched_ids is not None:
            return len(self.matched_ids)
        (plan,) = self.query._run(f"EXPLAIN (FORMAT JSON) {self.ids()[0]}", self.params)[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])

    def probe(self):
        return self._estimated(), None  # (asked once: run() may steer by it)

    @staticmethod
    def likely(guess):
        return guess  # the planner's own guess

    def ranked(self, offset, limit):
        # Each match's service is looked up by its key (a lateral subquery the planner cannot flatten, for its
        # OFFSET 0): joined, the planner guessed thousands more matches than there were and read every service
        # to hash them (65 instead of 40 ms for the 1,810 open now with "counselling", at 100,000 services).
        rank, rank_params = _pg_rank(self.query.concepts, '"d"."vector"')
        sql = (
            "SELECT s.id FROM resources_searchdocument d CROSS JOIN LATERAL (SELECT s.id, s.name, s.assured_date "
            "FROM resources_service s WHERE s.id = d.rowid OFFSET 0) s "
            f"WHERE {self.where} ORDER BY {rank.format(key='s.id', assured='s.assured_date')} DESC, s.name, s.id "
            "LIMIT %s OFFSET %s"
        )
        return sql, [*self.params, *rank_params, limit, offset]

    def newest(self, offset, limit):
        sql = (
            f"SELECT d.rowid FROM resources_searchdocument d WHERE {self.where} ORDER BY d.rowid DESC "
            "LIMIT %s OFFSET %s"
        )
        return sql, [*self.params, limit, offset]

    def tiered(self, offset, limit, total, among=None):
        """A large result, newest listings first (ranking tens of thousands of matches costs more than it
        tells; SQLite's index can tell the listings about the words from those that mention them, which a
        tsvector index cannot without reading every match). `among`: as for SQLite (all of them matches, so
        put in order here)."""
        if among is not None:
            return sorted(among.ids, reverse=True)[offset : offset + limit]
        if self.matched_ids is not None:
            return self.matched_ids[::-1][offset : offset + limit]
        return [row[0] for row in self.query._run(*self.newest(offset, limit))]

    def by_name(self, offset, limit):
        if self.matched_ids is not None:
            return _by_name_among("postgresql", self.matched_ids, offset, limit)
        return (
            "SELECT s.id FROM resources_service s JOIN resources_searchdocument d ON d.rowid = s.id "
            f"WHERE {self.where} ORDER BY s.name, s.id LIMIT %s OFFSET %s",
            [*self.params, limit, offset],
        )


def _by_name_among(vendor, ids, offset, limit):
    """SQL and parameters of a page of `ids`, by name."""
    if vendor == "sqlite":
        among, ids = "IN (SELECT value FROM json_each(%s))", json.dumps(list(ids))
    else:
        among, ids = "= ANY(%s)", list(ids)
    return f"SELECT s.id FROM resources_service s WHERE s.id {among} ORDER BY s.name, s.id LIMIT %s OFFSET %s", [
        ids,
        limit,
        offset,
    ]


_INDEX_ENGINES = {"sqlite": _SqliteIndex, "postgresql": _PostgresqlIndex}
INDEX_VENDORS = frozenset(_INDEX_ENGINES)


def indexed_keys(prefixes, using="default"):
    """The keys beginning with one of `prefixes` that the index's vocabulary names (held by some service, public
    or not), on SQLite; None on PostgreSQL, whose index lists no keys."""
    if connections[using].vendor != "sqlite":
        return None
    # One SELECT a range of terms: fts5vocab answers only the first range of an OR. A prefix's range ends
    # before the prefix with its last letter raised ("kpc" up to "kpd").
    vocabulary = "SELECT term FROM resources_searchvocabulary WHERE col = 'keys' AND term >= %s AND term < %s"
    bounds = [value for prefix in prefixes for value in (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1))]
    with connections[using].cursor() as cursor:
        cursor.execute(" UNION ALL ".join([vocabulary] * len(prefixes)), bounds)
        return sorted({term for (term,) in cursor.fetchall()})


def public_keys(candidates, checked_since, using="default"):
    """Of the keys `candidates`, those a service the public may see holds (IndexQuery's public services:
    published, not defunct, checked since `checked_since`), each matched until its first such service, all in
    one statement.

    The lists of what is in use (facets.languages_in_use, filters.regions_in_use) come from here: read from the
    tables with the public services, they took a pass over every place, area and language of every one (0.5-0.9
    s at 100,000 services on SQLite, 0.3-0.4 on PostgreSQL, ten times as long at 1,000,000)."""
    candidates = sorted(set(candidates))
    if not candidates:
        return []
    shared = {}
    queries = [
        IndexQuery(using, [], [[PUBLIC], [item]], checked_since=checked_since, shared=shared) for item in candidates
    ]
    with connections[using].cursor() as cursor:
        if connections[using].vendor == "sqlite":
            # Each key's match, as an IndexQuery of it writes it, from a JSON array: a compound SELECT may have
            # only 500 parts.
            cursor.execute(
                "SELECT m.key FROM json_each(%s) m WHERE EXISTS (SELECT 1 FROM resources_searchdocument "
                "WHERE resources_searchdocument MATCH m.value)",
                [json.dumps([query.engine.finding for query in queries])],
            )
        else:
            parts, params = [], []
            for number, query in enumerate(queries):
                sql, query_params = query.engine.ids()
                parts.append(f"SELECT {number} WHERE EXISTS ({sql})")
                params += query_params
            cursor.execute(" UNION ALL ".join(parts), params)
        return [candidates[number] for (number,) in cursor.fetchall()]


def keys_of(ids, using="default"):
    """[(service id, [keys])] of the services `ids` (a list), from the index."""
    if not ids:
        return []
    vendor = connections[using].vendor
    with connections[using].cursor() as cursor:
        if vendor == "sqlite":
            # Straight from the index's content table, by id (as _SqliteIndex.keys).
            cursor.execute(
                f"SELECT id, {_SQLITE_KEYS} FROM resources_searchdocument_content "
                "WHERE id IN (SELECT value FROM json_each(%s))",
                [json.dumps(list(ids))],
            )
            return [(sid, keys.split()) for sid, keys in cursor.fetchall()]
        cursor.execute(
            "SELECT rowid, tsvector_to_array(keys) FROM resources_searchdocument WHERE rowid = ANY(%s)", [list(ids)]
        )
        return [(sid, list(keys)) for sid, keys in cursor.fetchall()]


class Around:
    """What a distance search reads of the places around its starting point, once for its results and for
    every facet: the map cells around it (geo.map_cells), those wholly within reach (geo.interior_cells), the
    services with a place within reach in the other cells (`edge`), and, for the nearest results, the services
    within a shorter distance (ring()).

    Services in the cells wholly within reach are found and counted by the index, by their cells' keys, without
    reading their places: most of those within reach of a city are in such cells. Reading every place in
    reach to list its services took most of a distance search: 20 ms for the 14,000 services within 50 miles
    of 10001 at 100,000 services, 317 ms for the 147,000 at 1,000,000."""

    def __init__(self, origin, miles, using):
        self.origin, self.miles, self.using = origin, miles, using
        self.cells = geo.map_cells(origin, miles)
        self.inside, per_degree, codes = geo.interior_cells(origin, miles) if self.cells else ([], None, set())
        self._skip = (per_degree, codes) if codes else None
        self._rings = {}

    @functools.cached_property
    def edge(self):
        """{id: (miles, place id)} of the services with a place within reach outside the cells wholly within
        reach, measured to the nearest of those places (not always their nearest: one may also have a place in
        such a cell). No service is looked up when there is no place in those other cells."""
        if not self.inside:
            return self.ring(self.miles)
        if not geo.any_place_within_box(self.origin, self.miles, self.using, skip=self._skip):
            return {}
        return geo.within_reach(self.origin, self.miles, self.using, skip=self._skip)

    def ring(self, miles):
        """geo.within_reach() for `miles` (at most the search's), read once."""
        if miles not in self._rings:
            self._rings[miles] = geo.within_reach(self.origin, miles, self.using)
        return self._rings[miles]


class _Parts:
    """Disjoint IndexQuerys taken together, as _sample() asks of one: the guess of their matches, the count,
    the keys, a sample."""

    def __init__(self, parts):
        self.parts = parts

    def probe(self):
        probes = [part.probe() for part in self.parts]
        rows = (
            None if any(rows is None for _guess, rows in probes) else [row for _guess, rows in probes for row in rows]
        )
        return sum(guess for guess, _rows in probes), rows

    def count(self):
        return sum(part.count() for part in self.parts)

    def count_beyond(self, rows):
        return self.count()  # (rows of several parts: in the order of their ids in each)

    def likely(self, guess):
        # (The parts' guesses added up: undone as one, a little less than each undone, so a sample a little larger.)
        return self.parts[0].likely(guess) if self.parts else guess

    def keys(self, limit=None):
        rows = []
        for part in self.parts:
            if limit is not None and len(rows) >= limit:
                break
            rows += part.keys(limit=None if limit is None else limit - len(rows))
        return rows

    def sampled(self, buckets):
        return _Parts([part.sampled(buckets) for part in self.parts])


class NearQuery:
    """The matches of an IndexQuery around a point, as geo.nearest_first() lists them: those with a place
    within reach first, nearest first, then those that serve the point from elsewhere (`elsewhere`: a condition
    on keys, geo.elsewhere_condition()) in the query's own order. `around`: the search's Around.

    Three disjoint parts, each an IndexQuery counted and sampled by the index: `inner`, the matches in the
    cells wholly within reach; `edge`, those reached only through a place in the other cells; `far`, those
    that serve the point from elsewhere. Only a page needs distances: it reads the places within a ring just
    wide enough to hold it, at most the whole reach (page())."""

    def __init__(self, query, around, elsewhere):
        self.query = query
        self.using = query.using
        self.around = around
        inside = around.inside
        self.inner = query.restricted(clauses=[*query.clauses, inside]) if inside else None
        edge = set(around.edge) if query.ids is None else set(around.edge).intersection(query.ids)
        if inside:  # (then there are cells)
            others = but_not(any_of(*around.cells), any_of(*inside))
        else:
            cells = self._cells(around.cells, edge)
            others = any_of(*cells) if cells else None
        self.edge = query.restricted(ids=edge, condition=others)
        far = but_not(elsewhere, any_of(*inside)) if inside else elsewhere
        self.far = query.restricted(condition=far, excluded=list(around.edge))

    @property
    def concepts(self):
        return self.query.concepts

    def _cells(self, cells, ids):
        """The map cells to narrow a list of ids by, or None. SQLite matches every listing with the words, or
        every public one, before it keeps the ids asked for: in the cells only, fewer (50-100 ms less for
        "legal" near 10001 at 100,000 services; 143 to 20 ms for the 3,104 nearest 77002 at 1,000,000). Without
        words a few ids are looked up one by one instead (FEW_IDS)."""
        return cells if cells and (self.query.concepts or len(ids) > FEW_IDS) else None

    def _parts(self):
        return [part for part in (self.inner, self.edge, self.far) if part is not None]

    def close_count(self):
        if not hasattr(self, "_close"):
            self._close = (self.inner.count() if self.inner is not None else 0) + self.edge.count()
        return self._close

    def count(self):
        if not hasattr(self, "_count"):
            self._count = self.close_count() + self.far.count()
        return self._count

    def _ring(self, miles):
        """(the query's matches within `miles`, nearest first (ties in no particular order); that reach; the
        query that lists them)."""
        reach = self.around.ring(miles)
        ids = set(reach) if self.query.ids is None else set(reach).intersection(self.query.ids)
        cells = self._cells(geo.map_cells(self.around.origin, miles), ids)
        ring = self.query.restricted(ids=ids, clauses=[*self.query.clauses, cells] if cells else self.query.clauses)
        return sorted(ring.ids_of_matches(), key=lambda sid: reach[sid][0]), reach, ring

    def within_reach(self, offset, limit):
        """From `offset`, the ids of the matches within reach, nearest first; those as near in the query's own
        order, or newest first when more than EXACT_LIMIT are within reach (as the page then says, and as
        PostgreSQL lists any large result).

        The places read are those within a ring around the point, widened until it holds the page: the
        nearest matches are all within it when it holds enough of them (at most the whole reach). Reading
        every place within reach took most of a distance search: 20 ms around 10001 at 100,000 services,
        317 ms at 1,000,000; a ring that holds a page, a few.

        Only the services as near as those of the page are put in the query's order. That costs SQLite as
        much as ranking all the matches around the point (bm25 reads the whole list of every phrase of the
        query): with thousands of matches within reach, a third of a distance page (about 25 ms of "legal"
        near 10001 at 100,000 services, 200 at 1,000,000), to order a few services at one address."""
        close = self.close_count()
        wanted = min(offset + limit, close)
        if offset >= close or limit <= 0:
            return []
        # A ring a 64th of the reach holds a 4,000th of its area, and more of its services in a city, whose
        # services are nearer its centre. Too few: one that should hold half as many again, at least twice as
        # wide; a page that is a large share of the matches reads the whole reach.
        whole = self.around.miles
        miles = whole if wanted / close >= 0.1 else whole / 64
        while True:
            ids, reach, ring = self._ring(miles)
            if len(ids) >= wanted or miles >= whole:
                break
            miles = min(whole, miles * max(2.0, 1.5 * math.sqrt(wanted / max(1, len(ids)))))
        self._reach = reach
        miles = [reach[sid][0] for sid in ids]
        last = min(len(ids), offset + limit) - 1
        start, end = bisect.bisect_left(miles, miles[offset]), bisect.bisect_right(miles, miles[last])
        group = sorted(ids[start:end], reverse=True) if close > EXACT_LIMIT else ring.in_order(ids[start:end], close)
        group.sort(key=lambda sid: reach[sid][0])  # a stable sort: as near, in the order just given
        return group[offset - start : offset - start + limit]

    def estimated_count(self, sample, before):
        """As IndexQuery.estimated_count: the matches within reach in the cells wholly within reach, estimated
        from their share of the sample (those holding one of those cells' keys), if they are many and the page
        lies in the first ESTIMATE_SHARE of them; then those from elsewhere from their share, or counted when the
        sample holds fewer than ESTIMATE_SAMPLE_MIN of them. The others
        within reach are counted (a place read for each). The page needs only the matches within reach
        before it, so counting them all was most of a distance search around a city on PostgreSQL (the
        12,805 in the cells around 77002, and the 6,621 from elsewhere: 40 ms at 100,000 services)."""
        rows, scale = sample
        if scale == 1:
            return len(rows), False
        if self.inner is None:
            return None
        inside, edge = set(self.around.inside), set(self.edge.ids)
        inner = sum(1 for _sid, keys in rows if not inside.isdisjoint(keys))
        close = _estimated(inner, scale, before)
        if close is None:
            return None
        self._close = close + self.edge.count()
        # Those from elsewhere are estimated too, even fewer than ESTIMATE_FROM, when the sample holds enough of
        # them (ESTIMATE_SAMPLE_MIN): the total is "about" already, and the pages the estimate is trusted for are
        # among those within reach. Counting the 2,797 from elsewhere with "shelter" around downtown Houston took
        # 15 ms at 100,000 services.
        far = sum(1 for sid, keys in rows if sid not in edge and inside.isdisjoint(keys))
        far = round(far * scale) if far >= ESTIMATE_SAMPLE_MIN else None
        self._count = self._close + (self.far.count() if far is None else far)
        return self._count, True

    def probe(self):
        return _Parts(self._parts()).probe()

    @property
    def reads_ids(self):
        """As IndexQuery.reads_ids, for each part (matched_once)."""
        return self.query.reads_ids

    def matched_once(self):
        """This query with each part's matches read once (IndexQuery.matched_once): counted by those reads, then
        sampled by id, and those from elsewhere listed by id, where counting the parts and then reading their
        sample matched the words and keys of each part twice more. (The page of those within reach is still
        found from the ring of places around the point: within_reach.)"""
        near = copy.copy(self)
        for counted in ("_close", "_count"):
            near.__dict__.pop(counted, None)
        near.inner = None if self.inner is None else self.inner.matched_once()
        near.edge, near.far = self.edge.matched_once(), self.far.matched_once()
        return near

    @property
    def estimates_pay(self):
        """Whether probing the parts to estimate their total (SearchResults.count) costs less than counting them:
        not on SQLite with words, where the probe of each part reads the whole list of each word, as counting
        it does (8 ms more than counting for "legal" near 10001 at 100,000 services)."""
        return not (self.query.vendor == "sqlite" and self.concepts)

    def sample(self, total=None, probed=None):
        """As IndexQuery.sample, over the three parts (a sample of each in the same buckets)."""
        return _sample(_Parts(self._parts()), total, probed)

    def page(self, offset, limit, total):
        close = self.close_count()
        found = self.within_reach(offset, limit)
        if len(found) < limit:
            found += self.far.page(max(0, offset - close), limit - len(found), total - close)
        return found

    def ordering(self, total):
        """ "distance"; "distance, then newest" when the matches within reach, or those reached from
        elsewhere, are more than EXACT_LIMIT (each list is then newest first among equals)."""
        far = total - self.close_count()
        return "distance, then newest" if max(far, self.close_count()) > EXACT_LIMIT else "distance"

    def annotation_values(self, ids):
        """What nearest_first() gives each service of a page: {"distance": {id: miles}, "nearest_place": {id:
        place id}} for those within reach (the others get None), from the places page() read."""
        reach = getattr(self, "_reach", {})
        close = [pk for pk in ids if pk in reach]
        return {"distance": {pk: reach[pk][0] for pk in close}, "nearest_place": {pk: reach[pk][1] for pk in close}}

    def annotations(self, ids):
        """annotation_values() as expressions, for a queryset of the page."""
        values = self.annotation_values(ids)
        return {
            "distance": by_id(values["distance"], FloatField()),
            "nearest_place": by_id(values["nearest_place"], IntegerField()),
        }


def by_id(values, output_field):
    """An expression of a service's value in `values` ({service id: number}), NULL for any other service: one
    CASE on the id, with the numbers as parameters. Django's Case(When(pk=...)) builds and compiles a lookup
    for each id, 3-5 ms for a page of 20 results."""
    if not values:
        return Value(None, output_field=output_field)
    numbers = [float(number) if isinstance(output_field, FloatField) else int(number) for number in values.values()]
    return _ServiceSql(
        "CASE {key} " + " ".join(["WHEN %s THEN %s"] * len(values)) + " END",
        [item for pair in zip(map(int, values), numbers, strict=True) for item in pair],
        output_field,
    )


class SearchResults:
    """The results of an IndexQuery for a paginator: count() and slices, each a queryset of the services of
    that page in the search's order, prepared by `prepare` (e.g. with what a result card shows).

    `estimate_before`: the offset of the page to be shown, when a large total may be estimated for it (None:
    always counted, as the API's total_items). `load`: instead of a queryset, a slice is what load(ids, database)
    gives, the services of those ids in that order (models.cards_of), with their annotations as attributes."""

    def __init__(self, query, prepare=None, estimate_before=None, load=None):
        self.query = query
        self.prepare = prepare or (lambda queryset: queryset)
        self.load = load
        self.estimate_before = estimate_before
        # Whether count() is an estimate (see there).
        self.estimated = False

    def count(self):
        """How many results there are. With `estimate_before`, the facets' sample of the results is read first,
        and a set it says is large (ESTIMATE_FROM) is not counted one by one: its total is the sample's, scaled
        up (the page says "about", as for the facet counts). Counting every match read most of a search for a
        common word on PostgreSQL (the rows of the 82,000 services with "help": 78-86 ms at 100,000), and of
        one of three quarters of the directory at 1,000,000 on SQLite (146 ms). Over the benchmark's searches at
        100,000 services the estimates (28 to 33 of the 50) are off by 4.0 in 100 on average on SQLite, 5.2 on
        PostgreSQL, 14 at most: a sample holds the first ids of each block of 1,024, and listings close in id
        are often close on the map (a search in one state is off the most). It is trusted only from
        ESTIMATE_SAMPLE_MIN sampled, and a page past the first ESTIMATE_SHARE of the estimate counts them all, so
        that the last pages are where the paginator says."""
        if not hasattr(self, "_count"):
            estimate = self._estimate()
            self._count = self.query.count() if estimate is None else estimate
        return self._count

    def _estimate(self):
        """The total as the sample tells it (every match, when it read them all), or None: counted then. On
        PostgreSQL (reads_ids) a set guessed, or sampled, to hold at most ESTIMATE_FROM has the ids of its
        matches read, which counts it; its sample and page are then looked up by them (_read_ids). Elsewhere a
        set guessed to hold at most EXACT_LIMIT is counted, and then sampled, as without estimates: a sample read
        first would read it whole, and when the guess was too small, find it larger, count it, and read a sample
        of it again. Where small guesses hold (SQLite's), such a set is read whole first instead, which counts it
        too (or, when it is larger after all, the rest after what was read). A larger guess sizes the sample; a
        set it then says is smaller than ESTIMATE_FROM is counted after it (on PostgreSQL, its ids read), at no
        more cost than before it, as is a page past the first ESTIMATE_SHARE of a larger one."""
        if self.estimate_before is None or not self.query.estimates_pay:
            return None
        probed = self.query.probe()
        reads_ids = self.query.reads_ids
        # A set guessed to hold no more than ESTIMATE_FROM: three times as many made 8 of 10 searches of middling
        # sets slower at 100,000 services (one estimated from its sample lists its page without reading every match).
        if reads_ids and probed[0] <= ESTIMATE_FROM:
            return self._read_ids()
        if probed[0] <= EXACT_LIMIT:
            if not getattr(self.query, "small_guesses_hold", False):
                return None
            # Read whole, the keys of a small set are its sample and its count, in one statement rather than two
            # (at 1,000,000 services each reads the lists of the words again).
            rows = self.query.keys(limit=EXACT_LIMIT + 1)
            if len(rows) > EXACT_LIMIT:
                return self.query.count_beyond(rows)
            self._sample = rows, 1.0
            return len(rows)
        self._sample = self.query.sample(probed=probed)
        found = self.query.estimated_count(self._sample, self.estimate_before)
        if found is None:
            # Too few sampled to trust, or fewer than ESTIMATE_FROM: read once, not counted (a page deep in a large
            # set is counted: reading tens of thousands of ids would cost more).
            rows, scale = self._sample
            return self._read_ids() if reads_ids and len(rows) * scale <= ESTIMATE_FROM else None
        total, self.estimated = found
        return total

    def _read_ids(self):
        """The total of a set whose matches are read once (IndexQuery.matched_once): the page and the sample,
        if not read yet, are then looked up by id."""
        self.query = self.query.matched_once()
        return self.query.count()

    def sample(self):
        """The query's sample ((rows, scale), IndexQuery.sample), read once: count() may read it, and the facet
        counts of the results themselves do."""
        if not hasattr(self, "_sample"):
            self._sample = self.query.sample(self.count())
        return self._sample

    def __len__(self):
        return self.count()

    def ordering(self):
        return self.query.ordering(self.count())

    def __getitem__(self, item):
        from .models import Service

        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError("SearchResults can only be sliced.")
        start = item.start or 0
        stop = self.count() if item.stop is None else item.stop
        sample = getattr(self, "_sample", None)
        if sample is not None and sample[1] == 1 and isinstance(self.query, IndexQuery):  # every match, read
            ids = self.query.page(start, max(0, stop - start), self.count(), [row[0] for row in sample[0]])
        else:
            ids = self.query.page(start, max(0, stop - start), self.count())
        if self.load is not None:
            services = self.load(ids, self.query.using)
            if hasattr(self.query, "annotation_values"):
                for name, values in self.query.annotation_values(ids).items():
                    for service in services:
                        setattr(service, name, values.get(service.pk))
            return services
        services = Service.objects.using(self.query.using).filter(pk__in=ids)
        if ids:
            services = services.order_by(by_id({pk: position for position, pk in enumerate(ids)}, IntegerField()))
        if hasattr(self.query, "annotations"):
            services = services.annotate(**self.query.annotations(ids))
        return self.prepare(services)
