import io
import json
import shutil

import pytest
from django.apps import apps
from django.core.management import call_command

from resources import regions
from resources.demo import DATA_DIR, DemoDataError, load_demo_data
from resources.models import Hotline, Location, Phone, Service, Taxonomy, TaxonomyTerm

pytestmark = pytest.mark.django_db

NHTH = "National Human Trafficking Hotline"
TIP_LINE = "Homeland Security Investigations tip line"
WE_RESTORE = "WE Restore"
US_WIDE_HOTLINES = {
    NHTH,
    TIP_LINE,
    "988 Suicide & Crisis Lifeline",
    "National Domestic Violence Hotline",
    "Childhelp National Child Abuse Hotline",
    "National Center for Missing & Exploited Children hotline",
}


@pytest.fixture
def loaded(db):
    return load_demo_data()


def snapshot():
    """Every row of every table the app owns, the many-to-many link tables included."""
    models = [m for m in apps.get_app_config("resources").get_models(include_auto_created=True) if not m._meta.proxy]
    return {model._meta.db_table: list(model.objects.order_by("pk").values()) for model in models}


def names(queryset):
    return set(queryset.values_list("name", flat=True))


def test_loads_every_listing(loaded):
    assert loaded.created > 0
    assert Service.objects.count() == 14
    assert {WE_RESTORE, *US_WIDE_HOTLINES} <= names(Service.objects.all())


def test_loading_again_changes_nothing(loaded):
    before = snapshot()
    again = load_demo_data()
    assert snapshot() == before
    assert (again.created, again.updated) == (0, 0)
    assert again.unchanged == loaded.created


def test_an_edit_in_the_file_updates_only_that_row(loaded, tmp_path):
    shutil.copytree(DATA_DIR, tmp_path, dirs_exist_ok=True)
    listings = json.loads((tmp_path / "listings.json").read_text())
    liberty = next(o for o in listings["organizations"] if o["name"] == "Liberty Shared")
    liberty["services"][0]["description"] = "Changed."
    (tmp_path / "listings.json").write_text(json.dumps(listings))
    before = {row["uuid"]: row for row in Service.objects.values()}

    summary = load_demo_data(data_dir=tmp_path)

    assert (summary.created, summary.updated) == (0, 1)
    after = {row["uuid"]: row for row in Service.objects.values()}
    changed = [key for key in after if after[key] != before[key]]
    assert [after[key]["description"] for key in changed] == ["Changed."]
    assert after[changed[0]]["last_modified"] > before[changed[0]]["last_modified"]


def test_languages_in_the_file_are_normalised_like_the_admin_does(loaded, tmp_path):
    shutil.copytree(DATA_DIR, tmp_path, dirs_exist_ok=True)
    listings = json.loads((tmp_path / "listings.json").read_text())
    hotline = next(o for o in listings["organizations"] if o["name"] == NHTH)["services"][0]
    hotline["languages"] = [{"id": "6f1c2a53-0d4e-4b8e-9a51-6a0f3d2b7c11", "code": "spa"}]
    (tmp_path / "listings.json").write_text(json.dumps(listings))

    summary = load_demo_data(data_dir=tmp_path)

    assert (summary.created, summary.updated) == (1, 0)
    assert list(Service.objects.get(name=NHTH).languages.values_list("code", flat=True)) == ["es"]


def test_a_term_missing_from_the_vocabulary_is_refused_and_nothing_is_written(tmp_path):
    shutil.copytree(DATA_DIR, tmp_path, dirs_exist_ok=True)
    listings = json.loads((tmp_path / "listings.json").read_text())
    listings["organizations"][-1]["services"][0]["terms"]["needs"].append("no-such-need")
    (tmp_path / "listings.json").write_text(json.dumps(listings))

    with pytest.raises(DemoDataError, match="no-such-need"):
        load_demo_data(data_dir=tmp_path)
    assert not Service.objects.exists()
    assert not TaxonomyTerm.objects.exists()


def test_every_listing_is_published_active_and_not_yet_verified(loaded):
    assert Service.objects.published().count() == Service.objects.count()
    assert set(Service.objects.values_list("review_state", "status")) == {("published", "active")}
    assert not Service.objects.filter(assured_date__isnull=False).exists()
    assert all(service.is_stale for service in Service.objects.all())


