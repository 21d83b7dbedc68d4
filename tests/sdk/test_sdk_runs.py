"""Assistants programs through the official SDK, sync and async, polling and streaming, over a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler, AsyncOpenAI, OpenAI
from openai.types.beta import AssistantStreamEvent

from mock_server.server import BackgroundServer

from ..helpers import TEXT_REPLY_EVENTS, collapse

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TEXT_EVENTS = TEXT_REPLY_EVENTS
WEATHER = {"match": "weather", "tool_calls": [{"function": "get_weather", "arguments": {"city": "Paris"}}]}


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.deltas: list[str] = []
        self.texts: list[str] = []
        self.tool_calls: list[str] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.names.append(event.event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)

    def on_text_done(self, text: Any) -> None:
        self.texts.append(text.value)

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_calls.append(tool_call.function.name)


def test_create_and_poll_to_a_text_reply(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", name="Echo", instructions="Repeat.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello, mock!"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed" and run.usage is not None and run.usage.total_tokens > 0
    assert run.instructions == "Repeat." and run.model == "gpt-4o"
    messages = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert [m.content[0].text.value for m in messages] == ['You said: "Hello, mock!"']  # type: ignore[union-attr]
    assert messages[0].assistant_id == assistant.id
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    assert [s.type for s in steps] == ["message_creation"]
    step = client.beta.threads.runs.steps.retrieve(step_id=steps[0].id, run_id=run.id, thread_id=thread.id)
    assert step.step_details.message_creation.message_id == messages[0].id  # type: ignore[union-attr]


def test_a_tool_call_through_requires_action_and_submit_tool_outputs_and_poll(client: OpenAI, add_reply: Any) -> None:
    add_reply(**WEATHER, then="It is sunny in Paris.")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What's the weather in Paris?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city":"Paris"}')
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "22C"}]
    )
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert reply.content[0].text.value == "It is sunny in Paris."  # type: ignore[union-attr]


def test_create_and_run_poll_and_cancel(client: OpenAI, add_reply: Any) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert run.status == "completed"
    add_reply(reply="never", polls=50)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "wait"}])
    started = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    cancelling = client.beta.threads.runs.cancel(run_id=started.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    assert client.beta.threads.runs.poll(run_id=started.id, thread_id=thread.id).status == "cancelled"


def test_each_refusal_field_by_field(client: OpenAI, add_reply: Any) -> None:
    add_reply(**WEATHER)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    def refused(call: Any, message: str, status: int = 400) -> None:
        with pytest.raises(openai.APIStatusError) as caught:
            call()
        error = caught.value
        assert (error.status_code, error.code, error.param, error.type) == (status, None, None, "invalid_request_error")
        # The SDK hands back the envelope's `error` object as the body.
        assert error.body == {"message": message, "type": "invalid_request_error", "param": None, "code": None}

    runs = client.beta.threads.runs
    refused(
        lambda: client.beta.threads.messages.create(thread.id, role="user", content="x"),
        f"Can't add messages to {thread.id} while a run {run.id} is active.",
    )
    refused(
        lambda: runs.create(thread_id=thread.id, assistant_id=assistant.id),
        f"Thread {thread.id} already has an active run {run.id}.",
    )
    refused(
        lambda: runs.submit_tool_outputs(run_id=run.id, thread_id=thread.id, tool_outputs=[]),
        'Runs in status "queued" do not accept tool outputs.',
    )
    waiting = runs.poll(run_id=run.id, thread_id=thread.id)
    call_id = waiting.required_action.submit_tool_outputs.tool_calls[0].id  # type: ignore[union-attr]
    refused(
        lambda: runs.submit_tool_outputs(run_id=run.id, thread_id=thread.id, tool_outputs=[]),
        f"Expected tool outputs for call_ids ['{call_id}'], got []",
    )
    runs.cancel(run_id=run.id, thread_id=thread.id)
    runs.poll(run_id=run.id, thread_id=thread.id)
    refused(lambda: runs.cancel(run_id=run.id, thread_id=thread.id), "Cannot cancel run with status 'cancelled'.")
    refused(
        lambda: runs.retrieve(run_id="run_abcdefghijklmnopqrstuvwx", thread_id=thread.id),
        "No run found with id 'run_abcdefghijklmnopqrstuvwx'.",
        404,
    )
    refused(
        lambda: client.beta.assistants.retrieve("asst_abcdefghijklmnopqrstuvwx"),
        "No assistant found with id 'asst_abcdefghijklmnopqrstuvwx'.",
        404,
    )


def test_assistants_crud_and_paging(client: OpenAI) -> None:
    made = [client.beta.assistants.create(model="gpt-4o", name=f"bot {i}") for i in range(5)]
    page = client.beta.assistants.list(limit=2, order="asc")
    assert [a.id for a in page.data] == [a.id for a in made[:2]] and page.has_more
    assert [a.id for a in client.beta.assistants.list(limit=2, order="asc")] == [a.id for a in made]
    updated = client.beta.assistants.update(made[0].id, name="renamed", metadata={"v": "2"})
    assert (updated.name, updated.metadata) == ("renamed", {"v": "2"})
    assert client.beta.assistants.retrieve(made[0].id).name == "renamed"
    assert client.beta.assistants.delete(made[0].id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.retrieve(made[0].id)


def test_runs_stream_sees_the_real_order_and_deltas_add_up(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "stream this please"}])
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as s:
        s.until_done()
        final_run = s.get_final_run()
        final_messages = s.get_final_messages()
    assert collapse(handler.names) == TEXT_EVENTS
    assert "".join(handler.deltas) == handler.texts[0] == 'You said: "stream this please"'
    assert final_run.status == "completed"
    assert [m.content[0].text.value for m in final_messages] == handler.texts  # type: ignore[union-attr]
    stored = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert stored.id == final_messages[0].id and stored.content == final_messages[0].content


def test_a_streamed_tool_call_and_submit_tool_outputs_stream(client: OpenAI, add_reply: Any) -> None:
    add_reply(**WEATHER, then="Sunny.")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "weather in Paris"}])
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as s:
        s.until_done()
        run = s.get_final_run()
    assert collapse(handler.names) == [*TEXT_EVENTS[:5], "thread.run.step.delta", "thread.run.requires_action"]
    assert handler.tool_calls == ["get_weather"] and run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    after = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "22C"}],
        event_handler=after,
    ) as s:
        s.until_done()
        assert s.get_final_run().status == "completed"
    assert collapse(after.names) == ["thread.run.step.completed", "thread.run.queued", *TEXT_EVENTS[2:]]
    assert after.texts == ["Sunny."]


def test_create_and_run_stream_begins_with_the_thread(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    handler = Recorder()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}, event_handler=handler
    ) as s:
        s.until_done()
    assert collapse(handler.names) == ["thread.created", *TEXT_EVENTS]


def test_the_same_program_with_the_same_seed_gives_identical_bodies(start_server: Any) -> None:
    def program() -> list[Any]:
        server = start_server(seed=99)
        with OpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0) as client:
            assistant = client.beta.assistants.create(model="gpt-4o", name="Seeded")
            run = client.beta.threads.create_and_run_poll(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "same?"}]}
            )
            messages = client.beta.threads.messages.list(thread_id=run.thread_id)
            steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id)
            return [assistant.model_dump(), run.model_dump(), messages.model_dump(), steps.model_dump()]

    assert program() == program()


class AsyncRecorder(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.deltas: list[str] = []

    async def on_event(self, event: AssistantStreamEvent) -> None:
        self.names.append(event.event)

    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)


def test_async_poll_tool_call_and_stream(server: BackgroundServer, add_reply: Any) -> None:
    add_reply(**WEATHER, then="Sunny.", times=1)

    async def program() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0) as client:
            assistant = await client.beta.assistants.create(model="gpt-4o")
            thread = await client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
            runs = client.beta.threads.runs
            run = await runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
            assert run.status == "requires_action"
            call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
            run = await runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "1"}]
            )
            assert run.status == "completed"
            await client.beta.threads.messages.create(thread.id, role="user", content="and now?")
            handler = AsyncRecorder()
            async with runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as stream:
                await stream.until_done()
                final = await stream.get_final_messages()
            assert collapse(handler.names) == TEXT_EVENTS
            assert "".join(handler.deltas) == final[0].content[0].text.value == 'You said: "and now?"'  # type: ignore[union-attr]
            polled = await client.beta.threads.create_and_run_poll(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "x"}]}
            )
            assert polled.status == "completed"

    asyncio.run(program())
