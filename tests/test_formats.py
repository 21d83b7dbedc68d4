"""The one function that shapes a structured answer (runs' `response_format`, responses' `text.format`): the
instance walked from a schema is valid for every schema shape a client sends, and what cannot fit fails."""

from __future__ import annotations

import time
from typing import Any

import jsonschema
import orjson
import pytest

from mock_server.runs.formats import structured

REPLY = {"outcome": "reply", "text": 'You said: "hi"', "quote": True}
SCHEMAS: list[Any] = [
    {
        "type": "object",
        "properties": {"a": {"type": "string", "minLength": 40}, "b": {"type": "string", "maxLength": 3}},
    },
    {"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": 5, "multipleOf": 4}}},
    {"type": "object", "properties": {"x": {"type": "number", "minimum": 1.5, "maximum": 2}, "y": {"type": "boolean"}}},
    {"type": "object", "properties": {"e": {"enum": ["b", "a"]}, "c": {"const": 3}, "t": {"type": ["null", "string"]}}},
    {"type": "array", "items": {"type": "string", "format": "date-time"}, "minItems": 2, "maxItems": 2},
    {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"u": {"type": "string", "format": "uuid"}}}]},
    # A recursive tree through $defs, as pydantic writes nested models.
    {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["name", "children"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/Node",
    },
    {
        "allOf": [
            {"type": "object", "properties": {"p": {"type": "integer"}}},
            {"properties": {"q": {"type": "string"}}},
        ]
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_walked_instance_is_valid(schema: Any) -> None:
    plan = structured(REPLY, {"type": "json_schema", "name": "s", "schema": schema})
    assert plan["outcome"] == "reply" and plan["structured"], plan
    jsonschema.Draft202012Validator(schema).validate(orjson.loads(plan["text"]))
    # A run nests the same format one level down: the same answer.
    nested = structured(REPLY, {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}})
    assert nested["text"] == plan["text"]


def test_free_strings_carry_the_reply_and_the_walk_is_cheap() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}}}
    started = time.perf_counter()
    for _ in range(100):
        plan = structured(REPLY, {"type": "json_schema", "name": "s", "schema": schema})
    # Well under a millisecond each (the bound is wide: a loaded machine).
    assert (time.perf_counter() - started) / 100 < 0.005
    assert orjson.loads(plan["text"]) == {"answer": 'You said: "hi"', "n": 0}


def test_what_cannot_fit_fails_and_what_is_not_asked_for_stays() -> None:
    patterned = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    cannot = structured(REPLY, {"type": "json_schema", "name": "codes", "schema": patterned})
    assert (
        cannot["outcome"] == "fail"
        and "The mock cannot make an answer for the schema 'codes'" in cannot["error"]["message"]
    )
    written = {"outcome": "reply", "text": "[1, 2]", "quote": False}
    assert structured(written, {"type": "json_object"})["error"]["message"].startswith(
        "The reply rule's JSON is not an object"
    )
    prose = {"outcome": "reply", "text": "Plain words.", "quote": False}
    assert orjson.loads(structured(prose, {"type": "json_object"})["text"]) == {"text": "Plain words."}
    assert structured(REPLY, {"type": "text"}) is REPLY and structured(REPLY, "auto") is REPLY
    calls = {"outcome": "tool_calls", "calls": [], "then": "x"}
    assert structured(calls, {"type": "json_object"}) is calls


def test_a_schema_no_validator_reads_fails_in_words() -> None:
    for schema, words in (
        ({"type": 5}, "is not a valid JSON Schema"),
        ({"type": "array", "minItems": "two"}, "is not a valid JSON Schema"),
        ({"$ref": "https://example.com/remote.json"}, "could not be read"),
    ):
        plan = structured(REPLY, {"type": "json_schema", "name": "odd", "schema": schema})
        assert plan["outcome"] == "fail" and words in plan["error"]["message"], (schema, plan)
