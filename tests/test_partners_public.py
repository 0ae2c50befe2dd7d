"""The anonymous forms: "suggest a correction" on every public listing and "list your organisation". They set
no cookies, need no CSRF cookie, and refuse robots (honeypot, signed timestamp, rate limit) with a clear
message and a 400 or 429, never a 500."""

import time
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.test import Client

from partners import antispam
from partners.models import Application, Correction
from resources.models import Organization, Service

from .conftest import make_service
from .partners_helpers import old_stamp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anonymous():
    # A browser with no cookies at all: these forms must work without a CSRF cookie.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def service(db):
    return make_service(name="Houston Clinic")


def correction_url(service):
    return f"/services/{service.uuid}/correction/"


def correction(service, **fields):
    data = {"what_is_wrong": "The phone number has changed.", "contact": "", "homepage": ""}
    data["stamp"] = old_stamp(f"correction:{service.uuid}")
    data.update(fields)
    return data


def application(**fields):
    data = {
        "organization_name": "Safe Harbour",
        "description": "Shelter and legal help for survivors.",
        "website": "safeharbour.example.org",
        "country": "Uganda",
        "regions_served": "Kampala",
        "phone": "+256 414 123 456",
        "offers": "Beds, counselling, legal advice.",
        "contact_name": "Grace",
        "contact_email": "grace@example.org",
        "accepts_referrals": "on",
        "serves_survivors": "on",
        "keeps_listings_current": "on",
        "confidentiality": "Files are locked; we share nothing without consent.",
        "homepage": "",
        "stamp": old_stamp("application"),
    }
    data.update(fields)
    return data


def test_every_public_listing_links_to_the_correction_form_and_no_page_sets_cookies(anonymous, service):
    page = anonymous.get(f"/services/{service.uuid}/")
    assert correction_url(service) in page.content.decode()
    assert not page.cookies
    for url in (correction_url(service), "/list-your-organisation/"):
        response = anonymous.get(url)
        assert response.status_code == HTTPStatus.OK
        assert not response.cookies, url
        assert "csrfmiddlewaretoken" not in response.content.decode()


def test_a_correction_reaches_the_queue_without_an_account(anonymous, service):
    response = anonymous.post(correction_url(service), correction(service, contact="call me: 555 0100"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/services/{service.uuid}/correction/sent/"
    assert not response.cookies
    saved = Correction.objects.get()
    assert (saved.service, saved.what_is_wrong, saved.contact) == (
        service,
        "The phone number has changed.",
        "call me: 555 0100",
    )
    assert saved.state == Correction.State.PENDING
    assert anonymous.get(response["Location"]).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"homepage": "http://spam.example"}, HTTPStatus.BAD_REQUEST, "meant to stay empty"),
        ({"stamp": antispam.issue("correction:x")}, HTTPStatus.BAD_REQUEST, "could not be checked"),
        ({"stamp": "forged"}, HTTPStatus.BAD_REQUEST, "could not be checked"),
        ({"stamp": ""}, HTTPStatus.BAD_REQUEST, "could not be checked"),
        ({"what_is_wrong": ""}, HTTPStatus.BAD_REQUEST, "This field is required"),
        ({"what_is_wrong": "x" * 102_400}, HTTPStatus.BAD_REQUEST, "at most 5000 characters"),
        ({"what_is_wrong": "<script>alert(1)</script>"}, HTTPStatus.BAD_REQUEST, "HTML tags"),
        ({"contact": "y" * 400}, HTTPStatus.BAD_REQUEST, "at most 300 characters"),
    ],
)
def test_a_refused_correction_says_why_and_writes_nothing(anonymous, service, fields, status, message):
    response = anonymous.post(correction_url(service), correction(service, **fields))
    assert response.status_code == status
    assert message in response.content.decode()
    assert not Correction.objects.exists()
    assert not response.cookies


