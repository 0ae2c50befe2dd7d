import datetime
import functools
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from .base import HSDSModel, ListingHistory, Tristate
from .details import Phone, Schedule
from .places import Location, ServiceArea, ServiceAtLocation
from .reading import Prepared


def days_setting(name):
    """A freshness interval (settings.FRESHNESS_*_DAYS) as a timedelta, read when used."""
    return datetime.timedelta(days=getattr(settings, name))


def checked_condition(since):
    """Q: listings checked on or after the date `since`: verified then, or published again since then.

    A listing never verified counts from its publication, or, published without a recorded transition (the
    demo data), from its last change: the clock has to start somewhere, and starting it at the beginning
    of time would hide every new listing at once. Service.checked_on says the same in Python.
    """
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=timezone.get_current_timezone())
    return (
        Q(assured_date__gte=since)
        | Q(review_state_changed_at__gte=start)
        | Q(assured_date__isnull=True, review_state_changed_at__isnull=True, last_modified__gte=start)
    )


class ServiceQuerySet(models.QuerySet):
    def published(self):
        """What the public may see: published by a curator, not defunct, and checked within
        FRESHNESS_HIDE_AFTER_DAYS (an older listing waits for a curator or partner to verify it).
        Every public read starts here."""
        hidden_before = timezone.localdate() - days_setting("FRESHNESS_HIDE_AFTER_DAYS")
        return self.listed().filter(checked_condition(hidden_before))

    def listed(self):
        """Published and not defunct, however long ago it was checked (staff views and reminders)."""
        return self.filter(review_state=Service.ReviewState.PUBLISHED).exclude(status=Service.Status.DEFUNCT)

    def not_checked_since(self, day):
        """Listings last checked (see checked_condition) before the date `day`."""
        return self.exclude(checked_condition(day))

    def hidden_for_age(self):
        """Published listings kept out of public view because nobody has checked them for too long."""
        return self.listed().not_checked_since(timezone.localdate() - days_setting("FRESHNESS_HIDE_AFTER_DAYS"))

    def hotlines(self):
        """Hotlines in the order curators chose (the trafficking hotlines first), then by name. The few services
        with hotline facts are found through their ids: a join let SQLite, which keeps no statistics, read every
        published service and look each up among the hotlines (70 ms at 100,000 services, instead of 3)."""
        return self.filter(pk__in=Hotline.objects.values("service_id")).order_by("hotline__position", "name", "pk")

    def for_listing(self):
        """Everything a detail page shows, in a constant number of queries."""
        return self.for_cards().prefetch_related(
            models.Prefetch("phones", queryset=Phone.objects.prefetch_related("languages")),
            "schedules",
            "languages",
            "service_areas",
            models.Prefetch("terms", queryset=_terms_with_taxonomy()),
            # Only the translation into the language of the page (one query, however many services).
            models.Prefetch(
                "translations",
                queryset=ServiceTranslation.objects.filter(language=get_language() or settings.LANGUAGE_CODE),
                to_attr="translations_in_language",
            ),
            models.Prefetch(
                "service_at_locations",
                queryset=ServiceAtLocation.objects.select_related("location").prefetch_related(
                    "location__addresses", "location__phones", "location__schedules", "location__languages"
                ),
            ),
        )

    def for_cards(self):
        """The services with their organization and hotline; load_cards() adds the rest of what a result card
        shows to the list of them."""
        return self.select_related("organization", "hotline")

    def in_region(self, region):
        """Services with a location in the region, or an area that covers it or lies inside it."""
        return self.filter(self.region_condition(region))

    @staticmethod
    def region_condition(region):
        """The condition of in_region(), to combine with others (distance keeps phone lines serving a state)."""
        if region.is_country:
            place = Q(location__addresses__country=region.code)
            area = Q(kind=ServiceArea.Kind.WORLDWIDE) | Q(country=region.code)
        else:
            place = Q(location__addresses__subdivision__in=region.descendants())
            area = (
                Q(kind=ServiceArea.Kind.WORLDWIDE)
                | Q(kind=ServiceArea.Kind.COUNTRY, country=region.country)
                # A whole subdivision covers what lies inside it; a city only lies inside its own.
                | Q(kind=ServiceArea.Kind.SUBDIVISION, subdivision__in=region.ancestors())
                | Q(subdivision__in=region.descendants())
            )
        # Only a place people can visit puts a service in a region; a mailing address does not.
        located = ServiceAtLocation.objects.filter(place, location__location_type=Location.Type.PHYSICAL)
        covered = ServiceArea.objects.filter(area)
        # Key lists computed once each (from the region indexes), not a correlated subquery per service:
        # SQLite would drive those from the region's index and scan it again for every service.
        return Q(pk__in=located.values("service_id")) | Q(pk__in=covered.values("service_id"))

    def in_any_region(self, regions):
        """Services in at least one of the regions (values of one facet combine with OR)."""
        condition = Q()
        for region in regions:
            condition |= self.region_condition(region)
        return self.filter(condition) if regions else self

    def with_any_term(self, term_ids):
        links = ServiceTerm.objects.filter(service=OuterRef("pk"), taxonomy_term__in=term_ids)
        return self.filter(Exists(links))

    def in_languages(self, codes):
        """Services offering one of the languages: on the service, one of its phone lines or its places."""
        # One list of keys from the language index, not a correlated subquery per service (which SQLite
        # would drive from that index, scanning every service's worth of it again).
        return self.filter(pk__in=self.language_offers().filter(code__in=codes).values("offered_by"))

    @staticmethod
    def language_offers():
        """Languages, each with `offered_by`: the service offering it (on itself, a phone line or a place; a
        place's language once per service there)."""
        from django.db.models.functions import Coalesce

        from .details import Language

        return Language.objects.annotate(
            offered_by=Coalesce("service_id", "phone__service_id", "location__service_at_locations__service_id")
        )

    def delivered_by(self, methods):
        """Services offered by any of the given delivery methods (in_person, phone, text, online)."""
        condition = Q()
        for method in Service.Delivery.values:
            if method in methods:
                condition |= self.delivery_condition(method)
        return self.filter(condition) if condition else self

    @staticmethod
    def delivery_condition(method):
        """The condition for one way of getting help (a Service.Delivery value), as a Q."""
        if method == Service.Delivery.IN_PERSON:
            return Q(
                Exists(
                    ServiceAtLocation.objects.filter(
                        service=OuterRef("pk"), location__location_type=Location.Type.PHYSICAL
                    )
                )
            )
        if method == Service.Delivery.PHONE:
            return Q(Exists(Phone.objects.filter(service=OuterRef("pk"), type__in=Phone.CALL_TYPES)))
        if method == Service.Delivery.TEXT:
            return Q(Exists(Phone.objects.filter(service=OuterRef("pk"), type=Phone.Type.TEXT)))
        if method == Service.Delivery.ONLINE:
            return Q(available_online=True) | (Q(hotline__isnull=False) & ~Q(hotline__chat_url=""))
        raise ValueError(f"Unknown delivery method {method!r}")

    def open_at(self, moment):
        """Active services whose own hours, or the hours of one of their places, say open at `moment`."""
        open_schedules = Schedule.objects.open_at(moment)
        own = open_schedules.filter(service=OuterRef("pk"))
        at_place = open_schedules.filter(location__service_at_locations__service=OuterRef("pk"))
        return self.filter(Exists(own) | Exists(at_place), status=Service.Status.ACTIVE)

    def free(self):
        return self.filter(is_free=True)


