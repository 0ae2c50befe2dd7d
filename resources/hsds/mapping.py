"""The one mapping between our models and HSDS 3.0 documents.

Pure functions: they read model instances (prefetched with `prefetch_for_documents`) and return plain
dicts ready for JSON, and they turn an HSDS object back into field values for a model. The API, the
export and the import all go through here.

`FIELDS` names, for each model, the HSDS fields that are the model field of the same name; their JSON
form follows from the model field's type. `PROFILE_FIELDS` are our own additions (review state, hotline
facts, confidentiality, the region codes of a service area, ...): they travel as extra properties that our
HSDS profile declares (see `profile.py`). Empty values are left out of documents: HSDS types are not
nullable, and an absent field reads back as empty.
"""

import datetime
import decimal
import functools
import uuid as uuid_module

from django.core.exceptions import ValidationError
from django.db import models as dj

from .. import history
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

HSDS_VERSION = "3.0"

# HSDS field names that are the model field of the same name.
FIELDS = {
    Organization: (
        "name alternate_name description email website tax_status tax_id year_incorporated legal_status logo uri"
    ).split(),
    Program: "name alternate_name description".split(),
    Service: (
        "name alternate_name description url email status interpretation_services application_process "
        "fees_description wait_time fees accreditations eligibility_description minimum_age maximum_age "
        "assured_date assurer_email licenses alert last_modified"
    ).split(),
    ServiceAtLocation: ["description"],
    Location: (
        "location_type url name alternate_name description transportation latitude longitude "
        "external_identifier external_identifier_type"
    ).split(),
    Address: "attention address_1 address_2 city region state_province postal_code country address_type".split(),
    Phone: "number extension type description".split(),
    Schedule: (
        "valid_from valid_to dtstart until count wkst freq interval byday byweekno bymonthday byyearday "
        "description opens_at closes_at schedule_link attending_type notes"
    ).split(),
    ServiceArea: "name description extent extent_type uri".split(),
    Language: "name code note".split(),
    Accessibility: "description details url".split(),
    Contact: "name title department email".split(),
    CostOption: "valid_from valid_to option currency amount amount_description".split(),
    Funding: ["source"],
    RequiredDocument: "document uri".split(),
    OrganizationIdentifier: "identifier_scheme identifier_type identifier".split(),
    Taxonomy: "name description uri version".split(),
    TaxonomyTerm: "code name description term_uri language".split(),
    Metadata: (
        "resource_type last_action_date last_action_type field_name previous_value replacement_value updated_by"
    ).split(),
}

# Our own fields, declared by our HSDS profile, under the same names.
PROFILE_FIELDS = {
    Service: "review_state is_free available_online".split(),
    Location: ["is_confidential"],
    Phone: "country text_keyword".split(),
    Schedule: "open_24_7 timezone_name".split(),
    ServiceArea: "kind country subdivision city".split(),
    Taxonomy: ["slug"],
    TaxonomyTerm: ["position"],
}
HOTLINE_FIELDS = (
    "operator_kind chat_url confidential anonymous_allowed contacts_police contacts_immigration asks_for_id "
    "asks_immigration_status what_to_expect position"
).split()

# Profile names that differ from the model field they hold.
_RENAMED = {(Schedule, "timezone_name"): "timezone"}
# HSDS names that differ from the model field they hold.
_HSDS_RENAMED = {(Schedule, "timezone"): "utc_offset"}


# --- values ---------------------------------------------------------------------------------------------


# Text fields whose HSDS type is a number.
_NUMERIC_TEXT = {(Phone, "extension")}


def to_json(value):
    """A model value as HSDS JSON: dates ISO 8601, decimals as numbers, ids as strings."""
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid_module.UUID):
        return str(value)
    return value


def from_json(model, name, value):
    """A JSON value as the model field `name` stores it (the field's own to_python does the parsing)."""
    field = model._meta.get_field(name)
    if value is None:
        return None if field.null else ("" if isinstance(field, dj.CharField | dj.TextField) else field.get_default())
    if isinstance(field, dj.CharField | dj.TextField):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if isinstance(value, str) else str(value)
    return field.to_python(value)


def _model_field(model, name):
    return _RENAMED.get((model, name)) or _HSDS_RENAMED.get((model, name)) or name


def _put(document, name, value):
    if value is None or value == "" or value == []:
        return
    document[name] = value


