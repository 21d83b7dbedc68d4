"""Response factories: JSON bodies encoded once with orjson, errors in the OpenAI envelope."""

from __future__ import annotations

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


async def send_json(send: Send, content: Any, status: int = 200) -> None:
    """A JSON answer straight onto the ASGI channel: the API's hot path, with no Response object."""
    body = orjson.dumps(content)
    headers = [JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_response(error: APIError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def send_error(error: APIError, scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(error)(scope, receive, send)
