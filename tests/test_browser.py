"""The public pages in a real Chromium (Playwright), against a live server with the demo data.

- axe-core (WCAG 2.0/2.1/2.2 A and AA rules and best practices): no violation on any page, at 360 px and 1280 px;
- the browser reports no Content Security Policy violation and no request to another host;
- the quick exit, by click and by Shift pressed three times: the page is blanked, and Back does not return;
- the layout at 360 px: nothing wider than the screen, the exit bar visible after scrolling and covering
  nothing before; a 360 px screenshot of every page is saved in test-artifacts/screenshots/;
- the keyboard: the skip link and the quick exit come first, and focus is visible.

Launched with Debian's Chromium (/usr/bin/chromium): Playwright's own browser downloads are not used.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from resources.demo import load_demo_data
from resources.models import Organization, Service

from .browser_support import CHROMIUM, missing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
NEUTRAL = "https://neutral.example/weather"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    reason = missing()
    if reason:
        pytest.fail(f"Browser tests are required here (REQUIRE_BROWSER_TESTS) but cannot run: {reason}.")
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API runs an event loop in this thread; Django would then refuse the
    # database calls the tests make between browser steps. Nothing here is really asynchronous. The loop
    # stops with this module, so the rest of the suite runs as Django normally does.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server, settings):
    """The live server with the demo data, and the quick exit pointed at a page the browser fakes."""
    settings.QUICK_EXIT_URL = NEUTRAL
    load_demo_data()
    return live_server.url


@pytest.fixture
def pages(site):
    """The public pages, each as the demo data fills it."""
    service = Service.objects.published().filter(service_at_locations__isnull=False).order_by("name").first()
    organization = Organization.objects.with_public_services().order_by("name").first()
    # A shortlist with a confidential place (WE Restore's home) and a hotline with call and text lines.
    confidential = Service.objects.published().filter(service_at_locations__location__is_confidential=True).first()
    hotline = Service.objects.published().hotlines().filter(phones__type="text").first()
    shortlist = f"s={confidential.uuid},{hotline.uuid}"
    return {
        "home": "/",
        "search": "/search/?q=shelter&region=US",
        # One long unbroken word, as pasted by mistake: echoed in the active-filter chip, it must wrap.
        "long-word": "/search/?q=" + "x" * 300,
        "detail": f"/services/{service.uuid}/",
        "organization": f"/organizations/{organization.uuid}/",
        "hotlines": "/hotlines/",
        "safety": "/safety/",
        "shortlist": f"/shortlist/?{shortlist}",
        "sheet": f"/shortlist/sheet/?{shortlist}",
    }


class Watched:
    """A page whose CSP violations and requests to other hosts are recorded."""

    def __init__(self, browser, site, viewport, **options):
        self.context = browser.new_context(viewport=viewport, **options)
        self.page = self.context.new_page()
        self.problems = []
        host = urlsplit(site).netloc
        self.page.on("console", self._console)

        def route(route):
            url = urlsplit(route.request.url)
            if route.request.url.startswith(NEUTRAL):
                route.fulfill(status=200, content_type="text/html", body="<title>Weather</title><p>Sunny</p>")
            elif url.scheme in {"http", "https"} and url.netloc != host:
                self.problems.append(f"request to another host: {route.request.url}")
                route.abort()
            else:
                route.continue_()

        self.page.route("**/*", route)

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def close(self):
        self.context.close()


@pytest.fixture
def open_page(browser, site):
    opened = []

    def open_page(viewport=PHONE, **options):
        watched = Watched(browser, site, viewport, **options)
        opened.append(watched)
        return watched

    yield open_page
    for watched in opened:
        assert watched.problems == []
        watched.close()


def axe_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in results.response["violations"]
    ]


def test_every_public_page_passes_axe_at_phone_and_desktop_width(open_page, site, pages):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for viewport in (PHONE, DESKTOP):
        watched = open_page(viewport)
        page = watched.page
        # In English and in Spanish (the same pages under /es/: longer words, the same layout).
        for name, path in {**pages, **{f"{name}-es": f"/es{path}" for name, path in pages.items()}}.items():
            response = page.goto(site + path)
            assert response.status == 200, path
            assert page.get_attribute("html", "lang") == ("es" if name.endswith("-es") else "en"), path
            if viewport is PHONE:
                page.screenshot(path=ARTIFACTS / f"{name}-360.png", full_page=True)
            violations = axe_violations(page)
            if violations:
                found[f"{name} at {viewport['width']} px"] = violations
            # Nothing is wider than the screen (no sideways scrolling on a phone).
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (name, viewport)
        # With the notice hidden (as a returning visitor sees the pages), the pages still pass.
        page.goto(site + pages["home"])
        page.click("#hide-safety-notice")
        assert axe_violations(page) == []
    assert found == {}


def test_no_page_loads_anything_from_another_host_or_breaks_the_policy(open_page, site, pages):
    """open_page fails the test on any CSP report or request elsewhere; here every page is visited, also the
    API documentation, the partner forms and the 404 page."""
    watched = open_page(DESKTOP)
    for path in [*pages.values(), "/list-your-organisation/", "/partners/login/", "/api/docs/", "/nowhere/"]:
        watched.page.goto(site + path)
        watched.page.wait_for_load_state("networkidle")


def test_quick_exit_by_click_blanks_the_page_and_back_does_not_return(open_page, site, pages):
    page = open_page().page
    page.goto(site + pages["home"])
    page.goto(site + pages["detail"])
    blanked = []
    page.expose_function("reportBlank", lambda hidden: blanked.append(hidden))
    page.evaluate("window.addEventListener('beforeunload', () => window.reportBlank(document.body.hidden))")
    page.click("#quick-exit")
    page.wait_for_url(NEUTRAL)
    assert blanked == [True]
    page.go_back()
    # The page that was left is gone from the history: Back lands on the page before it.
    assert page.url == site + pages["home"]


def test_quick_exit_by_pressing_shift_three_times(open_page, site, pages):
    page = open_page().page
    page.goto(site + pages["home"])
    page.goto(site + pages["search"])
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL)
    page.go_back()
    assert page.url == site + pages["home"]


def test_typing_capital_letters_does_not_leave(open_page, site, pages):
    page = open_page().page
    page.goto(site + pages["search"])
    page.fill("#id_q", "")
    page.focus("#id_q")
    page.keyboard.type("New York NY USA")
    page.wait_for_timeout(300)
    assert page.url == site + pages["search"]
    assert page.input_value("#id_q") == "New York NY USA"


def test_without_javascript_the_quick_exit_is_still_a_link_and_the_notice_is_shown(open_page, site, pages):
    page = open_page(java_script_enabled=False).page
    page.goto(site + pages["detail"])
    assert page.is_visible("#safety-notice")
    assert not page.is_visible("#hide-safety-notice")  # hiding needs the script
    page.click("#quick-exit")
    page.wait_for_url(NEUTRAL)


def test_the_exit_stays_on_screen_when_scrolling_and_covers_nothing_at_first(open_page, site, pages):
    page = open_page(PHONE).page
    for path in pages.values():
        page.goto(site + path)
        bar = page.locator(".exit-bar").bounding_box()
        header = page.locator(".site-header").bounding_box()
        assert bar["y"] == 0
        assert bar["y"] + bar["height"] <= header["y"]
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(200)
        button = page.locator("#quick-exit").bounding_box()
        assert button["y"] >= 0, path
        assert button["y"] + button["height"] <= PHONE["height"], path
        assert button["x"] + button["width"] <= PHONE["width"], path
        assert page.locator("#quick-exit").is_visible()


def test_the_notice_hides_for_the_tab_without_a_cookie(open_page, site, pages):
    watched = open_page()
    page = watched.page
    page.goto(site + pages["home"])
    assert page.is_visible("#safety-notice")
    page.click("#hide-safety-notice")
    assert not page.is_visible("#safety-notice")
    page.goto(site + pages["hotlines"])
    assert not page.is_visible("#safety-notice")
    assert watched.context.cookies() == []


def test_keyboard_reaches_the_skip_link_then_the_quick_exit_with_visible_focus(open_page, site, pages):
    page = open_page(DESKTOP).page
    page.goto(site + pages["search"])
    focused = []
    for _ in range(5):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate(
                """() => {
                const element = document.activeElement, style = getComputedStyle(element);
                return [element.id || element.className || element.tagName, style.outlineStyle, style.outlineWidth];
            }"""
            )
        )
    assert focused[0][0] == "skip-link"
    assert focused[1][0] == "quick-exit"
    for name, outline_style, outline_width in focused:
        assert outline_style != "none", name
        assert outline_width != "0px", name
    # Enter on the skip link moves to the content.
    page.goto(site + pages["search"])
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


# --- the shortlist (kept in the browser) and the referral sheet ------------------------------------------------


def expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


def card_names(page, selector="article.card .card-title"):
    return [name.strip() for name in page.locator(selector).all_inner_texts()]


def test_shortlist_from_search_to_sheet_to_a_share_link_opened_on_another_device(open_page, site):
    watched = open_page(PHONE)
    page = watched.page
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.goto(site + "/search/?q=hotline")
    cards = page.locator("article.card")
    chosen = [cards.nth(1), cards.nth(0)]  # added in this order, kept in this order
    names = [card.locator(".card-title").inner_text().strip() for card in chosen]
    for card, name in zip(chosen, names, strict=True):
        toggle = card.locator(".shortlist-toggle")
        assert toggle.get_attribute("aria-pressed") == "false"
        assert toggle.evaluate("element => element.textContent") == f"Add to shortlist: {name}"
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
    assert page.inner_text("#shortlist-count") == "2"

    # The header link opens the shortlist, which reopens itself with the list this browser keeps.
    page.click("a:has(#shortlist-count)")
    page.wait_for_url("**/shortlist/?s=*")
    assert card_names(page) == names
    assert page.is_hidden("#shortlist-shared")
    assert all(
        pressed == "true"
        for pressed in page.locator(".shortlist-toggle").evaluate_all(
            "buttons => buttons.map(button => button.getAttribute('aria-pressed'))"
        )
    )

    # The referral sheet: the same listings, with the date.
    page.click("text=Referral sheet to print")
    page.wait_for_url("**/shortlist/sheet/?s=*")
    assert card_names(page, ".sheet-item h2") == names
    assert f"Printed {timezone.localdate():%-d %B %Y}" in page.inner_text("main")
    assert page.title().startswith("Referral sheet")
    page.go_back()

    # The share link, copied with the button, opens the same listings in a browser with nothing stored.
    page.click("#copy-share-link")
    expect(page.locator("#share-status")).to_have_text("The link is copied.")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.input_value("#share-link")
    assert watched.context.cookies() == []

    other = open_page(DESKTOP).page
    other.goto(link)
    assert other.evaluate("window.localStorage.length") == 0
    assert other.url == link  # nothing kept here to replace it with
    assert card_names(other) == names
    assert other.inner_text("#shortlist-count") == "0"
    assert other.is_visible("#shortlist-shared")
    other.click("#shortlist-keep")
    other.wait_for_load_state()
    expect(other.locator("#shortlist-count")).to_have_text("2")
    assert other.is_hidden("#shortlist-shared")
    assert card_names(other) == names


def test_taking_listings_off_the_shortlist_and_clearing_it(open_page, site, pages):
    page = open_page(DESKTOP).page
    page.goto(site + pages["shortlist"])
    names = card_names(page)
    assert len(names) == 2
    page.click("#shortlist-keep")
    expect(page.locator("#shortlist-count")).to_have_text("2")
    # Unticking a listing on this device's own shortlist takes it off the page too.
    page.locator("article.card .shortlist-toggle").first.click()
    expect(page.locator("#shortlist-count")).to_have_text("1")
    expect(page.locator("article.card")).to_have_count(1)
    assert card_names(page) == names[1:]
    page.click("#shortlist-clear")
    expect(page.locator("#shortlist-count")).to_have_text("0")
    expect(page.locator("text=Your shortlist is empty")).to_be_visible()
    assert page.evaluate("window.localStorage.length") == 0
    # And the search results no longer show it as shortlisted.
    page.goto(site + pages["detail"])
    assert page.get_attribute(".shortlist-toggle", "aria-pressed") == "false"


def test_without_javascript_the_sheet_and_a_shared_shortlist_still_work(open_page, site, pages):
    page = open_page(java_script_enabled=False).page
    page.goto(site + pages["sheet"])
    assert len(card_names(page, ".sheet-item h2")) == 2
    assert page.is_visible("text=Use your browser's Print command")
    assert not page.is_visible("#print-sheet")
    page.goto(site + pages["shortlist"])
    assert len(card_names(page)) == 2
    assert not page.is_visible(".shortlist-toggle")  # the shortlist itself needs the script
    assert not page.is_visible("a:has(#shortlist-count)")
    page.goto(site + "/shortlist/")
    assert page.is_visible("text=The shortlist needs JavaScript")


def test_the_printed_sheet_shows_the_listings_and_none_of_the_screen_controls(open_page, site, pages):
    page = open_page(DESKTOP).page
    page.goto(site + pages["sheet"])
    page.emulate_media(media="print")
    for hidden in ("#quick-exit", ".site-header", "#safety-notice", "#print-sheet", ".site-footer"):
        assert not page.is_visible(hidden), hidden
    assert page.is_visible(".printed")
    assert page.locator(".sheet-item").count() == 2
    # The numbers are written out as text, not as buttons.
    call = page.locator(".sheet-item .action").first
    assert call.evaluate("element => getComputedStyle(element).backgroundColor") == "rgba(0, 0, 0, 0)"
    page.screenshot(path=ARTIFACTS / "sheet-print-1280.png", full_page=True)
