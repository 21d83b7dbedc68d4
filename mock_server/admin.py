"""The admin API under /__mock__: health and reset (WireMock's vocabulary)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .responses import JSONResponse


def admin_routes(reset: Callable[[], Awaitable[None]]) -> list[BaseRoute]:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def reset_all(request: Request) -> Response:
        await reset()
        return JSONResponse({"reset": True})

    return [
        Route("/__mock__/health", health, methods=["GET"]),
        Route("/__mock__/reset", reset_all, methods=["POST"]),
    ]
