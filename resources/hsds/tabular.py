"""The HSDS 3.0 tabular form: a Tabular Data Package (datapackage.json and one CSV per table).

The layout below is the official one (HSDS 3.0 datapackage.json, openreferral/specification at
279fd2eb): each table's file name and its columns in order, which columns are required, the type of every
column that is not plain text, and the foreign keys. It is written out here because the specification is
not shipped with the application. The reader (import) and the writer (export) both use these tables.

Our own fields (review state, hotline facts, confidentiality, ...) follow the official columns of their
table as extra trailing columns, `PROFILE_COLUMNS`, taken from the one mapping so the two cannot drift.
"""

import csv
import decimal
import functools
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.db import models as dj

from ..models import Hotline, Location, Phone, Schedule, Service, ServiceArea, Taxonomy, TaxonomyTerm
from . import mapping

# Table name -> the official columns, in order.
TABLES = {
    "organization": (
        "id name alternate_name description email website tax_status tax_id year_incorporated legal_status "
        "logo uri parent_organization_id"
    ).split(),
    "program": "id organization_id name alternate_name description".split(),
    "service": (
        "id organization_id program_id name alternate_name description url email status "
        "interpretation_services application_process fees_description wait_time fees accreditations "
        "eligibility_description minimum_age maximum_age assured_date assurer_email licenses alert "
        "last_modified"
    ).split(),
    "attribute": "id link_id taxonomy_term_id link_type link_entity value".split(),
    "service_at_location": "id service_id location_id description".split(),
    "location": (
        "id location_type url organization_id name alternate_name description transportation latitude "
        "longitude external_identifier external_identifier_type"
    ).split(),
    "phone": (
        "id location_id service_id organization_id contact_id service_at_location_id number extension type description"
    ).split(),
    "contact": "id organization_id service_id service_at_location_id location_id name title department email".split(),
    "address": (
        "id location_id attention address_1 address_2 city region state_province postal_code country address_type"
    ).split(),
    "schedule": (
        "id service_id location_id service_at_location_id valid_from valid_to dtstart timezone until count "
        "wkst freq interval byday byweekno bymonthday byyearday description opens_at closes_at schedule_link "
        "attending_type notes"
    ).split(),
    "funding": "id organization_id service_id source".split(),
    "service_area": "id service_id name description extent extent_type uri".split(),
    "required_document": "id service_id document uri".split(),
    "language": "id service_id location_id phone_id name code note".split(),
    "accessibility": "id location_id description details url".split(),
    "taxonomy_term": "id code name description parent_id taxonomy language taxonomy_id term_uri".split(),
    "metadata": (
        "id resource_id resource_type last_action_date last_action_type field_name previous_value "
        "replacement_value updated_by"
    ).split(),
    "meta_table_description": "id name language character_set".split(),
    "cost_option": "id service_id valid_from valid_to option currency amount amount_description".split(),
    "organization_identifier": "id organization_id identifier_scheme identifier_type identifier".split(),
    "taxonomy": "id name description uri version".split(),
}

# Table name -> its file in the package.
PATHS = {
    "organization": "organizations.csv",
    "program": "programs.csv",
    "service": "services.csv",
    "attribute": "attributes.csv",
    "service_at_location": "service_at_location.csv",
    "location": "locations.csv",
    "phone": "phones.csv",
    "contact": "contacts.csv",
    "address": "addresses.csv",
    "schedule": "schedules.csv",
    "funding": "funding.csv",
    "service_area": "service_areas.csv",
    "required_document": "required_documents.csv",
    "language": "languages.csv",
    "accessibility": "accessibility.csv",
    "taxonomy_term": "taxonomy_terms.csv",
    "metadata": "metadata.csv",
    "meta_table_description": "meta_table_descriptions.csv",
    "cost_option": "cost_options.csv",
    "organization_identifier": "organization_identifiers.csv",
    "taxonomy": "taxonomies.csv",
}

