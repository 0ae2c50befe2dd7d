"""Validation against the official HSDS 3.0 schemas (the modular files vendored in `schema/`).

`faults(kind, document)` lists what the official schema finds wrong with one document, each as
"$.json.path: message", with jsonschema (draft 2020-12, a `referencing` registry of the vendored files,
format checking) as the authority.

jsonschema walks a schema tree in pure Python: about 1 ms for an ordinary service, 5 ms for the official
example, far too slow to import 100,000 services in two minutes. So every document first goes through a
checker compiled once from the same vendored files. The HSDS schemas use only `type`, `properties`,
`required`, `items`, `enum`, `format` and `$ref` (everything else in them is annotation); the compiled
checker implements exactly those keywords with jsonschema's own semantics and its own format checker, and
refuses to compile a schema that uses any other keyword. Only a document it rejects is handed to
jsonschema, for the messages. tests/test_import.py holds the two to the same verdicts.
"""

import copy
import json
import re
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"

# Keywords that only describe (JSON Schema annotations, Table Schema and HSDS extras): no effect on validity.
ANNOTATIONS = frozenset(
    "name title description example examples core constraints path datapackage_metadata datapackage_type "
    "tabular_required $comment".split()
)
VALIDATION_KEYWORDS = frozenset("type properties required items enum format $ref".split())
MAX_MESSAGE = 200
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


class UnsupportedSchema(ValueError):
    """A schema uses a keyword the compiled checker does not implement."""


@cache
def _schemas():
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(SCHEMA_DIR.glob("*.json"))}


@cache
def format_checker():
    return FormatChecker()


@cache
def registry():
    resources = [
        (name, Resource.from_contents(schema, default_specification=DRAFT202012)) for name, schema in _schemas().items()
    ]
    return Registry().with_resources(resources)


@cache
def validator(kind):
    """The jsonschema validator of one HSDS object ("service", "organization", ...), built once."""
    return Draft202012Validator(_schemas()[f"{kind}.json"], registry=registry(), format_checker=format_checker())


def faults(kind, document, *, path="$"):
    """Every fault the official schema finds, as "$.phones[0].number: message" (an empty list when valid)."""
    if is_valid(kind, document):
        return []
    found = []
    for error in validator(kind).iter_errors(document):
        message = error.message if len(error.message) <= MAX_MESSAGE else error.message[:MAX_MESSAGE] + "…"
        found.append(f"{path}{error.json_path[1:]}: {message}")
    return found


def is_valid(kind, document):
    return _compiled(f"{kind}.json")(document)


# --- the compiled checker -------------------------------------------------------------------------------


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value):
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES = {
    "string": lambda value: isinstance(value, str),
    "number": _is_number,
    "integer": _is_integer,
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


@cache
def _compiled(name):
    """A function document -> bool for one vendored schema file, equivalent to jsonschema's verdict."""
    return _compile(_schemas()[name])


def _compile(schema):
    unknown = set(schema) - VALIDATION_KEYWORDS - ANNOTATIONS
    if unknown:
        raise UnsupportedSchema(f"Keywords the compiled checker does not implement: {sorted(unknown)}")
    checks = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        tests = tuple(_TYPES[name] for name in types)
        checks.append(tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests))
    if "enum" in schema:
        options = schema["enum"]
        if not all(isinstance(option, str) for option in options):
            raise UnsupportedSchema("Only enums of strings are compiled.")
        allowed = frozenset(options)
        checks.append(lambda value: isinstance(value, str) and value in allowed)
    if "format" in schema:
        checker, name = format_checker(), schema["format"]
        if name == "uuid":
            # Every id is a uuid: the canonical form is accepted at once, anything else as jsonschema judges.
            canonical = _CANONICAL_UUID.match
            checks.append(lambda value: (type(value) is str and canonical(value)) or checker.conforms(value, name))
        else:
            checks.append(lambda value: checker.conforms(value, name))
    if "required" in schema:
        required = tuple(schema["required"])
        checks.append(lambda value: not isinstance(value, dict) or all(key in value for key in required))
    if "properties" in schema:
        properties = {key: _compile(sub) for key, sub in schema["properties"].items()}

        def check_properties(value):
            if isinstance(value, dict):
                for key, item in value.items():
                    check = properties.get(key)
                    if check is not None and not check(item):
                        return False
            return True

        checks.append(check_properties)
    if "items" in schema:
        item_check = _compile(schema["items"])

        def check_items(value):
            if isinstance(value, list):
                for element in value:
                    if not item_check(element):
                        return False
            return True

        checks.append(check_items)
    if "$ref" in schema:
        target = schema["$ref"]
        if target not in _schemas():
            raise UnsupportedSchema(f"Only references to whole vendored files are compiled, not {target!r}.")
        # Resolved on first use: the files refer to each other.
        if target in _REPEATED:
            checks.append(lambda value: _repeated_check(target, value))
        else:
            checks.append(lambda value: _compiled(target)(value))
    return _all(tuple(checks))


# Objects every record of a large file repeats (each service carries its organization and its terms in
# full): one found valid before, equal value for value, is valid again without a second walk.
_REPEATED = {"organization.json", "taxonomy_term.json", "taxonomy.json"}
_valid_repeats = {}


def _repeated_check(name, value):
    key = (name, value.get("id")) if isinstance(value, dict) and isinstance(value.get("id"), str) else None
    if key is not None and _valid_repeats.get(key) == value:
        return True
    valid = _compiled(name)(value)
    if valid and key is not None:
        if len(_valid_repeats) > 50_000:
            _valid_repeats.clear()
        _valid_repeats[key] = copy.deepcopy(value)  # a caller may change its own dict afterwards
    return valid


def _all(checks):
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)

    def check_all(value):
        # A plain loop: this runs for every value of every document, and all() over a generator is slower.
        for check in checks:  # noqa: SIM110
            if not check(value):
                return False
        return True

    return check_all
