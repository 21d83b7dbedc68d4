"""The admin API under /__mock__ (WireMock's vocabulary), JSON in and out:

    GET    /__mock__/health            {"status": "ok", "pid": ..., "store": {threads, ...}}, to anyone
    POST   /__mock__/reset             threads, runtime fault rules, journal and counters back to the start
    GET    /__mock__/faults            the rules, with their counters
    POST   /__mock__/faults            add a rule (or a list of them); answers it with its id
    GET    /__mock__/faults/{id}       one rule
    DELETE /__mock__/faults/{id}       remove one rule
    DELETE /__mock__/faults            remove every rule
    GET    /__mock__/requests          the journal; filters method, path, status, limit, after (an id)
    GET    /__mock__/replies           the reply rules of runs, in the order they are tried
    POST   /__mock__/replies           add a rule (or a list of them), tried after those already there
    DELETE /__mock__/replies           back to the configured rules
    DELETE /__mock__/requests          empty the journal
    GET    /__mock__/threads?project=K the threads of one project (API key), in creation order
    GET    /__mock__/conversations?project=K                 its conversations, in creation order
    GET    /__mock__/conversations/{id}/items?project=K      a conversation's items, oldest first, as stored
    GET    /__mock__/responses?project=K                     its stored responses, in creation order, as they
                                                             are (listing moves no background response on)
    GET    /__mock__/ca.pem            the CA certificate of --tls (PEM), to anyone
    GET    /__mock__/                  the dashboard (a page; its JSON under /__mock__/dashboard/, see dashboard/)

Everything but health and the CA answers loopback clients only, unless the server has an admin token: then it
answers anyone who sends `Authorization: Bearer <token>`, and no one else.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .dashboard import dashboard_routes
from .errors import APIError, conversation_not_found, invalid_fault_rule, invalid_request, unknown_fault_rule
from .faults import FaultSyntaxError, parse_any
from .faults.book import BookRules, FaultRules
from .responses import JSONResponse
from .runs import parse_reply_rule

if TYPE_CHECKING:
    from .app import MockApp

Endpoint = Callable[[Request], Awaitable[Response]]
MOCK_ADMIN_ERROR = "mock_admin_error"


def is_loopback(host: str | None) -> bool:
    if host is None:  # a Unix socket: local by definition
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def check_access(request: Request, token: str | None) -> None:
    if token is None:
        if not is_loopback(request.client.host if request.client else None):
            raise APIError(
                403,
                "The admin API answers loopback clients only. Start the mock with --admin-token to reach it "
                "from elsewhere.",
                type=MOCK_ADMIN_ERROR,
            )
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise APIError(
            401,
            "The admin API needs the server's admin token: send 'Authorization: Bearer <token>'.",
            type=MOCK_ADMIN_ERROR,
        )


def query_int(request: Request, name: str, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < minimum:
        raise invalid_request(f"Invalid '{name}': expected a whole number >= {minimum}, got '{raw}'.", param=name)
    return int(raw)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise invalid_fault_rule(f"the body is not JSON ({error})") from None


def invalid_reply_rule(reason: str) -> APIError:
    return APIError(400, f"Invalid reply rule: {reason}", type=MOCK_ADMIN_ERROR)


def admin_routes(mock: MockApp) -> list[BaseRoute]:
    journal, reply_book, admin_token = mock.journal, mock.replies, mock.settings.admin_token
    # One instance's fault book, or the fleet's rules in Redis (which every instance on it applies).
    faults: FaultRules = BookRules(mock.faults) if mock.fleet is None else mock.fleet.faults
    shared_journal = None if mock.fleet is None else mock.fleet.journal

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def checked(request: Request) -> Response:
            check_access(request, admin_token)
            return await endpoint(request)

        return checked

    async def health(request: Request) -> Response:
        # The pid tells apart the workers of `--workers N`, which share one port.
        body: dict[str, Any] = {
            "status": "ok",
            "pid": os.getpid(),
            "store": await mock.store.stats(),
            "memory": mock.memory_use(),
        }
        return JSONResponse(body)

    async def reset_all(request: Request) -> Response:
        await mock.reset()
        return JSONResponse({"reset": True})

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": await faults.describe()})

    async def add_faults(request: Request) -> Response:
        body = await json_body(request)
        given = body if isinstance(body, list) else [body]
        try:
            # Every rule is read before any is added: a bad list adds nothing.
            rules = [parse_any(rule) for rule in given]
        except FaultSyntaxError as error:
            raise invalid_fault_rule(str(error)) from None
        added = [(await faults.describe(rule_id))[0] for rule_id in await faults.add(rules)]
        payload = {"object": "list", "data": added} if isinstance(body, list) else added[0]
        return JSONResponse(payload, status_code=201)

    async def clear_faults(request: Request) -> Response:
        return JSONResponse({"deleted": await faults.clear()})

    async def get_fault(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        found = await faults.describe(rule_id)
        if not found:
            raise unknown_fault_rule(rule_id)
        return JSONResponse(found[0])

    async def delete_fault(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        if not await faults.remove(rule_id):
            raise unknown_fault_rule(rule_id)
        return JSONResponse({"id": rule_id, "deleted": True})

    async def list_requests(request: Request) -> Response:
        path = request.query_params.get("path") or None
        if path is not None and not (path.startswith("/") or path in ("*", "**")):
            raise invalid_request(f"Invalid 'path': expected a path like /v1/threads/*, got '{path}'.", param="path")
        method = request.query_params.get("method") or None
        status, limit = query_int(request, "status", 100), query_int(request, "limit", 1)
        after = query_int(request, "after", 0)
        entries = await mock.requests(method=method, path=path, status=status, limit=limit, after=after)
        return JSONResponse({"object": "list", "data": [entry.to_dict() for entry in entries]})

    async def clear_requests(request: Request) -> Response:
        count = len(journal)
        journal.clear()
        if shared_journal is not None:
            count = await shared_journal.clear()
        return JSONResponse({"deleted": count})

    async def list_replies(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": reply_book.describe()})

    async def add_replies(request: Request) -> Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise invalid_reply_rule(f"the body is not JSON ({error})") from None
        given = body if isinstance(body, list) else [body]
        try:
            # Every rule is read before any is added: a bad list adds nothing.
            rules = [parse_reply_rule(rule) for rule in given]
        except ValueError as error:
            raise invalid_reply_rule(str(error)) from None
        for rule in rules:
            reply_book.add(rule)
        added = [rule.describe() for rule in rules]
        payload = {"object": "list", "data": added} if isinstance(body, list) else added[0]
        return JSONResponse(payload, status_code=201)

    async def clear_replies(request: Request) -> Response:
        return JSONResponse({"deleted": reply_book.clear()})

    def project_of(request: Request, what: str) -> str:
        project = request.query_params.get("project")
        if not project:
            raise invalid_request(f"Missing 'project': the API key whose {what} to list.", param="project")
        return project

    async def list_threads(request: Request) -> Response:
        found = await mock.store.threads(project_of(request, "threads"))
        return JSONResponse({"object": "list", "data": found})

    async def list_conversations(request: Request) -> Response:
        found = await mock.conversations.conversations(project_of(request, "conversations"))
        return JSONResponse({"object": "list", "data": found})

    async def list_conversation_items(request: Request) -> Response:
        project, conversation_id = project_of(request, "items"), request.path_params["conversation_id"]
        if await mock.conversations.find(project, conversation_id) is None:
            raise conversation_not_found(conversation_id)
        found = await mock.conversations.items(project, conversation_id)
        return JSONResponse({"object": "list", "data": found})

    async def list_responses(request: Request) -> Response:
        found = await mock.responses.kept.all(project_of(request, "responses"))
        return JSONResponse({"object": "list", "data": found})

    def by_method(**endpoints: Endpoint) -> Endpoint:
        # One route per path, so that a wrong method gets a 405 whose Allow header lists them all.
        async def dispatch(request: Request) -> Response:
            return await endpoints["get" if request.method == "HEAD" else request.method.lower()](request)

        return guarded(dispatch)

    async def ca_pem(request: Request) -> Response:
        # A certificate is public: a client in another container fetches it before it can trust the mock.
        if mock.ca_pem is None:
            raise APIError(404, "The mock serves no CA: start it with --tls.", type=MOCK_ADMIN_ERROR)
        return Response(mock.ca_pem, media_type="application/x-pem-file")

    return [
        Route("/__mock__/health", health, methods=["GET"]),
        Route("/__mock__/ca.pem", ca_pem, methods=["GET"]),
        Route("/__mock__/reset", guarded(reset_all), methods=["POST"]),
        Route(
            "/__mock__/faults",
            by_method(get=list_faults, post=add_faults, delete=clear_faults),
            methods=["GET", "POST", "DELETE"],
        ),
        Route("/__mock__/faults/{rule_id}", by_method(get=get_fault, delete=delete_fault), methods=["GET", "DELETE"]),
        Route("/__mock__/requests", by_method(get=list_requests, delete=clear_requests), methods=["GET", "DELETE"]),
        Route(
            "/__mock__/replies",
            by_method(get=list_replies, post=add_replies, delete=clear_replies),
            methods=["GET", "POST", "DELETE"],
        ),
        Route("/__mock__/threads", guarded(list_threads), methods=["GET"]),
        Route("/__mock__/conversations", guarded(list_conversations), methods=["GET"]),
        Route("/__mock__/conversations/{conversation_id}/items", guarded(list_conversation_items), methods=["GET"]),
        Route("/__mock__/responses", guarded(list_responses), methods=["GET"]),
        *dashboard_routes(mock, guarded),
    ]
