"""Freshness: listings nobody checks are labelled, then leave the public directory, and their partners are
reminded (manage.py remind_partners), each reminder sent once."""

import datetime
import io
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from partners.models import Membership
from resources import review
from resources.hsds import export
from resources.models import Organization, ReminderSent, Service

from .conftest import make_organization, make_service

pytestmark = pytest.mark.django_db

# The frozen clock: noon on 1 June 2027 (UTC, the test time zone).
NOW = datetime.datetime(2027, 6, 1, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
SERVICES = "/admin/resources/service/"


@pytest.fixture
def frozen(monkeypatch):
    """Every timezone.now() (and so localdate()) of the code under test says NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return TODAY


def days_ago(days):
    return TODAY - datetime.timedelta(days=days)


def verified(days, **fields):
    """A published listing last verified `days` ago."""
    return make_service(assured_date=days_ago(days), **fields)


def never_verified(published_days_ago, **fields):
    """A published listing never verified, published `published_days_ago` days ago."""
    moment = NOW - datetime.timedelta(days=published_days_ago)
    return make_service(review_state_changed_at=moment, last_modified=moment, **fields)


def public_names():
    return set(Service.objects.published().values_list("name", flat=True))


# --- hidden after FRESHNESS_HIDE_AFTER_DAYS -----------------------------------------------------------------


def test_a_listing_leaves_the_public_directory_eighteen_months_after_its_last_check(frozen):
    verified(10, name="Fresh")
    verified(400, name="Stale but shown")
    verified(548, name="Checked 548 days ago")
    verified(549, name="Checked 549 days ago")
    never_verified(100, name="Never verified, published recently")
    never_verified(600, name="Never verified, published long ago")
    make_service(name="Never verified, changed long ago", last_modified=NOW - datetime.timedelta(days=600))
    make_service(name="Never verified, changed lately", last_modified=NOW - datetime.timedelta(days=30))
    assert public_names() == {
        "Fresh",
        "Stale but shown",
        "Checked 548 days ago",
        "Never verified, published recently",
        "Never verified, changed lately",
    }
    assert set(Service.objects.hidden_for_age().values_list("name", flat=True)) == {
        "Checked 549 days ago",
        "Never verified, published long ago",
        "Never verified, changed long ago",
    }


def test_a_later_publication_counts_over_an_old_verification(frozen):
    service = verified(600, name="Republished", review_state_changed_at=NOW - datetime.timedelta(days=5))
    assert service.checked_on == days_ago(5)
    assert public_names() == {"Republished"}


@override_settings(FRESHNESS_HIDE_AFTER_DAYS=30)
def test_the_hiding_age_is_a_setting(frozen):
    verified(29, name="Within a month")
    verified(31, name="Over a month")
    assert public_names() == {"Within a month"}


def test_verification_brings_a_hidden_listing_back(frozen):
    curator = get_user_model().objects.create_user("curator", "c@example.org", "x", is_staff=True)
    service = verified(700, name="Hidden")
    assert public_names() == set()
    review.verify(Service.objects.filter(pk=service.pk), by=curator)
    assert public_names() == {"Hidden"}
    service.refresh_from_db()
    assert (service.assured_date, service.assurer) == (TODAY, curator)


def test_publishing_again_brings_an_archived_listing_back(frozen):
    curator = get_user_model().objects.create_user("curator", "c@example.org", "x", is_staff=True)
    service = verified(700, name="Archived long ago", review_state=Service.ReviewState.ARCHIVED)
    review.publish(Service.objects.filter(pk=service.pk), by=curator)
    assert public_names() == {"Archived long ago"}


def test_a_hidden_listing_has_no_public_page_and_is_not_exported(frozen, client):
    organization = make_organization(name="Quiet org")
    hidden = verified(600, name="Old shelter", organization=organization)
    shown = verified(10, name="New shelter")
    assert client.get(hidden.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND
    assert client.get(shown.get_absolute_url()).status_code == HTTPStatus.OK
    assert client.get(f"/api/services/{hidden.uuid}").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"/organizations/{organization.uuid}/").status_code == HTTPStatus.NOT_FOUND
    assert [document["name"] for document in export.iter_documents()] == ["New shelter"]
    assert not Organization.objects.with_public_services().filter(pk=organization.pk).exists()


def test_a_hidden_listing_is_not_found_by_search_or_listed_by_the_api(frozen, client):
    verified(600, name="Old shelter")
    shown = verified(10, name="New shelter")
    page = client.get("/search/", {"q": "shelter"})
    assert "New shelter" in page.text
    assert "Old shelter" not in page.text
    listed = client.get("/api/services").json()["contents"]
    assert [item["id"] for item in listed] == [str(shown.uuid)]


# --- labelled after FRESHNESS_STALE_AFTER_DAYS --------------------------------------------------------------


def test_a_listing_not_verified_for_a_year_says_since_when(frozen, client):
    stale = verified(400, name="Stale clinic")
    fresh = verified(300, name="Fresh clinic")
    since = days_ago(400).strftime("%-d %B %Y")
    detail = client.get(stale.get_absolute_url()).text
    assert f"Not verified since {since}" in detail
    assert "Not verified since" not in client.get(fresh.get_absolute_url()).text
    results = client.get("/search/", {"q": "clinic"}).text
    assert results.count("Not verified since") == 1
    assert f"Not verified since {since}" in results


# --- curators see what went stale -----------------------------------------------------------------------


def test_curators_filter_listings_due_for_a_reminder_and_hidden_ones(frozen, admin_client):
    verified(10, name="Fresh")
    verified(340, name="Due")
    verified(600, name="Hidden")
    verified(600, name="Hidden draft", review_state=Service.ReviewState.DRAFT)

    def listed(value):
        response = admin_client.get(SERVICES, {"verified": value})
        assert response.status_code == HTTPStatus.OK
        return {service.name for service in response.context["cl"].queryset}

    assert listed("reminded") == {"Due", "Hidden"}
    assert listed("hidden") == {"Hidden"}
    assert listed("stale") == {"Hidden", "Hidden draft"}


# --- remind_partners ------------------------------------------------------------------------------------


def member(organization, username, *, email=None, active=True, role=Membership.Role.EDITOR):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.org" if email is None else email, "x", is_active=active
    )
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def partners(frozen, settings):
    """Organizations whose listings are of every age, with their people."""
    settings.SITE_URL = "https://directory.example.org"
    safe = make_organization(name="Safe Homes")
    member(safe, "amina", role=Membership.Role.MANAGER)
    member(safe, "bea")
    member(safe, "gone", active=False)
    member(safe, "no-email", email="")
    verified(100, name="Safe Homes hotline", organization=safe)
    verified(340, name="Safe Homes shelter", organization=safe)
    verified(400, name="Safe Homes legal desk", organization=safe)
    verified(600, name="Safe Homes old house", organization=safe)
    never_verified(340, name="Safe Homes drop-in", organization=safe)
    verified(400, name="Safe Homes draft", organization=safe, review_state=Service.ReviewState.DRAFT)
    verified(400, name="Safe Homes closed", organization=safe, status=Service.Status.DEFUNCT)

    fresh = make_organization(name="Fresh Start")
    member(fresh, "carl")
    verified(30, name="Fresh Start clinic", organization=fresh)
    verified(335, name="Fresh Start line", organization=fresh)  # due from tomorrow: more than 335 days

    lone = make_organization(name="Lone Line")
    member(lone, "dana")
    verified(336, name="Lone Line chat", organization=lone)

    make_organization(name="Nobody's")
    verified(400, name="Nobody's shelter", organization=Organization.objects.get(name="Nobody's"))
    return {"safe": safe, "fresh": fresh, "lone": lone}


def remind(*extra):
    out = io.StringIO()
    call_command("remind_partners", *extra, stdout=out)
    return out.getvalue()


def sent():
    return sorted((message.to[0], message.subject) for message in mail.outbox)


def test_each_partner_of_an_organization_with_listings_due_gets_one_email(partners):
    output = remind("--today", TODAY.isoformat())
    assert sent() == [
        ("amina@example.org", "Please confirm Safe Homes's listings in the directory"),
        ("bea@example.org", "Please confirm Safe Homes's listings in the directory"),
        ("dana@example.org", "Please confirm Lone Line's listings in the directory"),
    ]
    assert all(len(message.to) == 1 and not message.cc and not message.bcc for message in mail.outbox)
    body = next(message.body for message in mail.outbox if message.to == ["amina@example.org"])
    for due in ("Safe Homes shelter", "Safe Homes legal desk", "Safe Homes old house", "Safe Homes drop-in"):
        assert due in body
    for not_due in ("Safe Homes hotline", "Safe Homes draft", "Safe Homes closed", "Lone Line", "Fresh Start"):
        assert not_due not in body
    shelter = Service.objects.get(name="Safe Homes shelter")
    assert f"https://directory.example.org/partners/listings/{shelter.uuid}/" in body
    assert "no longer shown to the public" in body  # the old house is hidden
    assert "3 reminder(s) sent about 6 listing(s) of 3 organization(s)" in output
    assert "no partner to remind: Nobody's" in output
    reminder = ReminderSent.objects.get(recipient="dana@example.org")
    assert (reminder.sent_on, reminder.organization, list(reminder.services.all())) == (
        TODAY,
        partners["lone"],
        [Service.objects.get(name="Lone Line chat")],
    )


def test_running_again_the_same_day_sends_nothing_new(partners):
    remind("--today", TODAY.isoformat())
    remind("--today", TODAY.isoformat())
    assert len(mail.outbox) == 3
    output = remind()  # the frozen clock's today, without --today
    assert len(mail.outbox) == 3
    assert "0 reminder(s) sent" in output
    assert "3 person(s) reminded in the last 30 days left alone" in output
    assert ReminderSent.objects.count() == 3


def test_a_partner_is_reminded_again_a_month_later_until_the_listings_are_verified(partners):
    remind("--today", TODAY.isoformat())
    for organization in ("lone", "fresh"):
        partner = Membership.objects.filter(organization=partners[organization]).get().user
        review.verify(Service.objects.filter(organization=partners[organization]), by=partner, on=TODAY)
    mail.outbox.clear()
    remind("--today", (TODAY + datetime.timedelta(days=29)).isoformat())
    assert sent() == []
    remind("--today", (TODAY + datetime.timedelta(days=30)).isoformat())
    assert [to for to, _subject in sent()] == ["amina@example.org", "bea@example.org"]


def test_a_listing_reaching_the_reminder_age_later_brings_its_organization_in(partners):
    remind("--today", TODAY.isoformat())
    mail.outbox.clear()
    # Fresh Start's line was checked 335 days ago: due tomorrow.
    remind("--today", (TODAY + datetime.timedelta(days=1)).isoformat())
    assert sent() == [("carl@example.org", "Please confirm Fresh Start's listings in the directory")]


@override_settings(FRESHNESS_REMIND_AFTER_DAYS=20, FRESHNESS_REMIND_EVERY_DAYS=7)
def test_the_reminder_age_and_interval_are_settings(partners):
    remind("--today", TODAY.isoformat())
    assert "carl@example.org" in [to for to, _subject in sent()]
    mail.outbox.clear()
    remind("--today", (TODAY + datetime.timedelta(days=7)).isoformat())
    assert len(mail.outbox) == 4


def test_a_dry_run_sends_and_records_nothing(partners):
    output = remind("--dry-run", "--today", TODAY.isoformat())
    assert output.startswith("Dry run: 3 reminder(s) sent")
    assert mail.outbox == []
    assert not ReminderSent.objects.exists()


def test_a_refused_email_is_not_recorded_and_is_tried_again(partners, monkeypatch):
    from django.core.mail import EmailMessage

    real_send = EmailMessage.send

    def refuse_bea(self, *args, **kwargs):
        if self.to == ["bea@example.org"]:
            raise OSError("mailbox unavailable")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", refuse_bea)
    with pytest.raises(CommandError, match="1 reminder"):
        remind("--today", TODAY.isoformat())
    assert not ReminderSent.objects.filter(recipient="bea@example.org").exists()
    monkeypatch.setattr(EmailMessage, "send", real_send)
    remind("--today", TODAY.isoformat())
    assert [message.to for message in mail.outbox].count(["bea@example.org"]) == 1


def test_a_bad_date_is_refused_clearly(db):
    with pytest.raises(CommandError, match="--today must be a date"):
        remind("--today", "next tuesday")


def test_reminders_need_the_site_address_for_their_links(partners, settings):
    settings.SITE_URL = ""
    with pytest.raises(CommandError, match="Set SITE_URL"):
        remind("--today", TODAY.isoformat())
    assert mail.outbox == []
