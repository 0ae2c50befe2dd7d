"""The curators' side: the review queue (applications, proposed listings, proposed changes, corrections, oldest
first), a review page for each item with its decisions, and the partners' people, invitations and messages.

Every decision calls a function of partners/decisions.py, the same ones the tests and any command use.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import CharField, F, Value
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from resources import regions

from . import decisions, documents, invitations
from .models import Application, Correction, Invitation, Membership, Message, Proposal, ReviewQueue
from .views import site_of

QUEUE_PAGE_SIZE = 50


def queue_items():
    """Everything waiting for a curator, oldest first, paged in the database: (kind, pk, since) rows."""
    text = CharField()
    applications = Application.objects.filter(state=Application.State.PENDING).annotate(
        item=Value("application", output_field=text), since=F("created_at")
    )
    proposals = Proposal.objects.filter(state=Proposal.State.PENDING).annotate(item=F("kind"), since=F("submitted_at"))
    corrections = Correction.objects.filter(state=Correction.State.PENDING).annotate(
        item=Value("correction", output_field=text), since=F("created_at")
    )
    columns = ("item", "pk", "since")
    # Each part without its model's default ordering: a compound query orders only as a whole.
    parts = [queryset.order_by().values_list(*columns) for queryset in (applications, proposals, corrections)]
    return parts[0].union(*parts[1:], all=True).order_by("since", "item", "pk")


class ReviewPage:
    """A review page per item (`<id>/review/`), where a curator reads it and decides."""

    review_template = "admin/partners/review.html"

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        review = self.admin_site.admin_view(self.review_view)
        return [path("<int:object_id>/review/", review, name="{}_{}_review".format(*info)), *super().get_urls()]

    @admin.display(description="review")
    def review_link(self, obj):
        info = obj._meta.app_label, obj._meta.model_name
        return format_html('<a href="{}">Review</a>', reverse("admin:{}_{}_review".format(*info), args=[obj.pk]))

    def review_view(self, request, object_id):
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            decision, message = request.POST.get("decision", ""), request.POST.get("message", "")
            if len(message) > 5000:
                messages.error(request, "The message is too long (at most 5,000 characters).")
            else:
                try:
                    done = self.decide(request, obj, decision, message)
                except decisions.DecisionError as error:
                    messages.error(request, str(error))
                else:
                    messages.success(request, done)
                    return redirect("admin:partners_reviewqueue_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review: {obj}",
            "obj": obj,
            "can_decide": self.has_change_permission(request, obj),
            "decisions": self.decisions_for(obj),
            **self.review_context(obj),
        }
        return TemplateResponse(request, self.review_template, context)

    def review_context(self, obj):
        return {}

    def decisions_for(self, obj):
        return []

    def decide(self, request, obj, decision, message):
        raise decisions.DecisionError("Unknown decision.")


@admin.register(ReviewQueue)
class ReviewQueueAdmin(admin.ModelAdmin):
    """The queue: one page listing every kind of item waiting for review, oldest first."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        user = request.user
        return (
            user.is_active
            and user.is_staff
            and any(user.has_perm(f"partners.view_{name}") for name in ("proposal", "application", "correction"))
        )

    def get_urls(self):
        return [path("", self.admin_site.admin_view(self.changelist_view), name="partners_reviewqueue_changelist")]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        page = Paginator(queue_items(), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        wanted = {}
        for kind, pk, _since in rows:
            wanted.setdefault(kind, []).append(pk)
        found = {
            "application": Application.objects.in_bulk(wanted.get("application", [])),
            "new": Proposal.objects.select_related("organization").in_bulk(wanted.get("new", [])),
            "change": Proposal.objects.select_related("organization", "service").in_bulk(wanted.get("change", [])),
            "correction": Correction.objects.select_related("service__organization").in_bulk(
                wanted.get("correction", [])
            ),
        }
        items = []
        for kind, pk, since in rows:
            obj = found[kind].get(pk)
            if obj is not None:
                items.append(_queue_item(kind, obj, since))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Review queue",
            "items": items,
            "page": page,
        }
        return TemplateResponse(request, "admin/partners/queue.html", context)


