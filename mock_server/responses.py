"""Response factories: JSON bodies encoded once with orjson, errors in the OpenAI envelope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .errors import APIError


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


JSON_CONTENT_TYPE = (b"content-type", b"application/json")


async def send_json(send: Send, content: Any, status: int = 200, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A JSON answer straight onto the ASGI channel: the API's hot path, with no Response object. `content`
    is encoded, unless it is bytes already (a fault's spoiled body); `headers` are kept, but for the body's
    own type and length."""
    body = content if isinstance(content, bytes) else orjson.dumps(content)
    own = [JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
    if headers:
        own = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")] + own
    await send({"type": "http.response.start", "status": status, "headers": own})
    await send({"type": "http.response.body", "body": body})


def error_response(error: APIError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def send_error(error: APIError, scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(error)(scope, receive, send)
