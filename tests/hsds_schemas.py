"""The official HSDS 3.0 schemas (in shared/, beside the repository) as jsonschema validators."""

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SHARED = Path(__file__).resolve().parents[2] / "shared" / "hsds" / "3.0"


@cache
def compiled_validator(name):
    """A validator for one of the official compiled schemas, e.g. "service.json"."""
    path = SHARED / "schema" / "compiled" / name
    if not path.exists():
        raise FileNotFoundError(f"The official HSDS schemas are missing: {path} (shared/ must sit beside the repo).")
    return Draft202012Validator(json.loads(path.read_text()), format_checker=FormatChecker())


def errors(name, document):
    return [
        f"{list(error.absolute_path)}: {error.message[:200]}"
        for error in compiled_validator(name).iter_errors(document)
    ]
