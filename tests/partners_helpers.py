"""Helpers for the partner tests: people who act for organizations, and what a browser would post."""

import datetime
import itertools

from django.contrib.auth import get_user_model
from django.forms import CheckboxInput, CheckboxSelectMultiple, SelectMultiple

from partners import antispam
from partners.forms import ListingEditor
from partners.models import Membership

_people = itertools.count(1)


def make_partner(organization, *, role=Membership.Role.EDITOR, email=None):
    email = email or f"partner{next(_people)}@example.org"
    user = get_user_model().objects.create_user(username=email, email=email, password="not-a-real-password-42")
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def _field_data(form):
    data = {}
    for field in form:
        value = field.value()
        widget = field.field.widget
        if isinstance(widget, CheckboxInput):
            if value:
                data[field.html_name] = "on"
        elif isinstance(widget, CheckboxSelectMultiple | SelectMultiple):
            data[field.html_name] = [str(item) for item in value or []]
        elif value is None:
            data[field.html_name] = ""
        elif isinstance(value, datetime.time):
            data[field.html_name] = value.strftime("%H:%M")
        else:
            data[field.html_name] = str(value)
    return data


def browser_data(form_or_formset):
    """What a browser posts for an unbound form or formset, filled with its initial values."""
    if hasattr(form_or_formset, "management_form"):
        data = _field_data(form_or_formset.management_form)
        for form in form_or_formset.forms:
            data.update(_field_data(form))
        return data
    return _field_data(form_or_formset)


def listing_data(organization, base=None, **changes):
    """The listing form as a partner would send it without touching anything, then with `changes`
    (field names as posted: "name", "phones-0-number", ...)."""
    editor = ListingEditor(organization=organization, base=base)
    data = browser_data(editor.form)
    for formset in editor.formsets.values():
        data.update(browser_data(formset))
    data.update(changes)
    return data


def old_stamp(purpose, seconds=60):
    """An anti-spam timestamp issued `seconds` ago, as if a person had spent that long on the form."""
    import time

    return antispam.issue(purpose, now=time.time() - seconds)


def build_two_organizations(needs):
    """Organizations A and B, each with a published listing (phone, place, area, language, a need), a
    person who acts for it, an open proposal and a message from the curators."""
    from django.utils import timezone

    from partners import decisions, documents
    from partners.models import Message
    from resources.models import ServiceArea

    from .conftest import (
        make_area,
        make_language,
        make_location,
        make_organization,
        make_phone,
        make_service,
        make_service_at_location,
    )

    world = {}
    for key, city in (("a", "Houston"), ("b", "Dallas")):
        organization = make_organization(name=f"Organization {key.upper()}")
        service = make_service(organization=organization, name=f"Listing {key.upper()}", terms=[needs["legal-aid"]])
        make_phone(service=service, number="+1 713 555 0100" if key == "a" else "+1 214 555 0100")
        place = make_location(
            organization=organization, country="US", state_province="TX", city=city, address_1="1 Main"
        )
        make_service_at_location(service, place)
        make_area(service, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-TX")
        make_language(service=service, code="es")
        partner = make_partner(organization)
        document = documents.live_document(service) | {"name": f"Proposed {key.upper()}"}
        proposal = decisions.submit_proposal(
            organization=organization, author=partner, document=document, service=service
        )
        message = Message.objects.create(organization=organization, body=f"Curators' note for {key.upper()}")
        world[key] = {
            "organization": organization,
            "service": service,
            "partner": partner,
            "proposal": proposal,
            "message": message,
            "place": place,
        }
    world["now"] = timezone.now()
    return world
