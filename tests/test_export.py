import csv
import datetime
import gc
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from resources.hsds import export, mapping, tabular
from resources.management.commands.export_hsds import Command
from resources.models import (
    Attribute,
    Language,
    Location,
    Metadata,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    ServiceTerm,
)

from .conftest import make_phone, make_service_at_location
from .hsds_schemas import SHARED, errors
from .world import HIDDEN, build_world

pytestmark = pytest.mark.django_db

PUBLIC = ("hotline", "restore", "legal", "visa")
# Planted in a confidential location: none of them may leave the database.
SECRETS = {
    "name": "Zq7SecretShelterName",
    "address_1": "Zq7SecretStreet 12",
    "address_2": "Zq7SecretFloor",
    "attention": "Zq7SecretAttention",
    "postal_code": "Zq7SecretPostcode",
    "latitude": "0.987654",
    "longitude": "33.456789",
}


@pytest.fixture
def world(needs, populations):
    world = build_world(needs, populations)
    home = world["restore"].service_at_locations.get().location
    home.name, home.latitude, home.longitude = SECRETS["name"], SECRETS["latitude"], SECRETS["longitude"]
    home.save()
    home.addresses.update(**{key: SECRETS[key] for key in ("address_1", "address_2", "attention", "postal_code")})
    make_phone(location=home, number="+256414000000")
    # One office shared by two services: one row in locations.csv.
    office = world["legal"].service_at_locations.get().location
    make_service_at_location(world["visa"], office)
    return world


def export_text(format, **options):
    stream = io.StringIO()
    count = export.export_json(stream, format=format, **options)
    return stream.getvalue(), count


def json_documents():
    text, _ = export_text("json")
    return json.loads(text)


def ndjson_documents():
    text, _ = export_text("ndjson")
    return [json.loads(line) for line in text.splitlines()]


def read_table(folder, table):
    with open(Path(folder) / tabular.PATHS[table], encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def package_text(folder):
    """Every file of a package, as one text."""
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(Path(folder).iterdir()))


def official_package():
    path = SHARED / "datapackage.json"
    if not path.exists():
        raise FileNotFoundError(f"The official HSDS datapackage is missing: {path}")
    return json.loads(path.read_text())


# --- what is exported -------------------------------------------------------------------------------------


@pytest.mark.parametrize("read", [json_documents, ndjson_documents])
def test_every_exported_document_validates_against_the_official_schema(world, read):
    documents = read()
    assert len(documents) == len(PUBLIC)
    for document in documents:
        assert errors("service.json", document) == [], document["name"]


@pytest.mark.parametrize("read", [json_documents, ndjson_documents])
def test_exports_published_services_and_nothing_else(world, read):
    names = {document["name"] for document in read()}
    assert names == {world[key].name for key in PUBLIC}
    assert not names & {world[key].name for key in HIDDEN}


def test_package_holds_published_services_and_nothing_else(world, tmp_path):
    export.export_package(tmp_path)
    names = {row["name"] for row in read_table(tmp_path, "service")}
    assert names == {world[key].name for key in PUBLIC}
    text = package_text(tmp_path)
    for key in HIDDEN:
        assert str(world[key].uuid) not in text


def test_a_given_queryset_is_still_narrowed_to_published_services(world):
    text, count = export_text("ndjson", queryset=Service.objects.filter(pk__in=[world["legal"].pk, world["draft"].pk]))
    assert count == 1
    assert world["legal"].name in text
    assert world["draft"].name not in text


def test_documents_are_the_mapping_documents(world):
    services = mapping.services_for_documents(Service.objects.published().order_by("uuid"))
    assert json_documents() == [mapping.service_document(service) for service in services]


def test_confidential_address_never_leaves_the_database(world, tmp_path):
    outputs = {"json": export_text("json")[0], "ndjson": export_text("ndjson")[0]}
    export.export_package(tmp_path / "folder")
    outputs["csv"] = package_text(tmp_path / "folder")
    export.export_package(tmp_path / "package.zip")
    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        outputs["zip"] = "\n".join(archive.read(name).decode() for name in archive.namelist())
    for format, text in outputs.items():
        # The place itself is there (city, intake phone), so the check below is about the secrets only.
        assert "Kampala" in text, format
        assert "+256414000000" in text, format
        for field, secret in SECRETS.items():
            assert secret not in text, f"{field} leaked in {format}"


