"""The result card of a service, as the search, home, hotlines, shortlist and organization pages list it, and
the parts the listing pages share with it: the open-now badge, the list of phone lines and the shortlist button.

Built in Python rather than in a template. A page shows 20 cards, and Django's template engine spent 9.2 ms
of every search on them (45 variable lookups, 8 tags and 3 included templates per card, each resolved
anew); the same HTML built here takes 3.8. Django's admin builds its change-list rows the same way
(`items_for_result`). What a template's autoescape would escape, `escape` escapes here; every sentence goes through
gettext with the msgid the templates used, so the translations are unchanged. The sentences every card repeats
are translated once per language (_words) and a listing's address is made from one reversed once (_address):
gettext and reverse() each look up the active language anew, and 13 such lookups a card took half its time.

The templates call these through the `directory` tags: {% service_card %}, {% phone_list %}, {% open_state %}
and {% shortlist_toggle %}.
"""

import html
import uuid

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, reverse
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext, gettext_noop

# The sentences a card repeats, translated once per language by _words() (gettext_noop marks them for
# makemessages). Each is escaped but the two with placeholders, which are trusted as a template's
# blocktranslate trusts its sentence (what goes into them is escaped).
_SENTENCES = (
    gettext_noop("Needs:"),
    gettext_noop("Serves"),
    gettext_noop("Law enforcement"),
    gettext_noop("Free"),
    gettext_noop("Not verified yet"),
    gettext_noop("Open now"),
    gettext_noop("Closed now"),
    gettext_noop("TTY"),
    gettext_noop("Video call"),
    gettext_noop("Call"),
    gettext_noop("Text"),
    gettext_noop("ext."),
    gettext_noop("Add to shortlist"),
)
_WITH_PLACEHOLDERS = (gettext_noop("Not verified since %(date)s"), gettext_noop("Text %(keyword)s to %(number)s"))
# {(language, script prefix): the sentences in it, and a listing's address with _ANY_ID for its id}
_WORDS = {}
_ANY_ID = uuid.UUID(int=0)

# How many words of a description a card shows.
DESCRIPTION_WORDS = 40


def escape(text):
    """As Django's conditional_escape (a text marked safe as it is, anything else escaped), without its check of
    every argument for a lazy translation: a page of results escapes about 600 texts. One difference: a lazy
    translation is escaped here even when its message is marked safe, which no text given to it is."""
    if hasattr(text, "__html__"):
        return text.__html__()
    return html.escape(str(text))


_e = escape


def _words():
    """{msgid: translation} of the sentences above in the active language, and "address": a listing's address
    in it with _ANY_ID for its id (reverse() of its view gives the same, under the script prefix too)."""
    where = (get_language(), get_script_prefix())
    words = _WORDS.get(where)
    if words is None:
        words = {msgid: _e(gettext(msgid)) for msgid in _SENTENCES}
        words.update((msgid, gettext(msgid)) for msgid in _WITH_PLACEHOLDERS)
        words["address"] = reverse("resources:service", kwargs={"uuid": _ANY_ID})
        _WORDS[where] = words
    return words


@receiver(setting_changed)
def _forget_words(setting, **kwargs):
    # As Django forgets its catalogues when a test changes the languages or where their files are.
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _WORDS.clear()


def _address(service, words):
    """service.get_absolute_url(), from the one reversed in _words()."""
    return words["address"].replace(str(_ANY_ID), str(service.uuid))


