"""Query parameters that shape an API answer (paging, format, how much nesting), as forms.

Unlike the HTML search page, which drops a bad filter and explains, the API refuses bad input: every
value that does not parse is a 400 naming its parameter. Filters live in `filters.py`.
"""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .. import search

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_REPEATS = 20

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def shown(value, limit=40):
    """A value as it may be echoed in an error message: printable, and short."""
    text = search.clean_query(str(value))
    return text if len(text) <= limit else text[:limit] + "…"


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no, on/off); anything else is an error, not a guess."""

    def to_python(self, value):
        text = (value or "").strip().lower()
        if not text:
            return None
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValidationError(_("Give true or false, not “%(value)s”."), code="boolean", params={"value": shown(value)})


class WholeNumberField(forms.Field):
    """Digits only (no signs, decimals or other scripts' digits), between the bounds."""

    def __init__(self, *, min_value, max_value, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return None
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 9
            or not self.min_value <= int(text) <= self.max_value
        ):
            raise ValidationError(
                _("Give a whole number from %(low)s to %(high)s, not “%(value)s”."),
                code="range",
                params={"low": self.min_value, "high": self.max_value, "value": shown(value)},
            )
        return int(text)


class UUIDListField(forms.Field):
    """A repeatable parameter of HSDS ids (UUIDs); values combine with OR."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        values = [value] if isinstance(value, str) else list(value or [])
        ids = []
        for item in values:
            text = str(item).strip()
            if not text:
                continue
            try:
                parsed = uuid.UUID(text)
            except ValueError:
                raise ValidationError(
                    _("“%(value)s” is not an id: ids are UUIDs such as 3f7b145d-84af-42d7-8fae-eaca714b02b2."),
                    code="uuid",
                    params={"value": shown(text)},
                ) from None
            if parsed not in ids:
                ids.append(parsed)
        if len(ids) > MAX_REPEATS:
            raise ValidationError(_("Give at most %(limit)s ids."), code="too_many", params={"limit": MAX_REPEATS})
        return ids


def parse_id(value):
    """The UUID in a path, or a ValidationError naming what is wrong."""
    return UUIDListField().clean([value])[0]


class ListOptions(forms.Form):
    page = WholeNumberField(min_value=1, max_value=999_999_999, required=False)
    per_page = WholeNumberField(min_value=1, max_value=MAX_PER_PAGE, required=False)
    format = forms.ChoiceField(
        choices=[("json", "json"), ("ndjson", "ndjson")],
        required=False,
        error_messages={"invalid_choice": _("Give json or ndjson, not “%(value)s”.")},
    )

    def clean(self):
        data = super().clean()
        data["page"] = data.get("page") or 1
        data["per_page"] = data.get("per_page") or DEFAULT_PER_PAGE
        data["format"] = data.get("format") or "json"
        return data


class ServiceListOptions(ListOptions):
    minimal = StrictBooleanField(required=False)
    full = StrictBooleanField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("minimal") and data.get("full"):
            self.add_error("minimal", ValidationError(_("Ask for minimal or full documents, not both."), code="both"))
        return data


class OrganizationOptions(forms.Form):
    full_service = StrictBooleanField(required=False)


class OrganizationListOptions(ListOptions, OrganizationOptions):
    full = StrictBooleanField(required=False)


class ServiceAtLocationListOptions(ListOptions):
    full = StrictBooleanField(required=False)
