"""A small directory where every service exists to be found by some filters and missed by others."""

import datetime

from resources.models import Phone, Service, ServiceArea, Taxonomy

from .conftest import (
    make_area,
    make_hotline,
    make_language,
    make_location,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
    make_term,
)


def build_world(needs, populations):
    world = {}

    hotline = make_service(name="National Trafficking Line", terms=[needs["reporting-trafficking"]], is_free=True)
    make_hotline(hotline)
    make_area(hotline, ServiceArea.Kind.COUNTRY, country="US")
    make_phone(service=hotline, number="1-888-373-7888", country="US")
    make_phone(service=hotline, number="233733", country="US", type=Phone.Type.TEXT)
    make_schedule(service=hotline, open_24_7=True, timezone="America/New_York")
    make_language(service=hotline, code="en")
    world["hotline"] = hotline

    restore = make_service(name="Restore Home", terms=[needs["emergency-shelter"], populations["women"]])
    make_area(restore, ServiceArea.Kind.COUNTRY, country="UG")
    home = make_location(country="UG", state_province="Kampala", city="Kampala", address_1="Plot 7 Secret Road")
    home.is_confidential = True
    home.save()
    make_service_at_location(restore, home)
    make_language(service=restore, code="lg")
    make_language(service=restore, code="en")
    world["restore"] = restore

    legal = make_service(
        name="Houston Record Clearing Clinic",
        description="Free legal help to clear records of crimes survivors were forced to commit.",
        terms=[needs["record-clearing"], populations["foreign-nationals"]],
        is_free=True,
    )
    office = make_location(country="US", state_province="TX", city="Houston", address_1="1 Main Street")
    make_service_at_location(legal, office)
    make_phone(service=legal, number="+1 713 555 0100")
    # Monday 09:00-17:00 in Houston.
    make_schedule(
        service=legal, byday="MO", opens_at=datetime.time(9), closes_at=datetime.time(17), timezone="America/Chicago"
    )
    make_language(service=legal, code="es")
    world["legal"] = legal

    visa = make_service(name="T Visa Project", terms=[needs["t-visa"]], available_online=True)
    make_area(visa, ServiceArea.Kind.SUBDIVISION, subdivision="US-CA", country="US")
    # Friday 22:00 to Saturday 02:00 in Los Angeles.
    make_schedule(
        service=visa, byday="FR", opens_at=datetime.time(22), closes_at=datetime.time(2), timezone="America/Los_Angeles"
    )
    world["visa"] = visa

    # Never public, whatever the filters say.
    world["draft"] = make_service(
        name="Draft Shelter", review_state=Service.ReviewState.DRAFT, terms=[needs["emergency-shelter"]]
    )
    world["pending"] = make_service(name="Pending Shelter", review_state=Service.ReviewState.PENDING)
    world["archived"] = make_service(name="Archived Shelter", review_state=Service.ReviewState.ARCHIVED)
    world["defunct"] = make_service(
        name="Defunct Shelter", status=Service.Status.DEFUNCT, terms=[needs["emergency-shelter"]]
    )
    for hidden in ("draft", "pending", "archived", "defunct"):
        make_area(world[hidden], ServiceArea.Kind.COUNTRY, country="UG")
    make_hotline(world["defunct"])
    make_term(Taxonomy.TRAFFICKING_TYPES, "labour-trafficking")
    return world


HIDDEN = ("draft", "pending", "archived", "defunct")
