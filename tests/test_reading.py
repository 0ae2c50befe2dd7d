"""reading.Prepared: a statement compiled once and run for each list of ids gives what the ORM gives."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.models import F

from resources.models import Location, Phone, Schedule, Service, ServiceTranslation
from resources.models.reading import Prepared

from .conftest import make_location, make_phone, make_schedule, make_service

pytestmark = pytest.mark.django_db


def fields(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.fixture
def services(db):
    first, second, third = (make_service(name=name) for name in ("First", "Second", "Third"))
    place = make_location(name="Door")
    # Several kinds of column: times, dates, booleans, numbers, UUIDs, text, and NULLs of each.
    make_schedule(service=first, opens_at=datetime.time(9), closes_at=datetime.time(17), byday="MO,TU")
    make_schedule(service=first, open_24_7=True, valid_from=datetime.date(2026, 1, 2), interval=2)
    make_schedule(service=second, description="By appointment")
    make_schedule(location=place, opens_at=datetime.time(8, 30), closes_at=datetime.time(12), byday="WE")
    make_phone(service=second, number="+18883737888", position=2, extension="12")
    make_phone(service=second, number="+442071234567", position=1)
    make_phone(service=third, number="+256414123456")
    ServiceTranslation.objects.create(service=first, language="es", description="Ayuda.")
    ServiceTranslation.objects.create(service=first, language="fr", description="Aide.")
    return first, second, third


def test_rows_are_the_instances_the_orm_gives_in_its_order(services):
    ids = [service.pk for service in services]
    for model, read in (
        (Schedule, Prepared(lambda ids: Schedule.objects.filter(service_id__in=ids))),
        (Phone, Prepared(lambda ids: Phone.objects.filter(service_id__in=ids))),
    ):
        expected = list(model.objects.filter(service_id__in=ids))
        found = read.rows("default", reversed(ids))
        assert len(found) == len(expected) >= 3
        assert [fields(row) for row in found] == [fields(row) for row in expected]
        assert all(isinstance(row.uuid, uuid.UUID) and row._state.db == "default" for row in found)
        assert not any(row._state.adding for row in found)
    hours = Prepared(lambda ids: Schedule.objects.filter(service_id__in=ids)).rows("default", ids)
    assert [
        (row.opens_at, row.open_24_7, row.valid_from, row.interval) for row in sorted(hours, key=lambda r: r.pk)
    ] == [
        (datetime.time(9), False, None, None),
        (None, True, datetime.date(2026, 1, 2), 2),
        (None, False, None, None),
    ]


def test_a_statement_is_compiled_once_and_takes_other_values_each_run(services):
    first, second, _third = services
    read = Prepared(lambda ids, language: ServiceTranslation.objects.filter(service_id__in=ids, language=language))
    assert [row.description for row in read.rows("default", [first.pk, second.pk], "es")] == ["Ayuda."]
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert [row.description for row in read.rows("default", [first.pk], "fr")] == ["Aide."]
        assert read.rows("default", [second.pk], "fr") == []
        assert read.rows("default", [], "es") == []
    assert len(statements) == 3
    assert len(set(statements)) == 1  # the same statement, whatever the ids and the language


def test_values_list_rows_are_tuples(services):
    read = Prepared(lambda ids: Service.objects.filter(pk__in=ids).order_by("-name").values_list("pk", "name"))
    assert read.rows("default", [service.pk for service in services]) == [
        (service.pk, service.name) for service in sorted(services, key=lambda s: s.name, reverse=True)
    ]


def test_select_related_and_a_value_left_out_are_refused(services):
    with pytest.raises(ValueError, match="select_related"):
        Prepared(lambda ids: Phone.objects.filter(service_id__in=ids).select_related("service")).rows("default", [1])
    unused = Prepared(lambda ids, language: Location.objects.filter(pk__in=ids))
    with pytest.raises(ValueError, match="once"):
        unused.rows("default", [1], "es")


def test_a_statement_without_ids_and_with_annotations(services):
    read = Prepared(
        lambda *names: Service.objects.filter(name__in=names).annotate(holder=F("organization__name")), ids=False
    )
    found = read.rows("default", "First", "Third")
    assert [(row.name, row.holder) for row in found] == [
        (row.name, row.organization.name)
        for row in Service.objects.filter(name__in=["First", "Third"]).select_related("organization")
    ]
    assert len(found) == 2
    assert read.rows("default", "Second", "Nobody") == [Service.objects.get(name="Second")]


def test_what_a_prepared_statement_cannot_give_is_refused(services):
    for make, refused in (
        (lambda ids: Phone.objects.filter(service_id__in=ids).prefetch_related("languages"), "prefetch_related"),
        (lambda ids: Phone.objects.filter(service_id__in=ids).distinct(), "distinct"),
        (lambda ids: Phone.objects.filter(service_id__in=ids).values("pk"), "dicts"),
        (lambda ids: Phone.objects.filter(service_id__in=ids).values_list("pk", flat=True), "flat"),
    ):
        with pytest.raises(ValueError, match=refused):
            Prepared(make).rows("default", [1])
    with pytest.raises(ValueError, match="at most 8"):
        Prepared(lambda ids, *names: Service.objects.filter(name__in=names)).rows("default", [1], *"abcdefghi")
