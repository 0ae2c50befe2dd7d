"""Forms of the partner pages and of the public "suggest a correction" and "list your organisation" pages.

Forms validate and normalise through the models' own rules (Phone.clean reads a number and stores E.164,
ServiceArea.clean checks an area's kind against its region, ...); the listing editor then turns what they
hold into an HSDS document (documents.py) and lets the importer judge that document as it will on approval.
"""

import re

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from resources import phones as phone_numbers
from resources import regions
from resources.models import Address, Language, Location, Phone, Schedule, Service, ServiceArea, Taxonomy, TaxonomyTerm
from resources.models.details import HSDS_WEEKDAYS, WEEKDAYS, language_name, normalise_language, validate_timezone
from resources.models.taxonomy import tree_order

from . import antispam, documents
from .models import Application, Correction, Membership

# No text a partner or a visitor writes here needs more (a service description is a few paragraphs).
TEXT_LIMIT = 5000
# An HTML tag, comment or declaration: "<script", "</b", "<!--". "a < b" and "<3" are fine.
MARKUP = re.compile(r"<[a-zA-Z/!?]")


def no_markup(value):
    if isinstance(value, str) and MARKUP.search(value):
        raise ValidationError(_("Write plain text: HTML tags such as <script> are not allowed here."), code="markup")


class PlainText:
    """Every text field gets a length limit and refuses markup; web addresses typed without a scheme are https."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                if field.max_length is None:
                    field.max_length = TEXT_LIMIT
                    field.validators.append(MaxLengthValidator(TEXT_LIMIT))
                    field.widget.attrs.setdefault("maxlength", str(TEXT_LIMIT))
                field.validators.append(no_markup)


def https_urls(model_field, **kwargs):
    """formfield_callback: URL fields assume https when the scheme is left out (Django 6 does the same)."""
    from django.db import models

    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


def country_code(value):
    """An ISO 3166-1 alpha-2 code from what a person types ("Uganda", "UG", "uga"), or a clear error."""
    try:
        return regions.normalise_country(value)
    except regions.UnknownRegion as error:
        raise ValidationError(str(error), code="country") from None


def phone_number(value, country=""):
    try:
        return phone_numbers.normalise(value, country)
    except phone_numbers.InvalidPhone as error:
        raise ValidationError(str(error), code="invalid_phone") from None


class TermsField(forms.MultipleChoiceField):
    """Terms of one vocabulary as checkboxes, parents before children; cleans to TaxonomyTerm objects."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, taxonomy_slug, **kwargs):
        self.taxonomy_slug = taxonomy_slug
        # A callable: the vocabulary is read when a form is shown, never at import.
        super().__init__(required=False, choices=self.term_choices, **kwargs)

    def term_choices(self):
        terms = tree_order(TaxonomyTerm.objects.of(self.taxonomy_slug))
        return [(str(term.uuid), ("— " * depth) + term.display_name) for term, depth in terms]

    def clean(self, value):
        chosen = super().clean(value)
        return list(TaxonomyTerm.objects.of(self.taxonomy_slug).filter(uuid__in=chosen).order_by("position", "name"))


def _model_errors(form, error, renamed=None):
    """Put a model's ValidationError on the form's fields (on the form when the field is not on it)."""
    renamed = renamed or {}
    for name, messages in error.message_dict.items():
        field = renamed.get(name, name)
        if field in form.fields:
            form.add_error(field, messages)
        else:
            form.add_error(None, messages)


# --- the listing: the service and its parts -------------------------------------------------------------


