"""Safety and privacy of the public pages (DESIGN.md, "Safety and privacy"), checked through the test client.

No cookie for anonymous visitors, no copy kept by browsers (Cache-Control: no-store), no referrer, a strict
Content Security Policy with nothing inline, nothing from another host, neutral titles, the quick exit on
every page, search terms never logged, and a search page light enough for a slow phone.
"""

import logging
import re
from html.parser import HTMLParser
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import override_settings

from resources.models import Phone, Service, ServiceArea, Taxonomy

from .conftest import make_area, make_language, make_phone, make_service, make_term
from .world import build_world

pytestmark = pytest.mark.django_db

# Words a title must not carry: it shows in the tab, the history and the phone's app switcher.
REVEALING_WORDS = ("traffick", "slavery", "exploitation", "abuse", "violence", "shelter", "rescue", "escape")


@pytest.fixture
def world(needs, populations):
    world = build_world(needs, populations)
    world["legal"].organization.website = "https://clinic.example.org/"
    world["legal"].organization.save()
    return world


def public_urls(world):
    """Every kind of public page, with the filters a person would use."""
    service = world["legal"]
    return [
        "/",
        "/search/",
        "/search/?q=legal+help",
        "/search/?need=legal-aid&region=US-TX&population=foreign-nationals&language=es&free=on&open_now=on",
        "/search/?delivery=online&trafficking_type=labour-trafficking",
        "/search/?near=77002&within=25",
        "/search/?lat=29.76&lon=-95.37",
        "/search/?need=no-such-need&region=Atlantis",
        f"/services/{service.uuid}/",
        f"/services/{world['restore'].uuid}/",
        f"/organizations/{service.organization.uuid}/",
        "/hotlines/",
        "/safety/",
        "/shortlist/",
        f"/shortlist/?s={service.uuid},{world['restore'].uuid}",
        f"/shortlist/sheet/?s={service.uuid},{world['restore'].uuid}",
        f"/services/{service.uuid}/correction/",
        "/list-your-organisation/",
        "/services/00000000-0000-4000-8000-000000000000/",  # the 404 page
    ]


def api_urls(world):
    return [
        "/api/",
        "/api/services?search=legal",
        "/api/services?format=ndjson",
        f"/api/services/{world['legal'].uuid}",
        "/api/organizations",
        "/api/service_at_locations",
        "/api/taxonomies",
        "/api/taxonomy_terms",
        "/api/openapi.json",
        "/api/docs/",
    ]


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def is_ours(url):
    parts = urlsplit(url)
    return (not parts.scheme and not parts.netloc) or parts.netloc == "testserver"


def test_no_public_page_or_api_response_sets_a_cookie(client, world):
    for url in public_urls(world) + api_urls(world):
        response = client.get(url)
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.NOT_FOUND}, url
        assert "Set-Cookie" not in response.headers, url
        assert not response.cookies, url
    assert not client.cookies


def test_the_public_forms_set_no_cookie_when_sent(client, world):
    for url in (f"/services/{world['legal'].uuid}/correction/", "/list-your-organisation/"):
        response = client.post(url, {"message": "The phone number changed."})
        assert response.status_code == HTTPStatus.BAD_REQUEST, url  # no signed stamp: refused, with the form
        assert "Set-Cookie" not in response.headers, url
    for url in (f"/services/{world['legal'].uuid}/correction/sent/", "/list-your-organisation/sent/"):
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        assert "Set-Cookie" not in response.headers, url
    assert not client.cookies


def test_public_pages_and_the_api_ask_for_no_copy_and_no_referrer(client, world):
    for url in public_urls(world) + api_urls(world):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["Referrer-Policy"] == "no-referrer", url


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/resources/site.css")
    assert response.status_code == HTTPStatus.OK
    assert "no-store" not in response.headers.get("Cache-Control", "")


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_the_content_security_policy_is_strict_on_every_public_page(client, world):
    for url in [*public_urls(world), "/api/services", "/api/docs/"]:
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy, url
        assert "unsafe-eval" not in policy, url
        found = directives(response)
        assert found["default-src"] == ["'self'"], url
        assert found["script-src"] == ["'self'"], url
        assert found["style-src"] == ["'self'"], url
        assert found["object-src"] == ["'none'"], url
        assert found["base-uri"] == ["'none'"], url
        assert found["frame-ancestors"] == ["'none'"], url
        assert found["form-action"] == ["'self'"], url


def test_only_the_api_documentation_may_show_data_images(client, db):
    assert directives(client.get("/api/docs/"))["img-src"] == ["'self'", "data:"]
    assert directives(client.get("/"))["img-src"] == ["'self'"]


