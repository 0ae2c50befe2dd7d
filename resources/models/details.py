"""The details HSDS attaches to services, locations and organizations: phones, schedules, languages."""

import re
import zoneinfo
from urllib.parse import quote

import pycountry
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import phones
from .base import HSDSModel, ListingHistory
from .places import validate_country_code

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
HSDS_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _one_owner(prefix, owners):
    condition = Q()
    for owner in owners:
        condition |= Q(**{f"{owner}__isnull": False})
    return models.CheckConstraint(
        condition=condition,
        name=f"{prefix}_has_owner",
        violation_error_message=f"A {prefix} belongs to a {', '.join(owners[:-1])} or {owners[-1]}.".replace("_", " "),
    )


class Contact(HSDSModel):
    """A named person or role to contact about a service, place or organization."""

    organization = models.ForeignKey(
        "resources.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    service = models.ForeignKey(
        "resources.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    service_at_location = models.ForeignKey(
        "resources.ServiceAtLocation", null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    location = models.ForeignKey(
        "resources.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        constraints = [_one_owner("contact", ["organization", "service", "service_at_location", "location"])]

    def __str__(self):
        return ", ".join(part for part in (self.name, self.title, self.department) if part) or "Contact"


class Phone(HSDSModel):
    class Type(models.TextChoices):
        VOICE = "voice", _("Voice call")
        CELL = "cell", _("Mobile phone")
        TEXT = "text", _("Text message (SMS)")
        TEXTPHONE = "textphone", _("Textphone / TTY")
        VIDEO = "video", _("Video call / sign language")
        FAX = "fax", _("Fax")
        PAGER = "pager", _("Pager")

    CALL_TYPES = (Type.VOICE, Type.CELL, Type.TEXTPHONE, Type.VIDEO)

    service = models.ForeignKey(
        "resources.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    location = models.ForeignKey(
        "resources.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    organization = models.ForeignKey(
        "resources.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones")
    service_at_location = models.ForeignKey(
        "resources.ServiceAtLocation", null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(
        max_length=20,
        help_text="Type it as you would dial it; it is stored in E.164 (+18883737888), short codes as digits.",
    )
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_country_code],
        help_text="ISO country the number is dialled in; needed for short codes such as 988.",
    )
    extension = models.CharField(max_length=10, blank=True)
    type = models.CharField(max_length=20, choices=Type, default=Type.VOICE)
    text_keyword = models.CharField(
        max_length=40, blank=True, help_text="For text lines: the word to send, e.g. START."
    )
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    history = ListingHistory(indexed=["service"])

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["number"], name="phone_number_idx")]
        constraints = [
            _one_owner("phone", ["service", "location", "organization", "contact", "service_at_location"]),
            models.CheckConstraint(
                condition=Q(number__regex=phones.STORED_NUMBER_PATTERN), name="phone_number_stored_form"
            ),
            models.CheckConstraint(condition=Q(extension__regex=r"^[0-9]*$"), name="phone_extension_digits"),
            models.CheckConstraint(condition=Q(text_keyword="") | Q(type="text"), name="phone_keyword_only_for_text"),
        ]

    def __str__(self):
        return self.display

    def clean(self):
        errors = {}
        if self.country:
            self.country = self.country.upper()
        try:
            self.number = phones.normalise(self.number, self.country)
        except phones.InvalidPhone as error:
            errors["number"] = ValidationError(str(error), code="invalid_phone")
        if self.extension and not self.extension.isdigit():
            errors["extension"] = ValidationError(gettext("An extension is digits only."), code="extension")
        if self.text_keyword and self.type != self.Type.TEXT:
            errors["text_keyword"] = ValidationError(gettext("Only a text line has a keyword."), code="keyword")
        if errors:
            raise ValidationError(errors)

    @property
    def display(self):
        return phones.display(self.number)

    @property
    def tel_href(self):
        return f"tel:{self.number}" + (f";ext={self.extension}" if self.extension else "")

    @property
    def sms_href(self):
        # "?&body=" is the form both iOS and Android read.
        return f"sms:{self.number}" + (f"?&body={quote(self.text_keyword)}" if self.text_keyword else "")

    @property
    def can_call(self):
        return self.type in self.CALL_TYPES

    @property
    def can_text(self):
        return self.type == self.Type.TEXT


def validate_timezone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            gettext("“%(value)s” is not a time zone name such as America/New_York.") % {"value": value}, code="timezone"
        ) from None


