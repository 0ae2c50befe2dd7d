import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from resources.models import CostOption, Location, Organization, Phone, Service, ServiceArea

from .conftest import make_phone, make_service

pytestmark = pytest.mark.django_db


def test_phone_is_stored_in_e164():
    service = make_service()
    phone = make_phone(number="1-888-373-7888", country="US", service=service)
    assert phone.number == "+18883737888"
    assert phone.display == "1-888-373-7888"
    assert phone.tel_href == "tel:+18883737888"


def test_short_code_is_kept_as_digits_for_its_country():
    phone = make_phone(number="233733", country="US", type=Phone.Type.TEXT, service=make_service())
    assert phone.number == "233733"
    assert phone.sms_href == "sms:233733"


def test_rejects_a_number_that_is_not_a_phone():
    with pytest.raises(ValidationError) as error:
        make_phone(number="12", service=make_service())
    assert "number" in error.value.message_dict


def test_database_refuses_a_phone_without_owner():
    with pytest.raises(IntegrityError), transaction.atomic():
        Phone.objects.create(number="+18883737888")


def test_database_refuses_an_unnormalised_number():
    with pytest.raises(IntegrityError), transaction.atomic():
        Phone.objects.create(number="888-373-7888", service=make_service())


def test_age_range_must_be_ordered():
    with pytest.raises(ValidationError):
        make_service(minimum_age=20, maximum_age=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(organization=make_service().organization, name="x", minimum_age=20, maximum_age=10)


def test_service_area_kind_needs_its_fields():
    service = make_service()
    with pytest.raises(ValidationError):
        ServiceArea(service=service, kind=ServiceArea.Kind.SUBDIVISION, country="US").full_clean()
    with pytest.raises(ValidationError):
        ServiceArea(service=service, kind=ServiceArea.Kind.SUBDIVISION, subdivision="UG-102", country="US").full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceArea.objects.create(service=service, kind=ServiceArea.Kind.WORLDWIDE, country="US")


def test_country_codes_may_be_typed_in_lower_case():
    from .conftest import make_location

    location = make_location(country="us", state_province="tx")
    address = location.addresses.get()
    assert (address.country, address.subdivision) == ("US", "US-TX")
    area = ServiceArea(service=make_service(), kind=ServiceArea.Kind.SUBDIVISION, subdivision="ug-102")
    area.full_clean()
    assert (area.country, area.subdivision) == ("UG", "UG-102")


def test_phone_country_must_be_a_country():
    with pytest.raises(ValidationError) as error:
        make_phone(number="988", country="ZZ", service=make_service())
    assert "country" in error.value.message_dict


def test_text_keyword_is_encoded_in_the_sms_link():
    phone = make_phone(
        number="88788", country="US", type=Phone.Type.TEXT, text_keyword="HELP ME&X", service=make_service()
    )
    assert phone.sms_href == "sms:88788?&body=HELP%20ME%26X"


def test_confidential_address_text_has_no_street():
    from .conftest import make_location

    location = make_location(
        country="US", state_province="TX", city="Austin", address_1="9 Hidden Lane", is_confidential=True
    )
    address = location.addresses.get()
    assert "Hidden Lane" not in str(address)
    assert "Austin" in str(address)
    assert "Hidden Lane" not in str(location)


def test_days_are_normalised_to_hsds_byday():
    import datetime

    from .conftest import make_schedule

    schedule = make_schedule(
        service=make_service(), byday="fr, th", opens_at=datetime.time(10), closes_at=datetime.time(18)
    )
    assert schedule.byday == "TH,FR"
    assert str(schedule) == "Thursday, Friday: 10:00–18:00"
    with pytest.raises(ValidationError) as error:
        make_schedule(service=make_service(), byday="Funday", opens_at=datetime.time(10), closes_at=datetime.time(18))
    assert "byday" in error.value.message_dict


def test_a_multi_day_schedule_is_open_on_each_of_its_days_only():
    import datetime

    from .conftest import make_schedule

    service = make_service()
    make_schedule(service=service, byday="TH,FR", opens_at=datetime.time(10), closes_at=datetime.time(18))
    thursday_noon = datetime.datetime(2026, 11, 26, 12, tzinfo=datetime.UTC)
    friday_noon = datetime.datetime(2026, 11, 27, 12, tzinfo=datetime.UTC)
    saturday_noon = datetime.datetime(2026, 11, 28, 12, tzinfo=datetime.UTC)
    for moment, expected in ((thursday_noon, True), (friday_noon, True), (saturday_noon, False)):
        assert Service.objects.open_at(moment).filter(pk=service.pk).exists() is expected
        assert Service.objects.for_listing().get(pk=service.pk).open_state(moment) is expected


def test_a_monthly_rule_is_kept_but_not_used_for_open_now():
    import datetime

    from resources.models import Schedule

    from .conftest import make_schedule

    service = make_service()
    make_schedule(
        service=service,
        byday="1MO",
        freq=Schedule.Freq.MONTHLY,
        opens_at=datetime.time(0, 0),
        closes_at=datetime.time(23, 59),
    )
    first_monday = datetime.datetime(2026, 12, 7, 12, tzinfo=datetime.UTC)
    assert not Service.objects.open_at(first_monday).filter(pk=service.pk).exists()


def test_hours_may_be_described_in_words_only():
    from .conftest import make_schedule

    schedule = make_schedule(service=make_service(), description="By appointment")
    assert str(schedule) == "By appointment"
    with pytest.raises(ValidationError):
        make_schedule(service=make_service())


def test_a_described_area_needs_a_description_and_no_codes():
    area = ServiceArea(service=make_service(), kind=ServiceArea.Kind.OTHER, name="All of MyCity")
    area.full_clean()
    with pytest.raises(ValidationError):
        ServiceArea(service=make_service(), kind=ServiceArea.Kind.OTHER).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceArea.objects.create(service=make_service(), kind=ServiceArea.Kind.OTHER, name="x", country="US")


@pytest.mark.parametrize(
    ("given", "stored"), [("en", "en"), ("EN", "en"), ("eng", "en"), ("English", "en"), ("lug", "lg"), ("es", "es")]
)
def test_language_codes_are_read_as_codes_before_names(given, stored):
    from resources.models.details import normalise_language

    assert normalise_language(given) == stored


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Location(name="Office", latitude=91, longitude=0), "Latitude goes from -90 to 90"),
        (lambda: Organization(name="Org", description="d", year_incorporated=1066), "between 1800 and 2100"),
        (lambda: CostOption(service=make_service(), amount=-5), "cannot be negative"),
        (
            lambda: CostOption(
                service=make_service(), valid_from=datetime.date(2026, 5, 1), valid_to=datetime.date(2026, 1, 1)
            ),
            "cannot end before it starts",
        ),
    ],
)
def test_forms_explain_a_broken_rule_in_plain_words(build, message):
    with pytest.raises(ValidationError) as error:
        build().full_clean()
    assert any(message in text for text in error.value.messages), error.value.messages
