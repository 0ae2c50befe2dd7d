"""The partner pages speak the language of their address: English under /partners/, Spanish under
/es/partners/ and French under /fr/partners/. Labels, choices, validation messages, flash messages and the
invitation email a manager sends all follow it, while what is stored (the proposal's HSDS document) stays
the same codes and English text in every language."""

import re
from http import HTTPStatus

import pytest
from django.core import mail

from partners import documents
from partners.models import Membership, Proposal

from .partners_helpers import build_two_organizations, listing_data

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "es", "fr"]
PREFIX = {"en": "", "es": "/es", "fr": "/fr"}

# What each page must show, per language. The English texts must not appear on the other pages, and the
# other languages' texts must not appear on the English pages.
DASHBOARD = {
    "en": ["Your listings", ">Published<", "Change to a listing", "Waiting for review", "People who act for it"],
    "es": ["Sus fichas", ">Publicada<", "Cambio en una ficha", "En espera de revisión", "Personas que la representan"],
    "fr": [
        "Vos fiches",
        ">Publiée<",
        "Modification d’une fiche",
        "En attente de relecture",
        "Personnes qui la représentent",
    ],
}
EDITOR = {
    # The page title, field labels (from the model's verbose names and the forms), a help text, and choice
    # labels: a phone type, an area kind, a listing status.
    "en": [
        "<title>Changes to “Listing A”",
        'for="id_alternate_name">Alternate name',
        'for="id_eligibility_description">Who is eligible',
        'for="id_phones-0-number">Number',
        'for="id_areas-0-kind">Kind',
        'for="id_places-0-address_2">Address line 2',
        "As you would dial it, with the country code if abroad.",
        ">Voice call</option>",
        ">A whole country</option>",
        ">Temporarily closed</option>",
        "Remove this row",
    ],
    "es": [
        "<title>Cambios en “Listing A”",
        'for="id_alternate_name">Otro nombre',
        'for="id_eligibility_description">Quién puede acceder',
        'for="id_phones-0-number">Número',
        'for="id_areas-0-kind">Tipo',
        'for="id_places-0-address_2">Línea 2 de la dirección',
        "Tal como se marca, con el prefijo del país si se llama desde el extranjero.",
        ">Llamada de voz</option>",
        ">Un país entero</option>",
        ">Cerrado temporalmente</option>",
        "Quitar esta fila",
    ],
    "fr": [
        "<title>Modifications de «\u00a0Listing A\u00a0»",
        'for="id_alternate_name">Autre nom',
        'for="id_eligibility_description">Qui peut en bénéficier',
        'for="id_phones-0-number">Numéro',
        'for="id_areas-0-kind">Type',
        'for="id_places-0-address_2">Complément d’adresse',
        "Tel qu’on le compose, avec l’indicatif du pays si l’on appelle de l’étranger.",
        ">Appel vocal</option>",
        ">Un pays entier</option>",
        ">Fermé temporairement</option>",
        "Supprimer cette ligne",
    ],
}
# Errors for a phone number that cannot be read, one that is not valid, an unknown region and language.
EDITOR_ERRORS = {
    "en": [
        "“call us” is not a phone number we can read.",
        "“+1 12” is not a valid phone number.",
        "We do not know the region “Narnia”.",
        "“Klingonese” is not an ISO 639 language code",
        "Please correct the fields marked below.",
    ],
    "es": [
        "No podemos leer “call us” como número de teléfono.",
        "“+1 12” no es un número de teléfono válido.",
        "No conocemos la región “Narnia”.",
        "“Klingonese” no es un código de idioma ISO 639",
        "Corrija los campos marcados abajo.",
    ],
    "fr": [
        "Nous ne pouvons pas lire «\u00a0call us\u00a0» comme un numéro de téléphone.",
        "«\u00a0+1 12\u00a0» n’est pas un numéro de téléphone valide.",
        "Nous ne connaissons pas la région «\u00a0Narnia\u00a0».",
        "«\u00a0Klingonese\u00a0» n’est pas un code de langue ISO 639",
        "Veuillez corriger les champs signalés ci-dessous.",
    ],
}
CONFIRMED = {
    "en": "Thank you: “Listing A” is recorded as checked today.",
    "es": "Gracias: consta que “Listing A” se ha revisado hoy.",
    "fr": "Merci\u00a0: la vérification de «\u00a0Listing A\u00a0» est enregistrée à la date d’aujourd’hui.",
}
SENT = {
    "en": "Sent to the curators. The public listing changes only once they approve.",
    "es": "Enviado al equipo. La ficha pública solo cambiará cuando lo apruebe.",
    "fr": "Envoyé à l’équipe. La fiche publique ne changera qu’après son approbation.",
}
TEAM = {
    "en": ["People who act for Organization A", "· Manager<", 'for="id_role">Role', ">Editor</option>"],
    "es": ["Personas que representan a Organization A", "· Responsable<", 'for="id_role">Función', ">Editor</option>"],
    "fr": [
        "Personnes qui représentent Organization A",
        "· Responsable<",
        'for="id_role">Rôle',
        ">Rédacteur·rice</option>",
    ],
}
INVITED = {
    # The flash message on the team page, then the email's subject and a sentence of its body.
    "en": (
        "Invitation sent to grace@example.org.",
        "Invitation to keep Organization A's listings current",
        "You are invited to keep the listings of Organization A current",
    ),
    "es": (
        "Invitación enviada a grace@example.org.",
        "Invitación para mantener al día las fichas de Organization A",
        "Le invitamos a mantener al día las fichas de Organization A",
    ),
    "fr": (
        "Invitation envoyée à grace@example.org.",
        "Invitation à tenir à jour les fiches de Organization A",
        "Vous êtes invité·e à tenir à jour les fiches de Organization A",
    ),
}
PROPOSAL = {
    # The comparison's field names, a status as its label, and the proposal's state.
    "en": [
        '<th scope="row">Name</th>',
        '<th scope="row">Status</th>',
        ">Temporarily closed</div>",
        "Waiting for review",
    ],
    "es": [
        '<th scope="row">Nombre</th>',
        '<th scope="row">Estado</th>',
        ">Cerrado temporalmente</div>",
        "En espera de revisión",
    ],
    "fr": [
        '<th scope="row">Nom</th>',
        '<th scope="row">Statut</th>',
        ">Fermé temporairement</div>",
        "En attente de relecture",
    ],
}


