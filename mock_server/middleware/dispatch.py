"""Innermost, pure ASGI: an API request goes to its operation (validation, then its handler) without
building a `Request`, because this is the path every client request takes. Anything else (the admin
API, the contract documents, an unknown URL) goes on to Starlette's router."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import errors
from ..budget import InFlight
from ..contract import OperationTable, allowed
from ..responses import send_json
from ..types import Call


def request_headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """The three request headers the dispatcher needs: OpenAI-Beta, Content-Type, Content-Length."""
    beta = content_type = length = None
    for name, value in scope["headers"]:
        if name == b"openai-beta":
            beta = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            length = value.decode("latin-1")
    return beta, content_type, length


async def read_body(
    receive: Receive, limit: int, declared_length: str | None, timeout: float, in_flight: InFlight | None = None
) -> bytes:
    """The body, refused with 413 as soon as it is larger than the limit, before the rest is read. A body
    that comes in pieces holds its bytes against the budget's in-flight share while it is read, and is
    refused with 503 when that share is full."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise errors.body_too_large(limit)
    first = await receive()
    chunks = [body_of(first)]
    size = len(chunks[0])
    if size > limit:
        raise errors.body_too_large(limit)
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
                    raise errors.body_too_large(limit)
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


class APIDispatch:
    def __init__(
        self, app: ASGIApp, operations: OperationTable, body_timeout: float = 30.0, in_flight: InFlight | None = None
    ) -> None:
        self.app = app
        self.operations = operations
        self.body_timeout = body_timeout
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.operations.match(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        if found.operation is None:
            raise errors.method_not_allowed(scope["method"], scope["path"], found.allow)
        validator, handler = found.operation.validator, found.operation.handler
        beta, content_type, length = request_headers(scope)
        validator.check_beta(beta)
        validator.check_path(found.path_params)
        query = {}
        if validator.query_params:
            query = validator.check_query(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        body = {}
        if validator.body_check is not None:
            raw = await read_body(receive, validator.max_body_size, length, self.body_timeout, self.in_flight)
            body = validator.check_body(raw, content_type)
        result = await handler(Call(scope["state"]["project"], found.path_params, query, body, scope["headers"]))
        if isinstance(result, Response):
            await result(scope, receive, send)
        else:
            await send_json(send, result)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's routing misses (outside the API), told as the real API told them."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        offered = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",")}
        raise errors.method_not_allowed(request.method, request.url.path, allowed(offered))
    raise errors.invalid_url(request.method, request.url.path)