def plain(obj, *, profile=True):
    """The HSDS (and, with profile, our profile's) plain fields of one object, empty ones left out."""
    document = {"id": str(obj.uuid)}
    values = obj.__dict__
    for name, attname, convert, keep_false in _outbound(type(obj), profile):
        value = values[attname] if attname in values else getattr(obj, attname)  # a deferred field
        if convert is not None:
            value = convert(value)
        if value is None or value == "" or (value is False and not keep_false):
            continue
        document[name] = value
    return document


@functools.cache
def _outbound(model, profile):
    """(HSDS name, attribute, converter or None, keep False) for each plain field `plain` writes, worked out
    once per model: HSDS fields, then our profile's, whose False is left out like an empty value."""
    model = model._meta.concrete_model
    names = [(name, True) for name in FIELDS.get(model, ())]
    if model is Schedule:
        names.append(("timezone", True))
    if profile:
        names += [(name, False) for name in PROFILE_FIELDS.get(model, ())]
    found = []
    for name, keep_false in names:
        field = model._meta.get_field(_model_field(model, name))
        if (model, name) in _NUMERIC_TEXT:
            convert = _number_or_empty
        elif isinstance(field, dj.CharField | dj.TextField | dj.IntegerField | dj.BooleanField):
            convert = None  # already JSON
        else:
            convert = to_json
        found.append((name, field.attname, convert, keep_false))
    return tuple(found)


def _number_or_empty(text):
    return int(text) if text else text


def fields_from(model, document, *, profile=True):
    """Model field values from an HSDS object (the inverse of `plain`, without the nested lists)."""
    values = {}
    names = list(FIELDS.get(model, ()))
    if model is Schedule:
        names.append("timezone")
    if profile:
        names += PROFILE_FIELDS.get(model, ())
    for name in names:
        if name in document:
            field = _model_field(model, name)
            values[field] = from_json(model, field, document[name])
    return values


# --- inbound helpers for the import ---------------------------------------------------------------------


# HSDS objects we store but never put in a document of our own (the tabular package's table descriptions).
INBOUND_ONLY_FIELDS = {MetaTableDescription: "name language character_set".split()}


def inbound_names(model, *, profile=True):
    """(HSDS name, model field name) of every plain field `fields_from` reads, HSDS fields first."""
    names = list(FIELDS.get(model) or INBOUND_ONLY_FIELDS.get(model, ()))
    if model is Schedule:
        names.append("timezone")
    if profile:
        names += PROFILE_FIELDS.get(model, ())
    return [(name, _model_field(model, name)) for name in names]


@functools.cache
def _inbound_fields(model, profile):
    """(HSDS name, model field name, kind of field) for checked_fields_from, worked out once per model."""
    found = []
    for name, field_name in inbound_names(model, profile=profile):
        field = model._meta.get_field(field_name)
        if isinstance(field, dj.CharField | dj.TextField):
            kind = "text"
        elif isinstance(field, dj.IntegerField):
            kind = "integer"
        elif isinstance(field, dj.DecimalField):
            kind = "decimal"
        elif isinstance(field, dj.DateTimeField):
            kind = "datetime"
        else:
            kind = "other"
        found.append((name, field_name, kind))
    return tuple(found)


def checked_fields_from(model, document, *, profile=True):
    """`fields_from` for untrusted documents: (values, errors), never raising.

    `errors` maps the HSDS name of each value the model field cannot hold to a message. Stricter than
    `from_json` where it would guess: text fields refuse objects, lists and booleans, whole-number fields
    refuse fractions (rather than truncating them); a date-time without a zone is read as UTC.
    """
    values, errors = {}, {}
    for name, field_name, kind in _inbound_fields(model, profile):
        if name not in document:
            continue
        value = document[name]
        if kind == "text":
            # The common case, kept short: text stays text.
            if isinstance(value, str):
                values[field_name] = value
                continue
            if isinstance(value, dict | list | bool):
                errors[name] = f"expected text, not {type(value).__name__}"
                continue
        elif kind == "integer" and isinstance(value, float) and not value.is_integer():
            errors[name] = f"{value} is not a whole number"
            continue
        elif kind == "decimal" and isinstance(value, float):
            value = repr(value)  # the decimal the JSON wrote (29.76), not the nearest binary float's expansion
        try:
            converted = from_json(model, field_name, value)
        except ValidationError as error:
            errors[name] = " ".join(error.messages)
            continue
        if kind == "datetime" and converted is not None and converted.tzinfo is None:
            converted = converted.replace(tzinfo=datetime.UTC)
        values[field_name] = converted
    return values, errors


