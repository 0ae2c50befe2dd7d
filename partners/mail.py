"""The emails partners and applicants receive. Each names one organization only, goes to the people of that
organization only (one message per person, so no one sees the others' addresses), and carries no listing
data beyond the organization's name: the link leads to the partner pages, behind a login."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection, send_mail
from django.core.mail.message import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse


def _send_each(subject, body, recipients):
    messages = [
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        for recipient in sorted(set(recipients))
        if recipient
    ]
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


def members_of(organization):
    """Addresses of the active people of one organization."""
    users = get_user_model().objects.filter(memberships__organization=organization, is_active=True)
    return list(users.exclude(email="").values_list("email", flat=True))


def invitation(invitation, *, accept_url):
    context = {"invitation": invitation, "accept_url": accept_url}
    subject = f"Invitation to keep {invitation.organization.name}'s listings current"
    body = render_to_string("partners/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def to_organization(organization, *, body, site):
    """A curators' message to the people of one organization."""
    context = {"organization": organization, "body": body, "link": site + reverse("partners:messages")}
    text = render_to_string("partners/email/message.txt", context)
    return _send_each(
        f"A message from the directory's curators for {organization.name}", text, members_of(organization)
    )


def to_applicant(application, *, body):
    context = {"application": application, "body": body}
    text = render_to_string("partners/email/application.txt", context)
    subject = f"Your application to list {application.organization_name}"
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [application.contact_email])
