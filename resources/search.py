"""Keyword search: one entry point, used through the FilterSet by the HTML pages (and later the API).

This first version matches every word (AND) as a substring of the name, alternate name, organization,
need terms or description, and ranks name matches first. Issue "ranked full-text search" replaces the
inside of `search()` with FTS5 / PostgreSQL full-text search; callers keep calling `search()`.
"""

import re
import unicodedata

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8

# Characters that carry meaning in search syntaxes or SQL LIKE: matched literally by the ORM, but a word
# made only of them finds nothing useful, so they separate words.
_SEPARATORS = re.compile(r"[\s\"'`«»“”‘’()\[\]{}<>|&!?;:,]+")


def clean_query(text):
    """The query as we will use it: no control characters (NUL included), at most 200 characters."""
    text = "".join(ch for ch in (text or "") if unicodedata.category(ch) not in {"Cc", "Cs"} or ch in " \t")
    text = " ".join(text.split())
    return text[:MAX_QUERY_LENGTH].strip()


def words_of(text):
    words = [word for word in _SEPARATORS.split(clean_query(text)) if word.strip("%_*-+.~^")]
    return words[:MAX_WORDS]


def search(queryset, text):
    """Services of `queryset` that match every word of `text`, best matches first."""
    from .models import ServiceTerm

    words = words_of(text)
    if not words:
        return queryset
    for word in words:
        in_terms = ServiceTerm.objects.filter(service=OuterRef("pk"), taxonomy_term__name__icontains=word)
        queryset = queryset.filter(
            Q(name__icontains=word)
            | Q(alternate_name__icontains=word)
            | Q(organization__name__icontains=word)
            | Q(description__icontains=word)
            | Exists(in_terms)
        )
    name_match = Q()
    for word in words:
        name_match &= Q(name__icontains=word) | Q(alternate_name__icontains=word)
    return queryset.annotate(
        name_rank=Case(When(name_match, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("name_rank", "name", "pk")
