"""Statements that Django's compiler writes once per process and database, run for each list of ids.

A result page reads what its 20 cards show in about ten statements, each of the same shape on every page: the
phones, hours, areas, terms... of these services, or of these places. Through the ORM each is a queryset built,
cloned, filtered and compiled anew, which took three quarters of the time of reading the rows (1.2 ms a statement
at 100,000 services, where running it and making model instances of its rows takes 0.3). Here the ORM still
writes the SQL, the model's default order included, and its converters still turn each column into its Python
value; it only does so once. The ids are one parameter, so that the statement is the same for any number of
them: a JSON array SQLite reads with json_each, an array on PostgreSQL.
"""

import json

from django.db import connections
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable

# What stands for a parameter while the statement is compiled: the ids, then the values given, in that order.
_IDS = "\x00ids\x00"
_VALUES = tuple(f"\x00value {number}\x00" for number in range(4))


class ByIds:
    """make(ids, *values) gives the queryset: `ids` an expression of the list of ids (for a lookup such as
    service_id__in), `values` what else differs between runs (a language code). Each run, rows(using, ids,
    *values) gives model instances as the queryset would, or, for a values_list() queryset, tuples."""

    def __init__(self, make):
        self.make = make
        self._compiled = {}  # {(database alias, how many values): (sql, parameters, converters, attnames)}

    def rows(self, using, ids, *values):
        key = (using, len(values))
        if key not in self._compiled:
            self._compiled[key] = self._compile(using, len(values))
        sql, parameters, converters, attnames = self._compiled[key]
        connection = connections[using]
        arguments = [json.dumps(list(ids)) if connection.vendor == "sqlite" else list(ids), *values]
        with connection.cursor() as cursor:
            cursor.execute(sql, [arguments[given] if given is not None else fixed for given, fixed in parameters])
            rows = cursor.fetchall()
        if converters:
            rows = [self._converted(row, converters, connection) for row in rows]
        if attnames is None:
            return [tuple(row) for row in rows]
        model = self._model
        return [model.from_db(using, attnames, row) for row in rows]

    @staticmethod
    def _converted(row, converters, connection):
        row = list(row)
        for position, (functions, expression) in converters.items():
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        return row

    def _compile(self, using, count):
        connection = connections[using]
        if connection.vendor == "sqlite":
            ids = RawSQL("SELECT value FROM json_each(%s)", [_IDS])
        else:
            ids = RawSQL("SELECT unnest(%s::bigint[])", [_IDS])
        queryset = self.make(ids, *_VALUES[:count]).using(using)
        compiler = queryset.query.get_compiler(using)
        sql, parameters = compiler.as_sql()
        if compiler.klass_info and compiler.klass_info.get("related_klass_infos"):
            raise ValueError("ByIds reads one model's rows: select_related() is not for it.")
        columns = [column for column, _sql, _alias in compiler.select]
        converters = compiler.get_converters(columns)
        self._model = queryset.model
        # Rows of a model (its fields, each in its column), or of a values_list().
        attnames = [column.target.attname for column in columns] if queryset._iterable_class is ModelIterable else None
        # Each parameter as (which argument of rows() it is, or None, and else its value).
        stands_for = {_IDS: 0, **{value: number + 1 for number, value in enumerate(_VALUES[:count])}}
        parameters = [
            (stands_for.get(parameter) if isinstance(parameter, str) else None, parameter) for parameter in parameters
        ]
        if sorted(given for given, _fixed in parameters if given is not None) != list(range(count + 1)):
            raise ValueError("Each of the ids and the values must be a parameter of the statement, once.")
        return sql, parameters, converters, attnames