def load_cards(services):
    """`services` (a list, from for_cards()) with what a result card shows (resources/cards.py):
    phones, hours, areas, terms, the translation into the page's language, and the places with their
    addresses and hours, in 11 statements however many services there are. The same relations as for_listing()
    leaves prefetched, each in its model's own order, but each read once for the whole list and handed to
    every service as it is: Django's prefetch makes a queryset per service and relation (a copy of the query,
    then a filter), about 130 of them for a page of 20 results. Each statement is compiled once (_card_reads).
    Returns `services`."""
    from .places import Address
    from .taxonomy import TaxonomyTerm

    if not services:
        return services
    using = services[0]._state.db
    ids = [service.pk for service in services]
    language = get_language() or settings.LANGUAGE_CODE
    reads = _card_reads()

    def hand_out(parents, name, model, children, key):
        found = {}
        for child in children:
            found.setdefault(key(child), []).append(child)
        for parent in parents:
            _set_prefetched(parent, name, model, found.get(parent.pk, []), using)

    hand_out(services, "phones", Phone, reads["phones"].rows(using, ids), lambda phone: phone.service_id)
    hand_out(services, "schedules", Schedule, reads["schedules"].rows(using, ids), lambda row: row.service_id)
    hand_out(services, "service_areas", ServiceArea, reads["areas"].rows(using, ids), lambda area: area.service_id)
    # The links as pairs of ids, in the terms' order, and each term read once (with its vocabulary), however
    # many of the services have it: a link object per pair would be two model instances more each. (Each
    # statement sees the database as it is then: a row a curator deletes between two of them is left out.)
    tagged = reads["tagged"].rows(using, ids)
    term_of = {term.pk: term for term in reads["terms"].rows(using, {term_id for _service_id, term_id in tagged})}
    vocabularies = {row.pk: row for row in reads["vocabularies"].rows(using, {t.taxonomy_id for t in term_of.values()})}
    term_of = {pk: term for pk, term in term_of.items() if term.taxonomy_id in vocabularies}
    for term in term_of.values():
        term.taxonomy = vocabularies[term.taxonomy_id]
    terms = {}
    for service_id, term_id in tagged:
        if term_id in term_of:
            terms.setdefault(service_id, []).append(term_of[term_id])
    for service in services:
        _set_prefetched(service, "terms", TaxonomyTerm, terms.get(service.pk, []), using)
    translations = {row.service_id: row for row in reads["translations"].rows(using, ids, language)}
    for service in services:
        service.translations_in_language = [translations[service.pk]] if service.pk in translations else []
    links = reads["links"].rows(using, ids)
    # Each place once, however many of the services are there.
    places = {place.pk: place for place in reads["places"].rows(using, {link.location_id for link in links})}
    links = [link for link in links if link.location_id in places]
    for link in links:
        link.location = places[link.location_id]
    hand_out(services, "service_at_locations", ServiceAtLocation, links, lambda link: link.service_id)
    places = list(places.values())
    place_ids = [place.pk for place in places]
    hand_out(places, "addresses", Address, reads["addresses"].rows(using, place_ids), lambda row: row.location_id)
    hand_out(places, "schedules", Schedule, reads["place hours"].rows(using, place_ids), lambda row: row.location_id)
    return services


