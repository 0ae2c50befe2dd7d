"""The API's filters: the one service FilterSet (resources/filters.py), plus the HSDS query parameters.

`HSDSServiceFilter` extends `ServiceFilter`, so the API filters services exactly as the search page does
(need, region, population, language, ... and the keyword search), with the HSDS parameters on top. The
API is stricter about input than the page: `problems()` turns every value it could not use into a 400.
"""

import datetime
import math

import django_filters
from django import forms
from django.db.models import Exists, FloatField, OuterRef, Q, Value
from django.db.models.functions import Cast, Replace, Upper
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from .. import geo, search
from ..filters import KeywordFilter, ServiceFilter
from ..models import Address, Organization, ServiceAtLocation, ServiceTerm, Taxonomy, TaxonomyTerm
from .params import StrictBooleanField, UUIDListField, shown

EARTH_RADIUS_M = 6_371_008.8
# Half the Earth's circumference: every place is closer than this.
MAX_PROXIMITY_M = 20_016_000


class UUIDListFilter(django_filters.Filter):
    field_class = UUIDListField


class FlagFilter(django_filters.Filter):
    field_class = StrictBooleanField


class ModifiedAfterField(forms.Field):
    """An ISO 8601 date (midnight UTC) or date-time; a time without offset is UTC."""

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return None
        try:
            moment = parse_datetime(text)
            if moment is None and (day := parse_date(text)) is not None:
                moment = datetime.datetime.combine(day, datetime.time())
        except (ValueError, OverflowError):
            moment = None
        if moment is None:
            raise forms.ValidationError(
                _(
                    "“%(value)s” is not an ISO 8601 date or date-time such as 2026-01-31 or 2026-01-31T09:00:00Z "
                    "(in a URL, write + as %%2B)."
                ),
                code="datetime",
                params={"value": shown(text)},
            )
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


class ModifiedAfterFilter(django_filters.Filter):
    field_class = ModifiedAfterField


def words_match(queryset, text, fields):
    """Rows where every word of `text` appears in one of `fields` (services use search.search instead)."""
    for word in search.words_of(text):
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


def filter_errors(filterset, rename=None):
    """{parameter: [messages]} for every value the filterset could not use (empty when all is well)."""
    filterset.form.is_valid()
    errors = {name: list(messages) for name, messages in filterset.form.errors.items()}
    for name, field in filterset.form.fields.items():
        if getattr(field, "rejected", None):
            errors.setdefault(name, []).extend(str(message) for message in field.rejected)
    return {(rename or {}).get(name, name): messages for name, messages in errors.items()}


class HSDSServiceFilter(ServiceFilter):
    """ServiceFilter with the HSDS parameters. Strict yes/no flags replace the page's checkboxes."""

    taxonomy_term_id = UUIDListFilter(method="filter_taxonomy_term_id")
    taxonomy_id = UUIDListFilter(method="filter_taxonomy_id")
    organization_id = UUIDListFilter(field_name="organization__uuid", lookup_expr="in")
    modified_after = ModifiedAfterFilter(field_name="last_modified", lookup_expr="gte")
    open_now = FlagFilter(method="filter_open_now")
    free = FlagFilter(method="filter_free")

    # The keyword is "search" in HSDS and "q" on our pages.
    RENAMED = {"q": "search"}

    @classmethod
    def from_query(cls, query, **kwargs):
        data = query.copy()
        data.pop("q", None)
        if "search" in query:
            data["q"] = query["search"]
        return cls(data, **kwargs)

    def errors(self):
        return filter_errors(self, self.RENAMED)

    def filter_taxonomy_term_id(self, queryset, name, value):
        """Services with one of the terms or a term below one of them (as need= does)."""
        terms = list(TaxonomyTerm.objects.filter(uuid__in=value))
        return queryset.with_any_term(TaxonomyTerm.objects.with_descendant_ids(terms))

    def filter_taxonomy_id(self, queryset, name, value):
        links = ServiceTerm.objects.filter(service=OuterRef("pk"), taxonomy_term__taxonomy__uuid__in=value)
        return queryset.filter(Exists(links))


