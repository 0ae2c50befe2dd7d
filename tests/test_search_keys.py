"""The keys column of the search index (migration 0007): for every service, the facts its filters and facet
counts need, as tokens, kept current by the database's triggers whatever writes (the ORM, raw SQL, the
importer, search.bulk_index). Each test compares what the index holds with `expected_keys`, worked out here
in Python from the ORM, and the keys' meaning with the querysets the filters use. Run on SQLite (FTS5) and
PostgreSQL (tsvector)."""

import datetime
import io
import json
import re

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from resources import geo, regions, search
from resources.demo import load_demo_data
from resources.hsds import importer, mapping
from resources.models import (
    Address,
    Hotline,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTerm,
    Taxonomy,
    TaxonomyTerm,
)

from .conftest import (
    make_area,
    make_hotline,
    make_language,
    make_location,
    make_phone,
    make_schedule,
    make_service,
    make_service_at_location,
    make_term,
)

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"^[a-z0-9]+0$")


# --- the reference: a service's keys worked out from the ORM ----------------------------------------------


def _code(value):
    return value.lower().replace("-", "")


def _spans(schedule):
    """(day, first minute, minute after the last) of each stretch of a weekly schedule's open hours, in its
    own day: a day's hours up to midnight, and those of the next day when it closes at or before it opens."""
    opens = schedule.opens_at.hour * 60 + schedule.opens_at.minute + (schedule.opens_at.second > 0)
    closes = schedule.closes_at.hour * 60 + schedule.closes_at.minute
    for day, code in enumerate(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]):
        if code in schedule.byday:
            if schedule.closes_at > schedule.opens_at:
                yield day, opens, closes
            else:
                yield day, opens, 1440
                yield (day + 1) % 7, 0, closes


