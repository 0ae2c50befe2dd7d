"""Staff invite partners by email: the link sets a password once, expires, and joins one organization only.
Approving an application lists the organization (through the importer) and invites its contact."""

import datetime
import re
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from partners import decisions, invitations
from partners.models import Application, Invitation, Membership
from resources.models import Organization

from .conftest import make_organization
from .partners_helpers import make_partner

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 7"


def link_in(message):
    found = re.search(r"http://testserver(/partners/invitation/[^/\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def organization(db):
    return make_organization(name="Safe Harbour")


@pytest.fixture
def invited(admin_client, organization):
    response = admin_client.post(
        "/admin/partners/invitation/add/",
        {"email": "Grace@Example.org", "organization": organization.pk, "role": "editor"},
    )
    assert response.status_code == HTTPStatus.FOUND
    admin_client.logout()
    return Invitation.objects.get()


def test_staff_invite_by_email_and_the_link_sets_a_password_once(client, invited, organization):
    (message,) = mail.outbox
    assert message.to == ["grace@example.org"]
    assert "Safe Harbour" in message.subject + message.body
    link = link_in(message)
    page = client.get(link)
    assert page.status_code == HTTPStatus.OK
    assert "Choose a password" in page.content.decode()

    response = client.post(link, {"name": "Grace", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/partners/"
    user = get_user_model().objects.get(email="grace@example.org")
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert Membership.objects.get(user=user).organization == organization
    assert client.get("/partners/").status_code == HTTPStatus.OK  # logged in

    client.logout()
    again = client.post(
        link, {"name": "Mallory", "password1": "another pass 123456", "password2": "another pass 123456"}
    )
    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert "already been used" in again.content.decode()
    assert get_user_model().objects.filter(email="grace@example.org").count() == 1
    assert client.login(username="grace@example.org", password=PASSWORD)


def test_an_invitation_expires(client, invited):
    Invitation.objects.filter(pk=invited.pk).update(created_at=timezone.now() - datetime.timedelta(days=8))
    response = client.post(link_in(mail.outbox[0]), {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "expired" in response.content.decode()
    assert not get_user_model().objects.filter(email="grace@example.org").exists()


def test_a_tampered_link_does_nothing(client, invited):
    link = link_in(mail.outbox[0])
    forged = link.replace("/invitation/", "/invitation/x")
    response = client.post(forged, {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "not a valid invitation" in response.content.decode()
    assert not Membership.objects.exists()


def test_a_bad_password_is_explained_and_the_link_still_works(client, invited):
    link = link_in(mail.outbox[0])
    for data, message in [
        ({"password1": "123", "password2": "123"}, "too short"),
        ({"password1": PASSWORD, "password2": PASSWORD + "x"}, "The two passwords differ"),
        ({"password1": "", "password2": ""}, "This field is required"),
        ({"name": "<script>x</script>", "password1": PASSWORD, "password2": PASSWORD}, "HTML tags"),
    ]:
        response = client.post(link, data)
        assert response.status_code == HTTPStatus.OK
        assert message in response.content.decode()
    assert not get_user_model().objects.filter(email="grace@example.org").exists()
    assert client.post(link, {"password1": PASSWORD, "password2": PASSWORD}).status_code == HTTPStatus.FOUND


def test_someone_with_an_account_accepts_by_logging_in(client, organization):
    other = make_organization(name="Other")
    existing = make_partner(other, email="grace@example.org")
    invitation = invitations.invite(
        email="grace@example.org", organization=organization, role="manager", by=None, site="http://testserver"
    )
    link = link_in(mail.outbox[0])
    page = client.get(link).content.decode()
    assert "Log in to accept" in page
    assert client.post(link, {"password1": PASSWORD, "password2": PASSWORD}).status_code == HTTPStatus.OK
    assert not existing.memberships.filter(organization=organization).exists()
    client.force_login(existing)
    assert client.post(link).status_code == HTTPStatus.FOUND
    assert existing.memberships.get(organization=organization).role == Membership.Role.MANAGER
    assert Invitation.objects.get(pk=invitation.pk).accepted_by == existing


def test_a_manager_invites_a_colleague_to_their_own_organization(client, organization):
    manager = make_partner(organization, role=Membership.Role.MANAGER)
    make_organization(name="Unrelated Org")
    client.force_login(manager)
    url = f"/partners/organizations/{organization.uuid}/team/"
    bad = client.post(url, {"email": "not an email", "role": "editor"})
    assert "Enter a valid email address" in bad.content.decode()
    assert not Invitation.objects.exists()
    response = client.post(url, {"email": "sam@example.org", "role": "editor"})
    assert response.status_code == HTTPStatus.FOUND
    (message,) = mail.outbox
    assert message.to == ["sam@example.org"]
    assert "Safe Harbour" in message.body
    assert "Unrelated Org" not in message.body
    assert Invitation.objects.get().organization == organization


def test_approving_an_application_lists_the_organization_and_invites_its_contact(client, admin_user, needs):
    application = Application.objects.create(
        organization_name="Safe Harbour Uganda",
        description="Shelter and legal help.",
        website="https://safeharbour.example.org",
        phone="+256414123456",
        country="UG",
        offers="Beds.",
        contact_name="Grace",
        contact_email="grace@example.org",
        accepts_referrals=True,
        serves_survivors=True,
        keeps_listings_current=True,
        confidentiality="Locked files.",
    )
    decisions.approve_application(application, by=admin_user, site="http://testserver")
    organization = Organization.objects.get(name="Safe Harbour Uganda")
    assert organization.phones.get().number == "+256414123456"
    application.refresh_from_db()
    assert (application.state, application.organization) == (Application.State.APPROVED, organization)
    assert {message.to[0] for message in mail.outbox} == {"grace@example.org"}
    invitation_mail = next(message for message in mail.outbox if "/partners/invitation/" in message.body)
    client.post(link_in(invitation_mail), {"password1": PASSWORD, "password2": PASSWORD})
    membership = Membership.objects.get(user__email="grace@example.org")
    assert (membership.organization, membership.role) == (organization, Membership.Role.MANAGER)
    with pytest.raises(decisions.DecisionError):
        decisions.approve_application(application, by=admin_user)
    assert Organization.objects.filter(name="Safe Harbour Uganda").count() == 1


def test_rejecting_an_application_writes_to_the_applicant(admin_user):
    application = Application.objects.create(
        organization_name="Maybe",
        description="?",
        country="US",
        offers="?",
        contact_name="Sam",
        contact_email="sam@example.org",
        accepts_referrals=True,
        serves_survivors=True,
        keeps_listings_current=True,
        confidentiality="?",
    )
    with pytest.raises(decisions.DecisionError):
        decisions.reject_application(application, by=admin_user, message="")
    decisions.reject_application(application, by=admin_user, message="We list only services for survivors.")
    (message,) = mail.outbox
    assert message.to == ["sam@example.org"]
    assert "only services for survivors" in message.body
    assert not Organization.objects.filter(name="Maybe").exists()