# Columns the official schema marks required.
REQUIRED = {
    "organization": "id name description".split(),
    "program": "id organization_id name description".split(),
    "service": "id organization_id name status".split(),
    "attribute": "id link_id taxonomy_term_id link_entity".split(),
    "service_at_location": "id service_id location_id".split(),
    "location": "id location_type".split(),
    "phone": "id number".split(),
    "contact": "id".split(),
    "address": "id address_1 city state_province postal_code country address_type".split(),
    "schedule": "id".split(),
    "funding": "id".split(),
    "service_area": "id".split(),
    "required_document": "id".split(),
    "language": "id".split(),
    "accessibility": "id".split(),
    "taxonomy_term": "id name description".split(),
    "metadata": (
        "id resource_id resource_type last_action_date last_action_type field_name previous_value "
        "replacement_value updated_by"
    ).split(),
    "meta_table_description": "id".split(),
    "cost_option": "id service_id".split(),
    "organization_identifier": "id organization_id identifier_type identifier".split(),
    "taxonomy": "id name description".split(),
}

# Table Schema type of each column that is not plain text; `id` and every `*_id` column is a UUID.
TYPES = {
    "organization": {"email": "email", "website": "uri", "year_incorporated": "number", "uri": "uri"},
    "program": {},
    "service": {
        "url": "uri",
        "email": "email",
        "minimum_age": "number",
        "maximum_age": "number",
        "assured_date": "date",
        "assurer_email": "email",
        "last_modified": "datetime",
    },
    "attribute": {},
    "service_at_location": {},
    "location": {"url": "uri", "latitude": "number", "longitude": "number"},
    "phone": {"extension": "number"},
    "contact": {"email": "email"},
    "address": {},
    "schedule": {
        "valid_from": "date",
        "valid_to": "date",
        "dtstart": "date",
        "timezone": "number",
        "until": "date",
        "count": "number",
        "interval": "number",
        "opens_at": "time",
        "closes_at": "time",
        "schedule_link": "uri",
    },
    "funding": {},
    "service_area": {},
    "required_document": {"uri": "uri"},
    "language": {},
    "accessibility": {"url": "uri"},
    "taxonomy_term": {"term_uri": "uri"},
    "metadata": {"last_action_date": "date"},
    "meta_table_description": {},
    "cost_option": {"valid_from": "date", "valid_to": "date", "amount": "number"},
    "organization_identifier": {},
    "taxonomy": {"uri": "uri"},
}

# Column -> the table whose `id` it references.
FOREIGN_KEYS = {
    "organization": {},
    "program": {"organization_id": "organization"},
    "service": {"organization_id": "organization", "program_id": "program"},
    "attribute": {"taxonomy_term_id": "taxonomy_term"},
    "service_at_location": {"service_id": "service", "location_id": "location"},
    "location": {"organization_id": "organization"},
    "phone": {
        "contact_id": "contact",
        "location_id": "location",
        "organization_id": "organization",
        "service_id": "service",
        "service_at_location_id": "service_at_location",
    },
    "contact": {
        "location_id": "location",
        "organization_id": "organization",
        "service_id": "service",
        "service_at_location_id": "service_at_location",
    },
    "address": {"location_id": "location"},
    "schedule": {"location_id": "location", "service_id": "service", "service_at_location_id": "service_at_location"},
    "funding": {"organization_id": "organization", "service_id": "service"},
    "service_area": {"service_id": "service"},
    "required_document": {"service_id": "service"},
    "language": {"location_id": "location", "phone_id": "phone", "service_id": "service"},
    "accessibility": {"location_id": "location"},
    "taxonomy_term": {"taxonomy_id": "taxonomy"},
    "metadata": {},
    "meta_table_description": {},
    "cost_option": {"service_id": "service"},
    "organization_identifier": {"organization_id": "organization"},
    "taxonomy": {},
}


