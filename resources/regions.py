"""Countries and subdivisions (ISO 3166-1 and ISO 3166-2, from pycountry), and the covering rule.

A service is found in region R when one of its locations lies in R, or one of its service areas covers
R or lies inside R. Worldwide covers everything; a country covers its subdivisions; a subdivision covers
the subdivisions nested under it (UG-C, Central Region, holds UG-102, Kampala).
"""

import gettext
from dataclasses import dataclass
from functools import cache

import pycountry
from django.utils.translation import get_language
from django.utils.translation import gettext as _


class UnknownRegion(ValueError):
    """Raised with a message fit to show a person, in the active language (English outside a page)."""


class AmbiguousRegion(UnknownRegion):
    """The name is that of several regions: the message lists their codes to choose from."""


@dataclass(frozen=True)
class Region:
    code: str  # "UG" or "US-TX"
    name: str

    @property
    def is_country(self):
        return "-" not in self.code

    @property
    def country(self):
        return self.code.split("-", 1)[0]

    def ancestors(self):
        """This region's subdivision codes from itself up (empty for a country)."""
        return subdivision_ancestors(self.code) if not self.is_country else ()

    def descendants(self):
        """This subdivision and every subdivision nested under it."""
        return subdivision_descendants(self.code) if not self.is_country else frozenset()


@cache
def _country_names():
    names = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names[value.casefold()] = country.alpha_2
    return names


@cache
def _subdivision_index():
    by_code = {sub.code: sub for sub in pycountry.subdivisions}
    children = {}
    for sub in by_code.values():
        if sub.parent_code:
            children.setdefault(sub.parent_code, []).append(sub.code)
    by_name = {}
    for sub in by_code.values():
        by_name.setdefault(sub.name.casefold(), []).append(sub.code)
    return by_code, children, by_name


def country_name(code):
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    return country.name if country else code


def subdivision_name(code):
    sub = _subdivision_index()[0].get(code.upper()) if code else None
    return sub.name if sub else code


def region_name(code):
    return country_name(code) if "-" not in code else subdivision_name(code)


# --- names as a page shows them: in the visitor's language where pycountry's own catalogues have it ------------
#
# The names above stay English: they are stored (a language's name, an HSDS export) and parsed back. What a page
# shows goes through these, which read pycountry's gettext catalogues (on disk with the package).


@cache
def _catalogue(domain, language):
    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return None


def shown(domain, name):
    """`name` (an ISO 3166-1, 3166-2 or 639-3 English name: domain "iso3166-1", ...) in the active language."""
    language = (get_language() or "en").split("-")[0]
    if language == "en":
        return name
    catalogue = _catalogue(domain, language)
    return catalogue.gettext(name) if catalogue else name


def country_label(code):
    return shown("iso3166-1", country_name(code))


def subdivision_label(code):
    return shown("iso3166-2", subdivision_name(code))


def region_label(code):
    return country_label(code) if "-" not in code else subdivision_label(code)


def normalise_country(value):
    """An ISO 3166-1 alpha-2 code from a code (alpha-2 or alpha-3) or an English name."""
    text = (value or "").strip()
    if not text:
        raise UnknownRegion(_("Give a country."))
    if len(text) in (2, 3):
        country = pycountry.countries.get(**{f"alpha_{len(text)}": text.upper()})
        if country:
            return country.alpha_2
    code = _country_names().get(text.casefold())
    if code:
        return code
    raise UnknownRegion(
        _("“%(name)s” is not a country we know (use a name or an ISO 3166 code such as UG).") % {"name": text[:60]}
    )


def normalise_subdivision(value, country=""):
    """An ISO 3166-2 code (US-TX) from a full code, a code without its country, or a name."""
    text = (value or "").strip()
    by_code, _children, by_name = _subdivision_index()
    if text.upper() in by_code:
        return by_code[text.upper()].code
    if country and f"{country.upper()}-{text.upper()}" in by_code:
        return f"{country.upper()}-{text.upper()}"
    matches = by_name.get(text.casefold(), [])
    if country:
        matches = [code for code in matches if code.startswith(f"{country.upper()}-")]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(f"{code} ({country_label(code.split('-')[0])})" for code in sorted(matches)[:6])
        raise AmbiguousRegion(
            _("“%(name)s” names several places; choose one by its code: %(options)s.")
            % {"name": text[:60], "options": options}
        )
    if country:
        raise UnknownRegion(
            _("“%(name)s” is not a subdivision we know in %(country)s (use an ISO 3166-2 code such as US-TX).")
            % {"name": text[:60], "country": country_label(country)}
        )
    raise UnknownRegion(
        _("“%(name)s” is not a subdivision we know (use an ISO 3166-2 code such as US-TX).") % {"name": text[:60]}
    )


def subdivision_from_state(country, state_province):
    """The ISO 3166-2 code an address's free-text state/province names, or "" when it names none."""
    if not country or not (state_province or "").strip():
        return ""
    try:
        return normalise_subdivision(state_province, country)
    except UnknownRegion:
        return ""


def parse_region(value):
    """A Region from what a person or a URL gives: "UG", "Uganda", "US-TX", "Texas"."""
    text = (value or "").strip()
    if not text:
        raise UnknownRegion(_("Give a region."))
    if len(text) > 100:
        raise UnknownRegion(_("That region name is too long."))
    try:
        code = normalise_country(text)
    except UnknownRegion:
        try:
            code = normalise_subdivision(text)
        except AmbiguousRegion:
            raise
        except UnknownRegion:
            raise UnknownRegion(
                _(
                    "We do not know the region “%(name)s”. Use a country or a state/province, by name or ISO code "
                    "(UG, US-TX)."
                )
                % {"name": text[:60]}
            ) from None
    return Region(code=code, name=region_name(code))


def subdivision_ancestors(code):
    by_code = _subdivision_index()[0]
    chain = []
    current = by_code.get(code)
    while current is not None and current.code not in chain:
        chain.append(current.code)
        current = by_code.get(current.parent_code) if current.parent_code else None
    return tuple(chain)


def subdivision_descendants(code):
    children = _subdivision_index()[1]
    found, todo = set(), [code]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, ()))
    return frozenset(found)


def country_choices():
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda item: item[1])
