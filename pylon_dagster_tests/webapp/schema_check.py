"""Validates custom-app responses against Pylon's JSON Schema, `custom_app_schema.json`.

No JSON Schema library is installed, so this checks exactly the keywords that schema uses (type,
properties, required, enum, items, oneOf, $ref, and the formats uri and date-time) and refuses a
schema with any other keyword rather than half-checking it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCHEMA = json.loads((Path(__file__).parent / "custom_app_schema.json").read_text())
KEYWORDS = {"$schema", "title", "type", "properties", "required", "enum", "items", "oneOf", "$ref"}
KEYWORDS |= {"format", "definitions"}
TYPES = {"object": dict, "array": list, "string": str}
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _format_ok(value: str, fmt: str) -> bool:
    if fmt == "uri":
        parts = urlsplit(value)
        return bool(parts.scheme and (parts.netloc or parts.path))
    if fmt == "date-time":
        if not RFC3339.fullmatch(value):
            return False
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    raise ValueError(f"unsupported format {fmt!r}")


def schema_errors(instance: Any, schema: dict[str, Any] = SCHEMA, path: str = "$") -> list[str]:
    if unknown := set(schema) - KEYWORDS:
        raise ValueError(f"unsupported schema keywords {sorted(unknown)}")
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/definitions/")
        return schema_errors(instance, SCHEMA["definitions"][name], path)
    if "oneOf" in schema:
        matches = sum(not schema_errors(instance, option, path) for option in schema["oneOf"])
        if matches != 1:
            return [f"{path}: matches {matches} of the allowed shapes, not exactly one: {instance}"]
    if "type" in schema and not isinstance(instance, TYPES[schema["type"]]):
        return [f"{path}: not of type {schema['type']}: {instance!r}"]
    errors = []
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} not one of {schema['enum']}")
    if "format" in schema and not _format_ok(instance, schema["format"]):
        errors.append(f"{path}: {instance!r} is not a {schema['format']}")
    errors += [
        f"{path}: missing {key!r}" for key in schema.get("required", ()) if key not in instance
    ]
    for key, subschema in schema.get("properties", {}).items():
        if key in instance:
            errors += schema_errors(instance[key], subschema, f"{path}.{key}")
    if "items" in schema:
        for index, item in enumerate(instance):
            errors += schema_errors(item, schema["items"], f"{path}[{index}]")
    return errors