def hotline_fields_from(document):
    """Model field values of a service's hotline facts (our profile's `hotline` object): (values, errors)."""
    values, errors = {}, {}
    for name in HOTLINE_FIELDS:
        if name not in document:
            continue
        value = document[name]
        if isinstance(value, dict | list):
            errors[name] = f"expected a single value, not {type(value).__name__}"
            continue
        try:
            values[name] = from_json(Hotline, name, value)
        except ValidationError as error:
            errors[name] = " ".join(error.messages)
    return values, errors


# --- documents ------------------------------------------------------------------------------------------
#
# Documents read an object's children through `children()`: the lists `load_*` below attached, or, for an
# object that did not come through a loader, its related manager (one query each, fine for a single object).
# Links to the object a child belongs to are passed down as arguments rather than read back through the
# child, so loaded objects never point back at their parent (no reference cycles: a chunk is freed as soon
# as its documents are written).

_CHILDREN = "_hsds_children"
# Children that only a loader attaches: the generic attributes and metadata kept by HSDS id (records.py),
# and the changes the listings' history recorded (history.py).
_GENERIC = {"generic_attributes", "metadata", "history"}
# Whose history a document tells, and how it is read: a service tells its own and its parts', a place its
# own and its addresses' (a confidential place none), an organization its own.
_HISTORY = {
    Service: history.service_changes,
    Location: history.place_changes,
    Organization: history.organization_changes,
}


def children(obj, name):
    loaded = obj.__dict__.get(_CHILDREN)
    if loaded is not None and (name in loaded or name in _GENERIC):
        return loaded.get(name, ())
    if name == "generic_attributes":
        return list(Attribute.objects.filter(link_id=obj.uuid).select_related("taxonomy_term__taxonomy"))
    if name == "metadata":
        return list(Metadata.objects.filter(resource_id=obj.uuid))
    if name == "history":
        read = _HISTORY.get(type(obj)._meta.concrete_model)
        return read([obj]).get(obj.pk, []) if read is not None else []
    if name == "public_locations":
        return list(Location.objects.public().filter(organization=obj).select_related("organization"))
    return list(getattr(obj, name).all())


def _ids(document, **links):
    for name, value in links.items():
        if value is not None:
            document[name] = str(value)
    return document


def _records(document, obj, table):
    """The generic attributes and metadata kept for this object, as HSDS nests them in its document: the
    metadata imported with it, then the changes its history recorded (those not imported already: our own
    export, imported again, brings them back as metadata)."""
    attributes = [
        attribute_document(attribute, link_entity=attribute.link_entity or table, link_id=obj.uuid)
        for attribute in children(obj, "generic_attributes")
    ]
    if attributes:
        document.setdefault("attributes", []).extend(attributes)
    items, changes = children(obj, "metadata"), children(obj, "history")
    if items or changes:
        metadata = [_imported_metadata(item, obj) for item in items]
        imported = {item["id"] for item in metadata}
        metadata += [metadata_document(change) for change in changes if change.id not in imported]
        _put(document, "metadata", metadata)
    return document


def _imported_metadata(item, obj):
    """An imported Metadata row as HSDS metadata, its empty values too (HSDS requires every field)."""
    document = plain(item) | {"resource_id": str(obj.uuid)}
    for name in FIELDS[Metadata]:
        document.setdefault(name, "")
    return document


def metadata_document(change):
    """A change the history recorded (history.Change) as HSDS metadata: every field present, as HSDS
    requires, even when empty (a value set where there was none)."""
    return {
        "id": change.id,
        "resource_id": change.resource_id,
        "resource_type": change.resource_type,
        "last_action_date": change.date.isoformat(),
        "last_action_type": change.action,
        "field_name": change.field_name,
        "previous_value": change.previous_value,
        "replacement_value": change.replacement_value,
        "updated_by": change.updated_by,
    }


def language_document(language, **links):
    return _records(_ids(plain(language), **links), language, "language")


def phone_document(phone, **links):
    document = _ids(plain(phone), **links)
    _put(document, "languages", [language_document(item, phone_id=phone.uuid) for item in children(phone, "languages")])
    return _records(document, phone, "phone")


def schedule_document(schedule, **links):
    return _records(_ids(plain(schedule), **links), schedule, "schedule")


def contact_document(contact, **links):
    document = _ids(plain(contact), **links)
    _put(document, "phones", [phone_document(phone, contact_id=contact.uuid) for phone in children(contact, "phones")])
    return _records(document, contact, "contact")


