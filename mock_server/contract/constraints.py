"""Constraints the contract states in prose, which its schema language cannot say; each raises the API's
own error. (The fuzzer's twin, `mock_server.fuzzing.constraints`, keeps generated requests within them.)

Lenient mode checks them too, unlike the prose the contract marks `x-lenient`: an overlap past half the chunk
size makes the windows of `vector_stores.search.chunks_of` start ever closer together, down to one a word, so
that a file's chunks would hold up to 4,096 times its text, past any memory budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .. import errors
from ..errors import param_path

Constraint = Callable[[dict[str, Any]], None]


# The keys on the way from a body to a `chunking_strategy`: a thread's `tool_resources.file_search.vector_stores[]`,
# a batch's `files[]`. A message's content is never walked.
CHUNKING_PATHS = frozenset({"tool_resources", "file_search", "vector_stores", "files", "thread"})


def chunking_strategies(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every `chunking_strategy` in a body, wherever it sits (a thread's vector store helper, a vector store,
    a file, a batch or one file of a batch), with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "chunking_strategy":
                yield (*path, key), value
            elif key in CHUNKING_PATHS:
                yield from chunking_strategies(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from chunking_strategies(value, (*path, index))


def chunk_overlap_at_most_half(body: dict[str, Any]) -> None:
    """`chunk_overlap_tokens` may be at most half of `max_chunk_size_tokens` (prose in OpenAI's spec)."""
    for path, strategy in chunking_strategies(body):
        static = strategy.get("static") if isinstance(strategy, dict) and strategy.get("type") == "static" else None
        if not static:
            continue
        limit = static["max_chunk_size_tokens"] // 2
        overlap = static["chunk_overlap_tokens"]
        if overlap > limit:
            name = param_path([*path, "static", "chunk_overlap_tokens"])
            raise errors.invalid_request(
                f"Invalid '{name}': integer above maximum value. Expected a value <= {limit} "
                f"(half of max_chunk_size_tokens), but got {overlap} instead.",
                param=name,
                code="integer_above_max_value",
            )


CONSTRAINTS: dict[str, tuple[Constraint, ...]] = {
    operation: (chunk_overlap_at_most_half,)
    for operation in (
        "createAssistant",
        "createThread",
        "createThreadAndRun",
        "createVectorStore",
        "createVectorStoreFile",
        "createVectorStoreFileBatch",
    )
}


def chat_messages_moved(body: dict[str, Any]) -> None:
    """A Chat Completions `messages` key on createResponse: the live API points to `input`, before any schema
    check would call it an unknown parameter."""
    if "messages" in body:
        raise errors.APIError(
            400,
            "Unsupported parameter: 'messages'. In the Responses API, this parameter has moved to 'input'. "
            "Try again with the new parameter. See the API documentation for more information: "
            "https://platform.openai.com/docs/api-reference/responses/create.",
            code="unsupported_parameter",
        )


# Checked before the schema, in the API's order: a refusal the schema would word otherwise.
BEFORE_SCHEMA: dict[str, tuple[Constraint, ...]] = {"createResponse": (chat_messages_moved,)}


def for_operation(operation_id: str) -> tuple[Constraint, ...]:
    return CONSTRAINTS.get(operation_id, ())


def before_schema(operation_id: str) -> tuple[Constraint, ...]:
    return BEFORE_SCHEMA.get(operation_id, ())
