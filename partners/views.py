"""The partner pages, and the two public forms (suggest a correction, list your organisation).

Every query a partner page runs starts from the partner's own organizations (`Organization.objects.filter(
memberships__user=...)`), so anything else is a 404; nothing in a POST says which organization, listing,
review state or publication a write concerns.
"""

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from resources import review
from resources.models import Organization, Service

from . import antispam, decisions, documents, invitations
from .forms import ApplicationForm, CorrectionForm, InviteForm, ListingEditor, MessageForm, SetPasswordForm
from .models import Membership, Message, Proposal

partner_required = login_required(login_url=reverse_lazy("partners:login"))


def site_of(request):
    """Scheme and host for links in emails, as this request reached us (ALLOWED_HOSTS vouches for the host)."""
    return request.build_absolute_uri("/").rstrip("/")


def my_organizations(request):
    return Organization.objects.filter(memberships__user=request.user)


def my_services(request):
    return Service.objects.filter(organization__in=my_organizations(request))


def my_proposals(request):
    return Proposal.objects.filter(organization__in=my_organizations(request))


# --- the partner's own pages ------------------------------------------------------------------------------


@require_safe
@partner_required
def dashboard(request):
    services = Service.objects.order_by("name", "pk")
    open_proposals = Proposal.objects.filter(state__in=Proposal.OPEN_STATES).order_by("submitted_at")
    organizations = (
        my_organizations(request)
        .prefetch_related(Prefetch("services", queryset=services), Prefetch("proposals", queryset=open_proposals))
        .order_by("name")
    )
    managed = set(
        Membership.objects.filter(user=request.user, role=Membership.Role.MANAGER).values_list(
            "organization", flat=True
        )
    )
    latest = Message.objects.filter(organization__in=my_organizations(request), from_curators=True).first()
    context = {"organizations": organizations, "managed": managed, "latest_message": latest}
    return render(request, "partners/dashboard.html", context)


@require_safe
@partner_required
def listing(request, uuid):
    service = get_object_or_404(my_services(request).select_related("organization"), uuid=uuid)
    proposals = service.proposals.order_by("-submitted_at")
    return render(request, "partners/listing.html", {"service": service, "proposals": proposals})


@require_POST
@partner_required
def confirm_listing(request, uuid):
    service = get_object_or_404(my_services(request), uuid=uuid)
    if service.review_state != Service.ReviewState.PUBLISHED:
        messages.error(
            request, gettext("Only a published listing can be confirmed; this one is still with the curators.")
        )
    else:
        review.mark_verified(Service.objects.filter(pk=service.pk), by=request.user)
        messages.success(
            request, gettext("Thank you: “%(name)s” is recorded as checked today.") % {"name": service.name}
        )
    return redirect("partners:listing", uuid=service.uuid)


