"""The writes of the partner workflow: submitting, approving, rejecting, asking for changes, and the rest.

Plain functions with keyword-only arguments, each in one transaction, called by the partner pages and the
admin alike. Approving a proposal imports its HSDS document through the importer (the same code as
`manage.py import_hsds`), so a proposal publishes exactly as an HSDS file would; the live listing is not
touched before that, and a failure leaves nothing half-written.

Emails go after the transaction, so nobody is told of a decision that did not happen.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from resources import review
from resources.models import Organization, Service, ServiceTerm

from . import documents, invitations, mail
from .models import Application, Correction, Invitation, Membership, Message, Proposal


class DecisionError(ValueError):
    """Raised with a message fit to show the curator."""


def _now():
    return timezone.now()


# --- proposals --------------------------------------------------------------------------------------------


def submit_proposal(*, organization, author, document, service=None, proposal=None):
    """A new proposal, or a partner's new version of their open one; either waits for review."""
    now = _now()
    with transaction.atomic():
        if proposal is None:
            proposal = Proposal(
                organization=organization,
                kind=Proposal.Kind.CHANGE if service is not None else Proposal.Kind.NEW,
                service=service,
                author=author,
                created_at=now,
                base_modified=service.last_modified if service is not None else None,
            )
        else:
            proposal = Proposal.objects.select_for_update().get(pk=proposal.pk, organization=organization)
            if not proposal.is_open:
                raise DecisionError(gettext("This proposal has been decided and can no longer be changed."))
            proposal.author = author
        proposal.document = document
        proposal.state = Proposal.State.PENDING
        proposal.submitted_at = now
        proposal.save()
    return proposal


def withdraw_proposal(proposal, *, by):
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if not proposal.is_open:
            raise DecisionError(gettext("This proposal has been decided already."))
        proposal.state = Proposal.State.WITHDRAWN
        proposal.decided_at, proposal.decided_by = _now(), by
        proposal.save(update_fields=["state", "decided_at", "decided_by"])
    return proposal


def _remove_rows_left_out(service, document):
    """A change lists every phone, hours, area, language, term (of our vocabularies) and place the listing
    keeps; those of the live listing it leaves out go."""
    for key, model in documents.SERVICE_LISTS:
        rows = model.objects.filter(service=service)
        if model is ServiceTerm:
            rows = rows.filter(taxonomy_term__taxonomy__slug__in=documents.VOCABULARIES)
        rows.exclude(uuid__in=documents.ids_of(document, key)).delete()


def _open(model, pk, states):
    obj = model.objects.select_for_update().get(pk=pk)
    if obj.state not in states:
        raise DecisionError(f"This is no longer waiting for review: it is “{obj.get_state_display().lower()}”.")
    return obj


def approve_proposal(proposal, *, by, message="", site=""):
    """Publish the proposal: import its document and publish the listing, all or nothing."""
    with transaction.atomic():
        proposal = _open(Proposal, proposal.pk, [Proposal.State.PENDING])
        document = documents.effective_document(proposal)
        problems = documents.foreign_rows(document, organization=proposal.organization, service=proposal.service)
        if problems:
            raise DecisionError("This proposal cannot be approved: " + "; ".join(problems) + ".")
        if proposal.kind == Proposal.Kind.CHANGE:
            _remove_rows_left_out(proposal.service, document)
        from resources.hsds import importer  # late: it loads the JSON Schema checker (2 s)

        # The history credits the curator who approved, as a partner's proposal.
        report = importer.import_documents([document], by=by, label="partner proposal")
        if report.invalid:
            faults = "; ".join(fault for invalid in report.invalid for fault in invalid.faults)
            raise DecisionError(f"The proposed listing breaks our rules, so nothing was published: {faults}")
        listing = Service.objects.filter(uuid=document["id"])
        review.publish(listing, by=by)
        if proposal.author_id is not None:
            # The partner stated the listing was accurate when they sent it.
            review.mark_verified(listing, by=proposal.author, on=timezone.localdate(proposal.submitted_at))
        proposal.service = listing.get()
        proposal.state = Proposal.State.APPROVED
        proposal.decided_at, proposal.decided_by = _now(), by
        proposal.save(update_fields=["service", "state", "decided_at", "decided_by"])
        note = message.strip() or f"“{proposal.name}” is approved and published."
        sent = Message.objects.create(organization=proposal.organization, proposal=proposal, sender=by, body=note)
    mail.to_organization(proposal.organization, body=sent.body, site=site)
    return proposal


