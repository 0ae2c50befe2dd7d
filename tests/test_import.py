"""Import of HSDS 3.0 data: the official examples, our own documents, broken files, the command."""

import copy
import datetime
import io
import json
import re
import uuid
from pathlib import Path

import phonenumbers
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from resources.demo import load_demo_data
from resources.hsds import export, importer, mapping, tabular, validation
from resources.models import (
    Address,
    Attribute,
    Contact,
    CostOption,
    Language,
    Location,
    Metadata,
    MetaTableDescription,
    Organization,
    Phone,
    Program,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

from .conftest import make_location, make_service

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLES = SHARED / "hsds" / "3.0" / "examples"

SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"
ORGANIZATION_ID = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
LOCATION_ID = "3a19ff88-4620-4d17-9830-ac1d859eb5d5"
PHONE_ID = "1554f2e2-a373-45db-a3fa-9fc48a61c15e"
CONTACT_ID = "1e7efce3-639b-4880-940c-b95cd30cdb50"


@pytest.fixture(scope="session")
def examples():
    if not EXAMPLES.is_dir():
        pytest.fail(f"The official HSDS examples are missing: {EXAMPLES} (shared/ must sit beside the repository).")
    return EXAMPLES


def example(name):
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def snapshot():
    """Every row of every table the app owns."""
    models = [m for m in apps.get_app_config("resources").get_models(include_auto_created=True) if not m._meta.proxy]
    return {model._meta.db_table: list(model.objects.order_by("pk").values()) for model in models}


def service_document(uuid_text):
    (service,) = mapping.services_for_documents(Service.objects.filter(uuid=uuid_text))
    return mapping.service_document(service)


def organization_document(uuid_text):
    (organization,) = mapping.organizations_for_documents(Organization.objects.filter(uuid=uuid_text))
    services = mapping.services_for_documents(Service.objects.filter(organization=organization))
    return mapping.organization_document(organization, services=services)


# --- comparing documents --------------------------------------------------------------------------------


def _e164(number):
    return phonenumbers.format_number(
        phonenumbers.parse(number.strip().strip('"')), phonenumbers.PhoneNumberFormat.E164
    )


def _same(path, given, got):
    if path.endswith(".number") and isinstance(given, str):
        return _e164(given) == got  # stored in E.164: spaces (and the example's quotes) go
    if path.endswith("last_modified"):
        return datetime.datetime.fromisoformat(given) == datetime.datetime.fromisoformat(got)
    if isinstance(given, int | float) and isinstance(got, int | float) and not isinstance(given, bool):
        return float(given) == float(got)
    return given == got


def differences(given, got, path="$"):
    """Every path of `given` whose value `got` lacks or holds differently (lists matched by id)."""
    if isinstance(given, dict):
        if not isinstance(got, dict):
            return [path]
        found = []
        for key, value in given.items():
            if key not in got:
                found.append(f"{path}.{key}")
            else:
                found += differences(value, got[key], f"{path}.{key}")
        return found
    if isinstance(given, list) and given and all(isinstance(item, dict) and "id" in item for item in given):
        by_id = {item.get("id"): item for item in got} if isinstance(got, list) else {}
        found = []
        for index, item in enumerate(given):
            if item["id"] not in by_id:
                found.append(f"{path}[{index}]")
            else:
                found += differences(item, by_id[item["id"]], f"{path}[{index}]")
        return found
    return [] if _same(path, given, got) else [path]


def assert_matches(given, got, exceptions):
    """`got` holds every field of `given`, except the listed paths; and each listed path really differs."""
    found = differences(given, got)

    def excused(path):
        return any(path == known or path.startswith((known + ".", known + "[")) for known in exceptions)

    assert [path for path in found if not excused(path)] == []
    for known in exceptions:
        assert any(path == known or path.startswith((known + ".", known + "[")) for path in found), (
            f"{known} is listed as an exception but matches"
        )


# What our rules or our documents keep from coming back out of the official service example, and why.
SERVICE_EXCEPTIONS = {
    # Our rules reject it.
    "$.service_at_locations[0].location.latitude": "latitude 100 is impossible: both coordinates left out",
    "$.service_at_locations[0].location.longitude": "left out with the impossible latitude",
    "$.organization.parent_organization_id": "names an organization in no file and not in the database",
    # Stored, but not part of what service_document says.
    "$.organization.funding": "service_document gives the organization's own fields; organization_document its lists",
    "$.organization.contacts": "as above",
    "$.organization.phones": "as above",
    "$.organization.programs": "as above",
    "$.organization.organization_identifiers": "as above",
    "$.organization.locations": "as above; organization_document has no locations either (checked in the database)",
    "$.attributes[0].taxonomy_term.parent_id": "names a term in no file and not in the database: link left out",
    "$.attributes[0].taxonomy_term.taxonomy": "the example names the taxonomy 'taxonomy' here but 'name' in its "
    "taxonomy_detail; we keep the taxonomy itself, so the name given is the detail's",
}


# --- the official examples ------------------------------------------------------------------------------


def test_official_service_example_imports_and_comes_back_field_by_field(examples):
    given = example("service_full.json")
    report = importer.import_documents(given)
    assert (report.imported, report.unchanged, report.invalid) == (1, 0, [])
    assert_matches(given, service_document(SERVICE_ID), SERVICE_EXCEPTIONS)


def test_official_example_breaks_of_our_rules_are_reported_precisely(examples):
    report = importer.import_documents(example("service_full.json"))
    assert report.warnings == [
        f"services[0] {SERVICE_ID}: $.service_at_locations[0].location.latitude: coordinates 100, 101 are "
        "impossible (latitude -90..90, longitude -180..180): left out",
        f"services[0] {SERVICE_ID}: $.attributes[0].taxonomy_term.parent_id: no taxonomy term "
        "0bc248fa-dc27-4650-9ba4-8f1a24ef16a2 in this input or the database: link left out",
        f"services[0] {SERVICE_ID}: $.organization.parent_organization_id: no organization "
        "cd09a387-91f4-4555-94ec-e799c35344cd in this input or the database: link left out",
    ]
    location = Location.objects.get(uuid=LOCATION_ID)
    assert (location.latitude, location.longitude) == (None, None)
    assert location.name == "MyCity Civic Center"


def test_generic_attributes_and_metadata_are_stored_and_emitted_where_they_were(examples):
    importer.import_documents(example("service_full.json"))
    attribute = Attribute.objects.select_related("taxonomy_term__taxonomy").get()
    assert (attribute.link_entity, str(attribute.link_id), attribute.link_type, attribute.value) == (
        "link_entity",
        SERVICE_ID,
        "link_type",
        "value",
    )
    assert attribute.taxonomy_term.code == "code"
    assert attribute.taxonomy_term.taxonomy.name == "name"
    metadata = Metadata.objects.get()
    assert (str(metadata.resource_id), metadata.resource_type, metadata.field_name) == (SERVICE_ID, "location", "name")
    assert metadata.last_action_date == datetime.date(2011, 1, 1)
    assert (metadata.previous_value, metadata.replacement_value) == ("MyCity Civic Center", "MyCity New Civic Center")
    organization = Organization.objects.get(uuid=ORGANIZATION_ID)
    assert list(organization.locations.values_list("uuid", flat=True)) == [uuid.UUID(LOCATION_ID)]
    document = service_document(SERVICE_ID)
    (emitted,) = [item for item in document["attributes"] if item["id"] == str(attribute.uuid)]
    assert (emitted["link_entity"], emitted["link_id"], emitted["value"]) == ("link_entity", SERVICE_ID, "value")
    # The imported metadata first, then what our history recorded: the import created the service.
    imported, *recorded = document["metadata"]
    assert [(item["last_action_type"], item["field_name"], item["updated_by"]) for item in recorded] == [
        ("create", "id", "HSDS import")
    ]
    assert [imported] == [
        {
            "id": str(metadata.uuid),
            "resource_id": SERVICE_ID,
            "resource_type": "location",
            "last_action_date": "2011-01-01",
            "last_action_type": "update",
            "field_name": "name",
            "previous_value": "MyCity Civic Center",
            "replacement_value": "MyCity New Civic Center",
            "updated_by": "Ann Persona",
        }
    ]


def test_an_object_listed_under_several_owners_is_one_row_with_each_owner(examples):
    importer.import_documents(example("service_full.json"))
    phone = Phone.objects.get()
    service, location = Service.objects.get(), Location.objects.get()
    assert str(phone.uuid) == PHONE_ID
    assert (phone.service, phone.location, phone.organization_id) == (service, location, service.organization_id)
    assert phone.contact == Contact.objects.get(uuid=CONTACT_ID)
    assert phone.service_at_location == ServiceAtLocation.objects.get()
    contact = phone.contact
    assert (contact.service, contact.location, contact.organization_id) == (service, location, service.organization_id)
    assert contact.service_at_location == phone.service_at_location
    language = Language.objects.get()
    assert (language.service, language.location, language.phone) == (service, location, phone)
    schedule = Schedule.objects.get()
    assert (schedule.service, schedule.location, schedule.service_at_location) == (
        service,
        location,
        phone.service_at_location,
    )
    assert Program.objects.get().organization_id == service.organization_id == service.program.organization_id


def test_hsds_shapes_become_our_fields(examples):
    importer.import_documents(example("service_full.json"))
    assert Phone.objects.get().number == "+441234234567"
    assert Phone.objects.get().extension == "100"
    schedule = Schedule.objects.get()
    # HSDS gives only an offset; the zone of that whole-hour offset keeps "open now" right.
    assert (schedule.utc_offset, schedule.timezone) == (3, "Etc/GMT-3")
    area = ServiceArea.objects.get()
    assert (area.kind, area.extent, area.extent_type) == (ServiceArea.Kind.OTHER, "extent", "geojson")
    service = Service.objects.get()
    assert service.last_modified == datetime.datetime(2023, 3, 15, 10, 30, 45, 123000, tzinfo=datetime.UTC)
    assert Address.objects.get().country == "US"


def test_official_organization_example_comes_back_field_by_field(examples):
    given = example("organization_full.json")
    # Published: a place only an unreviewed service uses is not shown with its organization.
    report = importer.import_documents(given, publish=True)
    assert (report.imported, report.invalid) == (1, [])
    exceptions = {
        "$.parent_organization_id": "names an organization in no file and not in the database",
        "$.locations[0].latitude": "latitude 100 is impossible: both coordinates left out",
        "$.locations[0].longitude": "left out with the impossible latitude",
        **{key.replace("$.", "$.services[0].", 1): reason for key, reason in SERVICE_EXCEPTIONS.items()},
    }
    for key in [key for key in exceptions if key.startswith("$.services[0].organization")]:
        del exceptions[key]  # organization_full's service does not repeat its organization
    assert_matches(given, organization_document(ORGANIZATION_ID), exceptions)


def test_an_organization_shows_no_place_that_only_an_unreviewed_service_uses(examples):
    importer.import_documents(example("organization_full.json"))
    assert Location.objects.count() == 1
    assert "locations" not in organization_document(ORGANIZATION_ID)
    Service.objects.update(review_state=Service.ReviewState.PUBLISHED)
    assert [place["id"] for place in organization_document(ORGANIZATION_ID)["locations"]] == [LOCATION_ID]


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("service_list.json", {Service: 1}),
        ("organization_list.json", {Organization: 1}),
        ("service_at_location_full.json", {ServiceAtLocation: 1, Service: 1}),
        ("service_at_location_list.json", {ServiceAtLocation: 1, Service: 1}),
        ("location.json", {Location: 1}),
        ("taxonomy.json", {Taxonomy: 1}),
        ("taxonomy_list.json", {Taxonomy: 1}),
        ("taxonomy_term.json", {TaxonomyTerm: 1, Taxonomy: 1}),
        ("taxonomy_term_list.json", {TaxonomyTerm: 1, Taxonomy: 1}),
    ],
)
def test_every_official_json_example_imports(examples, name, kinds):
    report = importer.import_path(examples / name)
    assert (report.imported, report.invalid) == (1, [])
    for model, count in kinds.items():
        assert model.objects.count() == count


