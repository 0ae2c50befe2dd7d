"""Partner organisations' people, and what partners and the public send to the curators."""

import datetime
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# How long an invitation link works.
INVITATION_LIFETIME = datetime.timedelta(days=7)


class Membership(models.Model):
    """A person who may act for an organization: propose and confirm its listings (editor), and also
    invite colleagues (manager)."""

    class Role(models.TextChoices):
        EDITOR = "editor", _("Editor")
        MANAGER = "manager", _("Manager")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey("resources.Organization", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_one_per_user_and_organization"),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}) at {self.organization}"


def _new_nonce():
    return secrets.token_urlsafe(16)


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Invitations that can still be accepted: not used, not expired."""
        return self.filter(accepted_at__isnull=True, created_at__gt=timezone.now() - INVITATION_LIFETIME)


class Invitation(models.Model):
    """An emailed one-time link that lets a person set a password and join an organization.

    The link carries the invitation's id and nonce, signed (django.core.signing) with a timestamp; it works
    once (accepted_at is set) and only within INVITATION_LIFETIME.
    """

    email = models.EmailField()
    organization = models.ForeignKey("resources.Organization", on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Membership.Role, default=Membership.Role.EDITOR)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    nonce = models.CharField(max_length=40, default=_new_nonce, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def expires_at(self):
        return self.created_at + INVITATION_LIFETIME

    @property
    def is_open(self):
        return self.accepted_at is None and timezone.now() < self.expires_at


class Application(models.Model):
    """An organization new to the directory asks to be listed ("List your organisation")."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        CHANGES_REQUESTED = "changes_requested", "Changes asked for"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    organization_name = models.CharField(max_length=300)
    alternate_name = models.CharField("other name", max_length=300, blank=True)
    description = models.TextField("what the organization does")
    website = models.URLField(blank=True)
    email = models.EmailField("public email", blank=True)
    phone = models.CharField("public phone", max_length=20, blank=True, help_text="Stored in E.164.")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code of the country it works in.")
    regions_served = models.CharField(
        max_length=300, blank=True, help_text="ISO 3166-2 codes of the states or regions it serves, comma-separated."
    )
    offers = models.TextField("what it offers survivors")
    needs = models.ManyToManyField("resources.TaxonomyTerm", blank=True, related_name="+")
    contact_name = models.CharField(max_length=200)
    contact_role = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=20, blank=True, help_text="Stored in E.164.")
    accepts_referrals = models.BooleanField("accepts referrals")
    serves_survivors = models.BooleanField("serves survivors of trafficking")
    keeps_listings_current = models.BooleanField("will keep its listings current")
    confidentiality = models.TextField("how it keeps survivors' information confidential")

    state = models.CharField(max_length=20, choices=State, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    organization = models.ForeignKey(
        "resources.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The organization created when the application was approved.",
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="pending") | Q(decided_at__isnull=False), name="application_decision_is_dated"
            ),
        ]

    def __str__(self):
        return self.organization_name


class Proposal(models.Model):
    """A partner's proposed listing, or proposed change to a live listing, held as an HSDS service document
    until a curator decides. The live listing is untouched until then; approving imports the document."""

    class Kind(models.TextChoices):
        NEW = "new", _("New listing")
        CHANGE = "change", _("Change to a listing")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        CHANGES_REQUESTED = "changes_requested", _("Changes asked for")
        APPROVED = "approved", _("Approved and published")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN_STATES = (State.PENDING, State.CHANGES_REQUESTED)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("resources.Organization", on_delete=models.CASCADE, related_name="proposals")
    kind = models.CharField(max_length=10, choices=Kind)
    service = models.ForeignKey(
        "resources.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="proposals",
        help_text="The live listing it changes; for a new listing, the one its approval created.",
    )
    document = models.JSONField(help_text="The proposed listing as an HSDS 3.0 service document.")
    state = models.CharField(max_length=20, choices=State, default=State.PENDING, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    base_modified = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the live listing last changed, as the partner saw it."
    )
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="new") | Q(service__isnull=False), name="proposal_change_names_its_listing"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"

    def get_absolute_url(self):
        return reverse("partners:proposal", kwargs={"uuid": self.uuid})

    @property
    def name(self):
        name = self.document.get("name") if isinstance(self.document, dict) else None
        return name if isinstance(name, str) and name else gettext("(no name)")

    @property
    def is_open(self):
        return self.state in self.OPEN_STATES


class Message(models.Model):
    """A message between the curators and a partner organization (about a proposal, or not)."""

    organization = models.ForeignKey("resources.Organization", on_delete=models.CASCADE, related_name="+")
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages", editable=False
    )
    from_curators = models.BooleanField(default=True, editable=False)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        who = "Curators" if self.from_curators else "Partner"
        return f"{who} to {'partner' if self.from_curators else 'curators'}: {self.body[:60]}"


class Correction(models.Model):
    """Anyone's note that something on a public listing is wrong ("Suggest a correction")."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    service = models.ForeignKey("resources.Service", on_delete=models.CASCADE, related_name="corrections")
    what_is_wrong = models.TextField()
    contact = models.CharField(
        "how to reach them", max_length=300, blank=True, help_text="Optional, kept exactly as given."
    )
    state = models.CharField(max_length=20, choices=State, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="pending") | Q(decided_at__isnull=False), name="correction_decision_is_dated"
            ),
        ]

    def __str__(self):
        return f"Correction to {self.service}"


class ReviewQueue(Proposal):
    """Not data of its own: the admin's entry for the review queue, which lists applications, proposals and
    corrections together (partners/admin.py)."""

    class Meta:
        proxy = True
        verbose_name = "review queue"
        verbose_name_plural = "review queue: everything waiting, oldest first"