# Our profile's columns, after the official ones: the fields the mapping adds to each table's objects.
# A service's hotline facts are flat columns named hotline_<field>; a service has hotline facts when
# hotline_operator_kind is filled in.
HOTLINE_PREFIX = "hotline_"
PROFILE_MODELS = {
    "service": Service,
    "location": Location,
    "phone": Phone,
    "schedule": Schedule,
    "service_area": ServiceArea,
    "taxonomy": Taxonomy,
    "taxonomy_term": TaxonomyTerm,
}
PROFILE_COLUMNS = {table: list(mapping.PROFILE_FIELDS[model]) for table, model in PROFILE_MODELS.items()}
PROFILE_COLUMNS["service"] += [HOTLINE_PREFIX + name for name in mapping.HOTLINE_FIELDS]


def columns(table):
    """Every column of a table as we write it: the official ones, then our profile's."""
    return TABLES[table] + PROFILE_COLUMNS.get(table, [])


# --- writing ---------------------------------------------------------------------------------------------
# The package's own description: the official one, so HSDS tools recognise it.
PACKAGE = {
    "name": "human_services_data",
    "title": "Human Services Data Specification",
    "description": (
        "HSDS describes data about organizations, the services they provide, the locations at which these "
        "services can be accessed, and associated details. Columns after the official ones are our HSDS "
        "profile's fields; each says so in its description."
    ),
    "profile": "tabular-data-package",
    "version": "3.0.0",
    "homepage": "http://docs.openreferral.org",
    "license": {
        "url": "https://creativecommons.org/licenses/by-sa/4.0/",
        "type": "CC-BY-SA-4.0",
        "name": "Creative Commons Attribution-ShareAlike 4.0",
    },
}

# Where a document nests objects of another table: key -> table (a list, or one object).
_NESTED = {
    "organization": "organization",
    "program": "program",
    "phones": "phone",
    "schedules": "schedule",
    "service_areas": "service_area",
    "service_at_locations": "service_at_location",
    "location": "location",
    "addresses": "address",
    "accessibility": "accessibility",
    "languages": "language",
    "funding": "funding",
    "cost_options": "cost_option",
    "required_documents": "required_document",
    "contacts": "contact",
    "attributes": "attribute",
    "metadata": "metadata",
    "taxonomy_term": "taxonomy_term",
    "taxonomy_detail": "taxonomy",
    "programs": "program",
    "organization_identifiers": "organization_identifier",
    "services": "service",
}
# Tables whose rows several documents share (a location used by several services): written once each.
_SHARED = ("organization", "program", "location", "taxonomy_term", "taxonomy")
# A zip member's timestamp, fixed so that two exports of the same data are byte-identical.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _table_type(kind):
    """(Table Schema type, format) of a TYPES entry."""
    if kind in ("email", "uri"):
        return "string", kind
    return kind, None


def _official_field(table, name):
    kind = TYPES[table].get(name) or ("uuid" if name == "id" or name.endswith("_id") else "string")
    field_type, field_format = _table_type("string" if kind == "uuid" else kind)
    field = {"name": name, "type": field_type}
    if kind == "uuid":
        field["format"] = "uuid"
    elif field_format:
        field["format"] = field_format
    if name in REQUIRED[table]:
        field["constraints"] = {"required": True, "unique": name == "id"}
    return field


def _profile_field(table, name):
    if table == "service" and name.startswith(HOTLINE_PREFIX):
        model_field = Hotline._meta.get_field(name.removeprefix(HOTLINE_PREFIX))
        what = "Hotline facts (filled in only for a hotline)"
    else:
        model = PROFILE_MODELS[table]
        model_field = model._meta.get_field(mapping._model_field(model, name))
        what = "Our HSDS profile"
    if isinstance(model_field, dj.BooleanField):
        field_type = "boolean"
    elif isinstance(model_field, dj.IntegerField):
        field_type = "integer"
    else:
        field_type = "string"
    meaning = str(model_field.help_text or model_field.verbose_name).rstrip(".")
    description = f"{what}, not in HSDS 3.0: {meaning}."
    if model_field.choices:
        description += " One of: " + ", ".join(str(value) for value, _label in model_field.flatchoices) + "."
    if field_type == "boolean":
        description += " Empty means false."
    field = {"name": name, "type": field_type, "description": description}
    if field_type == "boolean":
        field["trueValues"], field["falseValues"] = ["true"], ["false", ""]
    return field