def test_official_service_at_location_example_keeps_its_location_and_service(examples):
    given = example("service_at_location_full.json")
    importer.import_documents(given)
    (sal,) = mapping.service_at_locations_for_documents(ServiceAtLocation.objects.all())
    document = mapping.service_at_location_document(sal)
    exceptions = {
        "$.location.latitude": "impossible: left out",
        "$.location.longitude": "left out with the latitude",
        "$.service": "the service is imported (compared below); a service at location document names it by id",
    }
    assert_matches(given, document, exceptions)
    service_exceptions = {
        key: reason for key, reason in SERVICE_EXCEPTIONS.items() if not key.startswith("$.service_at_locations")
    }
    assert_matches(given["service"], service_document(SERVICE_ID), service_exceptions)


def test_official_csv_package_imports_and_names_the_rows_it_cannot_place(examples):
    report = importer.import_path(examples / "csv")
    assert report.summary == "imported 4, unchanged 0, invalid 3"
    assert [str(record) for record in report.invalid] == [
        # Each names an id found nowhere in the package: the example's rows do not agree with each other.
        "taxonomy_terms[0] 3f7b145d-84af-42d7-8fae-eaca714b02b2: $.taxonomy_id: no taxonomy "
        "07ff6aee-a219-438c-b694-d2fcb6c5373b in this input or the database",
        "attributes[0] ae58cc39-8b70-4ab1-8aea-786882e5ac8e: attributes.csv row 1: link_id "
        "f28dd44b-0c4d-479f-8e90-4c52219a8b3c: names no row of this package that holds it",
        "metadata[0] 6cd71e9f-1013-49d9-8370-26b8f59d3e5a: metadata.csv row 1: resource_id "
        "38960354-e7d2-4cfa-a368-820f729d6ccf: names no row of this package that holds it",
    ]
    assert MetaTableDescription.objects.get().character_set == "ASCII"
    assert Taxonomy.objects.get().name == "name"


