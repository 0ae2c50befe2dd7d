"""The issue's acceptance checks, through the public pages, on the real demo data."""

from http import HTTPStatus

import pytest

from resources.demo import load_demo_data
from resources.models import Service

pytestmark = pytest.mark.django_db

WE_RESTORE = "WE Restore"
NHTH = "National Human Trafficking Hotline"
TIP_LINE = "Homeland Security Investigations tip line"
US_WIDE_HOTLINES = [NHTH, TIP_LINE, "988 Suicide &amp; Crisis Lifeline", "National Domestic Violence Hotline"]


@pytest.fixture
def demo(db):
    load_demo_data()


def page(client, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def test_region_uganda_finds_we_restore(client, demo):
    html = page(client, "/search/?region=Uganda")
    assert WE_RESTORE in html
    assert NHTH not in html
    assert "Canadian Human Trafficking Hotline" not in html


def test_region_texas_finds_us_wide_hotlines_and_not_the_ugandan_program(client, demo):
    html = page(client, "/search/?region=US-TX")
    for name in US_WIDE_HOTLINES:
        assert name in html
    assert WE_RESTORE not in html
    assert "Modern Slavery &amp; Exploitation Helpline" not in html


def test_need_reporting_trafficking_finds_the_dhs_tip_line(client, demo):
    html = page(client, "/search/?need=reporting-trafficking")
    assert TIP_LINE in html
    assert WE_RESTORE not in html


def test_national_hotline_page_has_call_and_text_links(client, demo):
    service = Service.objects.get(name=NHTH)
    html = page(client, service.get_absolute_url())
    assert '<a class="action call" href="tel:+18883737888">Call 1-888-373-7888</a>' in html
    assert '<a class="action text" href="sms:233733">Text 233733</a>' in html


def test_keyword_finds_a_listing_by_its_organization(client, demo):
    html = page(client, "/search/?q=homeland")
    assert TIP_LINE in html
    assert WE_RESTORE not in html


def test_every_demo_page_renders(client, demo):
    for service in Service.objects.published().select_related("organization"):
        page(client, service.get_absolute_url())
        page(client, service.organization.get_absolute_url())
    html = page(client, "/")
    assert 'href="tel:+18883737888"' in html
    assert 'href="sms:88788?&amp;body=START"' in html