def datapackage():
    """The datapackage.json descriptor of what write_package writes: every table, every column."""
    resources = []
    for table, path in PATHS.items():
        fields = [_official_field(table, name) for name in TABLES[table]]
        fields += [_profile_field(table, name) for name in PROFILE_COLUMNS.get(table, [])]
        schema = {"primaryKey": "id", "fields": fields}
        if FOREIGN_KEYS[table]:
            schema["foreignKeys"] = [
                {"fields": column, "reference": {"resource": other, "fields": "id"}}
                for column, other in FOREIGN_KEYS[table].items()
            ]
        resources.append(
            {
                "name": table,
                "path": path,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "schema": schema,
            }
        )
    return {**PACKAGE, "resources": resources}


def cell(value):
    """A JSON value as CSV text: empty for absent, true/false, numbers without exponents."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return format(decimal.Decimal(text), "f") if "e" in text else text
    return str(value)


class _Writer:
    """One csv.writer per table; flattens documents into rows, each shared row once."""

    def __init__(self, directory):
        self.files, self.writers = {}, {}
        self.rows = dict.fromkeys(PATHS, 0)
        self.seen = {table: set() for table in _SHARED}
        self.columns = {table: columns(table) for table in PATHS}
        try:
            for table, path in PATHS.items():
                handle = open(directory / path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
                self.files[table] = handle
                self.writers[table] = csv.writer(handle, lineterminator="\n")
                self.writers[table].writerow(self.columns[table])
        except BaseException:
            self.close()
            raise

    def close(self):
        for handle in self.files.values():
            handle.close()

    def write(self, table, document):
        if table in self.seen:
            if document["id"] in self.seen[table]:
                return
            self.seen[table].add(document["id"])
        if table == "service":
            hotline = document.get("hotline") or {}
            document = {**document, **{HOTLINE_PREFIX + name: value for name, value in hotline.items()}}
        self.writers[table].writerow([cell(document.get(name)) for name in self.columns[table]])
        self.rows[table] += 1
        for key, nested in document.items():
            child_table = _NESTED.get(key)
            if child_table is None:
                continue
            if isinstance(nested, dict):
                self.write(child_table, nested)
            else:
                for child in nested:
                    self.write(child_table, child)


def write_package(target, documents, *, taxonomy_terms=()):
    """Write HSDS service documents as the tabular package: datapackage.json and one CSV per table.

    `target` is a folder (made if missing; our files in it are replaced) or a path ending in .zip.
    Nested objects become rows of their own table, linked by the ids the documents carry (a service's
    phones have its service_id, ...); a location, organization, program or term that several services
    share is written once. `taxonomy_terms` are term documents written before the services, so a
    package holds whole vocabularies and not only the terms in use. Rows are written as the documents
    come, so memory holds one document and the ids of the shared rows. Returns the rows per table.
    """
    target = Path(target)
    if target.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".hsds-export-") as scratch:
            rows = _write_folder(Path(scratch), documents, taxonomy_terms)
            _zip_folder(Path(scratch), target)
        return rows
    target.mkdir(parents=True, exist_ok=True)
    return _write_folder(target, documents, taxonomy_terms)


def _write_folder(directory, documents, taxonomy_terms):
    writer = _Writer(directory)
    try:
        for term in taxonomy_terms:
            writer.write("taxonomy_term", term)
        for document in documents:
            writer.write("service", document)
    finally:
        writer.close()
    descriptor = json.dumps(datapackage(), indent=2, ensure_ascii=False) + "\n"
    (directory / "datapackage.json").write_text(descriptor, encoding="utf-8")
    return writer.rows


def _zip_folder(directory, target):
    """Zip the package's files, streamed from disk, with fixed timestamps; replace `target` at the end."""
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name in ["datapackage.json", *PATHS.values()]:
                member = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                member.compress_type = zipfile.ZIP_DEFLATED
                member.external_attr = 0o644 << 16
                with open(directory / name, "rb") as source, archive.open(member, "w") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# --- reading ---------------------------------------------------------------------------------------------
