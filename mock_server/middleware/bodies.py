"""Reading a request body off the ASGI channel: a JSON body whole (within its limit), and one message's bytes."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive

from .. import errors


async def read_body(receive: Receive, limit: int, declared_length: str | None, timeout: float) -> bytes:
    """The body, refused with 413 as soon as it is larger than the limit, before the rest is read."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise errors.body_too_large(limit)
    first = await receive()
    chunks = [body_of(first)]
    size = len(chunks[0])
    if size > limit:
        raise errors.body_too_large(limit)
    if not first.get("more_body", False):
        return chunks[0]
    # Only a body that comes in pieces pays for a timer: it is the one that may never end.
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                chunks.append(body_of(message))
                size += len(chunks[-1])
                if size > limit:
                    raise errors.body_too_large(limit)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise errors.body_timeout(timeout) from None
    return b"".join(chunks)


def body_of(message: Message) -> bytes:
    if message["type"] == "http.disconnect":
        raise errors.client_gone()
    chunk: bytes = message.get("body", b"")
    return chunk
