"""A confidential place (a shelter) shows only its city/region and its intake phone anywhere public.

Unique marker values are planted in every field of a confidential place that could reveal where it is; then
every public page, every API endpoint and the HSDS export is read, and none of the markers may be there.
"""

import io
import json
import uuid
import zipfile
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.test import RequestFactory

from resources.models import Accessibility, Address, Attribute, Contact, Service, ServiceArea, Taxonomy
from resources.safety import server_error

from .conftest import (
    make_area,
    make_hotline,
    make_language,
    make_location,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
    make_term,
)

pytestmark = pytest.mark.django_db

# Text markers: a made-up word each, so that no other text on a page can contain one by chance.
MARKERS = {
    "location.name": "Qx4ShelterName",
    "location.alternate_name": "Qx4ShelterAlias",
    "location.description": "Qx4ShelterDescription",
    "location.transportation": "Qx4BusLine",
    "location.accessibility": "Qx4RampAtBack",
    "location.url": "qx4-shelter-site",
    "location.external_identifier": "Qx4ParcelId",
    "location.external_identifier_type": "Qx4IdKind",
    "address.attention": "Qx4Attention",
    "address.address_1": "Qx4Street",
    "address.address_2": "Qx4Floor",
    "address.postal_code": "QX4POST",
    "accessibility.description": "Qx4AccessDescription",
    "accessibility.details": "Qx4AccessDetails",
    "schedule.description": "Qx4HoursAtTheDoor",
    "schedule.notes": "Qx4DoorNotes",
    "contact.name": "Qx4Housemother",
    "contact.email": "qx4warden",
    "attribute.value": "Qx4AttributeValue",
    # The link between the service and the place has free text of its own.
    "service_at_location.description": "Qx4LinkDescription",
    "service_at_location.schedule": "Qx4LinkHoursNotes",
    "service_at_location.contact": "Qx4LinkContact",
    "service_at_location.attribute": "Qx4LinkAttribute",
    # The coordinates: their decimals, whatever the number's format (0.123456, "0.123456", 0.12345600).
    "location.latitude": "271828",
    "location.longitude": "314159",
}
LATITUDE = Decimal("1.271828")
LONGITUDE = Decimal("32.314159")
# What the public may see of the place.
CITY = "Gulu"
INTAKE_PHONE = "+256414111222"


@pytest.fixture
def shelter(db):
    """A published shelter at a confidential place, found by need, region, population and distance."""
    shelter_need = make_term(Taxonomy.NEEDS, "emergency-shelter", name="Emergency shelter")
    women = make_term(Taxonomy.POPULATIONS, "women")
    service = make_service(
        name="Safe Haven Uganda",
        description="A safe house for women after trafficking.",
        terms=[shelter_need, women],
    )
    make_area(service, ServiceArea.Kind.COUNTRY, country="UG")
    make_language(service=service, code="en")
    place = make_location(
        country="UG",
        state_province="Northern",
        city=CITY,
        address_1=MARKERS["address.address_1"],
        name=MARKERS["location.name"],
        alternate_name=MARKERS["location.alternate_name"],
        description=MARKERS["location.description"],
        transportation=MARKERS["location.transportation"],
        accessibility=MARKERS["location.accessibility"],
        url=f"https://{MARKERS['location.url']}.example.org/",
        external_identifier=MARKERS["location.external_identifier"],
        external_identifier_type=MARKERS["location.external_identifier_type"],
        latitude=LATITUDE,
        longitude=LONGITUDE,
        is_confidential=True,
    )
    Address.objects.filter(location=place).update(
        attention=MARKERS["address.attention"],
        address_2=MARKERS["address.address_2"],
        postal_code=MARKERS["address.postal_code"],
    )
    Accessibility.objects.create(
        location=place, description=MARKERS["accessibility.description"], details=MARKERS["accessibility.details"]
    )
    make_schedule(
        location=place, open_24_7=True, description=MARKERS["schedule.description"], notes=MARKERS["schedule.notes"]
    )
    Contact.objects.create(location=place, name=MARKERS["contact.name"], email=f"{MARKERS['contact.email']}@x.org")
    Attribute.objects.create(
        link_entity="location", link_id=place.uuid, taxonomy_term=women, value=MARKERS["attribute.value"]
    )
    make_phone(location=place, number=INTAKE_PHONE, country="UG")
    link = make_service_at_location(service, place)
    link.description = MARKERS["service_at_location.description"]
    link.save()
    make_schedule(service_at_location=link, open_24_7=True, notes=MARKERS["service_at_location.schedule"])
    Contact.objects.create(service_at_location=link, name=MARKERS["service_at_location.contact"])
    Attribute.objects.create(
        link_entity="service_at_location",
        link_id=link.uuid,
        taxonomy_term=women,
        value=MARKERS["service_at_location.attribute"],
    )
    # A hotline too, so the home, hotlines and safety pages have listings on them.
    hotline = make_service(name="Uganda Helpline", terms=[shelter_need])
    make_hotline(hotline)
    make_area(hotline, ServiceArea.Kind.COUNTRY, country="UG")
    make_phone(service=hotline, number="+256800100066", country="UG")
    return service


def leaked(text):
    return sorted(field for field, marker in MARKERS.items() if marker.lower() in text.lower())


