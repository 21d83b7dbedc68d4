"""Response streams driven over time, through the official SDK over a real socket: events in order with their
sequence numbers, deltas at the pace, a retrieve during the stream, a background stream resumed after event N,
a client that goes away, a cancel, and the refusal for a response not made in the background."""

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
from mock_server.responses_api import api as responses_api
from mock_server.server import BackgroundServer

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# Eight deltas, the first 0.06 s after the start, then 40 a second: about 0.24 s of stream.
PACE = {"X-Mock-Pace": "first_delta_ms=60,deltas_per_second=40"}
TEXT = "one two three four five six seven eight"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=5))) as running:
        httpx.post(f"{running.url}/__mock__/replies", json={"match": "(?i)count", "reply": TEXT}).raise_for_status()
        yield running


@pytest.fixture(scope="module")
def client(server: BackgroundServer[MockApp]) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="sk-streams", max_retries=0) as sdk:
        # Once, unpaced: the SDK builds its event models on first use, which would eat a paced stream's time.
        list(sdk.responses.create(model="gpt-4o", input="warm up", stream=True))
        yield sdk


def test_a_stream_moves_over_time_and_a_retrieve_sees_it_in_progress(client: OpenAI) -> None:
    # Half a second before the first delta: time enough for a retrieve, however loaded the machine.
    paced = {"X-Mock-Pace": "first_delta_ms=500,deltas_per_second=40"}
    started = time.monotonic()
    stream = client.responses.create(model="gpt-4o", input="Please count.", stream=True, extra_headers=paced)
    arrivals: list[tuple[Any, float]] = []
    for event in stream:
        arrivals.append((event, time.monotonic() - started))
        if event.type == "response.created":
            # The stream is under way: the stored response is in progress, with no output yet.
            during = client.responses.retrieve(event.response.id)
            assert (during.status, during.output, during.usage) == ("in_progress", [], None)
    events = [event for event, _ in arrivals]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 8,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [at for event, at in arrivals if event.type == "response.output_text.delta"]
    # Spread as the pace says (lower bounds only: a loaded machine is late, never early).
    # (each is sent when due, so it arrives no sooner; a late reader may get several at once).
    assert deltas[0] >= 0.5 and deltas[-1] >= 0.5 + 7 / 40
    final = events[-1]
    assert final.type == "response.completed" and final.response.output_text == TEXT
    assert all(getattr(event, "obfuscation", None) for event in events if event.type.endswith(".delta"))
    # Ended before its last event went: a retrieve now finds the very response the stream ended with.
    assert client.responses.retrieve(final.response.id).model_dump() == final.response.model_dump()


