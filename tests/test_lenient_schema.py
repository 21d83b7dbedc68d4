"""The contract's `x-lenient` marks and how lenient mode applies them (its calls: tests/sdk/test_sdk_lenient.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from mock_server.contract import Contract
from mock_server.contract.lenient import MARK, clamped, lenient_schema


def marked(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if MARK in node:
            yield path, node
        for key, value in node.items():
            yield from marked(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from marked(value, f"{path}/{index}")


def test_every_mark_names_keywords_its_schema_has() -> None:
    marks = list(marked(Contract.load().document))
    assert len(marks) >= 5
    for path, node in marks:
        for keyword in node[MARK]:
            # A mark whose keyword went from the schema would silently check nothing more in strict mode.
            assert keyword in node, f"{path}: {MARK} names {keyword!r}, which the schema does not have"


def test_lenient_schemas_are_copies_without_the_marked_keywords() -> None:
    contract = Contract.load()
    operation = contract.operations["createVectorStoreFileBatch"]
    assert operation.body_schema is not None
    before = copy.deepcopy(operation.body_schema)
    relaxed = lenient_schema(operation.body_schema)
    assert operation.body_schema == before
    assert "oneOf" not in relaxed and MARK not in str(relaxed)
    effort = lenient_schema(contract.schema("ReasoningEffort"))
    assert "none" in effort["enum"] and "none" not in contract.schema("ReasoningEffort")["enum"]


def test_query_numbers_are_clamped_into_the_bounds_lenient_mode_does_not_check() -> None:
    limit = next(p.schema for p in Contract.load().operations["listMessages"].parameters if p.name == "limit")
    assert [clamped(limit, value) for value in (-3, 0, 1, 50, 100, 1000)] == [1, 1, 1, 50, 100, 100]
    unmarked = {"type": "integer", "minimum": 1, "maximum": 100}
    assert clamped(unmarked, 0) == 0  # only what lenient mode stopped checking is clamped
