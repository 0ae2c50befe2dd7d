from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .base import HSDSModel, ListingHistory


class OrganizationQuerySet(models.QuerySet):
    def with_public_services(self):
        from .services import Service

        return self.filter(models.Exists(Service.objects.published().filter(organization=models.OuterRef("pk"))))


class Organization(HSDSModel):
    name = models.CharField(max_length=300)
    alternate_name = models.CharField(max_length=300, blank=True)
    description = models.TextField()
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    logo = models.URLField(blank=True)
    legal_status = models.CharField(max_length=200, blank=True)
    year_incorporated = models.PositiveSmallIntegerField(null=True, blank=True)
    uri = models.URLField("HSDS uri", blank=True, help_text="A persistent identifier of the organization.")
    parent_organization = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_organizations"
    )
    tax_status = models.CharField(max_length=200, blank=True, help_text="Deprecated in HSDS 3.0; kept as given.")
    tax_id = models.CharField(max_length=200, blank=True, help_text="Deprecated in HSDS 3.0; kept as given.")
    last_modified = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganizationQuerySet.as_manager()
    history = ListingHistory()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year_incorporated__isnull=True)
                | Q(year_incorporated__gte=1800, year_incorporated__lte=2100),
                name="organization_year_plausible",
                violation_error_message="The year of incorporation must be between 1800 and 2100.",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:organization", kwargs={"uuid": self.uuid})


class Program(HSDSModel):
    """A group of related services run by one organization (HSDS program)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="programs")
    name = models.CharField(max_length=300)
    alternate_name = models.CharField(max_length=300, blank=True)
    description = models.TextField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OrganizationIdentifier(HSDSModel):
    """A registration number of an organization (charity number, company number, ...)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="organization_identifiers")
    identifier_scheme = models.CharField(max_length=100, blank=True, help_text="E.g. an org-id.guide scheme code.")
    identifier_type = models.CharField(max_length=200)
    identifier = models.CharField(max_length=200)

    def __str__(self):
        return f"{self.identifier_type}: {self.identifier}"


class Funding(HSDSModel):
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="funding"
    )
    service = models.ForeignKey(
        "resources.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="funding"
    )
    source = models.TextField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | Q(service__isnull=False),
                name="funding_has_owner",
                violation_error_message="Funding belongs to an organization or a service.",
            )
        ]

    def __str__(self):
        return self.source[:80]