def _simple_document(obj, table, **links):
    return _records(_ids(plain(obj), **links), obj, table)


def taxonomy_document(taxonomy):
    return plain(taxonomy)


def term_document(term):
    document = plain(term)
    document.setdefault("description", "")  # required by HSDS, optional for us
    if term.parent_id:
        document["parent_id"] = str(term.parent.uuid)
    document["taxonomy"] = term.taxonomy.name
    document["taxonomy_id"] = str(term.taxonomy.uuid)
    document["taxonomy_detail"] = taxonomy_document(term.taxonomy)
    return document


def _shared_term_document(term):
    """term_document, built once per loaded term: a vocabulary term is on thousands of services. The dict is
    shared between documents, so callers must not change it."""
    document = term.__dict__.get("_hsds_document")
    if document is None:
        document = term.__dict__["_hsds_document"] = term_document(term)
    return document


def attribute_document(link, *, link_entity, link_id):
    """A ServiceTerm or an Attribute as an HSDS attribute, with its term in full."""
    document = {
        "id": str(link.uuid),
        "link_id": str(link_id),
        "link_entity": link_entity,
        "taxonomy_term_id": str(link.taxonomy_term.uuid),
        "taxonomy_term": _shared_term_document(link.taxonomy_term),
    }
    _put(document, "link_type", link.link_type)
    _put(document, "value", link.value)
    return document


def location_document(location):
    """A location as the public may see it: a confidential place keeps only its city/region, its intake
    phones and its languages (DESIGN.md, Safety)."""
    document = plain(location)
    confidential = location.is_confidential
    if confidential:
        document = {key: document[key] for key in ("id", "location_type", "is_confidential") if key in document}
    if location.organization_id:
        document["organization_id"] = str(location.organization.uuid)
    link = {"location_id": location.uuid}
    _put(document, "addresses", [address_document(a, location) for a in children(location, "addresses")])
    _put(document, "phones", [phone_document(p, **link) for p in children(location, "phones")])
    _put(document, "languages", [language_document(item, **link) for item in children(location, "languages")])
    if not confidential:
        _put(document, "schedules", [schedule_document(s, **link) for s in children(location, "schedules")])
        _put(
            document,
            "accessibility",
            [_simple_document(item, "accessibility", **link) for item in children(location, "accessibility_details")],
        )
        _put(document, "contacts", [contact_document(c, **link) for c in children(location, "contacts")])
        # Attributes and metadata may name the street: a confidential place keeps none of them.
        _records(document, location, "location")
    return document


def address_document(address, location):
    document = plain(address)
    if location.is_confidential:
        for street_level in ("attention", "address_1", "address_2", "postal_code"):
            document.pop(street_level, None)
    # HSDS requires these keys on every address, empty or not.
    for required in ("address_1", "city", "state_province", "postal_code", "country", "address_type"):
        document.setdefault(required, "")
    document["location_id"] = str(location.uuid)
    if not location.is_confidential:
        _records(document, address, "address")
    return document


def service_at_location_document(sal, *, with_location=True, service_id=None):
    """A service at a location; `service_id` (the service's uuid) saves reading the service back."""
    document = _ids(plain(sal), service_id=service_id or sal.service.uuid, location_id=sal.location.uuid)
    link = {"service_at_location_id": sal.uuid}
    _put(document, "phones", [phone_document(p, **link) for p in children(sal, "phones")])
    if sal.location.is_confidential:
        # At a confidential place the public gets the intake phone, nothing written about the place itself:
        # the link's description, hours, contacts, attributes and metadata are free text that may name it.
        document.pop("description", None)
    else:
        _put(document, "schedules", [schedule_document(s, **link) for s in children(sal, "schedules")])
        _put(document, "contacts", [contact_document(c, **link) for c in children(sal, "contacts")])
        _records(document, sal, "service_at_location")
    if with_location:
        document["location"] = location_document(sal.location)
    return document


def hotline_document(hotline):
    document = {}
    for name in HOTLINE_FIELDS:
        _put(document, name, getattr(hotline, name))
    return document


