"""Bad input to the partner forms is answered with clear messages, no 500 and no row written; text with
<script> that reached the data another way is shown as text on every page that displays it, the admin included."""

from http import HTTPStatus

import pytest

from partners import decisions, documents
from partners.models import Application, Correction, Message, Proposal
from resources.models import Service

from .partners_helpers import build_two_organizations, listing_data

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;"


@pytest.fixture
def world(needs):
    return build_two_organizations(needs)


@pytest.fixture
def a(client, world):
    a = world["a"]
    a["proposal"].delete()
    client.force_login(a["partner"])
    return a


BAD_LISTINGS = [
    ({"name": ""}, "This field is required"),
    ({"description": "x" * 102_400}, "at most 5000 characters"),
    ({"name": "n" * 400}, "at most 300 characters"),
    ({"description": SCRIPT}, "HTML tags"),
    ({"email": "nobody"}, "Enter a valid email address"),
    ({"minimum_age": "30", "maximum_age": "20"}, "maximum age must not be below"),
    ({"languages": "Klingonese"}, "not an ISO 639 language"),
    ({"phones-0-number": "+1 12"}, "not a valid phone number"),
    ({"phones-0-number": "call us"}, "not a phone number we can read"),
    ({"phones-1-number": "+17135550100", "phones-1-text_keyword": "HI"}, "Only a text line has a keyword"),
    ({"phones-0-country": "Atlantis"}, "not a country we know"),
    ({"areas-0-region": "Narnia"}, "We do not know the region"),
    ({"areas-0-kind": "subdivision", "areas-0-region": "Uganda"}, "not a country"),
    ({"areas-1-kind": "city", "areas-1-region": "US-TX"}, "Give the city"),
    ({"hours-0-days": ["MO"], "hours-0-opens_at": "09:00", "hours-0-closes_at": "09:00"}, "are the same"),
    ({"hours-0-days": ["MO"], "hours-0-opens_at": "09:00", "hours-0-timezone": "Mars/Base"}, "not a time zone"),
    ({"hours-0-opens_at": "25:99", "hours-0-days": ["MO"]}, "Enter a valid time"),
    ({"places-0-country": "Atlantis"}, "not a country we know"),
    ({"places-0-state_province": "Narnia"}, "We do not know “Narnia” in United States"),
    ({"places-0-city": ""}, "This field is required"),
    ({"places-0-transportation": SCRIPT}, "HTML tags"),
    ({"phones-TOTAL_FORMS": "5000"}, "Please submit at most 20 forms"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_LISTINGS)
def test_a_bad_change_is_explained_and_nothing_is_written(client, a, changes, message):
    before = documents.live_document(a["service"])
    data = listing_data(a["organization"], before, **changes)
    response = client.post(f"/partners/listings/{a['service'].uuid}/propose-changes/", data)
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not Proposal.objects.filter(organization=a["organization"]).exists()
    assert documents.live_document(Service.objects.get(pk=a["service"].pk)) == before


@pytest.mark.parametrize(("changes", "message"), BAD_LISTINGS[:8])
def test_a_bad_new_listing_is_explained_and_nothing_is_written(client, a, changes, message):
    data = listing_data(a["organization"], name="Fine name", **{"phones-0-number": "+1 713 555 0100"})
    data.update(changes)
    response = client.post(f"/partners/organizations/{a['organization'].uuid}/new-listing/", data)
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not Proposal.objects.filter(organization=a["organization"]).exists()
    assert Service.objects.count() == 2


def test_a_message_to_the_curators_must_be_plain_and_reasonable(client, a):
    for body, message in [("", "This field is required"), ("x" * 102_400, "at most 5000"), (SCRIPT, "HTML tags")]:
        response = client.post("/partners/messages/", {"organization": a["organization"].pk, "body": body})
        assert response.status_code == HTTPStatus.OK
        assert message in response.content.decode()
    assert not Message.objects.filter(from_curators=False).exists()


def test_a_blank_form_shows_the_listing_form(client, a):
    response = client.get(f"/partners/organizations/{a['organization'].uuid}/new-listing/")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    for label in ("Phone numbers", "Opening hours", "Where it is available", "Places to visit", "Help offered"):
        assert label in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_script_in_the_data_is_shown_as_text_everywhere(client, admin_client, world):
    a = world["a"]
    Service.objects.filter(pk=a["service"].pk).update(name=SCRIPT, description=SCRIPT)
    proposal = a["proposal"]
    Proposal.objects.filter(pk=proposal.pk).update(document=proposal.document | {"name": SCRIPT, "alert": SCRIPT})
    Message.objects.create(organization=a["organization"], body=SCRIPT, proposal=proposal)
    correction = Correction.objects.create(service=a["service"], what_is_wrong=SCRIPT, contact=SCRIPT)
    application = Application.objects.create(
        organization_name=SCRIPT,
        description=SCRIPT,
        country="US",
        offers=SCRIPT,
        contact_name=SCRIPT,
        contact_email="x@example.org",
        accepts_referrals=True,
        serves_survivors=True,
        keeps_listings_current=True,
        confidentiality=SCRIPT,
    )
    client.force_login(a["partner"])
    pages = {
        "dashboard": client.get("/partners/"),
        "listing": client.get(f"/partners/listings/{a['service'].uuid}/"),
        "proposal": client.get(f"/partners/proposals/{proposal.uuid}/"),
        "edit": client.get(f"/partners/proposals/{proposal.uuid}/edit/"),
        "messages": client.get("/partners/messages/"),
        "correction form": client.get(f"/services/{a['service'].uuid}/correction/"),
        "public page": client.get(f"/services/{a['service'].uuid}/"),
        "queue": admin_client.get("/admin/partners/reviewqueue/"),
        "proposal review": admin_client.get(f"/admin/partners/proposal/{proposal.pk}/review/"),
        "proposal admin": admin_client.get(f"/admin/partners/proposal/{proposal.pk}/change/"),
        "correction review": admin_client.get(f"/admin/partners/correction/{correction.pk}/review/"),
        "corrections": admin_client.get("/admin/partners/correction/"),
        "application review": admin_client.get(f"/admin/partners/application/{application.pk}/review/"),
        "application admin": admin_client.get(f"/admin/partners/application/{application.pk}/change/"),
        "messages admin": admin_client.get("/admin/partners/message/"),
    }
    for name, response in pages.items():
        assert response.status_code == HTTPStatus.OK, name
        page = response.content.decode()
        assert ESCAPED in page, name
        assert "<script>alert" not in page, name


def test_approving_a_proposal_with_markup_in_curator_fields_keeps_the_live_values(world, admin_user):
    """A document edited outside the forms cannot set the curators' fields (alert, verification)."""
    a = world["a"]
    proposal = a["proposal"]
    Proposal.objects.filter(pk=proposal.pk).update(
        document=proposal.document | {"alert": "Hacked", "assured_date": "2020-01-01", "review_state": "draft"}
    )
    decisions.approve_proposal(Proposal.objects.get(pk=proposal.pk), by=admin_user)
    service = Service.objects.get(pk=a["service"].pk)
    assert service.alert == ""
    assert service.review_state == Service.ReviewState.PUBLISHED
    assert service.assured_date != "2020-01-01"
