import datetime
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from resources.admin import HotlineInline
from resources.models import (
    Address,
    Hotline,
    Language,
    Location,
    Organization,
    Phone,
    PublicService,
    Schedule,
    SearchSynonym,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

from .conftest import (
    make_area,
    make_hotline,
    make_language,
    make_location,
    make_organization,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
)

pytestmark = pytest.mark.django_db

SERVICES = "/admin/resources/service/"
PUBLIC = "/admin/resources/publicservice/"


def listed(response):
    """The services a changelist shows (every page), as names."""
    assert response.status_code == HTTPStatus.OK
    return {obj.name for obj in response.context["cl"].queryset}


@pytest.fixture
def catalogue(needs):
    """One of everything, linked the way real data is."""
    organization = make_organization(name="Polaris Project")
    service = make_service(
        organization=organization, name="National Human Trafficking Hotline", terms=[needs["reporting-trafficking"]]
    )
    make_hotline(service)
    phone = make_phone(number="1-888-373-7888", country="US", service=service)
    location = make_location(name="Kampala drop-in centre", country="UG", city="Kampala", organization=organization)
    return {
        "organization": organization,
        "service": service,
        "publicservice": PublicService.objects.get(pk=service.pk),
        "phone": phone,
        "schedule": make_schedule(service=service, open_24_7=True),
        "language": make_language("es", service=service),
        "servicearea": make_area(service, ServiceArea.Kind.COUNTRY, country="US"),
        "location": location,
        "address": location.addresses.get(),
        "serviceatlocation": make_service_at_location(service, location),
        "taxonomy": Taxonomy.objects.get(slug=Taxonomy.NEEDS),
        "taxonomyterm": needs["record-clearing"],
    }


def test_every_model_is_registered_and_hotline_facts_are_a_service_inline():
    registered = set(admin.site._registry)
    for model in (
        Organization,
        Service,
        PublicService,
        Location,
        Address,
        ServiceAtLocation,
        ServiceArea,
        Phone,
        Schedule,
        Language,
        Taxonomy,
        TaxonomyTerm,
    ):
        assert model in registered
    assert Hotline not in registered
    assert HotlineInline in admin.site._registry[Service].inlines
    assert HotlineInline.max_num == 1


@pytest.mark.parametrize(
    "model",
    [
        "organization",
        "service",
        "publicservice",
        "location",
        "address",
        "serviceatlocation",
        "servicearea",
        "phone",
        "schedule",
        "language",
        "taxonomy",
        "taxonomyterm",
    ],
)
def test_changelist_and_change_page_load_with_data(admin_client, catalogue, model):
    obj = catalogue[model]
    changelist = admin_client.get(f"/admin/resources/{model}/")
    assert changelist.status_code == HTTPStatus.OK
    assert obj.pk in {row.pk for row in changelist.context["cl"].result_list}
    change = admin_client.get(f"/admin/resources/{model}/{obj.pk}/change/")
    assert change.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "model",
    [
        "organization",
        "service",
        "location",
        "address",
        "serviceatlocation",
        "servicearea",
        "phone",
        "schedule",
        "language",
        "taxonomy",
        "taxonomyterm",
    ],
)
def test_add_page_loads(admin_client, catalogue, model):
    assert admin_client.get(f"/admin/resources/{model}/add/").status_code == HTTPStatus.OK


def test_search_pages_with_a_search_term_load(admin_client, catalogue):
    for model in ("organization", "location", "address", "phone", "language", "taxonomyterm", "publicservice"):
        assert admin_client.get(f"/admin/resources/{model}/", {"q": "Kampala"}).status_code == HTTPStatus.OK


def test_service_list_query_count_does_not_grow_with_rows(admin_client, needs):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(SERVICES).status_code == HTTPStatus.OK
        return len(queries)

    make_hotline(make_service(terms=[needs["t-visa"]]))
    one = count_queries()
    for _ in range(5):
        make_hotline(make_service(organization=make_organization(), terms=[needs["legal-aid"]]))
        make_service()
    assert count_queries() == one


# --- list filters --------------------------------------------------------------------------------------