# The inverse of write_package: tables joined back into nested documents by their *_id columns.


class Leftover:
    """A row no document can carry: the id that should place it names no row of the package."""

    def __init__(self, table, index, row_id, message):
        self.table, self.index, self.id, self.message = table, index, row_id, message


# Where a document nests rows of another table, and the column of those rows that names the owner.
_READ_LISTS = {
    "organization": [
        ("funding", "funding", "organization_id"),
        ("contacts", "contact", "organization_id"),
        ("phones", "phone", "organization_id"),
        ("programs", "program", "organization_id"),
        ("organization_identifiers", "organization_identifier", "organization_id"),
    ],
    "service": [
        ("phones", "phone", "service_id"),
        ("schedules", "schedule", "service_id"),
        ("service_areas", "service_area", "service_id"),
        ("service_at_locations", "service_at_location", "service_id"),
        ("languages", "language", "service_id"),
        ("funding", "funding", "service_id"),
        ("cost_options", "cost_option", "service_id"),
        ("required_documents", "required_document", "service_id"),
        ("contacts", "contact", "service_id"),
    ],
    "service_at_location": [
        ("contacts", "contact", "service_at_location_id"),
        ("phones", "phone", "service_at_location_id"),
        ("schedules", "schedule", "service_at_location_id"),
    ],
    "location": [
        ("languages", "language", "location_id"),
        ("addresses", "address", "location_id"),
        ("contacts", "contact", "location_id"),
        ("accessibility", "accessibility", "location_id"),
        ("phones", "phone", "location_id"),
        ("schedules", "schedule", "location_id"),
    ],
    "contact": [("phones", "phone", "contact_id")],
    "phone": [("languages", "language", "phone_id")],
}


def read_package(path):
    """The documents of a tabular package (a folder, a zip, or its datapackage.json).

    First each taxonomy and taxonomy term, then each service as a nested HSDS service document (like the
    API's: its organization and program, its phones, places with their location in full, terms as
    attributes carrying the term, ...), then each organization with its own lists (phones, contacts,
    funding, programs, identifiers), then the locations and table descriptions no service reaches. Rows
    whose owner is in no table are left out; see read_package_records.
    """
    for _kind, document in read_package_records(path):
        if not isinstance(document, Leftover):
            yield document


def read_package_records(path):
    """(kind, document) for each document of read_package, and ("leftover", Leftover) for each row
    no document can carry (an attribute whose link_id names no row, ...)."""
    yield from _Joiner(_read_tables(Path(path))).records()


def is_tabular_json(document):
    """The tabular form written as JSON, as the official example tabular.json: {"services.csv": [rows]}."""
    return (
        isinstance(document, dict)
        and bool(document)
        and all(isinstance(key, str) and key.endswith(".csv") for key in document)
        and all(isinstance(rows, list) for rows in document.values())
    )


def read_tabular_json_records(document):
    """read_package_records for the tabular form written as JSON."""
    tables = {}
    by_path = {path: table for table, path in PATHS.items()}
    for path, rows in document.items():
        if path in by_path:
            table = by_path[path]
            tables[table] = [_row(table, _as_cells(table, row)) for row in rows if isinstance(row, dict)]
    yield from _Joiner(tables).records()


def _as_cells(table, row):
    """A JSON row as a CSV reader would see it: text, so that the same conversions apply."""
    return {name: cell(value) for name, value in row.items() if not isinstance(value, dict | list)}


