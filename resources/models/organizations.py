from django.db import models
from django.db.models import Q
from django.urls import reverse

from .base import HSDSModel


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
    last_modified = models.DateTimeField(auto_now=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year_incorporated__isnull=True)
                | Q(year_incorporated__gte=1800, year_incorporated__lte=2100),
                name="organization_year_plausible",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("resources:organization", kwargs={"uuid": self.uuid})
