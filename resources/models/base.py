"""What every HSDS object shares.

Decided once for all models: an integer primary key (compact joins and indexes; SQLite FTS5 external
content tables need an integer rowid) plus a unique, stable UUID that is the object's HSDS `id`,
used in public URLs, the API, import and export.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class HSDSModel(models.Model):
    uuid = models.UUIDField(
        "HSDS id", default=uuid.uuid4, unique=True, editable=False, help_text="Stable public identifier."
    )

    class Meta:
        abstract = True


class Tristate(models.TextChoices):
    """A yes/no answer that may not be known yet; 'unknown' is said out loud, never guessed."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Not known")


class HistoryBase(models.Model):
    """The base of every historical model (django-simple-history, see resources/history.py).

    A historical row of a confidential place is made safe here, as it is written, whatever wrote it: the
    admin, a review function or a test. This is the one safety rule of the history, so it lives where no
    write can miss it rather than in a signal handler.
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        from .. import history

        history.blank_secrets(self)
        super().save(*args, **kwargs)
        history.after_save(self)


class ListingHistory(HistoricalRecords):
    """The change history of a listing model: `Model.history` (django-simple-history) on HistoryBase.

    A historical table is indexed only on the object's key and on `indexed` (the parent the history is read
    by, e.g. a phone's service): every other index would slow down each import and help no read.
    """

    def __init__(self, *, indexed=()):
        super().__init__(bases=[HistoryBase])
        self.indexed = {"id", *indexed}

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        for name, field in fields.items():
            field.db_index = name in self.indexed
        return fields
