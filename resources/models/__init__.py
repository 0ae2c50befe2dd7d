from .base import HSDSModel, Tristate
from .details import Language, Phone, Schedule
from .organizations import Organization
from .places import Address, Location, ServiceArea, ServiceAtLocation
from .services import Hotline, PublicService, Service
from .taxonomy import Taxonomy, TaxonomyTerm

__all__ = [
    "Address",
    "HSDSModel",
    "Hotline",
    "Language",
    "Location",
    "Organization",
    "Phone",
    "PublicService",
    "Schedule",
    "Service",
    "ServiceArea",
    "ServiceAtLocation",
    "Taxonomy",
    "TaxonomyTerm",
    "Tristate",
]