def _queue_item(kind, obj, since):
    if kind == "application":
        label, title, organization = "Application", obj.organization_name, obj.contact_name
        url = reverse("admin:partners_application_review", args=[obj.pk])
    elif kind == "correction":
        label, title, organization = "Correction", obj.service.name, obj.service.organization.name
        url = reverse("admin:partners_correction_review", args=[obj.pk])
    else:
        label = "Proposed listing" if kind == "new" else "Proposed change"
        title, organization = obj.name, obj.organization.name
        url = reverse("admin:partners_proposal_review", args=[obj.pk])
    return {"kind": label, "title": title, "organization": organization, "since": since, "url": url}


class ReadOnly:
    """Items come from partners and the public; curators decide on them, they do not edit them."""

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name != "id"]


@admin.register(Proposal)
class ProposalAdmin(ReviewPage, ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "organization", "kind", "state", "submitted_at", "review_link"]
    list_filter = ["state", "kind"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "service__name"]
    ordering = ["submitted_at"]
    exclude = ["document"]
    actions = ["approve_selected"]

    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "document"] + ["document_text"]

    @admin.display(description="HSDS document")
    def document_text(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.document, indent=2, ensure_ascii=False))

    @admin.action(description="Approve and publish the selected proposals", permissions=["change"])
    def approve_selected(self, request, queryset):
        approved, refused = 0, []
        for proposal in queryset.filter(state=Proposal.State.PENDING):
            try:
                decisions.approve_proposal(proposal, by=request.user, site=site_of(request))
            except decisions.DecisionError as error:
                refused.append(f"{proposal.name}: {error}")
            else:
                approved += 1
        self.message_user(request, f"Approved and published {approved}.", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, problem, messages.ERROR)

    def decisions_for(self, obj):
        if obj.state != Proposal.State.PENDING:
            return []
        return [
            ("approve", "Approve and publish"),
            ("changes", "Ask for changes"),
            ("reject", "Reject"),
        ]

    def review_context(self, obj):
        effective = documents.effective_document(obj) if obj.is_open else obj.document
        live = documents.live_document(obj.service) if obj.kind == Proposal.Kind.CHANGE and obj.is_open else None
        changed_since = (
            obj.kind == Proposal.Kind.CHANGE
            and obj.is_open
            and obj.base_modified is not None
            and obj.service.last_modified > obj.base_modified
        )
        return {
            "rows": documents.differences(live, effective),
            "new": live is None,
            "changed_since": changed_since,
            "document_json": json.dumps(obj.document, indent=2, ensure_ascii=False),
            "conversation": obj.messages.order_by("created_at"),
        }

    def decide(self, request, obj, decision, message):
        site = site_of(request)
        if decision == "approve":
            decisions.approve_proposal(obj, by=request.user, message=message, site=site)
            return f"Published “{obj.name}”."
        if decision == "changes":
            decisions.request_changes(obj, by=request.user, message=message, site=site)
            return f"Asked {obj.organization} for changes to “{obj.name}”."
        if decision == "reject":
            decisions.reject_proposal(obj, by=request.user, message=message, site=site)
            return f"Rejected “{obj.name}”; the live listing is unchanged."
        raise decisions.DecisionError("Choose approve, ask for changes or reject.")


