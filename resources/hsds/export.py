"""Export the public directory as HSDS 3.0: JSON, newline-delimited JSON, or the tabular CSV package.

What is written: every published, non-defunct service as an HSDS service document (the one mapping's
`service_document`: the service with its organization, program, phones, schedules, service areas, places
with their addresses, languages, contacts, costs, and its taxonomy terms as attributes carrying the term
and its taxonomy in full). That is the unit other HSDS systems exchange, and it is what our API serves.
JSON is one array of those documents; ndjson is one document per line. The CSV package holds the same
documents flattened into the HSDS tables, plus every term of our vocabularies.

Memory stays constant however large the directory: services are read in chunks of CHUNK_SIZE (by UUID,
with a keyset rather than OFFSET), each chunk loaded in a fixed number of queries, and each document
is written as soon as it is built. Documents come in UUID order and are serialised the same way each
time, so two exports of the same data are byte-identical.
"""

import collections
import json
import multiprocessing
import os

from django import db

from ..models import Service, TaxonomyTerm
from ..models.taxonomy import tree_order
from . import mapping, tabular

# Services per chunk: large enough that the fixed queries per chunk cost little, small enough to keep
# memory low.
CHUNK_SIZE = 500
FORMATS = ("json", "ndjson", "csv")
# A large export builds its documents in worker processes, one per core (two chunks each ahead of the
# writing), when they can read what this process reads: a database file or server, outside a transaction.
PARALLEL_AFTER = 5_000
WORKERS = min(2, os.cpu_count() or 1)
AHEAD = 2


def public_services(queryset=None):
    """The services an export may hold: the given ones (all by default), narrowed to the published."""
    return (Service.objects.all() if queryset is None else queryset).published()


def iter_documents(queryset=None, *, chunk_size=None):
    """Every public service of the queryset as an HSDS document, in UUID order, one chunk in memory."""
    for documents in _chunks(queryset, chunk_size, as_text=False):
        yield from documents


def iter_lines(queryset=None, *, chunk_size=None):
    """The same documents as JSON text, one string each."""
    for lines in _chunks(queryset, chunk_size, as_text=True):
        yield from lines


def _chunks(queryset, chunk_size, *, as_text):
    services = public_services(queryset).order_by("uuid")
    keys = _key_chunks(services, chunk_size or CHUNK_SIZE)
    if not _can_fork(services):
        terms = {}  # the terms read so far, shared by all chunks (each term's document built once)
        for pks in keys:
            yield _chunk(pks, as_text, terms)
        return
    # Forked children must not share this process's connection: each opens its own.
    db.connections.close_all()
    pool = multiprocessing.get_context("fork").Pool(WORKERS, initializer=_start_worker)
    try:
        ahead = collections.deque()
        for pks in keys:
            ahead.append(pool.apply_async(_chunk, (pks, as_text)))
            if len(ahead) > WORKERS * AHEAD:
                yield ahead.popleft().get()
        while ahead:
            yield ahead.popleft().get()
    finally:
        pool.terminate()


def _can_fork(services):
    connection = db.connections[services.db]
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    return (
        WORKERS > 1
        and "fork" in multiprocessing.get_all_start_methods()
        and not in_memory
        and not connection.in_atomic_block
        and services.count() >= PARALLEL_AFTER
    )


def _key_chunks(services, size):
    """The primary keys of the services, `size` at a time (a keyset on UUID: no OFFSET to skip)."""
    after = None
    while True:
        page = services if after is None else services.filter(uuid__gt=after)
        keys = list(page.values_list("pk", "uuid")[:size])
        if not keys:
            return
        yield [pk for pk, _uuid in keys]
        after = keys[-1][1]


# In a worker process: the terms it has read, shared by all the chunks it builds.
_worker_terms = {}
# In a worker process: the connections it inherited, kept and never used.
_inherited = []


def _start_worker():
    """Give a forked worker connections of its own. close_all() before the fork closes what this thread
    sees, but a connection can be open where it cannot look (Django keeps them per thread, and per context
    while an event loop runs, as under Playwright's synchronous API): a child using it would talk over the
    parent's socket, and two children over the same one read each other's rows. The inherited ones are
    kept, not closed: closing would end the parent's session; a worker leaves by os._exit, closing nothing."""
    for alias in db.connections:
        _inherited.append(db.connections[alias])
        db.connections[alias] = db.connections.create_connection(alias)


def _chunk(pks, as_text, terms=None):
    chunk = Service.objects.filter(pk__in=pks).order_by("uuid")
    terms = _worker_terms if terms is None else terms
    documents = [mapping.service_document(service) for service in mapping.services_for_documents(chunk, terms=terms)]
    return [dumps(document) for document in documents] if as_text else documents


def term_documents():
    """Every term of every vocabulary, a taxonomy at a time, each parent before its children."""
    terms = mapping.terms_for_documents(TaxonomyTerm.objects.all())
    by_taxonomy = {}
    for term in terms:
        by_taxonomy.setdefault(term.taxonomy.uuid, []).append(term)
    for taxonomy_id in sorted(by_taxonomy):
        for term, _depth in tree_order(by_taxonomy[taxonomy_id]):
            yield mapping.term_document(term)


def dumps(document):
    return json.dumps(document, ensure_ascii=False)


def export_json(stream, *, format="json", queryset=None, progress=None):
    """Write the public services to a text stream as a JSON array or as ndjson; return how many.

    `progress`, if given, is called with 1 after each document (a tqdm bar's `update`).
    """
    if format not in ("json", "ndjson"):
        raise ValueError(f"Unknown format {format!r}: use json or ndjson.")
    count = 0
    if format == "json":
        stream.write("[")
    for line in iter_lines(queryset):
        if format == "json":
            stream.write(",\n" if count else "\n")
            stream.write(line)
        else:
            stream.write(line + "\n")
        count += 1
        if progress:
            progress(1)
    if format == "json":
        stream.write("\n]\n" if count else "]\n")
    return count


def export_package(target, *, queryset=None, progress=None):
    """Write the public services as the HSDS tabular package into a folder or a .zip file.

    Returns the number of rows written to each table (the services are rows["service"]).
    """

    def documents():
        for document in iter_documents(queryset):
            yield document
            if progress:
                progress(1)

    return tabular.write_package(target, documents(), taxonomy_terms=term_documents())
