"""The bare baseline: a minimal Starlette + uvicorn app for the benchmarked routes.

It does what the cheapest possible handler does and nothing more: read and parse the JSON body,
answer a fixed object shaped like the real one. No auth, validation, state, journal or faults, so
the mock's ratio against it is the price of everything the mock does per request."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mock_server.stack import Stack

THREAD_ID = "thread_abcdefghijklmnopqrstuvwx"
THREAD: dict[str, Any] = {
    "id": THREAD_ID,
    "object": "thread",
    "created_at": 1717000001,
    "metadata": {},
    "tool_resources": {},
}


def message(number: int) -> dict[str, Any]:
    return {
        "id": f"msg_abcdefghijklmnopqrstu{number:03d}",
        "object": "thread.message",
        "created_at": 1717000001,
        "assistant_id": None,
        "thread_id": THREAD_ID,
        "run_id": None,
        "status": "completed",
        "incomplete_details": None,
        "completed_at": 1717000001,
        "incomplete_at": None,
        "role": "user",
        "content": [{"type": "text", "text": {"value": "One more question.", "annotations": []}}],
        "attachments": [],
        "metadata": {},
    }


MESSAGES = [message(n) for n in range(20)]
PAGE: dict[str, Any] = {
    "object": "list",
    "data": MESSAGES,
    "first_id": MESSAGES[0]["id"],
    "last_id": MESSAGES[-1]["id"],
    "has_more": False,
}
ONE: dict[str, Any] = {**PAGE, "data": MESSAGES[:1], "last_id": MESSAGES[0]["id"], "has_more": True}


async def parsed(request: Request) -> Any:
    body = await request.body()
    return await request.json() if body else None


async def create_thread(request: Request) -> Response:
    await parsed(request)
    return JSONResponse(THREAD)


async def get_thread(request: Request) -> Response:
    return JSONResponse(THREAD)


async def create_message(request: Request) -> Response:
    await parsed(request)
    return JSONResponse(MESSAGES[0])


async def list_messages(request: Request) -> Response:
    return JSONResponse(ONE if request.query_params.get("limit") == "1" else PAGE)


def stream_route(events: list[bytes]) -> Callable[[Request], Awaitable[Response]]:
    """A run created with `stream: true`: the events of a real run stream from the mock, replayed one write each."""

    async def create_run(request: Request) -> Response:
        await parsed(request)

        async def replay() -> AsyncIterator[bytes]:
            for event in events:
                yield event

        return StreamingResponse(replay(), media_type="text/event-stream")

    return create_run


def read_events(path: Path) -> list[bytes]:
    return [event + b"\n\n" for event in path.read_bytes().split(b"\n\n") if event.strip()]


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(stream: list[bytes] | None = None) -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/threads/{thread_id}/runs", stream_route(stream or []), methods=["POST"]),
            Route("/v1/threads", create_thread, methods=["POST"]),
            Route("/v1/threads/{thread_id}", get_thread, methods=["GET"]),
            Route("/v1/threads/{thread_id}/messages", create_message, methods=["POST"]),
            Route("/v1/threads/{thread_id}/messages", list_messages, methods=["GET"]),
            Route("/__mock__/health", health, methods=["GET"]),
        ]
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--host", default="127.0.0.1")
    options.add_argument("--port", type=int, default=4011)
    options.add_argument("--stream", type=Path, help="a run's event stream, as the mock sent it, to replay")
    options.add_argument("--http", default="auto", choices=["auto", "httptools", "h11"])
    options.add_argument("--loop", default="auto", choices=["auto", "uvloop", "asyncio"])
    args = options.parse_args()
    app = create_app(read_events(args.stream) if args.stream else None)
    # The same server settings as `threads-mock serve`: one worker, no access log, no server header, no lifespan,
    # and the same stack: the parser and loop `auto` picks, through the same protocol (each answer in one write).
    stack = Stack.resolve(args.http, args.loop)
    uvicorn.run(
        app,
        http=stack.protocol,
        loop=stack.loop,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
