"""The one FilterSet for services: the HTML search page uses it, and the HSDS API is to use it too.
(The admin keeps Django's own search and list filters, built on the same queryset methods.)

Several values of one facet combine with OR (need=legal-aid&need=t-visa); facets combine with AND.
Invalid values never break a page: the facet is dropped, the other filters still apply, and the
form's errors say what was wrong.

Distance: near (a US ZIP code) or lat and lon (the browser's location), with within (miles), list the
services with a place within reach nearest first, then those serving the place by phone or online
(geo.py). Facet counts (facets.py) count each facet's choices under all the other filters.

Two ways to run the same filters. `qs` is a queryset, as any FilterSet's. `results()` runs the search on
the full-text index alone when every filter in use is one of its keys (search.IndexQuery: words, needs,
populations, trafficking types, regions, languages, ways of getting help, free, open now; a distance first
reads the places within reach), which is what keeps a page fast however large the directory; with an
API-only filter it is `qs`.
"""

import functools
import math

import django_filters
from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from . import facets as facet_counts
from . import geo, regions, search
from .aside import aside
from .models import Service, Taxonomy, TaxonomyTerm
from .models.details import language_label, normalise_language
from .models.services import days_setting
from .models.taxonomy import tree_order


class TreeChoiceIterator(ModelChoiceIterator):
    """Choices in tree order, sub-terms indented under their parent."""

    def __iter__(self):
        for term, depth in tree_order(self.queryset):
            indent = "\u2003" * depth
            yield self.choice(term) if not depth else (self.field.prepare_value(term), indent + term.display_name)


def _repeated_values(value, limit=20):
    """The non-blank values of a repeated URL parameter, cleaned of control characters, at most `limit`."""
    if value in (None, "", []):
        return []
    values = [value] if isinstance(value, str) else list(value)
    values = [search.clean_query(str(item))[:100] for item in values]
    return list(dict.fromkeys(item for item in values if item))[:limit]


class TermChoiceField(forms.ModelMultipleChoiceField):
    """Terms by code. Unknown codes are set aside in `rejected` (with a message) rather than failing the
    whole facet, so need=legal-aid&need=typo still filters by legal aid."""

    iterator = TreeChoiceIterator

    def __init__(self, *args, noun="", **kwargs):
        self.noun, self.rejected = noun, []
        super().__init__(*args, **kwargs)

    def label_from_instance(self, term):
        return term.display_name

    def clean(self, value):
        codes = _repeated_values(value)
        terms = list(self.queryset.filter(code__in=codes)) if codes else []
        known = {term.code for term in terms}
        self.rejected = [
            gettext("We have no %(noun)s called “%(value)s”.") % {"noun": self.noun, "value": code}
            for code in codes
            if code not in known
        ]
        return terms


