"""The HSDS Page envelope, and the ndjson stream of every result.

A page past the last one is an empty page (like the Page type HSDS borrowed its envelope from), so a
client walking the pages while the directory changes ends cleanly instead of failing.
"""

import json
import math

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

NDJSON = "application/x-ndjson"
CHUNK_SIZE = 200


def page(queryset, documents, *, page_number, per_page):
    """The Page envelope for one page of `queryset`; `documents` turns a slice of rows into documents."""
    total = queryset.count()
    total_pages = math.ceil(total / per_page)
    offset = (page_number - 1) * per_page
    contents = documents(queryset[offset : offset + per_page]) if page_number <= total_pages else []
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(contents),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def chunks(queryset, size=CHUNK_SIZE):
    """The rows of `queryset` in slices of `size`, by primary key, so memory stays flat however many."""
    queryset = queryset.order_by("pk")
    last = None
    while True:
        chunk = queryset if last is None else queryset.filter(pk__gt=last)
        pks = list(chunk.values_list("pk", flat=True)[:size])
        if not pks:
            return
        # The filters ran once, for the keys; the documents come by key alone.
        yield queryset.model._default_manager.filter(pk__in=pks).order_by("pk")
        last = pks[-1]


def _lines(queryset, documents):
    for rows in chunks(queryset):
        for document in documents(rows):
            yield json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False).encode() + b"\n"


def ndjson(queryset, documents):
    """Every result, one JSON document per line, streamed (ordered by id, not by relevance)."""
    return StreamingHttpResponse(_lines(queryset, documents), content_type=NDJSON)
