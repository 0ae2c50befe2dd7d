"""What every HSDS object shares.

Decided once for all models: an integer primary key (compact joins and indexes; SQLite FTS5 external
content tables need an integer rowid) plus a unique, stable UUID that is the object's HSDS `id`,
used in public URLs, the API, import and export.
"""

import uuid

from django.db import models


class HSDSModel(models.Model):
    uuid = models.UUIDField(
        "HSDS id", default=uuid.uuid4, unique=True, editable=False, help_text="Stable public identifier."
    )

    class Meta:
        abstract = True


class Tristate(models.TextChoices):
    """A yes/no answer that may not be known yet; 'unknown' is said out loud, never guessed."""

    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Not known"
