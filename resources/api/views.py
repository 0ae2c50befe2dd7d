"""The HSDS 3.0 API: read-only, public, JSON. Every read starts from what the public may see.

Views validate the query (params.py, filters.py), pick the rows, and answer with the mapping's documents
(documents.py) in the HSDS Page envelope or as an ndjson stream (paging.py).
"""

from django.core.exceptions import ValidationError as InvalidValue
from django.http import HttpResponsePermanentRedirect
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ..hsds.mapping import HSDS_VERSION
from ..models import Organization, ServiceAtLocation, Taxonomy, TaxonomyTerm
from . import documents, paging, profile, schema
from .filters import HSDSServiceFilter, OrganizationFilter, ServiceAtLocationFilter, TaxonomyFilter, TaxonomyTermFilter
from .params import (
    ListOptions,
    OrganizationListOptions,
    OrganizationOptions,
    ServiceAtLocationListOptions,
    ServiceListOptions,
    parse_id,
)


def _refuse(errors):
    if errors:
        raise ValidationError({"detail": "Some parameters are not valid.", "parameters": errors})


def _options(form_class, request, *filtersets):
    """The cleaned shaping options; a 400 naming every bad parameter, of the form and the filtersets."""
    form = form_class(request.query_params)
    errors = {} if form.is_valid() else {name: list(messages) for name, messages in form.errors.items()}
    for filterset in filtersets:
        errors |= filterset.errors()
    _refuse(errors)
    return form.cleaned_data


def _answer(queryset, options, to_documents):
    if options["format"] == "ndjson":
        return paging.ndjson(queryset, to_documents)
    return Response(paging.page(queryset, to_documents, page_number=options["page"], per_page=options["per_page"]))


def _id(value):
    try:
        return parse_id(value)
    except InvalidValue as error:
        _refuse({"id": error.messages})


def _one(found, noun, key):
    if not found:
        raise NotFound(f"No public {noun} has the id {key}.")
    return Response(found[0])


def _service_filter(request):
    return HSDSServiceFilter.from_query(request.query_params, queryset=documents.public_services())


# --- the API's root and its profile -------------------------------------------------------------------------


@extend_schema(
    operation_id="getAPIMetaInformation",
    summary="What this API is: its HSDS version, profile and OpenAPI description.",
    responses={
        200: OpenApiResponse(
            {
                "type": "object",
                "properties": {
                    "version": {"type": "string", "description": "The HSDS version of this API."},
                    "profile": {"type": "string", "format": "uri", "description": "Our HSDS profile."},
                    "openapi_url": {"type": "string", "format": "uri", "description": "This API's OpenAPI file."},
                },
                "required": ["version", "profile", "openapi_url"],
            },
            description="Information about this API.",
        )
    },
)
@api_view(["GET", "HEAD"])
def root(request):
    return Response(
        {
            "version": HSDS_VERSION,
            "profile": request.build_absolute_uri(reverse("api:profile")),
            "openapi_url": request.build_absolute_uri(reverse("api:openapi")),
        }
    )


@extend_schema(
    operation_id="getProfile",
    summary="Our HSDS profile: its modifications to HSDS (JSON Merge Patch) and the schemas they make.",
    responses={200: OpenApiResponse({"type": "object"}, description="The profile's index.")},
)
@api_view(["GET", "HEAD"])
def profile_index(request):
    def links(view, names):
        return {name: request.build_absolute_uri(reverse(view, args=[name])) for name in names}

    return Response(
        {
            "name": profile.PROFILE_NAME,
            "version": profile.PROFILE_VERSION,
            "hsds_version": HSDS_VERSION,
            "description": (
                "Extra properties for review state, cost, online use, hotline facts, confidential places, phone "
                "countries and text keywords, 24/7 hours and time zones, service areas by ISO 3166 code, and "
                "taxonomy slugs and term order. Each modification is a JSON Merge Patch (RFC 7386) against the "
                "HSDS 3.0 schema file of the same name; the schemas are the results."
            ),
            "modifications": links("api:profile-modification", profile.modifications()),
            "schemas": links("api:profile-schema", profile.schemas()),
        }
    )


FILE_NAME = OpenApiParameter(
    "name", str, location=OpenApiParameter.PATH, required=True, description="A file name such as service.json."
)


