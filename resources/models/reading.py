"""Statements that Django's compiler writes once per process and database, then runs with new values each time.

A result page reads what its 20 cards show in about ten statements, each of the same shape on every page: the
phones, hours, areas, terms... of these services, or of these places. Through the ORM each is a queryset built,
cloned, filtered and compiled anew, which took three quarters of the time of reading the rows (1.2 ms a statement
at 100,000 services, where running it and making model instances of its rows takes 0.3). Here the ORM still
writes the SQL, the model's default order included, and its converters still turn each column into its Python
value; it only does so once. The ids are one parameter, so that the statement is the same for any number of
them: a JSON array SQLite reads with json_each, an array on PostgreSQL. The facets' vocabularies and the search
synonyms, read by every search page, are such statements too, without ids.
"""

import json

from django.db import connections
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable, ValuesListIterable

# What stands for a parameter while the statement is compiled: the ids, then the values given, in that order.
_IDS = "\x00ids\x00"
_VALUES = tuple(f"\x00value {number}\x00" for number in range(8))
# The ids as a subquery: from a JSON array on SQLite, an array on PostgreSQL.
_IDS_SQL = {"sqlite": "SELECT value FROM json_each(%s)", "postgresql": "SELECT unnest(%s::bigint[])"}


class Prepared:
    """make(ids, *values) gives the queryset: `ids` an expression of the list of ids (for a lookup such as
    service_id__in), `values` what else differs between runs (a language code); with ids=False, make(*values).
    Each run, rows(using, ids, *values) (or rows(using, *values)) gives model instances as the queryset would,
    with its annotations, or, for a values_list() queryset, tuples."""

    def __init__(self, make, *, ids=True):
        self.make = make
        self.ids = ids
        self._compiled = {}  # {(database alias, how many arguments): _Compiled}

    def rows(self, using, *arguments):
        key = (using, len(arguments))
        if key not in self._compiled:
            self._compiled[key] = self._compile(using, len(arguments) - self.ids)
        compiled = self._compiled[key]
        connection = connections[using]
        if self.ids:
            ids = list(arguments[0])
            arguments = (json.dumps(ids) if connection.vendor == "sqlite" else ids, *arguments[1:])
        with connection.cursor() as cursor:
            cursor.execute(
                compiled.sql, [arguments[given] if given is not None else fixed for given, fixed in compiled.parameters]
            )
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [self._converted(row, compiled.converters, connection) for row in rows]
        if compiled.attnames is None:
            return [tuple(row) for row in rows]
        model, attnames, (start, end), annotations = (
            compiled.model,
            compiled.attnames,
            compiled.fields,
            compiled.annotations,
        )
        found = []
        for row in rows:
            instance = model.from_db(using, attnames, row[start:end])
            for name, position in annotations:
                setattr(instance, name, row[position])
            found.append(instance)
        return found

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
        if connection.vendor not in _IDS_SQL:
            raise NotImplementedError(f"Prepared statements run on SQLite and PostgreSQL, not {connection.vendor}.")
        if count > len(_VALUES):
            raise ValueError(f"A prepared statement takes at most {len(_VALUES)} values besides the ids.")
        stand_ins = list(_VALUES[:count])
        if self.ids:
            stand_ins.insert(0, RawSQL(_IDS_SQL[connection.vendor], [_IDS]))
        queryset = self.make(*stand_ins).using(using)
        if queryset._prefetch_related_lookups or queryset.query.distinct:
            raise ValueError("Prepared reads rows as they come: prefetch_related() and distinct() are not for it.")
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise ValueError("Prepared gives model instances, or tuples of a values_list(): not dicts nor flat lists.")
        compiler = queryset.query.get_compiler(using)
        sql, parameters = compiler.as_sql()
        if compiler.klass_info and compiler.klass_info.get("related_klass_infos"):
            raise ValueError("Prepared reads one model's rows: select_related() is not for it.")
        columns = [column for column, _sql, _alias in compiler.select]
        # Each parameter as (which argument of rows() it is, or None, and else its value).
        stands_for = {value: number + self.ids for number, value in enumerate(_VALUES[:count])}
        if self.ids:
            stands_for[_IDS] = 0
        parameters = [
            (stands_for.get(parameter) if isinstance(parameter, str) else None, parameter) for parameter in parameters
        ]
        if sorted(given for given, _fixed in parameters if given is not None) != list(range(count + self.ids)):
            raise ValueError("Each of the ids and the values must be a parameter of the statement, once.")
        compiled = _Compiled(sql, parameters, compiler.get_converters(columns), queryset.model)
        if queryset._iterable_class is ModelIterable:  # rows of a model (its fields, then its annotations)
            fields = compiler.klass_info["select_fields"]
            compiled.fields = fields[0], fields[-1] + 1
            compiled.attnames = [columns[position].target.attname for position in fields]
            compiled.annotations = list(compiler.annotation_col_map.items())
        return compiled


class _Compiled:
    def __init__(self, sql, parameters, converters, model):
        self.sql, self.parameters, self.converters, self.model = sql, parameters, converters, model
        self.attnames = None  # (None: a values_list(), whose rows are tuples)
        self.fields = (0, 0)
        self.annotations = []
