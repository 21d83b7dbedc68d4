"""A response's event stream, in the real format and order (see the facts sheet, "Streaming"): `event: <type>`
and one line of JSON whose `type` is the same and whose `sequence_number` counts from 0; no `[DONE]` at the end.

    response.created, response.in_progress (the response with no output and no usage), then per output item:
    a message: response.output_item.added, response.content_part.added, one response.output_text.delta a
      word, response.output_text.done, response.content_part.done, response.output_item.done;
    a function call: response.output_item.added (arguments ""), response.function_call_arguments.delta,
      response.function_call_arguments.done (no `name`, as the live API sends it), response.output_item.done;
    then response.completed, response.incomplete or response.failed (the whole response).

The response is decided and stored when the request arrives, as a non-streamed one is; the stream shows it at
the pace a run's stream keeps: its first delta `seconds` + `first_delta_ms` after the start, then
`deltas_per_second`. Deltas carry an `obfuscation` padding unless `stream_options.include_obfuscation` is false.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import orjson
from starlette.responses import StreamingResponse

from ..runs.pace import Pace
from ..runs.tools import PIECE
from ..types import JSON
from .objects import unfinished

# The longest padding a delta carries (the live API's obfuscation strings are a few to some dozen characters).
PADDING = 16


def encode(event: JSON) -> bytes:
    name: str = event["type"]
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def events(response: JSON, pad: Callable[[int], str] | None) -> Iterator[tuple[bool, JSON]]:
    """The stream's events without their sequence numbers, each marked when it is a delta (the pace spaces
    those out)."""
    yield False, {"type": "response.created", "response": unfinished(response, "in_progress")}
    yield False, {"type": "response.in_progress", "response": unfinished(response, "in_progress")}
    for index, item in enumerate(response["output"]):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            started = {**item, "status": "in_progress", "content": []}
            yield False, {"type": "response.output_item.added", "output_index": index, "item": started}
            for content_index, part in enumerate(item["content"]):
                at = {**where, "content_index": content_index}
                empty = {**part, "text": "", "annotations": []}
                yield False, {"type": "response.content_part.added", **at, "part": empty}
                for piece in PIECE.findall(part["text"]):
                    delta = {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
                    yield True, padded(delta, pad)
                yield False, {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
                yield False, {"type": "response.content_part.done", **at, "part": part}
        else:
            started = {**item, "status": "in_progress", "arguments": ""}
            yield False, {"type": "response.output_item.added", "output_index": index, "item": started}
            delta = {"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]}
            yield True, padded(delta, pad)
            done = {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
            yield False, done
        yield False, {"type": "response.output_item.done", "output_index": index, "item": item}
    final = "failed" if response["status"] == "failed" else response["status"]
    yield False, {"type": f"response.{final}", "response": response}


def padded(delta: JSON, pad: Callable[[int], str] | None) -> JSON:
    if pad is None:
        return delta
    return {**delta, "obfuscation": pad(1 + len(delta["delta"]) % PADDING)}


def stream_response(response: JSON, hold: float, pace: Pace, pad: Callable[[int], str] | None) -> StreamingResponse:
    """The stream of a decided response: the events before the first delta at once, the answer after `hold`
    seconds and the pace's first delta, each later delta when the pace has it due."""
    listed = list(events(response, pad))
    if response["background"]:
        # A background response streams its queue first (its end is stored already: see the module's doc).
        queued = unfinished(response, "queued")
        listed[:2] = [
            (False, {"type": "response.created", "response": queued}),
            (False, {"type": "response.queued", "response": queued}),
            listed[1],
        ]
    numbered = [{**event, "sequence_number": number} for number, (_, event) in enumerate(listed)]
    deltas = [is_delta for is_delta, _ in listed]

    async def chunks() -> AsyncIterator[bytes]:
        start = time.monotonic()
        first = start + hold + pace.first_delta
        sent = 0
        batch: list[bytes] = []
        for event, is_delta in zip(numbered, deltas, strict=True):
            if is_delta:
                due = pace.due_at(first, sent)
                wait = due - time.monotonic()
                if wait > 0:
                    if batch:
                        yield b"".join(batch)
                        batch = []
                    await asyncio.sleep(wait)
                sent += 1
            batch.append(encode(event))
        yield b"".join(batch)

    return StreamingResponse(chunks(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
