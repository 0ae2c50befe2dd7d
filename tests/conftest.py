"""Small factory functions for tests: each makes a valid object with sensible defaults.

Every factory runs full_clean(), so tests build data through the same validation the admin uses.
"""

import datetime
import itertools

import pytest

from resources.models import (
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

_counter = itertools.count(1)


def _saved(obj):
    obj.full_clean()
    obj.save()
    return obj


def make_organization(**fields):
    fields.setdefault("name", f"Organization {next(_counter)}")
    fields.setdefault("description", "Helps people.")
    return _saved(Organization(**fields))


def make_service(*, terms=(), **fields):
    if "organization" not in fields:
        fields["organization"] = make_organization()
    fields.setdefault("name", f"Service {next(_counter)}")
    fields.setdefault("review_state", Service.ReviewState.PUBLISHED)
    service = _saved(Service(**fields))
    if terms:
        service.terms.add(*terms)
    return service


def make_phone(*, number="+18883737888", **fields):
    return _saved(Phone(number=number, **fields))


def make_location(*, country="US", state_province="", city="", address_1="", **fields):
    location = _saved(Location(**fields))
    _saved(Address(location=location, country=country, state_province=state_province, city=city, address_1=address_1))
    return location


def make_service_at_location(service, location):
    return _saved(ServiceAtLocation(service=service, location=location))


def make_area(service, kind, **fields):
    return _saved(ServiceArea(service=service, kind=kind, **fields))


def make_schedule(**fields):
    return _saved(Schedule(**fields))


def make_language(code, **fields):
    return _saved(Language(code=code, **fields))


def make_hotline(service, **fields):
    fields.setdefault("operator_kind", Hotline.OperatorKind.NON_GOVERNMENTAL)
    return _saved(Hotline(service=service, **fields))


def make_taxonomy(slug, name=None):
    taxonomy, _ = Taxonomy.objects.get_or_create(
        slug=slug, defaults={"name": name or slug.title(), "description": f"The {slug} vocabulary."}
    )
    return taxonomy


def make_term(taxonomy_slug, code, *, parent=None, name=None):
    return _saved(
        TaxonomyTerm(
            taxonomy=make_taxonomy(taxonomy_slug), code=code, name=name or code.replace("-", " "), parent=parent
        )
    )


@pytest.fixture
def needs(db):
    """A small needs tree: legal-aid > record-clearing; immigration-relief > t-visa; shelter."""
    legal = make_term(Taxonomy.NEEDS, "legal-aid", name="Legal aid")
    immigration = make_term(Taxonomy.NEEDS, "immigration-relief", name="Immigration relief")
    return {
        "legal-aid": legal,
        "record-clearing": make_term(Taxonomy.NEEDS, "record-clearing", parent=legal, name="Record clearing"),
        "immigration-relief": immigration,
        "t-visa": make_term(Taxonomy.NEEDS, "t-visa", parent=immigration, name="T visa"),
        "emergency-shelter": make_term(Taxonomy.NEEDS, "emergency-shelter", name="Emergency shelter"),
        "reporting-trafficking": make_term(Taxonomy.NEEDS, "reporting-trafficking", name="Reporting trafficking"),
    }


@pytest.fixture
def populations(db):
    return {code: make_term(Taxonomy.POPULATIONS, code) for code in ("women", "minors", "foreign-nationals")}


@pytest.fixture
def a_monday_noon_utc():
    return datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _helper_threads_end():
    """Each test leaves no helper thread of resources.aside behind: one would hold a database connection of its
    own, on a database a later test empties (and the last drops)."""
    from resources.aside import stop_helpers

    yield
    stop_helpers()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (lists kept a few minutes, rate limits)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language.

    LocaleMiddleware activates the visitor's language for the thread and nothing switches it
    back after the response, so a request to /es/ would leave the next test reading Spanish.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


# Browser tests: skipped loudly where Chromium is missing (tests/browser_support.py).
from .browser_support import pytest_collection_modifyitems, pytest_terminal_summary  # noqa: E402, F401
