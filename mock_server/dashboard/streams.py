"""The events of streamed runs as they are sent, for the page: kept only while a page watches.

`runs/sse.py:run_stream` tells the `Streams`' `watcher` each batch of a stream's events. The watcher is set when a page
asks for stream events and unset at the first batch after nobody has asked for WATCH_SECONDS, so a mock
without an open page pays one test of None per batch. What is kept is bounded: the last EVENTS_KEPT events,
each its name and a short text (a delta's words, an object's status), never the whole object.

These are the events of the streams this process sends: with several instances behind one address, a page
sees the streams of the instance its polls reach.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..runs.machine import Event
from ..streaming import Streams

WATCH_SECONDS = 30.0
EVENTS_KEPT = 2000
TEXT_KEPT = 200


def event_text(name: str, data: Any) -> str:
    """A line for the event: a delta's text, else the object's id and status (or type)."""
    if not isinstance(data, dict):
        return ""
    delta = data.get("delta")
    if isinstance(delta, dict):
        pieces = []
        for part in delta.get("content") or ():
            if isinstance(part, dict) and isinstance(part.get("text"), dict):
                pieces.append(str(part["text"].get("value", "")))
        if pieces:
            return "".join(pieces)[:TEXT_KEPT]
        details = delta.get("step_details")
        return "" if details is None else str(details.get("type", ""))
    words = [str(data.get(key)) for key in ("id", "status", "type") if data.get(key) is not None]
    return " ".join(words)[:TEXT_KEPT]


class StreamLog:
    def __init__(self, streams: Streams) -> None:
        self.streams = streams
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self.numbers = itertools.count(1)
        self.watched_until = 0.0
        # The thread of each run seen, for the events whose data does not name it.
        self.threads: dict[str, str] = {}

    def watch(self) -> None:
        """A page asked: keep recording for WATCH_SECONDS more."""
        self.watched_until = time.monotonic() + WATCH_SECONDS
        self.streams.watcher = self.record

    def record(self, run_id: str, events: Sequence[Event]) -> None:
        if time.monotonic() > self.watched_until:
            self.streams.watcher = None
            return
        at = time.time()
        if len(self.threads) > EVENTS_KEPT:
            self.threads.clear()
        for name, data in events:
            thread_id = data.get("thread_id") if isinstance(data, dict) else None
            if thread_id is None and name == "thread.created" and isinstance(data, dict):
                thread_id = data.get("id")
            if isinstance(thread_id, str):
                self.threads[run_id] = thread_id
            self.events.append(
                {
                    "seq": next(self.numbers),
                    "run_id": run_id,
                    "thread_id": self.threads.get(run_id),
                    "event": name,
                    "text": event_text(name, data),
                    "at": at,
                }
            )

    def after(self, seq: int, thread_id: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["seq"] > seq and (thread_id is None or e["thread_id"] == thread_id)]
