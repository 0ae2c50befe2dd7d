"""Phone numbers: parse what a curator types, store E.164 (or the digits of a short code), display and link.

Short codes such as 988 or the text number 233733 are not E.164 numbers; they only work inside their
country, so they are stored as bare digits next to the country they belong to.
"""

import contextlib
import functools
import re

import phonenumbers
from django.utils.translation import gettext
from phonenumbers import shortnumberinfo

STORED_NUMBER_PATTERN = r"^(\+[1-9][0-9]{6,14}|[0-9]{3,8})$"


class InvalidPhone(ValueError):
    """Raised with a message fit to show a person, in the active language (English outside a page)."""


def normalise(raw, country=""):
    """Return the stored form of a number: "+18883737888", or "988" for a short code."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone(gettext("Enter a phone number."))
    if len(text) > 40:
        raise InvalidPhone(gettext("That phone number is too long."))
    region = (country or "").upper() or None
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and region and 3 <= len(digits) <= 8:
        try:
            short = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            short = None
        if short is not None and shortnumberinfo.is_valid_short_number_for_region(short, region):
            return digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(
            gettext(
                "“%(number)s” is not a phone number we can read. Include the country code (+1 …) or set the "
                "phone's country."
            )
            % {"number": text}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(gettext("“%(number)s” is not a valid phone number.") % {"number": text})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_short_code(stored):
    return bool(stored) and not stored.startswith("+")


@functools.lru_cache(maxsize=4096)
def display(stored):
    """How a person reads the number: US-style 1-888-373-7888 for NANP, national format elsewhere. Remembered:
    parsing a number costs more than the rest of a result card, and the answer never changes."""
    if not stored or is_short_code(stored):
        return stored
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    if number.country_code == 1:
        national = str(number.national_number)
        if len(national) == 10:
            return f"1-{national[:3]}-{national[3:6]}-{national[6:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def search_forms(query):
    """Stored forms a search box entry could mean, for admin search by phone ("888-373-7888")."""
    digits = re.sub(r"\D", "", query or "")
    if len(digits) < 3:
        return []
    forms = {digits, "+" + digits}
    for region in ("US", "GB", "CA", "UG"):
        with contextlib.suppress(InvalidPhone):
            forms.add(normalise(query, region))
    return sorted(forms)
