"""Review transitions and verification: the one place these writes happen (admin actions, commands, later
partner pages all call these). Each records its change in the listings' history, with who did it."""

from django.db import transaction
from django.utils import timezone

from . import history
from .models import Service


def _set_review_state(services, *, state, by):
    now = timezone.now()
    with transaction.atomic():
        ids = list(services.values_list("pk", flat=True))
        Service.objects.filter(pk__in=ids).update(
            review_state=state, review_state_changed_at=now, review_state_changed_by=by, last_modified=now
        )
        history.record(Service, ids, history_type="~", by=by, when=now)
    return len(ids)


def publish(services, *, by):
    """Make listings public (and start their freshness clock again). Returns how many were published."""
    return _set_review_state(
        services.exclude(review_state=Service.ReviewState.PUBLISHED), state=Service.ReviewState.PUBLISHED, by=by
    )


def archive(services, *, by):
    """Take listings out of public view without deleting them."""
    return _set_review_state(
        services.exclude(review_state=Service.ReviewState.ARCHIVED), state=Service.ReviewState.ARCHIVED, by=by
    )


def return_to_review(services, *, by):
    """Take listings out of public view and back into the curators' queue (pending review)."""
    return _set_review_state(
        services.exclude(review_state=Service.ReviewState.PENDING), state=Service.ReviewState.PENDING, by=by
    )


def verify(services, *, by, on=None):
    """Record that a person (a curator, or a partner for their own listings) checked these listings are still
    accurate (HSDS assured_date and assurer). A published listing hidden for age is public again. Returns
    how many were verified."""
    on = on or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        ids = list(services.values_list("pk", flat=True))
        changed = Service.objects.filter(pk__in=ids).update(
            assured_date=on, assurer=by, assurer_email=getattr(by, "email", "") or "", last_modified=now
        )
        history.record(Service, ids, history_type="~", by=by, when=now)
    return changed


# The name the admin action has always called.
mark_verified = verify
