"""The explanation table on its own: schema errors straight from jsonschema, the OpenAI error out."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.contract import WORDING, explain
from mock_server.contract.validation import may_repeat_keys, parse_json
from mock_server.errors import APIError


def first_error(schema: dict[str, Any], instance: Any) -> jsonschema.ValidationError:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: len(e.absolute_path))
    assert errors, "the instance is valid"
    return errors[0]


def told(schema: dict[str, Any], instance: Any, prefix: tuple[str | int, ...] = ()) -> tuple[str, str | None, Any]:
    error = explain(first_error(schema, instance), prefix)
    return error.message, error.param, error.code


OBJECT = {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": False}


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        (OBJECT, {"nmae": "x"}, ("Unknown parameter: 'nmae'.", "nmae", "unknown_parameter")),
        (
            {"type": "object", "required": ["role"]},
            {},
            ("Missing required parameter: 'role'.", "role", "missing_required_parameter"),
        ),
        (
            {"type": "object", "properties": {"limit": {"type": "integer"}}},
            {"limit": "ten"},
            ("Invalid type for 'limit': expected an integer, but got a string instead.", "limit", "invalid_type"),
        ),
        (
            {"type": "object", "properties": {"order": {"enum": ["asc", "desc"]}}},
            {"order": "up"},
            ("Invalid value: 'up'. Supported values are: 'asc' and 'desc'.", "order", "invalid_value"),
        ),
        (
            {"type": "object", "properties": {"ids": {"type": "array", "maxItems": 2}}},
            {"ids": [1, 2, 3]},
            (
                "Invalid 'ids': array too long. Expected an array with maximum length 2, but got an array with "
                "length 3 instead.",
                "ids",
                "array_above_max_length",
            ),
        ),
        (
            {"type": "object", "properties": {"ids": {"type": "array", "minItems": 1}}},
            {"ids": []},
            (
                "Invalid 'ids': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                "ids",
                "empty_array",
            ),
        ),
        (
            {"type": "object", "properties": {"n": {"type": "number", "exclusiveMaximum": 2}}},
            {"n": 2.5},
            (
                "Invalid 'n': decimal above maximum value. Expected a value < 2, but got 2.5 instead.",
                "n",
                "decimal_above_max_value",
            ),
        ),
        (
            {"type": "object", "properties": {"id": {"type": "string", "pattern": "^thread_"}}},
            {"id": "run_1"},
            ("Invalid 'id': 'run_1'. Expected an ID that begins with 'thread'.", "id", "invalid_value"),
        ),
        (
            {"type": "object", "properties": {"m": {"type": "object", "propertyNames": {"maxLength": 3}}}},
            {"m": {"long": "x"}},
            (
                "Invalid 'm': key too long. Expected a key with maximum length 3, but got a key with length 4 instead.",
                "m",
                "metadata_key_too_long",
            ),
        ),
        (
            {"type": "object", "properties": {"s": {"type": "string", "multipleOf": 2}}, "required": []},
            {"s": 3},
            ("Invalid type for 's': expected a string, but got an integer instead.", "s", "invalid_type"),
        ),
        (
            {"type": "integer", "multipleOf": 2},
            3,
            ("Invalid 'body': the value does not satisfy 'multipleOf: 2'.", None, "invalid_value"),
        ),
    ],
    ids=[
        "unknown",
        "required",
        "type",
        "enum",
        "maxItems",
        "minItems empty",
        "exclusiveMaximum",
        "id pattern",
        "propertyNames",
        "type first",
        "other",
    ],
)
def test_each_rule_is_told_in_the_apis_words(schema: dict[str, Any], instance: Any, expected: tuple[Any, ...]) -> None:
    assert told(schema, instance) == expected


def test_a_prefix_places_the_value_where_it_sits_in_the_request() -> None:
    schema = {"type": "object", "properties": {"limit": {"type": "integer", "minimum": 1}}}
    message, param, code = told(schema, {"limit": 0}, prefix=("query",))
    assert (param, code) == ("query.limit", "integer_below_min_value")
    assert message.startswith("Invalid 'query.limit': integer below minimum value. Expected a value >= 1")


def test_one_of_picks_the_branch_by_its_discriminating_property() -> None:
    branches = [
        {"type": "object", "properties": {"type": {"const": "text"}, "text": {"type": "string"}}, "required": ["type"]},
        {"type": "object", "properties": {"type": {"const": "image"}, "url": {"type": "string"}}, "required": ["type"]},
    ]
    schema = {"type": "object", "properties": {"part": {"oneOf": branches}}}
    assert told(schema, {"part": {"type": "video"}}) == (
        "Invalid value: 'video'. Supported values are: 'text' and 'image'.",
        "part.type",
        "invalid_value",
    )
    assert told(schema, {"part": {"type": "text", "text": 5}})[1:] == ("part.text", "invalid_type")
    assert told(schema, {"part": "hello"})[2] == "invalid_type"


def test_every_table_entry_formats_with_the_facts_explain_gives() -> None:
    # A template naming a fact that explain never supplies would raise KeyError on the first such request.
    facts = dict.fromkeys(
        ("where", "name", "limit", "size", "instance", "keyword", "number", "prefix", "format", "expected", "got"), "x"
    )
    facts.update(supported="'a'", names="'a'")
    for key, wording in WORDING.items():
        assert wording.template.format(**facts), key
        assert wording.code.format(**facts), key


# ---- a body is parsed once; a repeated key is still found ----------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet=st.sampled_from('ab:"\\ \u00e9')),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("ab:", max_size=3), inner, max_size=3),
    max_leaves=12,
)


@given(json_values)
def test_a_body_without_repeated_keys_is_cleared_by_counting(value: Any) -> None:
    raw = orjson.dumps(value)
    assert not may_repeat_keys(raw, orjson.loads(raw))


@given(st.dictionaries(st.text("ab:", max_size=3), json_values, min_size=1, max_size=3), st.data())
def test_a_repeated_key_is_always_caught(value: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(value)))
    spacing = data.draw(st.sampled_from(["", " ", "\n "]))
    raw = ("{" + json.dumps(key) + spacing + ":" + spacing + "1," + json.dumps(value)[1:]).encode()
    assert may_repeat_keys(raw, orjson.loads(raw))
    with pytest.raises(APIError, match="is given more than once"):
        parse_json(raw)


def test_an_escaped_colon_cannot_hide_a_repeated_key() -> None:
    raw = b'{"a": 1, "a": "\\u003a"}'
    with pytest.raises(APIError, match="'a' is given more than once"):
        parse_json(raw)


def test_a_body_nested_deeper_than_orjson_writes_is_still_read() -> None:
    # orjson reads 1024 levels and writes 254: the count falls back on the standard parser, not a 500.
    raw = b'{"a":' + b'{"b":' * 300 + b"1" + b"}" * 300 + b"}"
    assert parse_json(raw)["a"]["b"]["b"]["b"] is not None