def _edit(request, *, organization, base, service=None, proposal=None, title):
    editor = ListingEditor(
        organization=organization, base=base, data=request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and editor.is_valid():
        proposal = decisions.submit_proposal(
            organization=organization, author=request.user, document=editor.document, service=service, proposal=proposal
        )
        messages.success(request, gettext("Sent to the curators. The public listing changes only once they approve."))
        return redirect(proposal)
    context = {"editor": editor, "organization": organization, "service": service, "proposal": proposal, "title": title}
    return render(request, "partners/edit.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@partner_required
def propose_new(request, uuid):
    organization = get_object_or_404(my_organizations(request), uuid=uuid)
    return _edit(
        request,
        organization=organization,
        base=None,
        title=gettext("A new listing for %(organization)s") % {"organization": organization.name},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@partner_required
def propose_change(request, uuid):
    service = get_object_or_404(my_services(request).select_related("organization"), uuid=uuid)
    open_change = service.proposals.filter(state__in=Proposal.OPEN_STATES).order_by("-submitted_at").first()
    if open_change is not None:
        # One open change per listing: the partner edits it rather than starting a rival one.
        return redirect("partners:edit-proposal", uuid=open_change.uuid)
    return _edit(
        request,
        organization=service.organization,
        base=documents.live_document(service),
        service=service,
        title=gettext("Changes to “%(name)s”") % {"name": service.name},
    )


@require_safe
@partner_required
def proposal_detail(request, uuid):
    proposal = get_object_or_404(my_proposals(request).select_related("organization", "service"), uuid=uuid)
    live = documents.live_document(proposal.service) if proposal.service and proposal.is_open else None
    if proposal.kind == Proposal.Kind.CHANGE and proposal.is_open:
        rows = documents.differences(live, documents.effective_document(proposal))
    else:
        rows = documents.differences(None, proposal.document)
    context = {"proposal": proposal, "rows": rows, "conversation": proposal.messages.order_by("created_at")}
    return render(request, "partners/proposal.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@partner_required
def edit_proposal(request, uuid):
    proposal = get_object_or_404(my_proposals(request).select_related("organization", "service"), uuid=uuid)
    if not proposal.is_open:
        messages.error(request, gettext("This proposal has been decided and can no longer be changed."))
        return redirect(proposal)
    return _edit(
        request,
        organization=proposal.organization,
        base=proposal.document,
        service=proposal.service if proposal.kind == Proposal.Kind.CHANGE else None,
        proposal=proposal,
        title=gettext("Your proposal: %(name)s") % {"name": proposal.name},
    )


@require_POST
@partner_required
def withdraw_proposal(request, uuid):
    proposal = get_object_or_404(my_proposals(request), uuid=uuid)
    try:
        decisions.withdraw_proposal(proposal, by=request.user)
    except decisions.DecisionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, gettext("The proposal is withdrawn."))
    return redirect(proposal)


@require_http_methods(["GET", "HEAD", "POST"])
@partner_required
def message_list(request):
    organizations = my_organizations(request).order_by("name")
    form = MessageForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        message = Message(
            organization=form.cleaned_data["organization"],
            sender=request.user,
            body=form.cleaned_data["body"],
            from_curators=False,
        )
        decisions.send_message(message)
        messages.success(request, gettext("Your message is with the curators."))
        return redirect("partners:messages")
    found = Message.objects.filter(organization__in=organizations).select_related("organization", "proposal")
    return render(request, "partners/messages.html", {"form": form, "conversation": found[:200]})


@require_http_methods(["GET", "HEAD", "POST"])
@partner_required
def team(request, uuid):
    """A manager's page: who acts for the organization, and inviting a colleague."""
    organization = get_object_or_404(my_organizations(request), uuid=uuid)
    if not organization.memberships.filter(user=request.user, role=Membership.Role.MANAGER).exists():
        raise Http404("Only a manager of the organization sees its team.")
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitations.invite(
            email=form.cleaned_data["email"],
            organization=organization,
            role=form.cleaned_data["role"],
            by=request.user,
            site=site_of(request),
        )
        messages.success(request, gettext("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
        return redirect("partners:team", uuid=organization.uuid)
    members = organization.memberships.select_related("user").order_by("user__email")
    pending = organization.invitations.open().order_by("-created_at")
    context = {"organization": organization, "members": members, "pending": pending, "form": form}
    return render(request, "partners/team.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def accept_invitation(request, token):
    try:
        invitation = invitations.from_token(token)
    except invitations.InvalidInvitation as error:
        return render(request, "partners/invitation.html", {"problem": str(error)}, status=HTTPStatus.BAD_REQUEST)
    existing = invitations.existing_user(invitation)
    context = {"invitation": invitation, "existing": existing}
    if existing is not None:
        # An account has this address already: its owner joins by logging in, not by setting a password here.
        if request.user.is_authenticated and request.user.pk == existing.pk and request.method == "POST":
            invitations.accept(invitation, user=request.user)
            messages.success(
                request, gettext("You now act for %(organization)s.") % {"organization": invitation.organization.name}
            )
            return redirect("partners:dashboard")
        return render(request, "partners/invitation.html", context)
    form = SetPasswordForm(request.POST or None, user=None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept(
                invitation, name=form.cleaned_data["name"], password=form.cleaned_data["password1"]
            )
        except invitations.InvalidInvitation as error:
            return render(request, "partners/invitation.html", {"problem": str(error)}, status=HTTPStatus.BAD_REQUEST)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            gettext("Welcome. You now act for %(organization)s.") % {"organization": invitation.organization.name},
        )
        return redirect("partners:dashboard")
    context["form"] = form
    return render(request, "partners/invitation.html", context)


# --- the public forms -------------------------------------------------------------------------------------


def _refused(request, template, context, form, too_many):
    """The page again when an anonymous submission is refused, None when it may be saved.

    Sent from another site or not valid: 400; over the rate limit: 429 with `too_many` as the reason. The form
    always comes back with a fresh timestamp, so that sending it again works."""
    status = None
    if antispam.cross_site(request):
        context["refusal"] = gettext("This form can only be sent from this site.")
        status = HTTPStatus.BAD_REQUEST
    elif getattr(request, "limited", False):
        context["refusal"] = too_many
        status = HTTPStatus.TOO_MANY_REQUESTS
    elif not form.is_valid():
        status = HTTPStatus.BAD_REQUEST
    if status is None:
        return None
    form.with_fresh_stamp()
    return render(request, template, context, status=status)


# csrf_exempt: see antispam.py. These pages must not set the CSRF cookie that a token would need.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=antispam.CORRECTION_RATE, method="POST", block=False, group="partners.correction")
def suggest_correction(request, uuid):
    service = get_object_or_404(Service.objects.published().select_related("organization"), uuid=uuid)
    purpose = f"correction:{service.uuid}"
    form = CorrectionForm(request.POST if request.method == "POST" else None, purpose=purpose)
    context = {"service": service, "form": form}
    template = "partners/correction.html"
    if request.method != "POST":
        return render(request, template, context)
    too_many = gettext("Too many messages have come from your connection. Please try again in an hour.")
    refused = _refused(request, template, context, form, too_many)
    if refused:
        return refused
    correction = form.save(commit=False)
    correction.service = service
    correction.save()
    return redirect("partners:correction-sent", uuid=service.uuid)


@require_safe
def correction_sent(request, uuid):
    service = get_object_or_404(Service.objects.published(), uuid=uuid)
    return render(request, "partners/correction_sent.html", {"service": service})


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=antispam.APPLICATION_RATE, method="POST", block=False, group="partners.application")
def apply(request):
    form = ApplicationForm(request.POST if request.method == "POST" else None)
    context = {"form": form}
    template = "partners/apply.html"
    if request.method != "POST":
        return render(request, template, context)
    too_many = gettext("Too many applications have come from your connection. Please try again in an hour.")
    refused = _refused(request, template, context, form, too_many)
    if refused:
        return refused
    form.save()
    return redirect("partners:applied")


@require_safe
def applied(request):
    return render(request, "partners/applied.html")
