"""Review transitions and verification: the one place these writes happen (admin actions, commands, later
partner pages all call these)."""

from django.db import transaction
from django.utils import timezone

from .models import Service


def _set_review_state(services, *, state, by):
    now = timezone.now()
    with transaction.atomic():
        ids = list(services.values_list("pk", flat=True))
        Service.objects.filter(pk__in=ids).update(
            review_state=state, review_state_changed_at=now, review_state_changed_by=by, last_modified=now
        )
    return len(ids)


def publish(services, *, by):
    """Make listings public. Returns how many were published."""
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


def mark_verified(services, *, by, on=None):
    """Record that a person checked these listings are still accurate (HSDS assured_date and assurer)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        return services.update(
            assured_date=on, assurer=by, assurer_email=getattr(by, "email", "") or "", last_modified=timezone.now()
        )
