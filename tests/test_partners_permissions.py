"""A partner acts for its own organizations only: every other organization's listings, proposals, messages
and people are a 404, and nothing in a POST (an id, a review state, a "published" flag) reaches them."""

from http import HTTPStatus

import pytest
from django.core import mail

from partners import decisions, documents
from partners.models import Invitation, Membership, Message, Proposal
from resources.models import Phone, Service

from .partners_helpers import build_two_organizations, listing_data, make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(needs):
    return build_two_organizations(needs)


@pytest.fixture
def as_a(client, world):
    client.force_login(world["a"]["partner"])
    return client


def snapshot(world):
    """Everything of organization B a partner of A might try to change."""
    b = world["b"]
    service = Service.objects.get(pk=b["service"].pk)
    proposal = Proposal.objects.get(pk=b["proposal"].pk)
    return {
        "listing": documents.live_document(service),
        "review": (service.review_state, service.assured_date, service.assurer_id, service.last_modified),
        "proposal": (proposal.state, proposal.document, proposal.organization_id, proposal.service_id),
        "proposals": Proposal.objects.filter(organization=b["organization"]).count(),
        "messages": list(Message.objects.filter(organization=b["organization"]).values_list("pk", "body")),
        "memberships": list(Membership.objects.filter(organization=b["organization"]).values_list("pk", "role")),
        "invitations": Invitation.objects.filter(organization=b["organization"]).count(),
    }


def b_urls(world):
    b = world["b"]
    service, organization, proposal = b["service"].uuid, b["organization"].uuid, b["proposal"].uuid
    return [
        ("get", f"/partners/listings/{service}/"),
        ("post", f"/partners/listings/{service}/confirm/"),
        ("get", f"/partners/listings/{service}/propose-changes/"),
        ("post", f"/partners/listings/{service}/propose-changes/"),
        ("get", f"/partners/organizations/{organization}/new-listing/"),
        ("post", f"/partners/organizations/{organization}/new-listing/"),
        ("get", f"/partners/organizations/{organization}/team/"),
        ("post", f"/partners/organizations/{organization}/team/"),
        ("get", f"/partners/proposals/{proposal}/"),
        ("get", f"/partners/proposals/{proposal}/edit/"),
        ("post", f"/partners/proposals/{proposal}/edit/"),
        ("post", f"/partners/proposals/{proposal}/withdraw/"),
    ]


def test_a_partner_reaches_none_of_another_organizations_pages_and_changes_nothing(as_a, world):
    before = snapshot(world)
    b = world["b"]
    # Posts carry a complete, valid form, as if the partner had copied B's page.
    data = listing_data(b["organization"], documents.live_document(b["service"]), name="Taken over")
    data.update(email="someone@example.org", role="manager")
    for method, url in b_urls(world):
        response = getattr(as_a, method)(url, data)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, url)
    assert snapshot(world) == before
    assert mail.outbox == []


def test_anonymous_visitors_are_sent_to_the_login_and_change_nothing(client, world):
    before = snapshot(world)
    for method, url in [*b_urls(world), ("get", "/partners/"), ("get", "/partners/messages/")]:
        response = getattr(client, method)(url, {"body": "hello"})
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith("/partners/login/"), url
    assert snapshot(world) == before


def test_the_dashboard_and_messages_show_only_the_partners_own_organizations(as_a, world):
    dashboard = as_a.get("/partners/").content.decode()
    assert "Listing A" in dashboard
    assert "Proposed A" in dashboard
    assert "Listing B" not in dashboard
    assert "Organization B" not in dashboard
    assert "Proposed B" not in dashboard
    messages = as_a.get("/partners/messages/").content.decode()
    assert "Curators&#x27; note for A" in messages
    assert "note for B" not in messages


def test_a_message_cannot_be_sent_as_another_organization(as_a, world):
    before = snapshot(world)
    response = as_a.post("/partners/messages/", {"organization": world["b"]["organization"].pk, "body": "From A"})
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()
    assert not Message.objects.filter(body="From A").exists()
    assert snapshot(world) == before