def cards_of(ids, using="default"):
    """The services of `ids`, in that order, as for_cards() gives them (with their organization and hotline) and
    load_cards() fills them: for a search page, whose results are ids, without building a queryset of them (each
    statement is compiled once, reading.Prepared)."""
    reads = _card_reads()
    services = {service.pk: service for service in reads["services"].rows(using, ids)}
    organization_ids = {service.organization_id for service in services.values()}
    organizations = {row.pk: row for row in reads["organizations"].rows(using, organization_ids)}
    hotlines = {row.service_id: row for row in reads["hotlines"].rows(using, ids)}
    hotline_of = Service._meta.get_field("hotline")
    # (A service moved to another organization and the first deleted between two statements is left out.)
    services = {pk: service for pk, service in services.items() if service.organization_id in organizations}
    for service in services.values():
        service.organization = organizations[service.organization_id]
        # As select_related("hotline") leaves it: the hotline, or None, whose access raises DoesNotExist.
        hotline = hotlines.get(service.pk)
        hotline_of.set_cached_value(service, hotline)
        if hotline is not None:
            hotline.service = service
    return load_cards([services[pk] for pk in ids if pk in services])


@functools.cache
def _card_reads():
    """The statements of cards_of() and load_cards(), each compiled once (reading.Prepared), in the models' own
    orders."""
    from .organizations import Organization
    from .places import Address
    from .taxonomy import Taxonomy, TaxonomyTerm

    term_order = [
        f"-taxonomy_term__{name[1:]}" if name.startswith("-") else f"taxonomy_term__{name}"
        for name in TaxonomyTerm._meta.ordering
    ]
    return {
        "services": Prepared(lambda ids: Service.objects.filter(pk__in=ids).order_by()),
        "organizations": Prepared(lambda ids: Organization.objects.filter(pk__in=ids).order_by()),
        "hotlines": Prepared(lambda ids: Hotline.objects.filter(service_id__in=ids).order_by()),
        "phones": Prepared(lambda ids: Phone.objects.filter(service_id__in=ids)),
        "schedules": Prepared(lambda ids: Schedule.objects.filter(service_id__in=ids)),
        "areas": Prepared(lambda ids: ServiceArea.objects.filter(service_id__in=ids)),
        "tagged": Prepared(
            lambda ids: (
                ServiceTerm.objects.filter(service_id__in=ids)
                .order_by(*term_order)
                .values_list("service_id", "taxonomy_term_id")
            )
        ),
        # (Terms and places are found by id: their order is the links'.)
        "terms": Prepared(lambda ids: TaxonomyTerm.objects.filter(pk__in=ids).order_by()),
        "vocabularies": Prepared(lambda ids: Taxonomy.objects.filter(pk__in=ids).order_by()),
        "translations": Prepared(
            lambda ids, language: ServiceTranslation.objects.filter(service_id__in=ids, language=language)
        ),
        "links": Prepared(lambda ids: ServiceAtLocation.objects.filter(service_id__in=ids)),
        "places": Prepared(lambda ids: Location.objects.filter(pk__in=ids).order_by()),
        "addresses": Prepared(lambda ids: Address.objects.filter(location_id__in=ids)),
        "place hours": Prepared(lambda ids: Schedule.objects.filter(location_id__in=ids)),
    }


