"""Keeping listings fresh: a listing nobody has checked for a while is labelled, then hidden, and its
partners are reminded to confirm or update it.

A listing's clock runs from the later of its last verification (`assured_date`, set by review.verify: a
curator, or a partner confirming a listing of their own) and its last publication. A listing never verified
counts from its publication, or, published without a recorded transition (the demo data), from its last
change: the clock must start somewhere, and starting it at the beginning of time would hide every new
listing at once (models.services.checked_condition; Service.checked_on). Three settings, in days:

- FRESHNESS_REMIND_AFTER_DAYS (335, about 11 months): `remind_partners` asks the organization's partners
  to confirm or update the listing;
- FRESHNESS_STALE_AFTER_DAYS (365): not verified for that long (or never), the public listing says
  "Not verified since <date>" ("Not verified yet");
- FRESHNESS_HIDE_AFTER_DAYS (548, about 18 months): the listing leaves Service.objects.published(), so every
  public page, the API and the export, until someone verifies it (or a curator publishes it
  again after archiving it). Curators find these with the "verification" filter of the service list.

Reminders (`send_reminders`, run daily by `manage.py remind_partners`): for each organization with
published listings at or past the reminder age, one email to each of its partners (partners.Membership,
active users with an email address), listing all those listings with links to the partner pages. Each
email sent is recorded (ReminderSent), and a person reminded about an organization is not reminded again
about it for FRESHNESS_REMIND_EVERY_DAYS (30): running the command twice a day, or daily, sends each
reminder once, then once a month while anything is still due. A listing that falls due in between waits for
that next reminder; once every listing is verified, the reminders stop.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .models import ReminderSent, Service
from .models.services import days_setting

logger = logging.getLogger(__name__)


@dataclass
class ReminderReport:
    sent: int = 0
    listings: int = 0  # listings due, reminded about now or not
    organizations: int = 0  # organizations with listings due
    already_reminded: int = 0  # people reminded about their organization within FRESHNESS_REMIND_EVERY_DAYS
    failed: int = 0
    without_partners: list = field(default_factory=list)  # organizations due that nobody can be reminded for

    def __str__(self):
        text = (
            f"{self.sent} reminder(s) sent about {self.listings} listing(s) of {self.organizations} organization(s) "
            f"not checked for {settings.FRESHNESS_REMIND_AFTER_DAYS} days; {self.already_reminded} person(s) "
            f"reminded in the last {settings.FRESHNESS_REMIND_EVERY_DAYS} days left alone"
        )
        if self.without_partners:
            text += f"; {len(self.without_partners)} organization(s) have no partner to remind"
        if self.failed:
            text += f"; {self.failed} could not be sent"
        return text + "."


class ReminderError(ValueError):
    """Reminders cannot be sent as configured; the message says what to set."""


def due_listings(today):
    """Published listings last checked more than FRESHNESS_REMIND_AFTER_DAYS days before `today`, by
    organization (hidden ones included)."""
    return (
        Service.objects.listed()
        .not_checked_since(today - days_setting("FRESHNESS_REMIND_AFTER_DAYS"))
        .select_related("organization")
        .order_by("organization__name", "organization_id", "name", "pk")
    )


def partners_of(organization_ids):
    """{organization key: [user, ...]}: the active people with an email address who act for each organization
    (the partners app's memberships; nobody while that app is not installed)."""
    if not apps.is_installed("partners"):
        return {}
    membership = apps.get_model("partners", "Membership")
    found = {}
    rows = (
        membership.objects.filter(organization_id__in=organization_ids, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__email", "pk")
    )
    for row in rows:
        found.setdefault(row.organization_id, []).append(row.user)
    return found


def send_reminders(*, today=None, dry_run=False):
    """Email the reminders due on `today` (default: today) and record them; see the module's docstring."""
    today = today or timezone.localdate()
    if not dry_run and not (settings.SITE_URL or settings.FRESHNESS_CONFIRM_URL):
        raise ReminderError(
            "Set SITE_URL to the site's public address (e.g. https://directory.example.org): reminders link to "
            "the partner pages."
        )
    report = ReminderReport()
    due = {}
    for service in due_listings(today):
        due.setdefault(service.organization_id, []).append(service)
    report.organizations = len(due)
    report.listings = sum(len(listings) for listings in due.values())
    people = partners_of(list(due))
    window_start = today - datetime.timedelta(days=settings.FRESHNESS_REMIND_EVERY_DAYS)
    recent = {
        (organization_id, recipient.lower())
        for organization_id, recipient in ReminderSent.objects.filter(
            organization_id__in=list(due), sent_on__gt=window_start, sent_on__lte=today
        ).values_list("organization_id", "recipient")
    }
    connection = None if dry_run else get_connection()
    for organization_id, listings in due.items():
        organization = listings[0].organization
        if not people.get(organization_id):
            report.without_partners.append(organization)
            continue
        for user in people[organization_id]:
            if (organization_id, user.email.lower()) in recent:
                report.already_reminded += 1
                continue
            if dry_run:
                report.sent += 1
                continue
            try:
                _remind(connection, user, organization, listings, today)
            except Exception:  # one refused address must not stop the others; the next run tries it again
                logger.exception("Could not send the freshness reminder to %s", user.email)
                report.failed += 1
            else:
                report.sent += 1
    return report


def _remind(connection, user, organization, listings, today):
    context = {
        "user": user,
        "organization": organization,
        "listings": [(service, service.checked_on, _listing_link(service)) for service in listings],
        "partner_pages": _partner_pages(),
        "hide_after": settings.FRESHNESS_HIDE_AFTER_DAYS,
        "hidden_before": today - days_setting("FRESHNESS_HIDE_AFTER_DAYS"),
    }
    subject = f"Please confirm {organization.name}'s listings in the directory"
    body = render_to_string("resources/email/freshness_reminder.txt", context)
    # Recorded with the send, in one transaction: a reminder the mail server refused is not marked as sent.
    with transaction.atomic():
        reminder = ReminderSent.objects.create(
            organization=organization, user=user, recipient=user.email, sent_on=today
        )
        reminder.services.set(listings)
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection).send()


def _partner_pages():
    """Where partners confirm or update their listings: FRESHNESS_CONFIRM_URL, else the partner pages."""
    if settings.FRESHNESS_CONFIRM_URL:
        return settings.FRESHNESS_CONFIRM_URL
    try:
        path = reverse("partners:dashboard")
    except NoReverseMatch:
        path = "/partners/"
    return settings.SITE_URL + path


def _listing_link(service):
    if settings.FRESHNESS_CONFIRM_URL:
        return ""
    try:
        return settings.SITE_URL + reverse("partners:listing", kwargs={"uuid": service.uuid})
    except NoReverseMatch:
        return ""