class ListingForm(PlainText, forms.ModelForm):
    """The service's own fields, its terms and its languages. The instance is never saved: it carries the
    validated values into the document."""

    needs = TermsField(Taxonomy.NEEDS, label=_("Help offered"))
    populations = TermsField(Taxonomy.POPULATIONS, label=_("Who is served"))
    trafficking_types = TermsField(Taxonomy.TRAFFICKING_TYPES, label=_("Trafficking types"))
    languages = forms.CharField(
        required=False,
        max_length=300,
        label=_("Languages"),
        help_text=_("Languages spoken, separated by commas: names or ISO codes (English, Spanish, lg)."),
    )

    class Meta:
        model = Service
        formfield_callback = https_urls
        fields = documents.SERVICE_FIELDS
        widgets = {
            name: forms.Textarea(attrs={"rows": 4})
            for name in (
                "description",
                "application_process",
                "eligibility_description",
                "fees_description",
                "interpretation_services",
            )
        }
        labels = {"url": _("Website"), "email": _("Email")}
        help_texts = {
            "status": _("Choose “temporarily closed” or “defunct” rather than leaving old details up."),
            "application_process": _("What a person does to get help: call, walk in, be referred, …"),
        }

    def clean_languages(self):
        codes = []
        for part in (self.cleaned_data.get("languages") or "").split(","):
            if part.strip():
                code = normalise_language(part)  # a ValidationError names the part it cannot read
                if code not in codes:
                    codes.append(code)
        return codes


class RowForm(PlainText, forms.Form):
    """One phone, opening hours, area or place. `id` is the row's HSDS id: kept only when it names a row of the
    document being edited (`rows`), so a forged id can neither reach nor move another listing's rows."""

    id = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, rows=None, **kwargs):
        self.rows = rows or {}
        super().__init__(*args, **kwargs)
        self.instance = None

    def base(self):
        """(id, the row's document) of the row being edited; a fresh id and nothing for a new row."""
        given = str(self.cleaned_data.get("id") or "")
        if given in self.rows:
            return given, self.rows[given]
        return documents.new_id(), None

    def validate(self, obj, exclude=(), renamed=None):
        try:
            obj.full_clean(exclude=list(exclude), validate_unique=False)
        except ValidationError as error:
            _model_errors(self, error, renamed)
        return obj


class PhoneForm(RowForm):
    number = forms.CharField(
        max_length=40, label=_("Number"), help_text=_("As you would dial it, with the country code if abroad.")
    )
    country = forms.CharField(
        required=False,
        max_length=60,
        label=_("Country"),
        help_text=_("Only for short numbers such as 988: the country they work in."),
    )
    type = forms.ChoiceField(choices=Phone.Type.choices, initial=Phone.Type.VOICE, label=_("Type"))
    text_keyword = forms.CharField(required=False, max_length=40, label=_("Text keyword"))
    extension = forms.CharField(required=False, max_length=10, label=_("Extension"))
    description = forms.CharField(required=False, max_length=300, label=_("Description"))

    def clean_country(self):
        value = self.cleaned_data["country"].strip()
        return country_code(value) if value else ""

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        row_id, base = self.base()
        phone = documents.instance(Phone, base)
        phone.uuid = row_id
        for name in ("number", "country", "type", "text_keyword", "extension", "description"):
            setattr(phone, name, cleaned[name])
        self.instance = self.validate(phone, exclude=["service", "location", "organization"])
        return cleaned


