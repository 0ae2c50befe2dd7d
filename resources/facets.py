"""Facet counts for the search page: for each choice of a facet, how many results ticking it would leave.

Counts are disjunctive: a facet's choices are counted over the results of every OTHER filter (and the
search text), so choosing "Legal aid" does not turn every other need into zero; within a facet, values
combine with OR. Every count is one aggregate query in the database, whatever the number of results or
choices: GROUP BY and COUNT(DISTINCT service) over the links (terms, languages, places and areas), or
conditional counts for the four ways of getting help.

A need counts the services tagged with it or with any need below it, each service once. A region counts
the services `in_region` finds there (located in it, or with an area that covers it or lies inside it).
"""

from dataclasses import dataclass

from django.db import connections
from django.db.models import Count, F, Value
from django.db.models.expressions import RawSQL

from . import regions as regions_module
from .models import Location, Service, ServiceArea, ServiceAtLocation, ServiceTerm, TaxonomyTerm
from .models.details import language_name
from .models.taxonomy import tree_order


@dataclass
class Choice:
    value: str
    label: str
    count: int
    selected: bool = False
    depth: int = 0  # in a tree of terms

    @property
    def shown(self):
        """Choices that would leave nothing are left out, unless already chosen (so they can be unticked)."""
        return self.count > 0 or self.selected


@dataclass(frozen=True)
class ServiceKeys:
    """The keys of a facet's results, compiled once as a statement of their own. Every count embeds that
    SQL as it is, so it does not depend on how the ORM would re-alias the search's SQL inside a subquery."""

    sql: str
    params: tuple
    using: str

    def expression(self):
        return RawSQL(self.sql, self.params)


def service_ids(queryset):
    """The results as a subquery of keys (for counting, order and annotations do not matter)."""
    keys = queryset.order_by().values("pk")
    sql, params = keys.query.sql_with_params()
    return ServiceKeys(sql, tuple(params), keys.db)


def _visible(choices):
    return [choice for choice in choices if choice.shown]


def _count_by_mapping(ids, pairs, mapping):
    """{label: how many services of `ids` have a pair that `mapping` leads to label}.

    `pairs` are querysets of (sid, what, val) rows: a service and one fact about it ("term", 12) or
    ("place_subdivision", "US-TX"). `mapping` lists (label, what, val): which facts put a service under a
    label. One query: the pairs joined to the mapping (a VALUES list), COUNT(DISTINCT service) per label,
    so a service counts once under a label however many of its facts lead there. The ORM cannot join a
    list of values, so the statement is put together here, from SQL the ORM compiled.
    """
    if not mapping:
        return {}
    sql_parts, params = [], []
    for pairs_query in pairs:
        sql, part_params = pairs_query.values_list("sid", "what", "val").order_by().query.sql_with_params()
        sql_parts.append(sql)
        params.extend(part_params)
    for row in mapping:
        params.extend(row)
    params.extend(ids.params)
    values = ", ".join(["(%s, %s, %s)"] * len(mapping))
    statement = (
        f"SELECT m.column1, COUNT(DISTINCT k.sid) FROM ({' UNION ALL '.join(sql_parts)}) k "
        f"JOIN (VALUES {values}) m ON m.column2 = k.what AND m.column3 = k.val "
        f"WHERE k.sid IN ({ids.sql}) GROUP BY m.column1"
    )
    with connections[ids.using].cursor() as cursor:
        cursor.execute(statement, params)
        return dict(cursor.fetchall())


def _pairs(queryset, sid, what, val):
    return queryset.annotate(sid=F(sid), what=Value(what), val=val if not isinstance(val, str) else F(val))


# --- terms (needs, populations, trafficking types) -----------------------------------------------------------


def vocabularies(slugs):
    """{slug: [terms]} for the vocabularies, in one query."""
    found = {slug: [] for slug in slugs}
    for term in TaxonomyTerm.objects.filter(taxonomy__slug__in=slugs).select_related("taxonomy"):
        found[term.taxonomy.slug].append(term)
    return found


