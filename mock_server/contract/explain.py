"""A schema failure told in the real API's words: a table from the failed rule to the message and code.

`explain` takes one `jsonschema.ValidationError` (the pure-Python validator's, whose error tree says which
rule broke where) and answers the one OpenAI error the real API sent for it. The words live in `WORDING`,
keyed by the JSON Schema keyword, or by the keyword and a variant where the API had two phrasings (an
empty array or string, an id pattern). `anyOf`/`oneOf` first pick the branch the value was meant for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors
from ..errors import APIError, param_path

if TYPE_CHECKING:
    import jsonschema

JSON_TYPE_LABELS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}
ID_PATTERN = re.compile(r"^\^([a-z]+)_$")
KEYWORD_PRIORITY = {"additionalProperties": 0, "required": 1, "type": 2}


@dataclass(frozen=True)
class Wording:
    """A message template and its code; `param` says which name the error's `param` carries: the value's
    own path (`where`) or the name of the property the rule is about (`name`, for missing and unknown keys)."""

    template: str
    code: str
    param: str = "where"


def bounded(rule: str, code: str) -> Wording:
    return Wording(f"Invalid '{{where}}': {rule}", code)


WORDING: dict[str, Wording] = {
    "additionalProperties": Wording("Unknown parameter: '{name}'.", "unknown_parameter", param="name"),
    "required": Wording("Missing required parameter: '{name}'.", "missing_required_parameter", param="name"),
    "type": Wording("Invalid type for '{where}': expected {expected}, but got {got} instead.", "invalid_type"),
    "enum": Wording("Invalid value: '{instance}'. Supported values are: {supported}.", "invalid_value"),
    "const": Wording("Invalid value: '{instance}'. Supported values are: {supported}.", "invalid_value"),
    "propertyNames": bounded(
        "key too long. Expected a key with maximum length {limit}, but got a key with length {size} instead.",
        "metadata_key_too_long",
    ),
    "maxItems": bounded(
        "array too long. Expected an array with maximum length {limit}, but got an array with length {size} instead.",
        "array_above_max_length",
    ),
    "minItems": bounded(
        "array too short. Expected an array with minimum length {limit}, but got an array with length {size} instead.",
        "array_below_min_length",
    ),
    "minItems/empty": bounded(
        "empty array. Expected an array with minimum length {limit}, but got an empty array instead.", "empty_array"
    ),
    "maxLength": bounded(
        "string too long. Expected a string with maximum length {limit}, but got a string with length {size} instead.",
        "string_above_max_length",
    ),
    "minLength": bounded(
        "string too short. Expected a string with minimum length {limit}, but got a string with length {size} instead.",
        "string_below_min_length",
    ),
    "minLength/empty": bounded(
        "empty string. Expected a string with minimum length {limit}, but got an empty string instead.",
        "empty_string",
    ),
    "maxProperties": bounded(
        "too many properties. Expected an object with at most {limit} properties, but got an object with {size} "
        "properties instead.",
        "object_above_max_properties",
    ),
    "minimum": bounded(
        "{number} below minimum value. Expected a value >= {limit}, but got {instance} instead.",
        "{number}_below_min_value",
    ),
    "exclusiveMinimum": bounded(
        "{number} below minimum value. Expected a value > {limit}, but got {instance} instead.",
        "{number}_below_min_value",
    ),
    "maximum": bounded(
        "{number} above maximum value. Expected a value <= {limit}, but got {instance} instead.",
        "{number}_above_max_value",
    ),
    "exclusiveMaximum": bounded(
        "{number} above maximum value. Expected a value < {limit}, but got {instance} instead.",
        "{number}_above_max_value",
    ),
    "pattern/id": bounded("'{instance}'. Expected an ID that begins with '{prefix}'.", "invalid_value"),
    "format": bounded("expected a valid {format}, but got '{instance}' instead.", "invalid_value"),
    # The alternatives of anyOf/oneOf, when the value fits none of their types or more than one branch.
    "anyOf/type": Wording("Invalid type for '{where}': expected {expected}, but got {got} instead.", "invalid_type"),
    "oneOf/several": bounded("expected exactly one of {names}, but got more than one.", "invalid_value"),
    "oneOf/unexplained": Wording("Invalid '{where}'.", "invalid_value"),
    # Any other rule: the schema's own words.
    "other": bounded("the value does not satisfy '{keyword}: {limit}'.", "invalid_value"),
}


def word(key: str, path: Sequence[str | int], name: str | None = None, **facts: Any) -> APIError:
    """The error of one table entry, for the value at `path` (and the property `name`, for its keys)."""
    wording = WORDING[key]
    where = param_path(path)
    named = param_path([*path, name]) if name is not None else where
    values = {"where": where or "body", "name": named, **facts}
    code = wording.code.format(**values)
    param = named if wording.param == "name" else where or None
    return errors.invalid_request(wording.template.format(**values), param=param, code=code)


# ---- the facts a template may name ----------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def got_label(value: Any) -> str:
    return JSON_TYPE_LABELS[json_type(value)]


def quote_list(values: Sequence[Any]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def schema_types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        if "const" in schema:
            return [json_type(schema["const"])]
        if "enum" in schema:
            return sorted({json_type(v) for v in schema["enum"]})
        return []
    return [declared] if isinstance(declared, str) else list(declared)


def fits_type(schema: Mapping[str, Any], value: Any) -> bool:
    types = schema_types(schema)
    if not types:
        return True
    kind = json_type(value)
    return kind in types or (kind == "integer" and "number" in types)


def expected_label(schema: Mapping[str, Any]) -> str:
    label = schema.get("x-type-label")
    if isinstance(label, str):
        return label
    types = [t for t in schema_types(schema) if t != "null"] or ["null"]
    return " or ".join(JSON_TYPE_LABELS.get(t, t) for t in types)


def alternatives_label(schema: Mapping[str, Any], branches: Sequence[Mapping[str, Any]]) -> str:
    label = schema.get("x-type-label")
    if isinstance(label, str):
        return label
    labels = [expected_label(b) for b in branches if schema_types(b) != ["null"]]
    return labels[0] if len(labels) == 1 else "one of " + " or ".join(labels)


def enum_values(schema: Mapping[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def discriminator(branches: Sequence[Mapping[str, Any]]) -> str | None:
    """The property every branch pins to its own values (`type`, as a rule)."""
    common: set[str] | None = None
    for branch in branches:
        pinned = {name for name, sub in branch.get("properties", {}).items() if enum_values(sub) is not None}
        common = pinned if common is None else common & pinned
    return sorted(common)[0] if common else None


def error_order(error: jsonschema.ValidationError) -> tuple[int, int]:
    return (len(error.absolute_path), KEYWORD_PRIORITY.get(str(error.validator), 3))


def size_of(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | dict) else None


# ---- from a schema error to a table entry --------------------------------------------------------


def explain(error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()) -> APIError:
    """The real API's error for the first rule a value broke; `prefix` is where the value sits (a query
    parameter's name, say) when the schema checked only part of the request."""
    path = [*prefix, *error.absolute_path]
    keyword = str(error.validator)
    limit = error.validator_value
    instance = error.instance
    if "propertyNames" in error.relative_schema_path:
        return word("propertyNames", path, limit=limit, size=len(str(instance)))
    if keyword in ("anyOf", "oneOf"):
        return explain_alternatives(error, prefix)
    if keyword == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        return word(keyword, path, name=next(k for k in instance if k not in known))
    if keyword == "required":
        return word(keyword, path, name=next(k for k in limit if k not in instance))
    if keyword == "type":
        return word(keyword, path, expected=expected_label(error.schema), got=got_label(instance))
    if keyword in ("enum", "const"):
        supported = [limit] if keyword == "const" else list(limit)
        return word(keyword, path, instance=instance, supported=quote_list(supported))
    key = keyword
    facts: dict[str, Any] = {"limit": limit, "instance": instance, "size": size_of(instance), "keyword": keyword}
    if keyword in ("minItems", "minLength") and not instance:
        key = f"{keyword}/empty"
    elif keyword == "pattern":
        prefix_match = ID_PATTERN.match(str(limit))
        key = "pattern/id" if prefix_match else "other"
        facts["prefix"] = prefix_match.group(1) if prefix_match else None
    elif keyword == "format":
        facts["format"] = limit.upper() if limit == "uri" else limit
    elif keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        facts["number"] = "integer" if isinstance(instance, int) else "decimal"
    if key not in WORDING:
        key = "other"
    return word(key, path, **facts)