def test_official_csv_package_comes_back_field_by_field(examples):
    importer.import_path(examples / "csv")
    given = next(document for document in tabular.read_package(examples / "csv") if document.get("status"))
    links = r"_id$"
    exceptions = {
        "$.service_at_locations[0].location.latitude": "impossible: left out",
        "$.service_at_locations[0].location.longitude": "left out with the latitude",
        "$.organization.parent_organization_id": "names an organization in no table",
        "$.service_at_locations[0].location.organization_id": "names an organization in no table",
        "$.contacts[0].organization_id": "names an organization in no table",
        "$.contacts[0].service_at_location_id": "names a service at location in no table",
    }
    found = differences(given, service_document(SERVICE_ID))
    # Every row of the tabular form lists all its owners' ids; a document names the owner it nests a row
    # under. Those links are checked in the database instead.
    other_owner = [path for path in found if re.search(links, path) and path not in exceptions]
    assert other_owner
    assert_matches(given, service_document(SERVICE_ID), {**exceptions, **dict.fromkeys(other_owner, "another owner")})
    phone = Phone.objects.get()
    assert all((phone.service_id, phone.location_id, phone.organization_id, phone.contact_id))
    assert phone.service_at_location_id
    language = Language.objects.get()
    assert all((language.service_id, language.location_id, language.phone_id))


def test_official_tabular_json_example_reads_like_the_csv_package(examples):
    report = importer.import_path(examples / "tabular.json")
    assert (report.imported, len(report.invalid)) == (4, 3)
    assert Service.objects.get().name == "Community Counselling"


