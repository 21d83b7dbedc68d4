"""What fault answers are made of: the real answer kept instead of sent, a connection dropped without
an answer, a body dribbled, cut or spoiled.

Every wait is an asyncio sleep: a request that hangs or dribbles never holds up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
import time
from typing import Any, cast

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import errors
from ..responses import error_response

# `slow` sends a piece of the body about this often, so a per-read client timeout sees steady progress.
SLOW_STEP = 0.1
# How long to wait for the server to notice a connection we closed ourselves.
CLOSE_GRACE = 5.0
Captured = tuple[int, list[tuple[bytes, bytes]], bytes]


async def captured(app: ASGIApp, scope: Scope, receive: Receive) -> Captured:
    """The real answer, kept instead of sent (an error the handler raised is rendered as usual)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, keep)
    except errors.APIError as error:
        response = error_response(error)
        return response.status_code, list(response.raw_headers), bytes(response.body)
    if start is None:
        raise RuntimeError("the application sent no response")
    return start["status"], list(start.get("headers", ())), b"".join(chunks)


# ---- the connection itself ---------------------------------------------------------------------


def transport_of(receive: Receive) -> asyncio.Transport | None:
    """uvicorn's `receive` is a bound method of its request cycle, which holds the connection's transport.
    ASGI has no way to drop a connection without answering, so the faults that must, reach for it;
    wrappers of `receive` point at what they wrap with `__wrapped__`, on themselves or on the object whose
    method they are. uvloop's transports do what asyncio's do without deriving from asyncio.Transport, so a
    transport is known by the methods used here."""
    current: Any = receive
    for _ in range(16):
        owner = getattr(current, "__self__", None)
        transport = getattr(owner, "transport", None)
        if isinstance(transport, asyncio.Transport) or is_transport_like(transport):
            return cast(asyncio.Transport, transport)
        current = getattr(current, "__wrapped__", None) or getattr(owner, "__wrapped__", None)
        if current is None:
            break
    return None


def is_transport_like(candidate: object) -> bool:
    return all(callable(getattr(candidate, name, None)) for name in ("abort", "close", "get_extra_info"))


async def read_request(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def close_connection(receive: Receive, *, abort: bool) -> None:
    """Close without a response: `abort` resets it (RST), else an orderly close (FIN).
    Under a server whose transport is out of reach, answering nothing is the closest there is."""
    transport = transport_of(receive)
    if transport is None:
        return
    if abort:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                # Linger 0: close() discards the connection with an RST instead of a FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # Returning before the server has seen the close would make it answer 500 in our place.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(until_disconnected(receive), CLOSE_GRACE)


async def hang(receive: Receive, limit: float) -> None:
    """No answer until the client goes away, or until `limit`, when the connection is closed unanswered."""
    try:
        await asyncio.wait_for(until_disconnected(receive), limit)
    except TimeoutError:
        await close_connection(receive, abort=False)
    except asyncio.CancelledError:
        # Cancelled at shutdown: drop the connection still unanswered, rather than let the server answer
        # a plain-text 500 for the hang.
        transport = transport_of(receive)
        if transport is not None:
            transport.abort()
        raise


# ---- answers that are wrong on purpose ---------------------------------------------------------


def cut_short(body: bytes) -> bytes:
    """The first half of the body: JSON that ends part way, never valid."""
    return body[: len(body) // 2] if len(body) >= 2 else b'{"'


def break_contract(body: bytes) -> bytes:
    """Valid JSON that no success response of the contract allows: an object without its required `id`,
    a list whose `data` is null; anything else (an error envelope) already lacks both."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return b"{}"
    if isinstance(data, dict):
        if "id" in data:
            data = {k: v for k, v in data.items() if k != "id"}
        elif "data" in data:
            data = {**data, "data": None}
    return orjson.dumps(data)


async def dribble(answer: Captured, duration: float, receive: Receive, send: Send) -> None:
    """The real answer, its headers at once and its body in pieces spread over `duration`; it stops
    early if the client goes away (the request has been read, so `receive` only reports that)."""
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    pieces = max(1, min(len(body), round(duration / SLOW_STEP)))
    size = math.ceil(len(body) / pieces) if body else 0
    step = duration / pieces
    gone = asyncio.ensure_future(until_disconnected(receive))
    try:
        for number in range(pieces):
            await asyncio.wait({gone}, timeout=step)
            if gone.done():
                return
            chunk = body[number * size : (number + 1) * size]
            await send({"type": "http.response.body", "body": chunk, "more_body": number < pieces - 1})
    finally:
        gone.cancel()


async def slowed(app: ASGIApp, scope: Scope, receive: Receive, send: Send, duration: float) -> None:
    """The real answer, its headers at once and its body spread over `duration`: an event stream as the app
    makes it (see `Trickle`), anything else once it is whole (see `dribble`)."""
    trickle = Trickle(send, duration)
    try:
        await app(scope, receive, trickle.keep)
    except errors.APIError as error:
        if trickle.start is not None:
            raise
        response = error_response(error)
        await dribble((response.status_code, list(response.raw_headers), bytes(response.body)), duration, receive, send)
        return
    finally:
        # A stream stops without its last message when its client goes away: the release ends all the same.
        trickle.done = True
    if trickle.start is None:
        raise RuntimeError("the application sent no response")
    if trickle.releasing is None:
        whole = (trickle.start["status"], list(trickle.start.get("headers", ())), bytes(trickle.body))
        await dribble(whole, duration, receive, send)
    else:
        await trickle.releasing


class Trickle:
    """An event stream let out as it is made, but never faster than its whole length spread over `duration`:
    by then a share of what was made so far equal to the share of `duration` gone has been sent; after
    `duration`, the rest goes as it comes."""

    def __init__(self, send: Send, duration: float) -> None:
        self.send = send
        self.duration = duration
        self.start: Message | None = None
        self.body = bytearray()
        self.done = False
        self.releasing: asyncio.Task[None] | None = None

    async def keep(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            if content_type.startswith(b"text/event-stream"):
                await self.send(message)
                self.releasing = asyncio.ensure_future(self._release(time.monotonic()))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            self.done = not message.get("more_body", False)

    async def _release(self, began: float) -> None:
        sent = 0
        while True:
            share = min(1.0, (time.monotonic() - began) / self.duration) if self.duration > 0 else 1.0
            over = self.done and share >= 1.0
            allowed = len(self.body) if over else math.floor(len(self.body) * share)
            if allowed > sent:
                piece = bytes(self.body[sent:allowed])
                await self.send({"type": "http.response.body", "body": piece, "more_body": True})
                sent = allowed
            if over:
                await self.send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await asyncio.sleep(SLOW_STEP)


def cut_after(events: int, receive: Receive, send: Send) -> Send:
    """A `send` that lets an event stream through up to the end of its Nth event, then drops the connection
    (an RST, as a proxy or a crashed server would); what the app sends after that goes nowhere. An answer
    that is not an event stream passes untouched."""
    streaming = False
    left = events
    cut = False

    async def cutting(message: Message) -> None:
        nonlocal streaming, left, cut
        if cut:
            return
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            streaming = content_type.startswith(b"text/event-stream")
            await send(message)
            return
        if not streaming or message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        end = 0
        while left > 0:
            found = body.find(b"\n\n", end)
            if found < 0:
                break
            end = found + 2
            left -= 1
        if left > 0:
            await send(message)
            return
        cut = True
        if end:
            await send({"type": "http.response.body", "body": body[:end], "more_body": True})
        await close_connection(receive, abort=True)

    return cutting
