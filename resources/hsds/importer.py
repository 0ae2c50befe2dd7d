"""Import HSDS 3.0 data: JSON documents (one, a list, a Page, or ndjson) and the tabular CSV package.

A *record* is one top-level document: a service, an organization (with its services), a service at a
location, a location, a taxonomy, a taxonomy term or a table description. Each record is checked against
the official schema (`validation`) and against our rules (every row it would write passes `full_clean`
and the model's check constraints), then imported whole or not at all:

- A record with any fault is not imported. The report names it by its place in the input and its id, with
  the JSON path of each fault (`services[3] 5f1e…: $.phones[0].number: “12” is not a valid phone number.`).
- One exception, because the official examples themselves carry latitude 100: impossible coordinates are
  left out (both latitude and longitude) and the record is imported with a warning. The address still
  says where the place is; a map pin is a convenience, not something a person acts on. Every other value
  our rules refuse rejects its record: a wrong phone number or age limit misleads the person reading it.
- A reference to an object that is neither in the input nor in the database is a fault when the row
  cannot exist without it (a service's organization, an attribute's taxonomy term that the document does
  not carry in full) and otherwise a warning: the link is left out (an organization's parent, a term's
  parent, a contact's extra owners). Parents that come later in the same input are linked at the end.

Rows are created or updated by their HSDS id (`uuid`). An object that appears under several owners (the
official example lists one phone under a service, its location, its contact and its service at location)
is one row with each of those owners set. A row is written only when a value differs, so importing the
same file again writes nothing. An update sets what the document says and empties the HSDS fields it
leaves out; our own profile fields that an outside file cannot know (a place's confidentiality, a
vocabulary's slug, ...) keep their value when left out, so a shelter stays confidential whoever sends
it. Rows the document does not mention are left alone. Imported services land as "pending" review, or
"published" with `publish=True`; a service already here keeps its review state when nothing in its
record changed. `last_modified` is kept as the document gives it.

Speed (issue 4 asks for 100,000 services in two minutes on two cores): records go in chunks of
CHUNK_SIZE. On a large input the work that needs no database (decoding ndjson lines, the schema check,
turning documents into rows, our rules on each row as if it were new) runs in worker processes, one per
core, a few chunks ahead. The main process looks the chunk's rows up (one query per table), merges each
with what the database holds, judges again only what that merge changed, and writes each table's new
rows with one executemany in one transaction per chunk. The schema check is compiled once (see
`validation`); full_clean's verdict is remembered per distinct row (the same hours, languages and terms
recur), skipping its per-row uniqueness and constraint queries: uniqueness is checked against the
chunk's lookups, check constraints are judged in Python from their declarations. The cyclic garbage
collector is paused while the import runs. If the database still refuses a chunk, its records are
written again one at a time, each in its own transaction, and the refused one is reported.
"""

import collections
import contextlib
import functools
import gc
import json
import multiprocessing
import operator
import os
import re
import uuid as uuid_module
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connections, router, transaction
from django.db.models import BooleanField, CharField, F, IntegerField, Q, TextField, UUIDField
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.text import slugify

from .. import history, search
from .. import phones as phone_numbers
from ..models import (
    Accessibility,
    Address,
    Attribute,
    Contact,
    CostOption,
    Funding,
    Hotline,
    Language,
    Location,
    Metadata,
    MetaTableDescription,
    Organization,
    OrganizationIdentifier,
    Phone,
    Program,
    RequiredDocument,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTerm,
    Taxonomy,
    TaxonomyTerm,
)
from ..models.details import normalise_language
from . import mapping, tabular, validation

CHUNK_SIZE = 1000
# On PostgreSQL, the tables' statistics are gathered again (ANALYZE) after these many chunks: a large import into
# an empty directory otherwise runs on plans made for empty tables until autovacuum catches up (or for ever,
# where it is off), and writing each chunk took longer as the tables grew: at 48,000 services, 60 s a chunk of
# 1,000 instead of 6. Each gathering samples a fixed number of rows per table: 4 s at 50,000 services.
ANALYZE_AFTER_CHUNKS = frozenset({1, 10, 100, 1000})
# A large input is checked in worker processes, one per core, a few chunks ahead of the writing.
PARALLEL_AFTER = 2_000
WORKERS = min(4, os.cpu_count() or 1)
AHEAD = 3
SQLITE_CACHE_KIB = 256 * 1024
SQLITE_CHECKPOINT_PAGES = 50_000
# No HSDS text needs more; a longer string is an error or an attack (issue 4: "1 MB strings").
MAX_TEXT = 65_536
MAX_FAULTS = 20

MODELS = {
    "organization": Organization,
    "program": Program,
    "service": Service,
    "service_at_location": ServiceAtLocation,
    "location": Location,
    "address": Address,
    "phone": Phone,
    "schedule": Schedule,
    "service_area": ServiceArea,
    "language": Language,
    "accessibility": Accessibility,
    "contact": Contact,
    "cost_option": CostOption,
    "funding": Funding,
    "required_document": RequiredDocument,
    "organization_identifier": OrganizationIdentifier,
    "taxonomy": Taxonomy,
    "taxonomy_term": TaxonomyTerm,
    "metadata": Metadata,
    "meta_table_description": MetaTableDescription,
    "attribute": Attribute,
    "service_term": ServiceTerm,
    "hotline": Hotline,
}
TABLE = {model: table for table, model in MODELS.items()}
TABLE[ServiceTerm] = "attribute"

# How a record is named in reports: services[3].
PLURAL = {
    "service": "services",
    "organization": "organizations",
    "service_at_location": "service_at_locations",
    "location": "locations",
    "taxonomy_term": "taxonomy_terms",
    "taxonomy": "taxonomies",
    "meta_table_description": "meta_table_descriptions",
    None: "documents",
}

# Lists nested in each object: key -> table of its items (their row points back at the owner).
LISTS = {
    "organization": {
        "funding": "funding",
        "contacts": "contact",
        "phones": "phone",
        "locations": "location",
        "programs": "program",
        "organization_identifiers": "organization_identifier",
        "services": "service",
    },
    "service": {
        "phones": "phone",
        "schedules": "schedule",
        "service_areas": "service_area",
        "service_at_locations": "service_at_location",
        "languages": "language",
        "funding": "funding",
        "cost_options": "cost_option",
        "required_documents": "required_document",
        "contacts": "contact",
    },
    "service_at_location": {"contacts": "contact", "phones": "phone", "schedules": "schedule"},
    "location": {
        "languages": "language",
        "addresses": "address",
        "contacts": "contact",
        "accessibility": "accessibility",
        "phones": "phone",
        "schedules": "schedule",
    },
    "contact": {"phones": "phone"},
    "phone": {"languages": "language"},
}
# Single objects nested in each object: key -> (table, the owner's foreign key that points at it).
OBJECTS = {
    "service": {"organization": ("organization", "organization"), "program": ("program", "program")},
    "service_at_location": {"location": ("location", "location"), "service": ("service", "service")},
    "taxonomy_term": {"taxonomy_detail": ("taxonomy", "taxonomy")},
}
# Order of writing: what a row points at is written before it.
WRITE_ORDER = [
    Taxonomy,
    TaxonomyTerm,
    Organization,
    Program,
    Service,
    Hotline,
    Location,
    ServiceAtLocation,
    Contact,
    Phone,
    Language,
    Schedule,
    Address,
    Accessibility,
    ServiceArea,
    Funding,
    CostOption,
    RequiredDocument,
    OrganizationIdentifier,
    ServiceTerm,
    Attribute,
    Metadata,
    MetaTableDescription,
]
# Self-references, linked once both rows exist; a missing target is a warning, not a fault.
SELF_LINKS = {Organization: "parent_organization", TaxonomyTerm: "parent"}
# Our profile fields that an outside HSDS file cannot know: left as they are when a document omits them.
KEPT_WHEN_ABSENT = {
    Service: {"is_free", "available_online"},
    Location: {"is_confidential"},
    Phone: {"country", "text_keyword"},
    Schedule: {"timezone"},
    Taxonomy: {"slug"},
    TaxonomyTerm: {"position"},
}
# Models whose clean() and validators read only the row's own plain fields (no foreign key, no query), so
# full_clean gives the same verdict for the same values: checked once per distinct row.
CLEAN_MEMO = {
    Address,
    Accessibility,
    Contact,
    Hotline,
    Location,
    Organization,
    Program,
    ServiceAtLocation,
    Taxonomy,
    CostOption,
    Funding,
    Language,
    Metadata,
    Phone,
    RequiredDocument,
    Schedule,
    ServiceArea,
    ServiceTerm,
    Attribute,
}
# The author the listings' history gives an import that names none.
DEFAULT_LABEL = "HSDS import"

