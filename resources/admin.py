"""Curation: every model is editable here; review and verification go through resources/review.py.

Review state and verification are read-only on the forms: they change only through the actions
(Publish, Archive, Mark verified today), which record who did it and when. Every listing model's "History"
page shows each recorded change field by field (who, when, old and new value; resources/history.py); a
service's also lists the changes to its phones, hours, areas, languages, terms, places and hotline facts.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from . import history, phones, regions, review, search
from .models import (
    Accessibility,
    Address,
    Attribute,
    Contact,
    CostOption,
    Funding,
    Hotline,
    Language,
    Location,
    Metadata,
    MetaTableDescription,
    Organization,
    OrganizationIdentifier,
    Phone,
    Program,
    PublicService,
    ReminderSent,
    RequiredDocument,
    Schedule,
    SearchSynonym,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTerm,
    ServiceTranslation,
    Taxonomy,
    TaxonomyTerm,
)
from .models.services import days_setting
from .models.taxonomy import tree_order

# Django turns each word of a search into a condition on every search field; a 5,000-character search
# of short words would build an expression deeper than SQLite allows. Nobody searches with more.
MAX_SEARCH_LENGTH = 200


def tame_search(term):
    """The search term cut to a sane length, without NUL characters (PostgreSQL refuses them)."""
    return (term or "").replace("\x00", "")[:MAX_SEARCH_LENGTH]


def tame_value(value):
    return value.replace("\x00", "") if value else value


def plural(count, noun):
    return f"{count} {noun}" + ("" if count == 1 else "s")


# A web address typed without a scheme ("example.org") means https, as Django 6 will assume.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class CuratorAdmin(admin.ModelAdmin):
    """Search that no input can break."""

    formfield_overrides = HTTPS_URLS

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, tame_search(search_term))

    def save_model(self, request, obj, form, change):
        # HSDS last_modified is ours to keep (an import carries it as given), so each write path sets it.
        if hasattr(obj, "last_modified"):
            obj.last_modified = timezone.now()
        super().save_model(request, obj, form, change)


class TrackedAdmin(SimpleHistoryAdmin, CuratorAdmin):
    """A listing model with a change history: its "History" page lists each change, field by field."""


# --- list filters --------------------------------------------------------------------------------------


class NeedFilter(admin.SimpleListFilter):
    """A need from the needs vocabulary; choosing one includes everything below it."""

    title = "need"
    parameter_name = "need"

    def lookups(self, request, model_admin):
        return [
            (term.code, "— " * depth + term.name) for term, depth in tree_order(TaxonomyTerm.objects.of(Taxonomy.NEEDS))
        ]

    def queryset(self, request, queryset):
        code = tame_value(self.value())
        if code is None:
            return queryset
        term = TaxonomyTerm.objects.of(Taxonomy.NEEDS).filter(code=code).first()
        if term is None:
            # An unknown need matches nothing rather than silently showing everything.
            return queryset.none()
        return queryset.with_any_term(TaxonomyTerm.objects.with_descendant_ids([term]))


class CountryFilter(admin.SimpleListFilter):
    """Services with a service area in the country, or a location whose address is there."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        services = model_admin.get_queryset(request).values("pk")
        codes = set(
            ServiceArea.objects.filter(service__in=services)
            .exclude(country="")
            .values_list("country", flat=True)
            .distinct()
            .order_by()
        )
        codes |= set(
            Address.objects.filter(location__service_at_locations__service__in=services)
            .values_list("country", flat=True)
            .distinct()
            .order_by()
        )
        return sorted(((code, regions.country_name(code)) for code in codes if code), key=lambda choice: choice[1])

    def queryset(self, request, queryset):
        code = tame_value(self.value())
        if code is None:
            return queryset
        code = code.upper()
        in_area = ServiceArea.objects.filter(service=OuterRef("pk"), country=code)
        located = ServiceAtLocation.objects.filter(service=OuterRef("pk"), location__addresses__country=code)
        return queryset.filter(Exists(in_area) | Exists(located))


