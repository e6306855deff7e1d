"""The bundle's JSON files have one definition each, a JSON Schema beside this module:
bundle.schema.json (bundle.json) and wrinkles.schema.json (wrinkles/wrinkles.json, the sidecar
engines and the add-on read). This module checks a document against them, naming the field that
is wrong.

It interprets the subset of JSON Schema the file uses (type, const, enum, required, properties,
additionalProperties, items, min/maxItems, minimum, exclusiveMinimum, pattern, maxLength, anyOf,
local $ref) and refuses any other keyword, so the file cannot say more than is checked. The tests
hold it to the jsonschema package on real and damaged bundles.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parent / "bundle.schema.json"
WRINKLES_SCHEMA_FILE = Path(__file__).resolve().parent / "wrinkles.schema.json"
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}
_CHECKED = {"type", "const", "enum", "required", "properties", "additionalProperties", "items", "minItems",
            "maxItems", "minimum", "exclusiveMinimum", "pattern", "maxLength", "anyOf", "$ref"}


class BundleError(ValueError):
    """The folder is not a usable avatar bundle; str(e) names the file or field and what to do."""


@lru_cache(maxsize=1)
def bundle_schema() -> dict:
    return _load(SCHEMA_FILE)


@lru_cache(maxsize=1)
def wrinkles_schema() -> dict:
    return _load(WRINKLES_SCHEMA_FILE)


def _load(path: Path) -> dict:
    schema = json.loads(path.read_text())
    _check_keywords(schema, path.name)
    return schema


def _check_keywords(node, file: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    _check_keywords(sub, file)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                _check_keywords(value, file)
            elif key == "anyOf":
                for sub in value:
                    _check_keywords(sub, file)
            elif key not in _CHECKED and key not in _ANNOTATIONS:
                raise RuntimeError(f"{file}: keyword {key!r} is not checked by headsmith.bundle.schema")


def _is(kind: str, value) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return kind == "number" or isinstance(value, int) or float(value).is_integer()


def _errors(value, schema: dict, where: str, root: dict):
    """Yields 'field: what is wrong' for each violation (the first few are reported)."""
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        yield from _errors(value, node, where, root)
    if "anyOf" in schema and not any(not list(_errors(value, s, where, root)) for s in schema["anyOf"]):
        yield f"{where}: matches none of the allowed forms"
    if "type" in schema and not _is(schema["type"], value):
        yield f"{where}: expected {schema['type']}, got {type(value).__name__}"
        return
    if "const" in schema and value != schema["const"]:
        yield f"{where}: must be {schema['const']!r}, not {value!r}"
    if "enum" in schema and value not in schema["enum"]:
        yield f"{where}: must be one of {schema['enum']}, not {value!r}"
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            yield f"{where}: longer than {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield f"{where}: {value!r} is not a file name inside the bundle"
    if _is("number", value):
        if "minimum" in schema and value < schema["minimum"]:
            yield f"{where}: must be at least {schema['minimum']}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            yield f"{where}: must be more than {schema['exclusiveMinimum']}"
    if isinstance(value, list):
        yield from _array_errors(value, schema, where, root)
    if isinstance(value, dict):
        yield from _object_errors(value, schema, where, root)


def _array_errors(value: list, schema: dict, where: str, root: dict):
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield f"{where}: expected at least {schema['minItems']} items, got {len(value)}"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        yield f"{where}: expected at most {schema['maxItems']} items, got {len(value)}"
    if "items" in schema:
        for i, item in enumerate(value):
            yield from _errors(item, schema["items"], f"{where}[{i}]", root)


def _object_errors(value: dict, schema: dict, where: str, root: dict):
    prefix = f"{where}." if where else ""
    for key in schema.get("required", []):
        if key not in value:
            yield f"{prefix}{key}: missing"
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            yield from _errors(item, props[key], prefix + key, root)
        elif extra is False:
            yield f"{prefix}{key}: not a field of this object"
        elif isinstance(extra, dict):
            yield from _errors(item, extra, prefix + key, root)


def _check(doc, schema: dict, name: str) -> None:
    found = []
    for err in _errors(doc, schema, "", schema):
        found.append(err if not err.startswith(":") else "(the whole file)" + err)
        if len(found) == 3:
            break
    if found:
        raise BundleError(f"{name} does not match its schema: " + "; ".join(found)
                          + " (re-run headsmith reconstruct to write it again)")


def check_bundle_meta(meta, name: str = "bundle.json") -> None:
    """Raises BundleError naming the first few fields of `meta` that break bundle.schema.json."""
    _check(meta, bundle_schema(), name)


def check_wrinkles_sidecar(sidecar, name: str = "wrinkles.json") -> None:
    """Raises BundleError naming the first few fields that break wrinkles.schema.json."""
    _check(sidecar, wrinkles_schema(), name)