def test_national_hotline_has_its_call_and_text_numbers(loaded):
    hotline = Service.objects.get(name=NHTH)
    assert set(hotline.phones.values_list("type", "number", "country")) == {
        (Phone.Type.VOICE, "+18883737888", "US"),
        (Phone.Type.TEXT, "233733", "US"),
    }
    assert hotline.hotline.operator_kind == Hotline.OperatorKind.NON_GOVERNMENTAL
    assert hotline.hotline.confidential == "yes"
    assert hotline.schedules.get().open_24_7


def test_text_keyword_and_short_codes_are_kept(loaded):
    domestic = Service.objects.get(name="National Domestic Violence Hotline")
    assert domestic.phones.get(type=Phone.Type.TEXT).sms_href == "sms:88788?&body=START"
    lifeline = Service.objects.get(name="988 Suicide & Crisis Lifeline")
    assert set(lifeline.phones.values_list("type", "number")) == {("voice", "988"), ("text", "988")}


def test_tip_line_is_law_enforcement_and_says_so(loaded):
    facts = Service.objects.get(name=TIP_LINE).hotline
    assert facts.is_law_enforcement
    assert facts.anonymous_allowed == "yes"
    assert facts.contacts_police == Hotline.Reporting.ALWAYS


def test_every_hotline_has_facts_a_phone_and_the_crisis_need(loaded):
    with_facts = names(Service.objects.hotlines())
    with_need = names(Service.objects.filter(terms__code="crisis-hotlines"))
    assert with_facts == with_need
    assert with_facts >= US_WIDE_HOTLINES
    assert not Service.objects.hotlines().filter(phones__isnull=True).exists()


def test_we_restore_is_found_in_uganda(loaded):
    found = names(Service.objects.published().in_region(regions.parse_region("UG")))
    assert WE_RESTORE in found
    assert NHTH not in found


def test_we_restore_location_is_confidential_and_only_its_country_is_known(loaded):
    location = Location.objects.get(service_at_locations__service__name=WE_RESTORE)
    assert location.is_confidential
    address = location.addresses.get()
    assert (address.country, address.city, address.address_1, location.latitude) == ("UG", "", "", None)


def test_texas_finds_us_wide_hotlines_and_not_other_countries(loaded):
    found = names(Service.objects.published().in_region(regions.parse_region("US-TX")))
    assert found >= US_WIDE_HOTLINES
    assert WE_RESTORE not in found
    assert "Canadian Human Trafficking Hotline" not in found
    assert "Modern Slavery & Exploitation Helpline" not in found


def test_reporting_need_finds_the_tip_line(loaded):
    reporting = TaxonomyTerm.objects.of(Taxonomy.NEEDS).filter(code="reporting-trafficking")
    found = names(Service.objects.published().with_any_term(TaxonomyTerm.objects.with_descendant_ids(reporting)))
    assert TIP_LINE in found
    assert WE_RESTORE not in found


def test_needs_tree_has_its_parents_in_order(loaded):
    needs = TaxonomyTerm.objects.of(Taxonomy.NEEDS)
    children = {
        parent: list(needs.filter(parent__code=parent).order_by("position").values_list("code", flat=True))
        for parent in ("legal-aid", "immigration-relief")
    }
    assert children == {
        "legal-aid": ["legal-aid-criminal", "legal-aid-civil", "record-clearing"],
        "immigration-relief": ["t-visa", "u-visa", "continued-presence"],
    }
    assert needs.filter(parent__isnull=False).count() == 6
    assert needs.get(code="crisis-hotlines").parent is None
    assert needs.count() == 25


def test_vocabularies_hold_populations_and_trafficking_types(loaded):
    assert TaxonomyTerm.objects.of(Taxonomy.POPULATIONS).count() == 11
    assert set(TaxonomyTerm.objects.of(Taxonomy.TRAFFICKING_TYPES).values_list("code", flat=True)) == {
        "sex-trafficking",
        "labour-trafficking",
    }


def test_command_loads_and_prints_one_summary_line(db):
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert Service.objects.count() == 14
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Demo data: ")
    assert " created, 0 updated, 0 unchanged" in lines[0]

    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert "Demo data: 0 created, 0 updated, " in out.getvalue()
