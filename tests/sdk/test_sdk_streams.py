"""Streamed runs event by event at a chosen pace, through the official SDK (1.x and 3.x), over a real server.

Timing is asserted only as lower bounds with wide margins (a gap at least this long), never as upper
bounds: this machine is shared and slow at times, and a late event must not fail a test.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from openai import AssistantEventHandler, AsyncOpenAI, OpenAI
from openai.types.beta import AssistantStreamEvent

from mock_server.server import BackgroundServer

from ..helpers import TEXT_REPLY_EVENTS, collapse

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TEN_WORDS = "one two three four five six seven eight nine ten"


class Timed(AssistantEventHandler):
    """Every event's name and the time it reached the client."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[str, float]] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.arrivals.append((event.event, time.monotonic()))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.arrivals]

    def times(self, name: str) -> list[float]:
        return [at for event, at in self.arrivals if event == name]


def new_thread(client: OpenAI, text: str) -> tuple[str, str]:
    assistant = client.beta.assistants.create(model="gpt-4o", name="Streamer")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return thread.id, assistant.id


def test_the_run_s_first_events_leave_before_its_hold_ends(client: OpenAI, add_reply: Any) -> None:
    add_reply(match="hold", reply="held answer", seconds=1)
    thread_id, assistant_id = new_thread(client, "hold on")
    handler = Timed()
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id, event_handler=handler) as s:
        s.until_done()
    first_delta = handler.times("thread.message.delta")[0]
    before_hold_ended = [name for name, at in handler.arrivals if at < first_delta - 0.8]
    # The hold sits between in_progress and the answer: what came at once is the run's start, whole.
    assert before_hold_ended == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert collapse(handler.names) == TEXT_REPLY_EVENTS


def test_a_paced_stream_spreads_its_deltas_and_ends_as_the_polled_run(client: OpenAI, add_reply: Any) -> None:
    add_reply(match="count", reply=TEN_WORDS, deltas_per_second=10)
    thread_id, assistant_id = new_thread(client, "count to ten")
    handler = Timed()
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id, event_handler=handler) as s:
        s.until_done()
        streamed = s.get_final_run()
    deltas = handler.times("thread.message.delta")
    assert len(deltas) == 10
    # Nine gaps of a tenth of a second; a first delta sent late on a busy machine shortens the spread.
    assert deltas[-1] - deltas[0] >= 0.6
    assert collapse(handler.names) == TEXT_REPLY_EVENTS

    polled_thread, _ = new_thread(client, "count to ten")
    polled = client.beta.threads.runs.create_and_poll(thread_id=polled_thread, assistant_id=assistant_id)
    assert (streamed.status, polled.status) == ("completed", "completed")
    assert streamed.usage == polled.usage
    for thread_id_, run_id in ((thread_id, streamed.id), (polled_thread, polled.id)):
        messages = client.beta.threads.messages.list(thread_id=thread_id_, run_id=run_id).data
        assert [(m.status, m.content[0].text.value) for m in messages] == [("completed", TEN_WORDS)]  # type: ignore[union-attr]
        steps = client.beta.threads.runs.steps.list(thread_id=thread_id_, run_id=run_id).data
        assert [(step.type, step.status) for step in steps] == [("message_creation", "completed")]


def test_the_x_mock_pace_header_paces_create_thread_and_run(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    handler = Timed()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": TEN_WORDS}]},
        event_handler=handler,
        extra_headers={"X-Mock-Pace": "first_delta_ms=1000,deltas_per_second=20"},
    ) as s:
        s.until_done()
        assert s.get_final_run().status == "completed"
    created = handler.times("thread.created")[0]
    deltas = handler.times("thread.message.delta")
    assert deltas[0] - created >= 0.8
    assert deltas[-1] - deltas[0] >= 0.4  # twelve words quoted back, twenty a second


def test_the_answer_after_submitted_tool_outputs_is_paced(client: OpenAI, add_reply: Any) -> None:
    tool = {"function": "lookup", "arguments": {"q": "x"}}
    add_reply(match="look", tool_calls=[tool], then=TEN_WORDS)
    thread_id, assistant_id = new_thread(client, "look it up")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    handler = Timed()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "found"}],
        event_handler=handler,
        extra_headers={"X-Mock-Pace": "deltas_per_second=10"},
    ) as s:
        s.until_done()
        assert s.get_final_run().status == "completed"
    deltas = handler.times("thread.message.delta")
    assert len(deltas) == 10 and deltas[-1] - deltas[0] >= 0.6
    assert handler.names[:2] == ["thread.run.step.completed", "thread.run.queued"]


def test_the_async_client_receives_deltas_as_they_come(server: BackgroundServer, add_reply: Any) -> None:
    add_reply(match="count", reply=TEN_WORDS, deltas_per_second=10)

    async def main() -> list[float]:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0) as client:
            assistant = await client.beta.assistants.create(model="gpt-4o")
            thread = await client.beta.threads.create(messages=[{"role": "user", "content": "count"}])
            arrivals: list[float] = []
            async with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
                async for event in stream:
                    if event.event == "thread.message.delta":
                        arrivals.append(time.monotonic())
                run = await stream.get_final_run()
            assert run.status == "completed"
            return arrivals

    arrivals = asyncio.run(main())
    assert len(arrivals) == 10 and arrivals[-1] - arrivals[0] >= 0.6


def test_a_read_timeout_does_not_fire_while_deltas_keep_coming(server: BackgroundServer) -> None:
    """The README's example: a client whose read timeout is shorter than the whole answer, but longer than
    the gap between two deltas, reads it to the end; one that waits longer than that for the first gives up."""
    with OpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0, timeout=0.5) as client:
        thread_id, assistant_id = new_thread(client, TEN_WORDS)
        steady = {"X-Mock-Pace": "first_delta_ms=200,deltas_per_second=5"}  # 2.6 s in all, 0.2 s apart
        with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id, extra_headers=steady) as s:
            s.until_done()
            assert s.get_final_run().status == "completed"

        thread_id, _ = new_thread(client, TEN_WORDS)
        late = {"X-Mock-Pace": "first_delta_ms=3000"}
        with (
            pytest.raises(Exception) as raised,
            client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id, extra_headers=late) as s,
        ):
            s.until_done()
        assert "Timeout" in type(raised.value).__name__, repr(raised.value)