def service_document(service, *, minimal=False):
    """A service in full (HSDS service with its nested objects), or minimal: id and last_modified."""
    if minimal:
        return {"id": str(service.uuid), "last_modified": to_json(service.last_modified)}
    link = {"service_id": service.uuid}
    document = plain(service)
    document["organization_id"] = str(service.organization.uuid)
    document["organization"] = plain(service.organization, profile=False)
    if service.program_id:
        document["program_id"] = str(service.program.uuid)
        document["program"] = _ids(plain(service.program), organization_id=service.organization.uuid)
    _put(document, "phones", [phone_document(p, **link) for p in children(service, "phones")])
    _put(document, "schedules", [schedule_document(s, **link) for s in children(service, "schedules")])
    _put(
        document,
        "service_areas",
        [_simple_document(a, "service_area", **link) for a in children(service, "service_areas")],
    )
    _put(
        document,
        "service_at_locations",
        [service_at_location_document(s, service_id=service.uuid) for s in children(service, "service_at_locations")],
    )
    _put(document, "languages", [language_document(item, **link) for item in children(service, "languages")])
    _put(document, "funding", [_simple_document(f, "funding", **link) for f in children(service, "funding")])
    _put(
        document,
        "cost_options",
        [_simple_document(c, "cost_option", **link) for c in children(service, "cost_options")],
    )
    _put(
        document,
        "required_documents",
        [_simple_document(d, "required_document", **link) for d in children(service, "required_documents")],
    )
    _put(document, "contacts", [contact_document(c, **link) for c in children(service, "contacts")])
    _put(
        document,
        "attributes",
        [attribute_document(a, link_entity="service", link_id=service.uuid) for a in children(service, "attributes")],
    )
    _records(document, service, "service")
    hotline = getattr(service, "hotline", None)
    if hotline is not None:
        document["hotline"] = hotline_document(hotline)
    return document


def organization_document(organization, *, services=()):
    """An organization in full; `services` are its public services, loaded for documents."""
    link = {"organization_id": organization.uuid}
    document = plain(organization, profile=False)
    if organization.parent_organization_id:
        document["parent_organization_id"] = str(organization.parent_organization.uuid)
    _put(document, "phones", [phone_document(p, **link) for p in children(organization, "phones")])
    _put(document, "programs", [_simple_document(p, "program", **link) for p in children(organization, "programs")])
    _put(document, "funding", [_simple_document(f, "funding", **link) for f in children(organization, "funding")])
    _put(document, "contacts", [contact_document(c, **link) for c in children(organization, "contacts")])
    _put(
        document,
        "organization_identifiers",
        [
            _simple_document(i, "organization_identifier", **link)
            for i in children(organization, "organization_identifiers")
        ],
    )
    _put(document, "locations", [location_document(place) for place in children(organization, "public_locations")])
    _records(document, organization, "organization")
    _put(document, "services", [service_document(service) for service in services])
    return document


# --- loading --------------------------------------------------------------------------------------------
#
# What the documents read, for a page or a chunk of objects, in a fixed number of queries: one per kind of
# child, whatever the number of objects. Django's prefetch_related would do the same, but it builds a
# queryset per object and per relation, which made it four fifths of the export's time.