@admin.register(Application)
class ApplicationAdmin(ReviewPage, admin.ModelAdmin):
    list_display = ["organization_name", "country", "contact_name", "state", "created_at", "review_link"]
    list_filter = ["state", "country"]
    search_fields = ["organization_name", "contact_name", "contact_email"]
    ordering = ["created_at"]
    readonly_fields = ["state", "created_at", "decided_at", "decided_by", "organization"]
    filter_horizontal = ["needs"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def decisions_for(self, obj):
        if obj.state == Application.State.PENDING:
            return [
                ("approve", "Approve: list the organization and invite its contact"),
                ("changes", "Ask for changes (by email)"),
                ("reject", "Reject"),
            ]
        if obj.state == Application.State.CHANGES_REQUESTED:
            return [("reopen", "The applicant answered: back into the queue"), ("approve", "Approve")]
        return []

    def review_context(self, obj):
        served = [regions.region_name(code) for code in obj.regions_served.split(",") if code]
        return {"needs": obj.needs.all(), "served": served, "country_name": regions.country_name(obj.country)}

    def decide(self, request, obj, decision, message):
        if decision == "approve":
            decisions.approve_application(obj, by=request.user, message=message, site=site_of(request))
            return f"Listed {obj.organization_name} and invited {obj.contact_email}."
        if decision == "changes":
            decisions.request_application_changes(obj, by=request.user, message=message)
            return f"Asked {obj.contact_email} for changes."
        if decision == "reject":
            decisions.reject_application(obj, by=request.user, message=message)
            return f"Rejected the application of {obj.organization_name}."
        if decision == "reopen":
            decisions.reopen_application(obj, by=request.user)
            return f"{obj.organization_name} is back in the queue."
        raise decisions.DecisionError("Choose a decision.")


@admin.register(Correction)
class CorrectionAdmin(ReviewPage, ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "state", "created_at", "review_link"]
    list_filter = ["state"]
    list_select_related = ["service"]
    search_fields = ["service__name", "what_is_wrong"]
    ordering = ["created_at"]

    def decisions_for(self, obj):
        if obj.state != Correction.State.PENDING:
            return []
        return [
            ("resolved", "Done: the listing is corrected"),
            ("forward", "Send it to the listing's organization to fix"),
            ("dismiss", "Dismiss"),
        ]

    def review_context(self, obj):
        service = obj.service
        return {"admin_url": reverse("admin:resources_service_change", args=[service.pk]), "service": service}

    def decide(self, request, obj, decision, message):
        if decision == "resolved":
            decisions.close_correction(obj, by=request.user, state=Correction.State.RESOLVED)
            return "Marked as done."
        if decision == "dismiss":
            decisions.close_correction(obj, by=request.user, state=Correction.State.DISMISSED)
            return "Dismissed."
        if decision == "forward":
            decisions.forward_correction(obj, by=request.user, site=site_of(request))
            return f"Sent to {obj.service.organization}."
        raise decisions.DecisionError("Choose a decision.")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__email", "user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "status"]
    list_select_related = ["organization"]
    search_fields = ["email", "organization__name"]
    autocomplete_fields = ["organization"]
    fields = ["email", "organization", "role"]

    def get_readonly_fields(self, request, obj=None):
        return ["email", "organization", "role"] if obj is not None else []

    @admin.display(description="status")
    def status(self, obj):
        if obj.accepted_at:
            return f"Accepted {obj.accepted_at:%Y-%m-%d}"
        return "Open" if obj.is_open else "Expired"

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing on a sent invitation can change; a new one is a new invitation
        obj.email = obj.email.strip().lower()
        obj.invited_by = request.user
        obj.save()
        invitations.send(obj, site=site_of(request))


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Curators write to a partner organization here; partners' messages arrive here too."""

    list_display = ["created_at", "organization", "from_curators", "short_body", "proposal"]
    list_filter = ["from_curators"]
    list_select_related = ["organization", "proposal"]
    search_fields = ["organization__name", "body"]
    autocomplete_fields = ["organization"]
    fields = ["organization", "body"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "body"] if obj is not None else []

    @admin.display(description="message")
    def short_body(self, obj):
        return obj.body[:100]

    def save_model(self, request, obj, form, change):
        if change:
            return  # a sent message stays as it was sent
        obj.sender, obj.from_curators = request.user, True
        decisions.send_message(obj, site=site_of(request))
