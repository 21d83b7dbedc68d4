"""Conversations and Responses through the official SDK (3.x, and 1.x where it has the resources), over a real
socket: conversations and their items, responses alone, in a conversation, chained, with function calls, and
the reply rules a run and a response share. One server for the module; each test its own rule words."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from mock_server import MockApp, Settings, create_app
from mock_server.server import BackgroundServer

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SDK_MAJOR, SDK_MINOR = (int(part) for part in openai.__version__.split(".")[:2])
# Responses arrived in openai-python 1.66.0, Conversations in 1.101.0; every SDK the project tests (1.109.1,
# 3.x) has both. An older one is named, not skipped silently.
HAS_BOTH = (SDK_MAJOR, SDK_MINOR) >= (1, 101)
needs_both = pytest.mark.skipif(not HAS_BOTH, reason=f"openai {openai.__version__} has no conversations resource")
IMAGE = "https://example.com/cat.png"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=5))) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: BackgroundServer[MockApp]) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="sk-twin", max_retries=0) as sdk:
        yield sdk


def add_reply(server: BackgroundServer[MockApp], **rule: Any) -> None:
    httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/replies", json=rule).raise_for_status()


def test_the_sdk_has_both_resources(client: OpenAI) -> None:
    assert HAS_BOTH, f"openai {openai.__version__}: the project's SDKs all have responses and conversations"
    assert hasattr(client, "responses") and hasattr(client, "conversations")


@needs_both
def test_a_conversation_with_items(client: OpenAI) -> None:
    conversation = client.conversations.create(
        metadata={"topic": "pets"},
        items=[
            {"role": "system", "content": "Be brief."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": IMAGE, "detail": "low"},
                ],
            },
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q":"cat"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "a cat"},
        ],
    )
    assert conversation.id.startswith("conv_") and len(conversation.id) == 5 + 48
    assert (conversation.object, conversation.metadata) == ("conversation", {"topic": "pets"})
    items = client.conversations.items.list(conversation.id).data
    # Newest first; every item has its id and is completed; items share the conversation's last 16 digits.
    assert [item.type for item in items] == ["function_call_output", "function_call", "message", "message"]
    assert all(item.status == "completed" and item.id.endswith(conversation.id[-16:]) for item in items)
    output, called, asked, system = items
    assert output.id.startswith("fc_") and called.id.startswith("fc_") and asked.id.startswith("msg_")
    assert (called.name, called.arguments, output.output) == ("lookup", '{"q":"cat"}', "a cat")  # type: ignore[union-attr]
    assert system.content[0].text == "Be brief." and system.role == "system"  # type: ignore[union-attr]
    # An input image's URL shows only when included.
    assert asked.content[1].image_url is None  # type: ignore[union-attr]
    shown = client.conversations.items.retrieve(
        asked.id, conversation_id=conversation.id, include=["message.input_image.image_url"]
    )
    assert shown.content[1].image_url == IMAGE  # type: ignore[union-attr]
    page = client.conversations.items.list(conversation.id, order="asc", limit=3)
    assert [item.id for item in page.data] == [system.id, asked.id, called.id] and page.has_more
    assert [item.id for item in page.get_next_page().data] == [output.id]

    added = client.conversations.items.create(conversation.id, items=[{"role": "user", "content": "More?"}])
    assert [item.content[0].text for item in added.data] == ["More?"]  # type: ignore[union-attr]
    gone = client.conversations.items.delete(added.data[0].id, conversation_id=conversation.id)
    assert gone.id == conversation.id and gone.object == "conversation"
    with pytest.raises(openai.NotFoundError, match="Item with id"):
        client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)

    updated = client.conversations.update(conversation.id, metadata={"topic": "cats"})
    assert client.conversations.retrieve(conversation.id).metadata == updated.metadata == {"topic": "cats"}
    deleted = client.conversations.delete(conversation.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (conversation.id, True, "conversation.deleted")
    with pytest.raises(openai.NotFoundError, match=re.escape(f"Conversation with id '{conversation.id}' not found.")):
        client.conversations.retrieve(conversation.id)


@needs_both
def test_a_response_in_a_conversation_then_a_chained_one(client: OpenAI) -> None:
    conversation = client.conversations.create(items=[{"role": "system", "content": "You tell jokes."}])
    response = client.responses.create(
        model="gpt-4o", input="Tell me a joke.", conversation=conversation.id, instructions="Be funny."
    )
    assert response.status == "completed" and response.output_text == 'You said: "Tell me a joke."'
    assert response.conversation is not None and response.conversation.id == conversation.id
    assert response.id.startswith("resp_") and response.previous_response_id is None
    # Usage counts words: the system message, the input and the instructions in; the reply out.
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (9, 6, 15)
    # The input and the output joined the conversation, newest first, as one recorded answer shows.
    items = client.conversations.items.list(conversation.id).data
    assert [(item.role, item.content[0].text) for item in items] == [  # type: ignore[union-attr]
        ("assistant", 'You said: "Tell me a joke."'),
        ("user", "Tell me a joke."),
        ("system", "You tell jokes."),
    ]
    assert items[0].id == response.output[0].id

    follow = client.responses.create(model="gpt-4o", input="Another one.", previous_response_id=response.id)
    assert follow.output_text == 'You said: "Another one."' and follow.previous_response_id == response.id
    assert follow.instructions is None and getattr(follow, "conversation", None) is None
    # The chain is the context: the conversation's items, the first input and output, then the new input.
    assert follow.usage is not None and follow.usage.input_tokens == 4 + 3 + 6 + 2
    listed = client.responses.input_items.list(follow.id)
    assert [item.content[0].text for item in listed.data] == [  # type: ignore[union-attr]
        "Another one.",
        'You said: "Tell me a joke."',
        "Tell me a joke.",
        "You tell jokes.",
    ]
    assert client.responses.retrieve(follow.id).output_text == follow.output_text
    # The conversation did not grow with the chained response.
    assert len(client.conversations.items.list(conversation.id).data) == 3

    assert client.responses.delete(follow.id) is None
    with pytest.raises(openai.NotFoundError, match=re.escape(f"Response with id '{follow.id}' not found.")):
        client.responses.retrieve(follow.id)


@needs_both
def test_a_function_call_round_trip(server: BackgroundServer[MockApp], client: OpenAI) -> None:
    add_reply(
        server,
        match="weather in Oslo",
        tool_calls=[{"function": "get_weather", "arguments": {"city": "Oslo"}}],
        then="Oslo: 4 degrees.",
    )
    tools: Any = [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}, "strict": False}
    ]
    first = client.responses.create(model="gpt-4o", input="What is the weather in Oslo?", tools=tools)
    assert first.status == "completed" and first.output_text == ""
    (called,) = first.output
    assert called.type == "function_call" and called.id.startswith("fc_")
    assert (called.name, called.arguments, called.status) == ("get_weather", '{"city":"Oslo"}', "completed")
    assert called.call_id.startswith("call_") and len(called.call_id) == 29
    assert first.tools[0].strict is False  # type: ignore[union-attr]

    with pytest.raises(
        openai.BadRequestError, match=re.escape(f"No tool output found for function call {called.call_id}.")
    ):
        client.responses.create(model="gpt-4o", input="Never mind.", previous_response_id=first.id)
    answer = {"type": "function_call_output", "call_id": called.call_id, "output": "4 degrees"}
    second = client.responses.create(model="gpt-4o", input=[answer], previous_response_id=first.id, tools=tools)  # type: ignore[list-item]
    assert second.output_text == "Oslo: 4 degrees."
    (listed, *_) = client.responses.input_items.list(second.id).data
    assert listed.type == "function_call_output" and listed.id.startswith("fc_") and listed.id != called.id

    # Stateless: the call sent back beside its output gets the same answer; its output alone is refused.
    resent = client.responses.create(
        model="gpt-4o",
        store=False,
        input=[
            {"role": "user", "content": "What is the weather in Oslo?"},
            {"type": "function_call", "call_id": called.call_id, "name": "get_weather", "arguments": called.arguments},
            answer,  # type: ignore[list-item]
        ],
    )
    assert resent.output_text == "Oslo: 4 degrees." and resent.store is False
    with pytest.raises(
        openai.BadRequestError,
        match=re.escape(f"No tool call found for function call output with call_id {called.call_id}."),
    ):
        client.responses.create(model="gpt-4o", input=[answer])  # type: ignore[list-item]


@needs_both
def test_the_real_refusals(client: OpenAI) -> None:
    conversation = client.conversations.create()
    kept = client.responses.create(model="gpt-4o", input="Hello")
    with pytest.raises(openai.BadRequestError) as mixed:
        client.responses.create(model="gpt-4o", input="x", conversation=conversation.id, previous_response_id=kept.id)
    assert mixed.value.code == "mutually_exclusive_parameters"
    with pytest.raises(
        openai.BadRequestError, match=re.escape("Previous response with id 'resp_unknown' not found.")
    ) as unknown:
        client.responses.create(model="gpt-4o", input="x", previous_response_id="resp_unknown")
    assert (unknown.value.code, unknown.value.param) == ("previous_response_not_found", "previous_response_id")
    with pytest.raises(openai.NotFoundError, match=re.escape("Conversation with id 'conv_unknown' not found.")):
        client.responses.create(model="gpt-4o", input="x", conversation={"id": "conv_unknown"})
    # store: false answers in full and keeps nothing.
    forgotten = client.responses.create(model="gpt-4o", input="Secret", store=False)
    assert forgotten.output_text == 'You said: "Secret"'
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(forgotten.id)
    with pytest.raises(
        openai.BadRequestError, match=re.escape(f"Previous response with id '{forgotten.id}' not found.")
    ):
        client.responses.create(model="gpt-4o", input="x", previous_response_id=forgotten.id)
    with pytest.raises(openai.BadRequestError, match=re.escape("Cannot cancel a synchronous response.")):
        client.responses.cancel(kept.id)
    with pytest.raises(openai.BadRequestError, match="max_output_tokens"):
        client.responses.create(model="gpt-4o", input="x", max_output_tokens=15)


@needs_both
def test_one_reply_rule_answers_a_run_and_a_response(server: BackgroundServer[MockApp], client: OpenAI) -> None:
    add_reply(server, match="shared brain", reply="One brain, two APIs.")
    add_reply(server, match="break down", fail={"code": "rate_limit_exceeded", "message": "Slow down."})
    add_reply(server, match="long story", reply="one two three four five six", incomplete=True)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Use the shared brain."}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=5)
    reply = client.beta.threads.messages.list(thread.id).data[0].content[0].text.value  # type: ignore[union-attr]
    response = client.responses.create(model="gpt-4o", input="Use the shared brain.")
    assert run.status == response.status == "completed"
    assert reply == response.output_text == "One brain, two APIs."

    failed = client.responses.create(model="gpt-4o", input="Please break down.")
    assert failed.status == "failed" and failed.output == [] and failed.usage is None
    assert failed.error is not None and (failed.error.code, failed.error.message) == (
        "rate_limit_exceeded",
        "Slow down.",
    )
    cut = client.responses.create(model="gpt-4o", input="A long story.")
    assert (cut.status, cut.output_text, cut.output[0].status) == ("incomplete", "one two three", "incomplete")  # type: ignore[union-attr]
    assert cut.incomplete_details is not None and cut.incomplete_details.reason == "max_output_tokens"
    limited = client.responses.create(model="gpt-4o", input=" ".join(["word"] * 30), max_output_tokens=16)
    assert limited.status == "incomplete" and limited.usage is not None and limited.usage.output_tokens == 16


@needs_both
def test_the_same_with_the_async_client(server: BackgroundServer[MockApp]) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-twin", max_retries=0) as client:
            conversation = await client.conversations.create(items=[{"role": "user", "content": "Hi"}])
            response = await client.responses.create(model="gpt-4o", input="Hello async", conversation=conversation.id)
            assert response.output_text == 'You said: "Hello async"'
            items = [item.id async for item in client.conversations.items.list(conversation.id, limit=1)]
            assert len(items) == 3 and items[0] == response.output[0].id
            inputs = await client.responses.input_items.list(response.id)
            assert [item.content[0].text for item in inputs.data] == ["Hello async"]  # type: ignore[union-attr]
            assert (await client.conversations.delete(conversation.id)).deleted

    asyncio.run(scenario())


@needs_both
def test_background_responses_polled_and_cancelled(server: BackgroundServer[MockApp], client: OpenAI) -> None:
    add_reply(server, match="slow answer", reply="Done at last.", polls=1)
    conversation = client.conversations.create()
    queued = client.responses.create(
        model="gpt-4o", input="A slow answer.", background=True, conversation=conversation.id
    )
    assert (queued.status, queued.output, queued.usage, queued.background) == ("queued", [], None, True)
    seen = [client.responses.retrieve(queued.id).status for _ in range(3)]
    # queued -> in_progress, one poll held by the rule, then the end; the conversation grows only then.
    assert seen == ["in_progress", "in_progress", "completed"]
    done = client.responses.retrieve(queued.id)
    assert done.output_text == "Done at last." and done.usage is not None and done.completed_at is not None
    assert [item.role for item in client.conversations.items.list(conversation.id).data] == ["assistant", "user"]  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match=re.escape("Cannot cancel a completed response.")):
        client.responses.cancel(queued.id)

    other = client.responses.create(model="gpt-4o", input="Cancel me.", background=True)
    cancelled = client.responses.cancel(other.id)
    assert (cancelled.status, cancelled.output, cancelled.usage) == ("cancelled", [], None)
    assert client.responses.retrieve(other.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="store"):
        client.responses.create(model="gpt-4o", input="x", background=True, store=False)


@needs_both
def test_streamed_responses(server: BackgroundServer[MockApp], client: OpenAI) -> None:
    add_reply(server, match="stream please", reply="Here it comes now.")
    paced = {"X-Mock-Pace": "first_delta_ms=150,deltas_per_second=20"}
    started = time.monotonic()
    with client.responses.stream(model="gpt-4o", input="A stream please.", extra_headers=paced) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    # Four deltas, the first 0.15 s in, the others 0.05 s apart: the pace a run's stream keeps.
    assert time.monotonic() - started >= 0.15 + 3 / 20
    assert deltas == ["Here", " it", " comes", " now."] and final.output_text == "Here it comes now."
    assert client.responses.retrieve(final.id).output_text == final.output_text

    events = list(client.responses.create(model="gpt-4o", input="Stream please.", stream=True))
    assert [event.sequence_number for event in events] == list(range(len(events)))
    names = [event.type for event in events]
    assert names[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert names[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0]
    assert created.type == "response.created" and created.response.status == "in_progress"
    assert created.response.output == [] and created.response.usage is None

    add_reply(server, match="streamed call", tool_calls=[{"function": "lookup", "arguments": {"q": "x"}}])
    calls = list(client.responses.create(model="gpt-4o", input="A streamed call.", stream=True))
    kinds = [event.type for event in calls]
    assert kinds[2:6] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    done = calls[-1]
    assert done.type == "response.completed" and done.response.output[0].type == "function_call"
    assert "".join(e.delta for e in calls if e.type == "response.function_call_arguments.delta") == '{"q":"x"}'