def _read_tables(path):
    """Each table's rows as dicts of JSON values (numbers, booleans), empty cells left out."""
    if path.is_dir():
        opener = _FolderOpener(path)
    elif path.name == "datapackage.json":
        opener = _FolderOpener(path.parent)
    else:
        opener = _ZipOpener(path)
    with opener:
        try:
            descriptor = json.loads(opener.read_text("datapackage.json"))
        except KeyError:
            raise ValueError("no datapackage.json in it, so it is not a tabular package") from None
        declared = {}
        for resource in descriptor.get("resources") or ():
            if isinstance(resource, dict) and resource.get("name") in TABLES and isinstance(resource.get("path"), str):
                declared[resource["name"]] = resource["path"]
        tables = {}
        for table in TABLES:
            name = declared.get(table, PATHS[table])
            if opener.exists(name):
                tables[table] = [_row(table, raw) for raw in csv.DictReader(opener.open_text(name))]
    if not tables:
        raise ValueError("none of the HSDS tables (services.csv, organizations.csv, ...) is in it")
    return tables


class _FolderOpener:
    def __init__(self, directory):
        self.directory, self.handles = directory, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.close()

    def exists(self, name):
        return (self.directory / name).is_file()

    def read_text(self, name):
        if not self.exists(name):
            raise KeyError(name)
        return (self.directory / name).read_text(encoding="utf-8-sig")

    def open_text(self, name):
        handle = open(self.directory / name, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed on exit)
        self.handles.append(handle)
        return handle


class _ZipOpener:
    """Members of a zip, at its root or in the one folder that holds datapackage.json."""

    def __init__(self, path):
        self.archive = zipfile.ZipFile(path)
        names = [name for name in self.archive.namelist() if name.rsplit("/", 1)[-1] == "datapackage.json"]
        self.prefix = min(names, key=len).removesuffix("datapackage.json") if names else ""
        self.members = set(self.archive.namelist())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.archive.close()

    def exists(self, name):
        return self.prefix + name in self.members

    def read_text(self, name):
        return self.archive.read(self.prefix + name).decode("utf-8-sig")

    def open_text(self, name):
        return io.TextIOWrapper(self.archive.open(self.prefix + name), encoding="utf-8-sig", newline="")


def _number(text):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text  # left as text: the schema check names it
    return value if value == value and value not in (float("inf"), float("-inf")) else text


def _flag(text):
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return text


@functools.cache
def _converters(table):
    """Column -> function turning its CSV text into the JSON value a document holds."""
    converters = {name: _number for name, kind in TYPES[table].items() if kind == "number"}
    for name in PROFILE_COLUMNS.get(table, []):
        if table == "service" and name.startswith(HOTLINE_PREFIX):
            model_field = Hotline._meta.get_field(name.removeprefix(HOTLINE_PREFIX))
        else:
            model = PROFILE_MODELS[table]
            model_field = model._meta.get_field(mapping._model_field(model, name))
        if isinstance(model_field, dj.BooleanField):
            converters[name] = _flag
        elif isinstance(model_field, dj.IntegerField):
            converters[name] = _number
    return converters


@functools.cache
def _required_text(table):
    """The required columns that hold plain text: an empty cell there is an empty text, which HSDS allows
    (a confidential address is written with an empty street), not a missing value."""
    typed = TYPES.get(table, {})
    return frozenset(name for name in REQUIRED.get(table, ()) if name != "id" and name not in typed)


def _row(table, raw):
    converters = _converters(table)
    required_text = _required_text(table)
    row = {}
    for name, text in raw.items():
        if name is None or text is None or text == "":
            if text == "" and name in required_text:
                row[name] = ""
            continue  # a cell beyond the header, or missing; empty means no value
        convert = converters.get(name)
        row[name] = convert(text) if convert else text
    if table == "service":
        hotline = {
            name.removeprefix(HOTLINE_PREFIX): row.pop(name) for name in list(row) if name.startswith(HOTLINE_PREFIX)
        }
        if hotline:
            row["hotline"] = hotline
    return row


