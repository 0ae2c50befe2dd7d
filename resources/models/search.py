"""What search reads besides the services: the full-text index and the curators' synonyms.

The index (`SearchDocument`) is not a Django table: it is built by the database itself, per engine, in
migration 0004 (an FTS5 table on SQLite, a weighted tsvector with a GIN index on PostgreSQL), and kept
in step by triggers, so every write path (admin, import, partner submissions, raw SQL) updates it. The
model only lets queries join it: one row per service, keyed by the service's id, named `rowid` on both
engines.
"""

from django.core.exceptions import ValidationError
from django.db import models


class SearchDocument(models.Model):
    service = models.OneToOneField(
        "resources.Service",
        primary_key=True,
        db_column="rowid",
        on_delete=models.DO_NOTHING,
        related_name="search_document",
    )

    class Meta:
        managed = False
        db_table = "resources_searchdocument"

    def __str__(self):
        return f"Search index of service {self.service_id}"


def _phrases(text):
    return [" ".join(part.split()).lower() for part in text.replace("\n", ",").split(",") if part.strip()]


class SearchSynonym(models.Model):
    """Words or phrases that mean the same to someone searching: each finds what the others find."""

    phrases = models.TextField(
        help_text="Two or more words or phrases, separated by commas, e.g. “shelter, housing, refugio”.",
    )
    note = models.CharField(max_length=200, blank=True, help_text="Why these belong together (for curators).")

    class Meta:
        ordering = ["phrases"]
        verbose_name = "search synonym"

    def __str__(self):
        return ", ".join(self.phrase_list())

    def phrase_list(self):
        return list(dict.fromkeys(_phrases(self.phrases)))

    def clean(self):
        phrases = self.phrase_list()
        if len(phrases) < 2:
            raise ValidationError({"phrases": "Give at least two words or phrases, separated by commas."})
        self.phrases = ", ".join(phrases)