@pytest.mark.parametrize(
    "name",
    [
        "service_full.json",
        "organization_full.json",
        "service_at_location_full.json",
        "location.json",
        "taxonomy_term.json",
        "csv",
        "tabular.json",
    ],
)
def test_reimporting_changes_nothing(examples, name):
    first = importer.import_path(examples / name)
    before = snapshot()
    with CaptureQueriesContext(connection) as queries:
        again = importer.import_path(examples / name)
    assert (again.imported, again.unchanged) == (0, first.imported + first.unchanged)
    assert len(again.invalid) == len(first.invalid)
    writes = [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert writes == []
    assert snapshot() == before


def test_reimporting_our_own_documents_changes_nothing():
    load_demo_data()
    documents = _published_documents()
    importer.import_documents(documents, publish=True)
    before = snapshot()
    with CaptureQueriesContext(connection) as queries:
        report = importer.import_documents(documents, publish=True)
    assert (report.imported, report.unchanged) == (0, len(documents))
    assert [query["sql"] for query in queries if query["sql"].upper().startswith(("INSERT", "UPDATE"))] == []
    assert snapshot() == before


# --- our own documents ----------------------------------------------------------------------------------


def _wipe():
    for model in (Service, Location, Organization, Attribute, Metadata):
        model.objects.all().delete()
    while TaxonomyTerm.objects.exists():
        TaxonomyTerm.objects.filter(children__isnull=True).delete()
    Taxonomy.objects.all().delete()


def _published_documents():
    services = mapping.services_for_documents(Service.objects.published().order_by("uuid"))
    return [mapping.service_document(service) for service in services]


def _metadata_apart(documents):
    """The documents without their metadata, and the metadata found anywhere in them, by id."""
    found = {}

    def strip(value):
        if isinstance(value, list):
            return [strip(item) for item in value]
        if not isinstance(value, dict):
            return value
        for item in value.get("metadata", ()):
            found[item["id"]] = item
        return {key: strip(item) for key, item in value.items() if key != "metadata"}

    return strip(documents), found


def assert_same_but_for_the_import_history(before, after, label):
    """`after` is `before` imported elsewhere: the same documents, the history `before` told carried over
    as metadata (now on the objects it names), and the import's own history added, by its label."""
    before, told = _metadata_apart(before)
    after, tells = _metadata_apart(after)
    assert after == before
    assert told  # the first database's history was in the export
    assert {key: tells.get(key) for key in told} == told
    assert {item["updated_by"] for key, item in tells.items() if key not in told} == {label}


def test_our_export_imported_into_an_empty_database_exports_the_same():
    load_demo_data()
    terms = [mapping.term_document(term) for term in mapping.terms_for_documents(TaxonomyTerm.objects.all())]
    documents = _published_documents()
    assert len(documents) > 10
    _wipe()
    assert not Service.objects.exists()
    report = importer.import_documents(json.loads(json.dumps(terms + documents)), publish=True)
    assert (report.imported, report.invalid, report.warnings) == (len(terms) + len(documents), [], [])
    assert_same_but_for_the_import_history(documents, _published_documents(), "HSDS import")


def test_our_csv_package_imported_into_an_empty_database_exports_the_same(tmp_path):
    load_demo_data()
    documents = _published_documents()
    assert any(
        sal["location"].get("is_confidential")
        for document in documents
        for sal in document.get("service_at_locations", [])
    )
    export.export_package(tmp_path / "package.zip")
    _wipe()
    report = importer.import_path(tmp_path / "package.zip", publish=True)
    assert (report.invalid, report.warnings) == ([], [])
    assert_same_but_for_the_import_history(documents, _published_documents(), "HSDS import: package.zip")


def test_confidential_place_stays_confidential_when_an_outside_file_omits_our_field(examples):
    importer.import_documents(example("location.json"))
    Location.objects.update(is_confidential=True)
    changed = example("location.json")
    changed["name"] = "Renamed by a partner"
    importer.import_documents(changed)
    location = Location.objects.get()
    assert (location.name, location.is_confidential) == ("Renamed by a partner", True)


def test_an_update_empties_the_hsds_fields_the_document_leaves_out(examples):
    document = example("location.json")
    importer.import_documents(document)
    del document["transportation"]
    importer.import_documents(document)
    assert Location.objects.get().transportation == ""


# --- review state ---------------------------------------------------------------------------------------


def test_imported_services_wait_for_review(examples):
    importer.import_documents(example("service_full.json"))
    service = Service.objects.get()
    assert service.review_state == Service.ReviewState.PENDING
    assert not Service.objects.published().exists()


def test_publish_publishes_without_a_curator(examples):
    importer.import_documents(example("service_full.json"), publish=True)
    service = Service.objects.get()
    assert service.review_state == Service.ReviewState.PUBLISHED
    assert service.review_state_changed_by is None
    assert service.review_state_changed_at is not None
    assert list(Service.objects.published()) == [service]


def test_an_unchanged_reimport_keeps_a_curators_decision_and_a_changed_one_asks_again(examples):
    document = example("service_full.json")
    importer.import_documents(document)
    Service.objects.update(review_state=Service.ReviewState.PUBLISHED)
    importer.import_documents(document)
    assert Service.objects.get().review_state == Service.ReviewState.PUBLISHED
    # The phone is listed in six places: each says the new number.
    document = json.loads(json.dumps(document).replace("+44 1234 234567", "+44 1234 234568"))
    report = importer.import_documents(document)
    assert report.imported == 1
    assert Service.objects.get().review_state == Service.ReviewState.PENDING


def test_the_document_review_state_is_not_trusted(examples):
    document = example("service_full.json")
    document["review_state"] = "published"
    importer.import_documents(document)
    assert Service.objects.get().review_state == Service.ReviewState.PENDING


# --- broken records -------------------------------------------------------------------------------------


def _service(name, **fields):
    """A small valid service document with its own organization, place and phone, all with fresh ids."""
    organization, location = str(uuid.uuid4()), str(uuid.uuid4())
    document = {
        "id": str(uuid.uuid4()),
        "name": name,
        "status": "active",
        "organization": {"id": organization, "name": f"{name} org", "description": "Helps."},
        "phones": [{"id": str(uuid.uuid4()), "number": "+1 888 373 7888"}],
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "location": {
                    "id": location,
                    "location_type": "physical",
                    "addresses": [
                        {
                            "id": str(uuid.uuid4()),
                            "address_1": "1 Main Street",
                            "city": "Houston",
                            "state_province": "TX",
                            "postal_code": "77002",
                            "country": "US",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
    }
    document.update(fields)
    return document


def _ids(document):
    found = set()
    if isinstance(document, dict):
        if isinstance(document.get("id"), str):
            found.add(document["id"])
        for value in document.values():
            found |= _ids(value)
    elif isinstance(document, list):
        for value in document:
            found |= _ids(value)
    return found


def _stored_ids():
    models = [m for m in apps.get_app_config("resources").get_models() if "uuid" in {f.name for f in m._meta.fields}]
    return {str(value) for model in models for value in model.objects.values_list("uuid", flat=True)}


def _broken_file():
    unknown_term = str(uuid.uuid4())
    bad = {}
    bad["missing name"] = _service("x")
    del bad["missing name"]["name"]
    bad["bad uuid"] = _service("Bad id", id="not-a-uuid")
    bad["unknown term"] = _service(
        "Unknown term", attributes=[{"id": str(uuid.uuid4()), "taxonomy_term_id": unknown_term}]
    )
    bad["not a phone"] = _service("Not a phone")
    bad["not a phone"]["phones"][0]["number"] = "12"
    bad["1 MB"] = _service("Huge", description="x" * 1_048_576)
    bad["wrong type"] = _service("Wrong type", minimum_age="twelve")
    bad["unknown country"] = _service("Atlantis")
    bad["unknown country"]["service_at_locations"][0]["location"]["addresses"][0]["country"] = "Atlantis"
    bad["impossible ages"] = _service("Ages", minimum_age=30, maximum_age=20)
    good = [_service("Good one"), _service("Good two")]
    documents = [good[0], *bad.values(), good[1]]
    return documents, good, bad, unknown_term


def test_a_broken_file_imports_the_good_records_and_names_each_bad_one():
    documents, good, bad, unknown_term = _broken_file()
    report = importer.import_documents(documents)
    assert (report.imported, report.unchanged) == (2, 0)
    faults = {record.label: (record.id, record.faults) for record in report.invalid}
    ids = {name: document.get("id", "(no id)") for name, document in bad.items()}
    assert faults == {
        "services[1]": (ids["missing name"], ["$: 'name' is a required property"]),
        "services[2]": ("not-a-uuid", ["$.id: 'not-a-uuid' is not a 'uuid'"]),
        "services[3]": (
            ids["unknown term"],
            [f"$.attributes[0].taxonomy_term_id: no taxonomy term {unknown_term} in this input or the database"],
        ),
        "services[4]": (
            ids["not a phone"],
            [
                "$.phones[0].number: “12” is not a phone number we can read. Include the country code (+1 …) or "
                "set the phone's country."
            ],
        ),
        "services[5]": (ids["1 MB"], ["$.description: 1,048,576 characters is too long (at most 65,536)"]),
        "services[6]": (ids["wrong type"], ["$.minimum_age: 'twelve' is not of type 'number'"]),
        "services[7]": (
            ids["unknown country"],
            [
                "$.service_at_locations[0].location.addresses[0].country: “Atlantis” is not a country we know "
                "(use a name or an ISO 3166 code such as UG). Ensure this value has at most 2 characters (it has 8)."
            ],
        ),
        "services[8]": (
            ids["impossible ages"],
            ["$.maximum_age: The maximum age must not be below the minimum age. (given 20)"],
        ),
    }
    assert str(report.invalid[3]) == (
        f"services[4] {ids['not a phone']}: $.phones[0].number: “12” is not a phone number we can read. Include the "
        "country code (+1 …) or set the phone's country."
    )
    # Nothing of a bad record is in the database, everything of a good one is.
    stored = _stored_ids()
    for document in bad.values():
        assert not (_ids(document) & stored)
    for document in good:
        assert _ids(document) <= stored
    assert set(Service.objects.values_list("name", flat=True)) == {"Good one", "Good two"}


def test_a_record_is_checked_whole_even_when_a_later_child_is_the_bad_one():
    document = _service("Late fault")
    document["phones"].append({"id": str(uuid.uuid4()), "number": "+1 888 373 7888", "type": "carrier pigeon"})
    report = importer.import_documents([document])
    assert [record.faults for record in report.invalid] == [
        ["$.phones[1].type: Value 'carrier pigeon' is not a valid choice."]
    ]
    assert not Phone.objects.exists()
    assert not Organization.objects.exists()
    assert not Location.objects.exists()


def test_an_unknown_term_given_in_full_is_created():
    document = _service("Full term")
    term_id, taxonomy_id = str(uuid.uuid4()), str(uuid.uuid4())
    document["attributes"] = [
        {
            "id": str(uuid.uuid4()),
            "link_entity": "service",
            "taxonomy_term": {
                "id": term_id,
                "name": "Safe housing",
                "description": "A safe place to stay.",
                "taxonomy_detail": {"id": taxonomy_id, "name": "Needs of survivors", "description": "What we offer."},
            },
        }
    ]
    report = importer.import_documents([document])
    assert report.invalid == []
    term = TaxonomyTerm.objects.get(uuid=term_id)
    # Our terms are found by code and our vocabularies by slug; HSDS makes both optional.
    assert (term.code, term.taxonomy.slug, term.taxonomy.name) == (
        "safe-housing",
        "needs-of-survivors",
        "Needs of survivors",
    )
    assert list(Service.objects.get().terms.all()) == [term]


def test_a_known_term_may_be_named_by_id_only(needs):
    document = _service("By id", attributes=[{"id": str(uuid.uuid4()), "taxonomy_term_id": str(needs["t-visa"].uuid)}])
    report = importer.import_documents([document])
    assert report.invalid == []
    assert list(Service.objects.get().terms.all()) == [needs["t-visa"]]


def test_a_parent_organization_later_in_the_file_is_linked():
    child, parent = _service("Child"), _service("Parent")
    child["organization"]["parent_organization_id"] = parent["organization"]["id"]
    report = importer.import_documents([child, parent])
    assert report.warnings == []
    organization = Organization.objects.get(uuid=child["organization"]["id"])
    assert str(organization.parent_organization.uuid) == parent["organization"]["id"]


def test_a_link_to_a_later_record_is_made_as_soon_as_that_record_is_written(monkeypatch):
    """Not at the end of the import: a term's parent linked last made the index refresh every service tagged with
    the term by then (on PostgreSQL, minutes a term for a large directory)."""
    monkeypatch.setattr(importer, "CHUNK_SIZE", 1)
    child, parent, later = _service("Child"), _service("Parent"), _service("Later")
    child["organization"]["parent_organization_id"] = parent["organization"]["id"]
    with CaptureQueriesContext(connection) as captured:
        report = importer.import_documents([child, parent, later])
    assert report.warnings == []
    statements = [query["sql"] for query in captured]
    linked = [n for n, sql in enumerate(statements) if re.match(r'UPDATE "resources_organization" SET "parent', sql)]
    written = [n for n, sql in enumerate(statements) if sql.startswith('INSERT INTO "resources_historicalservice"')]
    assert len(linked) == 1
    assert len(written) == 3
    assert written[1] < linked[0] < written[2]  # after the parent's chunk, before the next one
    organization = Organization.objects.get(uuid=child["organization"]["id"])
    assert str(organization.parent_organization.uuid) == parent["organization"]["id"]


def test_postgresql_gathers_the_statistics_again_as_the_tables_grow(monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 1)
    with CaptureQueriesContext(connection) as captured:
        report = importer.import_documents([_service(f"Service {number}") for number in range(12)])
    assert report.imported == 12
    analyzed = [query["sql"] for query in captured if query["sql"] == "ANALYZE"]
    assert len(analyzed) == (2 if connection.vendor == "postgresql" else 0)  # after the 1st and the 10th chunk


def test_a_location_shared_by_several_services_is_one_row():
    first, second = _service("First"), _service("Second")
    second["service_at_locations"][0]["location"] = copy.deepcopy(first["service_at_locations"][0]["location"])
    importer.import_documents([first, second])
    assert Location.objects.count() == 1
    assert ServiceAtLocation.objects.filter(location=Location.objects.get()).count() == 2


def test_a_national_number_is_read_in_the_country_of_the_records_addresses():
    document = _service("National")
    document["phones"][0]["number"] = "(713) 222-0100"
    importer.import_documents([document])
    assert Phone.objects.get().number == "+17132220100"


def test_a_language_may_be_given_by_code_or_by_name():
    document = _service(
        "Languages",
        languages=[{"id": str(uuid.uuid4()), "name": "Spanish"}, {"id": str(uuid.uuid4()), "code": "vie"}],
    )
    report = importer.import_documents([document])
    assert report.invalid == []
    assert sorted(Language.objects.values_list("code", "name")) == [("es", "Spanish"), ("vi", "Vietnamese")]


def test_a_service_area_with_our_region_fields_keeps_them():
    document = _service(
        "Areas",
        service_areas=[
            {"id": str(uuid.uuid4()), "kind": "subdivision", "country": "US", "subdivision": "US-TX"},
            {"id": str(uuid.uuid4()), "country": "UG"},
        ],
    )
    importer.import_documents([document])
    assert sorted(ServiceArea.objects.values_list("kind", "country", "subdivision")) == [
        ("country", "UG", ""),
        ("subdivision", "US", "US-TX"),
    ]


def test_a_record_the_database_refuses_is_reported_and_the_rest_imported(monkeypatch):
    documents = [_service("One"), _service("Refused"), _service("Three")]
    insert = importer._insert

    def refuse_one(model, objs, **options):
        if model is Service and any(obj.name == "Refused" for obj in objs):
            raise IntegrityError("refused for the test")
        insert(model, objs, **options)

    monkeypatch.setattr(importer, "_insert", refuse_one)
    report = importer.import_documents(documents)
    assert report.imported == 2
    assert [(record.label, record.faults) for record in report.invalid] == [
        ("services[1]", ["$: the database refused it: refused for the test"])
    ]
    assert set(Service.objects.values_list("name", flat=True)) == {"One", "Three"}
    assert not (_ids(documents[1]) & _stored_ids())


# --- forms of input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["single", "list", "page", "ndjson"])
def test_every_json_form_reads_the_same(tmp_path, form):
    documents = [_service("A"), _service("B")] if form != "single" else [_service("A")]
    path = tmp_path / "data.json"
    if form == "single":
        path.write_text(json.dumps(documents[0], indent=2))
    elif form == "list":
        path.write_text(json.dumps(documents, indent=2))
    elif form == "page":
        path.write_text(json.dumps({"total_items": len(documents), "page_number": 1, "contents": documents}))
    else:
        path.write_text("".join(json.dumps(document) + "\n" for document in documents))
    report = importer.import_path(path)
    assert (report.imported, report.invalid) == (len(documents), [])
    again = importer.import_path(path)
    assert (again.imported, again.unchanged) == (0, len(documents))


def test_a_long_list_is_read_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 3)
    documents = [_service(f"Service {index}") for index in range(8)]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(documents))
    progress = io.StringIO()

    class Bar:
        def update(self, count):
            progress.write(f"{count} ")

    report = importer.import_path(path, progress=Bar())
    assert report.imported == 8
    assert progress.getvalue() == "3 3 2 "


def test_a_broken_ndjson_line_spoils_only_its_record(tmp_path):
    path = tmp_path / "data.ndjson"
    path.write_text(json.dumps(_service("Good")) + "\n{not json\n" + json.dumps(_service("Also good")) + "\n")
    report = importer.import_path(path)
    assert report.imported == 2
    assert [(record.label, record.faults[0][:31]) for record in report.invalid] == [
        ("documents[0]", "line 2 is not valid JSON: Expec")
    ]


def test_an_ndjson_line_may_hold_a_page(tmp_path):
    path = tmp_path / "data.ndjson"
    page = {"total_items": 2, "contents": [_service("In a page"), _service("Also in it")]}
    path.write_text(json.dumps(_service("Alone")) + "\n" + json.dumps(page) + "\n")
    report = importer.import_path(path)
    assert (report.imported, report.invalid) == (3, [])


def _mixed_file(path):
    """Good records, a broken line and a bad record, as ndjson."""
    documents = [_service(f"Service {index}") for index in range(9)]
    documents[4]["phones"][0]["number"] = "12"
    lines = [json.dumps(document) for document in documents]
    lines.insert(6, "{not json")
    path.write_text("\n".join(lines) + "\n")
    return documents


def test_a_large_input_is_checked_in_worker_processes_with_the_same_outcome(tmp_path, monkeypatch):
    path = tmp_path / "data.ndjson"
    documents = _mixed_file(path)
    in_process = importer.import_path(path)
    _wipe()
    monkeypatch.setattr(importer, "CHUNK_SIZE", 2)
    monkeypatch.setattr(importer, "PARALLEL_AFTER", 0)
    monkeypatch.setattr(importer, "WORKERS", 2)
    pool = []
    real_pool = importer.multiprocessing.get_context("fork").Pool

    def counting_pool(*args, **kwargs):
        pool.append(args)
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(importer.multiprocessing.get_context("fork"), "Pool", counting_pool, raising=False)
    with_workers = importer.import_path(path)
    assert pool  # the workers did run
    assert (with_workers.imported, with_workers.unchanged) == (in_process.imported, in_process.unchanged) == (8, 0)
    assert [str(record) for record in with_workers.invalid] == [str(record) for record in in_process.invalid]
    assert [record.label for record in with_workers.invalid] == ["services[4]", "documents[0]"]
    assert set(Service.objects.values_list("name", flat=True)) == {
        document["name"] for index, document in enumerate(documents) if index != 4
    }


def test_a_zipped_package_reads_like_a_folder(tmp_path, examples):
    import zipfile

    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (examples / "csv").iterdir():
            zipped.write(path, f"hsds/{path.name}")
    report = importer.import_path(archive)
    assert report.summary == "imported 4, unchanged 0, invalid 3"


# --- the command ----------------------------------------------------------------------------------------


def test_command_imports_and_prints_one_summary_line(examples):
    out = io.StringIO()
    call_command("import_hsds", str(examples / "service_list.json"), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"HSDS import of {examples / 'service_list.json'}: imported 1, unchanged 0, invalid 0."
    assert [line for line in lines[1:] if not line.startswith("  left out:")] == []
    assert Service.objects.get().review_state == Service.ReviewState.PENDING


def test_command_publish(examples):
    call_command("import_hsds", str(examples / "service_list.json"), "--publish", stdout=io.StringIO())
    assert Service.objects.get().review_state == Service.ReviewState.PUBLISHED


def test_command_lists_invalid_records_and_exits_1_having_imported_the_rest(tmp_path):
    documents, _good, bad, _term = _broken_file()
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(documents))
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_hsds", str(path), stdout=out)
    assert raised.value.returncode == 1
    assert str(raised.value) == "8 invalid record(s) were not imported; the rest were."
    text = out.getvalue()
    assert text.splitlines()[0] == f"HSDS import of {path}: imported 2, unchanged 0, invalid 8."
    assert f"  invalid: services[4] {bad['not a phone']['id']}\n    $.phones[0].number: “12” is not a phone" in text
    assert Service.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or folder"),
        ("name,phone\nShelter,911\n", "is not JSON"),
        ('{"hello": "world"}', "holds no HSDS document"),
        ("[1, 2, 3]", "holds no HSDS document"),
        ('{"id": "x"', "is not valid JSON"),
        ("", "is empty"),
    ],
)
def test_command_refuses_what_is_not_hsds_with_exit_2(tmp_path, content, message):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match=message) as raised:
        call_command("import_hsds", str(path), stdout=io.StringIO())
    assert raised.value.returncode == 2
    assert not Service.objects.exists()


