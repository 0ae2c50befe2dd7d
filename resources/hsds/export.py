"""Export the public directory as HSDS 3.0: JSON, newline-delimited JSON, or the tabular CSV package.

What is written: every published, non-defunct service as an HSDS service document (the one mapping's
`service_document`: the service with its organization, program, phones, schedules, service areas, places
with their addresses, languages, contacts, costs, and its taxonomy terms as attributes carrying the term
and its taxonomy in full). That is the unit other HSDS systems exchange, and it is what our API serves.
JSON is one array of those documents; ndjson is one document per line. The CSV package holds the same
documents flattened into the HSDS tables, plus every term of our vocabularies.

Memory stays constant however large the directory: services are read in chunks of CHUNK_SIZE (by UUID,
with a keyset rather than OFFSET), each chunk prefetched in a fixed number of queries, and each document
is written as soon as it is built. Documents come in UUID order and are serialised the same way each
time, so two exports of the same data are byte-identical.
"""

import gc
import json

from ..models import Service, TaxonomyTerm
from ..models.taxonomy import tree_order
from . import mapping, tabular

# Services per chunk. Kept below 1,000 because Django 5.2 prefetches a foreign key (a service at
# location's place) with one OR term per distinct target on SQLite, which refuses more than 1,000.
CHUNK_SIZE = 500
FORMATS = ("json", "ndjson", "csv")


def public_services(queryset=None):
    """The services an export may hold: the given ones (all by default), narrowed to the published."""
    return (Service.objects.all() if queryset is None else queryset).published()


def iter_documents(queryset=None, *, chunk_size=None):
    """Every public service of the queryset as an HSDS document, in UUID order, one chunk in memory."""
    chunk_size = chunk_size or CHUNK_SIZE
    services = public_services(queryset).order_by("uuid")
    # A chunk's prefetched instances refer to each other (a phone to its service, the service to its
    # phones), so only the cycle collector frees them. Left to its own schedule it runs again and again
    # while a chunk is built, which costs about a quarter of the export's time; collecting once after
    # each chunk is faster and frees as much.
    collecting = gc.isenabled()
    gc.disable()
    try:
        keys = _next_keys(services, None, chunk_size)
        while keys:
            yield from _chunk_documents([pk for pk, _uuid in keys])
            keys = _next_keys(services, keys[-1][1], chunk_size)
            gc.collect()
    finally:
        if collecting:
            gc.enable()


def _next_keys(services, after, size):
    """(pk, uuid) of the next `size` services after the UUID `after` (a keyset: no OFFSET to skip)."""
    page = services if after is None else services.filter(uuid__gt=after)
    return list(page.values_list("pk", "uuid")[:size])


def _chunk_documents(keys):
    chunk = mapping.services_for_documents(Service.objects.filter(pk__in=keys))
    for service in chunk.order_by("uuid"):
        yield mapping.service_document(service)


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
    for document in iter_documents(queryset):
        if format == "json":
            stream.write(",\n" if count else "\n")
            stream.write(dumps(document))
        else:
            stream.write(dumps(document) + "\n")
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