BYDAY_TOKEN = re.compile(r"^([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


def normalise_byday(value):
    """HSDS/RFC 5545 BYDAY ("th, fr" -> "TH,FR"), each day once, in week order for plain days."""
    tokens = [token.strip().upper() for token in (value or "").replace(";", ",").split(",") if token.strip()]
    for token in tokens:
        if not BYDAY_TOKEN.match(token):
            raise ValidationError(
                gettext("“%(token)s” is not a day: use MO, TU, WE, TH, FR, SA, SU (comma-separated).")
                % {"token": token[:20]},
                code="byday",
            )
    unique = list(dict.fromkeys(tokens))
    if all(token in HSDS_WEEKDAYS for token in unique):
        unique.sort(key=HSDS_WEEKDAYS.index)
    return ",".join(unique)


class ScheduleQuerySet(models.QuerySet):
    def open_at(self, moment):
        """Schedules open at `moment`, each judged in its own timezone.

        The timezones in use are few; for each, the local weekday and time are worked out here and the
        comparison runs in the database. Only weekly opening hours count (a monthly rule such as "first
        Monday" is shown, not used for "open now").
        """
        condition = Q(open_24_7=True)
        weekly = Q(freq__in=["", Schedule.Freq.WEEKLY], opens_at__isnull=False, closes_at__isnull=False)
        for name in self.model.objects.filter(weekly).values_list("timezone", flat=True).distinct().order_by():
            try:
                local = moment.astimezone(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            day, now = local.weekday(), local.time().replace(microsecond=0)
            today, yesterday = HSDS_WEEKDAYS[day], HSDS_WEEKDAYS[(day - 1) % 7]
            same_day = Q(closes_at__gt=F("opens_at")) & Q(byday__contains=today, opens_at__lte=now, closes_at__gt=now)
            overnight_started_today = Q(closes_at__lte=F("opens_at"), byday__contains=today, opens_at__lte=now)
            overnight_from_yesterday = Q(closes_at__lte=F("opens_at"), byday__contains=yesterday, closes_at__gt=now)
            condition |= weekly & Q(timezone=name) & (same_day | overnight_started_today | overnight_from_yesterday)
        return self.filter(condition)


class Schedule(HSDSModel):
    """When a service or place is open: weekly hours (days + times), 24/7, or a described pattern.

    The weekly hours and 24/7 drive "open now". The other HSDS recurrence fields are kept as given so an
    imported schedule is exported unchanged.
    """

    class Freq(models.TextChoices):
        WEEKLY = "WEEKLY", "Weekly"
        MONTHLY = "MONTHLY", "Monthly"

    service = models.ForeignKey(
        "resources.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    location = models.ForeignKey(
        "resources.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    service_at_location = models.ForeignKey(
        "resources.ServiceAtLocation", null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    open_24_7 = models.BooleanField("open 24/7", default=False)
    byday = models.CharField(
        "days", max_length=60, blank=True, help_text="Comma-separated: MO,TU,WE,TH,FR,SA,SU (e.g. MO,WE,FR)."
    )
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True, help_text="Earlier than the opening time means past midnight.")
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="IANA name, e.g. Africa/Kampala."
    )
    notes = models.CharField(max_length=300, blank=True, help_text="E.g. 'closed on public holidays'.")
    description = models.TextField(blank=True, help_text="The hours in words, when they do not fit days and times.")
    # The rest of HSDS's recurrence rule (RFC 5545), kept as given.
    freq = models.CharField(max_length=10, choices=Freq, blank=True)
    interval = models.PositiveSmallIntegerField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    dtstart = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    wkst = models.CharField(max_length=2, blank=True, choices=[(code, code) for code in HSDS_WEEKDAYS])
    byweekno = models.CharField(max_length=100, blank=True)
    bymonthday = models.CharField(max_length=100, blank=True)
    byyearday = models.CharField(max_length=100, blank=True)
    schedule_link = models.URLField(blank=True)
    attending_type = models.CharField(max_length=300, blank=True)
    utc_offset = models.DecimalField(
        "UTC offset (HSDS timezone)", max_digits=4, decimal_places=2, null=True, blank=True
    )

    objects = ScheduleQuerySet.as_manager()
    history = ListingHistory(indexed=["service"])

    class Meta:
        ordering = ["-open_24_7", "opens_at", "pk"]
        # The timezones in use, read for "open now" (search.open_now_keys) an index step each.
        indexes = [models.Index(fields=["timezone"], name="schedule_timezone_idx")]
        constraints = [
            _one_owner("schedule", ["service", "location", "service_at_location"]),
            models.CheckConstraint(
                condition=Q(open_24_7=True, byday="", opens_at__isnull=True, closes_at__isnull=True)
                | Q(open_24_7=False, opens_at__isnull=True, closes_at__isnull=True)
                | (Q(open_24_7=False, opens_at__isnull=False, closes_at__isnull=False) & ~Q(byday="")),
                name="schedule_24_7_or_days_and_hours",
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True) | ~Q(opens_at=F("closes_at")), name="schedule_span_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_from__lte=F("valid_to")),
                name="schedule_validity_ordered",
            ),
        ]

    def __str__(self):
        if self.open_24_7:
            return gettext("Open 24 hours, 7 days")
        if self.opens_at is None:
            return self.description or gettext("Hours described elsewhere")
        return f"{self.days_display}: {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    def clean(self):
        errors = {}
        try:
            self.byday = normalise_byday(self.byday)
        except ValidationError as error:
            errors["byday"] = error
        if self.open_24_7:
            if self.byday or self.opens_at or self.closes_at:
                errors["open_24_7"] = gettext("A 24/7 schedule has no days or hours.")
        elif self.opens_at is None and self.closes_at is None:
            if not (self.description or self.notes or self.byday):
                errors["opens_at"] = gettext("Give the days and opening hours, tick 24/7, or describe the hours.")
        else:
            if self.opens_at is None or self.closes_at is None:
                errors["closes_at"] = gettext("Give both the opening and the closing time.")
            elif self.opens_at == self.closes_at:
                errors["closes_at"] = gettext("Opening and closing times are the same; for all day, tick 24/7.")
            if not self.byday and "byday" not in errors:
                errors["byday"] = gettext("Give the days these hours apply to (e.g. MO,TU,WE,TH,FR).")
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            errors["valid_to"] = gettext("The end of validity is before its start.")
        if errors:
            raise ValidationError(errors)

    @property
    def days(self):
        return [HSDS_WEEKDAYS.index(token) for token in self.byday.split(",") if token in HSDS_WEEKDAYS]

    @property
    def days_display(self):
        names = dict(WEEKDAYS)
        return ", ".join(str(names[day]) for day in self.days) or self.byday

    def is_open_at(self, moment):
        if self.open_24_7:
            return True
        if self.opens_at is None or self.closes_at is None or self.freq not in ("", self.Freq.WEEKLY):
            return False
        try:
            local = moment.astimezone(zoneinfo.ZoneInfo(self.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return False
        day, now, days = local.weekday(), local.time(), self.days
        if self.opens_at < self.closes_at:
            return day in days and self.opens_at <= now < self.closes_at
        return (day in days and now >= self.opens_at) or ((day - 1) % 7 in days and now < self.closes_at)


def language_name(code):
    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else pycountry.languages.get(alpha_3=code)
    return language.name if language else code


def language_label(code):
    """A language's name as a page shows it: in the visitor's language where pycountry has it."""
    from .. import regions

    return regions.shown("iso639-3", language_name(code))


def normalise_language(value):
    """ISO 639: the two-letter code when there is one, else the three-letter code; names accepted."""
    text = (value or "").strip()
    # Codes first: lookup() alone would read "en" as the name of the En language (enc).
    code = text.lower()
    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    language = language or (pycountry.languages.get(alpha_3=code) if len(code) == 3 else None)
    try:
        language = language or pycountry.languages.lookup(text)
    except LookupError:
        raise ValidationError(
            gettext("“%(value)s” is not an ISO 639 language code (such as en, es, lg).") % {"value": text[:40]},
            code="language",
        ) from None
    return getattr(language, "alpha_2", None) or language.alpha_3


class Language(HSDSModel):
    """A language a service, location or phone line offers (HSDS language)."""

    service = models.ForeignKey(
        "resources.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="languages"
    )
    location = models.ForeignKey(
        "resources.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="languages"
    )
    phone = models.ForeignKey(Phone, null=True, blank=True, on_delete=models.CASCADE, related_name="languages")
    code = models.CharField(max_length=3, help_text="ISO 639-1 (en) or ISO 639-3 (lug) code.")
    name = models.CharField(max_length=100, blank=True, help_text="Filled in from the code when left empty.")
    note = models.CharField(max_length=300, blank=True, help_text="E.g. 'through an interpreter'.")

    history = ListingHistory(indexed=["service"])

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["code", "service"], name="language_code_service_idx")]
        constraints = [
            _one_owner("language", ["service", "location", "phone"]),
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z]{2,3}$"), name="language_code_iso639"),
        ]

    def __str__(self):
        return self.name or language_name(self.code)

    @property
    def label(self):
        """The name as a page shows it: the standard name in the visitor's language, a name of its own as given."""
        if not self.name or self.name == language_name(self.code):
            return language_label(self.code)
        return self.name

    def clean(self):
        self.code = normalise_language(self.code or self.name)
        self.name = self.name or language_name(self.code)
