"""A run's server-sent events in the real wire format (`event: <name>` and one line of JSON, a blank line after),
sent as the run makes them, then `[DONE]`; the stream is moved by a task of its own (`streaming.Streams`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import orjson
from starlette.responses import StreamingResponse

from ..errors import APIError
from ..streaming import Streams
from .machine import Event

DONE = b"event: done\ndata: [DONE]\n\n"


def encode(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def encoded(events: Sequence[Event]) -> bytes:
    return b"".join(encode(name, data) for name, data in events)


def run_stream(
    streams: Streams, run_id: str, first: Sequence[Event], rest: AsyncIterator[list[Event]]
) -> StreamingResponse:
    """`first` at once, then each batch of `rest` as the run makes it, then `[DONE]`; each batch is told to the
    streams' watcher, if one is set."""
    if streams.watcher is not None:
        streams.watcher(run_id, first)

    async def chunks() -> AsyncIterator[bytes]:
        async for events in rest:
            if streams.watcher is not None:
                streams.watcher(run_id, events)
            yield encoded(events)
        yield DONE

    return streams.respond(encoded(first), chunks(), failed)


def failed(error: APIError | None) -> bytes:
    """The spec's `error` event: the run went from under its stream (its thread was deleted), or a bug of ours."""
    if error is None:
        return encode("error", {"message": "The server had an error.", "type": "server_error"})
    return encode("error", error.body()["error"])
