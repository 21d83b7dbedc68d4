"""Streamed runs as they advance: cancelled half way, left by their client, watched by many pollers at once,
and under faults; the pace's grammar and doors. Over a real socket, except where the machine is driven
directly on the conformance suite's yielding store.

Timing is asserted only as lower bounds with wide margins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mock_server import Settings
from mock_server.ids import Identity
from mock_server.runs.machine import RUN, RunMachine, pace_data
from mock_server.runs.objects import assistant_object, run_object
from mock_server.runs.pace import INSTANT, REALISTIC, Pace
from mock_server.server import BackgroundServer
from mock_server.store import ListQuery, Store, store_for
from mock_server.store.conformance import Yielding

from .helpers import HEADERS, TEXT_REPLY_EVENTS, collapse, wait_until

pytestmark = pytest.mark.anyio

WORDS = [f"w{n}" for n in range(1, 31)]
STOPS = {"thread.run.completed", "thread.run.cancelled", "thread.run.requires_action", "thread.run.failed"}


def sse(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream, `[DONE]` included as ("done", "[DONE]")."""
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name is not None:
            data = line[6:]
            yield name, data if data == "[DONE]" else orjson.loads(data)
            name = None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def admin(server: BackgroundServer, path: str, body: Any) -> None:
    httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/{path}", json=body).raise_for_status()


def new_run_target(api: httpx.Client, text: str = "go") -> tuple[str, str]:
    assistant = api.post("/assistants", json={"model": "gpt-4o"}).json()["id"]
    thread = api.post("/threads", json={"messages": [{"role": "user", "content": text}]}).json()["id"]
    return thread, assistant


# -- cancel, disconnect, many watchers, over a socket


def test_a_cancel_from_another_client_ends_the_stream_with_the_text_sent_so_far(
    server: BackgroundServer, api: httpx.Client
) -> None:
    admin(server, "replies", {"match": "go", "reply": " ".join(WORDS), "deltas_per_second": 10})
    thread_id, assistant_id = new_run_target(api)
    received: list[tuple[str, Any]] = []
    body = {"assistant_id": assistant_id, "stream": True}
    with api.stream("POST", f"/threads/{thread_id}/runs", json=body) as response:
        for name, data in sse(response.iter_lines()):
            received.append((name, data))
            if name == "thread.run.created":
                run_id = data["id"]
            if name == "thread.message.delta" and [n for n, _ in received].count(name) == 3:
                cancelled = api.post(f"/threads/{thread_id}/runs/{run_id}/cancel")
                assert cancelled.status_code == 200, cancelled.text
                assert cancelled.json()["status"] == "cancelling"
    names = [name for name, _ in received]
    deltas = [data["delta"]["content"][0]["text"]["value"] for name, data in received if name == "thread.message.delta"]
    assert 3 <= len(deltas) < len(WORDS)
    tail = names[names.index("thread.run.cancelling") :]
    assert tail == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]
    sent = "".join(deltas)
    message = api.get(f"/threads/{thread_id}/messages", params={"run_id": run_id}).json()["data"]
    assert [(m["status"], m["incomplete_details"], m["content"][0]["text"]["value"]) for m in message] == [
        ("incomplete", {"reason": "run_cancelled"}, sent)
    ]
    run = api.get(f"/threads/{thread_id}/runs/{run_id}").json()
    assert run["status"] == "cancelled" and run["usage"]["completion_tokens"] == len(deltas)
    steps = api.get(f"/threads/{thread_id}/runs/{run_id}/steps").json()["data"]
    assert [(s["type"], s["status"]) for s in steps] == [("message_creation", "cancelled")]
    # The thread is free again.
    assert api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": "again"}).status_code == 200