def test_the_admin_works_under_the_same_policy(admin_client):
    response = admin_client.get("/admin/resources/service/add/")
    assert response.status_code == HTTPStatus.OK
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert_nothing_inline(response.content.decode(), "/admin/resources/service/add/")


def assert_nothing_inline(html, url):
    for tag, attrs in Tags(html).tags:
        assert tag != "style", f"<style> in {url}"
        if tag == "script":
            assert attrs.get("src"), f"inline <script> in {url}"
        assert "style" not in attrs, f"style= on <{tag}> in {url}"
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"{handlers} on <{tag}> in {url}"


def test_public_pages_have_no_inline_script_style_or_event_handler(client, world):
    for url in public_urls(world):
        assert_nothing_inline(client.get(url).content.decode(), url)


def listing_links():
    """Addresses to other sites that come from the listings themselves (websites, chat pages)."""
    links = set()
    for service in Service.objects.published().select_related("organization", "hotline"):
        links |= {service.url, service.organization.website, getattr(getattr(service, "hotline", None), "chat_url", "")}
    return {link for link in links if link}


def test_public_pages_load_nothing_from_another_host(client, world):
    """Nothing a page loads (scripts, styles, images, frames, fonts) or posts to is on another host. The only
    links away are the quick exit and the listings' own websites."""
    allowed_links = listing_links() | {settings.QUICK_EXIT_URL}
    assert "https://clinic.example.org/" in allowed_links
    for url in public_urls(world):
        html = client.get(url).content.decode()
        for tag, attrs in Tags(html).tags:
            for name in ("src", "srcset", "action", "poster", "data", "background", "formaction"):
                if attrs.get(name):
                    assert is_ours(attrs[name].split()[0]), f"<{tag} {name}={attrs[name]}> in {url}"
            if tag == "link" and attrs.get("href"):
                assert is_ours(attrs["href"]), f"<link href={attrs['href']}> in {url}"
            if tag == "a" and attrs.get("href") and not attrs["href"].startswith(("tel:", "sms:", "mailto:")):
                assert is_ours(attrs["href"]) or attrs["href"] in allowed_links, f"link to {attrs['href']} in {url}"
        assert "@import" not in html, url
        assert "url(" not in html, url


def test_our_style_sheets_and_scripts_name_no_other_host(client):
    for path in ("resources/site.css", "resources/safety.js", "resources/near-me.js", "partners/partners.css"):
        text = b"".join(client.get(f"/static/{path}").streaming_content).decode()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), path


def page_title(html):
    return re.search(r"<title>(.*?)</title>", html, re.DOTALL).group(1).strip()


def test_page_titles_are_neutral_and_never_name_a_listing(client, world):
    names = [service.name for service in Service.objects.published()]
    names += [service.organization.name for service in Service.objects.published()]
    for url in public_urls(world):
        title = page_title(client.get(url).content.decode())
        assert title.endswith("Support directory"), url
        assert not any(word in title.lower() for word in REVEALING_WORDS), (url, title)
        assert not any(name in title for name in names), (url, title)


def test_headings_stay_meaningful(client, world):
    page = client.get(f"/services/{world['legal'].uuid}/").content.decode()
    assert "<h1>Houston Record Clearing Clinic</h1>" in page


def test_every_public_page_has_the_quick_exit_and_the_safety_notice(client, world):
    for url in public_urls(world):
        html = client.get(url).content.decode()
        tags = Tags(html).tags
        exits = [attrs for tag, attrs in tags if tag == "a" and attrs.get("id") == "quick-exit"]
        assert len(exits) == 1, url
        assert exits[0]["href"] == settings.QUICK_EXIT_URL, url
        assert "Leave this site" in html, url
        scripts = [attrs["src"] for tag, attrs in tags if tag == "script"]
        assert "/static/resources/safety.js" in scripts, url
        # The notice is in the page itself (seen without JavaScript); only hiding it needs the script.
        assert 'id="safety-notice"' in html, url
        assert 'href="/safety/"' in html, url


@override_settings(QUICK_EXIT_URL="https://example.com/news")
def test_the_quick_exit_goes_where_the_settings_say(client, db):
    assert 'id="quick-exit" class="quick-exit" href="https://example.com/news"' in client.get("/").content.decode()


def test_the_500_page_has_the_quick_exit_and_sets_no_cookie(client, db):
    from resources.safety import server_error

    response = server_error(None)
    html = response.content.decode()
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert f'href="{settings.QUICK_EXIT_URL}"' in html
    assert_nothing_inline(html, "500")