def open_keys(service):
    """The open-hour keys (the index's hours column), counted minute by minute: each whole hour of a stretch,
    each whole quarter hour in no whole hour, each minute in no whole quarter hour."""
    if service.status != Service.Status.ACTIVE:
        return set()
    keys = set()
    for schedule in Schedule.objects.filter(pk__in=_schedules_of(service)):
        if schedule.open_24_7:
            keys.add("koalways0")
        if schedule.freq not in ("", "WEEKLY") or schedule.opens_at is None or schedule.closes_at is None:
            continue
        zone = re.sub("[^a-z0-9]", "", schedule.timezone.lower())
        for day, first, stop in _spans(schedule):
            minutes = set(range(first, stop))
            hours = {hour for hour in range(24) if set(range(hour * 60, hour * 60 + 60)) <= minutes}
            quarters = {q for q in range(96) if set(range(q * 15, q * 15 + 15)) <= minutes and q // 4 not in hours}
            keys |= {f"ko{zone}{day}{hour:02d}0" for hour in hours}
            keys |= {f"kq{zone}{day}{q:02d}0" for q in quarters}
            keys |= {f"km{zone}{day}{m:04d}0" for m in minutes if m // 15 not in quarters and m // 60 not in hours}
    return keys


def _schedules_of(service):
    places = ServiceAtLocation.objects.filter(service=service).values("location_id")
    own = Schedule.objects.filter(service=service).values_list("pk", flat=True)
    return {*own, *Schedule.objects.filter(location_id__in=places).values_list("pk", flat=True)}


def _language_owners(language):
    """The services a language counts for, as Service.objects.language_offers() reads it: its own service,
    else its phone's service, else the services at its place."""
    if language.service_id:
        return {language.service_id}
    if language.phone_id and language.phone.service_id:
        return {language.phone.service_id}
    if language.location_id:
        return set(
            ServiceAtLocation.objects.filter(location_id=language.location_id).values_list("service_id", flat=True)
        )
    return set()


def checked_keys(service):
    """The keys of the day a listing was last checked (Service.checked_on)."""
    checked = Service.objects.get(pk=service.pk).checked_on
    return {f"kc{checked:%Y%m}0", f"kcd{checked:%Y%m%d}0"}


def expected_keys(service):
    service = Service.objects.get(pk=service.pk)
    keys = {f"kb{service.pk % 1024}0"}
    if service.review_state == Service.ReviewState.PUBLISHED and service.status != Service.Status.DEFUNCT:
        keys.add("kpub0")
    else:
        keys.add("knopub0")
    if service.is_free:
        keys.add("kfree0")
    if service.available_online:
        keys.add("kdonline0")
    keys |= checked_keys(service)
    hotline = Hotline.objects.filter(service=service).first()
    if hotline:
        keys.add("khot0")
        if hotline.chat_url:
            keys.add("kdonline0")
    for link in ServiceTerm.objects.filter(service=service):
        term = link.taxonomy_term
        for _level in range(5):  # the term and 4 levels of ancestors
            keys.add(f"kt{term.pk}0")
            term = term.parent
            if term is None:
                break
    for language in Language.objects.select_related("phone"):
        if service.pk in _language_owners(language):
            keys.add(f"kl{language.code.lower()}0")
    for phone in Phone.objects.filter(service=service):
        if phone.type in Phone.CALL_TYPES:
            keys.add("kdphone0")
        if phone.type == Phone.Type.TEXT:
            keys.add("kdtext0")
    for link in ServiceAtLocation.objects.filter(service=service).select_related("location"):
        if link.location.location_type != Location.Type.PHYSICAL:
            continue
        keys.add("kdinperson0")
        place = link.location
        if place.latitude is not None:
            keys.add("kmap0")
            keys |= {
                geo.cell_key(grid, per_degree, float(place.latitude), float(place.longitude))
                for grid, per_degree in geo.MAP_GRIDS
            }
        for address in link.location.addresses.all():
            keys.add(f"kpc{_code(address.country)}0")
            if address.subdivision:
                keys.add(f"kps{_code(address.subdivision)}0")
    if "kmap0" not in keys:
        keys.add("knomap0")
    for area in ServiceArea.objects.filter(service=service):
        keys.add("karea0")
        if area.kind == ServiceArea.Kind.WORLDWIDE:
            keys.add("kww0")
        if area.country:
            keys.add(f"kac{_code(area.country)}0")
        if area.subdivision:
            keys.add(f"kas{_code(area.subdivision)}0")
        if area.kind == ServiceArea.Kind.COUNTRY:
            keys.add(f"kwc{_code(area.country)}0")
        if area.kind == ServiceArea.Kind.SUBDIVISION:
            keys.add(f"kws{_code(area.subdivision)}0")
    return keys


def stored_keys():
    """{service id: set of keys} as the index holds them, checking their form on the way."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT rowid, keys FROM resources_searchdocument")
            found = {}
            for rowid, text in cursor.fetchall():
                tokens = text.split(" ")
                assert len(tokens) == len(set(tokens)), f"a key twice: {text!r}"
                found[rowid] = set(tokens)
        else:
            cursor.execute("SELECT rowid, tsvector_to_array(keys) FROM resources_searchdocument")
            found = {rowid: set(tokens) for rowid, tokens in cursor.fetchall()}
    for tokens in found.values():
        assert all(TOKEN.match(token) for token in tokens), tokens
    return found


def keys_of(service):
    return stored_keys()[service.pk]


def stored_hours():
    """{service id: set of open-hour keys} as the index's hours column holds them."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT rowid, hours FROM resources_searchdocument")
            found = {rowid: set(text.split()) for rowid, text in cursor.fetchall()}
        else:
            cursor.execute("SELECT rowid, tsvector_to_array(hours) FROM resources_searchdocument")
            found = {rowid: set(tokens) for rowid, tokens in cursor.fetchall()}
    for tokens in found.values():
        assert all(TOKEN.match(token) and token.startswith(("ko", "kq", "km")) for token in tokens), tokens
    return found


def hours_of(service):
    return stored_hours()[service.pk]


def assert_keys_current():
    """Every service has an entry, with exactly the keys and open hours the reference gives; no entry without
    a service. On SQLite, the index's headings are the same entries without their descriptions."""
    expected = {service.pk: expected_keys(service) for service in Service.objects.all()}
    assert stored_keys() == expected
    assert stored_hours() == {service.pk: open_keys(service) for service in Service.objects.all()}
    assert_headings_current()


def assert_headings_current():
    """SQLite: resources_searchheading indexes each entry of the index but its description (migration 0016):
    every word and key at the same place in the same column of the same entry, nothing else."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        indexed = {}
        for table in ("resources_searchdocument", "resources_searchheading"):
            cursor.execute(f"CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, '{table}', 'instance')")
            cursor.execute("SELECT doc, col, offset, term FROM temp.words WHERE col != 'description'")
            indexed[table] = sorted(cursor.fetchall())
            cursor.execute("DROP TABLE temp.words")
    assert indexed["resources_searchheading"] == indexed["resources_searchdocument"]
    assert indexed["resources_searchheading"]


# --- a directory with one of everything -------------------------------------------------------------------


@pytest.fixture
def world(db):
    """Services with everything a key names: a deep tree of terms, languages on services, phones and places,
    phones of every type, physical and virtual places with addresses, areas of each kind, hotlines."""
    chain = [make_term(Taxonomy.NEEDS, "level-0")]
    for level in range(1, 6):
        chain.append(make_term(Taxonomy.NEEDS, f"level-{level}", parent=chain[-1]))
    # chain[0] is the root, chain[5] the deepest term: a link to it names it and 4 ancestors (not the root).
    other = make_term(Taxonomy.POPULATIONS, "women")
    rich = make_service(
        name="Rich",
        terms=[chain[5], other],
        is_free=True,
        assured_date=datetime.date(2026, 11, 5),
    )
    make_language("es", service=rich)
    voice = make_phone(service=rich, type=Phone.Type.VOICE)
    make_language("vi", phone=voice)
    make_phone(service=rich, type=Phone.Type.TEXT)
    shelter = make_location(country="US", state_province="TX", city="Houston", name="Shelter")
    Address.objects.create(location=shelter, address_type=Address.Type.POSTAL, country="GB", subdivision="GB-ENG")
    make_language("pl", location=shelter)
    make_phone(location=shelter, type=Phone.Type.CELL)  # the place's phone: no way to reach the service by phone
    make_language("ru", phone=Phone.objects.get(location=shelter))  # nor a language of the service
    make_service_at_location(rich, shelter)
    online = make_location(country="CA", state_province="ON", name="Portal", location_type=Location.Type.VIRTUAL)
    make_language("fr", location=online)
    make_service_at_location(rich, online)
    make_area(rich, ServiceArea.Kind.WORLDWIDE)
    make_area(rich, ServiceArea.Kind.COUNTRY, country="UG")
    make_area(rich, ServiceArea.Kind.SUBDIVISION, country="US", subdivision="US-NY")
    make_area(rich, ServiceArea.Kind.CITY, country="US", subdivision="US-CA", city="Los Angeles")
    make_area(rich, ServiceArea.Kind.OTHER, name="The Great Lakes")
    make_hotline(rich, chat_url="https://chat.example.org/")

    line = make_service(name="Line", available_online=False, review_state=Service.ReviewState.DRAFT)
    make_hotline(line)
    for kind in (Phone.Type.CELL, Phone.Type.TEXTPHONE, Phone.Type.VIDEO, Phone.Type.FAX, Phone.Type.PAGER):
        make_phone(service=line, type=kind)
    make_service_at_location(line, shelter)  # shares the shelter (and its Polish) with Rich

    bare = make_service(name="Bare", status=Service.Status.DEFUNCT)
    faxed = make_service(name="Faxed", available_online=True)
    make_phone(service=faxed, type=Phone.Type.FAX)
    # Hours: Rich's own, from 8:52:30 (seconds round up) to 12:07 on weekdays in Kolkata (UTC+5:30), and past
    # midnight on Saturdays; the shelter's (Rich and Line are there) on Sundays; Faxed always; Bare's never
    # count, as it is closed for good.
    weekdays = {"byday": "MO,TU,WE,TH,FR", "timezone": "Asia/Kolkata"}
    make_schedule(service=rich, opens_at=datetime.time(8, 52, 30), closes_at=datetime.time(12, 7), **weekdays)
    make_schedule(
        service=rich, opens_at=datetime.time(22, 10), closes_at=datetime.time(1, 5), byday="SA", timezone="Etc/GMT+5"
    )
    make_schedule(location=shelter, opens_at=datetime.time(9), closes_at=datetime.time(17), byday="SU")
    make_schedule(service=faxed, open_24_7=True)
    make_schedule(service=bare, open_24_7=True)
    return {
        "chain": chain,
        "other": other,
        "rich": rich,
        "line": line,
        "bare": bare,
        "faxed": faxed,
        "shelter": shelter,
        "online": online,
        "voice": voice,
    }


def test_a_service_with_everything_has_every_key(world):
    assert_keys_current()
    chain, rich = world["chain"], world["rich"]
    keys = keys_of(rich)
    assert {f"kt{term.pk}0" for term in chain[1:]} <= keys
    assert f"kt{chain[0].pk}0" not in keys  # 5 levels above the linked term
    assert f"kt{world['other'].pk}0" in keys
    assert {"kpub0", "kfree0", "khot0", f"kb{rich.pk % 1024}0"} <= keys
    assert checked_keys(rich) <= keys
    assert {"kles0", "klvi0", "klpl0", "klfr0"} <= keys
    assert "klru0" not in keys
    assert {"kdinperson0", "kdphone0", "kdtext0", "kdonline0"} <= keys
    assert {"kpcus0", "kpsustx0", "kpcgb0", "kpsgbeng0"} <= keys
    assert "kpcca0" not in keys  # a virtual place's address
    assert {"kww0", "kacug0", "kwcug0", "kacus0", "kasusny0", "kwsusny0", "kasusca0"} <= keys
    assert "kwsusca0" not in keys
    assert "kwcus0" not in keys

    assert keys_of(world["line"]) == {
        f"kb{world['line'].pk % 1024}0",
        "khot0",
        "kdphone0",
        "kdinperson0",
        "knomap0",  # its place has no coordinates
        "knopub0",  # a draft
        "kpcus0",
        "kpsustx0",
        "kpcgb0",
        "kpsgbeng0",
        "klpl0",
        *checked_keys(world["line"]),
    }
    assert keys_of(world["bare"]) == {
        f"kb{world['bare'].pk % 1024}0",
        "knomap0",
        "knopub0",
        *checked_keys(world["bare"]),
    }
    assert keys_of(world["faxed"]) == {
        f"kb{world['faxed'].pk % 1024}0",
        "kpub0",
        "kdonline0",
        "knomap0",
        *checked_keys(world["faxed"]),
    }
    assert hours_of(world["faxed"]) == {"koalways0"}
    assert hours_of(world["bare"]) == set()  # closed for good


def test_the_sample_bucket_is_the_id_modulo_1024(db):
    services = [make_service() for _ in range(40)]
    for service in services:
        assert f"kb{service.pk % 1024}0" in keys_of(service)


# --- the keys mean what the filters mean ------------------------------------------------------------------


def _with(key):
    return {sid for sid, keys in stored_keys().items() if key in keys}


def _with_any(keys):
    return {sid for sid, held in stored_keys().items() if held & set(keys)}


def _ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_the_keys_mean_what_the_querysets_mean(world):
    services = Service.objects.all()
    assert _with("kpub0") == _ids(services.listed())
    assert _with("knopub0") == _ids(services.exclude(pk__in=services.listed()))
    assert _with("kfree0") == _ids(services.free())
    assert _with("khot0") == _ids(services.hotlines())
    for method, key in (
        ("in_person", "kdinperson0"),
        ("phone", "kdphone0"),
        ("text", "kdtext0"),
        ("online", "kdonline0"),
    ):
        assert _with(key) == _ids(services.delivered_by([method])), method
    for code in ("es", "vi", "pl", "fr", "ru", "en"):
        assert _with(f"kl{code}0") == _ids(services.in_languages([code])), code
    # Every term but the root, which lies 5 levels above the deepest one: keys name 4 levels of ancestors.
    for term in [*world["chain"][1:], world["other"]]:
        below = TaxonomyTerm.objects.with_descendant_ids([term])
        assert _with(f"kt{term.pk}0") == _ids(services.with_any_term(below)), term.code


def _region_keys(region):
    """The keys that put a service in `region`, as facets._region_mapping reads in_region()."""
    if region.is_country:
        return ["kww0", f"kpc{_code(region.code)}0", f"kac{_code(region.code)}0"]
    keys = ["kww0", f"kwc{_code(region.country)}0"]
    keys += [f"kws{_code(ancestor)}0" for ancestor in region.ancestors()]
    for inside in region.descendants():
        keys += [f"kps{_code(inside)}0", f"kas{_code(inside)}0"]
    return keys


@pytest.mark.parametrize("code", ["US", "US-TX", "US-NY", "US-CA", "GB", "GB-ENG", "GB-LND", "UG", "CA", "CA-ON", "FR"])
def test_the_region_keys_find_what_in_region_finds(world, code):
    ServiceArea.objects.create(
        service=world["line"], kind=ServiceArea.Kind.CITY, country="GB", subdivision="GB-LND", city="London"
    )
    region = regions.parse_region(code)
    assert _with_any(_region_keys(region)) == _ids(Service.objects.in_region(region))


# --- every change, by the ORM or raw SQL ------------------------------------------------------------------


def _raw(sql, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_changes_to_the_service_itself(world):
    rich = world["rich"]
    changes = [
        ("review_state", "draft"),
        ("review_state", "published"),
        ("status", "defunct"),
        ("status", "inactive"),
        ("is_free", False),
        ("available_online", True),
        ("assured_date", datetime.date(2025, 1, 31)),
        ("assured_date", None),
    ]
    for field, value in changes:
        Service.objects.filter(pk=rich.pk).update(**{field: value})
        assert keys_of(rich) == expected_keys(rich), field
    # Raw SQL, past the ORM.
    _raw("UPDATE resources_service SET name = 'Rich renamed', alternate_name = 'Wealthy' WHERE id = %s", rich.pk)
    assert_headings_current()
    _raw("UPDATE resources_organization SET name = 'Another owner' WHERE id = %s", rich.organization_id)
    assert_headings_current()
    _raw("UPDATE resources_service SET review_state = 'pending', is_free = %s WHERE id = %s", True, rich.pk)
    assert "kpub0" not in keys_of(rich)
    assert "knopub0" in keys_of(rich)
    assert "kfree0" in keys_of(rich)
    _raw("UPDATE resources_service SET assured_date = %s WHERE id = %s", datetime.date(2026, 2, 1), rich.pk)
    assert "kc2026020" in keys_of(rich)
    service = Service.objects.get(pk=rich.pk)
    service.review_state = Service.ReviewState.PUBLISHED
    service.save()
    assert_keys_current()


def test_changes_to_terms_and_links(world):
    chain, rich, line = world["chain"], world["rich"], world["line"]
    TaxonomyTerm.objects.filter(pk=chain[5].pk).update(name="Renamed need")
    assert_headings_current()
    # A new parent for a term in the middle of the chain: the ancestors of every term below it change.
    elsewhere = make_term(Taxonomy.NEEDS, "elsewhere")
    TaxonomyTerm.objects.filter(pk=chain[3].pk).update(parent=elsewhere)
    assert f"kt{elsewhere.pk}0" in keys_of(rich)
    assert f"kt{chain[2].pk}0" not in keys_of(rich)
    assert_keys_current()
    _raw("UPDATE resources_taxonomyterm SET parent_id = NULL WHERE id = %s", chain[4].pk)
    assert_keys_current()
    term = TaxonomyTerm.objects.get(pk=chain[4].pk)
    term.parent = chain[0]
    term.save()
    assert_keys_current()
    ServiceTerm.objects.create(service=line, taxonomy_term=chain[1])
    assert f"kt{chain[0].pk}0" in keys_of(line)
    ServiceTerm.objects.filter(service=rich, taxonomy_term=chain[5]).update(service=line)
    assert_keys_current()
    _raw("DELETE FROM resources_serviceterm WHERE service_id = %s", line.pk)
    assert_keys_current()
    assert not any(key.startswith("kt") for key in keys_of(line))


def test_changes_to_languages(world):
    rich, line, shelter, voice = world["rich"], world["line"], world["shelter"], world["voice"]
    Language.objects.filter(service=rich, code="es").update(code="ar")
    assert "klar0" in keys_of(rich)
    assert "kles0" not in keys_of(rich)
    _raw("UPDATE resources_language SET code = 'de' WHERE phone_id = %s", voice.pk)
    assert_keys_current()
    Language.objects.filter(location=shelter, code="pl").delete()
    assert "klpl0" not in keys_of(rich)
    assert "klpl0" not in keys_of(line)
    make_language("sw", location=shelter)
    assert "klsw0" in keys_of(rich)
    assert "klsw0" in keys_of(line)
    Language.objects.filter(code="sw").update(location=None, service=line)
    assert "klsw0" not in keys_of(rich)
    assert "klsw0" in keys_of(line)
    _raw("DELETE FROM resources_language WHERE service_id = %s", line.pk)
    assert_keys_current()


def test_changes_to_phones(world):
    rich, line, faxed, voice = world["rich"], world["line"], world["faxed"], world["voice"]
    Phone.objects.filter(service=faxed).update(type=Phone.Type.TEXT)
    assert "kdtext0" in keys_of(faxed)
    _raw("UPDATE resources_phone SET type = 'video' WHERE service_id = %s", faxed.pk)
    assert "kdphone0" in keys_of(faxed)
    assert "kdtext0" not in keys_of(faxed)
    Phone.objects.filter(pk=voice.pk).update(service=line)  # its language goes with it
    assert "klvi0" in keys_of(line)
    assert "klvi0" not in keys_of(rich)
    assert_keys_current()
    Phone.objects.get(pk=voice.pk).delete()  # Django deletes its languages first
    assert_keys_current()
    Phone.objects.filter(service=rich).delete()
    assert "kdtext0" not in keys_of(rich)
    _raw("DELETE FROM resources_phone WHERE service_id = %s", faxed.pk)
    assert_keys_current()


def test_changes_to_places_and_their_addresses(world):
    rich, line, shelter, online = world["rich"], world["line"], world["shelter"], world["online"]
    Location.objects.filter(pk=online.pk).update(location_type=Location.Type.PHYSICAL)
    assert {"kpcca0", "kpscaon0"} <= keys_of(rich)
    _raw("UPDATE resources_location SET location_type = 'virtual' WHERE id = %s", online.pk)
    assert "kpcca0" not in keys_of(rich)
    address = shelter.addresses.get(address_type=Address.Type.PHYSICAL)
    _raw("UPDATE resources_address SET country = 'MX', subdivision = 'MX-JAL' WHERE id = %s", address.pk)
    assert {"kpcmx0", "kpsmxjal0"} <= keys_of(line)
    assert "kpcus0" not in keys_of(line)
    Address.objects.filter(pk=address.pk).update(subdivision="")
    assert not any(key.startswith("kpsmx") for key in keys_of(rich))
    Address.objects.create(location=shelter, country="NG", subdivision="NG-LA")
    assert "kpsngla0" in keys_of(line)
    Address.objects.filter(location=shelter, country="GB").delete()
    assert "kpcgb0" not in keys_of(rich)
    Address.objects.filter(pk=address.pk).update(location=online)
    assert_keys_current()
    ServiceAtLocation.objects.filter(service=rich, location=shelter).delete()
    assert "kdinperson0" not in keys_of(rich)
    assert "kdinperson0" in keys_of(line)
    ServiceAtLocation.objects.filter(service=line, location=shelter).update(service=rich)
    assert "kdinperson0" in keys_of(rich)
    assert "kdinperson0" not in keys_of(line)
    _raw("DELETE FROM resources_serviceatlocation WHERE service_id = %s", rich.pk)
    assert_keys_current()
    # A place deleted with its links, languages and addresses.
    make_service_at_location(line, shelter)
    Location.objects.get(pk=shelter.pk).delete()
    assert_keys_current()


def test_changes_to_schedules(world):
    rich, line, shelter = world["rich"], world["line"], world["shelter"]
    # Monday (0): minutes 8:53 (533) to 8:59, the hours 9 to 11, minutes 12:00 (720) to 12:06.
    assert {"kmasiakolkata005330", "koasiakolkata0090", "koasiakolkata0110", "kmasiakolkata007260"} <= hours_of(rich)
    assert not {"kmasiakolkata005320", "koasiakolkata0080", "kqasiakolkata0480"} & hours_of(rich)
    # Saturday (5) from 22:10 (minute 1330; quarters from 22:15, the 89th) into Sunday (6) until 1:05.
    assert {"kmetcgmt5513300", "kqetcgmt55890", "koetcgmt55230", "koetcgmt56000", "kmetcgmt5600640"} <= hours_of(rich)
    assert "koutc6160" in hours_of(line)  # the shelter's Sunday hours, in UTC
    own = Schedule.objects.get(service=rich, byday="SA")
    own.closes_at = datetime.time(2)
    own.save()
    assert "koetcgmt56010" in hours_of(rich)
    _raw("UPDATE resources_schedule SET timezone = 'Europe/London' WHERE id = %s", own.pk)
    assert "koeuropelondon5230" in hours_of(rich)
    Schedule.objects.filter(location=shelter).update(byday="SU,MO", freq=Schedule.Freq.WEEKLY)
    assert "koutc0160" in hours_of(line)
    Schedule.objects.filter(location=shelter).update(freq=Schedule.Freq.MONTHLY)
    assert hours_of(line) == set()
    Service.objects.filter(pk=rich.pk).update(status=Service.Status.TEMPORARILY_CLOSED)
    assert hours_of(rich) == set()
    Service.objects.filter(pk=rich.pk).update(status=Service.Status.ACTIVE)
    assert_keys_current()
    ServiceAtLocation.objects.filter(service=line).delete()
    make_schedule(location=shelter, open_24_7=True)
    assert "koalways0" in hours_of(rich)
    assert "koalways0" not in hours_of(line)
    Schedule.objects.filter(service=rich).delete()
    assert_keys_current()


def test_changes_to_areas_and_hotlines(world):
    rich, line = world["rich"], world["line"]
    ServiceArea.objects.filter(service=rich, kind=ServiceArea.Kind.WORLDWIDE).delete()
    assert "kww0" not in keys_of(rich)
    ServiceArea.objects.filter(service=rich, kind=ServiceArea.Kind.COUNTRY).update(
        kind=ServiceArea.Kind.SUBDIVISION, subdivision="UG-102"
    )
    assert {"kwsug1020", "kasug1020"} <= keys_of(rich)
    assert "kwcug0" not in keys_of(rich)
    _raw("UPDATE resources_servicearea SET service_id = %s WHERE service_id = %s", line.pk, rich.pk)
    assert_keys_current()
    _raw("DELETE FROM resources_servicearea WHERE service_id = %s AND kind = 'city'", line.pk)
    assert_keys_current()
    Hotline.objects.filter(service=rich).update(chat_url="")
    assert "kdonline0" not in keys_of(rich)
    assert "khot0" in keys_of(rich)
    _raw("UPDATE resources_hotline SET chat_url = 'https://chat.example.org/' WHERE service_id = %s", line.pk)
    assert "kdonline0" in keys_of(line)
    Hotline.objects.filter(service=rich).delete()
    assert "khot0" not in keys_of(rich)
    _raw("DELETE FROM resources_hotline WHERE service_id = %s", line.pk)
    assert_keys_current()


def test_a_deleted_service_leaves_no_entry(world):
    rich = world["rich"]
    rich.delete()
    assert rich.pk not in stored_keys()
    assert_keys_current()


def test_the_demo_data_is_keyed():
    load_demo_data()
    assert_keys_current()


# --- the importer and search.bulk_index -------------------------------------------------------------------


def _documents():
    terms = [mapping.term_document(term) for term in mapping.terms_for_documents(TaxonomyTerm.objects.all())]
    services = mapping.services_for_documents(Service.objects.order_by("uuid"))
    return json.loads(json.dumps(terms + [mapping.service_document(service) for service in services]))


def _wipe():
    for model in (Service, Location, Organization):
        model.objects.all().delete()
    while TaxonomyTerm.objects.exists():
        TaxonomyTerm.objects.filter(children__isnull=True).delete()
    Taxonomy.objects.all().delete()


def test_imported_services_are_keyed(world, tmp_path):
    documents = _documents()
    _wipe()
    assert stored_keys() == {}
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    call_command("import_hsds", str(path), "--publish", stdout=open(tmp_path / "out.txt", "w"))  # noqa: SIM115
    assert Service.objects.count() == 4
    assert_keys_current()
    rich = Service.objects.get(name="Rich")
    assert {"khot0", "kdonline0", "kpsustx0", "klvi0", "klpl0", "kwsusny0"} <= keys_of(rich)


def test_an_import_that_adds_services_keys_the_services_it_changes_too(world):
    """A chunk with a new service pauses the insert triggers: every service given new rows (a language at
    its place, a phone, an area, a hotline) must still be keyed at the end."""
    importer.import_documents(_documents(), publish=True)
    documents = _documents()
    services = {document["name"]: document for document in documents if "organization" in document}
    shelter = str(world["shelter"].uuid)
    for document in services.values():  # the place is in the documents of both services there
        for link in document.get("service_at_locations", []):
            if link["location"]["id"] == shelter:
                language = {"id": "8d0f6a52-5f0b-4c1e-9a55-0b6c7a1f2e01", "code": "uk"}
                link["location"].setdefault("languages", []).append(language)
    services["Faxed"]["phones"].append(
        {"id": "8d0f6a52-5f0b-4c1e-9a55-0b6c7a1f2e02", "number": "+1 888 373 7888", "type": "text"}
    )
    services["Bare"]["service_areas"] = [{"id": "8d0f6a52-5f0b-4c1e-9a55-0b6c7a1f2e03", "kind": "worldwide"}]
    services["Bare"]["hotline"] = {"operator_kind": "government"}
    new = {
        "id": "8d0f6a52-5f0b-4c1e-9a55-0b6c7a1f2e04",
        "name": "Newcomer",
        "status": "active",
        "organization": {"id": "8d0f6a52-5f0b-4c1e-9a55-0b6c7a1f2e05", "name": "Newcomer org", "description": "x"},
    }
    report = importer.import_documents([*documents, new], publish=True)
    assert report.invalid == []
    assert {"kluk0", "kdinperson0"} <= keys_of(Service.objects.get(name="Rich"))
    assert "kluk0" in keys_of(Service.objects.get(name="Line"))
    assert "kdtext0" in keys_of(Service.objects.get(name="Faxed"))
    assert {"kww0", "khot0"} <= keys_of(Service.objects.get(name="Bare"))
    assert_keys_current()


def segments(table):
    """How many segments an FTS5 table's index has: the ids of its pages are each their segment's id shifted
    left by 37 bits, and the table's own records (its structure, its averages) are below 1 << 37."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT id >> 37) FROM {table}_data WHERE id >= 1 << 37")
        return cursor.fetchone()[0]


def fragment_the_index():
    """Leave SQLite's index in several segments, as writes committed one at a time do: FTS5 writes what each
    transaction (or savepoint) adds as a segment of its own, and merges segments of a size four at a time by
    itself ('automerge'), off here until the test's transaction ends."""
    with connection.cursor() as cursor:
        for table in (search.SQLITE_INDEX, search.SQLITE_HEADINGS):
            cursor.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', 0)")
    for number in range(3):
        with transaction.atomic():
            make_service(name=f"Written alone {number}")
    assert min(segments(search.SQLITE_INDEX), segments(search.SQLITE_HEADINGS)) > 1


def test_tidying_the_index_merges_its_segments_and_keeps_every_entry_and_result(world):
    from .test_search_index import by_index

    searches = [{"q": "shelter"}, {"q": "legal help"}, {"language": "vi"}, {"q": "alone", "region": "US-TX"}]
    if connection.vendor == "sqlite":
        fragment_the_index()
    before = [by_index(data) for data in searches]
    assert search.tidy_index() is (connection.vendor == "sqlite")
    if connection.vendor == "sqlite":
        assert segments(search.SQLITE_INDEX) == segments(search.SQLITE_HEADINGS) == 1
        with connection.cursor() as cursor:
            for table in (search.SQLITE_INDEX, search.SQLITE_HEADINGS):
                cursor.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
    assert [by_index(data) for data in searches] == before
    assert_keys_current()
    make_service(name="Written after")  # the triggers go on from the merged index
    assert_keys_current()
    assert by_index({"q": "written after"}) == [Service.objects.get(name="Written after").pk]


def test_an_import_of_many_records_tidies_the_index_and_a_small_one_leaves_it(world, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's index keeps itself")
    documents = _documents()
    _wipe()
    fragment_the_index()
    monkeypatch.setattr(search, "TIDY_AFTER", len(documents) + 1)
    assert importer.import_documents(documents, publish=True).imported == len(documents)
    assert min(segments(search.SQLITE_INDEX), segments(search.SQLITE_HEADINGS)) > 1
    for document in documents:
        document["description"] = "Changed, to be imported again."
    monkeypatch.setattr(search, "TIDY_AFTER", len(documents))
    assert importer.import_documents(documents, publish=True).imported == len(documents)
    assert segments(search.SQLITE_INDEX) == segments(search.SQLITE_HEADINGS) == 1
    assert_keys_current()


def test_the_tidy_command_says_what_it_did(world):
    out = io.StringIO()
    call_command("tidy_search_index", stdout=out)
    if connection.vendor == "sqlite":
        assert re.fullmatch(r"Tidied the search index in \d+\.\d s\.\n", out.getvalue())
        assert segments(search.SQLITE_INDEX) == segments(search.SQLITE_HEADINGS) == 1
    else:
        assert out.getvalue() == "Nothing to tidy: PostgreSQL keeps its search index itself.\n"


def test_bulk_index_pauses_the_insert_triggers_and_keys_each_service_once_at_the_end(world):
    rich, shelter = world["rich"], world["shelter"]
    with transaction.atomic(), search.bulk_index() as touched:
        service = make_service(name="Bulk")
        make_phone(service=service, type=Phone.Type.TEXT)
        make_language("uk", location=shelter)
        make_area(rich, ServiceArea.Kind.COUNTRY, country="KE")
        assert service.pk not in stored_keys()  # paused
        assert "kacke0" not in keys_of(rich)
        Service.objects.filter(pk=rich.pk).update(is_free=False)  # updates are never paused
        assert "kfree0" not in keys_of(rich)
        touched.update({service.pk, rich.pk, world["line"].pk})
    assert_keys_current()
    assert "kdtext0" in keys_of(service)


def test_bulk_index_resumes_the_triggers_after_a_failure(db):
    with transaction.atomic():
        with pytest.raises(ValueError, match="chunk failed"), search.bulk_index():
            raise ValueError("the chunk failed")
        service = make_service(is_free=True)
        assert "kfree0" in keys_of(service)


def test_spelling_suggestions_never_offer_keys(world):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's vocabulary (resources_searchword) is taken from the text vector only")
    with connection.cursor() as cursor:
        for start in ("kb", "kp", "kt", "kl", "kd", "kw", "ka", "kc", "kf", "kh"):
            assert not [
                term for term, _documents in search._sqlite_vocabulary(cursor, start + "xx") if term.endswith("0")
            ]
        # The text columns still are.
        assert "rich" in {term for term, _documents in search._sqlite_vocabulary(cursor, "rixh")}


# --- the migration --------------------------------------------------------------------------------------


class _Editor:
    """What the migration's functions use of a schema editor, on the test's connection (inside its
    transaction: both engines change their schema transactionally)."""

    connection = connection

    def execute(self, sql, params=()):
        with connection.cursor() as cursor:
            if params:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql)


def test_the_migration_keys_what_is_there_and_goes_back_to_the_index_of_0004(world):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("resources.migrations.0007_search_keys")
    migration.remove_keys(apps, _Editor())
    with connection.cursor() as cursor:
        columns = [
            column.name for column in connection.introspection.get_table_description(cursor, "resources_searchdocument")
        ]
    assert "keys" not in columns
    assert "resources_searchheading" not in connection.introspection.table_names()
    assert [service.name for service in search.search(Service.objects.all(), "rich")] == ["Rich"]
    migration.add_keys(apps, _Editor())
    assert_keys_current()
    assert [service.name for service in search.search(Service.objects.all(), "rich")] == ["Rich"]
    # The triggers are back too.
    Service.objects.filter(pk=world["rich"].pk).update(is_free=False)
    assert "kfree0" not in keys_of(world["rich"])


def test_a_place_on_the_map_and_any_area_have_keys_of_their_own(world):
    line = world["line"]
    place = line.service_at_locations.filter(location__location_type=Location.Type.PHYSICAL).first().location
    assert "kmap0" not in keys_of(line)
    assert "knomap0" in keys_of(line)
    Location.objects.filter(pk=place.pk).update(latitude=29.76, longitude=-95.37)
    assert {"kmap0", "kgf479x3380", "kgc119x840"} <= keys_of(line)  # (29.76 + 90) * 4, (-95.37 + 180) * 4
    assert "knomap0" not in keys_of(line)
    Location.objects.filter(pk=place.pk).update(latitude=-33.87, longitude=151.21)  # cells of a moved place
    assert {"kgf224x13240", "kgc56x3310"} <= keys_of(line)
    assert not {"kgf479x3380", "kgc119x840"} & keys_of(line)
    Location.objects.filter(pk=place.pk).update(location_type=Location.Type.VIRTUAL)
    assert "kmap0" not in keys_of(line)
    assert not {key for key in keys_of(line) if key.startswith("kg")}
    assert "knomap0" in keys_of(line)
    Location.objects.filter(pk=place.pk).update(location_type=Location.Type.PHYSICAL, latitude=None)
    assert "kmap0" not in keys_of(line)
    assert "karea0" not in keys_of(line)
    area = ServiceArea.objects.create(service=line, kind=ServiceArea.Kind.OTHER, name="The river delta")
    assert "karea0" in keys_of(line)
    area.delete()
    assert "karea0" not in keys_of(line)
    assert_keys_current()


def test_migration_0010_keys_a_database_keyed_before_it(world):
    from importlib import import_module

    from django.apps import apps

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT rowid, keys FROM resources_searchdocument")
            for rowid, keys in cursor.fetchall():
                kept = " ".join(key for key in keys.split() if key not in {"kmap0", "karea0"})
                cursor.execute("UPDATE resources_searchdocument SET keys = %s WHERE rowid = %s", [kept, rowid])
        else:
            cursor.execute("UPDATE resources_searchdocument SET keys = ts_delete(keys, ARRAY['kmap0', 'karea0'])")
    assert "karea0" not in keys_of(world["rich"])
    import_module("resources.migrations.0010_search_map_keys").rebuild_keys(apps, _Editor())
    assert "karea0" in keys_of(world["rich"])
    assert_keys_current()
    ServiceArea.objects.filter(service=world["rich"]).delete()
    assert "karea0" not in keys_of(world["rich"])  # the triggers are there again


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL has no headings table")
def test_migration_0016_adds_the_headings_to_a_database_without_them(world):
    from importlib import import_module

    from django.apps import apps

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'resources_search%'")
        for (trigger,) in cursor.fetchall():
            cursor.execute(f"DROP TRIGGER {trigger}")
        cursor.execute("DROP TABLE resources_searchheading")
    import_module("resources.migrations.0016_search_heading").add_heading(apps, _Editor())
    assert_keys_current()
    Service.objects.filter(pk=world["rich"].pk).update(name="Rich again")  # the triggers write it too
    assert_headings_current()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL matches a few ids in the database too")
def test_sqlite_matches_a_few_ids_as_its_full_text_table_does(world, monkeypatch):
    """_SqliteIndex.few: with at most FEW_IDS ids and no words, the matches are worked out from the ids' entries
    rather than by the full-text table; for every kind of condition, the same matches as the table finds."""
    stored = stored_keys()
    ids = sorted(stored)
    some = sorted(
        {key for keys in stored.values() for key in keys if 0 < sum(key in k for k in stored.values()) < len(ids)}
    )
    assert len(some) > 10
    hours = sorted({key for keys in stored_hours().values() for key in keys})
    assert hours
    moment = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)
    queries = [
        {},
        {"clauses": [[search.PUBLIC]]},
        {"clauses": [[search.HIDDEN]]},
        {"clauses": [some[:3], some[3:6]]},
        {"condition": search.any_of(some[0], search.all_of(some[1], some[2]))},
        {"condition": search.but_not(search.any_of(*some[:5]), some[5])},
        {"hours": hours[:3]},
        {"hours": search.open_now_keys(moment)},
        {"buckets": 1},
        {"buckets": 100},
        {"excluded": ids[:1]},
        {"checked_since": datetime.date(2026, 1, 1)},
        {"checked_since": datetime.date(2100, 1, 1)},  # every listing checked too long ago
        {"clauses": [some[6:9]], "hours": hours, "excluded": ids[-1:], "condition": search.any_of(*some[9:])},
    ]
    for options in queries:
        options = {"clauses": [], **options}
        clauses = options.pop("clauses")
        for chosen in (ids, ids[1:3], [*ids[:2], max(ids) + 1000]):
            query = search.IndexQuery("default", [], clauses, ids=chosen, **options)
            assert query.engine.few is not None
            found = (query.count(), query.ids_of_matches(), query.keys(), query.page(0, 10, len(chosen)))
            monkeypatch.setattr(search, "FEW_IDS", -1)
            by_table = search.IndexQuery("default", [], clauses, ids=chosen, **options)
            assert by_table.engine.few is None
            expected = (by_table.count(), by_table.ids_of_matches(), by_table.keys(), by_table.page(0, 10, len(chosen)))
            monkeypatch.undo()
            assert found == expected, options
