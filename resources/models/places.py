from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import regions
from .base import HSDSModel, ListingHistory


def validate_country_code(value):
    try:
        normalised = regions.normalise_country(value)
    except regions.UnknownRegion as error:
        raise ValidationError(str(error), code="country") from None
    # Lower case is fine here: clean() stores the upper-case code.
    if normalised != value.upper():
        raise ValidationError(
            gettext("Use the ISO 3166-1 alpha-2 code %(code)s.") % {"code": normalised}, code="country"
        )


def validate_subdivision_code(value):
    if value and "-" not in value:
        raise ValidationError(gettext("Use a full ISO 3166-2 code such as US-TX."), code="subdivision")
    try:
        normalised = regions.normalise_subdivision(value)
    except regions.UnknownRegion as error:
        raise ValidationError(str(error), code="subdivision") from None
    if normalised != value.upper():
        raise ValidationError(gettext("Use the ISO 3166-2 code %(code)s.") % {"code": normalised}, code="subdivision")


class LocationQuerySet(models.QuerySet):
    def public(self):
        """Places the public may know of: those of a published service, and an organization's places that
        serve no service at all (an office). A place only an unreviewed service uses stays hidden."""
        from .services import Service

        uses = ServiceAtLocation.objects.filter(location=OuterRef("pk"))
        return self.filter(~Exists(uses) | Exists(uses.filter(service__in=Service.objects.published())))


