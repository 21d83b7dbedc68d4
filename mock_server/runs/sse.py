"""Server-sent events in the real wire format (`event: <name>` and one line of JSON, a blank line after),
sent as the run makes them.

A stream's run is moved by a task of its own, not by the response: a client that goes away stops only the
sending, and the run goes on to its end as the real API's did (a later poll finds it finished).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import orjson
from starlette.responses import StreamingResponse

from ..errors import APIError
from .machine import Event

DONE = b"event: done\ndata: [DONE]\n\n"
# Told each batch of a stream's events as it is sent, with the stream's run id (the dashboard's StreamLog).
Watcher = Callable[[str, Sequence[Event]], None]
# The events whose data is the run (thread.run.created, ...): the first names the stream's run.
RUN_EVENT = (
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.requires_action",
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.expired",
    "thread.run.incomplete",
    "thread.run.cancelling",
)
error_log = logging.getLogger("threads_mock.error")


def encode(name: str, data: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class Streams:
    """The runs being streamed by this process: each one's task, kept until its run stops."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        # Set only while a dashboard watches (dashboard/streams.py): otherwise a batch costs one test of None.
        self.watcher: Watcher | None = None

    def respond(self, first: Sequence[Event], rest: AsyncIterator[list[Event]]) -> StreamingResponse:
        """`first` at once, then each batch of `rest` as it comes, then `[DONE]`."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        queue.put_nowait(b"".join(encode(name, data) for name, data in first))
        run_id = next((str(data["id"]) for name, data in first if name.startswith(RUN_EVENT)), "")
        if self.watcher is not None:
            self.watcher(run_id, first)
        task = asyncio.create_task(self._follow(rest, queue, run_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

        async def chunks() -> AsyncIterator[bytes]:
            # What the run made while the last chunk was being sent leaves in one write, not one per batch.
            while (chunk := await queue.get()) is not None:
                ready = [chunk]
                while not queue.empty():
                    following = queue.get_nowait()
                    if following is None:
                        yield b"".join(ready)
                        return
                    ready.append(following)
                yield b"".join(ready)

        return StreamingResponse(chunks(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    async def _follow(self, rest: AsyncIterator[list[Event]], queue: asyncio.Queue[bytes | None], run_id: str) -> None:
        try:
            async for events in rest:
                queue.put_nowait(b"".join(encode(name, data) for name, data in events))
                if self.watcher is not None:
                    self.watcher(run_id, events)
            queue.put_nowait(DONE)
        except APIError as error:
            # The run went from under its stream (its thread was deleted): the spec's `error` event ends it.
            queue.put_nowait(encode("error", error.body()["error"]))
        except Exception:
            error_log.exception("a streamed run stopped on an error")
            queue.put_nowait(encode("error", {"message": "The server had an error.", "type": "server_error"}))
        finally:
            queue.put_nowait(None)

    async def close(self) -> None:
        """At shutdown: the runs still moving stop where they are (a poll later finishes them on time)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