def test_need_filter_includes_services_tagged_with_a_sub_need(admin_client, needs):
    make_service(name="Parent tagged", terms=[needs["legal-aid"]])
    make_service(name="Child tagged", terms=[needs["record-clearing"]])
    make_service(name="Other need", terms=[needs["t-visa"]])
    make_service(name="Untagged")

    assert listed(admin_client.get(SERVICES, {"need": "legal-aid"})) == {"Parent tagged", "Child tagged"}
    assert listed(admin_client.get(SERVICES, {"need": "record-clearing"})) == {"Child tagged"}


def test_need_filter_offers_the_tree_and_an_unknown_need_matches_nothing(admin_client, needs):
    make_service(name="Parent tagged", terms=[needs["legal-aid"]])
    response = admin_client.get(SERVICES)
    assert "— Record clearing" in response.text
    assert listed(admin_client.get(SERVICES, {"need": "no-such-need"})) == set()
    assert listed(admin_client.get(SERVICES, {"need": "\x00"})) == set()


def test_country_filter_matches_service_areas_and_location_addresses(admin_client):
    by_area = make_service(name="Area in Uganda")
    make_area(by_area, ServiceArea.Kind.SUBDIVISION, subdivision="UG-102")
    by_location = make_service(name="Located in Uganda")
    make_service_at_location(by_location, make_location(country="UG", city="Kampala"))
    american = make_service(name="American")
    make_area(american, ServiceArea.Kind.COUNTRY, country="US")
    make_service(name="Nowhere")

    assert listed(admin_client.get(SERVICES, {"country": "UG"})) == {"Area in Uganda", "Located in Uganda"}
    assert listed(admin_client.get(SERVICES, {"country": "US"})) == {"American"}
    assert listed(admin_client.get(SERVICES, {"country": "FR"})) == set()


def test_country_filter_offers_only_countries_in_use_by_name(admin_client):
    make_area(make_service(), ServiceArea.Kind.COUNTRY, country="UG")
    make_location(country="FR")  # a location no service uses
    response = admin_client.get(SERVICES)
    assert "?country=UG" in response.text
    assert "Uganda" in response.text
    assert "?country=FR" not in response.text
    assert "?country=US" not in response.text


def test_stale_filter_finds_never_and_long_ago_verified(admin_client):
    today = timezone.localdate()
    make_service(name="Never verified")
    make_service(name="Verified long ago", assured_date=today - datetime.timedelta(days=400))
    make_service(name="Verified just over a year ago", assured_date=today - datetime.timedelta(days=366))
    make_service(name="Verified a year ago today", assured_date=today - datetime.timedelta(days=365))
    make_service(name="Verified recently", assured_date=today - datetime.timedelta(days=10))

    stale = {"Never verified", "Verified long ago", "Verified just over a year ago"}
    assert listed(admin_client.get(SERVICES, {"verified": "stale"})) == stale
    assert listed(admin_client.get(SERVICES, {"verified": "current"})) == {
        "Verified a year ago today",
        "Verified recently",
    }


def test_stale_and_unverified_services_are_labelled_in_the_list(admin_client):
    make_service(name="Never verified")
    make_service(name="Verified long ago", assured_date=timezone.localdate() - datetime.timedelta(days=400))
    text = admin_client.get(SERVICES).text
    assert "Not verified" in text
    assert "<strong>Stale</strong>" in text


def test_hotline_filter(admin_client):
    make_hotline(make_service(name="A hotline"))
    make_service(name="A program")
    assert listed(admin_client.get(SERVICES, {"hotline": "yes"})) == {"A hotline"}
    assert listed(admin_client.get(SERVICES, {"hotline": "no"})) == {"A program"}


def test_review_state_and_status_filters(admin_client):
    make_service(name="Draft", review_state=Service.ReviewState.DRAFT)
    make_service(name="Published")
    make_service(name="Closed", status=Service.Status.DEFUNCT)
    assert listed(admin_client.get(SERVICES, {"review_state__exact": "draft"})) == {"Draft"}
    assert listed(admin_client.get(SERVICES, {"status__exact": "defunct"})) == {"Closed"}


def test_location_filters_and_confidential_mark(admin_client):
    make_location(name="Safe house", is_confidential=True)
    make_location(name="Drop-in centre")
    response = admin_client.get("/admin/resources/location/", {"is_confidential__exact": "1"})
    assert listed(response) == {"Safe house"}
    assert "CONFIDENTIAL" in response.text
    response = admin_client.get("/admin/resources/location/", {"is_confidential__exact": "0"})
    assert listed(response) == {"Drop-in centre"}
    assert "CONFIDENTIAL" not in response.text
    virtual = admin_client.get("/admin/resources/location/", {"location_type__exact": "virtual"})
    assert listed(virtual) == set()