class ScheduleForm(RowForm):
    open_24_7 = forms.BooleanField(required=False, label=_("Open 24 hours, 7 days"))
    days = forms.MultipleChoiceField(
        required=False,
        label=_("Days"),
        choices=[(code, name) for code, (_number, name) in zip(HSDS_WEEKDAYS, WEEKDAYS, strict=True)],
        widget=forms.CheckboxSelectMultiple,
    )
    opens_at = forms.TimeField(
        required=False, label=_("Opens at"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    closes_at = forms.TimeField(
        required=False,
        label=_("Closes at"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Earlier than the opening time means past midnight."),
    )
    timezone = forms.CharField(
        max_length=64,
        initial="UTC",
        label=_("Timezone"),
        help_text=_("E.g. America/Chicago or Africa/Kampala."),
    )
    description = forms.CharField(
        required=False,
        max_length=1000,
        label=_("Description"),
        help_text=_("The hours in words, when they do not fit days and times."),
    )
    notes = forms.CharField(
        required=False, max_length=300, label=_("Notes"), help_text=_("E.g. “closed on public holidays”.")
    )

    def clean_timezone(self):
        value = self.cleaned_data["timezone"].strip()
        validate_timezone(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        row_id, base = self.base()
        schedule = documents.instance(Schedule, base)
        schedule.uuid = row_id
        schedule.open_24_7 = cleaned["open_24_7"]
        schedule.byday = ",".join(code for code in HSDS_WEEKDAYS if code in cleaned["days"])
        for name in ("opens_at", "closes_at", "timezone", "description", "notes"):
            setattr(schedule, name, cleaned[name])
        self.instance = self.validate(schedule, exclude=["service", "location"], renamed={"byday": "days"})
        return cleaned


# Kinds of area that lie in a country.
REGION_KINDS = (ServiceArea.Kind.COUNTRY, ServiceArea.Kind.SUBDIVISION, ServiceArea.Kind.CITY)


class AreaForm(RowForm):
    kind = forms.ChoiceField(choices=ServiceArea.Kind.choices, initial=ServiceArea.Kind.COUNTRY, label=_("Kind"))
    region = forms.CharField(
        required=False,
        max_length=100,
        label=_("Region"),
        help_text=_("A country or a state/region, by name or code (Uganda, US-TX)."),
    )
    city = forms.CharField(required=False, max_length=200, label=_("City"))
    name = forms.CharField(
        required=False, max_length=300, label=_("Name"), help_text=_("For a described area: how to name it.")
    )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        kind, text = cleaned["kind"], cleaned["region"].strip()
        region = None
        if text:
            try:
                region = regions.parse_region(text)
            except regions.UnknownRegion as error:
                self.add_error("region", ValidationError(str(error), code="region"))
                return cleaned
        needs_region = kind in REGION_KINDS
        if needs_region and region is None:
            self.add_error("region", ValidationError(gettext("Give the country or state/region."), code="region"))
            return cleaned
        if kind == ServiceArea.Kind.COUNTRY and not region.is_country:
            self.add_error(
                "region", gettext("A whole country: give the country, or choose “a state, province or region”.")
            )
            return cleaned
        if kind == ServiceArea.Kind.SUBDIVISION and region.is_country:
            self.add_error(
                "region", gettext("Give a state, province or region (such as Texas or US-TX), not a country.")
            )
            return cleaned
        row_id, base = self.base()
        area = documents.instance(ServiceArea, base)
        area.uuid = row_id
        area.kind = kind
        area.country = region.country if needs_region else ""
        area.subdivision = region.code if needs_region and not region.is_country else ""
        area.city = cleaned["city"] if kind == ServiceArea.Kind.CITY else ""
        area.name = cleaned["name"]
        self.instance = self.validate(area, exclude=["service"], renamed={"country": "region", "subdivision": "region"})
        return cleaned


class PlaceForm(RowForm):
    """A place to visit, with its address. `id` is the location's id; `link` its service-at-location's."""

    name = forms.CharField(required=False, max_length=300, label=_("Name"))
    is_confidential = forms.BooleanField(
        required=False,
        label=_("Confidential (a shelter or safe house)"),
        help_text=_("The public then sees only the city or region, never the street address."),
    )
    address_1 = forms.CharField(required=False, max_length=300, label=_("Street address"))
    address_2 = forms.CharField(required=False, max_length=300, label=_("Address line 2"))
    city = forms.CharField(max_length=200, label=_("City"))
    state_province = forms.CharField(required=False, max_length=200, label=_("State, province or region"))
    postal_code = forms.CharField(required=False, max_length=20, label=_("Postal code"))
    country = forms.CharField(max_length=60, label=_("Country"))
    transportation = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Getting there")
    )

    def clean_country(self):
        return country_code(self.cleaned_data["country"])

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        state = cleaned["state_province"].strip()
        if state and not regions.subdivision_from_state(cleaned["country"], state):
            message = gettext("We do not know “%(state)s” in %(country)s: use its name or ISO code.")
            country = regions.country_label(cleaned["country"])
            self.add_error("state_province", message % {"state": state[:60], "country": country})
            return cleaned
        location_id, base = self.base()
        base = base or {}
        location = documents.instance(Location, base.get("location"))
        location.uuid = location_id
        location.name = cleaned["name"]
        location.is_confidential = cleaned["is_confidential"]
        location.transportation = cleaned["transportation"]
        addresses = (base.get("location") or {}).get("addresses") or []
        address = documents.instance(Address, addresses[0] if addresses else None)
        if not addresses:
            address.uuid = documents.new_id()
        for name in ("address_1", "address_2", "city", "state_province", "postal_code", "country"):
            setattr(address, name, cleaned[name])
        self.validate(location, exclude=["organization"])
        self.validate(address, exclude=["location"])
        self.instance = (base.get("id") or documents.new_id(), location, address)
        return cleaned


class RowFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this row")


def _formset(form, extra):
    return forms.formset_factory(
        form, formset=RowFormSet, extra=extra, can_delete=True, max_num=20, validate_max=True, absolute_max=30
    )


PhoneFormSet = _formset(PhoneForm, 2)
ScheduleFormSet = _formset(ScheduleForm, 2)
AreaFormSet = _formset(AreaForm, 1)
PlaceFormSet = _formset(PlaceForm, 1)


def _phone_initial(document):
    phone = documents.instance(Phone, document)
    return {
        "id": document["id"],
        "number": _editable_number(phone.number),
        "country": phone.country,
        "type": phone.type,
        "text_keyword": phone.text_keyword,
        "extension": phone.extension,
        "description": phone.description,
    }


def _editable_number(stored):
    """A stored number as a person reads it and the form reads it back: "+1 888-373-7888", or a short code."""
    if not stored or phone_numbers.is_short_code(stored):
        return stored
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(stored, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return stored


def _schedule_initial(document):
    schedule = documents.instance(Schedule, document)
    return {
        "id": document["id"],
        "open_24_7": schedule.open_24_7,
        "days": [code for code in schedule.byday.split(",") if code],
        "opens_at": schedule.opens_at,
        "closes_at": schedule.closes_at,
        "timezone": schedule.timezone,
        "description": schedule.description,
        "notes": schedule.notes,
    }


def _area_initial(document):
    area = documents.instance(ServiceArea, document)
    return {
        "id": document["id"],
        "kind": area.kind,
        "region": area.subdivision or area.country,
        "city": area.city,
        "name": area.name,
    }


def _place_initial(document):
    location_document = document.get("location") or {}
    location = documents.instance(Location, location_document)
    addresses = location_document.get("addresses") or []
    address = documents.instance(Address, addresses[0] if addresses else None)
    return {
        "id": str(location_document.get("id") or ""),
        "name": location.name,
        "is_confidential": location.is_confidential,
        "address_1": address.address_1,
        "address_2": address.address_2,
        "city": address.city,
        "state_province": address.state_province,
        "postal_code": address.postal_code,
        "country": address.country,
        "transportation": location.transportation,
    }


def _rows(document, key):
    return {str(item["id"]): item for item in document.get(key) or () if isinstance(item, dict) and item.get("id")}


class ListingEditor:
    """The whole listing form: the service, its terms and languages, and a formset for each list.

    `base` is the document being edited (the live listing's for a change, the proposal's own when a partner
    edits it again, none for a new listing). Only ids found in `base` are kept.
    """

    def __init__(self, *, organization, base=None, data=None):
        self.organization = organization
        self.base = base or {}
        service = documents.instance(Service, self.base)
        service.organization = organization
        if not self.base.get("id"):
            service.uuid = documents.new_id()
        languages = [documents.instance(Language, item) for item in self.base.get("languages") or ()]
        initial = {"languages": ", ".join(str(language) for language in languages)}
        chosen = documents.terms_named_in(self.base).values()
        for name, slug in (
            ("needs", Taxonomy.NEEDS),
            ("populations", Taxonomy.POPULATIONS),
            ("trafficking_types", Taxonomy.TRAFFICKING_TYPES),
        ):
            initial[name] = [str(term.uuid) for term in chosen if term.taxonomy.slug == slug]
        self.form = ListingForm(data, instance=service, initial=initial)
        places = {}
        for item in self.base.get("service_at_locations") or ():
            location_id = (item.get("location") or {}).get("id")
            if location_id:
                places[str(location_id)] = item
        self.formsets = {
            "phones": PhoneFormSet(
                data,
                prefix="phones",
                initial=[_phone_initial(item) for item in _rows(self.base, "phones").values()],
                form_kwargs={"rows": _rows(self.base, "phones")},
            ),
            "schedules": ScheduleFormSet(
                data,
                prefix="hours",
                initial=[_schedule_initial(item) for item in _rows(self.base, "schedules").values()],
                form_kwargs={"rows": _rows(self.base, "schedules")},
            ),
            "areas": AreaFormSet(
                data,
                prefix="areas",
                initial=[_area_initial(item) for item in _rows(self.base, "service_areas").values()],
                form_kwargs={"rows": _rows(self.base, "service_areas")},
            ),
            "places": PlaceFormSet(
                data,
                prefix="places",
                initial=[_place_initial(item) for item in places.values()],
                form_kwargs={"rows": places},
            ),
        }
        self.problems = []

    def is_valid(self):
        valid = self.form.is_valid()
        for formset in self.formsets.values():
            valid = formset.is_valid() and valid
        if not valid:
            return False
        self.document = self._document()
        self.problems = documents.check(self.document)
        return not self.problems

    def _kept(self, name):
        formset = self.formsets[name]
        # Blank extra rows were never cleaned (no instance); ticked "delete" rows are left out.
        return [
            form.instance for form in formset.forms if form.instance is not None and not form.cleaned_data.get("DELETE")
        ]

    def _document(self):
        service = self.form.instance
        links = {str(item.get("taxonomy_term_id")): str(item.get("id")) for item in self.base.get("attributes") or ()}
        terms = [
            (links.get(str(term.uuid)) or documents.new_id(), term)
            for name in ("needs", "populations", "trafficking_types")
            for term in self.form.cleaned_data[name]
        ]
        known = {language.code: language for language in map(_language, self.base.get("languages") or ())}
        languages = []
        for code in self.form.cleaned_data["languages"]:
            language = known.get(code) or Language(uuid=documents.new_id(), code=code, name=language_name(code))
            languages.append(language)
        links_of_places = {
            str((item.get("location") or {}).get("id")): str(item.get("id"))
            for item in self.base.get("service_at_locations") or ()
        }
        places = [
            (links_of_places.get(str(location.uuid)) or documents.new_id(), location, address)
            for _link, location, address in self._kept("places")
        ]
        return documents.assemble(
            service=service,
            organization=self.organization,
            phones=self._kept("phones"),
            schedules=self._kept("schedules"),
            areas=self._kept("areas"),
            languages=languages,
            terms=terms,
            places=places,
        )

    @property
    def errors_count(self):
        count = len(self.form.errors) + len(self.problems)
        for formset in self.formsets.values():
            count += sum(len(errors) for errors in formset.errors) + len(formset.non_form_errors())
        return count


def _language(document):
    return documents.instance(Language, document)


# --- partners' other forms --------------------------------------------------------------------------------


class MessageForm(PlainText, forms.Form):
    organization = forms.ModelChoiceField(queryset=None, empty_label=None, label=_("Organization"))
    body = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=TEXT_LIMIT)

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the partner's own organizations can be chosen: another id is an invalid choice.
        self.fields["organization"].queryset = organizations
        if organizations.count() == 1:
            self.fields["organization"].widget = forms.HiddenInput()


class InviteForm(PlainText, forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR, label=_("Role"))


class SetPasswordForm(forms.Form):
    """The new partner's name and password (Django's password validators apply)."""

    name = forms.CharField(max_length=150, required=False, label=_("Your name"), validators=[no_markup])
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False, max_length=128)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False, max_length=128)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        from django.contrib.auth import password_validation

        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", ValidationError(gettext("The two passwords differ."), code="password_mismatch"))
        elif first:
            try:
                password_validation.validate_password(first, self.user)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


# --- anonymous forms ------------------------------------------------------------------------------------


class AntiSpam(forms.Form):
    """A honeypot field people never see, and a signed timestamp (antispam.py) instead of a CSRF cookie."""

    homepage = forms.CharField(required=False, label=_("Leave this field empty"), max_length=200)
    stamp = forms.CharField(widget=forms.HiddenInput, max_length=500)

    purpose = "form"

    def __init__(self, *args, purpose=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.purpose = purpose or self.purpose
        self.fields["homepage"].widget.attrs.update({"autocomplete": "off", "tabindex": "-1"})
        self.fields["stamp"].initial = antispam.issue(self.purpose)

    def clean(self):
        cleaned = super().clean()
        if self.data.get("homepage"):
            raise ValidationError(
                _("This form was not sent: a field meant to stay empty was filled in."), code=antispam.REFUSED
            )
        try:
            antispam.verify(self.data.get("stamp", ""), self.purpose)
        except antispam.Refused as refused:
            raise ValidationError(str(refused), code=antispam.REFUSED) from None
        return cleaned

    def with_fresh_stamp(self):
        """The same submission with a new timestamp, so that sending it again works."""
        if self.is_bound:
            self.data = self.data.copy()
            self.data["stamp"] = antispam.issue(self.purpose)
        return self


class CorrectionForm(PlainText, AntiSpam, forms.ModelForm):
    class Meta:
        model = Correction
        fields = ["what_is_wrong", "contact"]
        labels = {"what_is_wrong": _("What is wrong or missing?"), "contact": _("How can we reach you? (optional)")}
        help_texts = {
            "contact": _("An email address or phone number, only if you want an answer. We use it for nothing else."),
        }
        widgets = {"what_is_wrong": forms.Textarea(attrs={"rows": 5})}


class ApplicationForm(PlainText, AntiSpam, forms.ModelForm):
    needs = TermsField(Taxonomy.NEEDS, label=_("Help you offer"))
    country = forms.CharField(max_length=60, label=_("Country"), help_text=_("The country you work in."))
    regions_served = forms.CharField(
        required=False,
        max_length=300,
        label=_("States or regions you serve"),
        help_text=_("Separated by commas, by name or code (Texas, US-CA). Leave empty for the whole country."),
    )
    phone = forms.CharField(required=False, max_length=40, label=_("Public phone"))
    contact_phone = forms.CharField(required=False, max_length=40, label=_("Contact phone"))

    purpose = "application"

    class Meta:
        model = Application
        formfield_callback = https_urls
        fields = [
            "organization_name",
            "alternate_name",
            "description",
            "website",
            "email",
            "phone",
            "country",
            "regions_served",
            "offers",
            "needs",
            "contact_name",
            "contact_role",
            "contact_email",
            "contact_phone",
            "accepts_referrals",
            "serves_survivors",
            "keeps_listings_current",
            "confidentiality",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "offers": forms.Textarea(attrs={"rows": 4}),
            "confidentiality": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {
            "organization_name": _("Organization name"),
            "alternate_name": _("Other name"),
            "description": _("What the organization does"),
            "website": _("Website"),
            "email": _("Public email"),
            "offers": _("What it offers survivors"),
            "contact_name": _("Contact name"),
            "contact_role": _("Contact role"),
            "contact_email": _("Contact email"),
            "accepts_referrals": _("We accept referrals from other organisations and hotlines."),
            "serves_survivors": _("We serve people affected by human trafficking."),
            "keeps_listings_current": _("We will keep our listings current and confirm them at least once a year."),
            "confidentiality": _("How it keeps survivors' information confidential"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for commitment in ("accepts_referrals", "serves_survivors", "keeps_listings_current"):
            self.fields[commitment].required = True
            self.fields[commitment].error_messages["required"] = _("We list only partners who make this commitment.")

    def clean_country(self):
        return country_code(self.cleaned_data["country"])

    def clean_regions_served(self):
        codes = []
        for part in self.cleaned_data["regions_served"].split(","):
            if part.strip():
                try:
                    region = regions.parse_region(part)
                except regions.UnknownRegion as error:
                    raise ValidationError(str(error), code="region") from None
                codes.append(region.code)
        return ",".join(dict.fromkeys(codes))

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        return phone_number(value, self._country()) if value else ""

    def clean_contact_phone(self):
        value = self.cleaned_data["contact_phone"].strip()
        return phone_number(value, self._country()) if value else ""

    def _country(self):
        try:
            return regions.normalise_country(self.data.get("country", ""))
        except regions.UnknownRegion:
            return ""

    def clean(self):
        cleaned = super().clean()
        country, served = cleaned.get("country"), cleaned.get("regions_served")
        if country and served:
            elsewhere = [code for code in served.split(",") if code.split("-")[0] != country]
            if elsewhere:
                message = gettext("Not in %(country)s: %(regions)s.")
                self.add_error(
                    "regions_served",
                    message % {"country": regions.country_label(country), "regions": ", ".join(elsewhere)},
                )
        return cleaned
