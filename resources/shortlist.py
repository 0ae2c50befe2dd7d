"""A caseworker's shortlist and the referral sheet printed from it.

The shortlist lives in the browser only (localStorage, see static/resources/shortlist.js): the server never
stores it. The pages here render whatever list of service UUIDs the address carries (`?s=<uuid>,<uuid>`),
so a shortlist opens the same on another device, and the sheet prints without JavaScript. What is not a
UUID of a public listing is dropped without a word: a shared link may outlive a listing.
"""

import uuid

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from .models import Service

# A referral sheet of more listings than this is no longer a shortlist; the rest of the address is ignored.
MAX_LISTINGS = 50


def parse_ids(raw):
    """The distinct service UUIDs in a comma-separated text, in their order, at most MAX_LISTINGS."""
    ids = []
    # Only as much text as MAX_LISTINGS UUIDs (with their commas) can take is read: a huge address costs nothing.
    for part in raw[: MAX_LISTINGS * 40].split(","):
        try:
            value = uuid.UUID(part.strip())
        except ValueError:
            continue
        if value not in ids:
            ids.append(value)
            if len(ids) == MAX_LISTINGS:
                break
    return ids


def shortlisted(ids):
    """The public listings among the ids, in the order given, with what their cards and the sheet show (a
    constant number of queries, however many there are)."""
    if not ids:
        return []
    found = {service.uuid: service for service in Service.objects.published().filter(uuid__in=ids).for_listing()}
    return [found[value] for value in ids if value in found]


def _context(request):
    services = shortlisted(parse_ids(request.GET.get("s", "")))
    ids = ",".join(str(service.uuid) for service in services)
    query = f"?s={ids}" if ids else ""
    return {
        "services": services,
        "ids": ids,
        "requested": "s" in request.GET,
        "share_url": request.build_absolute_uri(reverse("resources:shortlist") + query),
        "sheet_url": reverse("resources:shortlist-sheet") + query,
        "list_url": reverse("resources:shortlist") + query,
    }


@require_safe
def shortlist(request):
    return render(request, "resources/shortlist.html", _context(request))


@require_safe
def sheet(request):
    context = _context(request)
    for service in context["services"]:
        # Its own lines or its places' (a confidential place's intake line among them), from what was prefetched.
        service.has_a_phone = bool(service.phones.all()) or any(
            link.location.phones.all() for link in service.service_at_locations.all()
        )
    context["today"] = timezone.localdate()
    return render(request, "resources/shortlist_sheet.html", context)
