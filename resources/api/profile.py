"""Our HSDS profile: the JSON Merge Patch files in resources/hsds/profile/, and the schemas they make.

A profile schema is the vendored HSDS 3.0 schema of the same name (resources/hsds/schema/) with our
patch merged in (RFC 7386); a schema we do not patch is the HSDS one unchanged.
"""

import json
from functools import cache
from pathlib import Path

HSDS_DIR = Path(__file__).resolve().parent.parent / "hsds"
BASE_DIR = HSDS_DIR / "schema"
PROFILE_DIR = HSDS_DIR / "profile"

PROFILE_NAME = "Survivor support directory profile of HSDS"
PROFILE_VERSION = "1.0.0"


def merge_patch(target, patch):
    """RFC 7386: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _read_all(folder):
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


@cache
def modifications():
    """Our patch files by file name, e.g. {"service.json": {...}}."""
    return _read_all(PROFILE_DIR)


@cache
def schemas():
    """Every HSDS schema by file name, with our patch merged in where we have one."""
    patches = modifications()
    return {name: merge_patch(schema, patches.get(name, {})) for name, schema in _read_all(BASE_DIR).items()}
