"""The HSDS API: what it shows and hides, its filters and pages, its errors, its profile and its description.

Every answer is checked against the official HSDS 3.0 schemas (in shared/, beside the repository) and
against our own OpenAPI description, which carries our profile.
"""

import datetime
import json
import re
from decimal import Decimal
from functools import cache
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from resources.api import paging, profile
from resources.hsds import mapping
from resources.models import Organization, Service, Taxonomy, TaxonomyTerm

from .conftest import (
    make_hotline,
    make_language,
    make_location,
    make_phone,
    make_service,
    make_service_at_location,
    make_term,
)
from .hsds_schemas import SHARED, compiled_validator
from .world import HIDDEN, build_world

pytestmark = pytest.mark.django_db

SCHEMA_DIR = SHARED / "schema"
PUBLIC = {"National Trafficking Line", "Restore Home", "Houston Record Clearing Clinic", "T Visa Project"}
HIDDEN_NAMES = {"Draft Shelter", "Pending Shelter", "Archived Shelter", "Defunct Shelter"}
# Values that must never leave the server: the confidential shelter's street, name, postcode, coordinates.
SECRETS = ("Plot 7 Secret Road", "Marker Safe House", "SECRET9", "0.347612", "32.582511")
LIST_PATHS = [
    "/api/services",
    "/api/organizations",
    "/api/service_at_locations",
    "/api/taxonomies",
    "/api/taxonomy_terms",
]


# --- schemas ------------------------------------------------------------------------------------------------


def _validator(schema, registry=None):
    kwargs = {"registry": registry} if registry is not None else {}
    return Draft202012Validator(schema, format_checker=FormatChecker(), **kwargs)


@cache
def modular_validator(name):
    """A validator for one of the official modular schemas (taxonomy.json, ...), $refs between files resolved."""
    if not SCHEMA_DIR.is_dir():
        raise FileNotFoundError(f"The official HSDS schemas are missing: {SCHEMA_DIR}")
    registry = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012))
        for path in SCHEMA_DIR.glob("*.json")
    )
    return _validator(json.loads((SCHEMA_DIR / name).read_text()), registry)


@cache
def openapi():
    response = Client().get("/api/openapi.json")
    assert response.status_code == HTTPStatus.OK
    return response.json()


@cache
def our_validator(component):
    """A validator for a component of our OpenAPI description (HSDS plus our profile)."""
    resource = Resource.from_contents(openapi(), default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:our-api", resource)
    return _validator({"$ref": f"urn:our-api#/components/schemas/{component}"}, registry)


def assert_valid(validator, document):
    problems = [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(document)]
    assert problems == [], document.get("id") if isinstance(document, dict) else document


# What each list's items and each detail must be, officially and by our description.
OFFICIAL_ITEM = {
    "/api/services": lambda: compiled_validator("service_list.json"),
    "/api/organizations": lambda: compiled_validator("organization_list.json"),
    "/api/service_at_locations": lambda: compiled_validator("service_at_location_list.json"),
    "/api/taxonomies": lambda: modular_validator("taxonomy.json"),
    "/api/taxonomy_terms": lambda: modular_validator("taxonomy_term.json"),
}
OFFICIAL_FULL_ITEM = {
    "/api/services": lambda: compiled_validator("service.json"),
    "/api/organizations": lambda: compiled_validator("organization.json"),
    "/api/service_at_locations": lambda: compiled_validator("service_at_location.json"),
    "/api/taxonomies": lambda: modular_validator("taxonomy.json"),
    "/api/taxonomy_terms": lambda: modular_validator("taxonomy_term.json"),
}
OUR_PAGE = {
    "/api/services": "ServicePage",
    "/api/organizations": "OrganizationPage",
    "/api/service_at_locations": "ServiceAtLocationPage",
    "/api/taxonomies": "TaxonomyPage",
    "/api/taxonomy_terms": "TaxonomyTermPage",
}


def assert_valid_page(path, body, *, full=False):
    assert_valid(our_validator(OUR_PAGE[path]), body)
    official = (OFFICIAL_FULL_ITEM if full else OFFICIAL_ITEM)[path]()
    for item in body["contents"]:
        if set(item) != {"id", "last_modified"}:  # minimal documents: see test_minimal_services
            assert_valid(official, item)


# --- data and requests ------------------------------------------------------------------------------------


@pytest.fixture
def world(needs, populations):
    world = build_world(needs, populations)
    office = world["legal"].service_at_locations.get().location
    office.latitude, office.longitude = Decimal("29.760400"), Decimal("-95.369800")
    office.save()
    office.addresses.update(postal_code="77002")
    home = world["restore"].service_at_locations.get().location
    home.name, home.latitude, home.longitude = "Marker Safe House", Decimal("0.347612"), Decimal("32.582511")
    home.save()
    home.addresses.update(postal_code="SECRET9")
    make_phone(location=home, number="+256414000000")
    # A hidden service at a public-looking place must not show through its place either.
    hidden_place = make_location(country="US", state_province="TX", city="Houston", address_1="2 Main Street")
    hidden_place.latitude, hidden_place.longitude = Decimal("29.760500"), Decimal("-95.369900")
    hidden_place.save()
    hidden_place.addresses.update(postal_code="77002")
    world["hidden_sal"] = make_service_at_location(world["draft"], hidden_place)
    world["needs"], world["populations"] = needs, populations
    return world


def get(client, path, **params):
    return client.get(path + ("?" + urlencode(params, doseq=True) if params else ""))


def names(body):
    return {item["name"] for item in body["contents"]}


def ndjson_lines(response):
    assert response.streaming
    assert response["Content-Type"] == paging.NDJSON
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


# --- the root, the profile, the description -------------------------------------------------------------


def test_root_names_the_hsds_version_the_profile_and_the_openapi_file(client, db):
    response = client.get("/api/")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "version": "3.0",
        "profile": "http://testserver/api/profile/",
        "openapi_url": "http://testserver/api/openapi.json",
    }
    assert client.get("/api/profile/").status_code == HTTPStatus.OK


