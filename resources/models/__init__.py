from .base import HSDSModel, Tristate
from .details import Contact, Language, Phone, Schedule
from .freshness import ReminderSent
from .organizations import Funding, Organization, OrganizationIdentifier, Program
from .places import Accessibility, Address, Location, ServiceArea, ServiceAtLocation
from .records import Attribute, Metadata, MetaTableDescription
from .search import SearchDocument, SearchSynonym
from .services import (
    CostOption,
    Hotline,
    PublicService,
    RequiredDocument,
    Service,
    ServiceTerm,
    ServiceTranslation,
    cards_of,
    load_cards,
)
from .taxonomy import Taxonomy, TaxonomyTerm

__all__ = [
    "Accessibility",
    "Address",
    "Attribute",
    "Contact",
    "CostOption",
    "Funding",
    "HSDSModel",
    "Hotline",
    "Language",
    "Location",
    "MetaTableDescription",
    "Metadata",
    "Organization",
    "OrganizationIdentifier",
    "Phone",
    "Program",
    "PublicService",
    "ReminderSent",
    "RequiredDocument",
    "Schedule",
    "SearchDocument",
    "SearchSynonym",
    "Service",
    "ServiceArea",
    "ServiceAtLocation",
    "ServiceTerm",
    "ServiceTranslation",
    "Taxonomy",
    "TaxonomyTerm",
    "Tristate",
    "cards_of",
    "load_cards",
]