@extend_schema(
    operation_id="getProfileModification",
    summary="One modification of our profile: a JSON Merge Patch against the HSDS schema of the same name.",
    parameters=[FILE_NAME],
    responses={200: OpenApiResponse({"type": "object"}), 404: schema.NOT_FOUND},
)
@api_view(["GET", "HEAD"])
def profile_modification(request, name):
    if name not in profile.modifications():
        raise NotFound(f"Our profile does not modify {name[:80]}.")
    return Response(profile.modifications()[name])


@extend_schema(
    operation_id="getProfileSchema",
    summary="One schema of our profile: the HSDS schema with our modification merged in.",
    parameters=[FILE_NAME],
    responses={200: OpenApiResponse({"type": "object"}), 404: schema.NOT_FOUND},
)
@api_view(["GET", "HEAD"])
def profile_schema(request, name):
    if name not in profile.schemas():
        raise NotFound(f"HSDS has no schema called {name[:80]}.")
    return Response(profile.schemas()[name])


# --- services ---------------------------------------------------------------------------------------------


@extend_schema(
    operation_id="getPaginatedListOfServices",
    summary="Published services, filtered and paged.",
    description=(
        "Each service has its one-to-one fields (with its organization and program) unless full=true. The "
        "filters are those of the directory's search page; all of them combine with AND."
    ),
    parameters=[*schema.SERVICE_FILTERS, *schema.PAGING, schema.MINIMAL, schema.FULL_SERVICES],
    responses=schema.page_responses("ServicePage", "service", "A page of services."),
)
@api_view(["GET", "HEAD"])
def services(request):
    filterset = _service_filter(request)
    options = _options(ServiceListOptions, request, filterset)
    # A page comes from the index when it can (filterset.results()); the ndjson stream of every result, by id,
    # from the queryset.
    return _answer(
        filterset.qs if options["format"] == "ndjson" else filterset.results(),
        options,
        lambda rows: documents.service_documents(rows, minimal=options["minimal"], full=options["full"]),
    )


@extend_schema(
    operation_id="getFullyNestedServiceById",
    summary="One published service, fully nested.",
    parameters=[schema.ID],
    responses=schema.detail_responses("service", "The service with all its related data."),
)
@api_view(["GET", "HEAD"])
def service(request, id):
    key = _id(id)
    return _one(documents.service_documents(documents.public_services().filter(uuid=key), full=True), "service", key)


# --- organizations ----------------------------------------------------------------------------------------


def _public_organizations():
    return Organization.objects.with_public_services().order_by("name", "pk")


@extend_schema(
    operation_id="getPaginatedListOfOrganizations",
    summary="Organizations with at least one published service, paged.",
    parameters=[schema.NAME_SEARCH, schema.FULL_ORGANIZATIONS, schema.FULL_SERVICE, *schema.PAGING],
    responses=schema.page_responses("OrganizationPage", "organization", "A page of organizations."),
)
@api_view(["GET", "HEAD"])
def organizations(request):
    filterset = OrganizationFilter(request.query_params, queryset=_public_organizations())
    options = _options(OrganizationListOptions, request, filterset)
    return _answer(
        filterset.qs,
        options,
        lambda rows: documents.organization_documents(rows, full=options["full"], full_service=options["full_service"]),
    )


@extend_schema(
    operation_id="getOrganizationById",
    summary="One organization, fully nested, with its published services.",
    parameters=[schema.ID, schema.FULL_SERVICE],
    responses=schema.detail_responses("organization_with_services", "The organization and its public services."),
)
@api_view(["GET", "HEAD"])
def organization(request, id):
    key = _id(id)
    options = _options(OrganizationOptions, request)
    found = documents.organization_documents(
        _public_organizations().filter(uuid=key), full=True, full_service=options["full_service"]
    )
    return _one(found, "organization", key)


# --- services at locations --------------------------------------------------------------------------------


def _service_at_locations(services):
    return ServiceAtLocation.objects.filter(service__in=services.values("pk")).order_by("service__name", "pk")