def in_validator_words(error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()) -> APIError:
    """The error as the real `/files` validator worded it: Python jsonschema's own message, then ` - 'path'`
    where the value sits below the top (`'x' is not one of [...] - 'purpose'`); `param` that path, `code` null."""
    where = ".".join(str(part) for part in [*prefix, *error.absolute_path])
    return errors.invalid_request(f"{error.message} - '{where}'" if where else error.message, param=where or None)


def explain_alternatives(error: jsonschema.ValidationError, prefix: Sequence[str | int]) -> APIError:
    """anyOf/oneOf: the branch the value was meant for (by type, then by its discriminating property),
    explained by that branch's first error."""
    instance = error.instance
    branches: list[Mapping[str, Any]] = list(error.validator_value)
    path = [*prefix, *error.absolute_path]
    by_branch: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or ():
        by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    candidates = [i for i, branch in enumerate(branches) if fits_type(branch, instance)]
    if not candidates:
        return word("anyOf/type", path, expected=alternatives_label(error.schema, branches), got=got_label(instance))
    failing = [i for i in candidates if i in by_branch]
    if len(failing) < len(candidates) and error.validator == "oneOf":
        matched = [i for i in candidates if i not in by_branch]
        names = [", ".join(f"'{k}'" for k in branches[i].get("required", [])) for i in matched]
        return word("oneOf/several", path, names=" or ".join(names))
    key = discriminator([branches[i] for i in candidates]) if len(candidates) > 1 else None
    if key is not None and isinstance(instance, dict):
        if key not in instance:
            # One branch may leave it out (an easy input message has no `type`): the value was meant for it.
            optional = [i for i in candidates if key not in branches[i].get("required", [])]
            if len(optional) != 1:
                return word("required", path, name=key)
            candidates = optional
        else:
            chosen = [i for i in candidates if instance[key] in (enum_values(branches[i]["properties"][key]) or [])]
            if not chosen:
                supported = [v for i in candidates for v in enum_values(branches[i]["properties"][key]) or []]
                return word("enum", [*path, key], instance=instance[key], supported=quote_list(supported))
            candidates = chosen
    branch_errors = by_branch.get(candidates[0], [])
    if not branch_errors:
        return word("oneOf/unexplained", path)
    return explain(min(branch_errors, key=error_order), prefix)