def test_taxonomy_term_filter_by_taxonomy_and_search(admin_client, needs, populations):
    terms = "/admin/resources/taxonomyterm/"
    needs_taxonomy = Taxonomy.objects.get(slug=Taxonomy.NEEDS)
    by_taxonomy = listed(admin_client.get(terms, {"taxonomy__id__exact": needs_taxonomy.pk}))
    assert "T visa" in by_taxonomy
    assert "women" not in by_taxonomy
    assert listed(admin_client.get(terms, {"q": "visa"})) == {"T visa"}


# --- search --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["888-373-7888", "1 (888) 373-7888", "+1 888 373 7888", "8883737888"])
def test_search_finds_a_service_by_its_phone_number_however_typed(admin_client, query):
    make_phone(number="+18883737888", service=make_service(name="Trafficking hotline"))
    make_phone(number="+18663472423", service=make_service(name="Tip line"))
    make_service(name="No phone")
    assert listed(admin_client.get(SERVICES, {"q": query})) == {"Trafficking hotline"}


def test_phone_search_keeps_the_active_filters(admin_client):
    make_phone(number="+18883737888", service=make_service(name="Published line"))
    make_phone(number="+18883737888", service=make_service(name="Draft line", review_state="draft"))
    response = admin_client.get(SERVICES, {"q": "888-373-7888", "review_state__exact": "draft"})
    assert listed(response) == {"Draft line"}


def test_search_by_name_alternate_name_and_organization(admin_client):
    make_service(name="WE Restore", organization=make_organization(name="WE International"))
    make_service(name="Safe Horizon", alternate_name="Anti-Trafficking Program")
    make_service(name="Unrelated")
    assert listed(admin_client.get(SERVICES, {"q": "restore"})) == {"WE Restore"}
    assert listed(admin_client.get(SERVICES, {"q": "WE International"})) == {"WE Restore"}
    assert listed(admin_client.get(SERVICES, {"q": "anti-trafficking"})) == {"Safe Horizon"}


def test_curators_search_like_the_public_with_misspellings_and_synonyms(admin_client, needs):
    make_service(name="Harbour House", description="Emergency shelter for survivors.")
    make_service(name="Unrelated")
    assert listed(admin_client.get(SERVICES, {"q": "shleter"})) == {"Harbour House"}
    assert listed(admin_client.get(SERVICES, {"q": "refugio"})) == {"Harbour House"}


def test_curators_edit_search_synonyms(admin_client):
    response = admin_client.post(
        "/admin/resources/searchsynonym/add/", {"phrases": "flatshare, tenancy", "note": "UK and US words"}
    )
    assert response.status_code == 302
    assert SearchSynonym.objects.get(note="UK and US words").phrase_list() == ["flatshare", "tenancy"]
    response = admin_client.post("/admin/resources/searchsynonym/add/", {"phrases": "lonely"})
    assert response.status_code == 200
    assert "at least two" in response.content.decode()


def test_phone_admin_search_finds_numbers_however_typed(admin_client):
    make_phone(number="+18883737888", service=make_service())
    make_phone(number="+18663472423", service=make_service())
    response = admin_client.get("/admin/resources/phone/", {"q": "(888) 373-7888"})
    assert {phone.number for phone in response.context["cl"].queryset} == {"+18883737888"}


NONSENSE = [
    '"',
    "'",
    '"unbalanced',
    "it's",
    "100%",
    "%_%",
    "\\",
    "😀🆘",
    "a\x00b",
    "\x00",
    "x" * 5000,
    "a " * 2500,
    "1 " * 2500,
    "() OR 1=1; --",
    "NEAR(a b) AND * ^",
]


@pytest.mark.parametrize("query", NONSENSE)
@pytest.mark.parametrize("path", [SERVICES, PUBLIC, "/admin/resources/phone/", "/admin/resources/location/"])
def test_search_survives_nonsense(admin_client, path, query):
    make_phone(number="+18883737888", service=make_service(name="Trafficking hotline"))
    response = admin_client.get(path, {"q": query})
    assert response.status_code == HTTPStatus.OK
    assert "cl" in response.context


