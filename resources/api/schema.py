"""The OpenAPI description of the API: every query parameter, and the HSDS shapes of the answers.

The answer shapes are our profile's schemas (HSDS 3.0 with our patches merged in), added as components by
`add_hsds_components`, so the description is complete on its own: the documentation page needs nothing
from elsewhere, and tests validate answers against this description.
"""

import copy

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .. import geo
from ..models import Service
from . import profile
from .paging import NDJSON
from .params import DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_REPEATS

UUID = {"type": "string", "format": "uuid"}
BOOLEAN = {"type": "boolean"}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _repeatable(items, description):
    return OpenApiParameter(
        items.pop("name"),
        {"type": "array", "items": items, "maxItems": MAX_REPEATS},
        explode=True,
        description=description + " Repeat the parameter for several values: they combine with OR.",
    )


def _flag(name, description):
    return OpenApiParameter(name, BOOLEAN, description=description + " Also 1/0, yes/no, on/off.")


# --- parameters -------------------------------------------------------------------------------------------

ID = OpenApiParameter("id", UUID, location=OpenApiParameter.PATH, required=True, description="The HSDS id (a UUID).")
SEARCH = OpenApiParameter(
    "search",
    str,
    description=(
        "Full-text search: every word must match. For services: the name and alternate name (best matches "
        "first), the organization, the need terms and the description. Control characters are dropped and the "
        "text is cut at 200 characters."
    ),
)
PAGE = OpenApiParameter(
    "page", {"type": "integer", "minimum": 1}, description="Page number, from 1. A page past the last is empty."
)
PER_PAGE = OpenApiParameter(
    "per_page",
    {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    description=f"Results per page: {DEFAULT_PER_PAGE} unless given, at most {MAX_PER_PAGE}.",
)
FORMAT = OpenApiParameter(
    "format",
    {"type": "string", "enum": ["json", "ndjson"]},
    description=(
        "json (a page, the default) or ndjson: every result, unpaged, one JSON document per line, streamed "
        "in the order of their ids (page and per_page are then ignored)."
    ),
)
PAGING = [PAGE, PER_PAGE, FORMAT]

TAXONOMY_TERM_ID = _repeatable(
    {"name": "taxonomy_term_id", **UUID},
    "Services with this taxonomy term or a term below it (see /taxonomy_terms).",
)
TAXONOMY_ID = _repeatable({"name": "taxonomy_id", **UUID}, "Services with a term of this taxonomy.")
ORGANIZATION_ID = _repeatable({"name": "organization_id", **UUID}, "Services of this organization.")
MODIFIED_AFTER = OpenApiParameter(
    "modified_after",
    {"type": "string", "format": "date-time"},
    description=(
        "Services modified at or after this moment: an ISO 8601 date-time (UTC unless it has an offset; "
        "write + as %2B) or a date (midnight UTC)."
    ),
)
MINIMAL = _flag(
    "minimal", "true: each service as just its id and last_modified (ask for many per page). Not with full."
)
FULL_SERVICES = _flag("full", "true: fully nested services; otherwise only their one-to-one fields.")

# Our own filters: the same as on the search page (resources/filters.py).
NEED = _repeatable(
    {"name": "need", "type": "string"},
    "Services for this need, by term code of the needs taxonomy (e.g. legal-aid); includes the needs below it.",
)
POPULATION = _repeatable(
    {"name": "population", "type": "string"}, "Services for this group of people, by term code (e.g. women)."
)
TRAFFICKING_TYPE = _repeatable(
    {"name": "trafficking_type", "type": "string"}, "Services for this form of trafficking, by term code."
)
REGION = _repeatable(
    {"name": "region", "type": "string"},
    (
        "Services in or serving this region: an ISO 3166-1 country (UG) or ISO 3166-2 subdivision (US-TX) code, "
        "or its name. A country-wide service is found in each of its subdivisions."
    ),
)
LANGUAGE = _repeatable(
    {"name": "language", "type": "string"},
    "Services offering this language (on the service, a phone line or a place): an ISO 639 code or a name.",
)
DELIVERY = _repeatable(
    {"name": "delivery", "type": "string", "enum": list(Service.Delivery.values)}, "Services offered this way."
)
OPEN_NOW = _flag("open_now", "true: only services open at this moment, by their hours in their own time zone.")
FREE = _flag("free", "true: only services that are free of charge.")
_DISTANCE = (
    "Services with a place to visit within `within` miles come first, nearest first; after them, services with "
    "no place within reach that serve the point's state or country (hotlines, online services, wide service "
    "areas). Confidential places are measured from a point rounded to 0.1°, never from their own. Not stored "
    "or logged."
)
NEAR = OpenApiParameter(
    "near",
    {"type": "string", "pattern": r"^\s*\d{5}(-?\d{4})?\s*$"},
    description="A US ZIP code (5 digits, or ZIP+4) to sort by distance from. " + _DISTANCE,
)
LAT = OpenApiParameter(
    "lat",
    {"type": "number", "minimum": -90, "maximum": 90},
    description=(
        "Latitude (WGS 84, decimal degrees) to sort by distance from, with lon; rounded to 2 decimals (about "
        "1 km) before use. near wins when both are given. " + _DISTANCE
    ),
)
LON = OpenApiParameter(
    "lon",
    {"type": "number", "minimum": -180, "maximum": 180},
    description="Longitude (WGS 84, decimal degrees), with lat; rounded to 2 decimals before use.",
)
WITHIN = OpenApiParameter(
    "within",
    {"type": "integer", "enum": list(geo.RADIUS_CHOICES), "default": geo.DEFAULT_RADIUS},
    description=f"With near or lat and lon: how far to look, in miles ({geo.DEFAULT_RADIUS} unless given).",
)
OUR_SERVICE_FILTERS = [
    NEED,
    REGION,
    POPULATION,
    TRAFFICKING_TYPE,
    LANGUAGE,
    DELIVERY,
    OPEN_NOW,
    FREE,
    NEAR,
    LAT,
    LON,
    WITHIN,
]
SERVICE_FILTERS = [SEARCH, TAXONOMY_TERM_ID, TAXONOMY_ID, ORGANIZATION_ID, MODIFIED_AFTER, *OUR_SERVICE_FILTERS]

FULL_ORGANIZATIONS = _flag(
    "full", "true: fully nested organizations, with their public services; otherwise only one-to-one fields."
)
FULL_SERVICE = _flag(
    "full_service", "true: the organization's services fully nested; otherwise only their one-to-one fields."
)
FULL_SERVICE_AT_LOCATIONS = _flag(
    "full", "true: fully nested, with the service in full; otherwise only one-to-one fields, place and service."
)
POSTCODE = OpenApiParameter(
    "postcode",
    str,
    description=(
        "Only places whose address has this postal code (case and spaces ignored). Confidential places are "
        "never matched. Service areas are not searched by postcode."
    ),
)
PROXIMITY = OpenApiParameter(
    "proximity",
    {"type": "number", "exclusiveMinimum": 0, "maximum": 20_016_000},
    description=(
        "Only places within this many metres (great-circle distance) of the point given by latitude and "
        "longitude, nearest first. Needs latitude and longitude: we cannot place a postcode on the map. "
        "Confidential places are never matched."
    ),
)
LATITUDE = OpenApiParameter(
    "latitude",
    {"type": "number", "minimum": -90, "maximum": 90},
    description="Latitude (WGS 84, decimal degrees) of the point for proximity. Not stored.",
)
LONGITUDE = OpenApiParameter(
    "longitude",
    {"type": "number", "minimum": -180, "maximum": 180},
    description="Longitude (WGS 84, decimal degrees) of the point for proximity. Not stored.",
)

TERM_SEARCH = OpenApiParameter("search", str, description="Every word in the name, description or code.")
TAXONOMY_SEARCH = OpenApiParameter("search", str, description="Every word in the name, description or slug.")
TERM_TAXONOMY_ID = _repeatable({"name": "taxonomy_id", **UUID}, "Terms of this taxonomy.")
TOP_ONLY = _flag("top_only", "true: only top-level terms (those without a parent).")
PARENT_ID = _repeatable({"name": "parent_id", **UUID}, "Terms directly below this term.")
NAME_SEARCH = OpenApiParameter("search", str, description="Every word in the name, alternate name or description.")


# --- responses ----------------------------------------------------------------------------------------------

BAD_PARAMETERS = OpenApiResponse(_ref("Error"), description="A parameter is not valid; the error names it.")
NOT_FOUND = OpenApiResponse(_ref("Error"), description="No public record has this id.")


def ndjson_of(item):
    return {"type": "string", "description": f"One JSON document per line, each a {item}."}


def page_responses(page_component, item, description):
    return {
        (200, "application/json"): OpenApiResponse(_ref(page_component), description=description),
        (200, NDJSON): OpenApiResponse(ndjson_of(item), description="With format=ndjson: every result."),
        (400, "application/json"): BAD_PARAMETERS,
    }


def detail_responses(component, description):
    return {200: OpenApiResponse(_ref(component), description=description), 400: BAD_PARAMETERS, 404: NOT_FOUND}


# --- components ---------------------------------------------------------------------------------------------


def _local_refs(node):
    """Point the schema files' references ("phone.json") at the components ("#/components/schemas/phone")."""
    if isinstance(node, dict):
        node = {key: _local_refs(value) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith(".json") and "/" not in ref:
            node["$ref"] = "#/components/schemas/" + ref.removesuffix(".json")
        return node
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def _page(item):
    properties = {
        "total_items": {"type": "integer", "minimum": 0, "description": "How many results in all."},
        "total_pages": {"type": "integer", "minimum": 0, "description": "How many pages in all."},
        "page_number": {"type": "integer", "minimum": 1, "description": "The number of this page."},
        "size": {"type": "integer", "minimum": 0, "description": "How many results on this page."},
        "first_page": {"type": "boolean", "description": "Whether this is the first page."},
        "last_page": {"type": "boolean", "description": "Whether this is the last page (or past it)."},
        "empty": {"type": "boolean", "description": "Whether this page has no results."},
        "contents": {"type": "array", "items": item},
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def _with(base, name, schema):
    """The component `base` with one more property (HSDS's API nests what its files do not)."""
    return {"allOf": [_ref(base), {"type": "object", "properties": {name: schema}}]}


def components():
    schemas = {name.removesuffix(".json"): _local_refs(schema) for name, schema in profile.schemas().items()}
    full_service_at_location = _with("service_at_location", "service", _ref("service"))
    schemas |= {
        "service_minimal": {
            "type": "object",
            "description": "A service as just its id and when it last changed (minimal=true).",
            "properties": {"id": UUID, "last_modified": {"type": "string", "format": "date-time"}},
            "required": ["id"],
        },
        "organization_with_services": _with(
            "organization",
            "services",
            {"type": "array", "items": _ref("service"), "description": "Its public services."},
        ),
        "service_at_location_with_service": full_service_at_location,
        "ServicePage": _page({"anyOf": [_ref("service"), _ref("service_minimal")]}),
        "OrganizationPage": _page(_ref("organization_with_services")),
        "ServiceAtLocationPage": _page(_ref("service_at_location_with_service")),
        "TaxonomyPage": _page(_ref("taxonomy")),
        "TaxonomyTermPage": _page(_ref("taxonomy_term")),
        "Error": {
            "type": "object",
            "properties": {
                "detail": {"type": "string", "description": "What went wrong."},
                "parameters": {
                    "type": "object",
                    "description": "For each parameter that is not valid, why.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["detail"],
        },
    }
    return schemas


def add_hsds_components(result, generator, request, public):
    """drf-spectacular post-processing hook: add the HSDS shapes the operations refer to."""
    result = copy.copy(result)
    result["components"] = {**result.get("components", {})}
    result["components"]["schemas"] = {**result["components"].get("schemas", {}), **components()}
    return result