def test_the_safety_page_says_what_the_quick_exit_does_not_do_and_whom_to_call(client, world):
    html = client.get("/safety/").content.decode()
    assert "does not erase your browser history" in html
    assert "private window" in html
    assert "National Trafficking Line" in html
    assert 'href="tel:+18883737888"' in html
    assert "Draft Shelter" not in html
    assert "Defunct Shelter" not in html


def test_a_search_logs_nothing_of_what_was_searched_for(client, world, caplog):
    caplog.set_level(logging.DEBUG)
    for logger in ("django.request", "django.server", "django.db.backends", ""):
        caplog.set_level(logging.DEBUG, logger=logger)
    secret = "zqmarkerwords"
    client.get("/search/", {"q": f"{secret} legal", "near": "77002", "region": secret})
    client.get("/search/", {"lat": "29.7612", "lon": "-95.3698"})
    client.get("/api/services", {"search": secret})
    client.get("/nowhere/", {"q": secret})  # a 404 is logged, without its query string
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    for searched in (secret, "77002", "29.76", "-95.37"):
        assert searched not in logged


def test_the_logging_configuration_drops_request_logs():
    assert settings.LOGGING["loggers"]["django.server"]["handlers"] == ["discard"]


# --- weight ---------------------------------------------------------------------------------------------

WEIGHT_LIMIT = 60 * 1024


@pytest.fixture
def twenty_results(needs, populations):
    """A realistic first page: more than 20 services with descriptions, phones, areas, languages and terms."""
    build_world(needs, populations)
    labour = Taxonomy.objects.get(slug=Taxonomy.TRAFFICKING_TYPES).terms.get()
    sex = make_term(Taxonomy.TRAFFICKING_TYPES, "sex-trafficking")
    description = (
        "Confidential help for survivors: a caseworker listens, explains the options and helps with housing, "
        "legal advice, health care, counselling and finding work. Interpreters are available on request and "
        "nobody has to give their name or immigration status to get help."
    )
    for number in range(24):
        service = make_service(
            name=f"Community Support Program {number}",
            description=description,
            terms=[needs["legal-aid"], needs["emergency-shelter"], populations["women"], labour, sex],
            is_free=number % 2 == 0,
        )
        make_area(service, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-TX")
        make_phone(service=service, number=f"+1 713 555 01{number:02d}")
        make_phone(service=service, number="233733", country="US", type=Phone.Type.TEXT)
        make_language(service=service, code="es")
    return Service.objects.published().count()


def page_weight(client, url):
    """Bytes of the page and of every style sheet and script it loads, as served (before compression)."""
    html = client.get(url).content
    sizes = {"html": len(html)}
    for tag, attrs in Tags(html.decode()).tags:
        asset = attrs.get("src") if tag == "script" else attrs.get("href") if tag == "link" else None
        if asset and (tag == "script" or attrs.get("rel") == "stylesheet"):
            response = client.get(asset)
            assert response.status_code == HTTPStatus.OK, asset
            sizes[asset] = len(b"".join(response.streaming_content))
    return sizes


def test_the_search_results_page_with_its_css_and_js_weighs_at_most_60_kb(client, twenty_results):
    assert twenty_results > settings.RESULTS_PER_PAGE
    url = "/search/?q=support&region=US-TX"
    html = client.get(url).content.decode()
    assert html.count('<article class="card') == settings.RESULTS_PER_PAGE
    assert 'name="need"' in html
    assert 'name="population"' in html
    sizes = page_weight(client, url)
    assert {"/static/resources/site.css", "/static/resources/safety.js", "/static/resources/near-me.js"} <= set(sizes)
    total = sum(sizes.values())
    print(f"\nSearch page weight: {total} bytes ({total / 1024:.1f} KB): {sizes}")
    assert total <= WEIGHT_LIMIT, sizes


def test_the_500_page_speaks_the_language_of_the_page_that_failed(db):
    from django.utils import translation

    from resources.safety import server_error

    with translation.override("es"):
        html = server_error(None).content.decode()
    assert '<html lang="es">' in html
    assert "Salir de este sitio" in html
    assert "Algo falló de nuestro lado" in html
    assert 'href="/es/hotlines/"' in html
    with translation.override("fr"):
        assert 'href="/fr/hotlines/"' in server_error(None).content.decode()
    english = server_error(None).content.decode()
    assert '<html lang="en">' in english
    assert 'href="/hotlines/"' in english
