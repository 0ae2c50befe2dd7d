"""HSDS records kept so that what is imported comes back out unchanged.

Terms on services have their own table (ServiceTerm) because search filters on them; the attributes of
every other object, the change metadata and table descriptions are stored generically, keyed by the
HSDS id of the object they describe.
"""

from django.db import models

from .base import HSDSModel


class Attribute(HSDSModel):
    """A taxonomy term attached to any HSDS object other than a service."""

    link_entity = models.CharField(max_length=50, help_text="The HSDS table of the object, e.g. 'location'.")
    link_id = models.UUIDField(db_index=True, help_text="The HSDS id of the object.")
    link_type = models.CharField(max_length=100, blank=True)
    taxonomy_term = models.ForeignKey("resources.TaxonomyTerm", on_delete=models.PROTECT, related_name="+")
    value = models.TextField(blank=True)

    def __str__(self):
        return f"{self.link_entity} {self.link_id}: {self.taxonomy_term}"


class Metadata(HSDSModel):
    """One recorded change of one field of one HSDS object (HSDS metadata)."""

    resource_id = models.UUIDField(db_index=True)
    resource_type = models.CharField(max_length=50)
    last_action_date = models.DateField()
    last_action_type = models.CharField(max_length=50)
    field_name = models.CharField(max_length=100)
    previous_value = models.TextField(blank=True)
    replacement_value = models.TextField(blank=True)
    updated_by = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "metadata"
        ordering = ["resource_type", "resource_id", "last_action_date"]

    def __str__(self):
        return f"{self.last_action_type} {self.resource_type}.{self.field_name}"


class MetaTableDescription(HSDSModel):
    name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=50, blank=True)
    character_set = models.CharField(max_length=50, blank=True)

    def __str__(self):
        return self.name or "Table description"