@extend_schema(
    operation_id="getPaginatedListOfServiceAtLocation",
    summary="Where published services are delivered, filtered and paged.",
    description=(
        "The service filters select by the service; postcode and proximity select by the place. "
        "Confidential places appear (so people can find the help) but without their address, and are never "
        "matched by postcode or proximity."
    ),
    parameters=[
        *schema.SERVICE_FILTERS,
        schema.POSTCODE,
        schema.PROXIMITY,
        schema.LATITUDE,
        schema.LONGITUDE,
        schema.FULL_SERVICE_AT_LOCATIONS,
        *schema.PAGING,
    ],
    responses=schema.page_responses("ServiceAtLocationPage", "service_at_location", "A page of services at places."),
)
@api_view(["GET", "HEAD"])
def service_at_locations(request):
    services = _service_filter(request)
    places = ServiceAtLocationFilter(request.query_params, queryset=_service_at_locations(documents.public_services()))
    options = _options(ServiceAtLocationListOptions, request, services, places)
    rows = places.qs.filter(service__in=services.qs.values("pk"))
    return _answer(rows, options, lambda rows: documents.service_at_location_documents(rows, full=options["full"]))


@extend_schema(
    operation_id="getServiceAtLocationWithNestedDataById",
    summary="One service at a place, fully nested, with its service.",
    parameters=[schema.ID],
    responses=schema.detail_responses("service_at_location_with_service", "The service at the place."),
)
@api_view(["GET", "HEAD"])
def service_at_location(request, id):
    key = _id(id)
    rows = _service_at_locations(documents.public_services()).filter(uuid=key)
    return _one(documents.service_at_location_documents(rows, full=True), "service at location", key)


# --- taxonomies -------------------------------------------------------------------------------------------


@extend_schema(
    operation_id="getPaginatedListOfTaxonomies",
    summary="The vocabularies services are described with: needs, populations, trafficking types.",
    parameters=[schema.TAXONOMY_SEARCH, *schema.PAGING],
    responses=schema.page_responses("TaxonomyPage", "taxonomy", "A page of taxonomies."),
)
@api_view(["GET", "HEAD"])
def taxonomies(request):
    filterset = TaxonomyFilter(request.query_params, queryset=Taxonomy.objects.order_by("name", "pk"))
    options = _options(ListOptions, request, filterset)
    return _answer(filterset.qs, options, documents.taxonomy_documents)


@extend_schema(
    operation_id="getTaxonomyById",
    summary="One taxonomy.",
    parameters=[schema.ID],
    responses=schema.detail_responses("taxonomy", "The taxonomy."),
)
@api_view(["GET", "HEAD"])
def taxonomy(request, id):
    key = _id(id)
    return _one(documents.taxonomy_documents(Taxonomy.objects.filter(uuid=key)), "taxonomy", key)


@extend_schema(
    operation_id="getPaginatedListOfTaxonomyTerms",
    summary="Taxonomy terms, by taxonomy, parent, or top level only.",
    parameters=[schema.TERM_SEARCH, schema.TERM_TAXONOMY_ID, schema.TOP_ONLY, schema.PARENT_ID, *schema.PAGING],
    responses=schema.page_responses("TaxonomyTermPage", "taxonomy_term", "A page of taxonomy terms."),
)
@api_view(["GET", "HEAD"])
def taxonomy_terms(request):
    terms = TaxonomyTerm.objects.order_by("taxonomy__name", "position", "name", "pk")
    filterset = TaxonomyTermFilter(request.query_params, queryset=terms)
    options = _options(ListOptions, request, filterset)
    return _answer(filterset.qs, options, documents.term_documents)


@extend_schema(
    operation_id="getTaxonomyTermById",
    summary="One taxonomy term.",
    parameters=[schema.ID],
    responses=schema.detail_responses("taxonomy_term", "The taxonomy term."),
)
@api_view(["GET", "HEAD"])
def taxonomy_term(request, id):
    key = _id(id)
    return _one(documents.term_documents(TaxonomyTerm.objects.filter(uuid=key)), "taxonomy term", key)


# --- the documentation page, and everything else under /api/ --------------------------------------------


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, served from our static files, started by a script file (no inline script or style).

    Our own two small templates: drf-spectacular's start-up script embeds a CSRF token, which would give
    every visitor a cookie for an API that takes no writes.
    """

    template_name = "api/docs.html"
    template_name_js = "api/docs.js"


def without_trailing_slash(request, path):
    """HSDS paths have no trailing slash; /api/services/ leads to /api/services, query kept."""
    target = reverse("api:root") + path
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


@extend_schema(exclude=True)
@api_view(["GET", "HEAD"])
def not_found(request, path):
    raise NotFound("There is nothing at this address. The API's paths are listed at /api/openapi.json.")
