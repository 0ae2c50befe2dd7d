"""The site in English, Spanish and French: the language comes from the address, the switcher keeps the page,
listings and the needs vocabulary show in the visitor's language, and every interface string is translated."""

import gettext
import re
import shutil
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from resources.models import Service, ServiceTranslation, Taxonomy

from .conftest import make_hotline, make_phone, make_service, make_term

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"
OTHER_LANGUAGES = ["es", "fr"]
# A few strings each page shows, in each language: the page is in that language, not just its frame.
KNOWN = {
    "en": {"home": "Browse by need", "search": "Narrow the results", "safety": "Staying safe while you use this site"},
    "es": {
        "home": "Buscar por necesidad",
        "search": "Filtrar los resultados",
        "safety": "Cómo protegerse mientras usa este sitio",
    },
    "fr": {
        "home": "Parcourir par besoin",
        "search": "Affiner les résultats",
        "safety": "Rester en sécurité en utilisant ce site",
    },
}
QUICK_EXIT = {"en": "Leave this site", "es": "Salir de este sitio", "fr": "Quitter ce site"}
HOTLINE_FACT = {
    "en": "Will they contact the police?",
    "es": "¿Avisarán a la policía?",
    "fr": "La police est-elle prévenue",
}


@pytest.fixture
def listing(db):
    shelter = make_term(Taxonomy.NEEDS, "emergency-shelter", name="Emergency shelter")
    shelter.name_translations = {"es": "Refugio de emergencia", "fr": "Hébergement d’urgence"}
    shelter.save()
    service = make_service(
        name="Harbor Line",
        description="A safe place to stay tonight.",
        application_process="Call the line at any hour.",
        terms=[shelter],
    )
    make_hotline(service)
    make_phone(service=service)
    return service


def prefix(language):
    return "" if language == settings.LANGUAGE_CODE else f"/{language}"


