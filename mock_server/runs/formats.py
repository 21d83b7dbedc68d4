"""Structured answers: a reply under a JSON schema, one decision for a run's `response_format` and a response's
`text.format` (`json_schema` or `json_object`).

    a rule's reply that is JSON      is the answer, as written, once it fits: a `json_schema` answer must
                                     validate against the schema, a `json_object` one must be an object;
                                     one that does not fit fails the run or response (`server_error`, the
                                     message saying what broke where), since no model would have said it
    no rule, or a reply that is not JSON
                                     an instance of the schema, made by walking it (see `instance`): every
                                     property, the first of each choice, bounds and formats kept, and each
                                     free string the reply's text, so the words a rule matched still show;
                                     `json_object`: `{"text": <the reply>}`
    a schema the walk cannot satisfy (a `pattern`, say)
                                     fails the same way: a rule with JSON is the way to answer it

Walked rather than drawn by hypothesis-jsonschema: that is a test extra, not a server dependency, and a walk
costs microseconds where building a Hypothesis strategy costs tens of milliseconds a request; the walk is
deterministic, so a seeded server answers the same.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import orjson

from ..types import JSON

if TYPE_CHECKING:
    import jsonschema

# How deep the walk follows a recursive schema before it stops (with null, or an empty object or list); past
# SHALLOW it makes lists as short and choices as null as the schema lets it, so that a tree ends.
MAX_DEPTH = 12
SHALLOW = 4
FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "hostname": "example.com",
}


def requested(value: Any) -> tuple[str, str, JSON | None] | None:
    """The structured format asked for, from a response's `text.format` or a run's `response_format`: its
    kind (`json_schema`, `json_object`), its name and its schema; None for text."""
    if not isinstance(value, dict):
        return None  # "auto", or nothing
    kind = value.get("type")
    if kind == "json_object":
        return "json_object", "json_object", None
    if kind != "json_schema":
        return None
    inner = value.get("json_schema", value)  # a run nests it, a response does not
    schema = inner.get("schema")
    return "json_schema", str(inner.get("name") or "response"), schema if isinstance(schema, dict) else {}


def structured(plan: JSON, value: Any) -> JSON:
    """The plan with its text shaped as `value` asks (see the module's doc); plans that do not reply, and
    replies with no structured format, as they are."""
    fmt = requested(value)
    if fmt is None or plan["outcome"] != "reply":
        return plan
    kind, name, schema = fmt
    text: str = plan["text"]
    given: Any = None
    if not plan.get("quote"):  # a rule wrote it
        try:
            given = orjson.loads(text)
        except orjson.JSONDecodeError:
            given = None
    if kind == "json_object":
        if given is not None and not isinstance(given, dict):
            return failed(f"The reply rule's JSON is not an object, as the json_object format needs: {text[:80]}")
        answer = text if isinstance(given, dict) else orjson.dumps({"text": text}).decode()
        return {**plan, "text": answer, "quote": False, "structured": True}
    assert schema is not None
    # Imported on the first structured answer: `jsonschema` is a fifth of the mock's start-up (contract/validation.py).
    from jsonschema.exceptions import SchemaError

    try:
        validator = checked(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
        return _shaped(plan, name, validator, text, given)
    except SchemaError as broken:
        return failed(f"The schema '{name}' is not a valid JSON Schema: {broken.message}")
    except Exception as error:  # a schema no validator reads (an unresolvable $ref, say): its words, not a 500
        return failed(f"The schema '{name}' could not be read: {error}")


@functools.lru_cache(maxsize=256)
def checked(schema: bytes) -> jsonschema.Draft202012Validator:
    """The schema's validator, the schema checked first: kept, as a client sends the same schema every time
    (checking it against the metaschema costs milliseconds)."""
    import jsonschema

    loaded = orjson.loads(schema)
    jsonschema.Draft202012Validator.check_schema(loaded)
    return jsonschema.Draft202012Validator(loaded)


def _shaped(plan: JSON, name: str, validator: jsonschema.Draft202012Validator, text: str, given: Any) -> JSON:
    schema: JSON = validator.schema
    if given is not None:
        problem = mismatch(validator, given)
        if problem is not None:
            return failed(f"The reply rule's JSON does not match the schema '{name}': {problem}")
        return {**plan, "text": text, "quote": False, "structured": True}
    made = instance(schema, text, schema, 0)
    problem = mismatch(validator, made)
    if problem is not None:
        return failed(
            f"The mock cannot make an answer for the schema '{name}' ({problem}); add a reply rule whose reply "
            "is JSON that matches it"
        )
    return {**plan, "text": orjson.dumps(made).decode(), "quote": False, "structured": True}


def failed(message: str) -> JSON:
    return {"outcome": "fail", "error": {"code": "server_error", "message": message}}


def mismatch(validator: jsonschema.Draft202012Validator, value: Any) -> str | None:
    """What is wrong with `value` under the validator's schema, in words (None: nothing)."""
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{error.message} (at /{where})" if where else error.message


def instance(schema: Any, text: str, root: JSON, depth: int) -> Any:
    """A value `schema` accepts, made deterministically: see the module's doc."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "$ref" in schema:
        return instance(resolved(root, schema["$ref"]), text, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for choice in ("anyOf", "oneOf"):
        if schema.get(choice):
            branches = [b for b in schema[choice] if not (isinstance(b, dict) and b.get("type") == "null")]
            if depth >= SHALLOW and len(branches) < len(schema[choice]):
                return None
            return instance((branches or schema[choice])[0], text, root, depth + 1)
    if schema.get("allOf"):
        merged: JSON = {}
        for part in schema["allOf"]:
            part = resolved(root, part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
            merged = {**merged, **part, "properties": {**merged.get("properties", {}), **part.get("properties", {})}}
        return instance(merged, text, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if depth >= SHALLOW and "null" in kind else next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: instance(sub, text, root, depth + 1) for key, sub in properties.items()}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        if depth < SHALLOW:
            count = max(1, count)  # one item shows a list's shape
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        prefix = schema.get("prefixItems") or []
        return [
            instance(prefix[i] if i < len(prefix) else schema.get("items", {}), text, root, depth + 1)
            for i in range(max(count, len(prefix)))
        ]
    if kind == "string":
        return string(schema, text)
    if kind in ("integer", "number"):
        return number(schema, kind == "integer")
    if kind == "boolean":
        return True
    return None


def string(schema: JSON, text: str) -> str:
    if schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    value = text
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value.ljust(int(schema.get("minLength", 0)), "x")


def number(schema: JSON, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 0
    if low is not None and value <= low:
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if high is not None and value >= high:
        value = high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    step = schema.get("multipleOf")
    if step:
        value = (value // step) * step if value >= 0 else -((-value // step) * step)
        if low is not None and value < low:
            value += step
    return int(value) if integer else float(value)


def resolved(root: JSON, ref: str) -> Any:
    """A local `$ref` (`#/$defs/Name`, `#/definitions/Name`); anything else is no schema."""
    if not ref.startswith("#"):
        return {}
    found: Any = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        found = found.get(part) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}