# Objects many records repeat (every service of an organization carries it): a repeat that is
# identical to what was already imported is not checked again.
REPEATED = {Organization, Program, Taxonomy, TaxonomyTerm}


class ImportFileError(ValueError):
    """The input cannot be read as HSDS at all (missing, unreadable, or no HSDS document in it)."""


@dataclass
class InvalidRecord:
    label: str  # where the record is in the input: "services[3]"
    id: str
    faults: list

    def __str__(self):
        return f"{self.label} {self.id}: " + "; ".join(self.faults)


@dataclass
class ImportReport:
    imported: int = 0  # records created or changed
    unchanged: int = 0
    invalid: list = field(default_factory=list)  # InvalidRecord, in input order
    warnings: list = field(default_factory=list)  # "services[0] <id>: $.path: what was left out"
    created_rows: int = 0
    updated_rows: int = 0

    @property
    def summary(self):
        return f"imported {self.imported}, unchanged {self.unchanged}, invalid {len(self.invalid)}"

    def __str__(self):
        return self.summary


# --- reading --------------------------------------------------------------------------------------------


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


class Unreadable:
    """A line of an ndjson file that is not JSON: it spoils its own record only."""

    def __init__(self, message):
        self.message = message


def iter_json(path):
    """The documents of a JSON file: one document, a list, a Page envelope, or ndjson (one per line).

    A list and ndjson are read a document at a time, so a large file need not fit in memory.
    """
    with open(path, encoding="utf-8-sig") as file:
        first = file.readline()
        number = 1
        while first and not first.strip():
            first, number = file.readline(), number + 1
        stripped = first.lstrip()
        if not stripped:
            raise ImportFileError(f"{path} is empty.")
        if stripped[0] == "[":
            yield from _iter_array(file, first)
            return
        if stripped[0] != "{":
            raise ImportFileError(f"{path} is not JSON (HSDS JSON starts with {{ or [).")
        try:
            document = _decoder.decode(first)
        except ValueError:
            document = None
        if isinstance(document, dict):
            # A whole object on the first line: ndjson (or a one-line file, which reads the same). The other
            # lines are decoded where they are checked, in worker processes when the file is large.
            yield document
            for line_number, line in enumerate(file, start=number + 1):
                if line.strip():
                    yield RawLine(line, line_number)
            return
        text = first + file.read()
    try:
        document = _decoder.decode(text)
    except ValueError as error:
        raise ImportFileError(f"{path} is not valid JSON: {error}") from None
    yield document


def _iter_array(file, buffer):
    """The items of a top-level JSON array, decoded one at a time from a growing buffer."""
    position = buffer.index("[") + 1
    at_end = False
    while True:
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if position < len(buffer) and buffer[position] == "]":
            return
        try:
            if position >= len(buffer):
                raise ValueError("more needed")
            item, end = _decoder.raw_decode(buffer, position)
        except ValueError as error:
            if at_end:
                raise ImportFileError(f"The JSON list breaks off or is broken: {error}") from None
            more = file.read(max(1 << 20, len(buffer) - position))
            at_end = not more
            buffer, position = buffer[position:] + more, 0
            continue
        yield item
        position = end


def iter_path(path):
    """(kind or None, document) of every record of a file or package; kind None when unknown yet."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"No such file or folder: {path}")
    if path.is_dir() or path.name == "datapackage.json" or zipfile.is_zipfile(path):
        try:
            yield from tabular.read_package_records(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise ImportFileError(f"Cannot read the tabular package {path}: {error}") from None
        return
    try:
        for document in iter_json(path):
            yield None, document
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFileError(f"Cannot read {path}: {error}") from None


# Fields that only one kind of top-level document has, checked in this order.
_SHAPES = (
    ("meta_table_description", {"character_set"}),
    ("service", {"status", "service_at_locations", "service_areas", "cost_options", "required_documents", "program"}),
    ("service_at_location", {"location", "service", "location_id", "service_id"}),
    ("location", {"location_type", "addresses", "latitude", "longitude", "transportation", "accessibility"}),
    (
        "organization",
        {
            "services",
            "organization_identifiers",
            "programs",
            "locations",
            "year_incorporated",
            "legal_status",
            "tax_status",
            "tax_id",
            "logo",
            "website",
            "parent_organization_id",
            "alternate_name",
            "email",
            "funding",
            "contacts",
            "phones",
        },
    ),
    ("taxonomy_term", {"taxonomy_detail", "taxonomy_id", "parent_id", "term_uri", "code", "taxonomy", "language"}),
    ("taxonomy", {"version", "uri"}),
    ("service", {"organization", "organization_id"}),
)


def kind_of(document):
    """Which HSDS object a top-level document is, told by its fields; None when we cannot tell.

    Only the bare {id, name, description} is ambiguous (an organization, a taxonomy and a term all look
    like that): it is refused rather than guessed.
    """
    if not isinstance(document, dict) or "id" not in document:
        return None
    keys = document.keys()
    for kind, marks in _SHAPES:
        if keys & marks:
            return kind
    return None


def iter_records(items):
    """(kind, document) of each record, unwrapping Page envelopes and lists; kind None when unknown."""
    for kind, document in items:
        if kind is None and tabular.is_tabular_json(document):
            yield from tabular.read_tabular_json_records(document)
        elif kind is None and isinstance(document, dict) and isinstance(document.get("contents"), list):
            for item in document["contents"]:
                yield kind_of(item), item
        elif kind is None and isinstance(document, list):
            for item in document:
                yield kind_of(item), item
        else:
            yield kind or kind_of(document), document


# --- public API -----------------------------------------------------------------------------------------


def import_path(path, *, publish=False, progress=None, by=None, label=None):
    """Import an HSDS JSON file or a tabular package (folder or zip); see import_documents."""
    records = iter_records(iter_path(path))
    label = label or f"{DEFAULT_LABEL}: {Path(path).name}"
    return _Importer(publish=publish, progress=progress, by=by, label=label).run(records, source=str(path))


def import_documents(documents, *, publish=False, progress=None, by=None, label=None):
    """Import HSDS documents (a document, a Page, or an iterable of them); returns an ImportReport.

    `progress`, when given, is told how many records were done after each chunk (`progress.update(n)`,
    as a tqdm bar does). The listings' history names `by` (a user, e.g. the curator approving a partner's
    proposal) and `label` (what the import was) as the author of each change it makes.
    """
    if isinstance(documents, dict):
        documents = [documents]
    records = iter_records((None, document) for document in documents)
    return _Importer(publish=publish, progress=progress, by=by, label=label or DEFAULT_LABEL).run(records, source=None)


# --- checking constraints in Python ---------------------------------------------------------------------


class _Linked:
    """A foreign key set to a row not written yet: not null, equal to nothing."""

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


def constraint_faults(obj, linked=None):
    """Messages of the model's CheckConstraints the row breaks, judged in Python as the database would.

    `linked` names foreign keys set to rows not written yet. SQL logic is three-valued: a check passes
    unless its condition is definitely false, so a comparison with NULL never fails it.
    """
    linked = linked or {}
    model = type(obj)
    reads = _constraint_reads(model)
    if reads is None:
        return [message for check, message in _checks(model) if check(obj, linked) is False]
    # The verdict depends only on the values the conditions read (of a foreign key, only whether it is set).
    state = obj.__dict__
    inputs = (
        model,
        *[(name in linked or state[attname] is not None) if fk else state[attname] for name, attname, fk in reads],
    )
    verdict = _constraint_verdicts.get(inputs)
    if verdict is None:
        if len(_constraint_verdicts) > 100_000:
            _constraint_verdicts.clear()
        verdict = _constraint_verdicts[inputs] = [
            message for check, message in _checks(model) if check(obj, linked) is False
        ]
    return verdict


_constraint_verdicts = {}


@functools.cache
def _constraint_reads(model):
    """(field name, attname, is a foreign key) of what the model's conditions read; None if they read the key or
    compare a foreign key's value (then the verdict is not memoised)."""
    names = set()

    def collect(node):
        for child in node.children:
            if isinstance(child, Q):
                if not collect(child):
                    return False
                continue
            path, expected = child
            name, _, lookup = path.partition("__")
            names.add(name)
            if isinstance(expected, F):
                names.add(expected.name)
            if name != "pk" and model._meta.get_field(name).is_relation and lookup != "isnull":
                return False
        return True

    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if condition is not None and not collect(condition):
            return None
    if "pk" in names:
        return None
    fields = [model._meta.get_field(name) for name in sorted(names)]
    return tuple((f.name, f.attname, f.is_relation) for f in fields)


@functools.cache
def _checks(model):
    """(condition as a Python function, message) of each CheckConstraint of a model, compiled once."""
    return tuple(
        (_compile_q(constraint.condition, model), str(constraint.get_violation_error_message()))
        for constraint in model._meta.constraints
        if getattr(constraint, "condition", None) is not None
    )