@pytest.fixture
def world(needs):
    return build_two_organizations(needs)


@pytest.fixture
def a(client, world):
    """Organization A's partner, logged in, as its manager."""
    a = world["a"]
    Membership.objects.filter(user=a["partner"]).update(role=Membership.Role.MANAGER)
    client.force_login(a["partner"])
    return a


def html_of(response):
    assert response.status_code == HTTPStatus.OK, response
    return response.content.decode()


def lang_of(html):
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def assert_in_language(html, table, language):
    """Every text of `table` for `language` is on the page, and none of the other languages' texts is."""
    assert lang_of(html) == language
    for text in table[language]:
        assert text in html, (language, text)
    for other in LANGUAGES:
        if other != language:
            for text in table[other]:
                if text not in table[language]:
                    assert text not in html, (language, other, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_is_in_the_language_of_its_address(client, a, language):
    html = html_of(client.get(f"{PREFIX[language]}/partners/"))
    assert_in_language(html, DASHBOARD, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_listing_editor_labels_and_choices_are_in_the_language_of_its_address(client, a, language):
    a["proposal"].delete()
    html = html_of(client.get(f"{PREFIX[language]}/partners/listings/{a['service'].uuid}/propose-changes/"))
    assert_in_language(html, EDITOR, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_listing_editor_explains_mistakes_in_the_language_of_its_address(client, a, language):
    a["proposal"].delete()
    base = documents.live_document(a["service"])
    changes = {
        "phones-0-number": "call us",
        "phones-1-number": "+1 12",
        "areas-0-region": "Narnia",
        "languages": "Klingonese",
    }
    data = listing_data(a["organization"], base, **changes)
    url = f"{PREFIX[language]}/partners/listings/{a['service'].uuid}/propose-changes/"
    html = html_of(client.post(url, data))
    assert_in_language(html, EDITOR_ERRORS, language)
    assert not Proposal.objects.filter(organization=a["organization"]).exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_flash_message_after_confirming_a_listing_is_in_the_language_of_the_page(client, a, language):
    url = f"{PREFIX[language]}/partners/listings/{a['service'].uuid}/"
    response = client.post(url + "confirm/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url  # back to the listing, in the same language
    html = html_of(client.get(url))
    assert_in_language(html, {lang: [text] for lang, text in CONFIRMED.items()}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_proposal_sent_in_any_language_stores_the_same_document(client, a, language):
    a["proposal"].delete()
    base = documents.live_document(a["service"])
    data = listing_data(a["organization"], base, name="Listing A, renamed", status="temporarily closed")
    response = client.post(f"{PREFIX[language]}/partners/listings/{a['service'].uuid}/propose-changes/", data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    proposal = Proposal.objects.get(organization=a["organization"])
    assert response["Location"] == f"{PREFIX[language]}/partners/proposals/{proposal.uuid}/"
    # Stored values are codes and the partner's own text, whatever the language of the form.
    assert proposal.document["status"] == "temporarily closed"
    assert [phone["type"] for phone in proposal.document["phones"]] == ["voice"]
    assert [area["kind"] for area in proposal.document["service_areas"]] == ["subdivision"]
    assert [item["name"] for item in proposal.document["languages"]] == ["Spanish"]
    html = html_of(client.get(response["Location"]))
    assert_in_language(html, {lang: [text] for lang, text in SENT.items()}, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_proposal_compares_in_the_language_of_its_address(client, a, language):
    proposal = a["proposal"]
    proposal.document["status"] = "temporarily closed"
    proposal.save()
    html = html_of(client.get(f"{PREFIX[language]}/partners/proposals/{a['proposal'].uuid}/"))
    assert_in_language(html, PROPOSAL, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_team_page_and_its_invitation_are_in_the_language_of_its_address(client, a, language):
    url = f"{PREFIX[language]}/partners/organizations/{a['organization'].uuid}/team/"
    html = html_of(client.get(url))
    assert_in_language(html, TEAM, language)

    response = client.post(url, {"email": "grace@example.org", "role": "editor"})
    assert response.status_code == HTTPStatus.FOUND
    assert_in_language(html_of(client.get(url)), {lang: [texts[0]] for lang, texts in INVITED.items()}, language)
    # The email a manager sends is in the language they used, and its link opens the pages in that language.
    (email,) = mail.outbox
    _flash, subject, sentence = INVITED[language]
    body = " ".join(email.body.split())
    assert email.subject == subject
    assert sentence in body
    for other, (_flash, _subject, other_sentence) in INVITED.items():
        if other != language:
            assert other_sentence not in body
    assert f"http://testserver{PREFIX[language]}/partners/invitation/" in email.body


def test_the_invitation_link_opens_in_the_language_of_the_email(client, a):
    client.post(
        f"/es/partners/organizations/{a['organization'].uuid}/team/", {"email": "grace@example.org", "role": "editor"}
    )
    client.logout()
    link = re.search(r"http://testserver(/es/partners/invitation/[^/\s]+/)", mail.outbox[0].body).group(1)
    html = html_of(client.get(link))
    assert lang_of(html) == "es"
    assert 'for="id_password2">Repita la contraseña' in html
    response = client.post(link, {"password1": "a long passphrase 7", "password2": "another passphrase 8"})
    assert "Las dos contraseñas no coinciden." in response.content.decode()


def test_the_admin_stays_in_english_after_a_partner_page_in_another_language(admin_client, client, a):
    html_of(client.get("/es/partners/"))
    html = html_of(admin_client.get(f"/admin/resources/service/{a['service'].pk}/change/"))
    assert lang_of(html) == "en"
    assert "Alternate name" in html
    assert "Otro nombre" not in html