class _Loader:
    """Attaches children to loaded objects; remembers every object it loaded (for their attributes and
    metadata) and the terms it has read (shared by every chunk of an export)."""

    def __init__(self, terms=None):
        self.terms = {} if terms is None else terms
        self.loaded = []

    def attach(self, parents, model, fk, name, queryset=None):
        """Each parent's `name` children (the `model` rows whose `fk` is the parent); the children, all."""
        found = []
        if not parents:
            return found
        queryset = model._default_manager.all() if queryset is None else queryset
        attname = model._meta.get_field(fk).attname
        by_parent = {}
        ids = {parent.pk for parent in parents}
        for child in queryset.filter(**{f"{attname}__in": ids}):
            by_parent.setdefault(getattr(child, attname), []).append(child)
            found.append(child)
        for parent in parents:
            parent.__dict__.setdefault(_CHILDREN, {})[name] = by_parent.get(parent.pk, [])
        self.loaded += found
        return found

    def phones(self, parents, fk):
        phones = self.attach(parents, Phone, fk, "phones")
        self.attach(phones, Language, "phone", "languages")

    def contacts(self, parents, fk):
        self.phones(self.attach(parents, Contact, fk, "contacts"), "contact")

    def locations(self, locations):
        self.attach(locations, Address, "location", "addresses")
        self.phones(locations, "location")
        self.attach(locations, Language, "location", "languages")
        self.attach(locations, Schedule, "location", "schedules")
        self.attach(locations, Accessibility, "location", "accessibility_details")
        self.contacts(locations, "location")

    def service_at_locations(self, rows):
        """Service-at-locations read with their location (select_related): each place loaded once."""
        places = {}
        for row in rows:
            place = places.setdefault(row.location_id, row.location)
            if place is not row.location:
                row.location = place
        self.phones(rows, "service_at_location")
        self.attach(rows, Schedule, "service_at_location", "schedules")
        self.contacts(rows, "service_at_location")
        self.locations(list(places.values()))
        self.loaded += places.values()

    def services(self, services):
        self.phones(services, "service")
        for model, name in (
            (Schedule, "schedules"),
            (ServiceArea, "service_areas"),
            (Language, "languages"),
            (Funding, "funding"),
            (CostOption, "cost_options"),
            (RequiredDocument, "required_documents"),
        ):
            self.attach(services, model, "service", name)
        self.contacts(services, "service")
        self.term_links(self.attach(services, ServiceTerm, "service", "attributes"))
        rows = self.attach(
            services,
            ServiceAtLocation,
            "service",
            "service_at_locations",
            ServiceAtLocation.objects.select_related("location__organization"),
        )
        self.service_at_locations(rows)

    def organizations(self, organizations):
        self.phones(organizations, "organization")
        self.attach(organizations, Program, "organization", "programs")
        self.attach(organizations, Funding, "organization", "funding")
        self.contacts(organizations, "organization")
        self.attach(organizations, OrganizationIdentifier, "organization", "organization_identifiers")
        places = self.attach(
            organizations,
            Location,
            "organization",
            "public_locations",
            Location.objects.public().select_related("organization"),
        )
        self.locations(places)

    def term_links(self, links):
        """Point each link (a ServiceTerm or an Attribute) at one shared instance of its term."""
        missing = {link.taxonomy_term_id for link in links} - self.terms.keys()
        if missing:
            for term in terms_for_documents(TaxonomyTerm.objects.filter(pk__in=missing)):
                self.terms[term.pk] = term
        for link in links:
            link.taxonomy_term = self.terms[link.taxonomy_term_id]

    def records(self, roots):
        """The generic attributes and metadata of every loaded object, by its HSDS id, and the history of the
        services, places and organizations among them."""
        objects = [*roots, *self.loaded]
        for obj in objects:
            # Loaded, with nothing attached: `children` reads that as no records either.
            if _CHILDREN not in obj.__dict__:
                obj.__dict__[_CHILDREN] = {}
        imported = set()
        if _has_records():
            by_id = {obj.uuid: obj for obj in objects}
            ids = list(by_id)
            for start in range(0, len(ids), 10_000):
                some = ids[start : start + 10_000]
                attributes = list(Attribute.objects.filter(link_id__in=some).order_by("link_entity", "pk"))
                self.term_links(attributes)
                for attribute in attributes:
                    by_id[attribute.link_id].__dict__[_CHILDREN].setdefault("generic_attributes", []).append(attribute)
                for item in Metadata.objects.filter(resource_id__in=some):
                    by_id[item.resource_id].__dict__[_CHILDREN].setdefault("metadata", []).append(item)
                    imported.add(str(item.uuid))
        self.history(objects, imported)

    def history(self, objects, imported):
        """Each service's, place's and organization's recorded changes, one query per kind of row, leaving out
        those already imported as metadata (wherever in the chunk that metadata sits)."""
        by_model = {}
        for obj in objects:
            by_model.setdefault(type(obj)._meta.concrete_model, {})[obj.pk] = obj
        for model, read in _HISTORY.items():
            found = by_model.get(model)
            if not found:
                continue
            for key, changes in read(list(found.values())).items():
                changes = [change for change in changes if change.id not in imported]
                if changes:
                    found[key].__dict__[_CHILDREN]["history"] = changes


def _has_records():
    return Attribute.objects.exists() or Metadata.objects.exists()


def services_for_documents(services, *, terms=None):
    """The services (a queryset or a list) with everything service_document reads, as a list."""
    if not isinstance(services, list):
        services = list(services.select_related("organization", "program", "hotline"))
    loader = _Loader(terms)
    loader.services(services)
    loader.records(services)
    return services


def service_at_locations_for_documents(rows):
    """Service-at-locations (a queryset) with their place and everything its document reads, as a list."""
    rows = list(rows.select_related("service", "location__organization"))
    loader = _Loader()
    loader.service_at_locations(rows)
    loader.records(rows)
    return rows


def organizations_for_documents(organizations):
    organizations = list(organizations.select_related("parent_organization"))
    loader = _Loader()
    loader.organizations(organizations)
    loader.records(organizations)
    return organizations


def terms_for_documents(queryset):
    return queryset.select_related("taxonomy", "parent")
