"""Spam protection for the anonymous forms, with no third-party service.

Three checks, each cheap and each enough against a different kind of robot:
- a honeypot: a field people never see (hidden by the style sheet, skipped by the keyboard) that form-filling
  robots fill in;
- a signed timestamp (django.core.signing) issued with the form: a submission sent within MIN_SECONDS of
  the form being shown is faster than a person, one sent after MAX_AGE came from a stale or harvested page,
  and one without our signature was never shown by us;
- a limit of submissions per client and hour (django-ratelimit, counted in Django's cache: the local memory
  cache on one machine, Redis when REDIS_URL is set, so several app servers share the counts).

Why no CSRF cookie on these forms: the public pages set no cookies for anonymous visitors (DESIGN.md, Safety),
and a CSRF token needs one. CSRF protects what a visitor's session may do; an anonymous correction or
application carries no session and no identity, so a forged one is no worse than a direct one. These views
are csrf_exempt and rely on the signed timestamp (which only our page hands out), on refusing posts that a
browser says come from another site, and on the rate limit.
"""

import time

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext

MIN_SECONDS = 3
MAX_AGE = 2 * 60 * 60
SALT = "partners.antispam"
# Submissions per client: a person suggests a correction or two, an organization applies once.
CORRECTION_RATE = "5/h"
APPLICATION_RATE = "3/h"
# The code of a ValidationError the anti-spam checks raise (answered with 400 Bad Request).
REFUSED = "refused"


class Refused(ValueError):
    """Raised with a message fit to show a person."""


def issue(purpose, *, now=None):
    """A signed token saying which form was shown, and when."""
    moment = int(time.time() if now is None else now)
    return signing.dumps({"p": purpose, "t": moment}, salt=SALT, compress=False)


def verify(token, purpose, *, now=None):
    """Refuse a token we did not sign, for another form, too fresh or too old."""
    try:
        data = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        raise Refused(gettext("This form could not be checked. Please reload the page and send it again.")) from None
    if not isinstance(data, dict) or data.get("p") != purpose or not isinstance(data.get("t"), int):
        raise Refused(gettext("This form could not be checked. Please reload the page and send it again."))
    age = (time.time() if now is None else now) - data["t"]
    if age < MIN_SECONDS:
        raise Refused(
            gettext("That was quicker than a person can fill in the form. Please check it and send it again.")
        )
    if age > MAX_AGE:
        raise Refused(gettext("This form was open too long and has expired. Please send it again."))


def cross_site(request):
    """True when the browser says the post comes from a page of another site (Origin or Sec-Fetch-Site)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    allowed = {f"{request.scheme}://{request.get_host()}", *getattr(settings, "CSRF_TRUSTED_ORIGINS", [])}
    return origin not in allowed


def forwarded_client(request):
    """The client's address behind our reverse proxy (RATELIMIT_IP_META_KEY when BEHIND_PROXY is set).

    The proxy appends the address it saw to X-Forwarded-For; earlier entries come from the client and can
    be forged, so the last one is the one to trust. The address is only hashed into a cache key for an hour;
    it is never stored or logged.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.split(",")[-1].strip()
    return last or request.META.get("REMOTE_ADDR", "")