def test_an_editor_does_not_manage_people_and_a_manager_only_their_own(client, world):
    a = world["a"]
    client.force_login(a["partner"])
    assert client.get(f"/partners/organizations/{a['organization'].uuid}/team/").status_code == HTTPStatus.NOT_FOUND
    manager = make_partner(a["organization"], role=Membership.Role.MANAGER)
    client.force_login(manager)
    assert client.get(f"/partners/organizations/{a['organization'].uuid}/team/").status_code == HTTPStatus.OK
    url = f"/partners/organizations/{world['b']['organization'].uuid}/team/"
    assert client.post(url, {"email": "x@example.org", "role": "manager"}).status_code == HTTPStatus.NOT_FOUND
    assert not Invitation.objects.exists()


def test_forged_fields_in_a_proposal_change_nothing_they_should_not(as_a, world, admin_user):
    a, b = world["a"], world["b"]
    b_phone = Phone.objects.get(service=b["service"])
    before = snapshot(world)
    a["proposal"].delete()  # no open change, so the form starts from the live listing
    data = listing_data(a["organization"], documents.live_document(a["service"]), name="A, renamed")
    data.update(
        {
            "organization": b["organization"].pk,
            "organization_id": str(b["organization"].uuid),
            "review_state": "published",
            "published": "1",
            "state": "approved",
            # A new phone row claiming the id of B's phone.
            "phones-1-id": str(b_phone.uuid),
            "phones-1-number": "+1 713 555 0199",
        }
    )
    response = as_a.post(f"/partners/listings/{a['service'].uuid}/propose-changes/", data)
    assert response.status_code == HTTPStatus.FOUND
    proposal = Proposal.objects.get(organization=a["organization"], state=Proposal.State.PENDING)
    assert proposal.service == a["service"]
    assert "review_state" not in proposal.document
    assert str(b_phone.uuid) not in str(proposal.document)
    # Nothing is public before a curator decides.
    assert Service.objects.get(pk=a["service"].pk).name == "Listing A"
    decisions.approve_proposal(proposal, by=admin_user)
    b_phone.refresh_from_db()
    assert (b_phone.service_id, b_phone.number) == (b["service"].pk, "+12145550100")
    assert Service.objects.get(pk=a["service"].pk).organization == a["organization"]
    assert snapshot(world) == before


def test_a_document_naming_another_listings_rows_is_not_approved(world, admin_user):
    a, b = world["a"], world["b"]
    proposal = a["proposal"]
    document = dict(proposal.document)
    document["phones"] = [{"id": str(Phone.objects.get(service=b["service"]).uuid), "number": "+17135550111"}]
    Proposal.objects.filter(pk=proposal.pk).update(document=document)
    before = snapshot(world)
    with pytest.raises(decisions.DecisionError, match="another listing"):
        decisions.approve_proposal(proposal, by=admin_user)
    assert snapshot(world) == before
    assert Proposal.objects.get(pk=proposal.pk).state == Proposal.State.PENDING


def test_partners_reach_no_admin_page(client, world):
    client.force_login(world["a"]["partner"])
    proposal = world["b"]["proposal"]
    before = snapshot(world)
    urls = [
        "/admin/",
        "/admin/partners/reviewqueue/",
        "/admin/partners/proposal/",
        f"/admin/partners/proposal/{proposal.pk}/review/",
        f"/admin/partners/proposal/{world['a']['proposal'].pk}/review/",
        "/admin/partners/message/",
        "/admin/resources/service/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert "/admin/login/" in response["Location"], url
    response = client.post(f"/admin/partners/proposal/{proposal.pk}/review/", {"decision": "approve"})
    assert response.status_code == HTTPStatus.FOUND
    assert "/admin/login/" in response["Location"]
    assert snapshot(world) == before


def test_staff_without_the_partner_permissions_cannot_decide(client, world, django_user_model):
    staff = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    client.force_login(staff)
    proposal = world["b"]["proposal"]
    assert client.get("/admin/partners/reviewqueue/").status_code == HTTPStatus.FORBIDDEN
    response = client.post(f"/admin/partners/proposal/{proposal.pk}/review/", {"decision": "approve"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Proposal.objects.get(pk=proposal.pk).state == Proposal.State.PENDING
