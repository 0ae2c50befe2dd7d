from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from . import geo
from .filters import ServiceFilter
from .models import Organization, Service, Taxonomy, TaxonomyTerm


def _hotlines(regions=()):
    """Public hotlines in the curators' order; with regions, only those serving one of them."""
    return Service.objects.published().in_any_region(regions).hotlines().for_listing()


@require_safe
def home(request):
    needs = TaxonomyTerm.objects.of(Taxonomy.NEEDS).filter(parent__isnull=True).order_by("position", "name")
    return render(request, "resources/home.html", {"hotlines": _hotlines(), "needs": needs})


@require_safe
def search(request):
    # The ZIP code or location in the query is used for this request only: never stored or logged.
    filterset = ServiceFilter(request.GET or None, queryset=Service.objects.published())
    results = filterset.qs.for_listing()
    page = Paginator(results, settings.RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    services = list(page.object_list)
    origin = filterset.origin()
    if origin:
        geo.place_the_results(services)
    context = {
        "filterset": filterset,
        "page": page,
        "origin": origin,
        "radius": filterset.radius(),
        "radius_choices": geo.RADIUS_CHOICES,
        # With a starting point, those with a place within reach come first, then the rest.
        "nearby": [service for service in services if origin and service.distance is not None],
        "others": [service for service in services if not origin or service.distance is None],
        "problems": filterset.problems(),
        "query_was_shortened": filterset.query_was_shortened(),
        "active_filters": filterset.active_filters(),
        "facets": filterset.facets(),
        # When nothing matches, a person still gets somewhere to turn.
        "fallback_hotlines": _hotlines(filterset.regions()) if not services else [],
    }
    return render(request, "resources/search.html", context)


@require_safe
def hotlines(request):
    return render(request, "resources/hotlines.html", {"hotlines": _hotlines()})


@require_safe
def service_detail(request, uuid):
    service = get_object_or_404(Service.objects.published().for_listing(), uuid=uuid)
    return render(request, "resources/service_detail.html", {"service": service})


@require_safe
def organization_detail(request, uuid):
    organization = get_object_or_404(Organization.objects.with_public_services().prefetch_related("phones"), uuid=uuid)
    services = Service.objects.published().filter(organization=organization).for_listing()
    return render(request, "resources/organization_detail.html", {"organization": organization, "services": services})