def page(client, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK, url
    return response.content.decode()


def lang_of(html):
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_every_public_page_is_in_the_language_of_its_address(client, listing, language):
    start = prefix(language)
    pages = {
        "home": page(client, f"{start}/"),
        "search": page(client, f"{start}/search/?q=harbor"),
        "safety": page(client, f"{start}/safety/"),
        "detail": page(client, f"{start}/services/{listing.uuid}/"),
        "hotlines": page(client, f"{start}/hotlines/"),
    }
    for name, html in pages.items():
        assert lang_of(html) == language, name
        assert QUICK_EXIT[language] in html, name
        for other, text in QUICK_EXIT.items():
            if other != language:
                assert f">{text}<" not in html, (name, other)
    for name, text in KNOWN[language].items():
        assert text in pages[name], (language, name)
    assert HOTLINE_FACT[language] in pages["detail"]
    assert HOTLINE_FACT[language] in pages["hotlines"]


def test_the_language_comes_from_the_address_alone(client, listing):
    # Neither the browser's languages nor a language cookie change the English pages, and nothing redirects.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.get("/", headers={"accept-language": "fr"})
    assert response.status_code == HTTPStatus.OK
    assert lang_of(response.content.decode()) == "en"
    assert lang_of(page(client, "/es/")) == "es"


def test_links_stay_in_the_language_of_the_page(client, listing):
    html = page(client, "/es/")
    assert 'href="/es/search/"' in html
    assert 'href="/es/safety/"' in html
    assert f'href="/es/services/{listing.uuid}/"' in html
    assert 'action="/es/search/"' in html


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_the_switcher_links_to_the_same_page_and_query_in_each_other_language(client, listing, language):
    query = "?q=harbor&need=emergency-shelter&page=1"
    html = page(client, f"{prefix(language)}/search/{query}")
    switcher = re.search(r'<nav aria-label="[^"]+">\s*<ul class="nav languages">(.*?)</ul>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)" lang="([^"]+)" hreflang="([^"]+)">([^<]+)</a>', switcher)
    names = {"en": "English", "es": "Español", "fr": "Français"}
    expected = [
        (f"{prefix(other)}/search/{query}".replace("&", "&amp;"), other, other, names[other])
        for other, _name in settings.LANGUAGES
        if other != language
    ]
    assert links == expected
    # Plain links: no form that would post to Django's set_language (which sets a cookie).
    assert "setlang" not in html
    assert "/i18n/" not in html


def test_the_switcher_of_a_missing_page_leads_home(client, db):
    response = client.get("/es/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    html = response.content.decode()
    assert lang_of(html) == "es"
    assert '<a href="/" lang="en" hreflang="en">English</a>' in html
    assert '<a href="/fr/" lang="fr" hreflang="fr">Français</a>' in html


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_cookie_is_set_in_any_language(client, listing, language):
    start = prefix(language)
    for url in [
        f"{start}/",
        f"{start}/search/?q=harbor",
        f"{start}/hotlines/",
        f"{start}/safety/",
        f"{start}/services/{listing.uuid}/",
        f"{start}/organizations/{listing.organization.uuid}/",
        f"{start}/services/{listing.uuid}/correction/",
        f"{start}/list-your-organisation/",
    ]:
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        assert "Set-Cookie" not in response.headers, url
        assert not response.cookies, url


def test_admin_and_api_keep_their_addresses(client, db):
    assert reverse("admin:index") == "/admin/"
    assert client.get("/es/admin/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/api/services").status_code == HTTPStatus.OK
    with translation.override("es"):
        assert reverse("resources:search") == "/es/search/"
        assert reverse("admin:index") == "/admin/"


def test_listing_text_shows_in_the_visitors_language_when_translated(client, listing):
    ServiceTranslation.objects.create(
        service=listing,
        language="es",
        description="Un lugar seguro para pasar la noche.",
        application_process="Llame a la línea a cualquier hora.",
    )
    spanish = page(client, f"/es/services/{listing.uuid}/")
    assert "<p>Un lugar seguro para pasar la noche.</p>" in spanish
    assert "<p>Llame a la línea a cualquier hora.</p>" in spanish
    assert "A safe place to stay tonight." not in spanish
    assert "Un lugar seguro para pasar la noche." in page(client, "/es/search/?q=harbor")
    # Without a French translation the French page shows the original, marked as English for screen readers.
    french = page(client, f"/fr/services/{listing.uuid}/")
    assert '<p lang="en">A safe place to stay tonight.</p>' in french
    assert '<p lang="en">Call the line at any hour.</p>' in french
    assert "Un lugar seguro" not in french
    # The English page shows the original, unmarked.
    english = page(client, f"/services/{listing.uuid}/")
    assert "<p>A safe place to stay tonight.</p>" in english
    assert "Un lugar seguro" not in english


def test_a_translation_without_one_of_the_texts_falls_back_to_the_original_for_it(client, listing):
    ServiceTranslation.objects.create(service=listing, language="fr", description="Un lieu sûr pour cette nuit.")
    french = page(client, f"/fr/services/{listing.uuid}/")
    assert "<p>Un lieu sûr pour cette nuit.</p>" in french
    assert '<p lang="en">Call the line at any hour.</p>' in french


def test_one_translation_per_listing_and_language(listing):
    from django.db import IntegrityError, transaction

    ServiceTranslation.objects.create(service=listing, language="es", description="Uno")
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceTranslation.objects.create(service=listing, language="es", description="Dos")


@pytest.mark.parametrize(
    ("language", "name"),
    [("en", "Emergency shelter"), ("es", "Refugio de emergencia"), ("fr", "Hébergement d’urgence")],
)
def test_the_needs_vocabulary_is_in_the_visitors_language(client, listing, language, name):
    start = prefix(language)
    search = page(client, f"{start}/search/?need=emergency-shelter")
    facet = re.search(r'name="need" value="emergency-shelter" checked> ([^<]+) <span', search)
    assert facet.group(1) == name
    assert re.search(rf"<span>[^<]*: {re.escape(name)}</span>", search)  # the filter in use
    assert f'<span class="term">{name}</span>' in search  # the result card
    assert f">{name}</a></li>" in page(client, f"{start}/")  # browse by need
    assert f">{name}</a></li>" in page(client, f"{start}/services/{listing.uuid}/")


def test_a_term_without_a_translation_keeps_its_name(client, listing):
    make_term(Taxonomy.NEEDS, "legal-aid", name="Legal aid")
    assert ">Legal aid</a></li>" in page(client, "/es/")


@pytest.mark.parametrize("language", ["en", "es"])
def test_search_pages_run_a_constant_number_of_queries_in_every_language(client, listing, language):
    url = f"{prefix(language)}/search/?need=emergency-shelter"

    def count():
        cache.clear()  # the search form's lists of what is in use are kept a few minutes: count them each time
        with CaptureQueriesContext(connection) as queries:
            page(client, url)
        return len(queries)

    one = count()
    for number in range(10):
        service = make_service(name=f"Shelter {number}", terms=list(listing.terms.all()))
        ServiceTranslation.objects.create(service=service, language="es", description=f"Refugio {number}")
    assert count() == one


def test_the_admin_edits_translations_of_listings_and_term_names(admin_client, listing):
    term = listing.terms.get()
    response = admin_client.get(reverse("admin:resources_taxonomyterm_change", args=[term.pk]))
    html = response.content.decode()
    assert 'name="name_es" value="Refugio de emergencia"' in html
    assert 'name="name_fr"' in html
    data = {
        "taxonomy": term.taxonomy_id,
        "code": term.code,
        "name": term.name,
        "name_es": "Albergue de emergencia",
        "name_fr": "",
        "position": 0,
    }
    response = admin_client.post(reverse("admin:resources_taxonomyterm_change", args=[term.pk]), data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    term.refresh_from_db()
    assert term.name_translations == {"es": "Albergue de emergencia"}
    service_page = admin_client.get(reverse("admin:resources_service_change", args=[listing.pk])).content.decode()
    assert 'name="translations-TOTAL_FORMS"' in service_page


# --- the catalogues -------------------------------------------------------------------------------------------


def read_po(path):
    """[(flags, msgid, msgid_plural, [msgstr, ...])] of a .po file, the header left out."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        flags, fields, key = set(), {}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[key] += _unquote(line)
            else:
                key, _space, value = line.partition(" ")
                fields[key] = _unquote(value)
        if fields.get("msgid"):
            strings = [value for name, value in sorted(fields.items()) if name.startswith("msgstr")]
            entries.append((flags, fields["msgid"], fields.get("msgid_plural"), strings))
    return entries


def _unquote(text):
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda match: escapes[match.group(1)], text.strip()[1:-1])


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_string_of_the_catalogue_is_translated(language):
    entries = read_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    untranslated = [msgid for _flags, msgid, _plural, strings in entries if not all(s.strip() for s in strings)]
    fuzzy = [msgid for flags, msgid, _plural, _strings in entries if "fuzzy" in flags]
    assert not untranslated
    assert not fuzzy
    # Placeholders survive translation: a missing %(name)s would raise or lose the hotline's number.
    for _flags, msgid, plural, strings in entries:
        wanted = set(re.findall(r"%\(\w+\)s", msgid + (plural or "")))
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", text)) == wanted, msgid


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    for _flags, msgid, plural, strings in read_po(folder / "django.po"):
        if plural:
            assert [catalog[(msgid, index)] for index in range(len(strings))] == strings, msgid
        else:
            assert catalog[msgid] == strings[0], f"{msgid!r}: run manage.py compilemessages"


@pytest.mark.skipif(not shutil.which("xgettext"), reason="makemessages needs GNU gettext (apt-get install gettext)")
def test_every_marked_string_is_in_the_catalogues(tmp_path, settings):
    """Fails when a template or Python string marked for translation is missing from the committed catalogues:
    run `manage.py makemessages -l es -l fr` (see README, Languages) and translate what it added."""
    import os

    for name in ("templates", "resources", "partners", "directory"):
        (tmp_path / name).symlink_to(Path(settings.BASE_DIR) / name)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        call_command("makemessages", locale=["es"], symlinks=True, ignore_patterns=["locale"], verbosity=0)
    finally:
        os.chdir(here)
    found = {msgid for _flags, msgid, _plural, _strings in read_po(tmp_path / "locale/es/LC_MESSAGES/django.po")}
    for language in OTHER_LANGUAGES:
        committed = {msgid for _f, msgid, _p, _s in read_po(LOCALE / language / "LC_MESSAGES" / "django.po")}
        assert sorted(found - committed) == [], f"not in locale/{language}: run makemessages and translate"


def test_status_labels_are_translated(listing):
    with translation.override("es"):
        assert str(Service.Status.TEMPORARILY_CLOSED.label) == "Cerrado temporalmente"
    with translation.override("fr"):
        assert str(Service.Status.TEMPORARILY_CLOSED.label) == "Fermé temporairement"


def test_the_switcher_repeats_a_browsers_point_only_as_rounded_as_the_search_uses_it(client, listing):
    html = page(client, "/search/?lat=29.706812&lon=-95.401234&within=10")
    assert "29.706812" not in html
    assert "-95.401234" not in html
    assert 'href="/es/search/?lat=29.71&amp;lon=-95.40&amp;within=10"' in html


def test_the_public_forms_speak_the_language_of_their_address(client, listing):
    html = page(client, "/es/list-your-organisation/")
    assert "Nombre de la organización" in html
    assert "Aceptamos derivaciones de otras organizaciones y líneas de ayuda." in html
    assert "Refugio de emergencia" in html  # the needs offered, by their Spanish names
    assert "Organization name" not in html
    html = page(client, f"/fr/services/{listing.uuid}/correction/")
    assert "Qu’est-ce qui est faux ou manquant ?" in html
    assert "What is wrong or missing?" not in html
    # A refusal is in the visitor's language too.
    response = client.post("/es/list-your-organisation/", {"homepage": "spam", "stamp": "x"})
    assert "No pudimos verificar este formulario" in response.content.decode() or "se rellenó un campo" in (
        response.content.decode()
    )


def test_countries_regions_and_languages_are_named_in_the_language_of_the_page(client, listing):
    from resources.models import ServiceArea

    from .conftest import make_area, make_language

    make_area(listing, ServiceArea.Kind.COUNTRY, country="US")
    make_language(service=listing, code="es")
    detail = f"/services/{listing.uuid}/"
    spanish = page(client, "/es" + detail)
    assert "Estados Unidos" in spanish
    assert "Español" in spanish
    french = page(client, "/fr" + detail)
    assert "États-Unis" in french
    assert "Espagnol" in french
    english = page(client, detail)
    assert "United States" in english
    assert "Spanish" in english
    search = page(client, "/es/search/?region=US&language=es")
    assert "Estados Unidos" in search
    assert "Español" in search
    # What is stored stays English: a language's name in the database and in the HSDS export.
    assert listing.languages.get(code="es").name == "Spanish"


# gettext("...") and its kin with a plain literal, wherever they are: xgettext does not look inside f-strings,
# so `makemessages --no-obsolete` drops the strings of result cards built there (resources/cards.py) from the
# catalogues as if no longer used.
_MARKED = re.compile(
    r"""\b(?:gettext|gettext_lazy|gettext_noop|_|pgettext)\(\s*(?:(["'])[^"']*\1,\s*)?(?:"((?:[^"\\]|\\.)+)"|'((?:[^'\\]|\\.)+)')\s*\)"""
)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_strings_marked_in_python_even_inside_f_strings_are_translated(language, settings):
    marked = set()
    for name in ("resources", "partners", "directory"):
        for path in (Path(settings.BASE_DIR) / name).rglob("*.py"):
            if "migrations" not in path.parts:
                for _context, double, single in _MARKED.findall(path.read_text()):
                    marked.add((double or single).replace('\\"', '"').replace("\\'", "'"))
    assert {"Add to shortlist", "Text"} <= marked  # the scan finds the cards' strings, in either quotes
    committed = {msgid for _f, msgid, _p, _s in read_po(LOCALE / language / "LC_MESSAGES" / "django.po")}
    assert sorted(marked - committed) == []
