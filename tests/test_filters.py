import datetime
from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from resources.filters import ServiceFilter
from resources.models import Service, ServiceArea

from .world import HIDDEN, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(needs, populations):
    return build_world(needs, populations)


def query(data):
    return QueryDict(urlencode(data, doseq=True))


def names(data, now=None):
    filterset = ServiceFilter(query(data), queryset=Service.objects.published(), now=now)
    return {service.name for service in filterset.qs}


def expect(world, *keys):
    return {world[key].name for key in keys}


@pytest.mark.parametrize("region", ["UG", "Uganda", "uganda", "UGA"])
def test_region_uganda_finds_only_the_ugandan_program(world, region):
    assert names({"region": region}) == expect(world, "restore")


@pytest.mark.parametrize("region", ["US-TX", "Texas", "us-tx"])
def test_region_texas_finds_texas_services_and_us_wide_hotlines(world, region):
    assert names({"region": region}) == expect(world, "hotline", "legal")


def test_region_country_finds_services_located_or_serving_inside_it(world):
    assert names({"region": "US"}) == expect(world, "hotline", "legal", "visa")


def test_region_subdivision_inside_a_served_subdivision(world):
    # Los Angeles County is not a subdivision in ISO 3166-2, so use California itself and a sibling.
    assert names({"region": "US-CA"}) == expect(world, "hotline", "visa")
    assert names({"region": "US-NY"}) == expect(world, "hotline")


def test_nested_subdivision_is_covered_by_its_parent(world):
    # Kampala (UG-102) sits inside the Central region (UG-C): a service located in Kampala is in UG-C.
    assert names({"region": "UG-C"}) == expect(world, "restore")
    assert names({"region": "UG-102"}) == expect(world, "restore")


def test_several_regions_combine_with_or(world):
    assert names({"region": ["UG", "US-CA"]}) == expect(world, "restore", "hotline", "visa")


def test_need_includes_its_sub_terms(world):
    assert names({"need": "legal-aid"}) == expect(world, "legal")
    assert names({"need": "immigration-relief"}) == expect(world, "visa")
    assert names({"need": "t-visa"}) == expect(world, "visa")


def test_several_needs_combine_with_or_and_facets_with_and(world):
    assert names({"need": ["legal-aid", "emergency-shelter"]}) == expect(world, "legal", "restore")
    assert names({"need": ["legal-aid", "emergency-shelter"], "region": "US"}) == expect(world, "legal")


def test_population(world):
    assert names({"population": "women"}) == expect(world, "restore")
    assert names({"population": ["women", "foreign-nationals"]}) == expect(world, "restore", "legal")


@pytest.mark.parametrize("language", ["es", "spa", "Spanish"])
def test_language_by_code_or_name(world, language):
    assert names({"language": language}) == expect(world, "legal")


def test_languages_combine_with_or(world):
    assert names({"language": ["lg", "es"]}) == expect(world, "restore", "legal")


def test_delivery(world):
    assert names({"delivery": "text"}) == expect(world, "hotline")
    assert names({"delivery": "phone"}) == expect(world, "hotline", "legal")
    assert names({"delivery": "in_person"}) == expect(world, "restore", "legal")
    assert names({"delivery": "online"}) == expect(world, "visa")
    assert names({"delivery": ["text", "online"]}) == expect(world, "hotline", "visa")


def test_free(world):
    assert names({"free": "on"}) == expect(world, "hotline", "legal")


def test_open_now_uses_each_schedules_timezone(world):
    monday_noon_utc = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)  # 06:00 in Houston
    assert names({"open_now": "on"}, now=monday_noon_utc) == expect(world, "hotline")
    monday_4pm_utc = datetime.datetime(2026, 11, 23, 16, 0, tzinfo=datetime.UTC)  # 10:00 in Houston
    assert names({"open_now": "on"}, now=monday_4pm_utc) == expect(world, "hotline", "legal")


def test_open_now_handles_hours_past_midnight(world):
    # Friday 22:00-02:00 in Los Angeles (UTC-8 in November).
    saturday_1am_la = datetime.datetime(2026, 11, 28, 9, 0, tzinfo=datetime.UTC)
    saturday_3am_la = datetime.datetime(2026, 11, 28, 11, 0, tzinfo=datetime.UTC)
    friday_11pm_la = datetime.datetime(2026, 11, 28, 7, 0, tzinfo=datetime.UTC)
    assert "T Visa Project" in names({"open_now": "on"}, now=saturday_1am_la)
    assert "T Visa Project" in names({"open_now": "on"}, now=friday_11pm_la)
    assert "T Visa Project" not in names({"open_now": "on"}, now=saturday_3am_la)


