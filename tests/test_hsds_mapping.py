import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resources.hsds import mapping
from resources.models import (
    Contact,
    CostOption,
    Organization,
    Program,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
)

from .conftest import (
    make_area,
    make_hotline,
    make_language,
    make_location,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
)
from .hsds_schemas import errors
from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(needs, populations):
    world = build_world(needs, populations)
    legal = world["legal"]
    program = Program.objects.create(organization=legal.organization, name="Justice", description="Legal programs.")
    Service.objects.filter(pk=legal.pk).update(program=program, minimum_age=18, assured_date=datetime.date(2026, 1, 5))
    CostOption.objects.create(service=legal, option="Everyone", currency="USD", amount=0)
    contact = Contact.objects.create(service=legal, name="Intake desk", email="intake@example.org")
    make_phone(contact=contact, number="+17135550101", extension="12")
    make_schedule(service=legal, description="Evening clinic by appointment")
    make_area(legal, ServiceArea.Kind.OTHER, name="Greater Houston", extent_type="text", extent="Harris County")
    return world


def documents():
    return [
        mapping.service_document(service) for service in mapping.services_for_documents(Service.objects.published())
    ]


def test_every_service_document_validates_against_the_official_schema(world):
    for document in documents():
        assert errors("service.json", document) == [], document["name"]


def test_organization_and_service_at_location_documents_validate(world):
    for organization in mapping.organizations_for_documents(Organization.objects.with_public_services()):
        services = mapping.services_for_documents(Service.objects.published().filter(organization=organization))
        document = mapping.organization_document(organization, services=services)
        assert errors("organization.json", document) == []
    for sal in mapping.service_at_locations_for_documents(ServiceAtLocation.objects.all()):
        assert errors("service_at_location.json", mapping.service_at_location_document(sal)) == []


def test_document_carries_what_a_directory_needs(world):
    legal = next(doc for doc in documents() if doc["name"] == "Houston Record Clearing Clinic")
    assert legal["phones"][0]["number"] == "+17135550100"
    assert legal["minimum_age"] == 18
    assert legal["assured_date"] == "2026-01-05"
    assert legal["program"]["name"] == "Justice"
    assert legal["contacts"][0]["phones"][0]["extension"] == 12
    assert {a["taxonomy_term"]["code"] for a in legal["attributes"]} == {"record-clearing", "foreign-nationals"}
    hours = {s.get("byday"): s for s in legal["schedules"]}
    assert hours["MO"]["opens_at"] == "09:00:00"
    assert hours["MO"]["timezone_name"] == "America/Chicago"
    assert {area.get("kind") for area in legal.get("service_areas", [])} == {"other"}
    location = legal["service_at_locations"][0]["location"]
    assert location["addresses"][0]["address_1"] == "1 Main Street"
    assert location["addresses"][0]["state_province"] == "TX"


def test_a_confidential_location_keeps_only_city_region_and_intake_phone(world):
    home = world["restore"].service_at_locations.first().location
    home.latitude, home.longitude, home.name = 0.3476, 32.5825, "Marker Safe House"
    home.save()
    make_phone(location=home, number="+256414000000")
    restore = next(doc for doc in documents() if doc["name"] == "Restore Home")
    location = restore["service_at_locations"][0]["location"]
    text = str(restore)
    for secret in ("Plot 7 Secret Road", "Marker Safe House", "0.3476", "32.5825"):
        assert secret not in text
    assert location["is_confidential"] is True
    assert location["addresses"][0]["city"] == "Kampala"
    assert location["phones"][0]["number"] == "+256414000000"


def test_hotline_facts_travel_as_profile_properties(world):
    hotline = next(doc for doc in documents() if doc["name"] == "National Trafficking Line")
    assert hotline["hotline"]["operator_kind"] == "non_governmental"
    assert hotline["schedules"][0]["open_24_7"] is True
    assert hotline["is_free"] is True


def test_only_public_services_become_documents(world):
    names = {doc["name"] for doc in documents()}
    assert "Restore Home" in names
    assert not names & {"Draft Shelter", "Pending Shelter", "Archived Shelter", "Defunct Shelter"}


def test_fields_from_reads_back_what_plain_writes(world):
    legal = Service.objects.get(pk=world["legal"].pk)
    values = mapping.fields_from(Service, mapping.plain(legal))
    assert values["name"] == legal.name
    assert values["minimum_age"] == 18
    assert values["assured_date"] == datetime.date(2026, 1, 5)
    assert values["is_free"] is True
    schedule = Schedule.objects.filter(service=legal, byday="MO").get()
    assert mapping.fields_from(Schedule, mapping.plain(schedule))["timezone"] == "America/Chicago"


def test_documents_take_a_constant_number_of_queries(world):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert documents()
        return len(queries)

    def add(numbers):
        for number in numbers:
            service = make_service(name=f"Extra {number}", terms=[world["legal"].terms.first()])
            make_hotline(service)
            make_phone(service=service, number="+18883737888")
            make_language(service=service, code="es")
            place = make_location(country="US", state_province="TX", city="Austin")
            make_service_at_location(service, place)
            make_phone(location=place, number="+15125550100")

    add(range(1))
    one = count()
    add(range(1, 11))
    assert count() == one