def _set_prefetched(instance, name, model, children, using):
    """Make `children` what instance.<name>.all() gives, as prefetch_related would."""
    found = models.QuerySet(model=model, using=using)
    found._result_cache, found._prefetch_done = children, True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = found


class Shown(NamedTuple):
    """A listing text as a page shows it: the text, and the language code to mark it with when it is not in
    the language of the page ("" when it is)."""

    text: str
    lang: str

    def __str__(self):
        return self.text


def _terms_with_taxonomy():
    from .taxonomy import TaxonomyTerm

    return TaxonomyTerm.objects.select_related("taxonomy")


class Service(HSDSModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        DEFUNCT = "defunct", _("Defunct (closed for good)")
        TEMPORARILY_CLOSED = "temporarily closed", _("Temporarily closed")

    class ReviewState(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Pending review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    class Delivery(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        PHONE = "phone", _("By phone")
        TEXT = "text", _("By text message")
        ONLINE = "online", _("Online")

    # Set on the services of a page by geo.place_the_results() when the search has a starting point; empty
    # otherwise (class defaults, so a template asking for them on any other page finds them at once).
    distance_text = nearest_city = ""

    organization = models.ForeignKey("resources.Organization", on_delete=models.PROTECT, related_name="services")
    # The verbose names of the fields partners edit (partners.documents.SERVICE_FIELDS) and read back when they
    # compare a proposal are translated; the stored values and the HSDS names stay as they are.
    name = models.CharField(_("name"), max_length=300)
    alternate_name = models.CharField(_("alternate name"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    url = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.ACTIVE)
    application_process = models.TextField(_("how to get help"), blank=True)
    eligibility_description = models.TextField(_("who is eligible"), blank=True)
    minimum_age = models.PositiveSmallIntegerField(_("minimum age"), null=True, blank=True)
    maximum_age = models.PositiveSmallIntegerField(_("maximum age"), null=True, blank=True)
    fees_description = models.TextField(_("fees"), blank=True)
    is_free = models.BooleanField(_("free of charge"), default=False)
    available_online = models.BooleanField(
        _("available online"),
        default=False,
        help_text=_("Can be used online (chat, video, an online form), not just read about."),
    )
    interpretation_services = models.TextField(_("interpretation services"), blank=True)
    program = models.ForeignKey(
        "resources.Program", null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    accreditations = models.TextField(_("accreditations"), blank=True)
    wait_time = models.TextField(_("wait time"), blank=True, help_text="Deprecated in HSDS 3.0; kept as given.")
    fees = models.TextField(
        _("fees"), blank=True, help_text="Deprecated in HSDS 3.0 (see fees description); kept as given."
    )
    licenses = models.TextField(_("licenses"), blank=True, help_text="Deprecated in HSDS 3.0; kept as given.")
    alert = models.TextField(_("alert"), blank=True, help_text="A short-term notice shown at the top of the listing.")
    terms = models.ManyToManyField(
        "resources.TaxonomyTerm",
        through="resources.ServiceTerm",
        blank=True,
        related_name="services",
        help_text="Needs, populations, trafficking types.",
    )

    review_state = models.CharField(
        _("review state"), max_length=20, choices=ReviewState, default=ReviewState.DRAFT, db_index=True
    )
    review_state_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    review_state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    assured_date = models.DateField(_("last verified"), null=True, blank=True)
    assurer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="verified by",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assurer_email = models.EmailField(_("verified by (email)"), blank=True)
    # Set by every write path (admin, review actions, import), and kept as given by an import.
    last_modified = models.DateTimeField(default=timezone.now, editable=False)

    objects = ServiceQuerySet.as_manager()
    history = ListingHistory()

    class Meta:
        # The key breaks ties between equal names, so pages never repeat or skip a listing.
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["review_state", "status"], name="service_public_idx"),
            # Results through the queryset come in this order: a page of a broad filter stops early.
            models.Index(fields=["name", "id"], name="service_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum_age__isnull=True)
                | Q(maximum_age__isnull=True)
                | Q(minimum_age__lte=models.F("maximum_age")),
                name="service_age_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(maximum_age__isnull=True) | Q(maximum_age__lte=150), name="service_age_plausible"
            ),
            models.CheckConstraint(
                condition=Q(assured_date__isnull=False) | (Q(assurer__isnull=True) & Q(assurer_email="")),
                name="service_assurer_needs_date",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:service", kwargs={"uuid": self.uuid})

    def clean(self):
        errors = {}
        if self.minimum_age is not None and self.maximum_age is not None and self.minimum_age > self.maximum_age:
            errors["maximum_age"] = gettext("The maximum age must not be below the minimum age.")
        if self.maximum_age is not None and self.maximum_age > 150:
            errors["maximum_age"] = gettext("An age above 150 is not plausible.")
        if self.assured_date is None and (self.assurer_id or self.assurer_email):
            errors["assured_date"] = gettext("Give the date it was verified, or clear who verified it.")
        if self.assured_date and self.assured_date > timezone.localdate():
            errors["assured_date"] = gettext("A verification date cannot be in the future.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_public(self):
        return self.review_state == self.ReviewState.PUBLISHED and self.status != self.Status.DEFUNCT

    @property
    def is_stale(self):
        """Not verified within FRESHNESS_STALE_AFTER_DAYS, or never: the public listing says so."""
        return self.assured_date is None or timezone.localdate() - self.assured_date > days_setting(
            "FRESHNESS_STALE_AFTER_DAYS"
        )

    @property
    def checked_on(self):
        """The date the freshness clock runs from (see checked_condition): the later of the last verification
        and the last publication; never verified nor published through review: the last change."""
        dates = [self.assured_date] if self.assured_date else []
        if self.review_state_changed_at:
            dates.append(timezone.localdate(self.review_state_changed_at))
        return max(dates) if dates else timezone.localdate(self.last_modified)

    def terms_of(self, taxonomy_slug):
        """Terms of one vocabulary, from the prefetched terms when there are any."""
        return [term for term in self.terms.all() if term.taxonomy.slug == taxonomy_slug]

    @property
    def needs(self):
        from .taxonomy import Taxonomy

        return self.terms_of(Taxonomy.NEEDS)

    @property
    def populations(self):
        from .taxonomy import Taxonomy

        return self.terms_of(Taxonomy.POPULATIONS)

    @property
    def trafficking_types(self):
        from .taxonomy import Taxonomy

        return self.terms_of(Taxonomy.TRAFFICKING_TYPES)

    @property
    def hotline_or_none(self):
        """The hotline facts of a hotline (from select_related or for_cards), else None: a template asking for
        `service.hotline` of another service gets an exception it has to look into."""
        try:
            return self.hotline
        except ObjectDoesNotExist:
            return None

    @property
    def translation(self):
        """The curators' translation into the visitor's language (the active one), or None."""
        found = getattr(self, "translations_in_language", None)
        if found is None:  # not prefetched by for_listing()
            found = list(self.translations.filter(language=get_language() or settings.LANGUAGE_CODE))
        return found[0] if found else None

    @property
    def shown_description(self):
        """The description to show: the translation into the visitor's language when there is one, else the
        original (see Shown)."""
        return self._shown("description")

    @property
    def shown_application_process(self):
        """How to get help, to show: translated when there is a translation, else the original."""
        return self._shown("application_process")

    def _shown(self, field):
        translation = self.translation
        if translation and getattr(translation, field):
            return Shown(getattr(translation, field), "")
        # Listings are written in the site's default language: a page in another language marks the original
        # text as such (lang="en"), so screen readers read it with the right voice.
        language = get_language() or settings.LANGUAGE_CODE
        return Shown(getattr(self, field), "" if language == settings.LANGUAGE_CODE else settings.LANGUAGE_CODE)

    @property
    def all_schedules(self):
        """The service's own hours, or else the hours of its places (prefetched by for_listing). A confidential
        place's hours stay private like the rest of it (their notes may say where the door is), as in the API."""
        own = list(self.schedules.all())
        if own:
            return own
        places = [sal.location for sal in self.service_at_locations.all() if not sal.location.is_confidential]
        return [schedule for place in places for schedule in place.schedules.all()]

    def open_state(self, moment=None):
        """True (open), False (closed) or None (no hours known), from the prefetched schedules."""
        if self.status != self.Status.ACTIVE:
            return False
        schedules = self.all_schedules
        if not schedules:
            return None
        moment = moment or timezone.now()
        return any(schedule.is_open_at(moment) for schedule in schedules)

    @property
    def all_languages(self):
        """Languages offered on the service, its phone lines and its places, each once (prefetched)."""
        found = {}
        places = [sal.location for sal in self.service_at_locations.all()]
        sources = [self.languages.all()]
        sources += [phone.languages.all() for phone in self.phones.all()]
        sources += [place.languages.all() for place in places]
        for source in sources:
            for language in source:
                found.setdefault(language.code, language)
        return sorted(found.values(), key=lambda language: language.name)

    @property
    def age_range(self):
        low, high = self.minimum_age, self.maximum_age
        if low is not None and high is not None:
            return f"{low}–{high}"
        if low is not None:
            return gettext("%(low)s and over") % {"low": low}
        if high is not None:
            return gettext("up to %(high)s") % {"high": high}
        return ""


class ServiceTranslation(models.Model):
    """A curator's translation of a listing's description and how to get help into one language of the site.

    The service's own fields stay the original (and what the HSDS export carries); pages in this language
    show the translation where it has the text. Not an HSDS object: HSDS 3.0 has no translations.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    description = models.TextField(blank=True)
    application_process = models.TextField("how to get help", blank=True)

    history = ListingHistory(indexed=["service"])

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "language"],
                name="service_translation_unique_language",
                violation_error_message="This listing already has a translation into that language.",
            ),
        ]

    def __str__(self):
        return f"{self.service} ({self.get_language_display()})"


class ServiceTerm(HSDSModel):
    """A term attached to a service: an HSDS attribute whose link_entity is "service"."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="attributes")
    taxonomy_term = models.ForeignKey("resources.TaxonomyTerm", on_delete=models.PROTECT, related_name="+")
    link_type = models.CharField(max_length=100, blank=True)
    value = models.TextField(blank=True)

    history = ListingHistory(indexed=["service"])

    class Meta:
        verbose_name = "service term"
        constraints = [
            models.UniqueConstraint(fields=["service", "taxonomy_term"], name="service_term_unique"),
        ]
        indexes = [models.Index(fields=["taxonomy_term", "service"], name="service_term_by_term_idx")]

    def __str__(self):
        return f"{self.service} – {self.taxonomy_term}"


class CostOption(HSDSModel):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="cost_options")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    option = models.TextField(blank=True, help_text="Who this price applies to.")
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217 code, e.g. USD.")
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    amount_description = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="cost_option_amount_not_negative",
                violation_error_message="A cost cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lte=models.F("valid_to")),
                name="cost_option_validity_ordered",
                violation_error_message="A cost option cannot end before it starts.",
            ),
        ]

    def __str__(self):
        return self.option or self.amount_description or "Cost"


class RequiredDocument(HSDSModel):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="required_documents")
    document = models.TextField(blank=True)
    uri = models.URLField(blank=True)

    def __str__(self):
        return self.document[:80]


class PublicService(Service):
    """The same rows, seen as the public sees them (a read-only admin view over published())."""

    class Meta:
        proxy = True
        verbose_name = "public listing"
        verbose_name_plural = "public listings (read-only)"


class Hotline(models.Model):
    """What a person needs to know before reaching out to a hotline (ours; exported via our HSDS profile)."""

    class OperatorKind(models.TextChoices):
        NON_GOVERNMENTAL = "non_governmental", _("Non-governmental organisation")
        GOVERNMENT = "government", _("Government (not law enforcement)")
        LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
        UNKNOWN = "unknown", _("Not known")

    class Reporting(models.TextChoices):
        NEVER = "never", _("Never")
        WITH_CONSENT = "with_consent", _("Only with your consent")
        MAY = "may", _("May, for example when someone is in danger")
        ALWAYS = "always", _("Yes: reports go to the authorities")
        UNKNOWN = "unknown", _("Not known")

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="hotline")
    operator_kind = models.CharField(max_length=30, choices=OperatorKind, default=OperatorKind.UNKNOWN)
    chat_url = models.URLField("online chat", blank=True)
    confidential = models.CharField(max_length=10, choices=Tristate, default=Tristate.UNKNOWN)
    anonymous_allowed = models.CharField(
        "can I stay anonymous", max_length=10, choices=Tristate, default=Tristate.UNKNOWN
    )
    contacts_police = models.CharField(
        "will they contact police", max_length=20, choices=Reporting, default=Reporting.UNKNOWN
    )
    contacts_immigration = models.CharField(
        "will they contact immigration", max_length=20, choices=Reporting, default=Reporting.UNKNOWN
    )
    asks_for_id = models.CharField("asks for ID", max_length=10, choices=Tristate, default=Tristate.UNKNOWN)
    asks_immigration_status = models.CharField(
        "asks about immigration status", max_length=10, choices=Tristate, default=Tristate.UNKNOWN
    )
    what_to_expect = models.TextField(blank=True, help_text="In plain words: what happens when you reach out.")
    position = models.PositiveSmallIntegerField(
        default=100, help_text="Order on the home and hotlines pages: lower comes first."
    )

    history = ListingHistory(indexed=["service"])

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(operator_kind="law_enforcement") | ~Q(contacts_police="never"),
                name="hotline_law_enforcement_is_police",
            ),
        ]

    def __str__(self):
        return f"Hotline facts: {self.service}"

    def clean(self):
        if self.operator_kind == self.OperatorKind.LAW_ENFORCEMENT and self.contacts_police == self.Reporting.NEVER:
            raise ValidationError(
                {"contacts_police": "A law-enforcement line is the police: 'never' cannot be true."}, code="police"
            )

    @property
    def is_law_enforcement(self):
        return self.operator_kind == self.OperatorKind.LAW_ENFORCEMENT
