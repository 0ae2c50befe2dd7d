"""A partner's proposal leaves the public listing alone until a curator approves it; approval publishes exactly
the proposal through the importer, all or nothing; rejection leaves the live listing untouched."""

import datetime
from http import HTTPStatus

import pytest
from django.core import mail
from django.utils import timezone

from partners import decisions, documents
from partners.models import Message, Proposal
from resources.models import Hotline, Phone, Service, ServiceArea

from .conftest import make_hotline, make_organization
from .partners_helpers import build_two_organizations, listing_data, make_partner

pytestmark = pytest.mark.django_db

# What a partner proposes, and so what approval must publish exactly.
PROPOSED = ["name", "description", "phones", "schedules", "service_areas", "languages", "attributes"]


@pytest.fixture
def world(needs, populations):
    return build_two_organizations(needs)


@pytest.fixture
def a(world):
    a = world["a"]
    a["proposal"].delete()  # start without an open change
    return a


def propose(client, a, **changes):
    client.force_login(a["partner"])
    data = listing_data(a["organization"], documents.live_document(a["service"]), **changes)
    response = client.post(f"/partners/listings/{a['service'].uuid}/propose-changes/", data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    return Proposal.objects.get(organization=a["organization"], state=Proposal.State.PENDING)


def public_page(client, service):
    client.logout()
    return client.get(f"/services/{service.uuid}/").content.decode()


def test_a_proposed_change_leaves_the_public_page_as_it_is_until_approved(client, a, admin_user, needs, populations):
    before = documents.live_document(a["service"])
    proposal = propose(
        client,
        a,
        name="Houston Legal Clinic",
        description="Free legal help.",
        populations=[str(populations["women"].uuid)],
        **{
            "phones-1-number": "+1 713 555 0123",
            "phones-1-type": "text",
            "phones-1-text_keyword": "HELP",
            "hours-0-days": ["MO", "WE"],
            "hours-0-opens_at": "09:00",
            "hours-0-closes_at": "17:00",
            "hours-0-timezone": "America/Chicago",
        },
    )
    page = public_page(client, a["service"])
    assert "Listing A" in page
    assert "Houston Legal Clinic" not in page
    assert documents.live_document(Service.objects.get(pk=a["service"].pk)) == before

    decisions.approve_proposal(proposal, by=admin_user)

    page = public_page(client, a["service"])
    assert "Houston Legal Clinic" in page
    assert "Listing A" not in page
    service = Service.objects.get(pk=a["service"].pk)
    assert service.is_public
    live = documents.live_document(service)
    proposed = documents.effective_document(Proposal.objects.get(pk=proposal.pk))
    for key in PROPOSED:
        assert live.get(key) == proposed.get(key), key
    assert [phone.number for phone in service.phones.order_by("pk")] == ["+17135550100", "+17135550123"]
    assert {term.code for term in service.terms.all()} == {"legal-aid", "women"}
    # The partner vouched for the listing when sending it.
    assert service.assured_date == timezone.localdate(proposal.submitted_at)
    assert service.assurer == a["partner"]


def test_removing_rows_in_a_change_removes_them_and_keeps_what_partners_do_not_edit(client, a, admin_user):
    make_hotline(a["service"], what_to_expect="Someone answers at once.")
    proposal = propose(client, a, **{"phones-0-DELETE": "on", "areas-0-DELETE": "on", "places-0-DELETE": "on"})
    # A curator edits the curators' field after the partner sent the proposal.
    Service.objects.filter(pk=a["service"].pk).update(alert="Closed on Friday")
    decisions.approve_proposal(proposal, by=admin_user)
    service = Service.objects.get(pk=a["service"].pk)
    assert not service.phones.exists()
    assert not service.service_areas.exists()
    assert not service.service_at_locations.exists()
    assert service.languages.get().code == "es"
    assert service.alert == "Closed on Friday"
    assert Hotline.objects.get(service=service).what_to_expect == "Someone answers at once."
    # The place still belongs to its organization; only the link to this listing went.
    a["place"].refresh_from_db()
    assert a["place"].organization == a["organization"]


def test_rejection_leaves_the_live_listing_untouched_and_tells_only_that_organization(
    client, world, a, admin_user, django_user_model
):
    colleague = make_partner(a["organization"])
    proposal = propose(client, a, name="Rejected name")
    before = documents.live_document(a["service"])
    mail.outbox.clear()
    decisions.reject_proposal(proposal, by=admin_user, message="We could not confirm the new name.")
    assert documents.live_document(Service.objects.get(pk=a["service"].pk)) == before
    assert Proposal.objects.get(pk=proposal.pk).state == Proposal.State.REJECTED
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted([a["partner"].email, colleague.email])
    for message in mail.outbox:
        assert "Organization A" in message.subject
        assert "could not confirm" in message.body
        assert "Organization B" not in message.body + message.subject
        assert "Listing B" not in message.body
    assert world["b"]["partner"].email not in recipients
    assert "We could not confirm the new name." in client.get("/partners/messages/").content.decode()


def test_rejecting_or_asking_for_changes_needs_a_message(client, a, admin_user):
    proposal = propose(client, a, name="Something")
    for answer in (decisions.reject_proposal, decisions.request_changes):
        with pytest.raises(decisions.DecisionError, match="message"):
            answer(proposal, by=admin_user, message="  ")
    assert Proposal.objects.get(pk=proposal.pk).state == Proposal.State.PENDING
    assert not Message.objects.filter(proposal=proposal).exists()


def test_asked_for_changes_the_partner_edits_and_sends_again(client, a, admin_user):
    proposal = propose(client, a, name="First try")
    decisions.request_changes(proposal, by=admin_user, message="Please add opening hours.")
    page = client.get(f"/partners/proposals/{proposal.uuid}/").content.decode()
    assert "Please add opening hours." in page
    assert "Changes asked for" in page
    # Proposing again from the listing leads to the open proposal, not a rival one.
    response = client.get(f"/partners/listings/{a['service'].uuid}/propose-changes/")
    assert response["Location"] == f"/partners/proposals/{proposal.uuid}/edit/"
    data = listing_data(a["organization"], Proposal.objects.get(pk=proposal.pk).document, name="Second try")
    data.update({"hours-0-open_24_7": "on", "hours-0-timezone": "America/Chicago"})
    response = client.post(f"/partners/proposals/{proposal.uuid}/edit/", data)
    assert response.status_code == HTTPStatus.FOUND
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.PENDING
    assert proposal.document["name"] == "Second try"
    assert Proposal.objects.filter(organization=a["organization"]).count() == 1
    decisions.approve_proposal(proposal, by=admin_user)
    service = Service.objects.get(pk=a["service"].pk)
    assert service.name == "Second try"
    assert service.schedules.get().open_24_7


def test_a_new_listing_is_published_only_on_approval(client, world, admin_user, needs):
    a = world["a"]
    client.force_login(a["partner"])
    data = listing_data(
        a["organization"],
        name="Night Shelter",
        description="Beds for women.",
        needs=[str(needs["emergency-shelter"].uuid)],
        languages="English, lg",
        **{
            "phones-0-number": "+256 414 123 456",
            "hours-0-open_24_7": "on",
            "hours-0-timezone": "Africa/Kampala",
            "areas-0-kind": "subdivision",
            "areas-0-region": "Kampala",
            "places-0-is_confidential": "on",
            "places-0-address_1": "Plot 9 Hidden Road",
            "places-0-city": "Kampala",
            "places-0-country": "Uganda",
        },
    )
    response = client.post(f"/partners/organizations/{a['organization'].uuid}/new-listing/", data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    proposal = Proposal.objects.get(kind=Proposal.Kind.NEW)
    assert not Service.objects.filter(name="Night Shelter").exists()
    assert "Night Shelter" not in client.get(f"/organizations/{a['organization'].uuid}/").content.decode()

    decisions.approve_proposal(proposal, by=admin_user)
    service = Service.objects.get(name="Night Shelter")
    assert service.organization == a["organization"]
    assert service.is_public
    assert service.phones.get().number == "+256414123456"
    assert service.service_areas.get().subdivision == "UG-102"
    assert sorted(service.languages.values_list("code", flat=True)) == ["en", "lg"]
    place = service.service_at_locations.get().location
    assert place.is_confidential
    assert place.organization == a["organization"]
    assert place.addresses.get().address_1 == "Plot 9 Hidden Road"
    assert "Plot 9 Hidden Road" not in public_page(client, service)
    assert Proposal.objects.get(pk=proposal.pk).service == service


def test_approval_is_all_or_nothing(world, a, admin_user):
    proposal = decisions.submit_proposal(
        organization=a["organization"],
        author=a["partner"],
        service=a["service"],
        document=documents.live_document(a["service"]) | {"name": "Broken"},
    )
    # The curators removed the vocabulary's term? Here: a phone number the importer refuses.
    document = proposal.document
    document["phones"] = [{"id": str(Phone.objects.get(service=a["service"]).uuid), "number": "12"}]
    Proposal.objects.filter(pk=proposal.pk).update(document=document)
    before = documents.live_document(a["service"])
    with pytest.raises(decisions.DecisionError, match="nothing was published"):
        decisions.approve_proposal(proposal, by=admin_user)
    assert documents.live_document(Service.objects.get(pk=a["service"].pk)) == before
    assert Proposal.objects.get(pk=proposal.pk).state == Proposal.State.PENDING
    assert not Message.objects.filter(proposal=proposal).exists()


def test_a_decided_proposal_is_not_decided_again(client, a, admin_user):
    proposal = propose(client, a, name="Once")
    decisions.approve_proposal(proposal, by=admin_user)
    with pytest.raises(decisions.DecisionError, match="no longer waiting"):
        decisions.reject_proposal(proposal, by=admin_user, message="Too late")
    response = client.post(f"/partners/proposals/{proposal.uuid}/edit/", {"name": "Twice"})
    assert response.status_code == HTTPStatus.FOUND
    assert Service.objects.get(pk=a["service"].pk).name == "Once"


def test_a_partner_withdraws_their_proposal(client, world):
    a = world["a"]
    client.force_login(a["partner"])
    response = client.post(f"/partners/proposals/{a['proposal'].uuid}/withdraw/")
    assert response.status_code == HTTPStatus.FOUND
    assert Proposal.objects.get(pk=a["proposal"].pk).state == Proposal.State.WITHDRAWN
    assert Service.objects.get(pk=a["service"].pk).name == "Listing A"


def test_confirming_a_listing_records_the_date_and_who(client, world):
    a = world["a"]
    Service.objects.filter(pk=a["service"].pk).update(assured_date=datetime.date(2020, 1, 1))
    client.force_login(a["partner"])
    response = client.post(f"/partners/listings/{a['service'].uuid}/confirm/")
    assert response.status_code == HTTPStatus.FOUND
    service = Service.objects.get(pk=a["service"].pk)
    assert service.assured_date == timezone.localdate()
    assert (service.assurer, service.assurer_email) == (a["partner"], a["partner"].email)
    assert client.get(f"/partners/listings/{a['service'].uuid}/confirm/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_an_unpublished_listing_is_not_confirmed(client, world):
    a = world["a"]
    Service.objects.filter(pk=a["service"].pk).update(review_state=Service.ReviewState.PENDING)
    client.force_login(a["partner"])
    client.post(f"/partners/listings/{a['service'].uuid}/confirm/")
    assert Service.objects.get(pk=a["service"].pk).assured_date is None


def test_the_partner_sees_every_review_state_of_its_listings(client, world):
    a = world["a"]
    organization = make_organization(name="Lonely")
    partner = make_partner(organization)
    client.force_login(partner)
    assert "No listings yet" in client.get("/partners/").content.decode()
    client.force_login(a["partner"])
    Service.objects.filter(pk=a["service"].pk).update(review_state=Service.ReviewState.ARCHIVED)
    page = client.get("/partners/").content.decode()
    assert "Listing A" in page
    assert "Archived" in page


def test_the_curator_sees_the_change_field_by_field(client, a, admin_client):
    proposal = propose(client, a, name="New name", **{"areas-0-region": "US-CA"})
    page = admin_client.get(f"/admin/partners/proposal/{proposal.pk}/review/").content.decode()
    assert "Live now" in page
    assert "Listing A" in page
    assert "New name" in page
    assert "Texas, United States" in page
    assert "California, United States" in page
    # Unchanged fields are not listed as differences.
    assert "Spanish" not in page.split("What would change")[1].split("</table>")[0]


def test_the_area_kinds_reach_the_listing(client, a, admin_user):
    proposal = propose(client, a, **{"areas-1-kind": "worldwide"})
    decisions.approve_proposal(proposal, by=admin_user)
    kinds = set(Service.objects.get(pk=a["service"].pk).service_areas.values_list("kind", flat=True))
    assert kinds == {ServiceArea.Kind.SUBDIVISION, ServiceArea.Kind.WORLDWIDE}
