"""A response's event stream, in the real format and order (see the facts sheet, "Streaming"): `event: <type>`
and one line of JSON whose `type` is the same and whose `sequence_number` counts from 0; no `[DONE]` at the end.

    response.created, response.in_progress (the response with no output and no usage; a background one:
      response.created queued, response.queued, response.in_progress), then per output item:
    a message: response.output_item.added, response.content_part.added, one response.output_text.delta a
      word, response.output_text.done, response.content_part.done, response.output_item.done;
      (a citation: response.output_text.annotation.added after the delta that reaches its index);
    a function call: response.output_item.added (arguments ""), response.function_call_arguments.delta,
      response.function_call_arguments.done (no `name`, as the live API sends it), response.output_item.done;
    a file_search call: response.output_item.added (queries [], results null),
      response.file_search_call.in_progress, .searching, .completed, response.output_item.done;
    then response.completed, response.incomplete or response.failed (the whole response).

What a response says is decided when the request arrives; when each event happens is its timeline, a run's
answer's: the first events at once, the answer begun (its first item added) after the rule's `seconds`, the
first delta `first_delta_ms` after that, the others `deltas_per_second`, the events between and after them
with the delta before. A streamed response is moved along it by a task of its own (`streaming.Streams`), which
ends it (stores it finished, gives its conversation the items) before it sends its last event; a client that
goes away stops only the sending. A background response keeps its events, so that `GET ?stream=true` replays
them (after `starting_after`), each when it is due. Deltas carry an `obfuscation` padding unless
`stream_options.include_obfuscation` is false (a background stream: only when it is true, as the recorded
background streams had none).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson

from ..errors import APIError
from ..runs.pace import Pace
from ..runs.tools import PIECE
from ..streaming import pause
from ..types import JSON
from .objects import unfinished

# The longest padding a delta carries (the live API's obfuscation strings are a few to some dozen characters).
PADDING = 16
DELTAS = frozenset({"response.output_text.delta", "response.function_call_arguments.delta"})
# An event's place on the timeline: with the request, with the answer's start, or a delta at the pace.
START, ANSWER, DELTA = "start", "answer", "delta"
SERVER_ERROR = {"type": "server_error", "code": "server_error", "message": "The server had an error.", "param": None}


def encode(event: JSON) -> bytes:
    name: str = event["type"]
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def events(response: JSON) -> list[tuple[str, JSON]]:
    """The stream's events, without their sequence numbers, each with its place on the timeline."""
    listed: list[tuple[str, JSON]] = []
    if response["background"]:
        queued = unfinished(response, "queued")
        listed += [(START, {"type": "response.created", "response": queued})]
        listed += [(START, {"type": "response.queued", "response": queued})]
    else:
        listed += [(START, {"type": "response.created", "response": unfinished(response, "in_progress")})]
    listed += [(START, {"type": "response.in_progress", "response": unfinished(response, "in_progress")})]
    for index, item in enumerate(response["output"]):
        listed += [(ANSWER, event) for event in item_events(index, item)]
    final = "failed" if response["status"] == "failed" else response["status"]
    listed.append((ANSWER, {"type": f"response.{final}", "response": response}))
    return [(DELTA if event["type"] in DELTAS else place, event) for place, event in listed]


def item_events(index: int, item: JSON) -> list[JSON]:
    where = {"item_id": item["id"], "output_index": index}
    made: list[JSON] = []
    if item["type"] == "message":
        started = {**item, "status": "in_progress", "content": []}
        made.append({"type": "response.output_item.added", "output_index": index, "item": started})
        for content_index, part in enumerate(item["content"]):
            at = {**where, "content_index": content_index}
            empty = {**part, "text": "", "annotations": []}
            made.append({"type": "response.content_part.added", **at, "part": empty})
            # Each annotation once the deltas reach the character it cites, as the recorded stream sent it.
            waiting = list(enumerate(part.get("annotations") or []))
            sent = 0
            for piece in PIECE.findall(part["text"]):
                made.append({"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []})
                sent += len(piece)
                while waiting and waiting[0][1].get("index", 0) <= sent:
                    made.append(annotation_added(at, *waiting.pop(0)))
            made += [annotation_added(at, *left) for left in waiting]
            made.append({"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []})
            made.append({"type": "response.content_part.done", **at, "part": part})
    elif item["type"] == "file_search_call":
        started = {**item, "status": "in_progress", "queries": [], "results": None}
        made.append({"type": "response.output_item.added", "output_index": index, "item": started})
        for phase in ("in_progress", "searching", "completed"):
            made.append({"type": f"response.file_search_call.{phase}", **where})
    else:
        started = {**item, "status": "in_progress", "arguments": ""}
        made.append({"type": "response.output_item.added", "output_index": index, "item": started})
        made.append({"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]})
        made.append({"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]})
    made.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return made


def annotation_added(at: JSON, index: int, annotation: JSON) -> JSON:
    return {"type": "response.output_text.annotation.added", **at, "annotation_index": index, "annotation": annotation}


def timeline(places: list[str], start: float, answer_at: float, pace: Pace) -> list[float]:
    """When each event is due (wall-clock seconds): see the module's doc."""
    due: list[float] = []
    deltas = 0
    last = start
    for place in places:
        if place == START:
            at = start
        elif place == DELTA:
            at = max(last, pace.due_at(answer_at + pace.first_delta, deltas))
            deltas += 1
        else:
            at = max(last, answer_at)
        due.append(at)
        last = at
    return due


def numbered(listed: list[tuple[str, JSON]]) -> list[JSON]:
    return [{**event, "sequence_number": number} for number, (_, event) in enumerate(listed)]


def padded(events: list[JSON], pad: Callable[[int], str] | None) -> list[JSON]:
    """The deltas with their `obfuscation` (made when the request arrives, so that a seed makes the same)."""
    if pad is None:
        return events
    return [
        {**event, "obfuscation": pad(1 + len(event["delta"]) % PADDING)} if event["type"] in DELTAS else event
        for event in events
    ]


class Drive:
    """A stream's driver: the events from number `start`, each batch when it is due. `finish` ends the
    response before its last event goes; `kept` (a background response's) reads how many events it still
    has: a cancel cuts them, and the stream stops where they stop, its response not finished by it."""

    def __init__(
        self,
        events: list[JSON],
        due: list[float],
        *,
        start: int,
        finish: Callable[[], Awaitable[None]],
        kept: Callable[[], Awaitable[int]] | None = None,
        woken: asyncio.Event | None = None,
    ) -> None:
        self.events, self.due, self.index = events, due, start
        self.finish, self.kept, self.woken = finish, kept, woken

    async def chunks(self) -> AsyncIterator[bytes]:
        total = len(self.events)
        while self.index < total:
            now = time.time()
            stop = self.index
            while stop < total and self.due[stop] <= now:
                stop += 1
            if stop == len(self.events):
                await self.finish()
            if stop > self.index:
                yield b"".join(encode(event) for event in self.events[self.index : stop])
                self.index = stop
            if self.index == total:
                return
            if self.woken is not None:
                await pause(self.woken, self.due[self.index])
            else:
                await asyncio.sleep(max(0.0, self.due[self.index] - time.time()))
            if self.kept is not None:
                total = min(total, await self.kept())

    def failed(self, error: APIError | None) -> bytes:
        """The error event the live API sends (its fields nested, which the SDK raises) at the next number:
        the driver stopped on a bug of ours (a response deleted under its stream does not stop it)."""
        body: JSON = {**error.body()["error"]} if error is not None else dict(SERVER_ERROR)
        return encode({"type": "error", "error": body, "sequence_number": self.index})
