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

from ..models import (
    Accessibility,
    Address,
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
    model = type(obj)._meta.concrete_model
    document = {"id": str(obj.uuid)}
    for name in FIELDS.get(model, ()):
        value = to_json(getattr(obj, _model_field(model, name)))
        if (model, name) in _NUMERIC_TEXT and value:
            value = int(value)
        _put(document, name, value)
    if model is Schedule:
        _put(document, "timezone", to_json(obj.utc_offset))
    if profile:
        for name in PROFILE_FIELDS.get(model, ()):
            value = to_json(getattr(obj, _model_field(model, name)))
            if value is not False:
                _put(document, name, value)
    return document


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


def _ids(document, **links):
    for name, value in links.items():
        if value is not None:
            document[name] = str(value)
    return document


def language_document(language):
    return _ids(
        plain(language),
        service_id=language.service.uuid if language.service_id else None,
        location_id=language.location.uuid if language.location_id else None,
        phone_id=language.phone.uuid if language.phone_id else None,
    )


def phone_document(phone, **links):
    document = _ids(plain(phone), **links)
    _put(document, "languages", [language_document(language) for language in phone.languages.all()])
    return document


def schedule_document(schedule, **links):
    return _ids(plain(schedule), **links)


def contact_document(contact, **links):
    document = _ids(plain(contact), **links)
    _put(document, "phones", [phone_document(phone, contact_id=contact.uuid) for phone in contact.phones.all()])
    return document


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


def attribute_document(link, *, link_entity, link_id):
    """A ServiceTerm or an Attribute as an HSDS attribute, with its term in full."""
    document = {
        "id": str(link.uuid),
        "link_id": str(link_id),
        "link_entity": link_entity,
        "taxonomy_term_id": str(link.taxonomy_term.uuid),
        "taxonomy_term": term_document(link.taxonomy_term),
    }
    _put(document, "link_type", link.link_type)
    _put(document, "value", link.value)
    return document


def location_document(location):
    """A location as the public may see it: a confidential place keeps only its city/region, its intake
    phones and its languages (DESIGN.md, Safety)."""
    document = plain(location)
    if location.is_confidential:
        document = {key: document[key] for key in ("id", "location_type", "is_confidential") if key in document}
    if location.organization_id:
        document["organization_id"] = str(location.organization.uuid)
    _put(document, "addresses", [address_document(a, location) for a in location.addresses.all()])
    _put(document, "phones", [phone_document(p, location_id=location.uuid) for p in location.phones.all()])
    _put(document, "languages", [language_document(language) for language in location.languages.all()])
    if not location.is_confidential:
        _put(document, "schedules", [schedule_document(s, location_id=location.uuid) for s in location.schedules.all()])
        _put(
            document,
            "accessibility",
            [_ids(plain(item), location_id=location.uuid) for item in location.accessibility_details.all()],
        )
        _put(document, "contacts", [contact_document(c, location_id=location.uuid) for c in location.contacts.all()])
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
    return document


def service_at_location_document(sal, *, with_location=True):
    document = _ids(plain(sal), service_id=sal.service.uuid, location_id=sal.location.uuid)
    _put(document, "phones", [phone_document(p, service_at_location_id=sal.uuid) for p in sal.phones.all()])
    _put(document, "schedules", [schedule_document(s, service_at_location_id=sal.uuid) for s in sal.schedules.all()])
    _put(document, "contacts", [contact_document(c, service_at_location_id=sal.uuid) for c in sal.contacts.all()])
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
    _put(document, "phones", [phone_document(p, **link) for p in service.phones.all()])
    _put(document, "schedules", [schedule_document(s, **link) for s in service.schedules.all()])
    _put(document, "service_areas", [_ids(plain(a), **link) for a in service.service_areas.all()])
    _put(
        document, "service_at_locations", [service_at_location_document(s) for s in service.service_at_locations.all()]
    )
    _put(document, "languages", [language_document(language) for language in service.languages.all()])
    _put(document, "funding", [_ids(plain(f), **link) for f in service.funding.all()])
    _put(document, "cost_options", [_ids(plain(c), **link) for c in service.cost_options.all()])
    _put(document, "required_documents", [_ids(plain(d), **link) for d in service.required_documents.all()])
    _put(document, "contacts", [contact_document(c, **link) for c in service.contacts.all()])
    _put(
        document,
        "attributes",
        [attribute_document(a, link_entity="service", link_id=service.uuid) for a in service.attributes.all()],
    )
    hotline = getattr(service, "hotline", None)
    if hotline is not None:
        document["hotline"] = hotline_document(hotline)
    return document


def organization_document(organization, *, services=()):
    """An organization in full; `services` are its public services, prefetched for documents."""
    link = {"organization_id": organization.uuid}
    document = plain(organization, profile=False)
    if organization.parent_organization_id:
        document["parent_organization_id"] = str(organization.parent_organization.uuid)
    _put(document, "phones", [phone_document(p, **link) for p in organization.phones.all()])
    _put(document, "programs", [_ids(plain(p), **link) for p in organization.programs.all()])
    _put(document, "funding", [_ids(plain(f), **link) for f in organization.funding.all()])
    _put(document, "contacts", [contact_document(c, **link) for c in organization.contacts.all()])
    _put(
        document,
        "organization_identifiers",
        [_ids(plain(i), **link) for i in organization.organization_identifiers.all()],
    )
    _put(document, "services", [service_document(service) for service in services])
    return document


# --- querysets ------------------------------------------------------------------------------------------


def _phones():
    return Phone.objects.prefetch_related("languages")


def _contacts():
    return Contact.objects.prefetch_related(dj.Prefetch("phones", queryset=_phones()))


def services_for_documents(queryset):
    """Everything service_document reads, in a constant number of queries."""
    return queryset.select_related("organization", "program", "hotline").prefetch_related(
        dj.Prefetch("phones", queryset=_phones()),
        "schedules",
        "service_areas",
        "languages",
        "funding",
        "cost_options",
        "required_documents",
        dj.Prefetch("contacts", queryset=_contacts()),
        dj.Prefetch(
            "attributes",
            queryset=ServiceTerm.objects.select_related("taxonomy_term__taxonomy", "taxonomy_term__parent"),
        ),
        # The parent service is set on each prefetched service-at-location by Django itself.
        dj.Prefetch("service_at_locations", queryset=_service_at_locations()),
    )


def _service_at_location_lookups():
    """What a service-at-location document reads. Places are joined in (select_related), not
    prefetched: a prefetch of many distinct places builds an SQL expression that SQLite refuses
    ("Expression tree is too large") past about a thousand of them."""
    return [
        "location__addresses",
        dj.Prefetch("location__phones", queryset=_phones()),
        "location__languages",
        "location__schedules",
        "location__accessibility_details",
        dj.Prefetch("location__contacts", queryset=_contacts()),
        dj.Prefetch("phones", queryset=_phones()),
        "schedules",
        dj.Prefetch("contacts", queryset=_contacts()),
    ]


def _service_at_locations():
    return ServiceAtLocation.objects.select_related("location__organization").prefetch_related(
        *_service_at_location_lookups()
    )


def service_at_locations_for_documents(queryset):
    return queryset.select_related("service", "location__organization").prefetch_related(
        *_service_at_location_lookups()
    )


def organizations_for_documents(queryset):
    return queryset.select_related("parent_organization").prefetch_related(
        dj.Prefetch("phones", queryset=_phones()),
        "programs",
        "funding",
        dj.Prefetch("contacts", queryset=_contacts()),
        "organization_identifiers",
    )


def terms_for_documents(queryset):
    return queryset.select_related("taxonomy", "parent")