class Location(HSDSModel):
    class Type(models.TextChoices):
        PHYSICAL = "physical", "Physical (people can visit)"
        POSTAL = "postal", "Postal (mail only)"
        VIRTUAL = "virtual", "Virtual (online)"

    organization = models.ForeignKey(
        "resources.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="locations"
    )
    location_type = models.CharField(max_length=20, choices=Type, default=Type.PHYSICAL)
    name = models.CharField(max_length=300, blank=True)
    alternate_name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    transportation = models.TextField(blank=True, help_text="How to get there by public transport.")
    accessibility = models.TextField(blank=True, help_text="Step-free access, hearing loops, …")
    url = models.URLField(blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    external_identifier = models.CharField(max_length=200, blank=True)
    external_identifier_type = models.CharField(max_length=100, blank=True, help_text="E.g. UPRN.")
    is_confidential = models.BooleanField(
        "confidential location",
        default=False,
        help_text="A shelter or safe house: the public sees only the city/region and the intake phone.",
    )

    objects = LocationQuerySet.as_manager()
    history = ListingHistory()

    class Meta:
        ordering = ["name"]
        # The bounding box of a distance search (geo.within_reach) is a range scan on latitude, with the
        # longitude and what else it reads of each place in the index: no row of the table is read.
        indexes = [
            models.Index(fields=["latitude", "longitude", "location_type", "is_confidential"], name="location_box_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="location_coordinates_valid",
                violation_error_message="Latitude goes from -90 to 90 and longitude from -180 to 180; give both or "
                "neither.",
            ),
        ]

    def __str__(self):
        if self.name:
            return self.name
        # Read through .all() so prefetched addresses are used (no query per row in lists).
        address = next(iter(self.addresses.all()), None) if self.pk else None
        return str(address) if address else f"Location {self.uuid}"

    def public_addresses(self):
        """Each address as the lines the public may see (city and region only when confidential)."""
        return [address.public_parts(self.is_confidential) for address in self.addresses.all()]

    def clean(self):
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError("Give both latitude and longitude, or neither.", code="coordinates")


class Accessibility(HSDSModel):
    """How accessible a place is (HSDS accessibility)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="accessibility_details")
    description = models.TextField(blank=True)
    details = models.TextField(blank=True)
    url = models.URLField(blank=True)

    class Meta:
        verbose_name_plural = "accessibility details"

    def __str__(self):
        return self.description[:80] or "Accessibility"


class Address(HSDSModel):
    class Type(models.TextChoices):
        PHYSICAL = "physical", "Physical"
        POSTAL = "postal", "Postal"
        VIRTUAL = "virtual", "Virtual"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="addresses")
    address_type = models.CharField(max_length=20, choices=Type, default=Type.PHYSICAL)
    attention = models.CharField(max_length=200, blank=True)
    address_1 = models.CharField("address line 1", max_length=300, blank=True)
    address_2 = models.CharField("address line 2", max_length=300, blank=True)
    city = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=200, blank=True, help_text="A region below state level, if any.")
    state_province = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(
        max_length=2, validators=[validate_country_code], help_text="ISO 3166-1 alpha-2 code, e.g. UG."
    )
    subdivision = models.CharField(
        max_length=6,
        blank=True,
        editable=False,
        db_index=True,
        help_text="ISO 3166-2 code derived from state/province, used to find services by region.",
    )

    history = ListingHistory(indexed=["location"])

    class Meta:
        verbose_name_plural = "addresses"
        indexes = [models.Index(fields=["country", "subdivision"], name="address_region_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="address_country_alpha2"),
            models.CheckConstraint(
                condition=Q(subdivision="") | Q(subdivision__startswith=models.F("country")),
                name="address_subdivision_in_country",
            ),
        ]

    def __str__(self):
        # The admin's change history stores this text: a confidential street address must not be in it.
        if self.location_id and self.location.is_confidential:
            return ", ".join(self.public_parts(confidential=True))
        parts = [self.address_1, self.city, self.state_province, self.country]
        return ", ".join(part for part in parts if part)

    def clean(self):
        if self.country:
            self.country = self.country.upper()
        self.subdivision = regions.subdivision_from_state(self.country, self.state_province)

    def public_parts(self, confidential):
        """The address lines the public may see: only city, region and country for a confidential place."""
        if confidential:
            parts = [self.city, self.state_province, regions.country_label(self.country)]
            return [p for i, p in enumerate(parts) if p and p not in parts[:i]]
        lines = [self.address_1, self.address_2, self.city, self.state_province, self.postal_code]
        return [p for p in lines if p] + [regions.country_label(self.country)]


class ServiceAtLocation(HSDSModel):
    service = models.ForeignKey("resources.Service", on_delete=models.CASCADE, related_name="service_at_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="service_at_locations")
    description = models.TextField(blank=True)

    history = ListingHistory(indexed=["service"])

    class Meta:
        verbose_name = "service at location"
        constraints = [
            models.UniqueConstraint(fields=["service", "location"], name="service_at_location_unique"),
        ]
        # The services at each place a distance search measures, from the index alone.
        indexes = [models.Index(fields=["location", "service"], name="sal_location_service_idx")]

    def __str__(self):
        return f"{self.service} at {self.location}"


class ServiceArea(HSDSModel):
    """Where a service is available, when that is wider than its locations."""

    class Kind(models.TextChoices):
        WORLDWIDE = "worldwide", _("Worldwide")
        COUNTRY = "country", _("A whole country")
        SUBDIVISION = "subdivision", _("A state, province or region (ISO 3166-2)")
        CITY = "city", _("A city")
        OTHER = "other", _("Described only (name, description or extent)")

    service = models.ForeignKey("resources.Service", on_delete=models.CASCADE, related_name="service_areas")
    kind = models.CharField(max_length=20, choices=Kind)
    country = models.CharField(max_length=2, blank=True, validators=[validate_country_code])
    subdivision = models.CharField(
        max_length=6, blank=True, validators=[validate_subdivision_code], help_text="ISO 3166-2, e.g. US-TX."
    )
    city = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=300, blank=True, help_text="How to describe the area, if not by its code.")
    description = models.TextField(blank=True)
    extent = models.TextField(blank=True, help_text="The area's shape, in the format extent type names.")
    extent_type = models.CharField(max_length=20, blank=True, help_text="geojson, topojson, kml or text.")
    uri = models.CharField("HSDS uri", max_length=500, blank=True)

    history = ListingHistory(indexed=["service"])

    class Meta:
        indexes = [models.Index(fields=["kind", "country", "subdivision"], name="service_area_region_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="worldwide", country="", subdivision="", city=""))
                | Q(kind="country", subdivision="", city="", country__regex=r"^[A-Z]{2}$")
                | Q(kind="subdivision", city="", country__regex=r"^[A-Z]{2}$", subdivision__regex=r"^[A-Z]{2}-")
                | (Q(kind="city", country__regex=r"^[A-Z]{2}$") & ~Q(city=""))
                | (Q(kind="other", country="", subdivision="", city="") & ~Q(name="", description="", extent="")),
                name="service_area_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(subdivision="") | Q(subdivision__startswith=models.F("country")),
                name="service_area_subdivision_in_country",
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self):
        if self.kind == self.Kind.OTHER:
            return self.name or self.description[:120] or gettext("A described area")
        if self.kind == self.Kind.WORLDWIDE:
            return gettext("Worldwide")
        if self.kind == self.Kind.COUNTRY:
            return regions.country_label(self.country)
        if self.kind == self.Kind.SUBDIVISION:
            return f"{regions.subdivision_label(self.subdivision)}, {regions.country_label(self.country)}"
        where = regions.subdivision_label(self.subdivision) if self.subdivision else regions.country_label(self.country)
        return f"{self.city}, {where}"

    def clean(self):
        errors = {}
        self.country, self.subdivision = self.country.upper(), self.subdivision.upper()
        if self.subdivision and not self.country:
            self.country = self.subdivision.split("-", 1)[0]
        if self.kind in (self.Kind.WORLDWIDE, self.Kind.OTHER):
            if self.country or self.subdivision or self.city:
                errors["kind"] = gettext("A worldwide or described area has no country, subdivision or city.")
            if self.kind == self.Kind.OTHER and not (self.name or self.description or self.extent):
                errors["name"] = gettext("Describe the area: give a name, a description or an extent.")
        else:
            if not self.country:
                errors["country"] = gettext("Give the country.")
            if self.kind == self.Kind.COUNTRY and (self.subdivision or self.city):
                errors["kind"] = gettext("A whole-country area has no subdivision or city; choose another kind.")
            if self.kind == self.Kind.SUBDIVISION:
                if not self.subdivision:
                    errors["subdivision"] = gettext("Give the ISO 3166-2 code of the state, province or region.")
                if self.city:
                    errors["city"] = gettext("A subdivision area has no city; choose the kind 'city'.")
            if self.kind == self.Kind.CITY and not self.city.strip():
                errors["city"] = gettext("Give the city.")
        if self.subdivision and self.country and not self.subdivision.startswith(self.country + "-"):
            errors["subdivision"] = gettext("%(subdivision)s is not in %(country)s.") % {
                "subdivision": self.subdivision,
                "country": regions.country_label(self.country),
            }
        if errors:
            raise ValidationError(errors)
