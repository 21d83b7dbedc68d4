"""Graceful shutdown, as users stop the server: SIGTERM to a real `python -m mock_server serve --store sqlite:PATH`.

A request in flight (held back by a latency fault) still gets its answer, the process exits 0, and the SQLite
store is closed cleanly: its write-ahead log folded into the file and removed, and a new server reads it all.
"""

from __future__ import annotations

import signal
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from mock_server.cli import GRACEFUL_SHUTDOWN_SECONDS

from .helpers import HEADERS, QUIET, Served, journal, serving, wait_until

# Generous bounds for a loaded 2-core machine; they only stop a broken test from hanging.
WAIT = 30.0


def in_flight(server: Served, path: str) -> dict[str, Any]:
    """Waits until the journal shows a request to `path` under way (its fault drawn, no answer yet)."""

    def pending() -> list[dict[str, Any]]:
        return [e for e in journal(server, path=path) if not e["completed"] and e["fault"] is not None]

    return wait_until(pending, WAIT, f"no request to {path} was ever in flight")[0]


def send_in_background(method: str, url: str, **options: Any) -> Future[httpx.Response]:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(httpx.request, method, url, headers={**HEADERS, **options.pop("headers", {})}, **options)
    pool.shutdown(wait=False)
    return future


def test_sigterm_lets_the_request_in_flight_finish_and_closes_the_store(tmp_path: Path) -> None:
    database = tmp_path / "mock.db"
    wal = tmp_path / "mock.db-wal"
    store = f"sqlite:{database}"
    with serving(*QUIET, "--store", store) as server, server.client() as api:
        thread = api.post("/threads", json={"messages": [{"role": "user", "content": "kept"}]}).json()
        assert wal.exists()  # the open store writes through its log
        # The change is made after the delay, that is after SIGTERM: the store must still be open then.
        pending = send_in_background(
            "POST",
            f"{server.url}/v1/threads/{thread['id']}",
            json={"metadata": {"late": "yes"}},
            headers={"X-Mock-Fault": "latency=1500ms"},
            timeout=WAIT,
        )
        in_flight(server, f"/v1/threads/{thread['id']}")
        server.process.send_signal(signal.SIGTERM)

        answer = pending.result(WAIT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"] == {"late": "yes"}
        assert server.process.wait(WAIT) == 0
    assert not wal.exists(), "the store was not closed: its write-ahead log is still there"
    assert "Traceback" not in server.output

    with serving(*QUIET, "--store", store) as again, again.client() as api:
        assert api.get(f"/threads/{thread['id']}").json() == answer.json()
        messages = api.get(f"/threads/{thread['id']}/messages").json()["data"]
        assert [m["content"][0]["text"]["value"] for m in messages] == ["kept"]


def test_a_hanging_request_cannot_hold_shutdown_past_the_grace_period(tmp_path: Path) -> None:
    database = tmp_path / "mock.db"
    with serving(*QUIET, "--store", f"sqlite:{database}") as server:
        # Left alone, a hang keeps the connection open for ten minutes.
        pending = send_in_background("POST", f"{server.url}/v1/threads", headers={"X-Mock-Fault": "hang"}, timeout=WAIT)
        in_flight(server, "/v1/threads")
        server.process.send_signal(signal.SIGTERM)
        # Bounded by the grace period (5 s) and not by the fault: WAIT is only the test's own safety net.
        assert WAIT > 3 * GRACEFUL_SHUTDOWN_SECONDS
        assert server.process.wait(WAIT) == 0
        # The hanging client is let go, not left waiting for its ten minutes. uvicorn answers a request it
        # cancels with a plain-text 500 of its own; the connection is closed either way.
        try:
            answer = pending.result(WAIT)
        except httpx.TransportError:
            pass
        else:
            assert answer.headers["connection"] == "close"
    assert not (tmp_path / "mock.db-wal").exists()


def test_workers_close_the_store_on_sigterm(tmp_path: Path) -> None:
    database = tmp_path / "mock.db"
    store = f"sqlite:{database}"
    with serving(*QUIET, "--store", store, "--workers", "2") as server, server.client() as api:
        created = [api.post("/threads", json={"metadata": {"n": str(n)}}).json() for n in range(20)]
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(WAIT) == 0
    assert not (tmp_path / "mock.db-wal").exists()
    with serving(*QUIET, "--store", store) as again, again.client() as api:
        assert [api.get(f"/threads/{t['id']}").json() for t in created] == created


def test_sigterm_stops_the_memory_store_server_cleanly() -> None:
    with serving(*QUIET) as server:
        assert httpx.get(f"{server.url}/__mock__/health").status_code == 200
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(WAIT) == 0
    assert "Traceback" not in server.output
