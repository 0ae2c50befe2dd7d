"""The documents the API answers with: the mapping's documents (resources/hsds/mapping.py), whole or cut.

HSDS lists give "one-to-one fields" unless asked for `full`: that is the mapping's document without its
lists of children (phones, schedules, ...). Nothing here maps a model field; it only chooses which of the
mapping's documents to return and how deep.

Each function takes a page (or chunk) of rows from a queryset and loads what it needs with the mapping's
loaders, so a page costs a fixed number of queries however long it is.
"""

from ..hsds import mapping
from ..models import Service


def one_to_one(document):
    """The document without its one-to-many children (nested single objects stay)."""
    return {name: value for name, value in document.items() if not isinstance(value, list)}


def public_services():
    return Service.objects.published()


def service_documents(services, *, minimal=False, full=False):
    """Services as full documents, one-to-one documents, or minimal ones (id and last_modified)."""
    if minimal:
        return [mapping.service_document(service, minimal=True) for service in services.only("uuid", "last_modified")]
    documents = [mapping.service_document(service) for service in mapping.services_for_documents(services)]
    return documents if full else [one_to_one(document) for document in documents]


def organization_documents(organizations, *, full=False, full_service=False):
    """Organizations, one-to-one unless `full`; their public services nested when `full`, in full when
    `full_service`."""
    organizations = mapping.organizations_for_documents(organizations)
    if not full:
        return [one_to_one(mapping.organization_document(organization)) for organization in organizations]
    services_of = {}
    services = public_services().filter(organization__in=[organization.pk for organization in organizations])
    for service in mapping.services_for_documents(services):
        services_of.setdefault(service.organization_id, []).append(service)
    documents = []
    for organization in organizations:
        document = mapping.organization_document(organization, services=services_of.get(organization.pk, ()))
        if not full_service and "services" in document:
            document["services"] = [one_to_one(service) for service in document["services"]]
        documents.append(document)
    return documents


def service_at_location_documents(service_at_locations, *, full=False):
    """Service-at-locations with their place and their service (one-to-one unless `full`)."""
    rows = list(mapping.service_at_locations_for_documents(service_at_locations))
    services = mapping.services_for_documents(Service.objects.filter(pk__in={row.service_id for row in rows}))
    service_by_pk = {service.pk: mapping.service_document(service) for service in services}
    documents = []
    for row in rows:
        document = mapping.service_at_location_document(row, service_id=row.service.uuid)
        service = service_by_pk[row.service_id]
        if not full:
            document, service = one_to_one(document), one_to_one(service)
        document["service"] = service
        documents.append(document)
    return documents


def taxonomy_documents(taxonomies):
    return [mapping.taxonomy_document(taxonomy) for taxonomy in taxonomies]


def term_documents(terms):
    return [mapping.term_document(term) for term in mapping.terms_for_documents(terms)]
