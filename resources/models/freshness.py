from django.conf import settings
from django.db import models


class ReminderSent(models.Model):
    """A reminder to confirm or update listings, sent to one partner of one organization (remind_partners).

    The command reads these to send nothing twice: a person reminded less than FRESHNESS_REMIND_EVERY_DAYS
    ago is not reminded again, whatever else became due since.
    """

    organization = models.ForeignKey("resources.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.EmailField(help_text="The address the reminder went to.")
    sent_on = models.DateField()
    services = models.ManyToManyField("resources.Service", related_name="+", help_text="The listings it asked about.")

    class Meta:
        verbose_name = "reminder sent"
        verbose_name_plural = "reminders sent"
        ordering = ["-sent_on", "organization", "recipient"]
        indexes = [models.Index(fields=["organization", "recipient", "sent_on"], name="reminder_sent_lookup_idx")]

    def __str__(self):
        return f"{self.recipient} on {self.sent_on}"