def test_profile_serves_each_modification_and_the_schemas_they_make(client, db):
    index = client.get("/api/profile/").json()
    on_disk = sorted(path.name for path in profile.PROFILE_DIR.glob("*.json"))
    assert sorted(index["modifications"]) == on_disk
    assert set(on_disk) == {
        "service.json",
        "location.json",
        "phone.json",
        "schedule.json",
        "service_area.json",
        "taxonomy.json",
        "taxonomy_term.json",
    }
    for name, url in index["modifications"].items():
        served = client.get(url.removeprefix("http://testserver"))
        assert served.status_code == HTTPStatus.OK
        assert served.json() == json.loads((profile.PROFILE_DIR / name).read_text())
    merged = client.get(index["schemas"]["service.json"].removeprefix("http://testserver")).json()
    Draft202012Validator.check_schema(merged)
    assert "hotline" in merged["properties"]
    assert "organization_id" in merged["properties"]
    assert client.get("/api/profile/organization.json").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/api/profile/schema/nothing.json").status_code == HTTPStatus.NOT_FOUND


def test_profile_declares_every_property_the_mapping_adds():
    patches = profile.modifications()
    for model, fields in mapping.PROFILE_FIELDS.items():
        file_name = {"ServiceArea": "service_area", "TaxonomyTerm": "taxonomy_term"}.get(
            model.__name__, model.__name__.lower()
        )
        declared = set(patches[f"{file_name}.json"]["properties"])
        assert set(fields) <= declared, model.__name__
    assert set(patches["service.json"]["properties"]["hotline"]["properties"]) == set(mapping.HOTLINE_FIELDS)
    for name, schema in profile.schemas().items():
        Draft202012Validator.check_schema(schema)
        base = json.loads((SCHEMA_DIR / name).read_text())
        # Nothing of HSDS is removed: a document valid for us is valid HSDS.
        assert set(base["properties"]) <= set(schema["properties"]), name
        assert base.get("required") == schema.get("required"), name


