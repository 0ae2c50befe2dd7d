"""The demo data: real listings and our vocabularies, from resources/demo_data/*.json.

Every object in the files carries a fixed UUID, so loading again updates the same rows instead of adding
new ones. For the rows they name, the files are the truth: a field the file leaves out goes back to the
model's default. Each row passes full_clean(), the validation the admin uses, and is saved only when a
value actually differs, so a second run writes nothing and last_modified stays put. Rows the files do
not name are left alone.

Order among siblings (needs under a parent, a service's phones) is the order in the file.
"""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import (
    Address,
    Hotline,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

DATA_DIR = Path(__file__).resolve().parent / "demo_data"

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class DemoDataError(ValueError):
    """The demo files say something the models refuse; the message names the object."""


@dataclass
class LoadSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome):
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self):
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def load_demo_data(*, data_dir=DATA_DIR):
    """Create or update every vocabulary term and listing in the demo files; return what happened."""
    vocabularies = _read(Path(data_dir) / "vocabularies.json")
    listings = _read(Path(data_dir) / "listings.json")
    loader = _Loader()
    with transaction.atomic():
        for taxonomy in vocabularies.get("taxonomies", []):
            loader.taxonomy(taxonomy)
        for organization in listings.get("organizations", []):
            loader.organization(organization)
    return loader.summary


def _read(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DemoDataError(f"Cannot read {path}: {error}") from None


def _comparable(obj):
    """What a row holds, minus what the database fills in by itself (the key, auto_now times)."""
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if not field.primary_key and not getattr(field, "auto_now", False)
    }


class _Loader:
    def __init__(self):
        self.summary = LoadSummary()
        self.terms = {}  # (taxonomy slug, code) -> term, for the services' term lists
        self.locations = {}  # UUID -> location, for service_at_locations

    # One row -----------------------------------------------------------------------------------------

    def upsert(self, model, data, *, lookup=None, **fixed):
        obj, outcome = self._upsert(model, data, lookup=lookup, **fixed)
        self.summary.add(outcome)
        return obj

    def _upsert(self, model, data, *, lookup=None, **fixed):
        """Create or update one row from the file; `fixed` holds what the file's nesting implies."""
        data = dict(data)
        if lookup is None:
            lookup = {"uuid": self._uuid(model, data.pop("id", None))}
        label = f"{model._meta.verbose_name} {next(iter(lookup.values()))}"
        values = self._values(model, data, fixed, label)

        obj = model.objects.filter(**lookup).first()
        outcome = CREATED if obj is None else UNCHANGED
        if obj is None:
            obj = model(**lookup)
        before = _comparable(obj)
        for name, value in values.items():
            setattr(obj, name, value)
        try:
            obj.full_clean()
        except ValidationError as error:
            raise DemoDataError(f"{label}: {'; '.join(error.messages)}") from None
        if outcome == UNCHANGED and _comparable(obj) != before:
            outcome = UPDATED
            if hasattr(obj, "last_modified"):
                obj.last_modified = timezone.now()
        if outcome != UNCHANGED:
            obj._change_reason = "demo data"  # the author the listings' history names
            obj.save()
        return obj, outcome

    @staticmethod
    def _uuid(model, value):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise DemoDataError(f"A {model._meta.verbose_name} needs an “id” that is a UUID, not {value!r}.") from None

    @staticmethod
    def _values(model, data, fixed, label):
        """Every field the file controls: its value in the file, or the model's default when left out."""
        fields = {
            field.name: field
            for field in model._meta.concrete_fields
            if field.editable and not field.primary_key and field.name != "uuid"
        }
        settable = {name for name, field in fields.items() if not field.is_relation} - set(fixed)
        unknown = set(data) - settable
        if unknown:
            raise DemoDataError(f"{label}: unknown or loader-set fields {', '.join(sorted(unknown))}.")
        values = {name: field.get_default() for name, field in fields.items()}
        values.update(data)
        values.update(fixed)
        return values

    # Vocabularies -------------------------------------------------------------------------------------

    def taxonomy(self, data):
        data = dict(data)
        terms = data.pop("terms", [])
        taxonomy = self.upsert(Taxonomy, data)
        self.term_list(taxonomy, None, terms)

    def term_list(self, taxonomy, parent, items):
        for position, data in enumerate(items, start=1):
            data = dict(data)
            children = data.pop("children", [])
            term = self.upsert(TaxonomyTerm, data, taxonomy=taxonomy, parent=parent, position=position)
            self.terms[taxonomy.slug, term.code] = term
            self.term_list(taxonomy, term, children)

    # Listings -----------------------------------------------------------------------------------------

    def organization(self, data):
        data = dict(data)
        locations, services, phones = data.pop("locations", []), data.pop("services", []), data.pop("phones", [])
        organization = self.upsert(Organization, data)
        self.phones(phones, organization=organization)
        for location in locations:
            self.location(location, organization)
        for service in services:
            self.service(service, organization)

    def location(self, data, organization):
        data = dict(data)
        addresses = data.pop("addresses", [])
        details = {key: data.pop(key, []) for key in ("phones", "schedules", "languages")}
        location = self.upsert(Location, data, organization=organization)
        self.locations[location.uuid] = location
        for address in addresses:
            self.upsert(Address, address, location=location)
        self.details(details, location=location)

    def service(self, data, organization):
        data = dict(data)
        terms = data.pop("terms", {})
        areas, places = data.pop("service_areas", []), data.pop("service_at_locations", [])
        hotline = data.pop("hotline", None)
        details = {key: data.pop(key, []) for key in ("phones", "schedules", "languages")}

        service, outcome = self._upsert(Service, data, organization=organization)
        if self.set_terms(service, terms) and outcome == UNCHANGED:
            outcome = UPDATED
        self.summary.add(outcome)

        self.details(details, service=service)
        for area in areas:
            self.upsert(ServiceArea, area, service=service)
        for place in places:
            place = dict(place)
            location_id = self._uuid(Location, place.pop("location_id", None))
            if location_id not in self.locations:
                raise DemoDataError(f"Service {service.uuid}: no location {location_id} in this organization.")
            self.upsert(ServiceAtLocation, place, service=service, location=self.locations[location_id])
        if hotline is not None:
            self.upsert(Hotline, hotline, lookup={"service": service}, service=service)

    def details(self, details, **owner):
        self.phones(details["phones"], **owner)
        for schedule in details["schedules"]:
            self.upsert(Schedule, schedule, **owner)
        for language in details["languages"]:
            self.upsert(Language, language, **owner)

    def phones(self, items, **owner):
        for position, data in enumerate(items, start=1):
            data = dict(data)
            languages = data.pop("languages", [])
            phone = self.upsert(Phone, data, position=position, **owner)
            for language in languages:
                self.upsert(Language, language, phone=phone)

    def set_terms(self, service, codes_by_taxonomy):
        """Link the service to exactly the terms the file names; True when the links changed."""
        wanted = set()
        for slug, codes in codes_by_taxonomy.items():
            for code in codes:
                term = self.terms.get((slug, code))
                if term is None:
                    raise DemoDataError(f"Service {service.uuid}: no term “{code}” in the {slug} vocabulary.")
                wanted.add(term.pk)
        if set(service.terms.values_list("pk", flat=True)) == wanted:
            return False
        service.terms.set(wanted)
        return True