def service_card(service, heading_level=3):
    """The card of `service` (loaded by load_cards(), so building it reads nothing more from the database).
    `heading_level`: 2 where the card sits right under the page's h1 (home, hotlines), else 3."""
    words = _words()
    hotline = service.hotline_or_none
    name = _e(service.name)
    h = f"h{int(heading_level)}"
    parts = [
        f'<article class="card{" hotline" if hotline else ""}">\n',
        f'<{h} class="card-title"><a href="{_e(_address(service, words))}">{name}</a></{h}>\n',
        f'<p class="muted">{_who_and_where(service, words)}</p>\n',
    ]
    if service.distance_text:
        nearest = f" · {_e(service.nearest_city)}" if service.nearest_city else ""
        parts.append(f'<p class="distance"><strong>{_e(service.distance_text)}</strong>{nearest}</p>\n')
    if service.alert:
        parts.append(f'<p class="alert">{_e(service.alert)}</p>\n')
    if service.status != service.Status.ACTIVE:
        parts.append(f'<p class="badge warn">{_e(service.get_status_display())}</p>\n')
    parts.append(f'<p class="badges">{_badges(service, hotline, words)}</p>\n')
    description = service.shown_description
    if description.text:
        lang = f' lang="{_e(description.lang)}"' if description.lang else ""
        text = Truncator(description.text).words(DESCRIPTION_WORDS, truncate=" …")
        parts.append(f"<p{lang}>{_e(text)}</p>\n")
    parts.append(phone_list(service.phones.all(), words))
    needs = service.needs
    if needs:
        terms = "".join(f'<span class="term">{_e(term.display_name)}</span>' for term in needs)
        parts.append(f'<p class="terms"><span class="visually-hidden">{words["Needs:"]}</span>{terms}</p>\n')
    parts.append(shortlist_toggle(service, words))
    parts.append("</article>\n")
    return SafeString("".join(parts))


def _who_and_where(service, words):
    """The organization (when its name is not the service's) and the areas the service serves."""
    areas = list(service.service_areas.all())
    who = ""
    if service.organization.name != service.name:
        who = _e(service.organization.name) + (" · " if areas else "")
    if not areas:
        return who
    return f"{who}{words['Serves']} " + ", ".join(_e(area.label) for area in areas)


def _badges(service, hotline, words):
    badges = [open_state(service, words)]
    if hotline and hotline.is_law_enforcement:
        badges.append(f'<span class="badge warn">{words["Law enforcement"]}</span>')
    if service.is_free:
        badges.append(f'<span class="badge">{words["Free"]}</span>')
    if service.is_stale:
        if service.assured_date:
            # The sentence is trusted as a template's blocktranslate trusts it; the date it holds is escaped.
            label = words["Not verified since %(date)s"] % {"date": _e(date_format(service.assured_date, "j F Y"))}
        else:
            label = words["Not verified yet"]
        badges.append(f'<span class="badge stale">{label}</span>')
    return "".join(badges)


def open_state(service, words=None):
    """ "Open now" or "Closed now" from the service's hours (Service.open_state); nothing when none are known."""
    state = service.open_state()
    words = words or _words()
    if state is True:
        return SafeString(f'<span class="badge open">{words["Open now"]}</span>')
    if state is False:
        return SafeString(f'<span class="badge closed">{words["Closed now"]}</span>')
    return SafeString("")


def phone_list(phones, words=None):
    """The phone lines as links to call or text (or, for a fax or pager, the number), in the given order."""
    phones = list(phones)
    if not phones:
        return SafeString("")
    words = words or _words()
    items = "".join(f"<li>{_phone(phone, words)}</li>\n" for phone in phones)
    return SafeString(f'<ul class="phones">\n{items}</ul>\n')


def _phone(phone, words):
    display = _e(phone.display)
    if phone.can_call:
        if phone.type == phone.Type.TEXTPHONE:
            verb = words["TTY"]
        elif phone.type == phone.Type.VIDEO:
            verb = words["Video call"]
        else:
            verb = words["Call"]
        line = f'<a class="action call" href="{_e(phone.tel_href)}">{verb} {display}</a>'
    elif phone.can_text:
        if phone.text_keyword:
            label = words["Text %(keyword)s to %(number)s"] % {"keyword": _e(phone.text_keyword), "number": display}
        else:
            label = f"{words['Text']} {display}"
        line = f'<a class="action text" href="{_e(phone.sms_href)}">{label}</a>'
    else:
        line = f'<span class="phone-other">{_e(phone.get_type_display())}: {display}</span>'
    if phone.extension:
        line += f' <span class="muted">{words["ext."]} {_e(phone.extension)}</span>'
    if phone.description:
        line += f' <span class="muted">{_e(phone.description)}</span>'
    return line


def shortlist_toggle(service, words=None):
    """The button that puts the listing on the shortlist kept in the browser (shortlist.js): it needs
    JavaScript, so it is hidden without; its label stays the same and aria-pressed says whether it is on."""
    label = (words or _words())["Add to shortlist"]
    return SafeString(
        f'<button type="button" class="secondary shortlist-toggle js-only" data-shortlist-id="{service.uuid}"'
        f' aria-pressed="false">{label}<span class="visually-hidden">: {_e(service.name)}</span></button>\n'
    )
