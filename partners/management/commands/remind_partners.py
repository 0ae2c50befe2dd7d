"""Daily: remind partners to confirm listings nobody has checked for a while (resources/freshness.py)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from resources.freshness import ReminderError, send_reminders


class Command(BaseCommand):
    help = (
        "Email each partner of an organization whose published listings were not checked for "
        "FRESHNESS_REMIND_AFTER_DAYS days a link to confirm or update them. Meant to run daily: each person "
        "is reminded about an organization at most once every FRESHNESS_REMIND_EVERY_DAYS days, so running "
        "it again the same day sends nothing new. Exit status 1 when some reminders could not be sent (the "
        "next run tries them again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Act as if today were this date (YYYY-MM-DD), e.g. to catch up.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be sent; send and record nothing.")

    def handle(self, *args, today=None, dry_run=False, **options):
        if today is not None:
            try:
                today = datetime.date.fromisoformat(today)
            except ValueError:
                raise CommandError(f"--today must be a date such as 2026-11-23, not {today!r}.") from None
        try:
            report = send_reminders(today=today, dry_run=dry_run)
        except ReminderError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(("Dry run: " if dry_run else "") + str(report))
        for organization in report.without_partners:
            self.stdout.write(f"  no partner to remind: {organization.name} ({organization.uuid})")
        if report.failed:
            raise CommandError(f"{report.failed} reminder(s) could not be sent; run again to retry them.")