class ServiceAtLocationForm(forms.Form):
    def clean(self):
        data = super().clean()
        point = [data.get("latitude"), data.get("longitude")]
        wants_distance = data.get("proximity") is not None
        if wants_distance and None in point:
            self.add_error(
                "proximity",
                forms.ValidationError(
                    _("Give latitude and longitude with proximity (we cannot place a postcode on the map)."),
                    code="point",
                ),
            )
        elif not wants_distance and point != [None, None]:
            name = "latitude" if point[0] is not None else "longitude"
            self.add_error(name, forms.ValidationError(_("Give proximity (in metres) with a point."), code="radius"))
        return data


def _coordinate_filter(low, high):
    return django_filters.NumberFilter(method="filter_nothing", min_value=low, max_value=high)


class ServiceAtLocationFilter(django_filters.FilterSet):
    """Where services are delivered: by postcode, or within `proximity` metres of latitude/longitude.

    A confidential place is never matched by postcode or distance: that would reveal where it is.
    """

    postcode = django_filters.CharFilter(method="filter_postcode")
    proximity = django_filters.NumberFilter(
        method="filter_proximity", min_value=1, max_value=MAX_PROXIMITY_M, max_digits=12
    )
    latitude = _coordinate_filter(-90, 90)
    longitude = _coordinate_filter(-180, 180)

    class Meta:
        model = ServiceAtLocation
        fields = []
        form = ServiceAtLocationForm

    def errors(self):
        return filter_errors(self)

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_postcode(self, queryset, name, value):
        wanted = "".join(search.clean_query(value).split()).upper()
        if not wanted:
            return queryset
        addresses = Address.objects.annotate(compact=Upper(Replace("postal_code", Value(" "), Value("")))).filter(
            location=OuterRef("location"), compact=wanted
        )
        return queryset.filter(Exists(addresses), location__is_confidential=False)

    def filter_proximity(self, queryset, name, value):
        data = self.form.cleaned_data
        return within(queryset, float(data["latitude"]), float(data["longitude"]), float(value))


def within(queryset, latitude, longitude, metres):
    """Service-at-locations whose (non-confidential) place lies within `metres` of the point, nearest first.

    Great-circle distance in SQL (geo.great_circle); a latitude band first keeps the trigonometry to nearby rows.
    """
    band = math.degrees(metres / EARTH_RADIUS_M)
    to_latitude, to_longitude = (Cast(f"location__{name}", FloatField()) for name in ("latitude", "longitude"))
    distance = geo.great_circle(latitude, longitude, to_latitude, to_longitude, EARTH_RADIUS_M)
    return (
        queryset.filter(
            location__is_confidential=False,
            location__latitude__isnull=False,
            location__longitude__isnull=False,
            location__latitude__gte=latitude - band,
            location__latitude__lte=latitude + band,
        )
        .annotate(distance=distance)
        .filter(distance__lte=metres)
        .order_by("distance", "pk")
    )


class OrganizationFilter(django_filters.FilterSet):
    search = KeywordFilter(method="filter_search")

    class Meta:
        model = Organization
        fields = []

    def errors(self):
        return filter_errors(self)

    def filter_search(self, queryset, name, value):
        return words_match(queryset, value, ["name", "alternate_name", "description"])


class TaxonomyFilter(django_filters.FilterSet):
    search = KeywordFilter(method="filter_search")

    class Meta:
        model = Taxonomy
        fields = []

    def errors(self):
        return filter_errors(self)

    def filter_search(self, queryset, name, value):
        return words_match(queryset, value, ["name", "description", "slug"])


class TaxonomyTermFilter(django_filters.FilterSet):
    search = KeywordFilter(method="filter_search")
    taxonomy_id = UUIDListFilter(field_name="taxonomy__uuid", lookup_expr="in")
    parent_id = UUIDListFilter(field_name="parent__uuid", lookup_expr="in")
    top_only = FlagFilter(method="filter_top_only")

    class Meta:
        model = TaxonomyTerm
        fields = []

    def errors(self):
        return filter_errors(self)

    def filter_search(self, queryset, name, value):
        return words_match(queryset, value, ["name", "description", "code"])

    def filter_top_only(self, queryset, name, value):
        return queryset.filter(parent__isnull=True) if value else queryset
