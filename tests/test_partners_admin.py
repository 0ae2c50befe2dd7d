"""The curators' queue: applications, proposed listings, proposed changes and corrections in one list, oldest
first, each with a review page to approve, reject with a message, or ask for changes."""

import datetime
from http import HTTPStatus

import pytest
from django.core import mail
from django.utils import timezone

from partners import decisions, documents
from partners.models import Application, Correction, Message, Proposal
from resources.models import Service

from .partners_helpers import build_two_organizations

pytestmark = pytest.mark.django_db

QUEUE = "/admin/partners/reviewqueue/"


@pytest.fixture
def world(needs):
    return build_two_organizations(needs)


def make_application(name="Safe Harbour", **fields):
    values = {
        "organization_name": name,
        "description": "Helps survivors.",
        "country": "US",
        "offers": "Beds.",
        "contact_name": "Grace",
        "contact_email": "grace@example.org",
        "accepts_referrals": True,
        "serves_survivors": True,
        "keeps_listings_current": True,
        "confidentiality": "Locked files.",
    }
    values.update(fields)
    return Application.objects.create(**values)


def test_the_queue_lists_every_kind_oldest_first(admin_client, world):
    a, b = world["a"], world["b"]
    now = timezone.now()
    new = decisions.submit_proposal(
        organization=a["organization"],
        author=a["partner"],
        document=documents.live_document(a["service"]) | {"id": documents.new_id(), "name": "Brand new"},
    )
    moments = {
        "application": now - datetime.timedelta(days=4),
        "change B": now - datetime.timedelta(days=3),
        "correction": now - datetime.timedelta(days=2),
        "new": now - datetime.timedelta(days=1),
        "change A": now,
    }
    make_application(created_at=moments["application"])
    Proposal.objects.filter(pk=b["proposal"].pk).update(submitted_at=moments["change B"])
    Correction.objects.create(service=a["service"], what_is_wrong="Closed now", created_at=moments["correction"])
    Proposal.objects.filter(pk=new.pk).update(submitted_at=moments["new"])
    Proposal.objects.filter(pk=a["proposal"].pk).update(submitted_at=moments["change A"])
    # Decided items are not waiting.
    make_application(name="Old decided", state=Application.State.REJECTED, decided_at=now)

    page = admin_client.get(QUEUE).content.decode()
    order = ["Safe Harbour", "Proposed B", "Listing A", "Brand new", "Proposed A"]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    for kind in ("Application", "Proposed change", "Correction", "Proposed listing"):
        assert kind in page
    assert "Old decided" not in page
    assert "review queue" in admin_client.get("/admin/").content.decode().lower()


def test_a_curator_decides_from_the_review_page(admin_client, world):
    a, b = world["a"], world["b"]
    url = f"/admin/partners/proposal/{a['proposal'].pk}/review/"
    page = admin_client.get(url).content.decode()
    assert "Approve and publish" in page
    assert "Proposed A" in page
    assert "Listing A" in page

    refused = admin_client.post(url, {"decision": "reject", "message": ""}, follow=True)
    assert "Write a message" in refused.content.decode()
    assert Proposal.objects.get(pk=a["proposal"].pk).state == Proposal.State.PENDING

    response = admin_client.post(url, {"decision": "approve", "message": ""})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == QUEUE
    assert Service.objects.get(pk=a["service"].pk).name == "Proposed A"
    assert Message.objects.filter(proposal=a["proposal"], body__contains="approved").exists()

    url = f"/admin/partners/proposal/{b['proposal'].pk}/review/"
    admin_client.post(url, {"decision": "changes", "message": "Add the hours, please."})
    assert Proposal.objects.get(pk=b["proposal"].pk).state == Proposal.State.CHANGES_REQUESTED
    assert Service.objects.get(pk=b["service"].pk).name == "Listing B"
    assert any("Add the hours" in message.body and message.to == [b["partner"].email] for message in mail.outbox)
    assert [item["title"] for item in admin_client.get(QUEUE).context["items"]] == []


def test_corrections_are_closed_or_passed_on_without_the_senders_contact(admin_client, world):
    a = world["a"]
    first = Correction.objects.create(service=a["service"], what_is_wrong="Moved to Elm St", contact="me@example.org")
    second = Correction.objects.create(service=a["service"], what_is_wrong="Spam")
    admin_client.post(f"/admin/partners/correction/{first.pk}/review/", {"decision": "forward"})
    admin_client.post(f"/admin/partners/correction/{second.pk}/review/", {"decision": "dismiss"})
    assert Correction.objects.get(pk=first.pk).state == Correction.State.RESOLVED
    assert Correction.objects.get(pk=second.pk).state == Correction.State.DISMISSED
    forwarded = Message.objects.get(body__contains="Moved to Elm St")
    assert forwarded.organization == a["organization"]
    assert "me@example.org" not in forwarded.body
    assert all("me@example.org" not in message.body for message in mail.outbox)
    assert [message.to for message in mail.outbox] == [[a["partner"].email]]


def test_an_application_is_approved_from_the_review_page(admin_client):
    application = make_application()
    response = admin_client.post(f"/admin/partners/application/{application.pk}/review/", {"decision": "approve"})
    assert response.status_code == HTTPStatus.FOUND
    application.refresh_from_db()
    assert application.state == Application.State.APPROVED
    assert application.organization.name == "Safe Harbour"


def test_curators_write_to_a_partner_organization(admin_client, world):
    a = world["a"]
    response = admin_client.post(
        "/admin/partners/message/add/", {"organization": a["organization"].pk, "body": "Please confirm by Friday."}
    )
    assert response.status_code == HTTPStatus.FOUND
    message = Message.objects.get(body="Please confirm by Friday.")
    assert message.from_curators
    (email,) = mail.outbox
    assert email.to == [a["partner"].email]
    assert "Please confirm by Friday." in email.body