def _answer(proposal, *, state, by, message, site):
    if not (message or "").strip():
        raise DecisionError("Write a message to the partner saying why.")
    with transaction.atomic():
        proposal = _open(Proposal, proposal.pk, [Proposal.State.PENDING])
        proposal.state = state
        proposal.decided_at, proposal.decided_by = _now(), by
        proposal.save(update_fields=["state", "decided_at", "decided_by"])
        sent = Message.objects.create(
            organization=proposal.organization, proposal=proposal, sender=by, body=message.strip()
        )
    mail.to_organization(proposal.organization, body=sent.body, site=site)
    return proposal


def reject_proposal(proposal, *, by, message, site=""):
    """Refuse the proposal; the live listing stays as it is."""
    return _answer(proposal, state=Proposal.State.REJECTED, by=by, message=message, site=site)


def request_changes(proposal, *, by, message, site=""):
    """Send the proposal back to the partner to change and send again."""
    return _answer(proposal, state=Proposal.State.CHANGES_REQUESTED, by=by, message=message, site=site)


# --- applications -----------------------------------------------------------------------------------------


def _organization_document(application):
    document = {
        "id": documents.new_id(),
        "name": application.organization_name,
        "description": application.description,
    }
    for name in ("alternate_name", "website", "email"):
        if getattr(application, name):
            document[name] = getattr(application, name)
    document["phones"] = (
        [{"id": documents.new_id(), "number": application.phone}] if application.phone else []
    )  # an empty list also tells the importer this is an organization
    return document


def approve_application(application, *, by, message="", site=""):
    """List the organization (through the importer, like any HSDS organization) and invite its contact as
    the organization's manager."""
    states = [Application.State.PENDING, Application.State.CHANGES_REQUESTED]
    with transaction.atomic():
        application = _open(Application, application.pk, states)
        document = _organization_document(application)
        from resources.hsds import importer  # late: it loads the JSON Schema checker (2 s)

        report = importer.import_documents([document])
        if report.invalid:
            faults = "; ".join(fault for invalid in report.invalid for fault in invalid.faults)
            raise DecisionError(f"The organization could not be created: {faults}")
        organization = Organization.objects.get(uuid=document["id"])
        invitation = Invitation.objects.create(
            email=application.contact_email.lower(),
            organization=organization,
            role=Membership.Role.MANAGER,
            invited_by=by,
        )
        application.state = Application.State.APPROVED
        application.organization = organization
        application.decided_at, application.decided_by = _now(), by
        application.save(update_fields=["state", "organization", "decided_at", "decided_by"])
    note = message.strip() or "Your organization is approved. We have sent you a link to set your password."
    mail.to_applicant(application, body=note)
    invitations.send(invitation, site=site)
    return application


def _answer_application(application, *, state, by, message):
    if not (message or "").strip():
        raise DecisionError("Write a message to the applicant saying why.")
    with transaction.atomic():
        application = _open(Application, application.pk, [Application.State.PENDING])
        application.state = state
        application.decided_at, application.decided_by = _now(), by
        application.save(update_fields=["state", "decided_at", "decided_by"])
    mail.to_applicant(application, body=message.strip())
    return application


def reject_application(application, *, by, message):
    return _answer_application(application, state=Application.State.REJECTED, by=by, message=message)


def request_application_changes(application, *, by, message):
    """Ask the applicant (by email) for what is missing; a curator updates the application with the answer."""
    return _answer_application(application, state=Application.State.CHANGES_REQUESTED, by=by, message=message)


def reopen_application(application, *, by):
    """The applicant answered: back into the queue."""
    with transaction.atomic():
        application = _open(Application, application.pk, [Application.State.CHANGES_REQUESTED])
        application.state = Application.State.PENDING
        application.save(update_fields=["state"])
    return application


# --- corrections and messages -----------------------------------------------------------------------------


def close_correction(correction, *, by, state):
    with transaction.atomic():
        correction = _open(Correction, correction.pk, [Correction.State.PENDING])
        correction.state = state
        correction.decided_at, correction.decided_by = _now(), by
        correction.save(update_fields=["state", "decided_at", "decided_by"])
    return correction


def forward_correction(correction, *, by, site=""):
    """Pass a correction on to the listing's organization (without the sender's contact, which was given to
    us) and close it."""
    service = correction.service
    body = f"Someone suggested a correction to “{service.name}”:\n\n{correction.what_is_wrong}"
    with transaction.atomic():
        correction = close_correction(correction, by=by, state=Correction.State.RESOLVED)
        Message.objects.create(organization=service.organization, sender=by, body=body)
    mail.to_organization(service.organization, body=body, site=site)
    return correction


def send_message(message, *, site=""):
    """Save a message (built by a view or the admin); a curators' message is emailed to the organization."""
    message.body = message.body.strip()
    message.save()
    if message.from_curators:
        mail.to_organization(message.organization, body=message.body, site=site)
    return message
