"""What every family's event stream shares: a task of its own that moves the stream's object, and the wait
until its next event is due.

A stream's object (a run, a response) is moved by a task of its own, not by the HTTP answer: a client that goes
away stops only the sending, and the object goes on to its end as the real API's did (a later poll finds it
finished, a conversation gets its items). The task puts each batch of encoded events on a queue the answer
reads; it ends with the family's last bytes (a run's `[DONE]`, nothing for a response).

The driver of a stream waits until its next event is due, or until this process writes what it follows (a
poll, a cancel): `Watch` wakes it then, and it looks again at least every `WATCH_INTERVAL` for the writes
of another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from starlette.responses import StreamingResponse

from .errors import APIError

# How often a stream's driver looks at its object while nothing is due, for changes made by another process
# (a change made in this one wakes it at once).
WATCH_INTERVAL = 0.25
error_log = logging.getLogger("threads_mock.error")

# The bytes a stream ends with when its driver stops on an error: the APIError, or None for a bug of ours.
Failed = Callable[[APIError | None], bytes]
# Told each batch of a run stream's events as it is sent, with the stream's run id (the dashboard's StreamLog).
Watcher = Callable[[str, Sequence[tuple[str, Any]]], None]


class Streams:
    """The streams this process is sending: each one's driving task, kept until it ends."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        # Set only while a dashboard watches (dashboard/streams.py): otherwise a batch costs one test of None.
        self.watcher: Watcher | None = None

    def respond(self, first: bytes, rest: AsyncIterator[bytes], failed: Failed) -> StreamingResponse:
        """`first` at once, then each chunk of `rest` as its driver makes it (`failed`'s bytes if it stops on
        an error)."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        if first:
            queue.put_nowait(first)
        task = asyncio.create_task(self._follow(rest, queue, failed))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

        async def chunks() -> AsyncIterator[bytes]:
            # What the driver made while the last chunk was being sent leaves in one write, not one per batch.
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

    async def _follow(self, rest: AsyncIterator[bytes], queue: asyncio.Queue[bytes | None], failed: Failed) -> None:
        try:
            async for chunk in rest:
                queue.put_nowait(chunk)
        except APIError as error:
            # The object went from under its stream (deleted, say): the family's error event ends it.
            queue.put_nowait(failed(error))
        except Exception:
            error_log.exception("a stream's driver stopped on an error")
            queue.put_nowait(failed(None))
        finally:
            queue.put_nowait(None)

    async def close(self) -> None:
        """At shutdown: the streams still moving stop where they are (a poll later finishes their objects)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class Watch:
    """The objects the stream drivers in this process wait on, by id (a response may have its first stream
    and a replay at once): each driver woken by a write made here."""

    def __init__(self) -> None:
        self._woken: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watching(self, key: str) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        self._woken.setdefault(key, set()).add(woken)
        try:
            yield woken
        finally:
            waiting = self._woken.get(key, set())
            waiting.discard(woken)
            if not waiting:
                self._woken.pop(key, None)

    def wake(self, key: str) -> None:
        for woken in self._woken.get(key, ()):
            woken.set()


async def pause(woken: asyncio.Event, due: float) -> None:
    """Until `due` (wall-clock seconds), a write made here, or `WATCH_INTERVAL`, whichever comes first. Cleared
    after: the driver reads its object next, so a write after the clear is in what it reads or wakes it again."""
    wait = due - time.time()
    if wait > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), min(wait, WATCH_INTERVAL))
    woken.clear()
