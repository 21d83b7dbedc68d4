"""Innermost, pure ASGI: an API request goes to its operation (validation, then its handler) without
building a `Request`, because this is the path every client request takes. Anything else (the admin
API, the contract documents, an unknown URL) goes on to Starlette's router."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import errors
from ..azure import BETA, Route
from ..budget import InFlight
from ..contract import OperationTable, allowed, match_with_overlay
from ..contract.forms import FormSchema
from ..responses import send_json
from ..types import Call
from .bodies import read_body
from .uploads import MULTIPART, Upload


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


class APIDispatch:
    def __init__(
        self,
        app: ASGIApp,
        operations: OperationTable,
        body_timeout: float = 30.0,
        in_flight: InFlight | None = None,
        foundry_operations: OperationTable | None = None,
    ) -> None:
        self.app = app
        self.operations = operations
        # What only Foundry's agents service served (contracts/foundry-agents.yaml), tried for its paths alone.
        self.foundry_operations = foundry_operations
        self.body_timeout = body_timeout
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.operations.match(scope["method"], scope["path"]) if scope["type"] == "http" else None
        route: Route | None = None
        if found is None:
            # An Azure flavour's path (azure.py) is looked for only once the contract's own paths have missed.
            route = scope["state"].get("route") if scope["type"] == "http" else None
            if route is None:
                await self.app(scope, receive, send)
                return
            overlay = self.foundry_operations if route.foundry else None
            found = match_with_overlay(self.operations, overlay, scope["method"], route.path)
            if found is None:
                raise route.unknown(scope["method"], scope["path"])
        if found.operation is None:
            raise errors.method_not_allowed(scope["method"], scope["path"], found.allow)
        validator, handler = found.operation.validator, found.operation.handler
        beta, content_type, length = request_headers(scope)
        # Azure asked for no OpenAI-Beta header: its clients (azure-ai-agents) send none.
        validator.check_beta(beta if route is None else BETA)
        validator.check_path(found.path_params)
        query = {}
        if validator.query_params:
            query_string = scope["query_string"] if route is None else route.query_string
            query = validator.check_query(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        body = {}
        upload = None
        if validator.body_check is not None:
            raw = await read_body(receive, validator.max_body_size, length, self.body_timeout, self.in_flight)
            body = validator.check_body(raw, content_type)
        elif validator.form is not None:
            upload = self.upload(receive, validator.form, content_type, length, validator.max_body_size)
        call = Call(scope["state"]["project"], found.path_params, query, body, scope["headers"], upload)
        result = await handler(call)
        if isinstance(result, Response):
            await result(scope, receive, send)
        else:
            await send_json(send, result)

    def upload(
        self, receive: Receive, form: FormSchema, content_type: str | None, length: str | None, text_limit: int
    ) -> Upload:
        """An upload, refused before any of it is read when its Content-Length says the file cannot fit (the
        form's text fields and part headers may take up to the body limit beside it)."""
        if content_type is None:
            raise errors.missing_content_type(MULTIPART)
        declared = int(length) if length is not None and length.isdigit() else 0
        if form.max_file_bytes and declared > form.max_file_bytes + text_limit:
            raise errors.file_too_large(form.max_file_bytes)
        return Upload(receive, content_type, form, text_limit=text_limit, timeout=self.body_timeout)


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's routing misses (outside the API), told as the real API told them."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        offered = {m.strip() for m in (exc.headers or {}).get("Allow", "").split(",")}
        raise errors.method_not_allowed(request.method, request.url.path, allowed(offered))
    raise errors.invalid_url(request.method, request.url.path)