class _Joiner:
    """Builds nested documents from the tables; remembers which rows found a place."""

    def __init__(self, tables):
        self.tables = tables
        self.by_id = {table: {row["id"]: row for row in rows if "id" in row} for table, rows in tables.items()}
        self.children = {}  # (table, owner column) -> {owner id: [rows]}
        for lists in _READ_LISTS.values():
            for _key, table, column in lists:
                if (table, column) in self.children:
                    continue
                index = self.children[table, column] = {}
                for row in tables.get(table, ()):
                    if column in row:
                        index.setdefault(row[column], []).append(row)
        self.extras = {}  # attributes and metadata by the id of what they describe
        for table, column in (("attribute", "link_id"), ("metadata", "resource_id")):
            for row in tables.get(table, ()):
                if column in row:
                    self.extras.setdefault((table, row[column]), []).append(row)
        self.placed = {table: set() for table in TABLES}

    def records(self):
        # Vocabularies and services first: the organizations' own rows often name services too.
        for row in self.tables.get("taxonomy", ()):
            yield "taxonomy", self.document("taxonomy", row)
        for row in self.tables.get("taxonomy_term", ()):
            yield "taxonomy_term", self.term(row)
        for row in self.tables.get("service", ()):
            yield "service", self.service(row)
        for row in self.tables.get("organization", ()):
            yield "organization", self.document("organization", row)
        for row in self.tables.get("location", ()):
            if row.get("id") not in self.placed["location"]:
                yield "location", self.document("location", row)
        for row in self.tables.get("meta_table_description", ()):
            yield "meta_table_description", dict(row)
        yield from self.leftovers()

    def document(self, table, row):
        """A row with what it nests: its lists, attributes and metadata."""
        self.placed.setdefault(table, set()).add(row.get("id"))
        document = dict(row)
        for key, child_table, column in _READ_LISTS.get(table, ()):
            rows = self.children.get((child_table, column), {}).get(row.get("id"), ())
            if rows:
                document[key] = [self.document(child_table, child) for child in rows]
        if table == "service_at_location" and row.get("location_id") in self.by_id.get("location", {}):
            document["location"] = self.document("location", self.by_id["location"][row["location_id"]])
        attributes = self.extras.get(("attribute", row.get("id")), ())
        if attributes:
            document["attributes"] = [self.attribute(attribute) for attribute in attributes]
        metadata = self.extras.get(("metadata", row.get("id")), ())
        if metadata:
            self.placed.setdefault("metadata", set()).update(item.get("id") for item in metadata)
            document["metadata"] = [dict(item) for item in metadata]
        return document

    def service(self, row):
        document = self.document("service", row)
        organization = self.by_id.get("organization", {}).get(row.get("organization_id"))
        if organization is not None:
            document["organization"] = dict(organization)
        program = self.by_id.get("program", {}).get(row.get("program_id"))
        if program is not None:
            self.placed["program"].add(program["id"])
            document["program"] = dict(program)
        return document

    def term(self, row):
        self.placed["taxonomy_term"].add(row.get("id"))
        document = dict(row)
        taxonomy = self.by_id.get("taxonomy", {}).get(row.get("taxonomy_id"))
        if taxonomy is not None:
            document["taxonomy_detail"] = dict(taxonomy)
        return document

    def attribute(self, row):
        self.placed["attribute"].add(row.get("id"))
        document = dict(row)
        term = self.by_id.get("taxonomy_term", {}).get(row.get("taxonomy_term_id"))
        if term is not None:
            document["taxonomy_term"] = self.term(term)
        return document

    def leftovers(self):
        for table, rows in self.tables.items():
            if table in ("taxonomy", "taxonomy_term", "organization", "service", "location", "meta_table_description"):
                continue
            for index, row in enumerate(rows):
                if row.get("id") in self.placed.get(table, ()):
                    continue
                owners = [
                    f"{column} {row[column]}"
                    for column in (*FOREIGN_KEYS[table], "link_id", "resource_id")
                    if column in row and column != "taxonomy_term_id"
                ]
                where = ", ".join(owners) if owners else "no owner id"
                message = f"{PATHS[table]} row {index + 1}: {where}: names no row of this package that holds it"
                yield "leftover", Leftover(table, index, row.get("id", "(no id)"), message)