def public_paths(service):
    organization = service.organization
    place = service.service_at_locations.get()
    return [
        "/",
        "/search/",
        "/search/?need=emergency-shelter",
        "/search/?region=UG",
        "/search/?region=Northern+Uganda",
        "/search/?population=women&language=en",
        "/search/?q=safe+haven",
        "/search/?q=shelter+gulu",
        f"/search/?lat={LATITUDE:.2f}&lon={LONGITUDE:.2f}&within=10",
        f"/search/?lat={LATITUDE:.2f}&lon={LONGITUDE:.2f}&within=100",
        f"/services/{service.uuid}/",
        f"/organizations/{organization.uuid}/",
        "/hotlines/",
        "/safety/",
        f"/shortlist/?s={service.uuid}",
        f"/shortlist/sheet/?s={service.uuid}",
        f"/shortlist/sheet/?s={uuid.uuid4()},{service.uuid}",
        f"/services/{service.uuid}/correction/",
        "/list-your-organisation/",
        f"/services/{uuid.uuid4()}/",  # the 404 page
        "/sitemap.xml",  # none today; if one is added, it is checked here
        "/api/",
        "/api/services",
        "/api/services?full=true",
        "/api/services?format=ndjson",
        "/api/services?region=UG&need=emergency-shelter",
        f"/api/services/{service.uuid}",
        "/api/organizations",
        "/api/organizations?full=true",
        f"/api/organizations/{organization.uuid}",
        "/api/service_at_locations",
        "/api/service_at_locations?format=ndjson",
        f"/api/service_at_locations/{place.uuid}",
        f"/api/service_at_locations?latitude={LATITUDE}&longitude={LONGITUDE}&proximity=5000",
        "/api/taxonomies",
        "/api/taxonomy_terms",
        "/api/openapi.json",
    ]


def test_the_shelter_is_public_with_its_city_and_intake_phone(client, shelter):
    page = client.get(f"/services/{shelter.uuid}/").content.decode()
    assert "Safe Haven Uganda" in page
    assert CITY in page
    assert "414 111222" in page or "414111222" in page
    document = client.get(f"/api/services/{shelter.uuid}").json()
    location = document["service_at_locations"][0]["location"]
    assert location["addresses"][0]["city"] == CITY
    assert location["phones"][0]["number"].replace(" ", "").endswith("414111222")


def test_no_public_page_or_api_response_holds_anything_that_locates_the_shelter(client, shelter):
    fetched = 0
    for path in public_paths(shelter):
        response = client.get(path)
        assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, path
        text = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
        assert leaked(text) == [], path
        fetched += response.status_code == HTTPStatus.OK
    # The check above is only worth something if the pages were there.
    assert fetched >= len(public_paths(shelter)) - 2


def test_the_referral_sheet_holds_the_shelters_city_and_intake_phone(client, shelter):
    assert "Safe Haven Uganda" in client.get(f"/shortlist/?s={shelter.uuid}").content.decode()
    page = client.get(f"/shortlist/sheet/?s={shelter.uuid}").content.decode()
    assert "Safe Haven Uganda" in page
    assert "414 111222" in page or "414111222" in page
    assert CITY in page


def test_the_search_page_finds_the_shelter_by_what_the_public_may_know(client, shelter):
    for path in ("/search/?region=UG", "/search/?q=safe+haven", f"/search/?lat={LATITUDE:.2f}&lon={LONGITUDE:.2f}"):
        assert "Safe Haven Uganda" in client.get(path).content.decode(), path


@pytest.mark.parametrize("field", ["location.name", "address.address_1", "address.postal_code", "location.description"])
def test_searching_for_the_shelters_secrets_does_not_find_it(client, shelter, field):
    """The search box echoes what was typed, so here the test is that the shelter is not among the results."""
    marker = MARKERS[field]
    page = client.get("/search/", {"q": marker}).content.decode()
    assert "Safe Haven Uganda" not in page
    assert client.get("/api/services", {"search": marker}).json()["contents"] == []


def test_the_api_does_not_match_the_shelter_by_postcode(client, shelter):
    response = client.get("/api/service_at_locations", {"postcode": MARKERS["address.postal_code"]})
    assert response.json()["contents"] == []


def test_the_500_page_holds_nothing_of_the_shelter(rf, shelter):
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert leaked(response.content.decode()) == []


@pytest.mark.parametrize("format", ["json", "ndjson"])
def test_the_json_export_holds_the_city_and_phone_and_nothing_that_locates_the_shelter(shelter, tmp_path, format):
    path = tmp_path / f"directory.{format}"
    call_command("export_hsds", str(path), "--format", format, stdout=io.StringIO())
    text = path.read_text()
    assert CITY in text
    assert "414111222" in text.replace(" ", "")
    assert leaked(text) == []
    if format == "json":
        assert sorted(document["name"] for document in json.loads(text)) == ["Safe Haven Uganda", "Uganda Helpline"]


def test_the_csv_export_holds_the_city_and_nothing_that_locates_the_shelter(shelter, tmp_path):
    path = tmp_path / "directory.zip"
    call_command("export_hsds", str(path), "--format", "csv", stdout=io.StringIO())
    with zipfile.ZipFile(path) as archive:
        text = "\n".join(archive.read(name).decode() for name in archive.namelist())
    assert CITY in text
    assert leaked(text) == []


def test_the_markers_would_be_seen_if_the_place_were_not_confidential(client, shelter):
    """The same fixture, the place made public: the check finds the markers, so it can fail."""
    place = shelter.service_at_locations.get().location
    place.is_confidential = False
    place.save()
    page = client.get(f"/services/{shelter.uuid}/").content.decode()
    assert {"location.name", "address.address_1", "address.postal_code"} <= set(leaked(page))
    sheet = client.get(f"/shortlist/sheet/?s={shelter.uuid}").content.decode()
    assert {"location.name", "address.address_1", "address.postal_code"} <= set(leaked(sheet))
    document = client.get(f"/api/services/{shelter.uuid}").content.decode()
    assert {"location.latitude", "location.longitude", "address.attention"} <= set(leaked(document))
    assert Service.objects.published().count() == 2
