"""The emails partners and applicants receive. Each names one organization only, goes to the people of that
organization only (one message per person, so no one sees the others' addresses), and carries no listing
data beyond the organization's name: the link leads to the partner pages, behind a login.

An email is written in the language active when it is sent. An invitation a manager sends from the team page
is in the language of that page (and its link leads to the pages in that language); what the curators send
from the admin, which runs in English, is in English: nothing records which language a partner reads.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection, send_mail
from django.core.mail.message import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext


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
    subject = gettext("Invitation to keep %(organization)s's listings current") % {
        "organization": invitation.organization.name
    }
    body = render_to_string("partners/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def to_organization(organization, *, body, site):
    """A curators' message to the people of one organization."""
    context = {"organization": organization, "body": body, "link": site + reverse("partners:messages")}
    text = render_to_string("partners/email/message.txt", context)
    return _send_each(
        gettext("A message from the directory's curators for %(organization)s") % {"organization": organization.name},
        text,
        members_of(organization),
    )


def to_applicant(application, *, body):
    context = {"application": application, "body": body}
    text = render_to_string("partners/email/application.txt", context)
    subject = gettext("Your application to list %(organization)s") % {"organization": application.organization_name}
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [application.contact_email])
