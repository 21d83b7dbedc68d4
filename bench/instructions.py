"""Instructions per request, counted by callgrind: a figure that, unlike requests per second, does not move
with the other work on a shared machine. The mock's ASGI app is called in-process (no socket, no server) for
N rounds of create-thread + retrieve-thread + add-message (SCENARIO=create: create-thread alone;
SCENARIO=stream: a streamed run on a new thread, read to its end; MAX_MEMORY=off: the budget lifted); the cost
of one round is the difference between a run with N rounds and one with none, divided by N:

    N=600 valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.instructions
    N=0   valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.instructions

To compare two commits, run each from its own checkout with PYTHONPATH pointing at it: an editable install
imports the package it was installed from, whatever the working directory.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson

from mock_server import Settings, create_app
from mock_server.budget import parse_size

HEADERS = [(b"authorization", b"Bearer sk-bench"), (b"openai-beta", b"assistants=v2")]
WARM_UP = 20
# round: create-thread + retrieve-thread + add-message; create: create-thread alone; stream: create-thread, then
# a run on it with `stream: true`, read to [DONE].
SCENARIOS = ("round", "create", "stream")


async def call(app: Any, method: str, path: str, body: bytes = b"") -> bytes:
    sent: list[dict[str, Any]] = []

    received: list[bool] = []

    async def receive() -> dict[str, Any]:
        if received:
            # The body was read: what a client that stays connected sends next is nothing (a streamed answer
            # listens for its disconnect until the stream ends, and then stops listening).
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    length = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] if body else []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": HEADERS + length,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "scheme": "http",
        "root_path": "",
        "state": {},
    }
    await app(scope, receive, send)
    return b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")


async def rounds(count: int, scenario: str = "round", max_memory: str = "1GiB") -> None:
    app = create_app(Settings(seed=1, log_level="warning", max_memory=parse_size(max_memory)))
    thread = orjson.dumps({"messages": [{"role": "user", "content": "Hello there"}]})
    message = orjson.dumps({"role": "user", "content": "More"})
    async with app.router.lifespan_context(app):
        assistant = orjson.loads(await call(app, "POST", "/v1/assistants", orjson.dumps({"model": "gpt-4o"})))["id"]
        run = orjson.dumps({"assistant_id": assistant, "stream": True})
        for number in range(WARM_UP + count):
            thread_id = orjson.loads(await call(app, "POST", "/v1/threads", thread))["id"]
            if scenario == "stream":
                events = await call(app, "POST", f"/v1/threads/{thread_id}/runs", run)
                assert events.endswith(b"data: [DONE]\n\n"), events[-200:]
            elif number >= WARM_UP and scenario == "round":
                await call(app, "GET", f"/v1/threads/{thread_id}")
                await call(app, "POST", f"/v1/threads/{thread_id}/messages", message)


if __name__ == "__main__":
    scenario = os.environ.get("SCENARIO", "round")
    if scenario not in SCENARIOS:
        raise SystemExit(f"SCENARIO must be one of {', '.join(SCENARIOS)}, not {scenario!r}")
    asyncio.run(rounds(int(os.environ.get("N", "0")), scenario, os.environ.get("MAX_MEMORY", "1GiB")))
