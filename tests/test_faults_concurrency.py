"""A request that hangs or dribbles never holds up another, and ends when its client goes away."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from mock_server.server import BackgroundServer

from .helpers import HEADERS, journal, wait_until


def wait_for(server: BackgroundServer, condition: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """Polls the journal until the condition holds of it."""

    def met() -> list[dict[str, Any]]:
        found = journal(server)
        return found if condition(found) else []

    return wait_until(met, message="the journal never showed it")


@contextmanager
def raw_request(server: BackgroundServer, fault: str) -> Iterator[socket.socket]:
    """A POST /v1/threads with the fault header, sent by hand; the connection stays open until exit."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    body = b'{"messages": [{"role": "user", "content": "Hello"}]}'
    head = (
        "POST /v1/threads HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer sk-mock\r\nOpenAI-Beta: assistants=v2\r\n"
        f"X-Mock-Fault: {fault}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    try:
        yield sock
    finally:
        sock.close()


def in_flight(kind: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda found: any((e["fault"] or {}).get("kind") == kind for e in found)


@pytest.mark.parametrize("fault", ["hang=60s", "hang"])
def test_a_hang_in_flight_does_not_delay_other_requests(
    start_server: Callable[..., BackgroundServer], fault: str
) -> None:
    server = start_server()
    with raw_request(server, fault):
        wait_for(server, in_flight("hang"))
        with httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
            created = client.post("/threads")
            fetched = client.get(f"/threads/{created.json()['id']}")
        assert (created.status_code, fetched.status_code) == (200, 200)
        hanging, *others = journal(server)
        # The others finished while the hang was (and still is) pending.
        assert (hanging["completed"], hanging["status"]) == (False, None)
        assert [(e["completed"], e["status"]) for e in others] == [(True, 200), (True, 200)]
    # The client went away: the hang ends now, not after its 60 s (or 10 min) bound.
    ended = wait_for(server, lambda found: found[0]["completed"])
    assert ended[0]["status"] is None


def test_a_hang_ends_at_its_bound_with_the_connection_closed(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server()
    with raw_request(server, "hang=200ms") as sock:
        sock.settimeout(10)
        assert sock.recv(1024) == b""  # closed by the server, nothing answered
    assert journal(server)[0]["status"] is None


def test_a_slow_answer_in_flight_does_not_delay_other_requests(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server()
    with raw_request(server, "slow=60s") as sock:
        sock.settimeout(10)
        assert sock.recv(12) == b"HTTP/1.1 200"  # the headers come at once, the body dribbles
        with httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
            assert client.post("/threads").status_code == 200
        slow, other = journal(server)
        assert (slow["completed"], slow["status"], slow["fault"]["kind"]) == (False, 200, "slow")
        assert (other["completed"], other["status"]) == (True, 200)
    wait_for(server, lambda found: found[0]["completed"])


def test_a_slow_body_arrives_in_pieces_and_whole(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server()
    with raw_request(server, "slow=500ms") as sock:
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        pieces = 1 if body else 0
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the body was complete"
            body += chunk
            pieces += 1
    assert len(body) == length and body.startswith(b'{"id":"thread_') and body.endswith(b"}")
    assert pieces > 2