def _compile_q(node, model):
    parts = tuple(
        _compile_q(child, model) if isinstance(child, Q) else _compile_lookup(child, model) for child in node.children
    )
    # Three-valued: False decides an AND, True decides an OR; otherwise an unknown part leaves it unknown.
    decisive, otherwise = (False, True) if node.connector == Q.AND else (True, False)

    def evaluate(obj, linked):
        unknown = False
        for part in parts:
            result = part(obj, linked)
            if result is decisive:
                outcome = decisive
                break
            if result is None:
                unknown = True
        else:
            outcome = None if unknown else otherwise
        if node.negated and outcome is not None:
            return not outcome
        return outcome

    return evaluate


def _getter(model, name):
    if name == "pk":
        return lambda obj, linked: obj.pk
    model_field = model._meta.get_field(name)
    attname = model_field.attname
    if model_field.is_relation:
        return lambda obj, linked: linked[name] if name in linked else getattr(obj, attname)
    return lambda obj, linked: getattr(obj, attname)


def _compile_lookup(child, model):
    path, expected = child
    name, _, lookup = path.partition("__")
    lookup = lookup or "exact"
    if lookup not in _COMPARE:
        raise ValueError(f"Cannot judge the constraint lookup {path!r} in Python.")
    value_of = _getter(model, name)
    expected_of = _getter(model, expected.name) if isinstance(expected, F) else (lambda obj, linked: expected)
    compare = _COMPARE[lookup]
    if lookup == "regex" and not isinstance(expected, F):
        pattern = re.compile(expected)
        compare = lambda value, other: pattern.search(str(value)) is not None  # noqa: E731
    if lookup == "isnull":
        return lambda obj, linked: (value_of(obj, linked) is None) == expected

    def evaluate(obj, linked):
        value, other = value_of(obj, linked), expected_of(obj, linked)
        if value is None or other is None:
            return None
        if isinstance(value, _Linked) or isinstance(other, _Linked):
            return False if lookup == "exact" else None
        return compare(value, other)

    return evaluate


_COMPARE = {
    "exact": lambda value, other: value == other,
    "isnull": None,
    "lt": lambda value, other: value < other,
    "lte": lambda value, other: value <= other,
    "gt": lambda value, other: value > other,
    "gte": lambda value, other: value >= other,
    "regex": lambda value, other: re.search(other, str(value)) is not None,
    "startswith": lambda value, other: str(value).startswith(str(other)),
    "in": lambda value, other: value in other,
}


# --- the engine -----------------------------------------------------------------------------------------
# Two halves. _Walker needs no database: it checks a record against the official schema, turns the
# document into occurrences of rows, and checks each row against our rules as if it were new. It runs
# in worker processes on a large input. _Importer holds the state: it merges each row with the one the
# database already has, checks again whatever that merge changed, and writes.


def _describe(value):
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _number(value):
    return "none" if value is None else format(value.normalize(), "f")


def _key(value):
    """The canonical text of a UUID given in a document (ValueError when it is none)."""
    text = str(value)
    if _CANONICAL_UUID.match(text):
        return text.lower()
    return str(uuid_module.UUID(text))


_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def _copy(obj):
    """A copy of a model instance to change without touching the original."""
    clone = obj.__class__.__new__(obj.__class__)
    clone.__dict__ = obj.__dict__.copy()
    clone._state = ModelState()
    clone._state.adding, clone._state.db = obj._state.adding, obj._state.db
    return clone


def _zone_of_offset(offset):
    """The IANA zone of a whole-hour UTC offset (HSDS gives only the offset): 3 -> Etc/GMT-3."""
    if offset is None or offset == 0:
        return "UTC"
    if offset != offset.to_integral_value() or not -14 <= offset <= 12:
        return "UTC"
    return f"Etc/GMT{-int(offset):+d}"


def _values_of(names):
    """A function obj -> the tuple of those attributes (operator.attrgetter, a tuple even for one name)."""
    if len(names) == 1:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return operator.attrgetter(*names)


class _ModelInfo:
    """What the engine needs to know of a model, worked out once."""

    def __init__(self, model):
        meta = model._meta
        self.model = model
        self.fks = {f.name: f for f in meta.concrete_fields if f.is_relation}
        self.owners = {}  # model -> the foreign key that points at it (a row nested in such an owner)
        for fk in self.fks.values():
            self.owners.setdefault(fk.related_model, fk.name)
        self.attnames = [f.attname for f in meta.concrete_fields if not f.primary_key]
        compared = [name for name in self.attnames if name not in ("last_modified", "review_state_changed_at")]
        self.all_values = _values_of(self.attnames)
        self.compared = _values_of(compared)
        self.exclude = set(self.fks) | {"uuid"}
        # What full_clean reads, for rows whose clean() reads no foreign key: the same values, the same verdict.
        inputs = [f.attname for f in meta.concrete_fields if f.name not in self.exclude and not f.primary_key]
        self.clean_input_names = inputs
        self.clean_inputs = _values_of(inputs)
        self.memo = model in CLEAN_MEMO
        # A new row starts from the field defaults; those that are functions are called per row in new().
        self.template, self.calls = {}, []
        for model_field in meta.concrete_fields:
            if model_field.primary_key:
                self.template[model_field.attname] = None
            elif model_field.attname == "uuid":
                self.template["uuid"] = None  # new() sets the document's
            elif callable(getattr(model_field, "default", None)) and model_field.has_default():
                self.calls.append((model_field.attname, model_field.default))
            else:
                self.template[model_field.attname] = model_field.get_default()
        kept = KEPT_WHEN_ABSENT.get(model, set())
        self.hsds_names = {}
        self.reset = {}  # model field -> its value when the document leaves it out
        names = mapping.inbound_names(model)
        if model is Hotline:
            names = [(name, name) for name in mapping.HOTLINE_FIELDS]
        for name, field_name in names:
            self.hsds_names[field_name] = name
            if field_name in kept or field_name in ("last_modified", "review_state"):
                continue
            model_field = meta.get_field(field_name)
            if model_field.has_default():
                self.reset[field_name] = model_field.get_default()
            else:
                self.reset[field_name] = mapping.from_json(model, field_name, None)

    def new(self, key, now):
        """A new instance with the field defaults: Model.__init__'s work, without its cost per keyword."""
        obj = self.model.__new__(self.model)
        values = obj.__dict__
        values.update(self.template)
        obj._state = ModelState()
        for attname, default in self.calls:
            values[attname] = now if default is timezone.now else default()
        if "uuid" in values:
            values["uuid"] = key
        return obj

    def fill(self, obj, values):
        """The document's values on a row; the HSDS fields it leaves out emptied."""
        state = obj.__dict__
        state.update(self.reset)
        state.update(values)


class _Occurrence:
    """One object of a record as the document gives it, before it meets the database."""

    __slots__ = ("cleaned", "doc", "key", "links", "model", "notes", "path", "refs", "repeat", "values")

    def __init__(self, model, key, path, values, doc):
        self.model, self.key, self.path, self.values, self.doc = model, key, path, values, doc
        self.links = {}  # foreign key -> key of a row of this record
        self.refs = {}  # foreign key -> (key of a row elsewhere, path of the reference, required)
        self.cleaned = None  # the walker's verdict on the row as a new one: (True, changes) or (False, errors)
        self.notes = ()  # what the walker left out of the row as a new one
        self.repeat = False  # imported before exactly so (decided by _Importer for each chunk)


class _Record:
    __slots__ = ("deferred", "doc", "faults", "id", "kind", "label", "occurrences", "seq", "warnings")

    def __init__(self, seq, kind, doc):
        self.seq, self.kind, self.doc, self.label = seq, kind, doc, None
        given = doc.get("id") if isinstance(doc, dict) else None
        self.id = str(given)[:60] if given else "(no id)"
        self.faults, self.warnings, self.deferred = [], [], []
        self.occurrences = {}

    def fault(self, path, message):
        if len(self.faults) < MAX_FAULTS:
            self.faults.append(f"{path}: {message}")

    def warn(self, path, message):
        self.warnings.append(f"{self.label} {self.id}: {path}: {message}")

    def invalid(self):
        return InvalidRecord(self.label, self.id, list(self.faults))


class RawLine:
    """An ndjson line, decoded where it is checked (in a worker process on a large file)."""

    __slots__ = ("number", "text")

    def __init__(self, text, number):
        self.text, self.number = text, number


