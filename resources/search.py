"""Keyword search: one entry point, `search(queryset, text)`, for the HTML pages, the API and the admin.

The text becomes a query the database runs on its full-text index (migration 0004 builds it and keeps
it current with triggers): an FTS5 table ranked with bm25 on SQLite, a weighted tsvector ranked with
ts_rank_cd on PostgreSQL. Field weights: the service's name counts most, then its alternate name and
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

import contextlib
import datetime
import re
import unicodedata

from django.db import connections
from django.db.models import BooleanField, Expression, F, FloatField
from django.utils import timezone

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
# How much a listing not verified in over a year loses in rank (hotlines never do).
STALE_AFTER_DAYS = 365
STALE_FACTOR = 0.8
# How much more a listing counts when its name holds every word as typed (not only a synonym of it).
NAME_BOOST = 2.0
# bm25 weights of the FTS5 columns: name, alternate_name, organization, terms, description.
SQLITE_WEIGHTS = (10.0, 5.0, 5.0, 3.0, 1.0)
# ts_rank_cd weights of the tsvector classes D (description), C (terms), B (alternate name and
# organization), A (name).
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


def synonym_groups():
    """The curators' synonym groups, each a list of phrases, each phrase a tuple of folded words."""
    from .models import SearchSynonym

    return [[tuple(fold(phrase).split()) for phrase in item.phrase_list()] for item in SearchSynonym.objects.all()]


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


def search(queryset, text):
    """Services of `queryset` that match `text`, best matches first; the queryset itself for no words."""
    if not words_of(text):
        return queryset
    places, text = regions_in(text)
    for named in places:
        queryset = queryset.in_any_region(named)
    if not words_of(text):
        return queryset
    groups = synonym_groups()
    concepts = parse(text, groups)
    vendor = connections[queryset.db].vendor
    if vendor not in _ENGINES:
        raise NotImplementedError(f"Search supports SQLite and PostgreSQL, not {vendor}.")
    has_hits, vocabulary, apply = _ENGINES[vendor]
    with connections[queryset.db].cursor() as cursor:
        _correct(cursor, concepts, groups, has_hits, vocabulary)
    return apply(queryset, concepts)


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
    """Inside a transaction that adds many services and term links at once (an import chunk): on SQLite,
    pause the insert triggers (a link's rewrites the service's whole entry) and index each service once
    at the end. Yields a set for the ids of the services added or given new links; their entries are
    rewritten by touching their name, which the service trigger indexes in full."""
    connection = connections[using]
    touched = set()
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


# --- SQLite: FTS5 -----------------------------------------------------------------------------------------


def _fts_string(words):
    return '"' + " ".join(words).replace('"', '""') + '"'


def _fts_concept(concept):
    alternatives = [_fts_string(phrase) for phrase in concept.phrases]
    if concept.prefix:
        alternatives.append(_fts_string(concept.phrases[0]) + "*")
    alternatives += [_fts_string((term,)) + "*" for term in concept.corrections]
    return "(" + " OR ".join(alternatives) + ")"


def _sqlite(queryset, concepts):
    match = " AND ".join(_fts_concept(concept) for concept in concepts)
    weights = ", ".join(str(weight) for weight in SQLITE_WEIGHTS)
    # Listings whose name holds the words as typed: the matches of a column-filtered query, found once.
    in_name = " AND ".join(
        "name : " + _fts_string(concept.phrases[0]) + ("*" if concept.prefix else "") for concept in concepts
    )
    named = (
        "(CASE WHEN {key} IN (SELECT rowid FROM resources_searchdocument "
        f"WHERE resources_searchdocument MATCH %s) THEN {NAME_BOOST} ELSE 1.0 END)"
    )
    # bm25 is negative, better matches lower; the factors push better ones further from zero.
    rank = f'bm25("resources_searchdocument", {weights}) * {named} * {_FRESHNESS}'
    # The index's rowid is hidden behind a unary +: SQLite must then read the index's matches first and
    # look each service up, never run the full-text query once per service (as its planner chose for a
    # COUNT: 28 s for 100,000 services instead of 0.1 s).
    return _ranked(
        queryset,
        where='{key} = +resources_searchdocument.rowid AND "resources_searchdocument" MATCH %s',
        where_params=[match],
        rank=rank,
        rank_params=[in_name, _fresh_since()],
        descending=False,
    )


def _sqlite_has_hits(cursor, words):
    checks = ", ".join(
        "(SELECT count(*) FROM (SELECT 1 FROM resources_searchdocument WHERE resources_searchdocument MATCH %s "
        "LIMIT 1))"
        for _word in words
    )
    cursor.execute(f"SELECT {checks}", [_fts_string((word,)) for word in words])
    return [bool(hits) for hits in cursor.fetchone()]


def _sqlite_vocabulary(cursor, word):
    """Indexed terms (stems) that start like `word`, with how many listings hold them."""
    cursor.execute(
        "SELECT term, doc FROM resources_searchvocabulary WHERE term >= %s AND term < %s",
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


def _postgresql(queryset, concepts):
    sql, params = [], []
    for concept in concepts:
        part, part_params = _pg_concept(concept)
        sql.append(part)
        params += part_params
    query = "(" + " && ".join(sql) + ")"
    vector = '"resources_searchdocument"."vector"'
    # Listings whose name (weight A) holds the words as typed.
    typed = [(_LEXEME.sub("", word), concept.prefix) for concept in concepts for word in concept.phrases[0]]
    in_name = " & ".join(f"'{word}':{'*' if prefix else ''}A" for word, prefix in typed if word)
    named = f"(CASE WHEN {vector} @@ to_tsquery('english', %s) THEN {NAME_BOOST} ELSE 1.0 END)"
    weights = POSTGRESQL_WEIGHTS.replace("{", "{{").replace("}", "}}")  # the template is formatted
    rank = f"ts_rank_cd('{weights}', {vector}, {query}) * {named} * {_FRESHNESS}"
    return _ranked(
        queryset,
        where=f"{{key}} = resources_searchdocument.rowid AND {vector} @@ {query}",
        where_params=params,
        rank=rank,
        rank_params=[*params, in_name, _fresh_since()],
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