def test_command_refuses_a_folder_that_is_not_a_package(tmp_path):
    with pytest.raises(CommandError, match=r"no datapackage\.json") as raised:
        call_command("import_hsds", str(tmp_path), stdout=io.StringIO())
    assert raised.value.returncode == 2


def test_command_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        call_command("import_hsds", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 when every record was imported; 1 when some records were invalid" in text


# --- the engine's own checks ------------------------------------------------------------------------------


def _mutations(document, path=()):
    """Copies of a document each with one value replaced or removed, everywhere in it."""
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = list(enumerate(document))
    else:
        return
    for key, value in items:
        for replacement in (12, 1.5, "x", None, True, [], {}, "not-a-uuid", "active", ...):
            mutated = copy.deepcopy(document)
            if replacement is ...:
                if isinstance(mutated, dict):
                    del mutated[key]
                else:
                    continue
            else:
                mutated[key] = replacement
            yield (*path, key), mutated
        for sub_path, sub in _mutations(value, (*path, key)):
            mutated = copy.deepcopy(document)
            mutated[key] = sub
            yield sub_path, mutated


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("service", "service_list.json"),
        ("organization", "organization_list.json"),
        ("taxonomy_term", "taxonomy_term.json"),
    ],
)
def test_the_compiled_schema_check_agrees_with_jsonschema(examples, kind, name):
    document = example(name)
    document = document["contents"][0] if "contents" in document else document
    count = 0
    for path, mutated in _mutations(document):
        expected = validation.validator(kind).is_valid(mutated)
        assert validation.is_valid(kind, mutated) == expected, path
        count += 1
    assert count > 100


