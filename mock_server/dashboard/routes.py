"""The dashboard's routes: the page at /__mock__/ and the JSON it reads under /__mock__/dashboard/.

    GET /__mock__/                                the page (HTML with its CSS and script inlined: one request)
    GET /__mock__/dashboard/requests              journal rows after a cursor: after, limit, method, path,
                                                  status, project, thread; with `last_id`, the newest number,
                                                  and `reset` when the cursor's own entry is gone
    GET /__mock__/dashboard/requests/{id}         one exchange whole, and for a 4xx why (why.py)
    GET /__mock__/dashboard/projects              the projects the journal has seen, and the configured keys
    GET /__mock__/dashboard/state?project=K       a project's objects, counts and the bounds' use
    GET /__mock__/dashboard/threads/{id}?project=K  a thread, its messages, its runs with their steps
    GET /__mock__/dashboard/streams?after=N&thread=ID  streamed runs' events as they were sent (streams.py)

The page polls the requests with a cursor rather than holding an event stream open: a poll is answered from
`journal.entries(after=...)` alone, so it shows the same journal whichever instance of a fleet answers it (a journal
shared between instances is read the same way), and needs no per-page state in the server. Everything here
has the admin API's access rule; the page alone also takes the admin token as `?token=`, as a browser cannot
send a header when it opens a URL (the page's script then sends it as `Authorization: Bearer`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import APIError, invalid_request
from ..faults.model import Where
from ..journal import JournalEntry
from ..responses import JSONResponse
from .state import ProjectsSeen, overview, project_of, projects, thread_view
from .streams import WATCH_SECONDS, StreamLog
from .why import explain_entry

if TYPE_CHECKING:
    from ..app import MockApp

Endpoint = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Endpoint], Endpoint]
ROWS_MOST = 1000
OPTIONAL_FAMILIES = ("conversations", "responses")


@cache
def page() -> str:
    """index.html with dashboard.css and dashboard.js in it, read from the package once."""
    static = files(__package__).joinpath("static")
    html = static.joinpath("index.html").read_text(encoding="utf-8")
    css = static.joinpath("dashboard.css").read_text(encoding="utf-8")
    script = static.joinpath("dashboard.js").read_text(encoding="utf-8")
    return html.replace("/*CSS*/", css).replace("/*SCRIPT*/", script)


def query_number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name) or None
    if raw is None:
        return None
    if not raw.isdigit():
        raise invalid_request(f"Invalid '{name}': expected a whole number, got '{raw}'.", param=name)
    return int(raw)


def summary(entry: JournalEntry) -> dict[str, Any]:
    """A row of the table: what it shows and filters on, without headers and body."""
    fault = entry.fault
    return {
        "id": entry.number,
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "status": entry.status,
        "completed": entry.completed,
        "duration_ms": entry.duration_ms,
        "started_at": entry.started_at,
        "fault": None if not fault else " ".join(str(fault[k]) for k in ("kind", "status") if fault.get(k) is not None),
        "project": project_of(entry),
    }


def mentions(entry: JournalEntry, thread_id: str) -> bool:
    return thread_id in entry.path or thread_id.encode() in entry.raw_body


def dashboard_routes(mock: MockApp, guarded: Guard) -> list[BaseRoute]:
    token = mock.settings.admin_token
    stream_log = StreamLog(mock.streams)
    projects_seen = ProjectsSeen()

    async def index(request: Request) -> Response:
        given = request.query_params.get("token")
        if token is None or given is None or not hmac.compare_digest(given.encode(), token.encode()):
            guarded_page = guarded(send_page)
            return await guarded_page(request)
        return await send_page(request)

    async def send_page(request: Request) -> Response:
        # No caching: the page is small, and a stale script after an upgrade would read a changed API.
        return HTMLResponse(page(), headers={"cache-control": "no-store"})

    async def rows(request: Request) -> Response:
        params = request.query_params
        after = query_number(request, "after")
        limit = min(query_number(request, "limit") or ROWS_MOST, ROWS_MOST)
        method = (params.get("method") or "").upper() or None
        path = params.get("path") or None
        status = query_number(request, "status")
        project = params.get("project") or None
        thread = params.get("thread") or None
        if after:
            # Only what is new: the entries from the cursor's own on, which must still be there. When it is
            # not, the journal was emptied (its numbers start again) or has moved past it: the page starts over.
            recent = await mock.requests(after=after - 1)
            if not recent or recent[0].number != after:
                return JSONResponse({"object": "list", "data": [], "last_id": 0, "reset": True})
            last_id = recent[-1].number
            everything = recent[1:]
        else:
            everything = await mock.requests()
            last_id = everything[-1].number if everything else 0
        pattern = path if path is not None and path.startswith("/") else None
        if method is not None or pattern is not None:
            where = Where(method, pattern or "**")
            everything = [e for e in everything if where.matches(e.method, e.path)]
        found = [
            e
            for e in everything
            if (path is None or pattern is not None or path in e.path)
            and (status is None or e.status == status)
            and (project is None or project_of(e) == project)
            and (thread is None or mentions(e, thread))
        ]
        data = [summary(e) for e in found[-limit:]]
        return JSONResponse({"object": "list", "data": data, "last_id": last_id, "reset": False})

    async def exchange(request: Request) -> Response:
        number = int(request.path_params["number"])
        entry = next((e for e in await mock.requests(after=number - 1) if e.number == number), None)
        if entry is None:
            raise APIError(404, f"No request {number} in the journal.", type="mock_admin_error")
        return JSONResponse(
            {
                **entry.to_dict(),
                "project": project_of(entry),
                "why": explain_entry(
                    entry, mock.operations, frozenset(mock.settings.api_keys), mock.foundry_operations
                ),
            }
        )

    async def project_list(request: Request) -> Response:
        # `admin`: the families of state the admin API lists by project beside threads (conversations and
        # responses, where they are served), which the page then asks for; it asks for nothing that is not.
        served = {getattr(route, "path", "") for route in mock.routes}
        families = [name for name in OPTIONAL_FAMILIES if f"/__mock__/{name}" in served]
        return JSONResponse({"object": "list", "data": await projects(mock, projects_seen), "admin": families})

    def project_param(request: Request) -> str:
        project = request.query_params.get("project")
        if not project:
            raise invalid_request("Missing 'project': the API key whose state to show.", param="project")
        return project

    async def state(request: Request) -> Response:
        return JSONResponse(await overview(mock, project_param(request)))

    async def thread(request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        found = await thread_view(mock.store, project_param(request), thread_id)
        if found is None:
            raise APIError(404, f"No thread found with id '{thread_id}'.", type="mock_admin_error")
        return JSONResponse(found)

    async def stream_events(request: Request) -> Response:
        stream_log.watch()
        found = stream_log.after(query_number(request, "after") or 0, request.query_params.get("thread") or None)
        return JSONResponse({"object": "list", "data": found, "watching_seconds": WATCH_SECONDS})

    base = "/__mock__/dashboard"
    return [
        Route("/__mock__/", index, methods=["GET"]),
        Route(f"{base}/requests", guarded(rows), methods=["GET"]),
        Route(base + "/requests/{number:int}", guarded(exchange), methods=["GET"]),
        Route(f"{base}/projects", guarded(project_list), methods=["GET"]),
        Route(f"{base}/state", guarded(state), methods=["GET"]),
        Route(base + "/threads/{thread_id}", guarded(thread), methods=["GET"]),
        Route(f"{base}/streams", guarded(stream_events), methods=["GET"]),
    ]