@pytest.mark.parametrize("query", ["x" * 5000, "zz%zz", '"zz"', "😀"])
def test_nonsense_search_finds_nothing_rather_than_everything(admin_client, query):
    make_phone(number="+18883737888", service=make_service(name="Trafficking hotline"))
    assert listed(admin_client.get(SERVICES, {"q": query})) == set()
    assert listed(admin_client.get(SERVICES, {"q": "hotline"})) == {"Trafficking hotline"}


def test_search_with_a_nul_character_is_refused_with_a_message(admin_client):
    make_service(name="Trafficking hotline")
    response = admin_client.get(SERVICES, {"q": "zz\x00zz"}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "Null characters are not allowed." in response.text
    assert response.context["cl"].query == ""


def test_autocomplete_survives_nonsense(admin_client):
    make_service(name="Trafficking hotline")
    for query in ("a\x00b", "a " * 2500, "😀"):
        response = admin_client.get(
            "/admin/autocomplete/",
            {"term": query, "app_label": "resources", "model_name": "serviceatlocation", "field_name": "service"},
        )
        assert response.status_code == HTTPStatus.OK


# --- actions -------------------------------------------------------------------------------------------


def run_action(client, action, services):
    return client.post(
        SERVICES, {"action": action, "_selected_action": [service.pk for service in services]}, follow=True
    )


def test_publish_action_publishes_the_selected_and_records_who(admin_client, admin_user):
    first = make_service(review_state=Service.ReviewState.DRAFT)
    second = make_service(review_state=Service.ReviewState.PENDING)
    untouched = make_service(review_state=Service.ReviewState.DRAFT)
    response = run_action(admin_client, "publish", [first, second])
    assert "Published 2 services." in response.text
    for service in (first, second):
        service.refresh_from_db()
        assert service.review_state == Service.ReviewState.PUBLISHED
        assert service.review_state_changed_by == admin_user
        assert service.review_state_changed_at is not None
    untouched.refresh_from_db()
    assert untouched.review_state == Service.ReviewState.DRAFT
    assert untouched.review_state_changed_by is None


def test_publish_action_says_how_many_were_already_published(admin_client):
    response = run_action(admin_client, "publish", [make_service(), make_service(review_state="draft")])
    assert "Published 1 service. 1 already published." in response.text


def test_archive_action_archives_and_records_who(admin_client, admin_user):
    service = make_service()
    other = make_service()
    response = run_action(admin_client, "archive", [service])
    assert "Archived 1 service." in response.text
    service.refresh_from_db()
    other.refresh_from_db()
    assert service.review_state == Service.ReviewState.ARCHIVED
    assert service.review_state_changed_by == admin_user
    assert other.review_state == Service.ReviewState.PUBLISHED


def test_send_back_to_review_takes_a_listing_out_of_public_view(admin_client, admin_user, client):
    service = make_service()
    other = make_service()
    response = run_action(admin_client, "return_to_review", [service])
    assert "Sent 1 service back to review." in response.text
    service.refresh_from_db()
    other.refresh_from_db()
    assert service.review_state == Service.ReviewState.PENDING
    assert service.review_state_changed_by == admin_user
    assert other.review_state == Service.ReviewState.PUBLISHED
    assert client.get(service.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_mark_verified_records_today_and_the_curator(admin_client, admin_user):
    stale = make_service(assured_date=timezone.localdate() - datetime.timedelta(days=400))
    never = make_service()
    other = make_service()
    response = run_action(admin_client, "mark_verified", [stale, never])
    assert "Marked 2 services verified" in response.text
    for service in (stale, never):
        service.refresh_from_db()
        assert service.assured_date == timezone.localdate()
        assert service.assurer == admin_user
        assert service.assurer_email == admin_user.email
        assert not service.is_stale
    other.refresh_from_db()
    assert other.assured_date is None
    assert other.assurer is None


def test_review_fields_are_read_only_on_the_form(admin_client):
    service = make_service(review_state=Service.ReviewState.DRAFT)
    response = admin_client.get(f"{SERVICES}{service.pk}/change/")
    form = response.context["adminform"].form
    for field in ("review_state", "review_state_changed_at", "review_state_changed_by", "assured_date", "assurer"):
        assert field not in form.fields
    assert "name" in form.fields
    # Needs, populations and trafficking types are edited in their inline.
    assert "attributes" in {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}


# --- public listings (read-only) -----------------------------------------------------------------------


def test_public_listings_show_only_published_services_that_are_not_defunct(admin_client):
    make_service(name="Published")
    make_service(name="Temporarily closed", status=Service.Status.TEMPORARILY_CLOSED)
    make_service(name="Draft", review_state=Service.ReviewState.DRAFT)
    make_service(name="Pending", review_state=Service.ReviewState.PENDING)
    make_service(name="Archived", review_state=Service.ReviewState.ARCHIVED)
    make_service(name="Defunct", status=Service.Status.DEFUNCT)
    assert listed(admin_client.get(PUBLIC)) == {"Published", "Temporarily closed"}


def test_public_listing_refuses_add_change_and_delete(admin_client):
    service = make_service(name="Published")
    assert admin_client.get(f"{PUBLIC}add/").status_code == HTTPStatus.FORBIDDEN
    assert admin_client.post(f"{PUBLIC}add/", {"name": "New"}).status_code == HTTPStatus.FORBIDDEN
    change = admin_client.post(f"{PUBLIC}{service.pk}/change/", {"name": "Renamed"})
    assert change.status_code == HTTPStatus.FORBIDDEN
    assert admin_client.post(f"{PUBLIC}{service.pk}/delete/", {"post": "yes"}).status_code == HTTPStatus.FORBIDDEN
    service.refresh_from_db()
    assert service.name == "Published"
    assert Service.objects.count() == 1


def test_public_listing_is_read_only_and_links_to_the_public_page(admin_client):
    service = make_service(name="Published")
    response = admin_client.get(f"{PUBLIC}{service.pk}/change/")
    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.fields == {}
    assert f'href="/services/{service.uuid}/"' in response.text
    assert "viewsitelink" in response.text


def test_public_listing_does_not_show_an_unpublished_service(admin_client):
    draft = make_service(review_state=Service.ReviewState.DRAFT)
    published = make_service()
    response = admin_client.get(f"{PUBLIC}{draft.pk}/change/")
    # The admin's answer for an object outside the queryset: back to the index, "doesn't exist".
    assert response.status_code == HTTPStatus.FOUND
    assert admin_client.get(f"{PUBLIC}{published.pk}/change/").status_code == HTTPStatus.OK


def test_public_listing_needs_the_service_view_permission(client, django_user_model):
    make_service(name="Published")
    staff = django_user_model.objects.create_user("curator", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(PUBLIC).status_code == HTTPStatus.FORBIDDEN
    staff.user_permissions.add(Permission.objects.get(codename="view_service"))
    response = client.get(PUBLIC)
    assert listed(response) == {"Published"}
    assert client.get(f"{PUBLIC}add/").status_code == HTTPStatus.FORBIDDEN


def test_service_view_on_site_only_for_public_services(admin_client):
    public = make_service()
    draft = make_service(review_state=Service.ReviewState.DRAFT)
    assert f"/services/{public.uuid}/" in admin_client.get(f"{SERVICES}{public.pk}/change/").text
    assert f"/services/{draft.uuid}/" not in admin_client.get(f"{SERVICES}{draft.pk}/change/").text


# --- writing through the forms -------------------------------------------------------------------------


def form_errors(response):
    """The form and inline errors of a re-shown admin form, for a failing assertion's message."""
    if response.context is None:
        return response.status_code
    inline_errors = [inline.formset.errors for inline in response.context.get("inline_admin_formsets", [])]
    return response.context["adminform"].form.errors, inline_errors


def formset_data(response, **rows):
    """POST data for every inline on an add/change page: its management form, and the given rows.

    rows maps an inline prefix to a list of dicts of field values.
    """
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        given = rows.get(formset.prefix, [])
        data[f"{formset.prefix}-TOTAL_FORMS"] = len(given)
        data[f"{formset.prefix}-INITIAL_FORMS"] = 0
        data[f"{formset.prefix}-MIN_NUM_FORMS"] = 0
        data[f"{formset.prefix}-MAX_NUM_FORMS"] = 1000
        for index, row in enumerate(given):
            for name, value in row.items():
                data[f"{formset.prefix}-{index}-{name}"] = value
    assert set(rows) <= {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    return data


def test_add_service_with_inline_phone_and_hours_stores_e164(admin_client, needs):
    organization = make_organization()
    page = admin_client.get(f"{SERVICES}add/")
    data = formset_data(
        page,
        attributes=[{"taxonomy_term": needs["t-visa"].pk}],
        phones=[{"number": "1-888-373-7888", "country": "US", "type": "voice", "position": 0}],
        schedules=[{"open_24_7": "on", "timezone": "America/New_York"}],
        languages=[{"code": "es"}],
        service_areas=[{"kind": "country", "country": "US"}],
    )
    data.update({"organization": organization.pk, "name": "New hotline", "status": "active"})
    response = admin_client.post(f"{SERVICES}add/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    service = Service.objects.get(name="New hotline")
    assert list(service.phones.values_list("number", flat=True)) == ["+18883737888"]
    assert service.schedules.get().open_24_7
    assert service.languages.get().code == "es"
    assert service.service_areas.get().country == "US"
    assert list(service.terms.all()) == [needs["t-visa"]]
    assert service.review_state == Service.ReviewState.DRAFT


def test_add_service_with_a_bad_phone_shows_the_error_and_writes_nothing(admin_client):
    organization = make_organization()
    page = admin_client.get(f"{SERVICES}add/")
    data = formset_data(page, phones=[{"number": "12", "country": "US", "type": "voice", "position": 0}])
    data.update({"organization": organization.pk, "name": "New hotline", "status": "active"})
    response = admin_client.post(f"{SERVICES}add/", data)
    assert response.status_code == HTTPStatus.OK
    assert "not a valid phone number" in response.text or "not a phone number" in response.text
    assert not Service.objects.filter(name="New hotline").exists()
    assert not Phone.objects.exists()


def test_add_service_with_hotline_facts_and_location(admin_client):
    organization = make_organization()
    location = make_location(name="Shelter", is_confidential=True)
    page = admin_client.get(f"{SERVICES}add/")
    data = formset_data(
        page,
        hotline=[
            {
                "operator_kind": "law_enforcement",
                "confidential": "unknown",
                "anonymous_allowed": "yes",
                "contacts_police": "always",
                "contacts_immigration": "unknown",
                "asks_for_id": "unknown",
                "asks_immigration_status": "unknown",
            }
        ],
        service_at_locations=[{"location": location.pk}],
    )
    data.update({"organization": organization.pk, "name": "Tip line", "status": "active"})
    response = admin_client.post(f"{SERVICES}add/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    service = Service.objects.get(name="Tip line")
    assert service.hotline.is_law_enforcement
    assert list(service.service_at_locations.values_list("location", flat=True)) == [location.pk]


def test_hotline_facts_are_validated(admin_client):
    organization = make_organization()
    page = admin_client.get(f"{SERVICES}add/")
    data = formset_data(
        page,
        hotline=[
            {
                "operator_kind": "law_enforcement",
                "confidential": "unknown",
                "anonymous_allowed": "unknown",
                "contacts_police": "never",
                "contacts_immigration": "unknown",
                "asks_for_id": "unknown",
                "asks_immigration_status": "unknown",
            }
        ],
    )
    data.update({"organization": organization.pk, "name": "Tip line", "status": "active"})
    response = admin_client.post(f"{SERVICES}add/", data)
    assert response.status_code == HTTPStatus.OK
    assert "cannot be true" in response.text
    assert not Service.objects.exists()


def test_editing_a_service_adds_a_phone_to_it(admin_client):
    service = make_service(name="Hotline")
    page = admin_client.get(f"{SERVICES}{service.pk}/change/")
    data = formset_data(page, phones=[{"number": "(866) 347-2423", "country": "us", "type": "voice", "position": 0}])
    data.update({"organization": service.organization.pk, "name": "Hotline", "status": "active"})
    response = admin_client.post(f"{SERVICES}{service.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    assert list(service.phones.values_list("number", "country")) == [("+18663472423", "US")]


def test_phone_admin_refuses_a_phone_without_owner(admin_client):
    response = admin_client.post(
        "/admin/resources/phone/add/", {"number": "+18883737888", "type": "voice", "position": 0}
    )
    assert response.status_code == HTTPStatus.OK
    assert "A phone belongs to a service, location, organization, contact or service at location." in response.text
    assert not Phone.objects.exists()


def test_add_location_with_address_derives_the_subdivision(admin_client):
    page = admin_client.get("/admin/resources/location/add/")
    data = formset_data(page, addresses=[{"address_type": "physical", "state_province": "Texas", "country": "US"}])
    data.update({"name": "Houston office", "location_type": "physical"})
    response = admin_client.post("/admin/resources/location/add/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    address = Address.objects.get(location__name="Houston office")
    assert address.subdivision == "US-TX"


def test_taxonomy_term_refuses_a_parent_from_another_taxonomy(admin_client, needs, populations):
    term = populations["women"]
    response = admin_client.post(
        f"/admin/resources/taxonomyterm/{term.pk}/change/",
        {
            "taxonomy": term.taxonomy_id,
            "parent": needs["legal-aid"].pk,
            "code": "women",
            "name": "women",
            "position": 0,
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert "same taxonomy" in response.text
    term.refresh_from_db()
    assert term.parent is None


# --- organizations -------------------------------------------------------------------------------------


def test_organization_page_lists_its_services_only(admin_client):
    organization = make_organization(name="WE International")
    make_service(organization=organization, name="WE Restore")
    make_service(organization=organization, name="WE Drafts", review_state=Service.ReviewState.DRAFT)
    make_service(name="Someone else's service")
    response = admin_client.get(f"/admin/resources/organization/{organization.pk}/change/")
    assert "WE Restore" in response.text
    assert "WE Drafts" in response.text
    assert "Someone else&#x27;s service" not in response.text
    assert "Someone else's service" not in response.text
    assert f"?organization__id__exact={organization.pk}" in response.text


def test_organization_services_link_filters_the_service_list(admin_client):
    organization = make_organization(name="WE International")
    make_service(organization=organization, name="WE Restore")
    make_service(name="Someone else's service")
    assert listed(admin_client.get(SERVICES, {"organization__id__exact": organization.pk})) == {"WE Restore"}


def test_organization_phone_inline_stores_e164(admin_client):
    organization = make_organization(name="WE International")
    page = admin_client.get(f"/admin/resources/organization/{organization.pk}/change/")
    data = formset_data(page, phones=[{"number": "031 2345678", "country": "UG", "type": "voice", "position": 0}])
    data.update({"name": "WE International", "description": "Helps people.", "website": "weinternational.org"})
    response = admin_client.post(f"/admin/resources/organization/{organization.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    assert organization.phones.get().number == "+256312345678"
    organization.refresh_from_db()
    assert organization.website == "https://weinternational.org"


def test_location_inlines_save_to_the_location(admin_client):
    location = make_location(name="Drop-in centre", city="Kampala", country="UG")
    other = make_location(name="Elsewhere")
    page = admin_client.get(f"/admin/resources/location/{location.pk}/change/")
    assert "Kampala" in page.text
    data = formset_data(
        page,
        phones=[{"number": "031 2345678", "country": "UG", "type": "voice", "position": 0}],
        schedules=[{"byday": "MO", "opens_at": "09:00", "closes_at": "17:00", "timezone": "Africa/Kampala"}],
        languages=[{"code": "lg"}],
    )
    data.update({"name": "Drop-in centre", "location_type": "physical"})
    response = admin_client.post(f"/admin/resources/location/{location.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    assert location.phones.get().number == "+256312345678"
    assert str(location.schedules.get()) == "Monday: 09:00–17:00"
    assert location.languages.get().code == "lg"
    assert location.addresses.count() == 1
    assert not other.phones.exists()
    assert not Phone.objects.filter(service__isnull=False).exists()


def test_admin_history_never_holds_a_confidential_street_address(admin_client):
    from django.contrib.admin.models import LogEntry

    from .conftest import make_location

    location = make_location(
        country="US", state_province="TX", city="Austin", address_1="9 Hidden Lane", is_confidential=True
    )
    address = location.addresses.get()
    data = {
        "location": location.pk,
        "address_type": "physical",
        "address_1": "9 Hidden Lane",
        "city": "Austin",
        "state_province": "TX",
        "country": "US",
        "postal_code": "78701",
    }
    response = admin_client.post(f"/admin/resources/address/{address.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND
    entries = list(LogEntry.objects.values_list("object_repr", "change_message"))
    assert entries
    assert not any("Hidden Lane" in repr_ + message for repr_, message in entries)
