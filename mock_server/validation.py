"""Validators compiled once from the contract, and their failures told the way the real API told them.

Valid requests, the common case, are checked by jsonschema-rs alone. Only a request that fails is
walked again by the pure-Python `jsonschema`, whose error tree says which rule broke where, to build
the OpenAI message, `param` path and `code`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import jsonschema
import jsonschema_rs
import orjson

from . import errors, rules
from .contract import Contract, Operation
from .errors import APIError, param_path

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
INTEGER = re.compile(r"^-?[0-9]+$")
KEYWORD_PRIORITY = {"additionalProperties": 0, "required": 1, "type": 2}


def got_label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


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


class Explainer:
    """Turns a jsonschema error tree into the one OpenAI error the real API would have sent."""

    def explain(self, error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()) -> APIError:
        path = [*prefix, *error.absolute_path]
        keyword = str(error.validator)
        value = error.validator_value
        instance = error.instance
        param = param_path(path) or None
        where = param or "body"
        if "propertyNames" in error.relative_schema_path:
            return errors.invalid_request(
                f"Invalid '{where}': key too long. Expected a key with maximum length {value}, "
                f"but got a key with length {len(str(instance))} instead.",
                param=param,
                code="metadata_key_too_long",
            )
        if keyword in ("anyOf", "oneOf"):
            return self.explain_alternatives(error, prefix)
        if keyword == "additionalProperties":
            known = set(error.schema.get("properties", {}))
            extra = next(k for k in instance if k not in known)
            name = param_path([*path, extra])
            return errors.invalid_request(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
        if keyword == "required":
            missing = next(k for k in value if k not in instance)
            name = param_path([*path, missing])
            return errors.invalid_request(
                f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
            )
        if keyword == "type":
            return errors.invalid_request(
                f"Invalid type for '{where}': expected {expected_label(error.schema)}, "
                f"but got {got_label(instance)} instead.",
                param=param,
                code="invalid_type",
            )
        if keyword in ("enum", "const"):
            supported = [value] if keyword == "const" else list(value)
            return errors.invalid_request(
                f"Invalid value: '{instance}'. Supported values are: {quote_list(supported)}.",
                param=param,
                code="invalid_value",
            )
        return self.explain_bound(keyword, value, instance, where, param)

    def explain_bound(self, keyword: str, value: Any, instance: Any, where: str, param: str | None) -> APIError:
        number = "integer" if isinstance(instance, int) else "decimal"
        if keyword == "maxItems":
            message = (
                f"array too long. Expected an array with maximum length {value}, "
                f"but got an array with length {len(instance)} instead."
            )
            code = "array_above_max_length"
        elif keyword == "minItems" and not instance:
            message = f"empty array. Expected an array with minimum length {value}, but got an empty array instead."
            code = "empty_array"
        elif keyword == "minItems":
            message = (
                f"array too short. Expected an array with minimum length {value}, "
                f"but got an array with length {len(instance)} instead."
            )
            code = "array_below_min_length"
        elif keyword == "maxLength":
            message = (
                f"string too long. Expected a string with maximum length {value}, "
                f"but got a string with length {len(instance)} instead."
            )
            code = "string_above_max_length"
        elif keyword == "minLength" and not instance:
            message = f"empty string. Expected a string with minimum length {value}, but got an empty string instead."
            code = "empty_string"
        elif keyword == "minLength":
            message = (
                f"string too short. Expected a string with minimum length {value}, "
                f"but got a string with length {len(instance)} instead."
            )
            code = "string_below_min_length"
        elif keyword == "maxProperties":
            message = (
                f"too many properties. Expected an object with at most {value} properties, "
                f"but got an object with {len(instance)} properties instead."
            )
            code = "object_above_max_properties"
        elif keyword in ("minimum", "exclusiveMinimum"):
            bound = ">=" if keyword == "minimum" else ">"
            message = f"{number} below minimum value. Expected a value {bound} {value}, but got {instance} instead."
            code = f"{number}_below_min_value"
        elif keyword in ("maximum", "exclusiveMaximum"):
            bound = "<=" if keyword == "maximum" else "<"
            message = f"{number} above maximum value. Expected a value {bound} {value}, but got {instance} instead."
            code = f"{number}_above_max_value"
        elif keyword == "pattern" and (prefix := ID_PATTERN.match(str(value))):
            message = f"'{instance}'. Expected an ID that begins with '{prefix.group(1)}'."
            code = "invalid_value"
        elif keyword == "format":
            message = f"expected a valid {value.upper() if value == 'uri' else value}, but got '{instance}' instead."
            code = "invalid_value"
        else:
            message = f"the value does not satisfy '{keyword}: {value}'."
            code = "invalid_value"
        return errors.invalid_request(f"Invalid '{where}': {message}", param=param, code=code)

    def explain_alternatives(self, error: jsonschema.ValidationError, prefix: Sequence[str | int]) -> APIError:
        instance = error.instance
        branches: list[Mapping[str, Any]] = list(error.validator_value)
        path = [*prefix, *error.absolute_path]
        where = param_path(path) or "body"
        by_branch: dict[int, list[jsonschema.ValidationError]] = {}
        for sub in error.context or ():
            by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        candidates = [i for i, branch in enumerate(branches) if fits_type(branch, instance)]
        if not candidates:
            return errors.invalid_request(
                f"Invalid type for '{where}': expected {self.alternatives_label(error.schema, branches)}, "
                f"but got {got_label(instance)} instead.",
                param=param_path(path) or None,
                code="invalid_type",
            )
        failing = [i for i in candidates if i in by_branch]
        if len(failing) < len(candidates) and error.validator == "oneOf":
            matched = [i for i in candidates if i not in by_branch]
            names = [", ".join(f"'{k}'" for k in branches[i].get("required", [])) for i in matched]
            return errors.invalid_request(
                f"Invalid '{where}': expected exactly one of {' or '.join(names)}, but got more than one.",
                param=param_path(path) or None,
                code="invalid_value",
            )
        key = discriminator([branches[i] for i in candidates]) if len(candidates) > 1 else None
        if key is not None and isinstance(instance, dict):
            if key not in instance:
                name = param_path([*path, key])
                return errors.invalid_request(
                    f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
                )
            chosen = [i for i in candidates if instance[key] in (enum_values(branches[i]["properties"][key]) or [])]
            if not chosen:
                supported = [v for i in candidates for v in enum_values(branches[i]["properties"][key]) or []]
                return errors.invalid_request(
                    f"Invalid value: '{instance[key]}'. Supported values are: {quote_list(supported)}.",
                    param=param_path([*path, key]),
                    code="invalid_value",
                )
            candidates = chosen
        branch_errors = by_branch.get(candidates[0], [])
        if not branch_errors:
            return errors.invalid_request(f"Invalid '{where}'.", param=param_path(path) or None, code="invalid_value")
        return self.explain(min(branch_errors, key=error_order), prefix)

    @staticmethod
    def alternatives_label(schema: Mapping[str, Any], branches: Sequence[Mapping[str, Any]]) -> str:
        label = schema.get("x-type-label")
        if isinstance(label, str):
            return label
        labels = [expected_label(b) for b in branches if schema_types(b) != ["null"]]
        return labels[0] if len(labels) == 1 else "one of " + " or ".join(labels)


class SchemaCheck:
    """One schema, compiled twice: jsonschema-rs to decide, jsonschema to explain."""

    explainer = Explainer()

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.fast = jsonschema_rs.validator_for(dict(schema), validate_formats=True)
        self.slow = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    def check(self, instance: Any, prefix: Sequence[str | int] = ()) -> None:
        if self.fast.is_valid(instance):
            return
        found = sorted(self.slow.iter_errors(instance), key=error_order)
        if found:
            raise self.explainer.explain(found[0], prefix)
        # The two validators disagree only on rare format edge cases; the fast one decides.
        first = next(iter(self.fast.iter_errors(instance)))
        where = param_path([*prefix, *first.instance_path]) or None
        raise errors.invalid_request(
            f"Invalid '{where or 'body'}': {first.message}.", param=where, code="invalid_value"
        )


def object_schema(parameters: Iterable[Any]) -> dict[str, Any]:
    params = list(parameters)
    return {
        "type": "object",
        "properties": {p.name: p.schema for p in params},
        "required": [p.name for p in params if p.required],
    }


def coerce_query_value(schema: Mapping[str, Any], raw: str) -> Any:
    if "integer" in schema_types(schema) and INTEGER.match(raw):
        return int(raw)
    return raw


class OperationValidator:
    """Everything the contract says about one operation's request, checked in the real API's order."""

    def __init__(self, operation: Operation, max_body_size: int, *, id_patterns: bool = True) -> None:
        self.operation = operation
        self.max_body_size = max_body_size
        self.beta_required = any(p.name.lower() == "openai-beta" for p in operation.params_in("header"))
        self.beta_values = next(
            (enum_values(p.schema) or [] for p in operation.params_in("header") if p.name.lower() == "openai-beta"),
            [],
        )
        path_params = operation.params_in("path")
        if not id_patterns:
            # Lenient mode takes any id, as Prism does with the official spec (which has no id patterns).
            path_params = tuple(
                replace(p, schema={k: v for k, v in p.schema.items() if k != "pattern"}) for p in path_params
            )
        self.path_check = SchemaCheck(object_schema(path_params))
        self.query_params = {p.name: p for p in operation.params_in("query")}
        self.query_check = SchemaCheck(object_schema(self.query_params.values())) if self.query_params else None
        self.body_check = SchemaCheck(operation.body_schema) if operation.body_schema is not None else None
        self.rules = rules.for_operation(operation.operation_id)

    def check_beta(self, value: str | None) -> None:
        if not self.beta_required or value in self.beta_values:
            return
        if value is not None and value.strip().startswith("assistants=v1"):
            raise errors.deprecated_beta_v1()
        raise errors.missing_beta_header()

    def check_path(self, params: Mapping[str, str]) -> None:
        self.path_check.check(dict(params))

    def check_query(self, items: Sequence[tuple[str, str]]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in items:
            param = self.query_params.get(name)
            if param is None:
                continue
            if name in values:
                raise errors.invalid_request(
                    f"Invalid type for '{name}': expected {expected_label(param.schema)}, but got an array instead.",
                    param=name,
                    code="invalid_type",
                )
            values[name] = coerce_query_value(param.schema, raw)
        if self.query_check is not None:
            self.query_check.check(values)
        for name, param in self.query_params.items():
            if name not in values and "default" in param.schema:
                values[name] = param.schema["default"]
        return values

    def check_body(self, raw: bytes, content_type: str | None) -> dict[str, Any]:
        if self.body_check is None:
            return {}
        if len(raw) > self.max_body_size:
            raise errors.body_too_large(self.max_body_size)
        if raw.strip() == b"":
            body: Any = {}
        else:
            if content_type is None:
                raise errors.missing_content_type()
            if not is_json_media_type(content_type):
                raise errors.unsupported_content_type(content_type.split(";")[0].strip())
            body = parse_json(raw)
        if not isinstance(body, dict):
            raise errors.invalid_request(
                f"Invalid type for body: expected an object, but got {got_label(body)} instead.", code="invalid_type"
            )
        self.body_check.check(body)
        for rule in self.rules:
            rule(body)
        return body


def parse_json(raw: bytes) -> Any:
    """orjson parses (strictly, depth-limited); the standard parser then looks only for repeated keys,
    which JSON allows and orjson silently resolves, but which the API answered as an error."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.unparseable_json() from None
    try:
        REPEATED_KEYS_FINDER.decode(raw.decode())
    except RecursionError:
        raise errors.unparseable_json() from None
    return body


def reject_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise errors.repeated_parameter(repeated)
    return found


REPEATED_KEYS_FINDER = json.JSONDecoder(object_pairs_hook=reject_repeated_keys)


def is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class Validators:
    def __init__(self, contract: Contract, max_body_size: int, *, id_patterns: bool = True) -> None:
        self.by_operation = {
            op_id: OperationValidator(op, max_body_size, id_patterns=id_patterns)
            for op_id, op in contract.operations.items()
        }

    def __getitem__(self, operation_id: str) -> OperationValidator:
        return self.by_operation[operation_id]