def test_exports_are_byte_identical_and_in_uuid_order(world, tmp_path):
    assert export_text("json") == export_text("json")
    assert export_text("ndjson") == export_text("ndjson")
    ids = [document["id"] for document in ndjson_documents()]
    assert ids == sorted(ids)
    for name in ("a", "b"):
        export.export_package(tmp_path / name)
        export.export_package(tmp_path / f"{name}.zip")
    assert package_text(tmp_path / "a") == package_text(tmp_path / "b")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_an_empty_directory_exports_as_an_empty_array(db):
    assert export_text("json") == ("[]\n", 0)
    assert export_text("ndjson") == ("", 0)


def test_the_garbage_collector_is_back_on_after_an_export_even_a_failed_one(world):
    class FullDisk:
        def write(self, text):
            raise OSError(28, "No space left on device")

    export_text("ndjson")
    assert gc.isenabled()
    with pytest.raises(OSError, match="No space"):
        export.export_json(FullDisk(), format="ndjson")
    assert gc.isenabled()


def test_chunks_do_not_drop_or_repeat_services(world):
    ids = [document["id"] for document in export.iter_documents(chunk_size=1)]
    assert len(ids) == len(set(ids)) == len(PUBLIC)


# --- the tabular package ----------------------------------------------------------------------------------


