"""The change history of listings: recorded for every write path, shown to curators, exported as HSDS
metadata, and never holding a confidential place's street address or coordinates."""

import datetime
import decimal
import io
import json
from http import HTTPStatus

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resources import history, review
from resources.hsds import export, importer, mapping
from resources.models import Address, Location, Phone, Service

from .conftest import make_location, make_phone, make_service, make_service_at_location
from .hsds_schemas import errors
from .test_admin import form_errors, formset_data

pytestmark = pytest.mark.django_db

SERVICES = "/admin/resources/service/"
# Marker strings no history row may ever hold (a shelter's street, postcode and coordinates).
STREET = "417 Kestrelmoor Hollow"
STREET_2 = "Behind the bakery, blue door"
POSTCODE = "QX9 7ZZ"
LATITUDE, LONGITUDE = decimal.Decimal("47.123457"), decimal.Decimal("-122.654321")


def historical_models():
    return [model for model in apps.get_app_config("resources").get_models() if model.__name__.startswith("Historical")]


def history_texts():
    """Every value of every row of every history table, as text."""
    return [
        str(value)
        for model in historical_models()
        for row in model.objects.values_list(*[field.attname for field in model._meta.concrete_fields])
        for value in row
        if value is not None
    ]


def assert_no_secret_in_history():
    texts = history_texts()
    assert texts  # there is history to look at
    for marker in (STREET, STREET_2, POSTCODE, str(LATITUDE), str(LONGITUDE)):
        assert not [text for text in texts if marker in text], marker
    # Coordinates compared as numbers too (a backend may store 47.1234570).
    for model in (Location.history.model,):
        assert not model.objects.filter(latitude=LATITUDE).exists()
        assert not model.objects.filter(longitude=LONGITUDE).exists()


