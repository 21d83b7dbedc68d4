"""One stuck client never stalls the others: a `hang` fault, a `slow` fault, and a raw socket that asks for
large answers and never reads them. Each time, other clients are served in full while it is still pending;
no clock is read, the pending one is simply still not done when the others are."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mock_server.server import BackgroundServer

from .helpers import HEADERS

OTHERS = 50
WAIT = 30.0


async def in_flight(http: httpx.AsyncClient, server: BackgroundServer, path: str) -> None:
    """Returns once the journal shows a request to `path` whose fault was drawn and that has no answer yet."""
    async with asyncio.timeout(WAIT):
        while True:
            journal = await http.get(f"{server.url}/__mock__/requests", params={"path": path})
            if any(not e["completed"] and e["fault"] is not None for e in journal.json()["data"]):
                return
            await asyncio.sleep(0.01)


async def busy_clients(http: httpx.AsyncClient) -> list[httpx.Response]:
    """OTHERS clients at once, each creating a thread with a message and reading it back."""

    async def one(number: int) -> httpx.Response:
        body = {"messages": [{"role": "user", "content": f"other {number}"}], "metadata": {"n": str(number)}}
        created = (await http.post("/threads", json=body)).json()
        return await http.get(f"/threads/{created['id']}/messages")

    return await asyncio.gather(*(one(n) for n in range(OTHERS)))


@pytest.mark.parametrize("fault", ["hang", "slow=1m"])
def test_a_stuck_request_does_not_stall_the_others(start_server: Callable[..., BackgroundServer], fault: str) -> None:
    server = start_server()

    async def scenario() -> None:
        limits = httpx.Limits(max_connections=OTHERS + 1)
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=WAIT, limits=limits) as http:
            stuck = asyncio.create_task(http.post("/threads", headers={"X-Mock-Fault": fault}))
            await in_flight(http, server, "/v1/threads")
            answers = await busy_clients(http)
            assert not stuck.done(), "the stuck request was answered; the test proved nothing"
            assert [a.status_code for a in answers] == [200] * OTHERS
            assert sorted(a.json()["data"][0]["content"][0]["text"]["value"] for a in answers) == sorted(
                f"other {n}" for n in range(OTHERS)
            )
            stuck.cancel()

    asyncio.run(scenario())


def big_thread(server: BackgroundServer, messages: int, size: int) -> str:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=WAIT) as api:
        thread_id: str = api.post("/threads").json()["id"]
        for number in range(messages):
            content = f"{number:03d}" + "x" * size
            api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": content}).raise_for_status()
    return thread_id


def read_responses(sock: socket.socket, count: int) -> list[dict[str, Any]]:
    """Reads `count` pipelined HTTP/1.1 responses with Content-Length; returns their JSON bodies."""
    buffer = b""
    bodies: list[dict[str, Any]] = []
    while len(bodies) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buffer[:head_end].decode("latin-1").split("\r\n")
            assert head[0].startswith("HTTP/1.1 200"), head[0]
            fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            length = int(fields["content-length"])
            if len(buffer) >= head_end + 4 + length:
                bodies.append(json.loads(buffer[head_end + 4 : head_end + 4 + length]))
                buffer = buffer[head_end + 4 + length :]
                continue
        chunk = sock.recv(1 << 20)
        assert chunk, "the server closed the connection of the slow reader"
        buffer += chunk
    return bodies


def test_a_client_that_does_not_read_its_answers_does_not_stall_the_others(
    start_server: Callable[..., BackgroundServer],
) -> None:
    server = start_server()
    # 100 messages of 20 KB: each list is about 2 MB, and ten of them asked for at once are far more than
    # the kernel buffers hold, so the server has answers for this socket it cannot write while the others run.
    thread_id = big_thread(server, messages=100, size=20_000)
    pipelined = 10
    request = (
        f"GET /v1/threads/{thread_id}/messages?limit=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {HEADERS['Authorization']}\r\nOpenAI-Beta: {HEADERS['OpenAI-Beta']}\r\n\r\n"
    ).encode()
    with socket.socket() as slow:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(WAIT)
        slow.connect(("127.0.0.1", server.port))
        slow.sendall(request * pipelined)

        async def others() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=WAIT) as http:
                return await busy_clients(http)

        answers = asyncio.run(others())
        assert [a.status_code for a in answers] == [200] * OTHERS

        # Only now does it read: every answer arrives whole, so the server kept them for it meanwhile.
        bodies = read_responses(slow, pipelined)
    assert len(bodies) == pipelined
    for body in bodies:
        assert [m["content"][0]["text"]["value"][:3] for m in body["data"]] == [f"{n:03d}" for n in range(99, -1, -1)]
