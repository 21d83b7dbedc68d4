"""A small built-in load generator, used when `wrk` is not installed (and by the smoke test).

It reads the same request file as `wrk/requests.lua`, keeps N keep-alive connections busy for a
duration (or until a number of responses), and returns the same summary as wrk's `done()`. It
keeps the bench usable (and its smoke test honest) on machines without wrk; the bench reports its
CPU share like wrk's, so a run where it was the bottleneck says so."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

HEADERS = b"Authorization: Bearer sk-bench\r\nOpenAI-Beta: assistants=v2\r\n"


def read_requests(path: Path, host: str) -> list[bytes]:
    prepared = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        method, target, body = [*line.split("\t", 2), ""][:3]
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n".encode() + HEADERS
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body.encode())}\r\n".encode()
        prepared.append(head + b"\r\n" + body.encode())
    if not prepared:
        raise SystemExit(f"no requests in {path}")
    return prepared


@dataclass
class Tally:
    limit: int | None
    latencies_us: list[float] = field(default_factory=list)
    bytes: int = 0
    status_errors: int = 0
    read_errors: int = 0
    connect_errors: int = 0

    turn: int = 0

    def next_turn(self) -> int:
        """The index of the next request, shared by the connections as wrk's request() is."""
        self.turn += 1
        return self.turn - 1

    def more(self, deadline: float) -> bool:
        return time.perf_counter() < deadline and (self.limit is None or len(self.latencies_us) < self.limit)


async def connection(host: str, port: int, requests: list[bytes], deadline: float, tally: Tally) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        tally.connect_errors += 1
        return
    try:
        while tally.more(deadline):
            request = requests[tally.next_turn() % len(requests)]
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length, chunked = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
            body = await read_chunked(reader) if chunked else await reader.readexactly(length)
            tally.latencies_us.append((time.perf_counter() - started) * 1e6)
            tally.bytes += len(head) + len(body)
            if int(head[9:12]) >= 400:
                tally.status_errors += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        tally.read_errors += 1
    finally:
        writer.close()


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body (an event stream), to its last chunk; no trailers are sent to this client."""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def drive(
    url: str, requests_file: Path, connections: int, duration: float, limit: int | None
) -> dict[str, float]:
    host, _, port = url.removeprefix("http://").rstrip("/").partition(":")
    requests = read_requests(requests_file, f"{host}:{port}")
    tally = Tally(limit)
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(connection(host, int(port), requests, deadline, tally) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies_us)
    return {
        "requests": len(ordered),
        "duration_us": int(elapsed * 1e6),
        "bytes": tally.bytes,
        "p50_us": percentile(ordered, 0.50),
        "p90_us": percentile(ordered, 0.90),
        "p99_us": percentile(ordered, 0.99),
        "max_us": ordered[-1] if ordered else 0.0,
        "mean_us": sum(ordered) / len(ordered) if ordered else 0.0,
        "connect_errors": tally.connect_errors,
        "read_errors": tally.read_errors,
        "write_errors": 0,
        "status_errors": tally.status_errors,
        "timeouts": 0,
    }
