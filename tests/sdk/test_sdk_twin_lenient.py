"""Lenient mode for Conversations and Responses, through the official SDK over a real server: the newer fields,
tools and item types the SDK sends (OpenAI's current document has them; the contract serves fewer) are taken,
and a suite's placeholder ids made on first use, as for threads. Strict mode refuses each, as the real API does
where the mock does not serve it. (`make test-sdk-suites` runs openai-python's own tests of both families.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from mock_server.app import create_app
from mock_server.server import BackgroundServer
from mock_server.settings import Settings

pytestmark = [pytest.mark.sdk]

# What openai 3.57 sends that the contract does not serve: parameters, keys of a function tool and of
# `reasoning`, a hosted tool and a tool choice of the current document (sent as `extra_body`, which the 1.x SDK,
# whose `create` lacks some of these arguments, sends the same way).
NEWER: dict[str, Any] = {
    "context_management": [{"type": "compaction", "compact_threshold": 1000}],
    "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
    "moderation": {"model": "model", "policy": {"input": {"mode": "score"}, "output": {"mode": "score"}}},
    "reasoning": {"effort": "low", "mode": "standard", "context": "auto"},
    "tools": [
        {"type": "function", "name": "lookup", "parameters": {}, "defer_loading": True, "output_schema": {}},
        {"type": "web_search", "search_context_size": "low"},
    ],
    "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "lookup"}]},
}
REASONING = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Think."}]}


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[OpenAI, OpenAI]]:
    with (
        BackgroundServer(create_app(Settings(mode="lenient"))) as lenient,
        BackgroundServer(create_app(Settings(mode="strict"))) as strict,
    ):
        yield (
            OpenAI(base_url=lenient.base_url, api_key="sk-mock", max_retries=0),
            OpenAI(base_url=strict.base_url, api_key="sk-mock", max_retries=0),
        )


def test_newer_parameters_tools_and_item_types_are_taken(clients: tuple[OpenAI, OpenAI]) -> None:
    lenient, strict = clients
    conversation = lenient.conversations.create(items=[REASONING])  # type: ignore[list-item]
    response = lenient.responses.create(model="gpt-4o", input="Hello", conversation=conversation.id, extra_body=NEWER)
    assert response.status == "completed" and response.output_text == 'You said: "Hello"'
    # The function tool echoed as the mock serves it, the hosted one as sent.
    assert [tool.type for tool in response.tools] == ["function", "web_search"]
    kept = lenient.conversations.items.list(conversation.id, order="asc").data
    assert [item.type for item in kept] == ["reasoning", "message", "message"]
    assert kept[0].id.startswith("rs_") and kept[0].id != "rs_1"
    assert kept[0].model_dump()["summary"] == [{"type": "summary_text", "text": "Think."}]

    for key, value in NEWER.items():
        with pytest.raises(openai.BadRequestError) as refused:
            strict.responses.create(model="gpt-4o", input="Hello", extra_body={key: value})
        assert refused.value.status_code == 400, key
    with pytest.raises(openai.BadRequestError):
        strict.conversations.create(items=[REASONING])  # type: ignore[list-item]


def test_placeholder_ids_and_what_a_suite_of_them_sends(clients: tuple[OpenAI, OpenAI]) -> None:
    lenient, strict = clients
    found = lenient.responses.retrieve("resp_placeholder")
    assert (found.id, found.status, found.output) == ("resp_placeholder", "completed", [])
    assert lenient.responses.input_items.list("resp_other").data == []
    # A stream of a response made without background: its status's one event, as a run's stream that waits for
    # nothing is one.
    assert [event.type for event in lenient.responses.retrieve("resp_placeholder", stream=True)] == [
        "response.completed"
    ]
    # A cancel of a response that is not running answers it unchanged, as a cancel of a stopped run does.
    assert lenient.responses.cancel("resp_placeholder").status == "completed"
    assert lenient.responses.delete("resp_gone") is None
    item = lenient.conversations.items.retrieve("msg_abc", conversation_id="conv_123")
    assert (item.id, item.type, item.role) == ("msg_abc", "message", "user")  # type: ignore[union-attr]
    # Both a conversation and a previous response (the conversation is the context), a prompt, no model, and a
    # max_output_tokens of 0, as openai-python's suites send them.
    both = lenient.responses.create(
        model="gpt-4o", input="Hi", conversation="conv_123", previous_response_id="resp_placeholder"
    )
    assert both.status == "completed" and both.previous_response_id == "resp_placeholder"
    prompted = lenient.responses.create(prompt={"id": "pmpt_1"}, max_output_tokens=0)  # type: ignore[call-overload]
    assert prompted.model == "gpt-4o" and prompted.status == "incomplete"

    refusals = [
        lambda: strict.responses.retrieve("resp_placeholder"),
        lambda: strict.responses.retrieve(strict.responses.create(model="gpt-4o", input="Hi").id, stream=True),
        lambda: strict.conversations.items.retrieve("msg_abc", conversation_id="conv_123"),
        lambda: strict.responses.create(model="gpt-4o", input="Hi", max_output_tokens=0),
        lambda: strict.responses.create(model="gpt-4o", prompt={"id": "pmpt_1"}),
    ]
    for refusal in refusals:
        with pytest.raises((openai.NotFoundError, openai.BadRequestError)):
            refusal()
