"""Faults on runs and their streams: a stream cut after N events, a dribbled stream, and many streams at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI

from mock_server.faults import FaultSyntaxError, StreamCut
from mock_server.faults.grammar import parse_header, rule_data, rule_from_data
from mock_server.server import BackgroundServer

from .helpers import HEADERS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0) as sdk:
        yield sdk


def start(client: OpenAI, text: str = "hello there my friend") -> tuple[str, str]:
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return assistant.id, thread.id


def test_stream_cut_is_part_of_the_grammar() -> None:
    cut = parse_header("stream_cut=5").outcome
    assert isinstance(cut, StreamCut) and cut.events == 5
    rule = rule_from_data({"match": "POST /v1/threads/*/runs", "stream_cut": 3, "times": 1})
    assert rule_data(rule) == {"id": None, "match": "POST /v1/threads/*/runs", "stream_cut": 3, "times": 1}
    for bad, reason in [("stream_cut", "stream_cut needs the number of events"), ("stream_cut=-1", "stream_cut")]:
        with pytest.raises(FaultSyntaxError, match=reason):
            parse_header(bad)


def test_a_cut_stream_raises_in_the_sdk_after_exactly_n_events(client: OpenAI) -> None:
    assistant_id, thread_id = start(client)
    seen = []
    # The SDK lets its HTTP library's error through, whichever it is.
    with (
        pytest.raises(Exception) as caught,
        client.beta.threads.runs.stream(
            thread_id=thread_id, assistant_id=assistant_id, extra_headers={"X-Mock-Fault": "stream_cut=5"}
        ) as stream,
    ):
        for event in stream:
            seen.append(event.event)
    # httpx under openai 1.x, httpx2 under 3.x: the connection was reset under the reader.
    assert type(caught.value).__name__ in ("ReadError", "RemoteProtocolError"), repr(caught.value)
    assert seen == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
    ]
    # The server carried on: the run ended as it would have, and the mock still answers.
    runs = client.beta.threads.runs.list(thread_id=thread_id).data
    assert [run.status for run in runs] == ["completed"]


def test_a_fault_rule_cuts_only_the_streams_it_matches(client: OpenAI, server: BackgroundServer) -> None:
    root = server.base_url.removesuffix("/v1")
    rule = {"match": "POST /v1/threads/*/runs", "stream_cut": 0, "times": 1}
    httpx.post(f"{root}/__mock__/faults", json=rule).raise_for_status()
    assistant_id, thread_id = start(client)
    with (
        pytest.raises(Exception) as caught,
        client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream,
    ):
        stream.until_done()
    assert type(caught.value).__name__ in ("ReadError", "RemoteProtocolError"), repr(caught.value)
    # Used up: the next stream is whole, and a JSON answer is never cut.
    client.beta.threads.messages.create(thread_id, role="user", content="again")
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        stream.until_done()
        assert stream.get_final_run().status == "completed"
    assert client.beta.threads.runs.list(thread_id=thread_id, extra_headers={"X-Mock-Fault": "stream_cut=0"}).data


def test_a_slow_stream_arrives_whole_in_pieces(server: BackgroundServer, client: OpenAI) -> None:
    assistant_id, thread_id = start(client)
    headers = {**HEADERS, "X-Mock-Fault": "slow=500ms"}
    body = {"assistant_id": assistant_id, "stream": True}
    with (
        httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as api,
        api.stream("POST", f"/threads/{thread_id}/runs", json=body) as response,
    ):
        pieces = list(response.iter_raw())
    assert len(pieces) > 1
    text = b"".join(pieces).decode()
    assert text.startswith("event: thread.run.created\n") and text.endswith("event: done\ndata: [DONE]\n\n")


def test_many_slow_streams_never_hold_up_other_requests(server: BackgroundServer, client: OpenAI) -> None:
    assistant_id = client.beta.assistants.create(model="gpt-4o").id
    threads = [client.beta.threads.create(messages=[{"role": "user", "content": "hi"}]).id for _ in range(20)]

    async def program() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=30) as api:
            started = asyncio.Event()
            opened = 0

            async def stream(thread_id: str) -> str:
                nonlocal opened
                body = {"assistant_id": assistant_id, "stream": True}
                headers = {"X-Mock-Fault": "slow=3s"}
                async with api.stream("POST", f"/threads/{thread_id}/runs", json=body, headers=headers) as response:
                    opened += 1
                    if opened == len(threads):
                        started.set()
                    return (await response.aread()).decode()

            streams = [asyncio.create_task(stream(thread_id)) for thread_id in threads]
            await started.wait()
            # Every stream is open and still dribbling: other requests are answered all the same.
            for _ in range(10):
                assert (await api.post("/threads")).status_code == 200
            assert not any(task.done() for task in streams)
            bodies = await asyncio.gather(*streams)
            assert all(body.endswith("data: [DONE]\n\n") for body in bodies)

    asyncio.run(program())


def test_status_faults_apply_to_runs(client: OpenAI) -> None:
    import openai

    assistant_id, thread_id = start(client)
    with pytest.raises(openai.InternalServerError):
        client.beta.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant_id, extra_headers={"X-Mock-Fault": "status=500"}
        )
    run: Any = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"
