"""Routes built from the contract's paths, served under /v1 and at the root."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from . import errors
from .api import Call, Handler
from .contract import Contract
from .responses import JSONResponse
from .validation import OperationValidator, Validators

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is larger than the limit, before the rest is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise errors.body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def dispatcher(table: Mapping[str, tuple[OperationValidator, Handler]]):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        validator, handler = table["GET" if request.method == "HEAD" else request.method]
        validator.check_beta(request.headers.get("openai-beta"))
        validator.check_path(request.path_params)
        query = validator.check_query(request.query_params.multi_items()) if validator.query_params else {}
        body = (
            validator.check_body(await read_body(request, validator.max_body_size), request.headers.get("content-type"))
            if validator.body_check is not None
            else {}
        )
        result = await handler(Call(request.state.project, request.path_params, query, body))
        return JSONResponse(result)

    return endpoint


def api_routes(contract: Contract, validators: Validators, handlers: Mapping[str, Handler]) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for template, by_method in contract.paths.items():
        table = {method: (validators[op.operation_id], handlers[op.operation_id]) for method, op in by_method.items()}
        routes.append(Route(template, endpoint=dispatcher(table), methods=list(table)))
    return [Mount("/v1", routes=routes), *routes]


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's routing misses, told as the real API told them."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        offered = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",")}
        allowed = ", ".join(m for m in METHOD_ORDER if m in offered)
        raise errors.method_not_allowed(request.method, request.url.path, allowed)
    raise errors.invalid_url(request.method, request.url.path)