def test_openapi_description_is_json_with_the_hsds_paths_and_fixes(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/api"}]
    paths = document["paths"]
    for path in ("/", "/services", "/services/{id}", "/organizations", "/organizations/{id}"):
        assert path in paths
    for path in ("/taxonomies", "/taxonomies/{id}", "/taxonomy_terms", "/taxonomy_terms/{id}", "/profile/"):
        assert path in paths
    assert "/service_at_locations" in paths
    assert "/service_at_locations/{id}" in paths
    # The three faults of the official description, not repeated here.
    assert paths["/taxonomy_terms"]["get"]["operationId"] == "getPaginatedListOfTaxonomyTerms"
    assert paths["/taxonomy_terms/{id}"]["get"]["operationId"] == "getTaxonomyTermById"
    detail = paths["/service_at_locations/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert detail["schema"] == {"$ref": "#/components/schemas/service_at_location_with_service"}
    modified_after = next(p for p in paths["/services"]["get"]["parameters"] if p["name"] == "modified_after")
    assert modified_after["schema"]["format"] == "date-time"
    assert "raw.githubusercontent.com" not in response.content.decode()


def documented(path):
    return {p["name"] for p in openapi()["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def test_every_service_filter_of_the_search_page_is_documented_and_used():
    from resources.api.filters import HSDSServiceFilter
    from resources.api.params import ServiceListOptions

    accepted = {"search" if name == "q" else name for name in HSDSServiceFilter.base_filters}
    assert documented("/services") == accepted | set(ServiceListOptions.base_fields)
    assert {"need", "region", "population", "language", "delivery", "open_now", "free"} <= documented("/services")


def test_every_documented_parameter_is_checked(client, world):
    """A documented parameter given nonsense is refused, so none is silently ignored."""
    free_text = {"search", "postcode"}
    for path in LIST_PATHS:
        for name in documented(path.removeprefix("/api")) - free_text:
            response = get(client, path, **{name: "nonsense☃"})
            assert response.status_code == HTTPStatus.BAD_REQUEST, (path, name)
            assert name in response.json()["parameters"], (path, name)


def test_docs_page_loads_everything_from_us(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in url for url in assets)
    for url in assets:
        assert re.match(r"/[^/]", url), url  # a path on this host, never another host
        assert client.get(url).status_code == HTTPStatus.OK, url
    assert "<script>" not in html
    assert "<style" not in html
    assert "cdn" not in html.lower()
    script = client.get(assets[-1])
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/openapi.json" in script.content.decode()
    assert "validatorUrl: null" in script.content.decode()
    assert not response.cookies
    assert not script.cookies


# --- services ---------------------------------------------------------------------------------------------


def test_browser_apps_on_other_sites_may_read_the_api_but_not_the_pages(client, world):
    origin = {"HTTP_ORIGIN": "https://referrals.example.org"}
    response = client.get("/api/services", **origin)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    preflight = client.options(
        "/api/services",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept",
        **origin,
    )
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert set(preflight["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert "Access-Control-Allow-Origin" not in client.get("/", **origin)
    assert not response.cookies


def test_services_lists_the_published_and_never_the_hidden(client, world):
    response = get(client, "/api/services")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert names(body) == PUBLIC
    assert not names(body) & HIDDEN_NAMES
    assert body["total_items"] == len(PUBLIC)
    assert_valid_page("/api/services", body)


def test_service_list_items_are_one_to_one_unless_full(client, world):
    one_to_one = get(client, "/api/services", search="Trafficking Line").json()["contents"][0]
    assert "phones" not in one_to_one
    assert one_to_one["organization"]["name"]
    assert one_to_one["hotline"]["operator_kind"] == "non_governmental"
    full = get(client, "/api/services", search="Trafficking Line", full="true").json()
    assert full["contents"][0]["phones"][0]["number"] == "+18883737888"
    assert_valid_page("/api/services", full, full=True)


def test_minimal_services_are_id_and_last_modified(client, world):
    body = get(client, "/api/services", minimal="true").json()
    assert {tuple(sorted(item)) for item in body["contents"]} == {("id", "last_modified")}
    assert {item["id"] for item in body["contents"]} == {
        str(world[key].uuid) for key in ("hotline", "restore", "legal", "visa")
    }
    # Minimal documents lack the name and status HSDS requires of a service: our description says so.
    assert_valid(our_validator("ServicePage"), body)


def test_service_detail_is_the_full_document(client, world):
    for key in ("hotline", "restore", "legal", "visa"):
        response = client.get(f"/api/services/{world[key].uuid}")
        assert response.status_code == HTTPStatus.OK
        assert_valid(compiled_validator("service.json"), response.json())
        assert_valid(our_validator("service"), response.json())
    legal = client.get(f"/api/services/{world['legal'].uuid}").json()
    assert legal["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "77002"


@pytest.mark.parametrize("key", HIDDEN)
def test_hidden_services_are_not_found(client, world, key):
    response = client.get(f"/api/services/{world[key].uuid}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert str(world[key].uuid) in response.json()["detail"]


FILTERS = [
    ({"need": "legal-aid"}, {"Houston Record Clearing Clinic"}),
    ({"need": "immigration-relief"}, {"T Visa Project"}),
    ({"need": ["t-visa", "emergency-shelter"]}, {"T Visa Project", "Restore Home"}),
    ({"region": "UG"}, {"Restore Home"}),
    ({"region": "US-TX"}, {"National Trafficking Line", "Houston Record Clearing Clinic"}),
    ({"region": "US-CA"}, {"National Trafficking Line", "T Visa Project"}),
    ({"population": "women"}, {"Restore Home"}),
    ({"language": "es"}, {"Houston Record Clearing Clinic"}),
    ({"language": "Spanish"}, {"Houston Record Clearing Clinic"}),
    ({"free": "true"}, {"National Trafficking Line", "Houston Record Clearing Clinic"}),
    ({"free": "false"}, PUBLIC),
    ({"delivery": "text"}, {"National Trafficking Line"}),
    ({"delivery": "online"}, {"T Visa Project"}),
    ({"search": "record clearing"}, {"Houston Record Clearing Clinic"}),
    ({"search": "shelter"}, {"Restore Home"}),
    ({"search": "nothing-matches-this"}, set()),
    ({"need": "legal-aid", "region": "UG"}, set()),
    ({"region": "US", "free": "1"}, {"National Trafficking Line", "Houston Record Clearing Clinic"}),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS)
def test_services_filter_like_the_search_page(client, world, params, expected):
    body = get(client, "/api/services", **params).json()
    assert names(body) == expected
    assert_valid_page("/api/services", body)


def test_services_filter_by_hsds_ids(client, world):
    needs, populations = world["needs"], world["populations"]
    by_term = get(client, "/api/services", taxonomy_term_id=str(needs["legal-aid"].uuid)).json()
    assert names(by_term) == {"Houston Record Clearing Clinic"}  # through its narrower term
    by_taxonomy = get(client, "/api/services", taxonomy_id=str(populations["women"].taxonomy.uuid)).json()
    assert names(by_taxonomy) == {"Restore Home", "Houston Record Clearing Clinic"}
    organization = world["visa"].organization
    assert names(get(client, "/api/services", organization_id=str(organization.uuid)).json()) == {"T Visa Project"}
    hidden_organization = world["draft"].organization
    assert names(get(client, "/api/services", organization_id=str(hidden_organization.uuid)).json()) == set()
    unknown = "00000000-0000-4000-8000-000000000000"
    assert names(get(client, "/api/services", taxonomy_term_id=unknown).json()) == set()


def test_services_modified_after(client, world):
    later = datetime.datetime(2030, 6, 1, 12, tzinfo=datetime.UTC)
    Service.objects.filter(pk=world["legal"].pk).update(last_modified=later)
    for value in ("2030-06-01", "2030-06-01T12:00:00Z", "2030-06-01T14:00:00+02:00", "2030-06-01T12:00:00"):
        assert names(get(client, "/api/services", modified_after=value).json()) == {"Houston Record Clearing Clinic"}, (
            value
        )
    assert names(get(client, "/api/services", modified_after="2030-06-01T12:00:01Z").json()) == set()


BAD = [
    ("/api/services", {"need": "no-such-need"}, "need"),
    ("/api/services", {"need": ["legal-aid", "no-such-need"]}, "need"),
    ("/api/services", {"region": "Atlantis"}, "region"),
    ("/api/services", {"language": "no-such-language"}, "language"),
    ("/api/services", {"delivery": "teleport"}, "delivery"),
    ("/api/services", {"free": "maybe"}, "free"),
    ("/api/services", {"open_now": "perhaps"}, "open_now"),
    ("/api/services", {"page": "abc"}, "page"),
    ("/api/services", {"page": "0"}, "page"),
    ("/api/services", {"page": "-1"}, "page"),
    ("/api/services", {"page": "1.5"}, "page"),
    ("/api/services", {"page": "٣"}, "page"),
    ("/api/services", {"per_page": "0"}, "per_page"),
    ("/api/services", {"per_page": "-1"}, "per_page"),
    ("/api/services", {"per_page": "100000"}, "per_page"),
    ("/api/services", {"per_page": "9" * 5000}, "per_page"),
    ("/api/services", {"modified_after": "notadate"}, "modified_after"),
    ("/api/services", {"modified_after": "2026-13-45"}, "modified_after"),
    ("/api/services", {"modified_after": "2026-01-01T00:00:00+99:00"}, "modified_after"),
    ("/api/services", {"taxonomy_term_id": "abc"}, "taxonomy_term_id"),
    ("/api/services", {"taxonomy_id": "123"}, "taxonomy_id"),
    ("/api/services", {"organization_id": "\x00"}, "organization_id"),
    ("/api/services", {"minimal": "maybe"}, "minimal"),
    ("/api/services", {"minimal": "true", "full": "true"}, "minimal"),
    ("/api/services", {"format": "xml"}, "format"),
    ("/api/organizations", {"full_service": "sometimes"}, "full_service"),
    ("/api/organizations", {"full": "2"}, "full"),
    ("/api/service_at_locations", {"proximity": "1000"}, "proximity"),
    ("/api/service_at_locations", {"proximity": "1000", "latitude": "29.7"}, "proximity"),
    ("/api/service_at_locations", {"latitude": "29.7", "longitude": "-95.3"}, "latitude"),
    ("/api/service_at_locations", {"proximity": "-5", "latitude": "1", "longitude": "1"}, "proximity"),
    ("/api/service_at_locations", {"proximity": "nan", "latitude": "1", "longitude": "1"}, "proximity"),
    ("/api/service_at_locations", {"proximity": "10", "latitude": "91", "longitude": "1"}, "latitude"),
    ("/api/service_at_locations", {"proximity": "10", "latitude": "1", "longitude": "inf"}, "longitude"),
    ("/api/service_at_locations", {"need": "no-such-need"}, "need"),
    ("/api/taxonomy_terms", {"top_only": "yes please"}, "top_only"),
    ("/api/taxonomy_terms", {"parent_id": "legal-aid"}, "parent_id"),
    ("/api/taxonomies", {"per_page": "501"}, "per_page"),
]


@pytest.mark.parametrize(("path", "params", "parameter"), BAD)
def test_bad_parameters_are_refused_by_name(client, world, path, params, parameter):
    response = get(client, path, **params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"]
    assert parameter in body["parameters"]
    assert all(isinstance(message, str) and message for message in body["parameters"][parameter])
    assert_valid(our_validator("Error"), body)


def test_several_bad_parameters_are_named_together(client, world):
    body = get(client, "/api/services", page="x", need="nope", modified_after="soon").json()
    assert set(body["parameters"]) == {"page", "need", "modified_after"}


@pytest.mark.parametrize("path", ["services", "organizations", "service_at_locations", "taxonomies", "taxonomy_terms"])
def test_ids_in_paths_must_be_uuids_and_known(client, db, path):
    bad = client.get(f"/api/{path}/not-a-uuid")
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert "id" in bad.json()["parameters"]
    unknown = client.get(f"/api/{path}/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert unknown["Content-Type"] == "application/json"
    assert unknown.json()["detail"]


WEIRD = ["\x00", "a\x00b", "x" * 5000, "😀🏳️‍🌈", "' OR 1=1 --", '"unclosed', "%", "NEAR(a b)", "  ", "\u202e"]


@pytest.mark.parametrize("value", WEIRD)
def test_weird_values_never_break_the_api(client, world, value):
    for path in LIST_PATHS:
        for name in [*documented(path.removeprefix("/api")), "unknown"]:
            response = get(client, path, **{name: value})
            assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST), (path, name)
            assert response["Content-Type"] in ("application/json", paging.NDJSON)
    for path in ("services", "organizations", "taxonomy_terms"):
        assert client.get(f"/api/{path}/{value[:300]}").status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)


def test_keyword_search_ignores_control_characters(client, world):
    assert names(get(client, "/api/services", search="rec\x00ord").json()) == {"Houston Record Clearing Clinic"}


# --- pages and streams ----------------------------------------------------------------------------------


def test_pages_walk_every_result_once(client, world):
    first = get(client, "/api/services", per_page=3).json()
    second = get(client, "/api/services", per_page=3, page=2).json()
    assert {key: first[key] for key in first if key != "contents"} == {
        "total_items": 4,
        "total_pages": 2,
        "page_number": 1,
        "size": 3,
        "first_page": True,
        "last_page": False,
        "empty": False,
    }
    assert (second["page_number"], second["size"], second["first_page"], second["last_page"]) == (2, 1, False, True)
    assert names(first) | names(second) == PUBLIC
    assert not names(first) & names(second)
    past = get(client, "/api/services", per_page=3, page=99).json()
    assert (past["contents"], past["size"], past["empty"], past["last_page"]) == ([], 0, True, True)
    assert get(client, "/api/services", page=999999999).status_code == HTTPStatus.OK


def test_default_page_size_and_empty_result(client, world):
    body = get(client, "/api/services").json()
    assert (body["page_number"], body["total_pages"], body["first_page"], body["last_page"]) == (1, 1, True, True)
    nothing = get(client, "/api/services", search="zzzz").json()
    assert (nothing["total_items"], nothing["total_pages"], nothing["empty"], nothing["contents"]) == (0, 0, True, [])


def test_ndjson_streams_every_result_in_chunks(client, world, monkeypatch):
    monkeypatch.setattr(paging, "CHUNK_SIZE", 1)
    monkeypatch.setattr(paging.chunks, "__defaults__", (1,))
    lines = ndjson_lines(get(client, "/api/services", format="ndjson", per_page=1))
    assert {line["name"] for line in lines} == PUBLIC
    assert len(lines) == len(PUBLIC)
    for line in lines:
        assert_valid(compiled_validator("service_list.json"), line)
    full = ndjson_lines(get(client, "/api/services", format="ndjson", full="true", need="legal-aid"))
    assert [line["name"] for line in full] == ["Houston Record Clearing Clinic"]
    assert_valid(compiled_validator("service.json"), full[0])
    minimal = ndjson_lines(get(client, "/api/services", format="ndjson", minimal="true"))
    assert {line["id"] for line in minimal} == {line["id"] for line in lines}


@pytest.mark.parametrize("path", LIST_PATHS)
def test_every_list_streams_as_ndjson(client, world, path):
    paged = get(client, path, per_page=500).json()
    lines = ndjson_lines(get(client, path, format="ndjson"))
    assert sorted(line["id"] for line in lines) == sorted(item["id"] for item in paged["contents"])
    for line in lines:
        assert_valid(OFFICIAL_ITEM[path](), line)


# --- constant queries -------------------------------------------------------------------------------------


def _add_listings(numbers, needs):
    for number in numbers:
        term = make_term(Taxonomy.NEEDS, f"need-{number}", parent=needs["legal-aid"])
        service = make_service(name=f"Listing {number}", terms=[needs["legal-aid"], term])
        make_hotline(service)
        make_phone(service=service, number="+18883737888")
        make_language(service=service, code="es")
        place = make_location(country="US", state_province="TX", city="Austin", address_1=f"{number} Elm Street")
        make_service_at_location(service, place)
        make_phone(location=place, number="+15125550100")


@pytest.mark.parametrize(
    "query",
    [
        "/api/services?need=legal-aid",
        "/api/services?need=legal-aid&full=true",
        "/api/services?need=legal-aid&minimal=true",
        "/api/organizations?full=true&full_service=true",
        "/api/organizations",
        "/api/service_at_locations?need=legal-aid&full=true",
        "/api/service_at_locations?region=US-TX",
        "/api/taxonomy_terms",
    ],
)
def test_a_page_costs_the_same_queries_for_one_result_or_twelve(client, needs, query):
    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(query + "&per_page=50" if "?" in query else query + "?per_page=50")
            assert response.status_code == HTTPStatus.OK
        return len(queries), response.json()["size"]

    _add_listings(range(1), needs)
    one, size_one = count()
    _add_listings(range(1, 12), needs)
    twelve, size_twelve = count()
    assert size_twelve > size_one >= 1
    assert twelve == one


# --- organizations ----------------------------------------------------------------------------------------


def test_organizations_are_those_with_public_services(client, world):
    body = get(client, "/api/organizations").json()
    expected = {world[key].organization.name for key in ("hotline", "restore", "legal", "visa")}
    assert names(body) == expected
    assert not names(body) & {world[key].organization.name for key in HIDDEN}
    assert_valid_page("/api/organizations", body)
    assert all("services" not in item for item in body["contents"])


def test_full_organizations_nest_only_public_services(client, world):
    shared = world["legal"].organization
    make_service(name="Secret Draft Program", organization=shared, review_state=Service.ReviewState.DRAFT)
    body = get(client, "/api/organizations", full="true", search=shared.name).json()
    assert [item["name"] for item in body["contents"]] == [shared.name]
    services = body["contents"][0]["services"]
    assert [service["name"] for service in services] == ["Houston Record Clearing Clinic"]
    assert "phones" not in services[0]
    assert_valid_page("/api/organizations", body, full=True)
    nested = get(client, "/api/organizations", full="true", full_service="true", search=shared.name).json()
    assert nested["contents"][0]["services"][0]["phones"]
    assert_valid_page("/api/organizations", nested, full=True)


def test_organization_detail_and_hidden_organizations(client, world):
    organization = world["restore"].organization
    response = client.get(f"/api/organizations/{organization.uuid}", {"full_service": "true"})
    assert response.status_code == HTTPStatus.OK
    document = response.json()
    assert [service["name"] for service in document["services"]] == ["Restore Home"]
    assert_valid(compiled_validator("organization.json"), document)
    assert_valid(our_validator("organization_with_services"), document)
    simple = client.get(f"/api/organizations/{organization.uuid}").json()
    assert "service_at_locations" not in simple["services"][0]
    assert_valid(compiled_validator("organization.json"), simple)
    for key in HIDDEN:
        assert client.get(f"/api/organizations/{world[key].organization.uuid}").status_code == HTTPStatus.NOT_FOUND
    assert Organization.objects.filter(pk=world["draft"].organization.pk).exists()


# --- services at locations ------------------------------------------------------------------------------


def test_service_at_locations_of_published_services_only(client, world):
    body = get(client, "/api/service_at_locations").json()
    services = {item["service"]["name"] for item in body["contents"]}
    assert services == {"Houston Record Clearing Clinic", "Restore Home"}
    assert str(world["hidden_sal"].uuid) not in {item["id"] for item in body["contents"]}
    assert_valid_page("/api/service_at_locations", body)
    full = get(client, "/api/service_at_locations", full="true").json()
    assert_valid_page("/api/service_at_locations", full, full=True)
    assert all("service_at_locations" in item["service"] for item in full["contents"])
    hidden = client.get(f"/api/service_at_locations/{world['hidden_sal'].uuid}")
    assert hidden.status_code == HTTPStatus.NOT_FOUND


def test_service_at_location_detail(client, world):
    sal = world["legal"].service_at_locations.get()
    document = client.get(f"/api/service_at_locations/{sal.uuid}").json()
    assert document["service"]["name"] == "Houston Record Clearing Clinic"
    assert document["location"]["addresses"][0]["address_1"] == "1 Main Street"
    assert_valid(compiled_validator("service_at_location.json"), document)
    assert_valid(our_validator("service_at_location_with_service"), document)


def test_postcode_finds_public_places_and_never_confidential_ones(client, world):
    found = get(client, "/api/service_at_locations", postcode="77002").json()
    assert {item["service"]["name"] for item in found["contents"]} == {"Houston Record Clearing Clinic"}
    assert {
        item["service"]["name"]
        for item in get(client, "/api/service_at_locations", postcode=" 770 02").json()["contents"]
    } == {"Houston Record Clearing Clinic"}
    assert get(client, "/api/service_at_locations", postcode="secret9").json()["total_items"] == 0


def test_proximity_finds_places_within_metres_nearest_first(client, world):
    near_houston = {"latitude": "29.75", "longitude": "-95.36"}
    found = get(client, "/api/service_at_locations", proximity="5000", **near_houston).json()
    assert [item["service"]["name"] for item in found["contents"]] == ["Houston Record Clearing Clinic"]
    assert get(client, "/api/service_at_locations", proximity="100", **near_houston).json()["total_items"] == 0
    # Standing at the shelter's door finds nothing: its coordinates are never used.
    at_shelter = {"latitude": "0.347612", "longitude": "32.582511", "proximity": "20000000"}
    assert {
        item["service"]["name"] for item in get(client, "/api/service_at_locations", **at_shelter).json()["contents"]
    } == {"Houston Record Clearing Clinic"}
    # Dallas is nearer to Houston than Kampala, and the answer is ordered by distance.
    dallas_service = make_service(name="Dallas Clinic")
    dallas = make_location(
        country="US", state_province="TX", city="Dallas", latitude=Decimal("32.7767"), longitude=Decimal("-96.797")
    )
    make_service_at_location(dallas_service, dallas)
    ordered = get(client, "/api/service_at_locations", proximity="2000000", latitude="29.4", longitude="-98.5").json()
    assert [item["service"]["name"] for item in ordered["contents"]] == [
        "Houston Record Clearing Clinic",
        "Dallas Clinic",
    ]
    # Edge points: the poles and the antimeridian do not break the arithmetic.
    for point in ({"latitude": "90", "longitude": "180"}, {"latitude": "-90", "longitude": "-180"}):
        assert get(client, "/api/service_at_locations", proximity="1", **point).status_code == HTTPStatus.OK


def test_confidential_places_never_leave_the_server(client, world):
    urls = [
        "/api/services?full=true",
        f"/api/services/{world['restore'].uuid}",
        "/api/service_at_locations?full=true",
        f"/api/service_at_locations/{world['restore'].service_at_locations.get().uuid}",
        f"/api/organizations/{world['restore'].organization.uuid}?full_service=true",
        "/api/organizations?full=true&full_service=true",
    ]
    for url in urls:
        text = client.get(url).content.decode()
        assert "Kampala" in text, url  # the city is public
        for secret in SECRETS:
            assert secret not in text, (url, secret)
    stream = b"".join(client.get("/api/service_at_locations?format=ndjson&full=true").streaming_content).decode()
    assert "+256414000000" in stream  # the intake phone is shown
    for secret in SECRETS:
        assert secret not in stream


# --- taxonomies -------------------------------------------------------------------------------------------


def test_taxonomies_and_terms_validate(client, world):
    taxonomies = get(client, "/api/taxonomies").json()
    assert {item["name"] for item in taxonomies["contents"]} == {"Needs", "Populations", "Trafficking-Types"}
    assert_valid_page("/api/taxonomies", taxonomies)
    terms = get(client, "/api/taxonomy_terms", per_page=100).json()
    assert terms["total_items"] == TaxonomyTerm.objects.count()
    assert_valid_page("/api/taxonomy_terms", terms)
    needs = Taxonomy.objects.get(slug=Taxonomy.NEEDS)
    one = client.get(f"/api/taxonomies/{needs.uuid}").json()
    assert one["slug"] == "needs"
    assert_valid(modular_validator("taxonomy.json"), one)
    term = client.get(f"/api/taxonomy_terms/{world['needs']['t-visa'].uuid}").json()
    assert term["parent_id"] == str(world["needs"]["immigration-relief"].uuid)
    assert_valid(modular_validator("taxonomy_term.json"), term)
    assert_valid(our_validator("taxonomy_term"), term)


def test_terms_by_taxonomy_parent_and_top_level(client, world):
    needs = world["needs"]

    def codes(**params):
        return {item["code"] for item in get(client, "/api/taxonomy_terms", **params).json()["contents"]}

    assert codes(parent_id=str(needs["legal-aid"].uuid)) == {"record-clearing"}
    assert codes(top_only="true", taxonomy_id=str(needs["legal-aid"].taxonomy.uuid)) == {
        "legal-aid",
        "immigration-relief",
        "emergency-shelter",
        "reporting-trafficking",
    }
    assert codes(taxonomy_id=str(world["populations"]["women"].taxonomy.uuid)) == {
        "women",
        "minors",
        "foreign-nationals",
    }
    assert codes(search="visa") == {"t-visa"}
    assert "record-clearing" in codes(top_only="false", per_page=100)


# --- HTTP ---------------------------------------------------------------------------------------------------


def test_a_trailing_slash_leads_to_the_hsds_path_with_the_query(client, db):
    response = client.get("/api/services/?need=legal-aid&page=2")
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/api/services?need=legal-aid&page=2"
    assert client.get("/api/taxonomies/")["Location"] == "/api/taxonomies"
    assert client.get("/api/docs")["Location"] == "/api/docs/"
    assert client.get("/api/profile")["Location"] == "/api/profile/"


def test_unknown_api_paths_are_json_not_found(client, db):
    response = client.get("/api/nothing-here")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"


def test_the_api_is_read_only_and_sets_no_cookies(client, world):
    assert client.post("/api/services", {}).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.delete(f"/api/services/{world['legal'].uuid}").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.head("/api/services").status_code == HTTPStatus.OK
    for url in ("/api/", "/api/services", "/api/docs/", "/api/openapi.json"):
        assert not client.get(url).cookies, url


# --- property-based: any query gives a valid answer or a 400 ---------------------------------------------


def _values(world_ids):
    scalars = st.one_of(
        st.sampled_from(
            [
                "true",
                "false",
                "maybe",
                "1",
                "0",
                "-1",
                "2",
                "500",
                "501",
                "ndjson",
                "json",
                "legal-aid",
                "t-visa",
                "women",
                "UG",
                "US-TX",
                "Texas",
                "es",
                "text",
                "online",
                "77002",
                "2026-01-01",
                "2026-01-01T00:00:00Z",
                "29.76",
                "-95.37",
                "5000",
                "\x00",
                "😀",
                "x" * 3000,
                *world_ids,
            ]
        ),
        st.text(max_size=20),
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    )
    return st.one_of(scalars, st.lists(scalars, min_size=1, max_size=3))


def _check_property(client, path, params):
    response = client.get(path + "?" + urlencode(params, doseq=True))
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST), (path, params, response.status_code)
    if response.status_code == HTTPStatus.BAD_REQUEST:
        assert_valid(our_validator("Error"), response.json())
        assert set(response.json()["parameters"]) <= documented(path.removeprefix("/api"))
    elif response.streaming:
        full = str(params.get("full", "")).lower() in ("true", "1", "yes", "on")
        for line in ndjson_lines(response):
            if set(line) != {"id", "last_modified"}:
                assert_valid((OFFICIAL_FULL_ITEM if full else OFFICIAL_ITEM)[path](), line)
    else:
        assert_valid(our_validator(OUR_PAGE[path]), response.json())


@pytest.mark.parametrize("path", LIST_PATHS)
def test_any_query_gives_a_valid_page_or_a_400(client, world, path):
    ids = [str(world[key].uuid) for key in ("legal", "restore")]
    ids += [str(world["needs"]["legal-aid"].uuid), str(world["needs"]["legal-aid"].taxonomy.uuid)]
    names_ = [*sorted(documented(path.removeprefix("/api"))), "q", "unknown"]

    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.dictionaries(st.sampled_from(names_), _values(ids), max_size=4))
    def check(params):
        _check_property(client, path, params)

    check()


def test_shared_schemas_are_present():
    """The official schemas must be beside the repository: their absence is a failure, never a skip."""
    assert Path(SCHEMA_DIR / "compiled" / "service.json").is_file()
