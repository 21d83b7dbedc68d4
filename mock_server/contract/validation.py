"""Validators compiled once from the contract, checking each request in the real API's order.

Valid requests, the common case, are checked by jsonschema-rs alone. Only a request that fails is
walked again by the pure-Python `jsonschema`, whose error tree `explain` turns into the OpenAI error.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson

from .. import errors
from ..errors import param_path
from . import constraints
from .document import Contract, Operation
from .explain import enum_values, error_order, expected_label, explain, got_label, in_validator_words, schema_types
from .forms import FormSchema
from .lenient import clamped, lenient_schema

if TYPE_CHECKING:
    import jsonschema

INTEGER = re.compile(r"^-?[0-9]+$")


class SchemaCheck:
    """One schema, compiled twice: jsonschema-rs to decide, jsonschema to explain (in the words its
    `x-error-wording` names: the Assistants API's table by default, or `jsonschema`'s own)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.fast = jsonschema_rs.validator_for(dict(schema), validate_formats=True)
        self.explain = in_validator_words if schema.get("x-error-wording") == "jsonschema" else explain

    @functools.cached_property
    def slow(self) -> jsonschema.Draft202012Validator:
        """Made on the first refusal: importing `jsonschema` was a fifth of the mock's start-up, and a valid
        request never needs it."""
        import jsonschema

        return jsonschema.Draft202012Validator(
            self.schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    def check(self, instance: Any, prefix: Sequence[str | int] = ()) -> None:
        if self.fast.is_valid(instance):
            return
        found = sorted(self.slow.iter_errors(instance), key=error_order)
        if found:
            raise self.explain(found[0], prefix)
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
    types = schema_types(schema)
    if "integer" in types and INTEGER.match(raw):
        return int(raw)
    # As the SDKs send a boolean (`stream=true`); any other spelling is a string, refused as one.
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    return raw


class OperationValidator:
    """Everything the contract says about one operation's request, checked in the real API's order. `lenient`:
    as `--mode lenient` checks it, with the schemas' `x-lenient` applied (see lenient.py) and any id taken."""

    def __init__(
        self, operation: Operation, max_body_size: int, *, lenient: bool = False, max_file_bytes: int = 0
    ) -> None:
        self.operation = operation
        self.lenient = lenient
        relaxed = lenient_schema if lenient else lambda schema: schema
        self.max_body_size = max_body_size
        self.beta_required = any(p.name.lower() == "openai-beta" for p in operation.params_in("header"))
        self.beta_values = next(
            (enum_values(p.schema) or [] for p in operation.params_in("header") if p.name.lower() == "openai-beta"),
            [],
        )
        path_params = operation.params_in("path")
        if lenient:
            # Lenient mode takes any id, as Prism does with the official spec (which has no id patterns).
            path_params = tuple(
                replace(p, schema={k: v for k, v in p.schema.items() if k != "pattern"}) for p in path_params
            )
        self.path_check = SchemaCheck(object_schema(path_params))
        self.query_params = {p.name: p for p in operation.params_in("query")}
        # A list-valued parameter (`include[]=a&include[]=b`) collects its repeats; any other is given once.
        self.array_params = frozenset(
            name for name, p in self.query_params.items() if "array" in schema_types(p.schema)
        )
        checked = [replace(p, schema=relaxed(p.schema)) for p in self.query_params.values()]
        self.query_check = SchemaCheck(object_schema(checked)) if checked else None
        # An upload's form is read as it streams (middleware/uploads.py), never as one JSON body.
        self.form: FormSchema | None = None
        self.body_check: SchemaCheck | None = None
        body_schema = None if operation.body_schema is None else relaxed(operation.body_schema)
        if body_schema is not None and operation.body_media_type == "multipart/form-data":
            self.form = FormSchema(body_schema, SchemaCheck(body_schema), max_file_bytes)
        elif body_schema is not None:
            self.body_check = SchemaCheck(body_schema)
        # Checked in lenient mode too: see constraints.py.
        self.constraints = constraints.for_operation(operation.operation_id)
        self.prechecks = constraints.before_schema(operation.operation_id)

    def check_beta(self, value: str | None) -> None:
        if not self.beta_required or value in self.beta_values:
            return
        if value is not None and value.strip().startswith("assistants=v1"):
            raise errors.deprecated_beta_v1()
        raise errors.missing_beta_header()

    def check_path(self, params: Mapping[str, str]) -> None:
        self.path_check.check(dict(params))

    def query_values(self, items: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """The query's values of the operation's parameters, typed as their schemas say (an array parameter's as a
        list); another parameter given twice is refused."""
        values: dict[str, Any] = {}
        for name, raw in items:
            param = self.query_params.get(name)
            if param is None:
                continue
            if name in self.array_params:
                values.setdefault(name, []).append(raw)
                continue
            if name in values:
                raise errors.invalid_request(
                    f"Invalid type for '{name}': expected {expected_label(param.schema)}, but got an array instead.",
                    param=name,
                    code="invalid_type",
                )
            values[name] = coerce_query_value(param.schema, raw)
        return values

    def check_query(self, items: Sequence[tuple[str, str]]) -> dict[str, Any]:
        values = self.query_values(items)
        if self.query_check is not None:
            self.query_check.check(values)
        if self.lenient:
            values = {name: clamped(self.query_params[name].schema, value) for name, value in values.items()}
        for name, param in self.query_params.items():
            if name not in values and "default" in param.schema:
                values[name] = param.schema["default"]
        return values

    def check_body(self, raw: bytes, content_type: str | None) -> dict[str, Any]:
        if self.body_check is None:
            return {}
        if len(raw) > self.max_body_size:
            raise errors.body_too_large(self.max_body_size)
        if not raw:
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
        for precheck in self.prechecks:
            precheck(body)
        self.body_check.check(body)
        for constraint in self.constraints:
            constraint(body)
        return body


def parse_json(raw: bytes) -> Any:
    """orjson parses (strictly, depth-limited) and the body is parsed only once. JSON allows a repeated key,
    which orjson silently resolves but the API answered as an error; `may_repeat_keys` rules it out from
    counts, and only a body it cannot clear is read again by the standard parser, to name the key."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.unparseable_json() from None
    if may_repeat_keys(raw, body):
        try:
            REPEATED_KEYS_FINDER.decode(raw.decode())
        except RecursionError:
            raise errors.unparseable_json() from None
    return body


def may_repeat_keys(raw: bytes, body: Any) -> bool:
    """Every colon of a JSON text ends a key or sits inside a string. When no key is repeated, the parsed body
    holds every key and every string of the text, and orjson writes it back with the same colons (it never
    escapes one); a repeated key drops a key, and perhaps a string, and the counts no longer meet. An
    escaped colon (`\\u003a`) turns into a colon only once parsed, so a text with one is read again."""
    if not isinstance(body, dict | list):
        return False
    if b"\\u003a" in raw or b"\\u003A" in raw:
        return True
    try:
        written = orjson.dumps(body)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (it reads deeper than it writes)
        return True
    return raw.count(b":") != written.count(b":")


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
    def __init__(
        self, contract: Contract, max_body_size: int, *, lenient: bool = False, max_file_bytes: int = 0
    ) -> None:
        self.by_operation = {
            op_id: OperationValidator(op, max_body_size, lenient=lenient, max_file_bytes=max_file_bytes)
            for op_id, op in contract.operations.items()
        }

    def __getitem__(self, operation_id: str) -> OperationValidator:
        return self.by_operation[operation_id]
