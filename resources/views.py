from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from . import geo
from .filters import ServiceFilter
from .models import Organization, Service, Taxonomy, TaxonomyTerm, cards_of, load_cards
from .search import SearchResults

# How many hotlines the home page shows, and a search that found nothing offers instead: the first in the
# curators' order (the hotlines page lists them all, a page at a time).
FIRST_HOTLINES = 6


def _hotlines(regions=()):
    """Public hotlines in the curators' order; with regions, only those serving one of them."""
    return Service.objects.published().in_any_region(regions).hotlines().for_cards()


@require_safe
def home(request):
    needs = TaxonomyTerm.objects.of(Taxonomy.NEEDS).filter(parent__isnull=True).order_by("position", "name")
    hotlines = _hotlines()
    context = {
        "hotlines": load_cards(list(hotlines[:FIRST_HOTLINES])),
        "more_hotlines": hotlines[FIRST_HOTLINES:].exists(),
        "needs": needs,
    }
    return render(request, "resources/home.html", context)


def _offset_asked(number, per_page):
    """The offset of the page `number` (the "page" parameter as Paginator.get_page reads it: not a whole
    number, page 1), or None for a number below 1, which the paginator turns into the last page."""
    try:
        number = int(number or 1)
    except ValueError:
        return 0
    return (number - 1) * per_page if number >= 1 else None


@require_safe
def search(request):
    # The ZIP code or location in the query is used for this request only: never stored or logged.
    filterset = ServiceFilter(request.GET or None, queryset=Service.objects.published())
    results = filterset.results(
        prepare=lambda services: services.for_cards(),
        estimate_before=_offset_asked(request.GET.get("page"), settings.RESULTS_PER_PAGE),
        load=cards_of,
    )
    # The facets' own samples are read beside the page's work (in a helper thread), collected by facets().
    filterset.start_facets()
    page = Paginator(results, settings.RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    services = list(page.object_list)
    if not isinstance(results, SearchResults):  # (the index's results come loaded: cards_of)
        load_cards(services)
    facets = filterset.facets()
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
        "facets": facets,
        # With very many results, how they are ordered (search.IndexQuery.ordering); None through the queryset.
        "ordering": results.ordering() if isinstance(results, SearchResults) else None,
        # A large total estimated from a sample (SearchResults.count): the page says "about".
        "total_is_estimate": isinstance(results, SearchResults) and results.estimated,
        "counts_are_estimates": any(choice.approximate for choices in facets.values() for choice in choices),
        # When nothing matches, a person still gets somewhere to turn: the first hotlines in the curators'
        # order (the hotlines page lists them all).
        "fallback_hotlines": load_cards(list(_hotlines(filterset.regions())[:FIRST_HOTLINES])) if not services else [],
    }
    return render(request, "resources/search.html", context)


@require_safe
def hotlines(request):
    page = Paginator(_hotlines(), settings.RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    load_cards(list(page.object_list))
    return render(request, "resources/hotlines.html", {"page": page})


@require_safe
def service_detail(request, uuid):
    service = get_object_or_404(Service.objects.published().for_listing(), uuid=uuid)
    return render(request, "resources/service_detail.html", {"service": service})


@require_safe
def organization_detail(request, uuid):
    organization = get_object_or_404(Organization.objects.with_public_services().prefetch_related("phones"), uuid=uuid)
    services = load_cards(list(Service.objects.published().filter(organization=organization).for_cards()))
    return render(request, "resources/organization_detail.html", {"organization": organization, "services": services})
