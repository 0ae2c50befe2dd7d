"""The one FilterSet for services: the HTML search page uses it, and the HSDS API is to use it too.
(The admin keeps Django's own search and list filters, built on the same queryset methods.)

Several values of one facet combine with OR (need=legal-aid&need=t-visa); facets combine with AND.
Invalid values never break a page: the facet is dropped, the other filters still apply, and the
form's errors say what was wrong.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import regions, search
from .models import Language, Service, Taxonomy, TaxonomyTerm
from .models.details import language_name, normalise_language
from .models.taxonomy import tree_order


class TreeChoiceIterator(ModelChoiceIterator):
    """Choices in tree order, sub-terms indented under their parent."""

    def __iter__(self):
        for term, depth in tree_order(self.queryset):
            yield self.choice(term) if not depth else (self.field.prepare_value(term), "\u2003" * depth + term.name)


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
        return term.name

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
        kwargs.setdefault("queryset", TaxonomyTerm.objects.of(taxonomy_slug).select_related("taxonomy"))
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(noun=noun, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.with_any_term(TaxonomyTerm.objects.with_descendant_ids(list(value)))


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

    class Meta:
        model = Service
        fields = []

    def __init__(self, data=None, *args, now=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.now = now or timezone.now()

    def filter_q(self, queryset, name, value):
        return search.search(queryset, value)

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

    # What the page says about the filters --------------------------------------------------------

    @property
    def cleaned(self):
        return self.form.cleaned_data if self.is_bound and hasattr(self.form, "cleaned_data") else {}

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
                active.append((self.filters[param].label, term.name, param, term.code))
        for region in data.get("region") or []:
            active.append((_("Region"), region.name, "region", region.code))
        for code in data.get("language") or []:
            active.append((_("Language"), language_name(code), "language", code))
        for method in data.get("delivery") or []:
            active.append((_("How"), Service.Delivery(method).label, "delivery", method))
        if data.get("open_now"):
            active.append((_("Open now"), _("yes"), "open_now", None))
        if data.get("free"):
            active.append((_("Free"), _("yes"), "free", None))
        return active


def languages_in_use(selected=()):
    """(code, name) of the languages public services offer, for the search form, plus those chosen."""
    public = Service.objects.published()
    codes = set(
        Language.objects.filter(
            Q(service__in=public) | Q(phone__service__in=public) | Q(location__service_at_locations__service__in=public)
        )
        .values_list("code", flat=True)
        .distinct()
        .order_by()
    )
    codes.update(selected)
    return sorted(((code, language_name(code)) for code in codes), key=lambda item: item[1])


def regions_in_use(selected=()):
    """(code, label) of the countries and subdivisions public services are in or serve, for the search form,
    plus the regions already chosen."""
    from .models import Address, ServiceArea

    public = Service.objects.published()
    codes = set()
    for country, subdivision in (
        ServiceArea.objects.filter(service__in=public).values_list("country", "subdivision").distinct().order_by()
    ):
        codes.update(code for code in (country, subdivision) if code)
    for country, subdivision in (
        Address.objects.filter(location__service_at_locations__service__in=public)
        .values_list("country", "subdivision")
        .distinct()
        .order_by()
    ):
        codes.update(code for code in (country, subdivision) if code)
    codes.update(region.code for region in selected)
    labelled = []
    for code in codes:
        name = regions.region_name(code)
        if "-" in code:
            name = f"{name} ({regions.country_name(code.split('-')[0])})"
        labelled.append((code, name))
    return sorted(labelled, key=lambda item: item[1])