def test_package_has_the_official_tables_and_columns(world, tmp_path):
    export.export_package(tmp_path)
    for resource in official_package()["resources"]:
        official = [field["name"] for field in resource["schema"]["fields"]]
        with open(tmp_path / resource["path"], encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert header[: len(official)] == official, resource["name"]
        assert header[len(official) :] == tabular.PROFILE_COLUMNS.get(resource["name"], [])


def test_datapackage_lists_every_file_and_describes_every_column(world, tmp_path):
    export.export_package(tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    listed = {resource["path"] for resource in descriptor["resources"]}
    on_disk = {path.name for path in tmp_path.iterdir()} - {"datapackage.json"}
    assert listed == on_disk
    assert {resource["path"] for resource in official_package()["resources"]} <= listed
    for resource in descriptor["resources"]:
        with open(tmp_path / resource["path"], encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        assert [field["name"] for field in resource["schema"]["fields"]] == header
        official = len(tabular.TABLES[resource["name"]])
        for field in resource["schema"]["fields"][official:]:
            assert "not in HSDS 3.0" in field["description"], field["name"]


def test_package_flattens_nested_objects_with_their_links(world, tmp_path):
    export.export_package(tmp_path)
    legal, visa, hotline = (str(world[key].uuid) for key in ("legal", "visa", "hotline"))
    office = str(world["legal"].service_at_locations.get().location.uuid)

    locations = [row["id"] for row in read_table(tmp_path, "location")]
    assert locations.count(office) == 1
    links = {(row["service_id"], row["location_id"]) for row in read_table(tmp_path, "service_at_location")}
    assert {(legal, office), (visa, office)} <= links

    phones = read_table(tmp_path, "phone")
    assert {row["number"] for row in phones if row["service_id"] == hotline} == {"+18883737888", "233733"}
    assert {row["number"] for row in phones if row["location_id"]} == {"+256414000000"}
    services = {row["id"]: row for row in read_table(tmp_path, "service")}
    assert services[hotline]["hotline_operator_kind"] == "non_governmental"
    assert services[hotline]["is_free"] == "true"
    assert services[legal]["hotline_operator_kind"] == ""
    attributes = read_table(tmp_path, "attribute")
    terms = {row["id"] for row in read_table(tmp_path, "taxonomy_term")}
    assert {row["link_id"] for row in attributes} == {str(world[key].uuid) for key in PUBLIC}
    assert {row["taxonomy_term_id"] for row in attributes} <= terms
    languages = {(row["service_id"], row["code"]) for row in read_table(tmp_path, "language")}
    assert (legal, "es") in languages


def test_package_holds_whole_vocabularies_parents_first(world, tmp_path):
    export.export_package(tmp_path)
    rows = read_table(tmp_path, "taxonomy_term")
    assert {row["code"] for row in rows} >= {"legal-aid", "t-visa", "labour-trafficking"}
    seen = set()
    for row in rows:
        assert not row["parent_id"] or row["parent_id"] in seen, row["code"]
        seen.add(row["id"])


# --- memory -----------------------------------------------------------------------------------------------


def bulk_directory(count, term):
    """`count` published services, each with a phone, a language, a term and a shared place (fast inserts)."""
    organizations = Organization.objects.bulk_create(
        Organization(name=f"Organization {number}", description="Synthetic.") for number in range(count // 20)
    )
    places = Location.objects.bulk_create(Location(name=f"Place {number}") for number in range(count // 10))
    services = Service.objects.bulk_create(
        Service(
            organization=organizations[number % len(organizations)],
            name=f"Service {number}",
            description="A synthetic service used to measure memory. " * 4,
            review_state=Service.ReviewState.PUBLISHED,
        )
        for number in range(count)
    )
    Phone.objects.bulk_create(Phone(service=service, number="+18883737888") for service in services)
    Language.objects.bulk_create(Language(service=service, code="es", name="Spanish") for service in services)
    ServiceAtLocation.objects.bulk_create(
        ServiceAtLocation(service=service, location=places[number % len(places)])
        for number, service in enumerate(services)
    )
    ServiceTerm.objects.bulk_create(ServiceTerm(service=service, taxonomy_term=term) for service in services)


def peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class NullStream:
    def write(self, text):
        return len(text)


def test_export_memory_stays_far_below_holding_every_document(needs, monkeypatch):
    bulk_directory(2000, needs["record-clearing"])
    monkeypatch.setattr(export, "CHUNK_SIZE", 100)

    def all_at_once():
        documents = [mapping.service_document(s) for s in mapping.services_for_documents(Service.objects.published())]
        assert len(documents) == 2000

    streamed = peak_bytes(lambda: export.export_json(NullStream(), format="ndjson"))
    listed = peak_bytes(all_at_once)
    print(f"peak memory: streamed {streamed / 1e6:.1f} MB, all at once {listed / 1e6:.1f} MB")
    assert streamed * 5 < listed


@pytest.mark.django_db(transaction=True)
def test_a_large_export_built_by_worker_processes_is_the_one_built_here(needs, monkeypatch):
    """Worker processes need committed data in a database file or server: PostgreSQL here (CI runs it)."""
    bulk_directory(60, needs["record-clearing"])
    serial_ndjson, count = export_text("ndjson")
    serial_json, _ = export_text("json")
    monkeypatch.setattr(export, "PARALLEL_AFTER", 10)
    monkeypatch.setattr(export, "CHUNK_SIZE", 7)
    if not export._can_fork(export.public_services()):
        pytest.skip("this database cannot be read from another process (SQLite in memory)")
    # Forked workers inherit this spy, but what they record stays in their own memory.
    built_here = []
    load = mapping.services_for_documents
    monkeypatch.setattr(mapping, "services_for_documents", lambda *a, **k: built_here.append(a) or load(*a, **k))
    assert export_text("ndjson") == (serial_ndjson, count)
    assert export_text("json")[0] == serial_json
    assert count == 60
    assert built_here == []  # every chunk came from a worker


@pytest.mark.django_db(transaction=True)
def test_workers_never_use_a_connection_left_open_in_this_process(needs, monkeypatch):
    """A connection close_all() cannot see (another context's, as while Playwright's event loop runs) stays
    open across the fork: the workers must open their own instead of reading over this process's socket."""
    bulk_directory(40, needs["record-clearing"])
    serial, count = export_text("ndjson")
    monkeypatch.setattr(export, "PARALLEL_AFTER", 10)
    monkeypatch.setattr(export, "CHUNK_SIZE", 3)
    if not export._can_fork(export.public_services()):
        pytest.skip("this database cannot be read from another process (SQLite in memory)")
    monkeypatch.setattr(export.db.connections, "close_all", lambda: None)
    assert export.db.connection.connection is not None  # open, and left open for the fork
    assert export_text("ndjson") == (serial, count)
    assert count == 40


def test_attributes_and_metadata_of_any_object_come_out_where_they_belong(world, needs):
    office = world["legal"].service_at_locations.get().location
    phone = world["legal"].phones.first()
    home = world["restore"].service_at_locations.get().location
    term = needs["t-visa"]
    on_office = Attribute.objects.create(link_entity="location", link_id=office.uuid, taxonomy_term=term, value="x")
    Attribute.objects.create(link_entity="location", link_id=home.uuid, taxonomy_term=term, value=SECRETS["name"])
    change = Metadata.objects.create(
        resource_id=phone.uuid,
        resource_type="phone",
        last_action_date=datetime.date(2026, 3, 1),
        last_action_type="update",
        field_name="number",
        previous_value="+18005550100",
        replacement_value=phone.number,
        updated_by="curator",
    )
    documents = {document["id"]: document for document in json_documents()}
    legal = documents[str(world["legal"].uuid)]
    (place,) = [sal["location"] for sal in legal["service_at_locations"] if sal["location"]["id"] == str(office.uuid)]
    assert [(item["id"], item["link_entity"], item["value"]) for item in place["attributes"]] == [
        (str(on_office.uuid), "location", "x")
    ]
    assert place["attributes"][0]["taxonomy_term"]["code"] == "t-visa"
    (listed,) = [item for item in legal["phones"] if item["id"] == str(phone.uuid)]
    assert listed["metadata"] == [
        {
            "id": str(change.uuid),
            "resource_id": str(phone.uuid),
            "resource_type": "phone",
            "last_action_date": "2026-03-01",
            "last_action_type": "update",
            "field_name": "number",
            "previous_value": "+18005550100",
            "replacement_value": phone.number,
            "updated_by": "curator",
        }
    ]
    for document in documents.values():
        assert errors("service.json", document) == [], document["name"]
    # A confidential place's attributes may describe it: none leave.
    assert SECRETS["name"] not in json.dumps(documents)


# --- the command ------------------------------------------------------------------------------------------


def run(*argv):
    """Run the command as manage.py does; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    command = Command(stdout=out, stderr=err)
    try:
        # run_from_argv closes every database connection when it ends, as a process would; here that would
        # close the test's own connection (on PostgreSQL), so that one step is held back.
        with mock.patch("django.core.management.base.connections.close_all"):
            command.run_from_argv(["manage.py", "export_hsds", *argv])
    except SystemExit as exit:
        return exit.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("format", "name"), [("json", "out.json"), ("ndjson", "out.ndjson"), ("csv", "out.zip")])
def test_command_writes_each_format_and_says_how_many(world, tmp_path, format, name):
    code, out, _ = run(str(tmp_path / name), "--format", format)
    assert code == 0
    assert out.startswith(f"Exported {len(PUBLIC)} services as {format} to ")
    assert len(out.strip().splitlines()) == 1
    assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob("*.partial"))


def test_command_writes_a_package_folder(world, tmp_path):
    call_command("export_hsds", str(tmp_path / "package"), "--format", "csv", stdout=io.StringIO())
    assert (tmp_path / "package" / "datapackage.json").exists()
    assert len(read_table(tmp_path / "package", "service")) == len(PUBLIC)


@pytest.mark.parametrize("format", ["json", "ndjson", "csv"])
def test_command_fails_clearly_on_an_unwritable_path(world, tmp_path, format):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / ("out.zip" if format == "csv" else "out.json")
    code, _, err = run(str(target), "--format", format)
    assert code == 1
    assert f"Cannot write {target}" in err
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_hsds", str(target), "--format", format)


def test_command_refuses_an_unknown_format(world, tmp_path, capsys):
    code, _, _ = run(str(tmp_path / "out.xml"), "--format", "xml")
    assert code == 2  # argparse's usage error
    assert "invalid choice: 'xml'" in capsys.readouterr().err
    assert not (tmp_path / "out.xml").exists()


def test_command_refuses_a_folder_for_json_and_a_plain_file_for_csv(world, tmp_path):
    code, _, err = run(str(tmp_path), "--format", "json")
    assert code == 1
    assert "is a folder" in err
    plain = tmp_path / "out.txt"
    plain.write_text("keep me")
    code, _, err = run(str(plain), "--format", "csv")
    assert code == 1
    assert "is a file" in err
    assert plain.read_text() == "keep me"


def test_a_failed_export_leaves_the_previous_file_alone(world, tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("previous export")

    def broken(*args, **kwargs):
        yield '{"id": "x"}'
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "iter_lines", broken)
    code, _, err = run(str(target))
    assert code == 1
    assert "No space left on device" in err
    assert target.read_text() == "previous export"
    assert not list(tmp_path.glob("*.partial"))