class _Walker:
    """The schema check, the document as occurrences, and our rules on each row as a new one: no database."""

    def __init__(self):
        self.info = {model: _ModelInfo(model) for model in WRITE_ORDER}
        self.verdicts = {}  # full_clean's outcome for each distinct row seen (hours, languages, terms recur)
        self.converted = {}  # key -> (document, values, errors) of repeated objects (organizations, terms)
        self.now = timezone.now()

    def prepare(self, items):
        """Records from input items: (seq, kind, document) or (seq, None, RawLine); checked."""
        prepared = []
        for seq, kind, document in items:
            if isinstance(document, RawLine):
                try:
                    document = _decoder.decode(document.text)
                except ValueError as error:
                    message = f"line {document.number} is not valid JSON: {error}"
                    prepared.append(((seq, 0), None, Unreadable(message)))
                    continue
                # A line may hold a Page or a list: each of its documents is a record.
                for sub, (kind, item) in enumerate(iter_records([(None, document)])):
                    prepared.append(((seq, sub), kind, self.check(_Record((seq, sub), kind, item))))
                continue
            record = document if kind == "leftover" else self.check(_Record((seq, 0), kind, document))
            prepared.append(((seq, 0), kind, record))
        return prepared

    def check(self, record):
        """The record checked; record.faults is empty when it may go on to the database."""
        if record.kind is None:
            record.fault(
                "$",
                "not an HSDS document we can import: expected a service, organization, service at location, "
                "location, taxonomy or taxonomy term, with an id (a bare id, name and description is ambiguous)",
            )
            return record
        kind, doc = record.kind, record.doc
        faults = validation.faults(kind, doc)
        # The modular schemas nest no services in an organization, no service in a service at location.
        if kind == "organization" and isinstance(doc.get("services"), list):
            for index, item in enumerate(doc["services"]):
                faults += validation.faults("service", item, path=f"$.services[{index}]")
        elif kind == "service_at_location" and isinstance(doc.get("service"), dict):
            faults += validation.faults("service", doc["service"], path="$.service")
        if faults:
            record.faults = faults[:MAX_FAULTS]
            return record
        self.walk(record, kind, doc, "$", owner=None)
        # In the order of writing: what a row points at comes before it.
        record.occurrences = dict(sorted(record.occurrences.items(), key=lambda item: _ORDER[item[0][0]]))
        if not record.faults:
            self.precheck(record)
        # What goes back to _Importer (across processes on a large input): the documents only of the
        # objects whose repeats it compares; the values of the others are all it reads.
        record.doc = None
        for occurrence in record.occurrences.values():
            if occurrence.model not in REPEATED:
                occurrence.doc = None
        return record

    # The document as occurrences ---------------------------------------------------------------------

    def walk(self, record, table, doc, path, owner, owner_fk=None):
        """Turn one object and what it nests into occurrences; return its key.

        `owner` is the occurrence it is nested in. `owner_fk` names the owner's foreign key to it when it is
        a single nested object (a service's organization); otherwise the row points back at its owner.
        """
        model = MODELS[table]
        try:
            key = (model, _key(doc.get("id")))
        except ValueError:
            record.fault(f"{path}.id", f"{_describe(doc.get('id'))} is not a UUID")
            return None
        info = self.info[model]
        if owner_fk is not None:
            owner.links[owner_fk] = key
        if model in REPEATED:
            # Each service of a large file repeats its organization and terms: converted once.
            known = self.converted.get(key)
            if known is not None and known[0] == doc:
                values, errors = known[1], known[2]
            else:
                values, errors = mapping.checked_fields_from(model, doc)
                if len(self.converted) > 50_000:
                    self.converted.clear()
                self.converted[key] = (doc, values, errors)
        else:
            values, errors = mapping.checked_fields_from(model, doc)
        if model is Service:
            values.pop("review_state", None)  # the import decides it
        for name, message in errors.items():
            record.fault(f"{path}.{name}", f"{message} (given {_describe(doc[name])})")
        for name, value in values.items():
            if isinstance(value, str) and len(value) > MAX_TEXT:
                record.fault(f"{path}.{name}", f"{len(value):,} characters is too long (at most {MAX_TEXT:,})")
        occurrence = record.occurrences.get(key)
        if occurrence is None:
            occurrence = record.occurrences[key] = _Occurrence(model, key, path, values, doc)
        elif occurrence.values != values:
            record.fault(path, f"the same id {key[1]} is also at {occurrence.path}, with other values")
        if owner is not None and owner_fk is None:
            fk = info.owners.get(owner.model)
            current = occurrence.links.get(fk)
            if current is not None and current != owner.key:
                record.fault(path, f"listed under two different {fk.replace('_', ' ')}s ({current[1]}, {owner.key[1]})")
            occurrence.links[fk] = owner.key

        self.references(record, occurrence, doc, path)
        for name, child_table in LISTS.get(table, {}).items():
            for index, item in enumerate(doc.get(name) or ()):
                self.walk(record, child_table, item, f"{path}.{name}[{index}]", occurrence)
        for name, (child_table, fk) in OBJECTS.get(table, {}).items():
            if isinstance(doc.get(name), dict):
                self.walk(record, child_table, doc[name], f"{path}.{name}", occurrence, owner_fk=fk)
        for index, item in enumerate(doc.get("attributes") or ()):
            self.attribute(record, item, f"{path}.attributes[{index}]", occurrence, table)
        for index, item in enumerate(doc.get("metadata") or ()):
            self.metadata(record, item, f"{path}.metadata[{index}]", occurrence, table)
        if model is Service:
            self.service_extras(record, occurrence, doc, path)
        return key

    def references(self, record, occurrence, doc, path):
        """The `<name>_id` fields: links to rows elsewhere in the record, the input or the database."""
        for name, fk in self.info[occurrence.model].fks.items():
            given = doc.get(f"{name}_id")
            if not given or fk.related_model not in TABLE:
                continue
            try:
                target = (fk.related_model, _key(given))
            except ValueError:
                record.fault(f"{path}.{name}_id", f"{_describe(given)} is not a UUID")
                continue
            nested = occurrence.links.get(name)
            if nested is not None and nested != target:
                record.fault(f"{path}.{name}_id", f"{given} is not the {name.replace('_', ' ')} it is nested in")
            elif nested is None:
                occurrence.refs[name] = (target, f"{path}.{name}_id", not fk.null)

    def service_extras(self, record, service, doc, path):
        # A program nested in a service without an organization of its own belongs to the service's.
        program = service.links.get("program")
        organization = service.links.get("organization") or (service.refs.get("organization") or (None,))[0]
        if program in record.occurrences and organization is not None:
            occurrence = record.occurrences[program]
            if "organization" not in occurrence.links and "organization" not in occurrence.refs:
                if organization in record.occurrences:
                    occurrence.links["organization"] = organization
                else:
                    occurrence.refs["organization"] = (organization, f"{path}.program", True)
        hotline = doc.get("hotline")
        if hotline is None:
            return
        if not isinstance(hotline, dict):
            record.fault(f"{path}.hotline", "expected an object")
            return
        values, errors = mapping.hotline_fields_from(hotline)
        for name, message in errors.items():
            record.fault(f"{path}.hotline.{name}", message)
        key = (Hotline, service.key[1])
        occurrence = record.occurrences[key] = _Occurrence(Hotline, key, f"{path}.hotline", values, hotline)
        occurrence.links["service"] = service.key

    def attribute(self, record, doc, path, owner, owner_table):
        """An HSDS attribute: a ServiceTerm when it tags its own service, else a generic Attribute."""
        if not isinstance(doc, dict):
            record.fault(path, "expected an object")
            return
        term = None
        if isinstance(doc.get("taxonomy_term"), dict):
            term = self.walk(record, "taxonomy_term", doc["taxonomy_term"], f"{path}.taxonomy_term", None)
        try:
            key = _key(doc.get("id"))
            given = doc.get("taxonomy_term_id")
            given = (TaxonomyTerm, _key(given)) if given else None
            link_id = uuid_module.UUID(str(doc["link_id"])) if doc.get("link_id") else uuid_module.UUID(owner.key[1])
        except ValueError:
            record.fault(path, "id, link_id and taxonomy_term_id must be UUIDs")
            return
        if given is not None and term is not None and given != term:
            record.fault(f"{path}.taxonomy_term_id", "is not the id of the taxonomy_term given with it")
        term = term or given
        if term is None:
            record.fault(path, "an attribute needs its taxonomy term: give taxonomy_term or taxonomy_term_id")
            return
        link_entity = doc.get("link_entity") or owner_table
        values = {"link_type": doc.get("link_type") or "", "value": doc.get("value") or ""}
        if link_entity == "service" and owner.model is Service and str(link_id) == owner.key[1]:
            occurrence = _Occurrence(ServiceTerm, (ServiceTerm, key), path, values, doc)
            occurrence.links["service"] = owner.key
        else:
            values.update(link_entity=link_entity, link_id=link_id)
            occurrence = _Occurrence(Attribute, (Attribute, key), path, values, doc)
        for name, value in values.items():
            if not isinstance(value, str | uuid_module.UUID):
                record.fault(f"{path}.{name}", f"expected text, not {_describe(value)}")
        if term in record.occurrences:
            occurrence.links["taxonomy_term"] = term
        else:
            occurrence.refs["taxonomy_term"] = (term, f"{path}.taxonomy_term_id", True)
        record.occurrences[occurrence.key] = occurrence

    def metadata(self, record, doc, path, owner, owner_table):
        """HSDS metadata (a change record): about its owner unless it names another resource."""
        if not isinstance(doc, dict):
            record.fault(path, "expected an object")
            return
        try:
            key = _key(doc.get("id"))
            given = doc.get("resource_id")
            resource_id = uuid_module.UUID(str(given)) if given else uuid_module.UUID(owner.key[1])
        except ValueError:
            record.fault(path, "id and resource_id must be UUIDs")
            return
        values, errors = mapping.checked_fields_from(Metadata, doc)
        for name, message in errors.items():
            record.fault(f"{path}.{name}", f"{message} (given {_describe(doc[name])})")
        values["resource_id"] = resource_id
        values.setdefault("resource_type", owner_table)
        record.occurrences[Metadata, key] = _Occurrence(Metadata, (Metadata, key), path, values, doc)

    # Our rules, on each row as a new one -----------------------------------------------------------------

    def precheck(self, record):
        """full_clean of each row as it would be created; _Importer uses it when the row is indeed new."""
        region = _phone_region(record)
        for occurrence in record.occurrences.values():
            if occurrence.model in REPEATED:
                continue  # usually imported before: checked by _Importer against what is there
            info = self.info[occurrence.model]
            obj = info.new(occurrence.key[1], self.now)
            info.fill(obj, occurrence.values)
            before = info.clean_inputs(obj)
            occurrence.notes = tuple(self.adjust(occurrence, obj, region, new=True))
            ok, payload = self.clean(info, obj)
            broken = ()
            if ok:
                after = info.clean_inputs(obj)
                payload = {
                    name: value
                    for name, value, old in zip(info.clean_input_names, after, before, strict=True)
                    if value is not old and value != old
                }
                # Its foreign keys as they will be once linked (_Importer judges again if a link fails).
                linked = dict.fromkeys([*occurrence.links, *occurrence.refs], _LINKED)
                broken = tuple(constraint_faults(obj, linked))
            occurrence.cleaned = (ok, payload, broken)

    def adjust(self, occurrence, obj, region, *, new):
        """What our models need beyond the plain fields; yields (path, message) of what is left out."""
        model, values, path = occurrence.model, occurrence.values, occurrence.path
        if model is Location:
            # Our coordinates keep six decimals (about 10 cm); GPS readings often carry more.
            for name in ("latitude", "longitude"):
                value = getattr(obj, name)
                if isinstance(value, Decimal) and value.as_tuple().exponent < -6:
                    setattr(obj, name, value.quantize(Decimal("0.000001")))
            if (obj.latitude is not None and abs(obj.latitude) > 90) or (
                obj.longitude is not None and abs(obj.longitude) > 180
            ):
                yield (
                    f"{path}.latitude",
                    f"coordinates {_number(values.get('latitude'))}, {_number(values.get('longitude'))} are "
                    "impossible (latitude -90..90, longitude -180..180): left out",
                )
                obj.latitude = obj.longitude = None
        elif model is Phone:
            # The official example quotes its number: "\"+44 1234 234567\"".
            number = (obj.number or "").strip().strip('"').strip()
            if number and not number.startswith("+") and region and not obj.country:
                # A national number is read in the country of the record's addresses, when they agree.
                try:
                    number = phone_numbers.normalise(number, region)
                except phone_numbers.InvalidPhone:
                    pass
                else:
                    if phone_numbers.is_short_code(number):
                        obj.country = region
            obj.number = number
        elif model is Language and not obj.code and obj.name:
            # HSDS may name a language without its code; our Language.clean() fills the code from the name,
            # but full_clean refuses the blank code before clean() runs.
            with contextlib.suppress(ValidationError):  # else full_clean reports the missing code
                obj.code = normalise_language(obj.name)
        elif model is Schedule:
            if "timezone" not in values and new:
                obj.timezone = _zone_of_offset(obj.utc_offset)
        elif model is ServiceArea and "kind" not in values:
            if obj.city:
                obj.kind = ServiceArea.Kind.CITY
            elif obj.subdivision:
                obj.kind = ServiceArea.Kind.SUBDIVISION
            elif obj.country:
                obj.kind = ServiceArea.Kind.COUNTRY
            else:
                obj.kind = ServiceArea.Kind.OTHER

    def clean(self, info, obj):
        """(True, None) when full_clean passes (it may normalise values in place), else (False, errors)."""
        if info.memo:
            inputs = (info.model, *info.clean_inputs(obj))
            known = self.verdicts.get(inputs)
            if known is not None:
                if known[0]:
                    obj.__dict__.update(zip(info.clean_input_names, known[1], strict=True))
                return known[0], None if known[0] else known[1]
        try:
            obj.full_clean(exclude=info.exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            verdict = (False, error.message_dict)
        else:
            verdict = (True, info.clean_inputs(obj) if info.memo else None)
        if info.memo:
            if len(self.verdicts) > 100_000:
                self.verdicts.clear()
            self.verdicts[inputs] = verdict
        return verdict[0], None if verdict[0] else verdict[1]


def _phone_region(record):
    """The country of the record's addresses when they agree: national phone numbers are read in it."""
    countries = {
        str(occurrence.values.get("country") or "").upper()
        for occurrence in record.occurrences.values()
        if occurrence.model is Address
    } - {""}
    return next(iter(countries)) if len(countries) == 1 else ""


# A walker per process: a worker process builds its own on first use.
_walker = None


def _prepare(items):
    global _walker
    if _walker is None:
        _walker = _Walker()
    return _walker.prepare(items)


class _Importer:
    def __init__(self, *, publish, progress, by=None, label=DEFAULT_LABEL):
        self.publish = publish
        self.progress = progress
        self.by, self.label = by, label
        self.report = ImportReport()
        self.walker = _Walker()
        self.info = self.walker.info
        self.now = self.walker.now
        self.state = Service.ReviewState.PUBLISHED if publish else Service.ReviewState.PENDING
        # Rows found or written by this import that later records refer to: key -> pk.
        self.known = {}
        # Repeated objects already imported: key -> (raw document, keys of the rows it points at).
        self.seen = {}
        self.deferred = []  # links to rows that were nowhere yet: (model, uuid, fk, target key, record name, path)
        self.chunks_written = 0
        self.invalid = []
        self.positions = {}
        self._load_vocabularies()

    def _load_vocabularies(self):
        """Vocabularies are small and any record may use them: in memory for the whole import."""
        self.taxonomy_uuids = {}  # pk -> uuid
        self.slugs = {}  # slug -> taxonomy uuid
        self.taxonomy_names = {}  # name -> [uuid]
        for taxonomy in Taxonomy.objects.all():
            self._remember_taxonomy(taxonomy)
        self.codes = {}  # (taxonomy uuid, code) -> term uuid
        for term in TaxonomyTerm.objects.all():
            self._remember_term(term)

    def _remember_taxonomy(self, taxonomy):
        key = str(taxonomy.uuid)
        self.known[Taxonomy, key] = taxonomy.pk
        self.taxonomy_uuids[taxonomy.pk] = key
        self.slugs[taxonomy.slug] = key
        self.taxonomy_names.setdefault(taxonomy.name, []).append(key)

    def _remember_term(self, term):
        self.known[TaxonomyTerm, str(term.uuid)] = term.pk
        self.codes[self.taxonomy_uuids[term.taxonomy_id], term.code] = str(term.uuid)

    # --- the run --------------------------------------------------------------------------------------

    def run(self, records, *, source):
        with _tuned_connection():
            return self._run(records, source=source)

    def _run(self, records, *, source):
        batches = self._batches(records)
        pool = None
        # The import keeps many objects alive and makes almost no reference cycles: the cyclic collector
        # would rescan them over and over (a third of the time). Paused for the import, as before after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            ahead = collections.deque()
            for number, batch in enumerate(batches):
                if pool is None and number * CHUNK_SIZE >= PARALLEL_AFTER and _can_fork():
                    # A large input: the walkers' share goes to worker processes, the writing stays here.
                    pool = multiprocessing.get_context("fork").Pool(WORKERS, initializer=gc.disable)
                if pool is None:
                    self._chunk(self.walker.prepare(batch))
                    continue
                ahead.append(pool.apply_async(_prepare, (batch,)))
                if len(ahead) > AHEAD:
                    self._chunk(ahead.popleft().get())
            while ahead:
                self._chunk(ahead.popleft().get())
        finally:
            if pool is not None:
                pool.terminate()
            if collecting:
                gc.enable()
        if source is not None and self.positions and not set(self.positions) - {None, "leftover"}:
            raise ImportFileError(
                f"{source} holds no HSDS document: expected services, organizations or other HSDS objects, "
                'each with an id, alone, in a list, in a Page ({"contents": [...]}) or one per line.'
            )
        self._link_deferred()
        if self.report.imported >= search.TIDY_AFTER:
            search.tidy_index()
        self.report.invalid = [item for _seq, item in sorted(self.invalid, key=lambda pair: pair[0])]
        return self.report

    @staticmethod
    def _batches(records):
        batch = []
        for seq, (kind, document) in enumerate(records):
            batch.append((seq, kind, document))
            if len(batch) >= CHUNK_SIZE:
                yield batch
                batch = []
        if batch:
            yield batch

    def _label(self, kind, record):
        position = self.positions.get(kind, 0)
        self.positions[kind] = position + 1
        if isinstance(record, tabular.Leftover):
            return f"{tabular.PATHS[record.table].removesuffix('.csv')}[{record.index}]"
        return f"{PLURAL.get(kind, 'documents')}[{position}]"

    def _chunk(self, prepared):
        checked = []
        for seq, kind, record in prepared:
            label = self._label(kind, record)
            if isinstance(record, Unreadable):
                self.invalid.append((seq, InvalidRecord(label, "(unreadable)", [record.message])))
            elif isinstance(record, tabular.Leftover):
                self.invalid.append((seq, InvalidRecord(label, record.id, [record.message])))
            else:
                record.label = label
                if record.faults:
                    self.invalid.append((seq, record.invalid()))
                else:
                    checked.append(record)
        try:
            self._import(checked)
        except (IntegrityError, DataError):
            # Something our checks did not foresee: write each record alone to find the one refused.
            for record in checked:
                try:
                    self._import([record])
                except (IntegrityError, DataError) as error:
                    record.faults = [f"$: the database refused it: {error}"]
                    self.invalid.append((record.seq, record.invalid()))
        self._link_known()
        self.chunks_written += 1
        db = connections[router.db_for_write(Service)]
        if self.chunks_written in ANALYZE_AFTER_CHUNKS and db.vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute("ANALYZE")
        if self.progress is not None:
            self.progress.update(len(prepared))

    # --- against our rules and the database -------------------------------------------------------------

    def _import(self, records):
        """Merge each record's rows with the database; write the valid records in one transaction."""
        self.nodes = {}  # key -> _Node: the chunk's rows as they will be written
        self.chunk_slugs, self.chunk_codes = {}, {}
        existing = self._existing(records)
        accepted, refused = [], []
        for record in records:
            record.faults, record.warnings, record.deferred = [], [], []
            staged = self._stage(record, existing)
            if record.faults:
                refused.append(record)
            else:
                accepted.append((record, self._accept(record, staged)))
        with transaction.atomic():
            self._write()
        self.invalid += [(record.seq, record.invalid()) for record in refused]
        for record, changed in accepted:
            if changed:
                self.report.imported += 1
            else:
                self.report.unchanged += 1
            self.report.warnings += record.warnings
            self.deferred += record.deferred
            self._remember(record)

    def _existing(self, records):
        """The rows the chunk names that are in the database already: one query per table."""
        wanted = {}
        for record in records:
            for key, occurrence in record.occurrences.items():
                occurrence.repeat = key[0] in REPEATED and self._repeat(occurrence)
                if not occurrence.repeat:
                    wanted.setdefault(key[0], set()).add(key[1])
                for target, _path, _required in occurrence.refs.values():
                    if target not in self.known:
                        wanted.setdefault(target[0], set()).add(target[1])
        found = {}
        for model, uuids in wanted.items():
            # Most rows of a first import are new: a cheap probe first, whole rows only for those found.
            uuids = _present(Service if model is Hotline else model, uuids)
            for start in range(0, len(uuids), 900):
                part = uuids[start : start + 900]
                if model is Hotline:
                    rows = Hotline.objects.filter(service__uuid__in=part).annotate(service_uuid=F("service__uuid"))
                    found.update(((Hotline, str(row.service_uuid)), row) for row in rows)
                else:
                    found.update(((model, str(row.uuid)), row) for row in model.objects.filter(uuid__in=part))
        # One service has a term once, and is at a location once: the pairs already taken.
        self.pairs = {}
        services = [row.pk for key, row in found.items() if key[0] is Service]
        for model, second in ((ServiceTerm, "taxonomy_term"), (ServiceAtLocation, "location")):
            for start in range(0, len(services), 900):
                rows = model.objects.filter(service__in=services[start : start + 900])
                for row_uuid, service, other in rows.values_list("uuid", "service_id", f"{second}_id"):
                    self.pairs[model, service, other] = str(row_uuid)
        return found

    def _repeat(self, occurrence):
        """True for an organization, program or vocabulary entry imported before exactly as given here."""
        if occurrence.model not in REPEATED:
            return False
        seen = self.seen.get(occurrence.key)
        if seen is None or seen[0] != occurrence.doc:
            return False
        targets = set(occurrence.links.values()) | {ref[0] for ref in occurrence.refs.values()}
        return targets <= seen[1]

    def _stage(self, record, existing):
        """Each row of the record as it would be written, checked against our rules."""
        staged = {}
        region = None
        pairs = {}
        for occurrence in record.occurrences.values():
            key, model = occurrence.key, occurrence.model
            if occurrence.repeat:
                continue  # the row is as the document says: it is only pointed at
            info = self.info[model]
            node = self.nodes.get(key)
            base = node.obj if node is not None else existing.get(key)
            if base is not None:
                obj = _copy(base)
                before = info.compared(obj)
            else:
                obj = info.new(key[1], self.now)
                before = None
            # Every column as the database holds it, to write only what changes (None: a new row).
            original = info.all_values(base) if node is None and base is not None else None
            info.fill(obj, occurrence.values)
            linked, pending = {}, {}
            unlinked = False  # a reference that found no row
            for name, target in occurrence.links.items():
                self._point(obj, info, name, target, staged, existing, linked, pending)
            for name, (target, path, required) in occurrence.refs.items():
                if SELF_LINKS.get(model) == name:
                    self._point_self(record, obj, info, name, target, path, existing)
                elif not self._point(obj, info, name, target, staged, existing, linked, pending):
                    unlinked = True
                    if required and getattr(obj, info.fks[name].attname) is None:
                        what = f"{target[0]._meta.verbose_name} {target[1]}"
                        record.fault(path, f"no {what} in this input or the database")
                    else:
                        # Perhaps later in the input: linked at the end, or reported as left out.
                        record.deferred.append((model, key[1], name, target, f"{record.label} {record.id}", path))
            for name, fk in info.fks.items():
                missing = not fk.null and name not in linked and getattr(obj, fk.attname) is None
                if missing and name not in occurrence.refs:
                    record.fault(occurrence.path, f"a {model._meta.verbose_name} needs its {fk.verbose_name}")
            if model is Taxonomy:
                self._taxonomy_slug(record, occurrence, obj)
            elif model is TaxonomyTerm:
                self._term_code(record, occurrence, obj)
            if base is None and occurrence.cleaned is not None:
                # New, as the walker checked it.
                for path, message in occurrence.notes:
                    record.warn(path, message)
                ok, payload, broken = occurrence.cleaned
                if not ok or unlinked:
                    self._verdict(record, occurrence, obj, linked, ok, payload)  # with its links as they are
                else:
                    if payload:
                        obj.__dict__.update(payload)
                    for message in broken:
                        record.fault(occurrence.path, message)
            else:
                if region is None:
                    region = _phone_region(record)
                for path, message in self.walker.adjust(occurrence, obj, region, new=base is None):
                    record.warn(path, message)
                if before is None or self._relinked(node, pending) or info.compared(obj) != before:
                    # A row exactly as the database holds it is not written, so needs no new verdict.
                    ok, payload = self.walker.clean(info, obj)
                    self._verdict(record, occurrence, obj, linked, ok, payload)
            if model in (ServiceTerm, ServiceAtLocation):
                self._unique_pair(record, occurrence, obj, pairs)
            staged[key] = (obj, before, pending, occurrence, original)
        return staged

    @staticmethod
    def _relinked(node, pending):
        """True when a foreign key now points at a row not written yet that it did not point at before."""
        if not pending:
            return False
        if node is None:
            return True
        return any(node.pending.get(attname) != target for attname, target in pending.items())

    def _verdict(self, record, occurrence, obj, linked, ok, payload):
        if not ok:
            for name, messages in payload.items():
                self._field_fault(record, occurrence, name, messages)
            return
        if payload:
            obj.__dict__.update(payload)
        for message in constraint_faults(obj, linked):
            record.fault(occurrence.path, message)

    def _point(self, obj, info, name, target, staged, existing, linked, pending):
        """Point the foreign key `name` at the row `target`; False when that row is nowhere."""
        attname = info.fks[name].attname
        row = staged[target][0] if target in staged else (self.nodes[target].obj if target in self.nodes else None)
        if row is not None and row.__dict__["id"] is None:
            obj.__dict__[attname] = None
            linked[name] = _LINKED
            pending[attname] = target
            return True
        pk = row.__dict__["id"] if row is not None else self.known.get(target)
        if pk is None and target in existing:
            pk = existing[target].__dict__["id"]
        if pk is None:
            return False
        obj.__dict__[attname] = pk
        return True

    def _point_self(self, record, obj, info, name, target, path, existing):
        """An organization's parent, a term's parent: linked now when it exists, else at the end."""
        pk = self.known.get(target)
        if pk is None and target in existing:
            pk = existing[target].pk
        if pk is not None and pk != obj.pk:
            setattr(obj, info.fks[name].attname, pk)
        elif pk is None:
            record.deferred.append((obj._meta.model, str(obj.uuid), name, target, f"{record.label} {record.id}", path))

    def _slug_owner(self, slug):
        return self.chunk_slugs.get(slug, self.slugs.get(slug))

    def _taxonomy_slug(self, record, occurrence, obj):
        key = occurrence.key[1]
        if not obj.slug:
            base = slugify(obj.name)[:40] or "taxonomy"
            obj.slug, number = base, 1
            while self._slug_owner(obj.slug) not in (None, key):
                number += 1
                obj.slug = f"{base}-{number}"
        elif self._slug_owner(obj.slug) not in (None, key):
            record.fault(f"{occurrence.path}.slug", f"“{obj.slug}” is the slug of another taxonomy")
        self.chunk_slugs[obj.slug] = key

    def _term_code(self, record, occurrence, obj):
        key = occurrence.key[1]
        taxonomy = occurrence.links.get("taxonomy") or (occurrence.refs.get("taxonomy") or (None,))[0]
        taxonomy_uuid = taxonomy[1] if taxonomy else self.taxonomy_uuids.get(obj.taxonomy_id)
        name = occurrence.doc.get("taxonomy")
        if taxonomy_uuid is None and isinstance(name, str) and len(self.taxonomy_names.get(name, ())) == 1:
            # Only the taxonomy's name is given, and exactly one taxonomy has it.
            taxonomy_uuid = self.taxonomy_names[name][0]
            obj.taxonomy_id = self.known[Taxonomy, taxonomy_uuid]
        if taxonomy_uuid is None:
            return  # reported as a missing taxonomy
        if not obj.code:
            # Our terms are found by code; HSDS makes it optional.
            base = slugify(obj.name)[:90] or "term"
            obj.code, number = base, 1
            while self._code_owner(taxonomy_uuid, obj.code) not in (None, key):
                number += 1
                obj.code = f"{base}-{number}"
        owner = self._code_owner(taxonomy_uuid, obj.code)
        if owner not in (None, key):
            record.fault(f"{occurrence.path}.code", f"“{obj.code}” is the code of another term ({owner})")
        self.chunk_codes[taxonomy_uuid, obj.code] = key

    def _code_owner(self, taxonomy_uuid, code):
        return self.chunk_codes.get((taxonomy_uuid, code), self.codes.get((taxonomy_uuid, code)))

    def _unique_pair(self, record, occurrence, obj, pairs):
        second = "taxonomy_term" if occurrence.model is ServiceTerm else "location"
        ends = [occurrence.links.get(name) or (occurrence.refs.get(name) or (None,))[0] for name in ("service", second)]
        pair = (occurrence.model, *ends)
        if pair in pairs and pairs[pair] != occurrence.key[1]:
            record.fault(occurrence.path, f"the {second.replace('_', ' ')} is given twice for this service")
        pairs[pair] = occurrence.key[1]
        taken = self.pairs.get((occurrence.model, obj.service_id, getattr(obj, f"{second}_id")))
        if taken is not None and taken != occurrence.key[1]:
            record.fault(occurrence.path, f"this service already has that {second.replace('_', ' ')}, as {taken}")

    def _field_fault(self, record, occurrence, name, messages):
        text = " ".join(messages)
        if name == "__all__":
            record.fault(occurrence.path, text)
            return
        hsds = self.info[occurrence.model].hsds_names.get(name, name)
        given = occurrence.doc.get(hsds) if occurrence.doc is not None else occurrence.values.get(name)
        if given not in (None, "") and str(given)[:20] not in text:
            text += f" (given {_describe(given)})"
        record.fault(f"{occurrence.path}.{hsds}", text)

    def _accept(self, record, staged):
        """The record is valid: its rows join the chunk. True when it changes anything."""
        changed = any(
            before is None or self._relinked(self.nodes.get(key), pending) or self.info[key[0]].compared(obj) != before
            for key, (obj, before, pending, _occurrence, _original) in staged.items()
        )
        for key, (obj, before, pending, occurrence, original) in staged.items():
            model = key[0]
            if model is Service:
                changed = self._review(obj, occurrence, before is None, changed) or changed
            elif model is Organization and (before is None or self.info[model].compared(obj) != before):
                obj.last_modified = self.now
            node = self.nodes.get(key)
            if node is None:
                node = self.nodes[key] = _Node(key, obj, original)
            node.obj = obj
            node.pending.update(pending)
        return changed

    def _review(self, service, occurrence, created, changed):
        """Review state and last_modified of an imported service; True when this changes the row."""
        if "last_modified" not in occurrence.values and (created or changed):
            service.last_modified = self.now
        if created or ((changed or self.publish) and service.review_state != self.state):
            moved = service.review_state != self.state
            service.review_state = self.state
            service.review_state_changed_at = self.now
            service.review_state_changed_by = None
            return moved and not created
        return False

    # --- writing ----------------------------------------------------------------------------------------

    def _write(self):
        by_model = {}
        # New rows whose keys are needed: those other rows of the chunk point at, and the repeated ones.
        pointed_at = set(REPEATED)
        for node in self.nodes.values():
            by_model.setdefault(node.key[0], []).append(node)
            pointed_at.update(target[0] for target in node.pending.values())
        # New services or term links: indexed for search once each, at the end (nothing to do otherwise: the
        # index's triggers then follow every row as it is written).
        adding = any(node.original is None for model in (Service, ServiceTerm) for node in by_model.get(model, ()))
        with search.bulk_index() if adding else contextlib.nullcontext(None) as touched:
            self._write_models(by_model, pointed_at, touched)

    def _write_models(self, by_model, pointed_at, touched):
        written = []  # (model, history type, rows) of the listings' rows written, for their history
        for model in WRITE_ORDER:
            nodes = by_model.get(model, ())
            info = self.info[model]
            new, changed, fields = [], [], set()
            for node in nodes:
                for attname, target in node.pending.items():
                    node.obj.__dict__[attname] = self.nodes[target].obj.__dict__["id"]
                if node.original is None:
                    new.append(node.obj)
                    continue
                now = info.all_values(node.obj)
                if now != node.original:
                    changed.append(node.obj)
                    fields.update(name for name, a, b in zip(info.attnames, now, node.original, strict=True) if a != b)
            tracked = model in history.TRACKED
            if new:
                # A new service's key is needed for its search entry too.
                _insert(model, new, keys=model in pointed_at or model is Service)
                self.report.created_rows += len(new)
                if touched is not None:
                    # The index's insert triggers are paused: the services these rows change are indexed at the end.
                    touched.update(_services_indexed_with(model, new))
                if tracked:
                    written.append((model, "+", new))
            if changed:
                model.objects.bulk_update(changed, sorted(fields), batch_size=200)
                self.report.updated_rows += len(changed)
                if tracked:
                    written.append((model, "~", changed))
        # Once every row is as written (an address's history reads whether its place is confidential). New rows
        # whose keys were not read back are found by uuid: reading their keys would cost more than the history.
        now = timezone.now()
        for model, history_type, objs in written:
            if model is Hotline:
                column, keys = "service_id", [obj.service_id for obj in objs]
            elif objs[0].__dict__.get("id") is not None:
                column, keys = "id", [obj.__dict__["id"] for obj in objs]
            else:
                db = connections[router.db_for_write(model)]
                field = model._meta.get_field("uuid")
                column, keys = "uuid", [_uuid_value(obj.uuid, field, db) for obj in objs]
            history.record(
                model, keys, history_type=history_type, by=self.by, reason=self.label, column=column, when=now
            )

    def _remember(self, record):
        """After the write: what later records may refer to or repeat."""
        for occurrence in sorted(record.occurrences.values(), key=_order_of):
            key, model = occurrence.key, occurrence.model
            if model not in REPEATED or key not in self.nodes:
                continue
            obj = self.nodes[key].obj
            self.known[key] = obj.pk
            targets = set(occurrence.links.values()) | {ref[0] for ref in occurrence.refs.values()}
            self.seen[key] = (occurrence.doc, targets)
            if model is Taxonomy:
                self._remember_taxonomy(obj)
            elif model is TaxonomyTerm:
                self._remember_term(obj)

    def _link_known(self):
        """Link what pointed at rows later in the input as soon as those rows are written (at the end of each
        chunk), not all at the end: a term's parent linked last made PostgreSQL's triggers refresh the index
        entry of every service tagged with the term by then (over five minutes a term, for each of the 6 terms of
        the synthetic directory that name a parent, at 100,000 services); linked after the chunk that wrote the
        parent, a few."""
        ready = [item for item in self.deferred if item[3] in self.known]
        if ready:
            self.deferred = [item for item in self.deferred if item[3] not in self.known]
            self._link(ready)

    def _link_deferred(self):
        """Link what pointed at rows later in the input (or not in it, but in the database); warn about the
        targets found nowhere."""
        missing = {}
        for _model, _uuid, _name, target, _where, _path in self.deferred:
            if target not in self.known:
                missing.setdefault(target[0], set()).add(target[1])
        for model, uuids in missing.items():
            uuids = list(uuids)
            for start in range(0, len(uuids), 900):
                rows = model.objects.filter(uuid__in=uuids[start : start + 900]).values_list("uuid", "pk")
                self.known.update(((model, str(row_uuid)), pk) for row_uuid, pk in rows)
        deferred, self.deferred = self.deferred, []
        self._link(deferred)

    def _link(self, deferred):
        """Write the links of `deferred` (what records pointed at before their target was written)."""
        updates = {}
        for model, row_uuid, name, target, where, path in deferred:
            pk = self.known.get(target)
            if pk is None:
                what = f"{target[0]._meta.verbose_name} {target[1]}"
                self.report.warnings.append(f"{where}: {path}: no {what} in this input or the database: link left out")
            elif pk != self.known.get((model, row_uuid)):
                updates.setdefault((model, name, pk), []).append(row_uuid)
        with transaction.atomic():
            for (model, name, pk), uuids in updates.items():
                for start in range(0, len(uuids), 900):
                    rows = model.objects.filter(uuid__in=uuids[start : start + 900])
                    if model in history.TRACKED:
                        keys = list(rows.values_list("pk", flat=True))
                        rows.update(**{name: pk})
                        history.record(model, keys, history_type="~", by=self.by, reason=self.label)
                    else:
                        rows.update(**{name: pk})


def _services_indexed_with(model, rows):
    """The ids of the services whose search entry (text or keys, migration 0007) new `rows` of `model` change:
    the service's own row, its term links, hotline, places and their links, phones, languages, areas and
    schedules."""
    if model is Service:
        return {row.pk for row in rows}
    if model in (ServiceTerm, ServiceAtLocation, ServiceArea, Hotline, Phone):
        return {row.service_id for row in rows} - {None}
    if model is Language:
        # As Service.objects.language_offers() counts them: the service, its phone lines, its places.
        services = {row.service_id for row in rows}
        services |= _services_of(Phone.objects, "pk", {row.phone_id for row in rows if row.phone_id})
        services |= _services_of(ServiceAtLocation.objects, "location_id", {row.location_id for row in rows})
        return services - {None}
    if model in (Address, Schedule):
        # A schedule's open hours are keys of its own service or of the services at its place.
        services = {getattr(row, "service_id", None) for row in rows}
        places = {row.location_id for row in rows}
        return (services | _services_of(ServiceAtLocation.objects, "location_id", places)) - {None}
    return set()


def _services_of(manager, column, values):
    """service_id of the rows of `manager` whose `column` is one of `values`."""
    values, found = sorted(value for value in values if value is not None), set()
    for start in range(0, len(values), 900):
        rows = manager.filter(**{f"{column}__in": values[start : start + 900]}).values_list("service_id", flat=True)
        found.update(rows)
    return found - {None}


class _Node:
    """A row of the current chunk as it will be written."""

    __slots__ = ("key", "obj", "original", "pending")

    def __init__(self, key, obj, original):
        self.key, self.obj = key, obj
        self.original = original  # every column as the database has it; None for a new row
        self.pending = {}  # foreign key attname -> key of a row not written yet


_LINKED = _Linked()


@contextlib.contextmanager
def _tuned_connection():
    """A large import on SQLite: a bigger page cache (the default 2 MB makes every table's uuid index, which
    takes rows in random order, reread pages from disk for most rows) and fewer WAL checkpoints (each
    one copies pages back and syncs). Both are put back afterwards."""
    db = connections["default"]
    if db.vendor != "sqlite":
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (cache_size,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint")
        (checkpoint,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with db.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")


def _can_fork():
    return WORKERS > 1 and "fork" in multiprocessing.get_all_start_methods()


def _insert(model, objs, *, keys=True):
    """INSERT rows that passed our checks: one executemany, values converted as Django converts them.

    bulk_create builds its SQL value by value, which costs more than all of our checks; the rows here are
    already valid, so they go in with one prepared statement. The new keys of the rows that others point
    at are then read back by uuid.
    """
    db = connections[router.db_for_write(model)]
    native = db.features.has_native_uuid_field
    columns, values_of, conversions = _insert_plan(model)
    rows = []
    for obj in objs:
        row = list(values_of(obj.__dict__))
        for index, convert in conversions:
            row[index] = convert(row[index], db, native)
        rows.append(row)
    quote = db.ops.quote_name
    table, names = quote(model._meta.db_table), ", ".join(quote(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    with db.cursor() as cursor:
        for start in range(0, len(rows), 2000):
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows[start : start + 2000])
        for obj in objs:
            obj._state.adding, obj._state.db = False, db.alias
        if not keys or "uuid" not in {f.name for f in model._meta.concrete_fields}:
            return
        uuid_field = model._meta.get_field("uuid")
        by_value = {_uuid_value(obj.uuid, uuid_field, db, native): obj for obj in objs}
        values = list(by_value)
        key_column, pk_column = quote(uuid_field.column), quote(model._meta.pk.column)
        query = f"SELECT {key_column}, {pk_column} FROM {table} WHERE {key_column} IN "
        for start in range(0, len(values), 900):
            part = values[start : start + 900]
            cursor.execute(query + "(" + ", ".join(["%s"] * len(part)) + ")", part)
            for value, pk in cursor.fetchall():
                by_value[value].pk = pk


def _present(model, keys):
    """Those of the keys (canonical UUID text) that are in the model's table: one light query per 900."""
    db = connections[router.db_for_read(model)]
    uuid_field = model._meta.get_field("uuid")
    by_value = {_uuid_value(key, uuid_field, db): key for key in keys}
    values = list(by_value)
    quote = db.ops.quote_name
    column, table = quote(uuid_field.column), quote(model._meta.db_table)
    present = []
    with db.cursor() as cursor:
        for start in range(0, len(values), 900):
            part = values[start : start + 900]
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(part))})", part)
            present += [by_value[value] for (value,) in cursor.fetchall()]
    return present


@functools.cache
def _insert_plan(model):
    """Columns, a getter of their values from an instance's __dict__, and (index, conversion) where the
    value is not stored as it is (UUIDs, dates, decimals, choices)."""
    columns, attnames, conversions = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        index = len(columns)
        columns.append(model_field.column)
        attnames.append(model_field.attname)
        if isinstance(model_field, UUIDField):
            conversions.append((index, partial(_convert_uuid, field=model_field)))
        elif isinstance(model_field, CharField | TextField):
            if model_field.choices:
                conversions.append((index, _convert_text))  # choices are str subclasses (enums): plain text
        elif not (model_field.is_relation or isinstance(model_field, BooleanField | IntegerField)):
            conversions.append((index, partial(_convert_field, field=model_field)))
    return columns, operator.itemgetter(*attnames), tuple(conversions)


def _uuid_value(value, field, db, native=None):
    """A UUID as the database takes it; our keys are canonical text already (hex without dashes, or a UUID)."""
    if native is None:
        native = db.features.has_native_uuid_field
    if type(value) is str and not native:
        return value.replace("-", "")
    return field.get_db_prep_value(value, db)


def _convert_uuid(value, db, native, *, field):
    return _uuid_value(value, field, db, native)


def _convert_text(value, db, native):
    return value if value is None or type(value) is str else str(value)


def _convert_field(value, db, native, *, field):
    # The value passed full_clean: already the Python type, only adapted for the database.
    return field.get_db_prep_value(value, db, prepared=True)


_ORDER = {model: index for index, model in enumerate(WRITE_ORDER)}


def _order_of(occurrence):
    return _ORDER[occurrence.model]
