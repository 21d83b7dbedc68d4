"""Server-sent events in the real wire format: `event: <name>` and one line of JSON, a blank line after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import orjson
from starlette.responses import StreamingResponse

from .machine import Event

DONE = b"event: done\ndata: [DONE]\n\n"


def encode(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def chunks(events: Sequence[Event]) -> AsyncIterator[bytes]:
    for name, data in events:
        yield encode(name, data)
    yield DONE


def event_stream(events: Sequence[Event]) -> StreamingResponse:
    return StreamingResponse(chunks(events), media_type="text/event-stream", headers={"cache-control": "no-cache"})
