"""A partner's listing as an HSDS service document, and the same document as a curator reads it.

A proposal is held as an HSDS 3.0 service document built through the one mapping (resources/hsds/mapping.py)
and approved through the importer, like any HSDS file. The document carries what partners edit: the service's
fields, its phones, hours, service areas, languages, terms of our three vocabularies and its places (each
with its first address). Everything else about a listing (hotline facts, contacts, costs, the phones and hours
of a place, the other vocabularies) is not in it, and the importer leaves rows a document does not mention
alone. Every row the document does mention is given in full, because an import empties the HSDS fields a
document leaves out.
"""

import copy
import uuid

from django.db import transaction
from django.utils.translation import gettext

from resources import phones as phone_numbers
from resources import regions
from resources.hsds import mapping
from resources.models import (
    Address,
    Language,
    Location,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTerm,
    Taxonomy,
    TaxonomyTerm,
)

# The service's own fields a partner edits (HSDS names, which are also the model's).
SERVICE_FIELDS = [
    "name",
    "alternate_name",
    "description",
    "status",
    "url",
    "email",
    "application_process",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "fees_description",
    "is_free",
    "available_online",
    "interpretation_services",
]
# Every plain field of a service document; those not in SERVICE_FIELDS belong to the curators.
ALL_SERVICE_FIELDS = [*mapping.FIELDS[Service], *mapping.PROFILE_FIELDS[Service]]
# The vocabularies a partner picks terms from; terms of any other vocabulary are the curators'.
VOCABULARIES = (Taxonomy.NEEDS, Taxonomy.POPULATIONS, Taxonomy.TRAFFICKING_TYPES)
# Lists of the document whose rows belong to the service alone: (key, model).
SERVICE_LISTS = [
    ("phones", Phone),
    ("schedules", Schedule),
    ("service_areas", ServiceArea),
    ("languages", Language),
    ("attributes", ServiceTerm),
    ("service_at_locations", ServiceAtLocation),
]


def new_id():
    return str(uuid.uuid4())


def row(obj):
    """One row as the document holds it: all its HSDS and profile fields."""
    return mapping.plain(obj)


def instance(model, document):
    """An unsaved model instance holding a row of a document (the base a form edits)."""
    values = mapping.fields_from(model, document or {})
    obj = model(**values)
    if document and document.get("id"):
        obj.uuid = uuid.UUID(str(document["id"]))
    return obj


def address_row(address, location_id):
    document = row(address)
    # HSDS requires these keys on every address, empty or not.
    for required in ("address_1", "city", "state_province", "postal_code", "country", "address_type"):
        document.setdefault(required, "")
    document["location_id"] = str(location_id)
    return document


def place_row(*, link_id, service_id, location, address, organization):
    """A service at a location, the location in full with its first address."""
    location_document = row(location)
    location_document["organization_id"] = str(organization.uuid)
    location_document["addresses"] = [address_row(address, location.uuid)] if address is not None else []
    return {
        "id": str(link_id),
        "service_id": str(service_id),
        "location_id": str(location.uuid),
        "location": location_document,
    }


def term_row(*, link_id, service_id, term):
    return {
        "id": str(link_id),
        "link_id": str(service_id),
        "link_entity": "service",
        "taxonomy_term_id": str(term.uuid),
    }


def assemble(*, service, organization, phones, schedules, areas, languages, terms, places):
    """The document of a listing from its parts (model instances, validated, not necessarily saved).

    `terms` is a list of (link id, term); `places` a list of (link id, location, address or None).
    """
    document = row(service)
    for ours in ("review_state", "last_modified"):
        document.pop(ours, None)  # the curators' decision and the time of approval, not the partner's
    document["organization_id"] = str(organization.uuid)
    sid = service.uuid
    document["phones"] = [row(phone) for phone in phones]
    document["schedules"] = [row(schedule) for schedule in schedules]
    document["service_areas"] = [row(area) for area in areas]
    document["languages"] = [row(language) for language in languages]
    document["attributes"] = [term_row(link_id=link, service_id=sid, term=term) for link, term in terms]
    document["service_at_locations"] = [
        place_row(link_id=link, service_id=sid, location=location, address=address, organization=organization)
        for link, location, address in places
    ]
    return document