class VerificationFilter(admin.SimpleListFilter):
    """Verification and freshness: labelled stale in public, partners reminded, hidden from the public."""

    title = "verification"
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        def months(setting):
            return round(days_setting(setting).days / 30.4)

        return [
            ("stale", f"Not verified in {months('FRESHNESS_STALE_AFTER_DAYS')} months (labelled in public)"),
            ("current", f"Verified in the last {months('FRESHNESS_STALE_AFTER_DAYS')} months"),
            ("reminded", f"Not checked in {months('FRESHNESS_REMIND_AFTER_DAYS')} months (partners reminded)"),
            ("hidden", f"Hidden: published, not checked in {months('FRESHNESS_HIDE_AFTER_DAYS')} months"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        stale = Q(assured_date__isnull=True) | Q(assured_date__lt=today - days_setting("FRESHNESS_STALE_AFTER_DAYS"))
        if self.value() == "stale":
            return queryset.filter(stale)
        if self.value() == "current":
            return queryset.exclude(stale)
        if self.value() == "reminded":
            return queryset.listed().not_checked_since(today - days_setting("FRESHNESS_REMIND_AFTER_DAYS"))
        if self.value() == "hidden":
            return queryset.hidden_for_age()
        return queryset


class HotlineFilter(admin.SimpleListFilter):
    title = "hotline"
    parameter_name = "hotline"

    def lookups(self, request, model_admin):
        return [("yes", "Hotline"), ("no", "Not a hotline")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(hotline__isnull=False)
        if self.value() == "no":
            return queryset.filter(hotline__isnull=True)
        return queryset


# --- inlines ---------------------------------------------------------------------------------------------
# Each inline leaves out the other owner keys: a phone added on a service belongs to that service only.


class ServicePhoneInline(admin.TabularInline):
    model = Phone
    fk_name = "service"
    fields = ["number", "country", "type", "text_keyword", "extension", "description", "position"]
    extra = 0


class LocationPhoneInline(ServicePhoneInline):
    fk_name = "location"


class OrganizationPhoneInline(ServicePhoneInline):
    fk_name = "organization"


class ServiceScheduleInline(admin.TabularInline):
    model = Schedule
    fk_name = "service"
    fields = ["open_24_7", "byday", "opens_at", "closes_at", "timezone", "description", "notes"]
    extra = 0
    verbose_name = "opening hours"
    verbose_name_plural = "hours"


class LocationScheduleInline(ServiceScheduleInline):
    fk_name = "location"


class ServiceLanguageInline(admin.TabularInline):
    model = Language
    fk_name = "service"
    fields = ["code", "note"]
    extra = 0


class LocationLanguageInline(ServiceLanguageInline):
    fk_name = "location"


class ServiceAtLocationInline(admin.TabularInline):
    model = ServiceAtLocation
    fields = ["location", "location_is_confidential", "description"]
    readonly_fields = ["location_is_confidential"]
    autocomplete_fields = ["location"]
    extra = 0
    verbose_name = "location"
    verbose_name_plural = "locations"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")

    @admin.display(description="confidential", boolean=True)
    def location_is_confidential(self, obj):
        return obj.location.is_confidential if obj.location_id else None


class ServiceAreaInline(admin.TabularInline):
    model = ServiceArea
    fields = ["kind", "country", "subdivision", "city", "name", "description"]
    extra = 0


class ServiceTermInline(admin.TabularInline):
    model = ServiceTerm
    fields = ["taxonomy_term", "value"]
    autocomplete_fields = ["taxonomy_term"]
    extra = 0
    verbose_name = "need, population or trafficking type"
    verbose_name_plural = "needs, populations and trafficking types"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("taxonomy_term__taxonomy")


class ServiceTranslationInline(admin.StackedInline):
    model = ServiceTranslation
    fields = ["language", "description", "application_process"]
    extra = 0
    verbose_name = "translation"
    verbose_name_plural = "translations (the public page in that language shows them instead of the original)"


class HotlineInline(admin.StackedInline):
    model = Hotline
    formfield_overrides = HTTPS_URLS
    max_num = 1
    extra = 0
    verbose_name = "hotline facts"
    verbose_name_plural = "hotline facts (fill in only for a hotline)"
    fieldsets = [
        (None, {"fields": ["operator_kind", "chat_url"]}),
        (
            "What happens when you reach out",
            {
                "fields": [
                    "confidential",
                    "anonymous_allowed",
                    "contacts_police",
                    "contacts_immigration",
                    "asks_for_id",
                    "asks_immigration_status",
                    "what_to_expect",
                ]
            },
        ),
    ]


class AddressInline(admin.StackedInline):
    model = Address
    fields = [
        "address_type",
        "attention",
        "address_1",
        "address_2",
        "city",
        "region",
        "state_province",
        "postal_code",
        "country",
        "subdivision",
    ]
    readonly_fields = ["subdivision"]
    extra = 0


class TaxonomyTermInline(admin.TabularInline):
    model = TaxonomyTerm
    fields = ["code", "name", "parent", "position"]
    autocomplete_fields = ["parent"]
    show_change_link = True
    extra = 0


# --- services ------------------------------------------------------------------------------------------


class ServiceDisplays:
    """Columns the curators' list and the public listings share."""

    @admin.display(description="hotline", boolean=True, ordering="hotline")
    def is_hotline(self, obj):
        # list_select_related includes the reverse one-to-one, so this asks no query.
        return hasattr(obj, "hotline")

    @admin.display(description="last verified", ordering="assured_date")
    def last_verified(self, obj):
        if obj.assured_date is None:
            return format_html("<strong>{}</strong>", "Not verified")
        if obj.is_stale:
            return format_html("<strong>Stale</strong> (verified {})", date_format(obj.assured_date))
        return date_format(obj.assured_date)

    @admin.display(description="public page")
    def public_page(self, obj):
        if obj.pk is None or not obj.is_public:
            return "Not public"
        url = obj.get_absolute_url()
        return format_html('<a href="{}">{}</a>', url, url)


SERVICE_FILTERS = [NeedFilter, CountryFilter, VerificationFilter, HotlineFilter]


class ServiceSearch:
    """Search by name, alternate name, organization, by a phone number however it is typed, and by the
    public search (resources/search.py: every field, stemming, synonyms, misspellings)."""

    search_fields = ["name", "alternate_name", "organization__name"]
    search_help_text = "Words as on the public search, a name, or a phone number in any format (888-373-7888)."

    def get_search_results(self, request, queryset, search_term):
        search_term = tame_search(search_term)
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search.words_of(search_term):
            results |= queryset.filter(pk__in=search.search(queryset, search_term).values("pk"))
        numbers = phones.search_forms(search_term)
        if numbers:
            # Built on the queryset handed in, so the active list filters still apply.
            by_phone = Phone.objects.filter(service=OuterRef("pk"), number__in=numbers)
            results |= queryset.filter(Exists(by_phone))
        return results, may_have_duplicates


@admin.register(Service)
class ServiceAdmin(ServiceSearch, ServiceDisplays, TrackedAdmin):
    list_display = [
        "name",
        "organization",
        "review_state",
        "status",
        "is_hotline",
        "last_verified",
        "last_modified",
    ]
    list_filter = ["review_state", "status", *SERVICE_FILTERS]
    list_select_related = ["organization", "hotline"]
    autocomplete_fields = ["organization", "program"]
    readonly_fields = [
        "uuid",
        "review_state",
        "review_state_changed_at",
        "review_state_changed_by",
        "assured_date",
        "assurer",
        "assurer_email",
        "last_modified",
        "public_page",
    ]
    fieldsets = [
        ("What", {"fields": ["organization", "name", "alternate_name", "description", "status", "alert"]}),
        (
            "How to get help",
            {"fields": ["application_process", "url", "email", "available_online", "interpretation_services"]},
        ),
        (
            "Who is eligible",
            {"fields": ["eligibility_description", "minimum_age", "maximum_age", "fees_description", "is_free"]},
        ),
        (
            "More HSDS details",
            {
                "classes": ["collapse"],
                "fields": ["program", "accreditations", "wait_time", "fees", "licenses"],
            },
        ),
        (
            "Review & verification",
            {
                "description": "Changed only through the actions on the service list, which record who and when.",
                "fields": [
                    "review_state",
                    "review_state_changed_at",
                    "review_state_changed_by",
                    "assured_date",
                    "assurer",
                    "assurer_email",
                    "last_modified",
                    "public_page",
                    "uuid",
                ],
            },
        ),
    ]
    inlines = [
        ServiceTermInline,
        HotlineInline,
        ServicePhoneInline,
        ServiceScheduleInline,
        ServiceAtLocationInline,
        ServiceAreaInline,
        ServiceLanguageInline,
        ServiceTranslationInline,
    ]
    actions = ["publish", "archive", "return_to_review", "mark_verified"]
    object_history_template = "admin/resources/service/object_history.html"

    def history_view(self, request, object_id, extra_context=None):
        """The service's own changes (above), then those of its parts, newest first."""
        service = self.get_object(request, object_id)
        parts = []
        if service is not None:
            own = {change.id for change in history.changes(Service, [service.pk]).get(service.pk, [])}
            changes = history.service_changes([service], every=True).get(service.pk, [])
            parts = [change for change in changes if change.id not in own]
            parts.reverse()
            users = {change.user_id for change in parts if change.user_id is not None}
            names = {user.pk: str(user) for user in get_user_model().objects.filter(pk__in=users)}
            parts = [(change, names.get(change.user_id) or change.updated_by) for change in parts]
        return super().history_view(request, object_id, {"part_changes": parts, **(extra_context or {})})

    def view_on_site(self, obj):
        # Only a public listing has a page to open; a draft's page would be a 404.
        return obj.get_absolute_url() if obj.is_public else None

    @admin.action(description="Publish", permissions=["change"])
    def publish(self, request, queryset):
        selected = queryset.count()
        changed = review.publish(queryset, by=request.user)
        self._report(request, f"Published {plural(changed, 'service')}", selected - changed, "already published")

    @admin.action(description="Archive", permissions=["change"])
    def archive(self, request, queryset):
        selected = queryset.count()
        changed = review.archive(queryset, by=request.user)
        self._report(request, f"Archived {plural(changed, 'service')}", selected - changed, "already archived")

    @admin.action(description="Send back to review", permissions=["change"])
    def return_to_review(self, request, queryset):
        selected = queryset.count()
        changed = review.return_to_review(queryset, by=request.user)
        self._report(
            request, f"Sent {plural(changed, 'service')} back to review", selected - changed, "already pending review"
        )

    @admin.action(description="Mark verified today", permissions=["change"])
    def mark_verified(self, request, queryset):
        changed = review.mark_verified(queryset, by=request.user)
        today = date_format(timezone.localdate())
        self.message_user(request, f"Marked {plural(changed, 'service')} verified on {today} by {request.user}.")

    def _report(self, request, done, unchanged, why):
        self.message_user(request, f"{done}." + (f" {unchanged} {why}." if unchanged else ""))


@admin.register(PublicService)
class PublicServiceAdmin(ServiceSearch, ServiceDisplays, CuratorAdmin):
    """What the public sees, exactly: the published() queryset, read-only."""

    list_display = ["name", "organization", "status", "is_hotline", "last_verified", "public_page"]
    list_filter = ["status", *SERVICE_FILTERS]
    list_select_related = ["organization", "hotline"]
    fieldsets = [
        (None, {"fields": ["public_page", "name", "alternate_name", "organization", "status", "alert"]}),
        ("What", {"fields": ["description", "needs", "populations", "trafficking_types"]}),
        ("How to get help", {"fields": ["application_process", "phone_numbers", "hours", "url", "email"]}),
        ("Who and where", {"fields": ["eligibility_description", "fees_description", "is_free", "areas"]}),
        ("Verification", {"fields": ["assured_date", "last_modified"]}),
    ]

    def get_queryset(self, request):
        # The same published() that every public page starts from, on the read-only proxy.
        return PublicService.objects.published().select_related("organization", "hotline")

    def get_readonly_fields(self, request, obj=None):
        return [field for _name, options in self.fieldsets for field in options["fields"]]

    def has_view_permission(self, request, obj=None):
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and (user.has_perm("resources.view_service") or user.has_perm("resources.change_service"))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="needs")
    def needs(self, obj):
        return ", ".join(term.name for term in obj.needs) or "—"

    @admin.display(description="populations")
    def populations(self, obj):
        return ", ".join(term.name for term in obj.populations) or "—"

    @admin.display(description="trafficking types")
    def trafficking_types(self, obj):
        return ", ".join(term.name for term in obj.trafficking_types) or "—"

    @admin.display(description="phones")
    def phone_numbers(self, obj):
        return ", ".join(
            phone.display + (f" ({phone.get_type_display()})" if phone.type != Phone.Type.VOICE else "")
            for phone in obj.phones.all()
        )

    @admin.display(description="hours")
    def hours(self, obj):
        return "; ".join(str(schedule) for schedule in obj.schedules.all()) or "—"

    @admin.display(description="service areas")
    def areas(self, obj):
        return "; ".join(area.label for area in obj.service_areas.all()) or "—"


# --- organizations -------------------------------------------------------------------------------------


@admin.register(Organization)
class OrganizationAdmin(TrackedAdmin):
    list_display = ["name", "alternate_name", "service_count", "website", "last_modified"]
    search_fields = ["name", "alternate_name"]
    fields = [
        "name",
        "alternate_name",
        "description",
        "website",
        "email",
        "logo",
        "legal_status",
        "year_incorporated",
        "services_overview",
        "uuid",
        "last_modified",
    ]
    readonly_fields = ["services_overview", "uuid", "last_modified"]
    inlines = [OrganizationPhoneInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(service_count=Count("services"))

    @admin.display(description="services", ordering="service_count")
    def service_count(self, obj):
        url = reverse("admin:resources_service_changelist") + f"?organization__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.service_count)

    @admin.display(description="services")
    def services_overview(self, obj):
        if obj.pk is None:
            return "—"
        services = list(obj.services.order_by("name"))
        if not services:
            return "No services yet."
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (reverse("admin:resources_service_change", args=[s.pk]), s.name, s.get_review_state_display())
                for s in services
            ),
        )
        url = reverse("admin:resources_service_changelist") + f"?organization__id__exact={obj.pk}"
        return format_html('<ul>{}</ul><a href="{}">Open in the service list</a>', items, url)


# --- places --------------------------------------------------------------------------------------------


@admin.register(Location)
class LocationAdmin(TrackedAdmin):
    list_display = ["label", "organization", "location_type", "place", "confidential"]
    list_filter = ["location_type", "is_confidential"]
    list_select_related = ["organization"]
    search_fields = ["name", "alternate_name", "organization__name", "addresses__city", "addresses__address_1"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["uuid"]
    fieldsets = [
        (
            None,
            {
                "description": "A confidential location's street address and coordinates never leave the admin; "
                "the public sees only its city or region and the intake phone.",
                "fields": ["is_confidential", "name", "alternate_name", "organization", "location_type", "description"],
            },
        ),
        ("Getting there", {"fields": ["transportation", "accessibility", "url", "latitude", "longitude"]}),
        ("Record", {"fields": ["uuid"]}),
    ]
    inlines = [AddressInline, LocationPhoneInline, LocationScheduleInline, LocationLanguageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("addresses")

    @admin.display(description="location", ordering="name")
    def label(self, obj):
        return str(obj)

    @admin.display(description="city, country")
    def place(self, obj):
        return "; ".join(
            ", ".join(part for part in (address.city, regions.country_name(address.country)) if part)
            for address in obj.addresses.all()
        )

    @admin.display(description="confidential", ordering="is_confidential")
    def confidential(self, obj):
        return format_html("<strong>{}</strong>", "CONFIDENTIAL") if obj.is_confidential else ""


@admin.register(Address)
class AddressAdmin(TrackedAdmin):
    list_display = ["__str__", "location_name", "city", "state_province", "country", "subdivision"]
    list_filter = ["country", "location__is_confidential"]
    list_select_related = ["location"]
    search_fields = ["address_1", "city", "state_province", "postal_code", "location__name"]
    autocomplete_fields = ["location"]
    readonly_fields = ["subdivision", "uuid"]

    @admin.display(description="location", ordering="location__name")
    def location_name(self, obj):
        confidential = " (confidential)" if obj.location.is_confidential else ""
        return (obj.location.name or "Unnamed location") + confidential


@admin.register(ServiceAtLocation)
class ServiceAtLocationAdmin(TrackedAdmin):
    list_display = ["service", "location_name", "confidential"]
    list_filter = ["location__is_confidential"]
    list_select_related = ["service", "location"]
    search_fields = ["service__name", "location__name"]
    autocomplete_fields = ["service", "location"]
    readonly_fields = ["uuid"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("location__addresses")

    @admin.display(description="location", ordering="location__name")
    def location_name(self, obj):
        return str(obj.location)

    @admin.display(description="confidential", boolean=True, ordering="location__is_confidential")
    def confidential(self, obj):
        return obj.location.is_confidential


@admin.register(ServiceArea)
class ServiceAreaAdmin(TrackedAdmin):
    list_display = ["label", "service", "kind", "country", "subdivision", "city"]
    list_filter = ["kind", "country"]
    list_select_related = ["service"]
    search_fields = ["service__name", "name", "city", "subdivision", "country"]
    autocomplete_fields = ["service"]
    readonly_fields = ["uuid"]


# --- details -------------------------------------------------------------------------------------------


class OwnerColumn:
    @admin.display(description="belongs to")
    def owner(self, obj):
        for field in ("service", "location", "organization", "phone"):
            related = getattr(obj, field, None)
            if related is not None:
                return f"{field.title()}: {related}"
        return "—"


@admin.register(Phone)
class PhoneAdmin(OwnerColumn, TrackedAdmin):
    list_display = ["display", "type", "country", "text_keyword", "owner"]
    list_filter = ["type", "country"]
    list_select_related = ["service", "location", "organization"]
    search_fields = ["number", "description", "service__name", "location__name", "organization__name"]
    autocomplete_fields = ["service", "location", "organization"]
    readonly_fields = ["uuid"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("location__addresses")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        numbers = phones.search_forms(tame_search(search_term))
        if numbers:
            results |= queryset.filter(number__in=numbers)
        return results, may_have_duplicates

    @admin.display(description="number", ordering="number")
    def display(self, obj):
        return obj.display


@admin.register(Schedule)
class ScheduleAdmin(OwnerColumn, TrackedAdmin):
    list_display = ["__str__", "timezone", "notes", "owner"]
    list_filter = ["open_24_7", "freq", "timezone"]
    list_select_related = ["service", "location"]
    search_fields = ["service__name", "location__name", "notes"]
    autocomplete_fields = ["service", "location"]
    readonly_fields = ["uuid"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("location__addresses")


@admin.register(Language)
class LanguageAdmin(OwnerColumn, TrackedAdmin):
    list_display = ["code", "name", "note", "owner"]
    list_filter = ["code"]
    list_select_related = ["service", "location", "phone"]
    search_fields = ["code", "service__name", "location__name", "phone__number"]
    autocomplete_fields = ["service", "location", "phone"]
    readonly_fields = ["uuid"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("location__addresses")


# --- vocabularies --------------------------------------------------------------------------------------


@admin.register(Taxonomy)
class TaxonomyAdmin(CuratorAdmin):
    list_display = ["name", "slug", "version", "term_count"]
    search_fields = ["name", "slug"]
    readonly_fields = ["uuid"]
    inlines = [TaxonomyTermInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(term_count=Count("terms"))

    @admin.display(description="terms", ordering="term_count")
    def term_count(self, obj):
        return obj.term_count


class TaxonomyTermFormBase(forms.ModelForm):
    class Meta:
        model = TaxonomyTerm
        fields = ["taxonomy", "parent", "code", "name", "description", "term_uri", "language", "position"]

        @staticmethod
        def formfield_callback(field, **kwargs):
            # As the admin's own forms build them (HTTPS_URLS): this class is built at import, outside the admin.
            return field.formfield(**{**HTTPS_URLS.get(type(field), {}), **kwargs})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, name in (self.instance.name_translations or {}).items():
            self.initial.setdefault(f"name_{code}", name)

    def save(self, commit=True):
        names = dict(self.instance.name_translations or {})
        for code in translated_languages():
            names.pop(code, None)
            if self.cleaned_data.get(f"name_{code}", "").strip():
                names[code] = self.cleaned_data[f"name_{code}"].strip()
        self.instance.name_translations = names
        return super().save(commit)


def translated_languages():
    """The languages of the site other than the default one (the one terms are named in)."""
    return [code for code, _language in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


# The term's name in each other language of the site, as a field of its own (kept in name_translations).
TaxonomyTermForm = type(
    "TaxonomyTermForm",
    (TaxonomyTermFormBase,),
    {
        f"name_{code}": forms.CharField(label=f"name in {language}", max_length=200, required=False)
        for code, language in settings.LANGUAGES
        if code != settings.LANGUAGE_CODE
    },
)


@admin.register(TaxonomyTerm)
class TaxonomyTermAdmin(CuratorAdmin):
    form = TaxonomyTermForm
    list_display = ["name", "code", "taxonomy", "parent", "position"]
    list_filter = ["taxonomy"]
    list_select_related = ["taxonomy", "parent__taxonomy"]
    search_fields = ["name", "code", "description"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["uuid"]

    def get_fields(self, request, obj=None):
        # The translated names come right after the name.
        others = [f"name_{code}" for code in translated_languages()]
        fields = [field for field in super().get_fields(request, obj) if field not in others]
        at = fields.index("name") + 1 if "name" in fields else len(fields)
        return [*fields[:at], *others, *fields[at:]]


# --- the rest of HSDS: editable, rarely needed by hand --------------------------------------------------


@admin.register(Program)
class ProgramAdmin(CuratorAdmin):
    list_display = ["name", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "alternate_name", "organization__name"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["uuid"]


@admin.register(Contact)
class ContactAdmin(CuratorAdmin):
    list_display = ["__str__", "email", "organization", "service"]
    list_select_related = ["organization", "service"]
    search_fields = ["name", "title", "department", "email"]
    autocomplete_fields = ["organization", "service", "service_at_location", "location"]
    readonly_fields = ["uuid"]


@admin.register(CostOption)
class CostOptionAdmin(CuratorAdmin):
    list_display = ["__str__", "service", "amount", "currency"]
    list_select_related = ["service"]
    search_fields = ["option", "amount_description", "service__name"]
    autocomplete_fields = ["service"]
    readonly_fields = ["uuid"]


@admin.register(RequiredDocument)
class RequiredDocumentAdmin(CuratorAdmin):
    list_display = ["__str__", "service"]
    list_select_related = ["service"]
    search_fields = ["document", "service__name"]
    autocomplete_fields = ["service"]
    readonly_fields = ["uuid"]


@admin.register(Funding)
class FundingAdmin(CuratorAdmin):
    list_display = ["__str__", "organization", "service"]
    list_select_related = ["organization", "service"]
    search_fields = ["source"]
    autocomplete_fields = ["organization", "service"]
    readonly_fields = ["uuid"]


@admin.register(OrganizationIdentifier)
class OrganizationIdentifierAdmin(CuratorAdmin):
    list_display = ["identifier", "identifier_type", "organization"]
    list_select_related = ["organization"]
    search_fields = ["identifier", "organization__name"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["uuid"]


@admin.register(Accessibility)
class AccessibilityAdmin(CuratorAdmin):
    list_display = ["__str__", "location"]
    search_fields = ["description", "details"]
    autocomplete_fields = ["location"]
    readonly_fields = ["uuid"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location").prefetch_related("location__addresses")


@admin.register(Attribute)
class AttributeAdmin(CuratorAdmin):
    list_display = ["link_entity", "link_id", "taxonomy_term", "value"]
    list_filter = ["link_entity"]
    list_select_related = ["taxonomy_term__taxonomy"]
    search_fields = ["=link_id", "value"]
    autocomplete_fields = ["taxonomy_term"]
    readonly_fields = ["uuid"]


@admin.register(Metadata)
class MetadataAdmin(CuratorAdmin):
    list_display = ["last_action_date", "resource_type", "field_name", "last_action_type", "updated_by"]
    list_filter = ["resource_type", "last_action_type"]
    search_fields = ["=resource_id", "field_name", "updated_by"]
    readonly_fields = ["uuid"]


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """Words people search with that mean the same: each finds what the others find, at once."""

    list_display = ["__str__", "note"]
    search_fields = ["phrases", "note"]


@admin.register(MetaTableDescription)
class MetaTableDescriptionAdmin(CuratorAdmin):
    list_display = ["name", "language", "character_set"]
    readonly_fields = ["uuid"]


@admin.register(ReminderSent)
class ReminderSentAdmin(admin.ModelAdmin):
    """What remind_partners sent: read-only, the record that keeps it from sending twice."""

    list_display = ["sent_on", "organization", "recipient", "listing_count"]
    list_filter = ["sent_on"]
    list_select_related = ["organization"]
    search_fields = ["recipient", "organization__name"]
    date_hierarchy = "sent_on"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(listing_count=Count("services"))

    @admin.display(description="listings", ordering="listing_count")
    def listing_count(self, obj):
        return obj.listing_count

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
