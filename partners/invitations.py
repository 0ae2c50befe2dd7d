"""Inviting a person to act for an organization: an emailed one-time link to set a password.

The link's token is the invitation's id and nonce, signed with a timestamp (django.core.signing): it cannot be
guessed or altered, it stops working after INVITATION_LIFETIME, and once accepted (accepted_at is set) it
never works again.
"""

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from . import mail
from .models import INVITATION_LIFETIME, Invitation, Membership

SALT = "partners.invitation"


class InvalidInvitation(ValueError):
    """Raised with a message fit to show the person who opened the link."""


def token_for(invitation):
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SALT)


def invite(*, email, organization, role, by, site):
    """Create an invitation and email its link. `site` is the scheme and host the link starts with."""
    invitation = Invitation.objects.create(
        email=email.strip().lower(), organization=organization, role=role, invited_by=by
    )
    send(invitation, site=site)
    return invitation


def send(invitation, *, site):
    accept_url = site + reverse("partners:accept-invitation", kwargs={"token": token_for(invitation)})
    mail.invitation(invitation, accept_url=accept_url)


def from_token(token):
    """The open invitation a link names, or InvalidInvitation saying why not."""
    try:
        data = signing.loads(token, salt=SALT, max_age=INVITATION_LIFETIME)
    except signing.SignatureExpired:
        raise InvalidInvitation(
            gettext("This invitation has expired. Ask the curators, or your colleague, for a new one.")
        ) from None
    except signing.BadSignature:
        raise InvalidInvitation(
            gettext("This link is not a valid invitation. Check that it was copied whole.")
        ) from None
    invitation = Invitation.objects.select_related("organization").filter(pk=data.get("i"), nonce=data.get("n")).first()
    if invitation is None:
        raise InvalidInvitation(gettext("This invitation was withdrawn."))
    if invitation.accepted_at is not None:
        raise InvalidInvitation(gettext("This invitation has already been used. Log in with the password you chose."))
    if not invitation.is_open:
        raise InvalidInvitation(
            gettext("This invitation has expired. Ask the curators, or your colleague, for a new one.")
        )
    return invitation


def existing_user(invitation):
    """The account that already has the invited address, if any (they accept by logging in)."""
    return get_user_model().objects.filter(email__iexact=invitation.email).order_by("pk").first()


def accept(invitation, *, user=None, name="", password=None):
    """Join the organization: as `user` (logged in), or as a new account with the password. Works once."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_open:
            raise InvalidInvitation(gettext("This invitation has already been used or has expired."))
        if user is None:
            user_model = get_user_model()
            user = user_model(username=invitation.email, email=invitation.email, first_name=name[:150])
            user.set_password(password)
            user.save()
        membership, created = Membership.objects.get_or_create(
            user=user, organization=invitation.organization, defaults={"role": invitation.role}
        )
        if not created and invitation.role == Membership.Role.MANAGER and membership.role != invitation.role:
            membership.role = invitation.role
            membership.save(update_fields=["role"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user