def test_a_background_stream_resumed_after_event_n(client: OpenAI) -> None:
    first: list[Any] = []
    with client.responses.create(
        model="gpt-4o", input="Count in the background.", background=True, stream=True, extra_headers=PACE
    ) as stream:
        for event in stream:
            first.append(event)
            if len(first) == 6:
                break  # the client goes away after event 5
    assert [event.type for event in first[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert first[0].response.status == "queued" and first[0].response.background is True
    # A background stream carries no obfuscation unless asked, as the recorded ones.
    assert first[5].type == "response.output_text.delta" and getattr(first[5], "obfuscation", None) is None
    response_id = first[0].response.id

    resumed = list(client.responses.retrieve(response_id, stream=True, starting_after=5))
    numbers = [event.sequence_number for event in resumed]
    assert numbers == list(range(6, 6 + len(resumed)))
    assert resumed[-1].type == "response.completed" and resumed[-1].response.output_text == TEXT
    # Every delta once, across the two streams.
    text = "".join(e.delta for e in [*first, *resumed] if e.type == "response.output_text.delta")
    assert text == TEXT

    # Replayed whole, and by the SDK's own helper (which asks from the start and drops what it saw).
    again = list(client.responses.retrieve(response_id, stream=True))
    assert [event.sequence_number for event in again] == list(range(len(again))) and len(again) == 6 + len(resumed)
    with client.responses.stream(response_id=response_id, starting_after=5) as helper:
        assert helper.get_final_response().output_text == TEXT


def test_a_client_that_goes_away_does_not_stop_a_background_response(
    server: BackgroundServer[MockApp], client: OpenAI
) -> None:
    conversation = client.conversations.create()
    body = {"model": "gpt-4o", "input": "Count for nobody.", "background": True, "stream": True}
    body["conversation"] = conversation.id
    with httpx.stream(
        "POST", f"{server.base_url}/responses", json=body, headers={**PACE, "Authorization": "Bearer sk-streams"}
    ) as raw:
        lines = raw.iter_lines()
        assert next(lines) == "event: response.created"
    # Nobody polls the response: its driver ends it, and the conversation gets its input and output.
    deadline = time.monotonic() + 5
    while not (items := client.conversations.items.list(conversation.id).data) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [item.role for item in items] == ["assistant", "user"]  # type: ignore[union-attr]
    assert items[0].content[0].text == TEXT  # type: ignore[union-attr]


def test_a_cancel_ends_a_background_stream(client: OpenAI) -> None:
    slow = {"X-Mock-Pace": "first_delta_ms=50,deltas_per_second=5"}
    seen: list[str] = []
    with client.responses.create(
        model="gpt-4o", input="Count slowly.", background=True, stream=True, extra_headers=slow
    ) as stream:
        for event in stream:
            seen.append(event.type)
            if event.type == "response.created":
                response_id = event.response.id
            if seen.count("response.output_text.delta") == 2:
                assert client.responses.cancel(response_id).status == "cancelled"
    # The stream stopped with what it had sent, with no end of its own; a replay stops there too.
    # (how many deltas came before the cancel depends on the machine's load: the end never does).
    assert "response.completed" not in seen and seen.count("response.output_text.delta") >= 2
    replayed = [event.type for event in client.responses.retrieve(response_id, stream=True)]
    assert replayed == seen
    assert client.responses.retrieve(response_id).status == "cancelled"
    # Cancelled while queued (never polled): its stream is its queue, and nothing of an answer.
    queued = client.responses.create(model="gpt-4o", input="Count never.", background=True)
    client.responses.cancel(queued.id)
    names = [event.type for event in client.responses.retrieve(queued.id, stream=True)]
    assert names == ["response.created", "response.queued"]


def test_only_a_background_response_streams_again(client: OpenAI) -> None:
    plain = client.responses.create(model="gpt-4o", input="Hello")
    with pytest.raises(
        openai.BadRequestError,
        match=re.escape("This response cannot be streamed because it was not created with background=true."),
    ) as refused:
        client.responses.retrieve(plain.id, stream=True)
    assert (refused.value.param, refused.value.code) == ("stream", "invalid_request_error")
    # A background response polled, not streamed, streams its events too, from the start.
    queued = client.responses.create(model="gpt-4o", input="Count quietly.", background=True)
    events = list(client.responses.retrieve(queued.id, stream=True, include_obfuscation=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert all(getattr(e, "obfuscation", None) for e in events if e.type == "response.output_text.delta")
    assert client.responses.retrieve(queued.id).status == "completed"


def test_the_same_with_the_async_client(server: BackgroundServer[MockApp]) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-streams", max_retries=0) as client:
            stream = await client.responses.create(
                model="gpt-4o", input="Async count.", background=True, stream=True, extra_headers=PACE
            )
            first = []
            async for event in stream:
                first.append(event)
                if len(first) == 3:
                    break
            await stream.close()
            resumed = await client.responses.retrieve(first[0].response.id, stream=True, starting_after=2)
            rest = [event async for event in resumed]
            assert [e.sequence_number for e in rest] == list(range(3, 3 + len(rest)))
            assert rest[-1].type == "response.completed"
            async with client.responses.stream(model="gpt-4o", input="Async count.", extra_headers=PACE) as live:
                assert (await live.get_final_response()).output_text == TEXT

    asyncio.run(scenario())


def test_a_response_too_old_is_not_streamed_again(client: OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    queued = client.responses.create(model="gpt-4o", input="Count later.", background=True)
    # Five minutes, shortened to none: the server runs in this process and reads the limit when asked.
    monkeypatch.setattr(responses_api, "STREAMABLE_SECONDS", -1)
    with pytest.raises(
        openai.BadRequestError,
        match=re.escape("This response can no longer be streamed because it is more than 5 minutes old"),
    ):
        client.responses.retrieve(queued.id, stream=True)
