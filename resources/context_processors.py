from django.conf import settings


def safety(request):
    """What every page needs for the quick exit (templates/base.html)."""
    return {"QUICK_EXIT_URL": settings.QUICK_EXIT_URL}