def live_document(service):
    """The live listing as a proposal's document would hold it (the base of a change, and of the difference)."""
    terms = [
        (link.uuid, link.taxonomy_term)
        for link in ServiceTerm.objects.filter(service=service, taxonomy_term__taxonomy__slug__in=VOCABULARIES)
        .select_related("taxonomy_term")
        .order_by("pk")
    ]
    places = []
    links = ServiceAtLocation.objects.filter(service=service).select_related("location").order_by("pk")
    for link in links.prefetch_related("location__addresses"):
        addresses = sorted(link.location.addresses.all(), key=lambda address: address.pk)
        places.append((link.uuid, link.location, addresses[0] if addresses else None))
    return assemble(
        service=service,
        organization=service.organization,
        phones=service.phones.order_by("position", "pk"),
        schedules=service.schedules.order_by("pk"),
        areas=service.service_areas.order_by("pk"),
        languages=service.languages.order_by("pk"),
        terms=terms,
        places=places,
    )


def effective_document(proposal):
    """What approving the proposal would import: its document, with what no partner may decide put right.

    The organization and, for a change, the service are the proposal's own (never what the document says);
    the curators' fields of the service (alert, verification, deprecated HSDS fields, ...) are the live
    listing's as they are now, so approving never undoes a curator's later edit.
    """
    document = copy.deepcopy(proposal.document)
    document["organization_id"] = str(proposal.organization.uuid)
    document.pop("organization", None)
    document.pop("review_state", None)
    document.pop("last_modified", None)
    if proposal.kind == proposal.Kind.CHANGE:
        document["id"] = str(proposal.service.uuid)
        live = row(proposal.service)
        for name in ALL_SERVICE_FIELDS:
            if name in SERVICE_FIELDS or name in ("review_state", "last_modified"):
                continue
            document.pop(name, None)
            if name in live:
                document[name] = live[name]
    # Rows that name their service name this one.
    for key, _model in SERVICE_LISTS:
        for item in document.get(key) or ():
            link = "link_id" if key == "attributes" else "service_id"
            if isinstance(item, dict) and link in item:
                item[link] = document["id"]
    return document


def _uuid_text(value):
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def ids_of(document, key):
    """The well-formed ids of a list of the document (a malformed one the importer reports on its own)."""
    found = {_uuid_text(item.get("id")) for item in document.get(key) or () if isinstance(item, dict)}
    return found - {None}


def location_ids_of(document):
    found = set()
    for link in document.get("service_at_locations") or ():
        location = link.get("location") if isinstance(link, dict) else None
        if isinstance(location, dict) and _uuid_text(location.get("id")):
            found.add(_uuid_text(location["id"]))
    return found


def address_ids_of(document):
    found = {}
    for link in document.get("service_at_locations") or ():
        location = link.get("location") if isinstance(link, dict) else None
        for address in (location or {}).get("addresses") or ():
            if isinstance(address, dict) and _uuid_text(address.get("id")):
                found[_uuid_text(address["id"])] = _uuid_text(location.get("id"))
    return found


def foreign_rows(document, *, organization, service):
    """Messages naming rows in the document that belong to another listing or organization.

    Proposal documents are built by our forms, which only keep ids of the listing being changed; this is
    the last check before an import, which would otherwise move such a row to this listing.
    """
    problems = []
    service_pk = service.pk if service is not None else None
    for key, model in SERVICE_LISTS:
        ids = ids_of(document, key)
        if not ids:
            continue
        taken = model.objects.filter(uuid__in=ids)
        if service_pk is not None:
            taken = taken.exclude(service_id=service_pk)
        if taken.exists():
            problems.append(f"{key.replace('_', ' ')}: names rows of another listing")
    locations = location_ids_of(document)
    if locations and Location.objects.filter(uuid__in=locations).exclude(organization=organization).exists():
        problems.append("places: names a place of another organization")
    addresses = address_ids_of(document)
    for address in Address.objects.filter(uuid__in=list(addresses)).select_related("location"):
        if str(address.location.uuid) != addresses[str(address.uuid)]:
            problems.append("places: names an address of another place")
            break
    if Service.objects.filter(uuid=_uuid_text(document.get("id"))).exclude(pk=service_pk).exists():
        problems.append("names another listing")
    return problems


def check(document):
    """The faults the importer finds in a document, without writing anything: the import runs and is rolled
    back, so a proposal is judged by exactly the rules that will publish it."""
    with transaction.atomic():
        from resources.hsds import importer  # late: it loads the JSON Schema checker (2 s)

        report = importer.import_documents([document])
        transaction.set_rollback(True)
    return [fault for invalid in report.invalid for fault in invalid.faults]