def test_too_fast_and_too_old_are_refused_and_the_form_can_be_sent_again(anonymous, service):
    purpose = f"correction:{service.uuid}"
    too_fast = anonymous.post(correction_url(service), correction(service, stamp=antispam.issue(purpose)))
    assert too_fast.status_code == HTTPStatus.BAD_REQUEST
    assert "quicker than a person" in too_fast.content.decode()
    too_old = anonymous.post(
        correction_url(service), correction(service, stamp=antispam.issue(purpose, now=time.time() - 3 * 3600))
    )
    assert too_old.status_code == HTTPStatus.BAD_REQUEST
    assert "expired" in too_old.content.decode()
    assert not Correction.objects.exists()
    # The page hands back a fresh stamp, and what was typed.
    fresh = too_old.context["form"]["stamp"].value()
    antispam.verify(fresh, purpose, now=time.time() + 10)
    assert "The phone number has changed." in too_old.content.decode()


def test_posts_from_another_site_are_refused(anonymous, service):
    response = anonymous.post(correction_url(service), correction(service), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    response = anonymous.post(correction_url(service), correction(service), HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not Correction.objects.exists()
    same = anonymous.post(correction_url(service), correction(service), HTTP_ORIGIN="http://testserver")
    assert same.status_code == HTTPStatus.FOUND


def test_a_client_that_sends_too_many_is_limited(anonymous, service):
    for _ in range(5):
        assert anonymous.post(correction_url(service), correction(service)).status_code == HTTPStatus.FOUND
    response = anonymous.post(correction_url(service), correction(service))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many" in response.content.decode()
    assert Correction.objects.count() == 5
    # Another client is not limited by the first one.
    other = anonymous.post(correction_url(service), correction(service), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == HTTPStatus.FOUND


def test_only_public_listings_take_corrections(anonymous, service):
    Service.objects.filter(pk=service.pk).update(review_state=Service.ReviewState.PENDING)
    assert anonymous.get(correction_url(service)).status_code == HTTPStatus.NOT_FOUND
    assert anonymous.post(correction_url(service), correction(service)).status_code == HTTPStatus.NOT_FOUND
    assert not Correction.objects.exists()


def test_an_application_waits_in_the_queue_and_nothing_is_public(anonymous, needs):
    data = application(needs=[str(needs["legal-aid"].uuid)])
    response = anonymous.post("/list-your-organisation/", data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    assert not response.cookies
    saved = Application.objects.get()
    assert saved.state == Application.State.PENDING
    assert (saved.country, saved.regions_served, saved.phone) == ("UG", "UG-102", "+256414123456")
    assert saved.website == "https://safeharbour.example.org"
    assert list(saved.needs.all()) == [needs["legal-aid"]]
    assert not Organization.objects.filter(name="Safe Harbour").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"organization_name": ""}, "This field is required"),
        ({"serves_survivors": ""}, "only partners who make this commitment"),
        ({"description": "d" * 102_400}, "at most 5000 characters"),
        ({"phone": "12"}, "not a valid phone number"),
        ({"contact_phone": "call me maybe"}, "not a phone number we can read"),
        ({"country": "Atlantis"}, "not a country we know"),
        ({"regions_served": "Narnia"}, "We do not know the region"),
        ({"regions_served": "Texas"}, "Not in Uganda"),
        ({"organization_name": "<script>alert(1)</script>"}, "HTML tags"),
        ({"contact_email": "not-an-email"}, "Enter a valid email address"),
        ({"homepage": "spam"}, "meant to stay empty"),
    ],
)
def test_a_bad_application_says_why_and_writes_nothing(anonymous, fields, message):
    response = anonymous.post("/list-your-organisation/", application(**fields))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert not Application.objects.exists()


def test_applications_are_rate_limited_too(anonymous):
    for number in range(3):
        response = anonymous.post("/list-your-organisation/", application(organization_name=f"Org {number}"))
        assert response.status_code == HTTPStatus.FOUND
    response = anonymous.post("/list-your-organisation/", application(organization_name="One too many"))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert Application.objects.count() == 3


def test_no_search_terms_or_addresses_are_stored_with_a_correction(anonymous, service):
    anonymous.post(
        correction_url(service) + "?q=secret+words",
        correction(service),
        HTTP_REFERER="/search/?q=secret+words",
        REMOTE_ADDR="198.51.100.7",
    )
    stored = Correction.objects.values()[0]
    assert "secret" not in str(stored)
    assert "198.51.100.7" not in str(stored)
