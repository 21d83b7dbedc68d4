"""The contract's paths, matched and dispatched in pure ASGI, served under /v1 and at the root.

Starlette's router still serves the admin API and the contract documents; the API itself is matched
and dispatched here without building a `Request`, because this is the path every client request takes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors
from .api import Call, Handler
from .contract import Contract
from .responses import send_json
from .validation import OperationValidator, Validators

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

Operation = tuple[OperationValidator, Handler]


def path_regex(template: str) -> re.Pattern[str]:
    pattern = PARAMETER.sub(
        lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
    )
    return re.compile(pattern)


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


async def read_body(receive: Receive, limit: int, declared_length: str | None, timeout: float) -> bytes:
    """The body, refused with 413 as soon as it is larger than the limit, before the rest is read."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise errors.body_too_large(limit)
    first = await receive()
    chunks = [body_of(first)]
    size = len(chunks[0])
    if size > limit:
        raise errors.body_too_large(limit)
    if not first.get("more_body", False):
        return chunks[0]
    # Only a body that comes in pieces pays for a timer: it is the one that may never end.
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                chunks.append(body_of(message))
                size += len(chunks[-1])
                if size > limit:
                    raise errors.body_too_large(limit)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise errors.body_timeout(timeout) from None
    return b"".join(chunks)


def body_of(message: Message) -> bytes:
    if message["type"] == "http.disconnect":
        raise errors.client_gone()
    chunk: bytes = message.get("body", b"")
    return chunk


class ContractRoutes(BaseRoute):
    """Every operation of the contract, matched by path template and method in one place."""

    def __init__(
        self, contract: Contract, validators: Validators, handlers: Mapping[str, Handler], *, body_timeout: float = 30.0
    ) -> None:
        self.body_timeout = body_timeout
        # Candidates by path depth, so that a request is tried against the two or three templates of its depth.
        self.by_depth: dict[int, list[tuple[re.Pattern[str], dict[str, Operation], str]]] = {}
        for template, by_method in contract.paths.items():
            table = {
                method: (validators[op.operation_id], handlers[op.operation_id]) for method, op in by_method.items()
            }
            if "GET" in table:
                table["HEAD"] = table["GET"]
            allow = ", ".join(m for m in METHOD_ORDER if m in by_method)
            self.by_depth.setdefault(template.count("/"), []).append((path_regex(template), table, allow))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path: str = scope["path"]
        if path.startswith("/v1/"):
            path = path[3:]
        for regex, table, allow in self.by_depth.get(path.count("/"), ()):
            found = regex.fullmatch(path)
            if found is not None:
                operation = table.get(scope["method"])
                if operation is None:
                    return Match.PARTIAL, {"contract_allow": allow}
                return Match.FULL, {"contract_operation": operation, "path_params": found.groupdict()}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation: Operation | None = scope.get("contract_operation")
        if operation is None:
            raise errors.method_not_allowed(scope["method"], scope["path"], scope["contract_allow"])
        validator, handler = operation
        beta, content_type, length = request_headers(scope)
        validator.check_beta(beta)
        path_params: dict[str, str] = scope["path_params"]
        validator.check_path(path_params)
        query = {}
        if validator.query_params:
            query = validator.check_query(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        body = {}
        if validator.body_check is not None:
            raw = await read_body(receive, validator.max_body_size, length, self.body_timeout)
            body = validator.check_body(raw, content_type)
        result = await handler(Call(scope["state"]["project"], path_params, query, body))
        if isinstance(result, Response):
            await result(scope, receive, send)
        else:
            await send_json(send, result)


class APIDispatch:
    """Pure ASGI, innermost: API requests go straight to their operation, past Starlette's exception
    layer and router (which still serve the admin API and the contract documents)."""

    def __init__(self, app: ASGIApp, routes: ContractRoutes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match, child_scope = self.routes.matches(scope)
            if match is not Match.NONE:
                scope.update(child_scope)
                await self.routes.handle(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's routing misses (outside the API), told as the real API told them."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        offered = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",")}
        allowed = ", ".join(m for m in METHOD_ORDER if m in offered)
        raise errors.method_not_allowed(request.method, request.url.path, allowed)
    raise errors.invalid_url(request.method, request.url.path)