class TermFilter(django_filters.ModelMultipleChoiceFilter):
    """Terms of one vocabulary by code; a term includes every term below it."""

    field_class = TermChoiceField

    def __init__(self, taxonomy_slug, noun, **kwargs):
        self.taxonomy_slug = taxonomy_slug
        kwargs.setdefault("queryset", TaxonomyTerm.objects.of(taxonomy_slug).select_related("taxonomy"))
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(noun=noun, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        # Facet counts apply this filter to several querysets: look the tree up once.
        codes = tuple(sorted(term.code for term in value))
        if getattr(self, "_tree_lookup", (None,))[0] != codes:
            self._tree_lookup = (codes, TaxonomyTerm.objects.with_descendant_ids(list(value)))
        return qs.with_any_term(self._tree_lookup[1])


class CodeListField(forms.Field):
    """Repeated URL parameters (?region=UG&region=US-TX), each checked by `parse`. Values that do not
    parse are set aside in `rejected` with their message; the others are used."""

    widget = forms.SelectMultiple

    def __init__(self, *, parse, **kwargs):
        self.parse, self.rejected = parse, []
        super().__init__(**kwargs)

    def clean(self, value):
        parsed, self.rejected = [], []
        for item in _repeated_values(value):
            try:
                result = self.parse(item)
            except ValidationError as error:
                self.rejected.extend(error.messages)
                continue
            if result not in parsed:
                parsed.append(result)
        return parsed


class CodeListFilter(django_filters.Filter):
    field_class = CodeListField


class OffWordsCheckbox(forms.CheckboxInput):
    """A checkbox that reads open_now=0, =off, =false and =no as unticked (Django reads only "false")."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str):
            return value.strip().lower() not in {"", "0", "off", "false", "no"}
        return bool(value)


class CheckboxFilter(django_filters.BooleanFilter):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", OffWordsCheckbox)
        super().__init__(**kwargs)


def _parse_region(text):
    try:
        return regions.parse_region(text)
    except regions.UnknownRegion as error:
        raise ValidationError(str(error), code="region") from None


def _parse_language(text):
    try:
        return normalise_language(text)
    except ValidationError:
        raise ValidationError(
            _("We do not know the language “%(value)s”. Use a name or an ISO 639 code such as es.") % {"value": text},
            code="language",
        ) from None


class KeywordField(forms.CharField):
    """A search box never fails validation: control characters go, and long text is shortened."""

    def to_python(self, value):
        return search.clean_query(super().to_python(value))


class KeywordFilter(django_filters.CharFilter):
    field_class = KeywordField


class ZipCodeField(forms.CharField):
    """A US ZIP code (ZIP+4 too), cleaned to where it is (a geo.Origin)."""

    def to_python(self, value):
        text = search.clean_query(super().to_python(value))
        if not text:
            return None
        try:
            return geo.zip_code_origin(text)
        except geo.UnknownPlace as error:
            raise ValidationError(str(error), code="zip_code") from None


class CoordinateField(forms.Field):
    """Degrees of latitude or longitude within ±limit, rounded to geo.POINT_DECIMALS (about 1 km)."""

    widget = forms.HiddenInput

    def __init__(self, *, limit, message, **kwargs):
        self.limit, self.message = limit, message
        super().__init__(**kwargs)

    def to_python(self, value):
        text = search.clean_query(value if isinstance(value, str) else "")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and -self.limit <= number <= self.limit):
            raise ValidationError(self.message, code="coordinate", params={"value": text[:20]})
        return round(number, geo.POINT_DECIMALS)


class RadiusField(forms.Field):
    """How far to look, in miles: one of geo.RADIUS_CHOICES."""

    widget = forms.Select(choices=[(miles, miles) for miles in geo.RADIUS_CHOICES])

    def to_python(self, value):
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            return None
        if text.isascii() and text.isdigit() and int(text) in geo.RADIUS_CHOICES:
            return int(text)
        raise ValidationError(
            _("Choose a distance of %(choices)s miles, not “%(value)s”."),
            code="radius",
            params={"choices": ", ".join(str(miles) for miles in geo.RADIUS_CHOICES), "value": text[:20]},
        )


class PointFilter(django_filters.Filter):
    """A part of the starting point of a distance search. It filters nothing by itself: once every part is
    known, ServiceFilter.filter_queryset measures (a ZIP code, or lat with lon, and within)."""

    def filter(self, qs, value):
        return qs


class ZipCodeFilter(PointFilter):
    field_class = ZipCodeField


class CoordinateFilter(PointFilter):
    field_class = CoordinateField


class RadiusFilter(PointFilter):
    field_class = RadiusField


class ServiceFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None) != (lon is None) and not (self.has_error("lat") or self.has_error("lon")):
            self.add_error(
                "lon" if lon is None else "lat",
                ValidationError(_("Give both latitude and longitude (lat and lon), or neither."), code="point"),
            )
        return data


class ServiceFilter(django_filters.FilterSet):
    q = KeywordFilter(method="filter_q", label=_("Search"))
    need = TermFilter(Taxonomy.NEEDS, _("need"), label=_("Need"))
    region = CodeListFilter(parse=_parse_region, method="filter_region", label=_("Region"))
    population = TermFilter(Taxonomy.POPULATIONS, _("group"), label=_("Who is served"))
    trafficking_type = TermFilter(Taxonomy.TRAFFICKING_TYPES, _("trafficking type"), label=_("Trafficking type"))
    language = CodeListFilter(parse=_parse_language, method="filter_language", label=_("Language"))
    delivery = django_filters.MultipleChoiceFilter(
        choices=Service.Delivery.choices,
        method="filter_delivery",
        widget=forms.CheckboxSelectMultiple,
        label=_("How"),
        error_messages={"invalid_choice": _("“%(value)s” is not a way of getting help we know.")},
    )
    open_now = CheckboxFilter(method="filter_open_now", label=_("Open now"))
    free = CheckboxFilter(method="filter_free", label=_("Free"))
    near = ZipCodeFilter(label=_("Near a US ZIP code"))
    lat = CoordinateFilter(limit=90, message=_("“%(value)s” is not a latitude: give a number from -90 to 90."))
    lon = CoordinateFilter(limit=180, message=_("“%(value)s” is not a longitude: give a number from -180 to 180."))
    within = RadiusFilter(label=_("Within (miles)"))

    class Meta:
        model = Service
        fields = []
        form = ServiceFilterForm

    def __init__(self, data=None, *args, now=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.now = now or timezone.now()
        self._shared = {}  # what every IndexQuery of this search works out once (search.IndexQuery.shared)

    def filter_q(self, queryset, name, value):
        return search.apply(queryset, *self.understood())

    def filter_region(self, queryset, name, value):
        return queryset.in_any_region(value)

    def filter_language(self, queryset, name, value):
        return queryset.in_languages(value) if value else queryset

    def filter_delivery(self, queryset, name, value):
        return queryset.delivered_by(set(value)) if value else queryset

    def filter_open_now(self, queryset, name, value):
        return queryset.open_at(self.now) if value else queryset

    def filter_free(self, queryset, name, value):
        return queryset.free() if value else queryset

    def filter_queryset(self, queryset):
        return self._measure(super().filter_queryset(queryset))

    def _measure(self, queryset):
        origin = self.origin()
        return geo.nearest_first(queryset, origin, self.radius()) if origin else queryset

    def queryset_without(self, name):
        """The results as they would be without the filter `name`: what its facet counts are taken over."""
        if not hasattr(self, "_searched"):
            # The keyword search is never a facet: every facet's results start from the same search.
            self._searched = self.filters["q"].filter(self.queryset.all(), self.cleaned.get("q"))
        queryset = self._searched
        for filter_name, value in self.cleaned.items():
            if filter_name not in {"q", name}:
                queryset = self.filters[filter_name].filter(queryset, value)
        return self._measure(queryset)

    # Distance --------------------------------------------------------------------------------------------

    def origin(self):
        """Where distances are measured from (a ZIP code wins over the browser's point), or None."""
        if not hasattr(self, "_origin"):
            data = self.cleaned
            self._origin = data.get("near")
            if self._origin is None and data.get("lat") is not None and data.get("lon") is not None:
                self._origin = geo.browser_origin(data["lat"], data["lon"])
        return self._origin

    def radius(self):
        return self.cleaned.get("within") or geo.DEFAULT_RADIUS

    # On the index alone -----------------------------------------------------------------------------

    # The filters the index's keys stand for; any other in use sends the search through `qs`.
    INDEXED = frozenset(
        {"q", "need", "population", "trafficking_type", "region", "language", "delivery", "free"}
        | {"near", "lat", "lon", "within"}  # distance: the places within reach, then the index (search.NearQuery)
        | {"open_now"}  # the open-hour keys of the moment (search.open_now_keys)
    )

    def _in_use(self, name):
        value = self.cleaned.get(name)
        return value not in (None, "", [], (), False) and not (isinstance(value, (set, frozenset)) and not value)

    def on_index(self):
        """Whether results() and the facet counts run on the index alone."""
        if not hasattr(self, "_on_index"):
            vendor = connections[self.queryset.db].vendor
            self._on_index = vendor in search.INDEX_VENDORS and not any(
                self._in_use(name) for name in self.filters if name not in self.INDEXED
            )
        return self._on_index

    def understood(self):
        """(places, concepts) of the search words (search.understand), worked out once."""
        if not hasattr(self, "_understood"):
            self._understood = search.understand(self.cleaned.get("q") or "", self.queryset.db)
        return self._understood

    def clauses(self, without=None):
        """The index keys of the filters in use (but `without`): a list of clauses, each the keys of which a
        service must hold one. Published services only, as every public read."""
        data = self.cleaned
        clauses = [[search.key("pub")]]
        for places in self.understood()[0]:
            clauses.append(sorted({item for region in places for item in facet_counts.region_keys(region)}))
        for name in ("need", "population", "trafficking_type"):
            if name != without and data.get(name):
                clauses.append([search.key("t", term.pk) for term in data[name]])
        if without != "region" and data.get("region"):
            clauses.append(sorted({item for region in data["region"] for item in facet_counts.region_keys(region)}))
        if without != "language" and data.get("language"):
            clauses.append([search.key("l", code) for code in data["language"]])
        if without != "delivery" and data.get("delivery"):
            clauses.append([search.key("d", method) for method in data["delivery"]])
        if without != "free" and data.get("free"):
            clauses.append([search.key("free")])
        return clauses

    def open_keys(self):
        """With "open now", the open-hour keys of the moment (search.open_now_keys), worked out once; else None."""
        if not self.cleaned.get("open_now"):
            return None
        if not hasattr(self, "_open_keys"):
            self._open_keys = search.open_now_keys(self.now, self.queryset.db)
        return self._open_keys

    def index_query(self, without=None):
        """The IndexQuery of the results without the filter `without` (None: the results themselves), or around
        the starting point a NearQuery of it."""
        query = search.IndexQuery(
            self.queryset.db,
            self.understood()[1],
            self.clauses(without),
            checked_since=published_since(),
            hours=self.open_keys() if without != "open_now" else None,
            shared=self._shared,
        )
        origin = self.origin()
        if origin is None:
            return query
        if not hasattr(self, "_around"):
            self._around = search.Around(origin, self.radius(), self.queryset.db)
        return search.NearQuery(query, self._around, geo.elsewhere_condition(origin))

    def results(self, prepare=None, estimate_before=None, load=None):
        """The results for a paginator: count() and slices of services in order, each slice prepared by
        `prepare` (a function of a queryset), from the index when on_index(), else from `qs`. `estimate_before`
        and `load`: as for search.SearchResults (a large total may be estimated for a page before that offset;
        a slice of the index's results is a list that load() makes of their ids)."""
        if not self.on_index():
            return prepare(self.qs) if prepare else self.qs
        if not hasattr(self, "_results"):
            self._results = search.SearchResults(self.index_query(), prepare, estimate_before, load)
        return self._results

    # Facet counts ----------------------------------------------------------------------------------------

    # The facets: each is counted over the results without its own filter, when that filter is in use.
    FACETS = ("need", "population", "trafficking_type", "language", "delivery", "region")

    def start_facets(self):
        """On the index, begin reading the samples of the results without each facet filter in use in a helper
        thread (aside.aside), while this one counts, ranks and loads the page's results; facets() collects them.
        The queries are made here: only reading them is left to the helper."""
        if hasattr(self, "_samples_aside") or not self.on_index():
            return
        queries = {name: self.index_query(name) for name in self.FACETS if self._in_use(name)}
        if queries:
            self._samples_aside = aside(
                lambda: {name: query.sample() for name, query in queries.items()}, self.queryset.db
            )

    def _tally(self, without):
        """facets.Tally of the results without the filter `without` (None: the results themselves)."""
        if self.on_index():
            if without is None:  # the results' own query: what it has read for the page, it need not read again
                return facet_counts.Tally(*self.results().sample())
            read_aside = self._samples_aside() if hasattr(self, "_samples_aside") else {}
            if without in read_aside:  # (a facet start_facets does not know is read here)
                return facet_counts.Tally(*read_aside[without])
            return facet_counts.Tally(*self.index_query(without).sample())
        queryset = (self.queryset_without(without) if without else self.qs).order_by()
        keys = queryset.values_list("pk", flat=True)
        total = keys.count()
        scale = 1.0
        if total > search.EXACT_LIMIT:
            buckets = max(1, -(-search.SAMPLE_BUCKETS * search.SAMPLE_TARGET // total))
            keys = keys.alias(bucket=F("pk") % search.SAMPLE_BUCKETS).filter(bucket__lt=buckets)
            scale = search.SAMPLE_BUCKETS / buckets
        return facet_counts.Tally(search.keys_of(list(keys), self.queryset.db), scale)

    def facets(self):
        """{facet: [facet_counts.Choice]}: each choice with how many results it would leave, counted under
        every other filter; choices that would leave none are left out unless chosen."""
        data = self.cleaned
        terms = facet_counts.vocabularies(
            [self.filters[name].taxonomy_slug for name in ("need", "population", "trafficking_type")],
            self.queryset.db,
        )
        tallies = {}

        def tally(name):
            base = name if self._in_use(name) else None
            if base not in tallies:
                tallies[base] = self._tally(base)
            return tallies[base]

        found = {}
        for name in ("need", "population", "trafficking_type"):
            chosen = {term.code for term in data.get(name) or []}
            found[name] = facet_counts.term_choices(tally(name), terms[self.filters[name].taxonomy_slug], chosen)
        found["language"] = facet_counts.language_choices(tally("language"), data.get("language") or [])
        found["delivery"] = facet_counts.delivery_choices(tally("delivery"), set(data.get("delivery") or []))
        found["region"] = facet_counts.region_choices(tally("region"), regions_in_use(self.regions()), self.regions())
        return found

    # What the page says about the filters --------------------------------------------------------

    @property
    def cleaned(self):
        if not self.is_bound:
            return {}
        self.form.is_valid()
        return self.form.cleaned_data

    def problems(self):
        """Messages for filter values we could not use (each facet is then ignored)."""
        if not self.is_bound:
            return []
        self.form.is_valid()
        problems = [message for errors in self.form.errors.values() for message in errors]
        for field in self.form.fields.values():
            problems.extend(getattr(field, "rejected", ()))
        return problems

    def query_was_shortened(self):
        raw = (self.data or {}).get("q", "") if self.is_bound else ""
        return len(raw) > search.MAX_QUERY_LENGTH

    def regions(self):
        return self.cleaned.get("region") or []

    def active_filters(self):
        """(facet label, value label, parameter, raw value) for each filter in use, to show and remove."""
        data, active = self.cleaned, []
        if data.get("q"):
            active.append((_("Search"), f"“{data['q']}”", "q", None))
        for param in ("need", "population", "trafficking_type"):
            for term in data.get(param) or []:
                active.append((self.filters[param].label, term.display_name, param, term.code))
        for region in data.get("region") or []:
            active.append((_("Region"), region.name, "region", region.code))
        for code in data.get("language") or []:
            active.append((_("Language"), language_label(code), "language", code))
        for method in data.get("delivery") or []:
            active.append((_("How"), Service.Delivery(method).label, "delivery", method))
        if data.get("open_now"):
            active.append((_("Open now"), _("yes"), "open_now", None))
        if data.get("free"):
            active.append((_("Free"), _("yes"), "free", None))
        if origin := self.origin():
            where = _("%(place)s, within %(miles)s miles") % {"place": origin.label, "miles": self.radius()}
            active.append((_("Near"), where, ("near", "lat", "lon"), None))
        return active


def published_since():
    """The day before which a listing last checked is too old to be public (Service.objects.published())."""
    return timezone.localdate() - days_setting("FRESHNESS_HIDE_AFTER_DAYS")


def regions_in_use(selected=()):
    """(code, label) of the countries and subdivisions public services are in or serve, for the search form,
    plus the regions already chosen. The list is kept a few minutes (facets.IN_USE_SECONDS): reading it
    takes a pass over every place and area."""
    codes = set(cache.get_or_set("resources:regions-in-use", _region_codes_in_use, facet_counts.IN_USE_SECONDS))
    codes.update(region.code for region in selected)
    return list(_labelled_regions(frozenset(codes), get_language()))


@functools.lru_cache(maxsize=64)
def _labelled_regions(codes, language):
    """(code, label) of the regions, in the order of their labels in `language` (the active one), worked out
    once for each list of regions in use and language: a search page offers them all, and naming and sorting
    them took 1.2 ms a page at 100,000 services."""
    labelled = []
    for code in codes:
        name = regions.region_label(code)
        if "-" in code:
            name = f"{name} ({regions.country_label(code.split('-')[0])})"
        labelled.append((code, name))
    return tuple(sorted(labelled, key=lambda item: item[1]))


def _region_codes_in_use():
    """The countries ("kpcus0", "kacus0") and subdivisions ("kpsustx0", "kassustx0") of the public services'
    places and areas, from the index's keys. A subdivision's code is its country's two letters, "-", then the
    rest: the key's letters give it back."""
    from .models import Address, ServiceArea

    candidates = search.indexed_keys([search.key(kind)[:-1] for kind in ("pc", "ac", "ps", "as")])
    if candidates is None:  # the codes of the places' addresses and of the areas, each once
        candidates = set()
        for model, holder in ((Address, "p"), (ServiceArea, "a")):
            for country, subdivision in model.objects.values_list("country", "subdivision").distinct().order_by():
                candidates.update([search.key(f"{holder}c", country)] if country else [])
                candidates.update([search.key(f"{holder}s", subdivision)] if subdivision else [])
    codes = set()
    for item in search.public_keys(candidates, published_since()):
        code = item[3:-1].upper()
        codes.add(code if item[2] == "c" else f"{code[:2]}-{code[2:]}")
    return sorted(codes)