# --- what a person reads ----------------------------------------------------------------------------------


def _text(value):
    if value is None or value == "":
        return ""
    if value is True:
        return gettext("yes")
    if value is False:
        return gettext("no")
    return str(value)


def _phone_line(document):
    phone = instance(Phone, document)
    parts = [phone_numbers.display(phone.number), phone.get_type_display()]
    if phone.text_keyword:
        parts.append(gettext("keyword %(keyword)s") % {"keyword": phone.text_keyword})
    if phone.extension:
        parts.append(gettext("extension %(extension)s") % {"extension": phone.extension})
    if phone.country:
        parts.append(phone.country)
    if phone.description:
        parts.append(phone.description)
    return " · ".join(part for part in parts if part)


def _schedule_line(document):
    schedule = instance(Schedule, document)
    parts = [str(schedule), schedule.timezone]
    if schedule.description and schedule.opens_at is not None:
        parts.append(schedule.description)
    if schedule.notes:
        parts.append(schedule.notes)
    return " · ".join(part for part in parts if part)


def _area_line(document):
    area = instance(ServiceArea, document)
    return area.label if area.kind else (area.name or gettext("An area"))


def _place_line(document):
    location_document = document.get("location") or {}
    location = instance(Location, location_document)
    addresses = location_document.get("addresses") or []
    parts = [location.name]
    if addresses:
        address = instance(Address, addresses[0])
        lines = [address.address_1, address.address_2, address.city, address.state_province, address.postal_code]
        parts.append(", ".join([*(line for line in lines if line), regions.country_label(address.country)]))
    if location.is_confidential:
        parts.append(gettext("confidential"))
    if location.transportation:
        parts.append(gettext("getting there: %(how)s") % {"how": location.transportation})
    return " · ".join(part for part in parts if part) or gettext("A place")


def _term_names(document, terms):
    names = {}
    for item in document.get("attributes") or ():
        term = terms.get(str(item.get("taxonomy_term_id")))
        if term is not None:
            names.setdefault(term.taxonomy.slug, []).append(term.display_name)
    return names


def summary(document, terms):
    """(key, label, [lines]) of everything a curator compares, in reading order."""
    rows = []
    for name in ALL_SERVICE_FIELDS:
        if name in ("review_state", "last_modified"):
            continue
        field = Service._meta.get_field(name)
        value = document.get(name)
        if name == "status" and value in Service.Status.values:
            value = Service.Status(value).label
        text = _text(value)
        rows.append((name, str(field.verbose_name).capitalize(), [text] if text else []))
    lists = [
        (gettext("Phones"), "phones", _phone_line),
        (gettext("Hours"), "schedules", _schedule_line),
        (gettext("Service areas"), "service_areas", _area_line),
        (gettext("Places"), "service_at_locations", _place_line),
    ]
    for label, key, line in lists:
        rows.append((key, label, [line(item) for item in document.get(key) or () if isinstance(item, dict)]))
    languages = [instance(Language, item) for item in document.get("languages") or () if isinstance(item, dict)]
    rows.append(("languages", gettext("Languages"), sorted(language.label for language in languages)))
    names = _term_names(document, terms)
    for slug, label in (
        (Taxonomy.NEEDS, gettext("Needs")),
        (Taxonomy.POPULATIONS, gettext("Populations")),
        (Taxonomy.TRAFFICKING_TYPES, gettext("Trafficking types")),
    ):
        rows.append((slug, label, sorted(names.get(slug, []))))
    return rows


def terms_named_in(*documents):
    ids = set()
    for document in documents:
        for item in (document or {}).get("attributes") or ():
            if isinstance(item, dict) and item.get("taxonomy_term_id"):
                ids.add(str(item["taxonomy_term_id"]))
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    return {str(term.uuid): term for term in TaxonomyTerm.objects.filter(uuid__in=valid).select_related("taxonomy")}


def differences(live, proposed):
    """Field by field: (label, live lines, proposed lines, changed). `live` is None for a new listing."""
    terms = terms_named_in(live, proposed)
    before = {key: lines for key, _label, lines in summary(live, terms)} if live is not None else {}
    return [
        (label, before.get(key, []), lines, before.get(key, []) != lines)
        for key, label, lines in summary(proposed, terms)
    ]
