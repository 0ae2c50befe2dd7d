import math

from django import template
from django.conf import settings
from django.urls import reverse, translate_url
from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, override

from .. import cards, geo, phones
from ..cards import escape as _e
from ..facets import estimate

register = template.Library()

# The result card and the parts the listing pages share with it, built in Python (resources/cards.py says why).
register.simple_tag(cards.service_card, name="service_card")
register.simple_tag(cards.phone_list, name="phone_list")
register.simple_tag(cards.open_state, name="open_state")
register.simple_tag(cards.shortlist_toggle, name="shortlist_toggle")


@register.simple_tag(takes_context=True)
def without_filter(context, param, value=None):
    """The current query string with one filter value (or the whole parameter, or several parameters given
    as a tuple) removed, back on page 1."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    if value is None:
        for name in param if isinstance(param, tuple | list) else [param]:
            query.pop(name, None)
    else:
        query.setlist(param, [item for item in query.getlist(param) if item != value])
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def other_languages(context):
    """(code, name in its own language, address) of the page in each other language of the site: the same
    page and query string under that language's prefix, so switching is a plain link (no form, no cookie)."""
    request = context.get("request")
    current = get_language()
    here = _address_to_repeat(request) if request else ""
    found = []
    for code, name in settings.LANGUAGES:
        if code == current:
            continue
        address = translate_url(here, code) if request else ""
        if not request or address == here:
            # A page that is no page of ours (a 404): that language's home page.
            with override(code):
                address = reverse("resources:home")
        found.append((code, name, address))
    return found


def _address_to_repeat(request):
    """This page's address for the language links: a browser's coordinates only as rounded as the search uses
    them (geo.POINT_DECIMALS), never the precise point it sent, which the page must not repeat."""
    if not ({"lat", "lon"} & set(request.GET)):
        return request.get_full_path()
    query = request.GET.copy()
    for name in ("lat", "lon"):
        values = []
        for value in query.getlist(name):
            try:
                number = float(value)
            except ValueError:
                continue  # the search says it is not a coordinate; the link need not carry it
            if math.isfinite(number):
                values.append(f"{round(number, geo.POINT_DECIMALS):.{geo.POINT_DECIMALS}f}")
        query.setlist(name, values)
    return f"{request.path}?{query.urlencode()}"


@register.filter
def phone_display(number):
    return phones.display(number)


@register.filter
def grouped(number):
    """A count with the visitor's language's thousands separator: "82,143", never "82143"."""
    return number_format(number, force_grouping=True)


@register.filter
def rounded(number):
    """A count estimated from a sample, to two significant figures and grouped: 75,123 is "75,000"."""
    return grouped(estimate(number))


@register.filter
def choice_count(choice, about=None):
    """A facet choice's count as shown after its label: "(12)", "(about 1,200)" for an estimate from a sample,
    nothing when the sample could not tell. `about`: the translation of "about %(count)s", if known."""
    if choice.count is None:
        return ""
    # Below 1,000 a count has no separator in any language: number_format's lookups of the language's formats
    # are for larger ones.
    number = str(choice.count) if choice.count < 1000 else grouped(choice.count)
    if choice.approximate:
        return "(" + (about or gettext("about %(count)s")) % {"count": number} + ")"
    return f"({number})"


# A search page offers about 80 facet choices, each with a count: built here rather than by a template loop, as
# the result cards are (resources/cards.py), they take a tenth of the time (0.3 ms instead of 3 at 100,000
# services).


@register.simple_tag
def facet_options(choices, chosen):
    """The <option>s of a facet chosen from a list (region, language), `chosen` selected."""
    about = gettext("about %(count)s")
    return SafeString(
        "".join(
            f'<option value="{_e(choice.value)}"{" selected" if choice.value == chosen else ""}>'
            f"{_e(choice.label)} {_e(choice_count(choice, about))}</option>"
            for choice in choices
        )
    )


@register.simple_tag
def facet_checkboxes(name, legend, choices):
    """The fieldset of a facet ticked in boxes (needs, who is served, trafficking types, how), a term below
    another indented by its depth."""
    about = gettext("about %(count)s")
    boxes = "".join(
        f'<label class="facet-choice{f" depth-{int(choice.depth)}" if choice.depth else ""}">'
        f'<input type="checkbox" name="{_e(name)}" value="{_e(choice.value)}"{" checked" if choice.selected else ""}>'
        f' {_e(choice.label)} <span class="count">{_e(choice_count(choice, about))}</span></label>\n'
        for choice in choices
    )
    if not boxes:
        boxes = f'<p class="muted">{_e(gettext("None of these fit the other filters."))}</p>\n'
    return SafeString(f"<fieldset><legend>{_e(legend)}</legend>\n{boxes}</fieldset>")
