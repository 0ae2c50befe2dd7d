"""The safety page: what the quick exit does and does not do, how to browse more safely, whom to call.

A module of its own so the page can grow (translations, more advice) without touching the search views.
"""

from django.conf import settings
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from .models import Service


@require_safe
def safety(request):
    """The advice, then the first few hotlines in the curators' order (as on the home page), their numbers ready
    to tap, and a link to all of them: a directory with hundreds of hotlines must not list them all here."""
    from .views import FIRST_HOTLINES

    hotlines = Service.objects.published().hotlines().prefetch_related("phones")  # all the list shows
    context = {
        "hotlines": list(hotlines[:FIRST_HOTLINES]),
        "more_hotlines": hotlines[FIRST_HOTLINES:].exists(),
    }
    return render(request, "resources/safety.html", context)


def server_error(request, template_name="500.html"):
    """Django's 500 page, plus the quick exit's address. Like Django's own, it reads nothing from the database
    and uses no context processors: whatever failed must not fail again here."""
    template = loader.get_template(template_name)
    try:
        hotlines = reverse("resources:hotlines")  # in the language of the page that failed
    except Exception:  # whatever broke may be the URLs themselves
        hotlines = "/hotlines/"
    context = {
        "quick_exit_url": settings.QUICK_EXIT_URL,
        "hotlines_url": hotlines,
        "language": get_language() or settings.LANGUAGE_CODE,
    }
    return HttpResponseServerError(template.render(context))