def test_detail_open_state_agrees_with_the_filter(world):
    monday_4pm_utc = datetime.datetime(2026, 11, 23, 16, 0, tzinfo=datetime.UTC)
    legal = Service.objects.for_listing().get(pk=world["legal"].pk)
    assert legal.open_state(monday_4pm_utc) is True
    assert legal.open_state(monday_4pm_utc + datetime.timedelta(hours=8)) is False
    assert Service.objects.get(pk=world["restore"].pk).open_state() is None


def test_unknown_need_is_reported_and_other_filters_still_apply(world):
    filterset = ServiceFilter(query({"need": "flying-carpets", "region": "UG"}), queryset=Service.objects.published())
    assert {service.name for service in filterset.qs} == expect(world, "restore")
    assert any("flying-carpets" in problem for problem in filterset.problems())


def test_unknown_region_is_reported_and_other_filters_still_apply(world):
    filterset = ServiceFilter(query({"region": "Narnia", "need": "legal-aid"}), queryset=Service.objects.published())
    assert {service.name for service in filterset.qs} == expect(world, "legal")
    assert any("Narnia" in problem for problem in filterset.problems())


def test_keyword_matches_name_description_and_need_terms(world):
    assert names({"q": "record clearing"}) == expect(world, "legal")
    assert names({"q": "forced"}) == expect(world, "legal")
    assert names({"q": "shelter"}) == expect(world, "restore")
    assert names({"q": "reporting"}) == expect(world, "hotline")


@pytest.mark.parametrize(
    "text", ['"', "'", "%", "_", "%%%", "😀", "a\x00b", "x" * 5000, "shelter' OR 1=1 --", "NEAR(", "*", "\\"]
)
def test_keyword_never_fails(world, text):
    result = names({"q": text})
    assert not result & expect(world, *HIDDEN)


def test_hidden_services_never_match(world):
    for data in ({}, {"region": "UG"}, {"need": "emergency-shelter"}, {"q": "shelter"}):
        assert not names(data) & expect(world, *HIDDEN)


def test_one_unknown_value_keeps_the_good_values_of_the_same_facet(world):
    filterset = ServiceFilter(query({"region": ["Atlantis", "UG"]}), queryset=Service.objects.published())
    assert {service.name for service in filterset.qs} == expect(world, "restore")
    assert any("Atlantis" in problem for problem in filterset.problems())
    filterset = ServiceFilter(query({"need": ["legal-aid", "no-such-need"]}), queryset=Service.objects.published())
    assert {service.name for service in filterset.qs} == expect(world, "legal")
    assert filterset.problems() == ["We have no need called “no-such-need”."]


def test_open_now_off_words_mean_off(world):
    monday_noon_utc = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
    everyone = names({})
    for off in ("0", "off", "false", "no", ""):
        assert names({"open_now": off}, now=monday_noon_utc) == everyone


def test_a_service_that_is_not_active_is_never_open_now(world):
    Service.objects.filter(pk=world["hotline"].pk).update(status=Service.Status.TEMPORARILY_CLOSED)
    monday_noon_utc = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
    assert "National Trafficking Line" not in names({"open_now": "on"}, now=monday_noon_utc)
    hotline = Service.objects.for_listing().get(pk=world["hotline"].pk)
    assert hotline.open_state(monday_noon_utc) is False


def test_hours_of_a_place_count_when_the_service_has_none(world):
    from .conftest import make_location, make_schedule, make_service, make_service_at_location

    drop_in = make_service(name="Drop-in Centre")
    centre = make_location(country="US", state_province="TX", city="Austin")
    make_service_at_location(drop_in, centre)
    make_schedule(location=centre, open_24_7=True)
    assert "Drop-in Centre" in names({"open_now": "on"})


def test_a_city_area_does_not_leak_into_a_sibling_subdivision(world):
    from .conftest import make_area, make_service

    entebbe = make_service(name="Entebbe Outreach")
    # Entebbe lies in the Central region (UG-C) but not in Kampala (UG-102).
    make_area(entebbe, ServiceArea.Kind.CITY, country="UG", subdivision="UG-C", city="Entebbe")
    assert "Entebbe Outreach" in names({"region": "UG-C"})
    assert "Entebbe Outreach" in names({"region": "UG"})
    assert "Entebbe Outreach" not in names({"region": "UG-102"})


def test_a_mailing_address_does_not_put_a_service_in_a_region(world):
    from .conftest import make_location, make_service, make_service_at_location

    remote = make_service(name="Remote Advice Line")
    make_service_at_location(remote, make_location(country="GB", location_type="postal"))
    assert "Remote Advice Line" not in names({"region": "GB"})


def test_language_of_a_phone_line_or_a_place_is_found(world):
    from .conftest import make_language

    phone = world["hotline"].phones.first()
    make_language(phone=phone, code="fr")
    place = world["legal"].service_at_locations.first().location
    make_language(location=place, code="vi")
    assert names({"language": "fr"}) == expect(world, "hotline")
    assert names({"language": "vi"}) == expect(world, "legal")