def test_a_client_that_goes_away_leaves_a_run_that_finishes_on_time(
    server: BackgroundServer, api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    admin(server, "replies", {"match": "go", "reply": " ".join(WORDS[:20]), "deltas_per_second": 20})
    thread_id, assistant_id = new_run_target(api)
    body = {"assistant_id": assistant_id, "stream": True}
    with caplog.at_level(logging.INFO):
        with (
            httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as leaving,
            leaving.stream("POST", f"/threads/{thread_id}/runs", json=body) as response,
        ):
            for name, _ in sse(response.iter_lines()):
                if name == "thread.message.delta":
                    break  # the client closes the connection after its first delta
        # Nobody polls the run: its messages fill in because the run moves on by itself.
        messages = wait_until(
            lambda: (
                api.get(f"/threads/{thread_id}/messages").json()["data"][0]["role"] == "assistant"
                and api.get(f"/threads/{thread_id}/messages").json()["data"]
            ),
            message="the run did not finish after its client left",
        )
    assert messages[0]["status"] == "completed"
    assert messages[0]["content"][0]["text"]["value"] == " ".join(WORDS[:20])
    runs = api.get(f"/threads/{thread_id}/runs").json()["data"]
    assert [run["status"] for run in runs] == ["completed"]
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_twenty_pollers_and_a_stream_end_the_run_once(
    start_server: Callable[..., BackgroundServer], tmp_path: Path, store: str
) -> None:
    server = start_server(store="memory" if store == "memory" else f"sqlite:{tmp_path / 'runs.db'}")
    admin(server, "replies", {"match": "go", "reply": " ".join(WORDS[:20]), "deltas_per_second": 40})
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        thread_id, assistant_id = new_run_target(api)

    async def scenario() -> tuple[list[str], list[list[str]], dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=20) as client:
            seen: list[list[str]] = []
            final: dict[str, Any] = {}
            started = asyncio.Event()
            run_id = ""

            async def poll() -> None:
                await started.wait()
                statuses: list[str] = []
                seen.append(statuses)
                while not statuses or statuses[-1] not in ("completed", "cancelled", "failed"):
                    run = (await client.get(f"/threads/{thread_id}/runs/{run_id}")).json()
                    statuses.append(run["status"])
                    final.update(run)

            pollers = [asyncio.create_task(poll()) for _ in range(20)]
            names: list[str] = []
            body = {"assistant_id": assistant_id, "stream": True}
            async with client.stream("POST", f"/threads/{thread_id}/runs", json=body) as response:
                buffer = ""
                async for chunk in response.aiter_text():
                    buffer += chunk
                    while "\n\n" in buffer:
                        event, buffer = buffer.split("\n\n", 1)
                        name = event.split("\n", 1)[0].removeprefix("event: ")
                        names.append(name)
                        if name == "thread.run.created":
                            run_id = orjson.loads(event.split("data: ", 1)[1])["id"]
                            started.set()
            await asyncio.gather(*pollers)
            return names, seen, final

    names, seen, final = asyncio.run(scenario())
    assert collapse(names) == [*TEXT_REPLY_EVENTS, "done"]
    assert names.count("thread.message.delta") == 20
    assert sum(name in STOPS for name in names) == 1
    # Each poller saw the run move only forward.
    order = ["queued", "in_progress", "completed"]
    for statuses in seen:
        assert statuses == sorted(statuses, key=order.index) and statuses[-1] == "completed"
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        messages = api.get(f"/threads/{thread_id}/messages").json()["data"]
        assert [(m["role"], m["status"]) for m in messages] == [("assistant", "completed"), ("user", "completed")]
        steps = api.get(f"/threads/{thread_id}/runs/{final['id']}/steps").json()["data"]
        assert [(s["type"], s["status"]) for s in steps] == [("message_creation", "completed")]
        assert final["usage"]["completion_tokens"] == 20 and steps[0]["usage"] == final["usage"]


# -- the machine itself on a store that yields inside every call


async def paced_run(store: Store, machine: RunMachine, words: int, per_second: float) -> Any:
    await store.create_thread("p", {"id": "thread_a", "object": "thread", "created_at": 1, "metadata": {}}, [])
    assistant = assistant_object("asst_1", 1, {"model": "gpt-4o"}, {})
    record = {
        "run": run_object("run_1", "thread_a", 1, assistant, {}),
        "plan": {"outcome": "reply", "text": " ".join(WORDS[:words])},
        "hold": 0,
        "answer_at": time.time(),
        "pace": pace_data(Pace(0.0, per_second)),
        "step_id": None,
        "usage": None,
        "prompt_tokens": 1,
        "log": [],
    }
    held, first = await machine.start("p", record)
    return held, [name for name, _ in first]


async def pollers_until_stopped(store: Store, machine: RunMachine, count: int) -> None:
    async def poll() -> None:
        while True:
            found = await store.read_record("p", RUN, "run_1")
            assert found is not None
            if found.data["run"]["status"] in ("completed", "cancelled"):
                return
            await machine.advance("p", found)
            await asyncio.sleep(0)

    await asyncio.gather(*(poll() for _ in range(count)))


@pytest.mark.parametrize("wrapped", [False, True], ids=["memory", "yielding"])
async def test_a_driven_stream_and_twenty_pollers_make_each_event_once(wrapped: bool) -> None:
    store: Store = Yielding(store_for("memory")) if wrapped else store_for("memory")
    machine = RunMachine(store, Identity(1))
    held, names = await paced_run(store, machine, words=10, per_second=100)

    async def stream() -> list[str]:
        return [name for events in [batch async for batch in machine.drive("p", held)] for name, _ in events]

    streamed, _ = await asyncio.gather(stream(), pollers_until_stopped(store, machine, 20))
    assert collapse(names + streamed) == TEXT_REPLY_EVENTS
    assert streamed.count("thread.message.delta") == 10
    listed = await store.list_messages("p", "thread_a", ListQuery())
    assert listed is not None and [m["status"] for m in listed.items] == ["completed"]
    steps = await store.list_records("p", "step", "run_1", ListQuery())
    assert [step["status"] for step in steps.items] == ["completed"]


@pytest.mark.parametrize("wrapped", [False, True], ids=["memory", "yielding"])
async def test_concurrent_cancels_during_a_driven_stream_cancel_it_once(wrapped: bool) -> None:
    store: Store = Yielding(store_for("memory")) if wrapped else store_for("memory")
    machine = RunMachine(store, Identity(1))
    held, _ = await paced_run(store, machine, words=30, per_second=50)
    streamed: list[str] = []

    async def stream() -> None:
        async for events in machine.drive("p", held):
            streamed.extend(name for name, _ in events)

    async def cancel() -> str:
        while streamed.count("thread.message.delta") < 3:
            await asyncio.sleep(0.005)
        found = await store.read_record("p", RUN, "run_1")
        assert found is not None
        try:
            await machine.cancel("p", found)
        except Exception as error:  # a cancel that finds the run already cancelling is refused
            return str(error)
        return "cancelled"

    _, outcomes, _ = await asyncio.gather(
        stream(), asyncio.gather(*(cancel() for _ in range(5))), pollers_until_stopped(store, machine, 5)
    )
    assert "cancelled" in outcomes
    refusals = {f"Cannot cancel run with status '{status}'." for status in ("cancelling", "cancelled")}
    assert all(outcome == "cancelled" or outcome in refusals for outcome in outcomes), outcomes
    assert streamed.count("thread.run.cancelling") == outcomes.count("cancelled") == 1
    assert streamed[-1] == "thread.run.cancelled" and streamed.count("thread.run.cancelled") == 1
    listed = await store.list_messages("p", "thread_a", ListQuery())
    assert listed is not None and [m["status"] for m in listed.items] == ["incomplete"]
    sent = streamed.count("thread.message.delta")
    assert listed.items[0]["content"][0]["text"]["value"] == "".join(f" {w}" for w in WORDS[:sent]).lstrip()


# -- faults on paced streams


def test_slow_lets_a_paced_stream_out_as_it_is_made(server: BackgroundServer, api: httpx.Client) -> None:
    thread_id, assistant_id = new_run_target(api, " ".join(WORDS[:10]))
    headers = {"X-Mock-Fault": "slow=300ms", "X-Mock-Pace": "first_delta_ms=1000,deltas_per_second=50"}
    began = time.monotonic()
    with api.stream(
        "POST", f"/threads/{thread_id}/runs", json={"assistant_id": assistant_id, "stream": True}, headers=headers
    ) as response:
        headers_at = time.monotonic()
        arrivals = [(name, time.monotonic()) for name, _ in sse(response.iter_lines())]
    first_delta = next(at for name, at in arrivals if name == "thread.message.delta")
    assert first_delta - headers_at >= 0.8  # the headers did not wait for the run
    assert arrivals[0][1] - began < first_delta - began  # nor did the run's first events
    assert collapse([name for name, _ in arrivals]) == [*TEXT_REPLY_EVENTS, "done"]


def test_latency_holds_the_headers_and_stream_cut_cuts_a_paced_stream(api: httpx.Client) -> None:
    thread_id, assistant_id = new_run_target(api, " ".join(WORDS[:10]))
    body = {"assistant_id": assistant_id, "stream": True}
    headers = {"X-Mock-Fault": "latency=500ms;stream_cut=9", "X-Mock-Pace": "deltas_per_second=20"}
    names: list[str] = []
    began = time.monotonic()
    with (
        pytest.raises(httpx.ReadError),
        api.stream("POST", f"/threads/{thread_id}/runs", json=body, headers=headers) as response,
    ):
        assert time.monotonic() - began >= 0.4
        for name, _ in sse(response.iter_lines()):
            names.append(name)
    assert names == [*TEXT_REPLY_EVENTS[:7], "thread.message.delta", "thread.message.delta"]


# -- the pace: grammar and doors


def test_the_pace_grammar() -> None:
    assert Pace.parse("instant") == INSTANT and Pace.parse("Realistic") == REALISTIC
    assert Pace.parse("first_delta_ms=250, deltas_per_second=8") == Pace(0.25, 8.0)
    assert Pace.parse("deltas_per_second=8", base=REALISTIC) == Pace(REALISTIC.first_delta, 8.0)
    assert Pace.parse(Pace(0.25, 8.0).text()) == Pace(0.25, 8.0) and REALISTIC.text() == "realistic"
    for bad, reason in [
        ("fast", "neither a preset"),
        ("first_delta_ms=soon", "must be a number"),
        ("deltas_per_second=-1", "from 0 to"),
        ("speed=3", "unknown pace key 'speed'"),
        ("", "a pace is a preset"),
    ]:
        with pytest.raises(ValueError, match=reason):
            Pace.parse(bad)
    pace = Pace(1.0, 10.0)
    assert [pace.due(100.0, 5, now) for now in (99.9, 100.0, 100.25, 101.0)] == [0, 1, 3, 5]
    assert INSTANT.due(0.0, 7, 0.0) == 7 and pace.due_at(100.0, 3) == pytest.approx(100.3)


def test_the_server_s_pace_comes_from_every_door_and_a_bad_one_is_refused() -> None:
    assert Settings.load({"pace": "realistic"}).pace == "realistic"
    assert Settings.load(environ={"THREADS_MOCK_PACE": "deltas_per_second=5"}).pace == "deltas_per_second=5"
    with pytest.raises(ValueError, match="neither a preset"):
        Settings.load(environ={"THREADS_MOCK_PACE": "warp"})


def test_a_rule_s_pace_is_checked_and_listed(server: BackgroundServer) -> None:
    root = server.base_url.removesuffix("/v1")
    refused = httpx.post(f"{root}/__mock__/replies", json={"reply": "x", "deltas_per_second": "fast"})
    assert refused.status_code == 400 and "deltas_per_second" in refused.text
    admin(server, "replies", {"reply": "x", "first_delta_ms": 5, "deltas_per_second": 50})
    listed = httpx.get(f"{root}/__mock__/replies").json()
    rules = listed["data"] if isinstance(listed, dict) else listed
    assert (rules[0]["first_delta_ms"], rules[0]["deltas_per_second"]) == (5, 50)


def test_a_bad_pace_header_is_refused_before_anything_is_written(api: httpx.Client) -> None:
    thread_id, assistant_id = new_run_target(api)
    answer = api.post(
        f"/threads/{thread_id}/runs", json={"assistant_id": assistant_id}, headers={"X-Mock-Pace": "warp=9"}
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("mock_pace_error", "X-Mock-Pace", "invalid_pace")
    assert "unknown pace key 'warp'" in error["message"]
    assert api.get(f"/threads/{thread_id}/runs").json()["data"] == []


def test_a_polled_run_keeps_the_stream_s_clock(api: httpx.Client) -> None:
    thread_id, assistant_id = new_run_target(api, " ".join(WORDS[:10]))
    began = time.monotonic()
    run = api.post(
        f"/threads/{thread_id}/runs",
        json={"assistant_id": assistant_id},
        headers={"X-Mock-Pace": "first_delta_ms=500,deltas_per_second=20"},
    ).json()
    statuses = []
    while run["status"] not in ("completed", "failed"):
        time.sleep(0.025)
        run = api.get(f"/threads/{thread_id}/runs/{run['id']}").json()
        statuses.append(run["status"])
    # 0.5 s to the first delta, nine more at twenty a second: at least 0.9 s before it can complete.
    assert time.monotonic() - began >= 0.85
    assert statuses.count("in_progress") > 10 and statuses[-1] == "completed"