def term_counts(ids, terms):
    """{term id: services of `ids` tagged with the term or a term below it}."""
    children = {}
    for term in terms:
        children.setdefault(term.parent_id, []).append(term.pk)
    mapping = []
    for term in terms:
        below, todo = set(), [term.pk]
        while todo:
            current = todo.pop()
            if current not in below:
                below.add(current)
                todo.extend(children.get(current, ()))
        mapping.extend((term.pk, "term", pk) for pk in sorted(below))
    links = ServiceTerm.objects.filter(taxonomy_term__in=[term.pk for term in terms])
    pairs = [_pairs(links, "service_id", "term", "taxonomy_term_id")]
    return _count_by_mapping(ids, pairs, mapping)


def term_choices(ids, terms, selected_codes):
    counts = term_counts(ids, terms)
    return _visible(
        Choice(term.code, term.name, counts.get(term.pk, 0), term.code in selected_codes, depth)
        for term, depth in tree_order(terms)
    )


# --- regions --------------------------------------------------------------------------------------------------


def _region_mapping(region_list):
    """The facts that put a service in each region, as in_region() decides."""
    mapping = []
    for region in region_list:
        code = region.code
        mapping.append((code, "worldwide", ""))
        if region.is_country:
            mapping += [(code, "place_country", code), (code, "area_country", code)]
            continue
        mapping.append((code, "whole_country", region.country))
        mapping += [(code, "whole_subdivision", ancestor) for ancestor in region.ancestors()]
        for inside in sorted(region.descendants()):
            mapping += [(code, "place_subdivision", inside), (code, "area_subdivision", inside)]
    return mapping


def region_counts(ids, region_list):
    """{region code: services of `ids` in that region}."""
    areas = ServiceArea.objects.all()
    places = ServiceAtLocation.objects.filter(location__location_type=Location.Type.PHYSICAL)
    pairs = [
        _pairs(areas.filter(kind=ServiceArea.Kind.WORLDWIDE), "service_id", "worldwide", Value("")),
        _pairs(areas.exclude(country=""), "service_id", "area_country", "country"),
        _pairs(areas.exclude(subdivision=""), "service_id", "area_subdivision", "subdivision"),
        _pairs(areas.filter(kind=ServiceArea.Kind.COUNTRY), "service_id", "whole_country", "country"),
        _pairs(areas.filter(kind=ServiceArea.Kind.SUBDIVISION), "service_id", "whole_subdivision", "subdivision"),
        _pairs(places, "service_id", "place_country", "location__addresses__country"),
        _pairs(places, "service_id", "place_subdivision", "location__addresses__subdivision"),
    ]
    return _count_by_mapping(ids, pairs, _region_mapping(region_list))


def region_choices(ids, labelled, selected):
    """`labelled`: (code, label) of the regions in use (regions_in_use)."""
    selected_codes = {region.code for region in selected}
    region_list = [regions_module.Region(code=code, name=label) for code, label in labelled]
    counts = region_counts(ids, region_list)
    return _visible(Choice(code, label, counts.get(code, 0), code in selected_codes) for code, label in labelled)


# --- languages and ways of getting help ---------------------------------------------------------------------


def language_counts(ids):
    """{language code: services of `ids` offering it, on the service, one of its phone lines or its places}."""
    rows = (
        Service.objects.language_offers()
        .filter(offered_by__in=ids.expression())
        .values("code")
        .annotate(services=Count("offered_by", distinct=True))
        .order_by()
    )
    return {row["code"]: row["services"] for row in rows}


def language_choices(ids, selected_codes):
    counts = language_counts(ids)
    codes = set(counts) | set(selected_codes)
    choices = [Choice(code, language_name(code), counts.get(code, 0), code in selected_codes) for code in codes]
    return _visible(sorted(choices, key=lambda choice: choice.label))


def delivery_counts(ids):
    """{delivery method: services of `ids` offered that way}, as conditional counts in one query."""
    return Service.objects.filter(pk__in=ids.expression()).aggregate(
        **{
            method: Count("pk", filter=Service.objects.delivery_condition(method), distinct=True)
            for method in Service.Delivery.values
        }
    )


def delivery_choices(ids, selected):
    counts = delivery_counts(ids)
    return _visible(
        Choice(method, label, counts.get(method, 0), method in selected) for method, label in Service.Delivery.choices
    )