def test_check_constraints_judged_in_python_agree_with_the_database():
    service = make_service()
    location = make_location()
    wrong = [
        CostOption(service=service, amount=-1),
        CostOption(service=service, valid_from=datetime.date(2026, 2, 1), valid_to=datetime.date(2026, 1, 1)),
        Location(latitude=100, longitude=0),
        Organization(name="Old", description="d", year_incorporated=1700),
        Schedule(service=service, opens_at=datetime.time(9), closes_at=datetime.time(17)),
        Phone(number="12 34", location=location),
        Phone(number="+18883737888"),
        ServiceArea(service=service, kind="country", country=""),
        Language(code="e1", service=service),  # fits the column, breaks the ISO 639 rule
    ]
    for obj in wrong:
        assert importer.constraint_faults(obj), obj
        with pytest.raises(IntegrityError), transaction.atomic():
            obj.save()
    right = [
        CostOption(service=service, amount=0),
        Location(latitude=-90, longitude=180),
        Organization(name="New", description="d", year_incorporated=2000),
        Schedule(service=service, opens_at=datetime.time(9), closes_at=datetime.time(17), byday="MO"),
        Phone(number="+18883737888", location=location),
        ServiceArea(service=service, kind="country", country="US"),
    ]
    for obj in right:
        assert importer.constraint_faults(obj) == [], obj
        obj.save()


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"id": "1", "status": "active"}, "service"),
        ({"id": "1", "services": []}, "organization"),
        ({"id": "1", "location": {}}, "service_at_location"),
        ({"id": "1", "location_type": "physical"}, "location"),
        ({"id": "1", "taxonomy_detail": {}}, "taxonomy_term"),
        ({"id": "1", "name": "n", "description": "d", "version": "1"}, "taxonomy"),
        ({"id": "1", "character_set": "UTF-8"}, "meta_table_description"),
        ({"id": "1", "name": "n", "description": "d"}, None),
        ({"name": "no id"}, None),
    ],
)
def test_documents_are_told_apart_by_their_fields(document, kind):
    assert importer.kind_of(document) == kind
