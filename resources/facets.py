"""Facet counts for the search page: for each choice of a facet, how many results ticking it would leave.

Counts are disjunctive: a facet's choices are counted over the results of every OTHER filter (and the
search text), so choosing "Legal aid" does not turn every other need into zero; within a facet, values
combine with OR.

They are counted from the keys the search index holds for each service (search.key(): "kt120" is tagged
with term 12 or a term below it, "kles0" offers Spanish, "kpsustx0" has a place in Texas, ...), read in one
statement for a set of results. A set of at most search.EXACT_LIMIT results is counted one by one, exactly.
A larger one is counted on a sample (the services of a few of the index's 32 sample buckets, about
search.SAMPLE_TARGET of them) and each count scaled up and rounded: the page says "about". A choice the
sample does not hold is still offered, without a number, since it may well be among the results.

A need counts the services tagged with it or with any need below it, each service once. A region counts
the services `in_region` finds there (located in it, or with an area that covers it or lies inside it).
"""

import math
from collections import Counter
from dataclasses import dataclass
from itertools import chain

from django.core.cache import cache
from django.db.models import F

from . import regions as regions_module
from .models import Service, TaxonomyTerm
from .models.details import language_label
from .models.reading import Prepared
from .models.taxonomy import tree_order
from .search import indexed_keys, key, public_keys

# How long the lists of regions and languages in use are kept before being read again.
IN_USE_SECONDS = 300


@dataclass
class Choice:
    value: str
    label: str
    count: int | None  # None: a sample could not tell
    selected: bool = False
    depth: int = 0  # in a tree of terms
    approximate: bool = False

    @property
    def shown(self):
        """Choices that would leave nothing are left out, unless already chosen (so they can be unticked)."""
        return self.count is None or self.count > 0 or self.selected


def estimate(count):
    """A count scaled from a sample, to two significant figures (1,234 is "about 1,200")."""
    if count <= 0:
        return 0
    digits = max(0, math.floor(math.log10(count)) - 1)
    return int(round(count / 10**digits) * 10**digits)


class Tally:
    """How many results hold each key: `rows` are (service id, keys) of every result, or of a sample of
    them when `scale` (how many results each sampled one stands for) is above 1."""

    def __init__(self, rows, scale=1.0):
        self.rows = rows  # a service's keys are each there once (the index keeps them so)
        self.scale = scale
        self.counter = Counter(chain.from_iterable(keys for _sid, keys in rows))

    @property
    def exact(self):
        return self.scale == 1

    def count(self, raw):
        if self.exact:
            return raw
        return estimate(raw * self.scale) if raw else None

    def choice(self, value, label, raw, selected, depth=0):
        return Choice(value, label, self.count(raw), selected, depth, approximate=not self.exact)


def _visible(choices):
    return [choice for choice in choices if choice.shown]


# --- terms (needs, populations, trafficking types) -----------------------------------------------------------


def vocabularies(slugs, using="default"):
    """{slug: [terms]} for the vocabularies, in one statement (compiled once: models.reading)."""
    found = {slug: [] for slug in slugs}
    for term in _TERMS_OF_VOCABULARIES.rows(using, *slugs):
        found[term.vocabulary].append(term)
    return found


_TERMS_OF_VOCABULARIES = Prepared(
    lambda *slugs: TaxonomyTerm.objects.filter(taxonomy__slug__in=slugs).annotate(vocabulary=F("taxonomy__slug")),
    ids=False,
)


def term_choices(tally, terms, selected_codes):
    return _visible(
        tally.choice(term.code, term.display_name, tally.counter[key("t", term.pk)], term.code in selected_codes, depth)
        for term, depth in tree_order(terms)
    )


# --- regions --------------------------------------------------------------------------------------------------


def region_keys(region):
    """The keys that put a service in `region`, as Service.objects.region_condition() decides: located in it
    (or in a subdivision inside it), or serving it (worldwide, the whole country, a subdivision around it,
    or an area inside it)."""
    if region.is_country:
        return [key("pc", region.code), key("ww"), key("ac", region.code)]
    return [
        key("ww"),
        key("wc", region.country),
        *(key("ws", ancestor) for ancestor in region.ancestors()),
        *(key("ps", inside) for inside in sorted(region.descendants())),
        *(key("as", inside) for inside in sorted(region.descendants())),
    ]


def region_counts(tally, region_list):
    """{region code: raw count of the tally's rows in that region}."""
    regions_of_key = {}
    for region in region_list:
        for item in region_keys(region):
            regions_of_key.setdefault(item, set()).add(region.code)
    # Services share a few patterns of region keys: count the patterns, then each pattern's regions once.
    region_key_set = frozenset(regions_of_key)
    patterns = Counter(frozenset(region_key_set.intersection(keys)) for _sid, keys in tally.rows)
    counts = Counter()
    for found, services in patterns.items():
        for code in set().union(*(regions_of_key[item] for item in found)):
            counts[code] += services
    return {region.code: counts[region.code] for region in region_list}


def region_choices(tally, labelled, selected):
    """`labelled`: (code, label) of the regions in use (regions_in_use)."""
    selected_codes = {region.code for region in selected}
    region_list = [regions_module.Region(code=code, name=label) for code, label in labelled]
    counts = region_counts(tally, region_list)
    return _visible(tally.choice(code, label, counts[code], code in selected_codes) for code, label in labelled)


# --- languages and ways of getting help ---------------------------------------------------------------------


def language_choices(tally, selected_codes):
    counted = {item[2:-1] for item in tally.counter if item.startswith("kl")}
    codes = counted | set(selected_codes)
    if not tally.exact:
        codes |= set(languages_in_use())
    choices = [
        tally.choice(code, language_label(code), tally.counter[key("l", code)], code in selected_codes)
        for code in codes
    ]
    return _visible(sorted(choices, key=lambda choice: choice.label))


def delivery_choices(tally, selected):
    return _visible(
        tally.choice(method, label, tally.counter[key("d", method)], method in selected)
        for method, label in Service.Delivery.choices
    )


# --- what is in use (kept a few minutes: the lists of a search form, not results) ---------------------------------


def languages_in_use():
    """Codes of the languages public services offer."""

    def read():
        from .filters import published_since
        from .models import Language

        candidates = indexed_keys([key("l")[:-1]])
        if candidates is None:  # the codes of the language table, each once (read from its index on the code)
            codes = Language.objects.values_list("code", flat=True).distinct().order_by()
            candidates = [key("l", code) for code in codes]
        # "klen0" is English: language codes are ISO 639 letters, which a key keeps as they are.
        return sorted(item[2:-1] for item in public_keys(candidates, published_since()))

    return cache.get_or_set("resources:languages-in-use", read, IN_USE_SECONDS)