def shelter_document(*, confidential=True, name="Safe house"):
    return {
        "id": "5b0f3a49-9d7e-4c39-8a2b-0d7c1c8f2e11",
        "name": "Shelter for women",
        "description": "Emergency shelter.",
        "status": "active",
        "organization": {"id": "0b3e6f0e-6a0b-4b8e-9f7e-2f9d3c1a5b77", "name": "Safe Homes", "description": "Homes."},
        "service_at_locations": [
            {
                "id": "8d1e2c3b-4a5f-4e6d-9c8b-7a6f5e4d3c2b",
                "location": {
                    "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                    "location_type": "physical",
                    "name": name,
                    "latitude": float(LATITUDE),
                    "longitude": float(LONGITUDE),
                    "is_confidential": confidential,
                    "addresses": [
                        {
                            "id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
                            "address_1": STREET,
                            "address_2": STREET_2,
                            "city": "Tacoma",
                            "state_province": "WA",
                            "postal_code": POSTCODE,
                            "country": "US",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
    }


@pytest.fixture
def curator(db):
    return get_user_model().objects.create_user("ann.persona", "ann@example.org", "x", is_staff=True)


@pytest.fixture
def partner(db):
    return get_user_model().objects.create_user("bo.partner", "bo@example.org", "x")


# --- who, when, which field --------------------------------------------------------------------------------


def test_an_admin_edit_is_recorded_with_the_curator_and_shown_field_by_field(admin_client, admin_user):
    service = make_service(name="Harbour clinic", description="Legal help.")
    page = admin_client.get(f"{SERVICES}{service.pk}/change/")
    data = formset_data(page)
    data.update({"organization": service.organization.pk, "name": "Harbour legal clinic", "status": "active"})
    data["description"] = "Legal help for survivors."
    response = admin_client.post(f"{SERVICES}{service.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)

    latest = service.history.latest()
    assert (latest.history_type, latest.history_user) == ("~", admin_user)
    assert (latest.name, latest.prev_record.name) == ("Harbour legal clinic", "Harbour clinic")
    changed = {change.field for change in latest.diff_against(latest.prev_record).changes}
    assert {"name", "description"} <= changed
    assert "status" not in changed

    page = admin_client.get(f"{SERVICES}{service.pk}/history/")
    assert page.status_code == HTTPStatus.OK
    assert "Harbour clinic" in page.text
    assert "Harbour legal clinic" in page.text
    assert admin_user.username in page.text


def test_the_service_history_page_lists_changes_to_its_parts(admin_client, admin_user):
    service = make_service(name="Hotline")
    page = admin_client.get(f"{SERVICES}{service.pk}/change/")
    data = formset_data(page, phones=[{"number": "(866) 347-2423", "country": "US", "type": "voice", "position": 0}])
    data.update({"organization": service.organization.pk, "name": "Hotline", "status": "active"})
    assert admin_client.post(f"{SERVICES}{service.pk}/change/", data).status_code == HTTPStatus.FOUND
    phone = service.phones.get()
    assert phone.history.get().history_user == admin_user

    page = admin_client.get(f"{SERVICES}{service.pk}/history/")
    parts = page.context["part_changes"]
    assert [(change.resource_type, change.action, change.resource_id, who) for change, who in parts] == [
        ("phone", "create", str(phone.uuid), admin_user.username)
    ]
    assert str(phone.uuid) in page.text


def test_review_transitions_and_verification_are_recorded_with_who(curator, partner):
    service = make_service(review_state=Service.ReviewState.PENDING)
    assert review.publish(Service.objects.filter(pk=service.pk), by=curator) == 1
    published = service.history.latest()
    assert (published.history_type, published.history_user, published.review_state) == ("~", curator, "published")
    assert published.prev_record.review_state == "pending"

    review.verify(Service.objects.filter(pk=service.pk), by=partner, on=datetime.date(2026, 11, 2))
    verified = service.history.latest()
    assert (verified.history_user, verified.assured_date) == (partner, datetime.date(2026, 11, 2))
    assert service.history.count() == 3  # created, published, verified

    archived = make_service()
    review.archive(Service.objects.filter(pk=archived.pk), by=curator)
    assert archived.history.latest().review_state == "archived"


def test_an_import_records_history_for_every_part_with_its_author(curator):
    document = shelter_document(confidential=False, name="Drop-in centre")
    document["phones"] = [{"id": "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b", "number": "+12065550100", "type": "voice"}]
    importer.import_documents([document], by=curator, label="proposal of Safe Homes")
    service = Service.objects.get(uuid=document["id"])
    for rows in (service.history, service.phones.get().history, Location.objects.get().history):
        (row,) = rows.all()
        assert (row.history_type, row.history_user, row.history_change_reason) == (
            "+",
            curator,
            "proposal of Safe Homes",
        )

    # The same document again writes nothing, history included; a change is one row with the change.
    with CaptureQueriesContext(connection) as queries:
        importer.import_documents([document], by=curator)
    assert not [query for query in queries if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]
    document["phones"][0]["description"] = "Intake line"
    importer.import_documents([document])
    latest = service.phones.get().history.latest()
    assert (latest.history_type, latest.description, latest.history_change_reason) == (
        "~",
        "Intake line",
        "HSDS import",
    )


def test_a_partner_proposal_approved_by_a_curator_is_recorded(curator):
    from partners import decisions, documents

    from .partners_helpers import make_partner

    service = make_service(name="Old name")
    partner = make_partner(service.organization)
    document = documents.live_document(service)
    document["name"] = "New name"
    proposal = decisions.submit_proposal(
        organization=service.organization, author=partner, document=document, service=service
    )
    before = service.history.count()
    decisions.approve_proposal(proposal, by=curator)
    rows = list(service.history.order_by("history_date", "history_id"))[before:]
    renamed = next(row for row in rows if row.name == "New name")
    assert renamed.history_type == "~"
    assert renamed.prev_record.name == "Old name"
    # The partner stated the listing was accurate: their verification is recorded with them.
    assert rows[-1].history_user == partner
    assert rows[-1].assured_date is not None


def test_the_import_command_names_its_file_and_user_as_the_author(tmp_path, curator):
    path = tmp_path / "shelters.json"
    path.write_text(json.dumps([shelter_document()]))
    call_command("import_hsds", str(path), "--by", curator.username, stdout=io.StringIO())
    row = Service.history.get()
    assert (row.history_change_reason, row.history_user) == ("HSDS import: shelters.json", curator)
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("import_hsds", str(path), "--by", "nobody", stdout=io.StringIO())


# --- confidential places --------------------------------------------------------------------------------


def test_a_confidential_place_added_in_the_admin_leaves_no_address_in_history(admin_client):
    page = admin_client.get("/admin/resources/location/add/")
    address = {
        "address_type": "physical",
        "address_1": STREET,
        "address_2": STREET_2,
        "city": "Tacoma",
        "state_province": "WA",
        "postal_code": POSTCODE,
        "country": "US",
    }
    data = formset_data(page, addresses=[address])
    data.update(
        {
            "name": "Safe house",
            "location_type": "physical",
            "is_confidential": "on",
            "latitude": str(LATITUDE),
            "longitude": str(LONGITUDE),
        }
    )
    response = admin_client.post("/admin/resources/location/add/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    assert Address.objects.get().address_1 == STREET  # kept where it belongs
    row = Address.history.get()
    assert (row.city, row.state_province, row.address_1, row.postal_code) == ("Tacoma", "WA", "", "")
    assert_no_secret_in_history()
    # Nor does the history page show it.
    location = Location.objects.get()
    page = admin_client.get(f"/admin/resources/location/{location.pk}/history/")
    assert page.status_code == HTTPStatus.OK
    assert STREET not in page.text


def test_a_place_that_becomes_confidential_has_its_earlier_history_blanked():
    location = make_location(country="US", state_province="WA", city="Tacoma", address_1=STREET, name="Safe house")
    location.latitude, location.longitude = LATITUDE, LONGITUDE
    location.save()
    address = location.addresses.get()
    address.postal_code = POSTCODE
    address.save()
    assert STREET in history_texts()  # an ordinary place's history keeps its address

    location.is_confidential = True
    location.save()
    assert_no_secret_in_history()
    assert Address.history.filter(city="Tacoma").count() == 2  # what the public may see stays

    # Later edits and deletions stay blank too.
    address.address_2 = STREET_2
    address.save()
    address.delete()
    location.delete()
    assert_no_secret_in_history()
    assert Address.history.filter(history_type="-").exists()


def test_an_imported_confidential_place_leaves_no_address_in_history(curator):
    importer.import_documents([shelter_document()], by=curator)
    assert Address.objects.get().address_1 == STREET
    assert Location.history.get().is_confidential
    assert_no_secret_in_history()


def test_an_import_that_makes_a_place_confidential_blanks_its_earlier_history():
    importer.import_documents([shelter_document(confidential=False)])
    assert STREET in history_texts()
    importer.import_documents([shelter_document(confidential=True)])
    assert Location.objects.get().is_confidential
    assert_no_secret_in_history()


def test_scrub_places_blanks_a_place_marked_confidential_behind_the_history_s_back():
    location = make_location(country="US", city="Tacoma", address_1=STREET)
    Location.objects.filter(pk=location.pk).update(is_confidential=True)  # no save, no history row
    assert STREET in history_texts()
    history.scrub_places([location.pk])
    assert_no_secret_in_history()


# --- exported as HSDS metadata ----------------------------------------------------------------------------


def exported():
    return [json.loads(line) for line in export.iter_lines()]


def test_the_export_tells_each_change_as_hsds_metadata(curator):
    service = make_service(name="Harbour clinic")
    phone = make_phone(service=service, number="+12065550100")
    Service.objects.filter(pk=service.pk).update(name="Harbour legal clinic")  # a write without history
    review.verify(Service.objects.filter(pk=service.pk), by=curator, on=datetime.date(2026, 11, 2))
    phone.delete()

    (document,) = exported()
    assert errors("service.json", document) == []
    metadata = document["metadata"]
    assert len({item["id"] for item in metadata}) == len(metadata)
    by_field = {(item["resource_type"], item["last_action_type"], item["field_name"]): item for item in metadata}
    created = by_field["service", "create", "id"]
    assert (created["resource_id"], created["replacement_value"], created["previous_value"]) == (
        str(service.uuid),
        str(service.uuid),
        "",
    )
    verified = by_field["service", "update", "assured_date"]
    assert (verified["previous_value"], verified["replacement_value"]) == ("", "2026-11-02")
    assert verified["updated_by"] == "curator"  # a role, never a person's name
    assert curator.username not in json.dumps(document)
    assert not Phone.objects.exists()
    # The name changed behind the history's back, so the next recorded row shows it.
    renamed = by_field["service", "update", "name"]
    assert (renamed["previous_value"], renamed["replacement_value"]) == ("Harbour clinic", "Harbour legal clinic")
    # The phone was added on the day the service was created: part of that creation. Its removal is a
    # change of the service, naming the phone that went.
    assert ("phone", "create", "id") not in by_field
    removed = by_field["service", "delete", "phone"]
    assert (removed["resource_id"], removed["previous_value"], removed["replacement_value"]) == (
        str(service.uuid),
        str(phone.uuid),
        "",
    )


def test_a_part_added_on_a_later_day_is_its_own_change():
    service = make_service()
    service.history.update(history_date=service.history.get().history_date - datetime.timedelta(days=3))
    phone = make_phone(service=service)
    (document,) = exported()
    created = [item for item in document["metadata"] if item["last_action_type"] == "create"]
    assert [(item["resource_type"], item["resource_id"]) for item in created] == [
        ("service", str(service.uuid)),
        ("phone", str(phone.uuid)),
    ]


def test_the_export_keeps_a_confidential_place_out_of_its_metadata():
    importer.import_documents([shelter_document()], publish=True)
    location = Location.objects.get()
    location.name = "Safe house on the hill"
    location.save()
    text = "".join(export.iter_lines())
    for marker in (STREET, STREET_2, POSTCODE, str(LATITUDE), "Safe house"):
        assert marker not in text
    (document,) = [json.loads(line) for line in export.iter_lines()]
    place = document["service_at_locations"][0]["location"]
    assert "metadata" not in place
    assert "metadata" not in place["addresses"][0]


def test_an_ordinary_place_tells_its_changes_and_its_addresses():
    importer.import_documents([shelter_document(confidential=False, name="Drop-in centre")], publish=True)
    address = Address.objects.get()
    address.postal_code = "98402"
    address.save()
    (document,) = exported()
    place = document["service_at_locations"][0]["location"]
    changes = [(item["resource_type"], item["last_action_type"], item["field_name"]) for item in place["metadata"]]
    assert changes == [("address", "update", "postal_code")]  # the place's creation is not a change to tell
    assert place["metadata"][0]["updated_by"] == "system"


def test_metadata_imported_again_is_not_told_twice():
    service = make_service()
    make_phone(service=service)
    documents = exported()
    importer.import_documents(documents, publish=True)  # our own export, back into the same database
    (again,) = exported()
    ids = [item["id"] for item in again["metadata"]]
    assert len(ids) == len(set(ids))
    assert set(ids) >= {item["id"] for item in documents[0]["metadata"]}


def test_documents_read_the_history_in_a_constant_number_of_queries():
    for number in range(3):
        service = make_service()
        make_phone(service=service)
        make_service_at_location(service, make_location(city=f"Town {number}"))

    def count():
        with CaptureQueriesContext(connection) as queries:
            services = mapping.services_for_documents(Service.objects.published())
            [mapping.service_document(service) for service in services]
        return len(queries)

    before = count()
    for number in range(5):
        service = make_service()
        make_phone(service=service)
        make_service_at_location(service, make_location(city=f"City {number}"))
    assert count() == before
