"""Reading a request body off the ASGI channel: a JSON body whole (within its limit), and one message's bytes."""

from __future__ import annotations

import asyncio
import contextlib
from typing import NoReturn

from starlette.types import Message, Receive

from .. import errors
from ..budget import InFlight

# A refused body up to this size is read to its end, and dropped, before the refusal is sent: a server that
# closes a connection with unread bytes resets it, and the client may never see its 413.
DRAIN_LIMIT = 8 * 1024 * 1024
DRAIN_SECONDS = 5.0


async def too_large(receive: Receive, limit: int, left: int | None, timeout: float) -> NoReturn:
    """Refuses a body over `limit`, once the `left` bytes still to come (None: unknown) are drained."""
    if left is None or 0 < left <= DRAIN_LIMIT:
        drained = 0
        with contextlib.suppress(TimeoutError, errors.APIError):
            async with asyncio.timeout(min(timeout, DRAIN_SECONDS)):
                while drained <= DRAIN_LIMIT:
                    message = await receive()
                    drained += len(body_of(message))
                    if not message.get("more_body", False):
                        break
    raise errors.body_too_large(limit)


async def read_body(
    receive: Receive, limit: int, declared_length: str | None, timeout: float, in_flight: InFlight | None = None
) -> bytes:
    """The body, refused with 413 as soon as it is larger than the limit, before the rest is read. A body
    that comes in pieces holds its bytes against the budget's in-flight share while it is read, and is
    refused with 503 when that share is full."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        await too_large(receive, limit, int(declared_length), timeout)
    first = await receive()
    chunks = [body_of(first)]
    size = len(chunks[0])
    if size > limit:
        await too_large(receive, limit, None if first.get("more_body", False) else 0, timeout)
    if not first.get("more_body", False):
        return chunks[0]
    # Only a body that comes in pieces pays for a timer and the count: it is the one that may never end,
    # and the one many slow clients could pile up.
    held = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                if in_flight is not None:
                    in_flight.take(size - held)
                    held = size
                message = await receive()
                chunks.append(body_of(message))
                size += len(chunks[-1])
                if size > limit:
                    del chunks[:]
                    await too_large(receive, limit, None if message.get("more_body", False) else 0, timeout)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise errors.body_timeout(timeout) from None
    finally:
        if in_flight is not None:
            in_flight.give_back(held)
    return b"".join(chunks)


def body_of(message: Message) -> bytes:
    if message["type"] == "http.disconnect":
        raise errors.client_gone()
    chunk: bytes = message.get("body", b"")
    return chunk
