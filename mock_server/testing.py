"""Handles for tests: a running mock with its journal, faults and state, and in-process transports.

Everything here talks to the mock the way a user would (its HTTP API and admin API over loopback),
with the standard library's urllib, so using it needs no HTTP client beyond the SDK under test.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .journal import JournalEntry
from .server import BackgroundServer

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI
    from starlette.types import ASGIApp

    from .app import MockApp

API_HEADERS = {"OpenAI-Beta": "assistants=v2", "Content-Type": "application/json"}


class MockHTTPError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class FaultHandle:
    """A fault rule added by a test: its live counters, and as a context manager it is removed on exit.

    `matched` counts the requests the rule matched, `applied` the faults it caused (respx's `call_count`).
    Once the rule is gone (removed, or the mock reset) they stay as they were last."""

    def __init__(self, mock: ThreadsMock, rule: Mapping[str, Any]) -> None:
        self.mock = mock
        self.rule = rule
        self.id = str(rule["id"])
        self._last: Mapping[str, Any] | None = None

    @property
    def state(self) -> Mapping[str, Any]:
        """The rule as the admin API describes it now, counters included."""
        if self._last is not None:
            return self._last
        state: Mapping[str, Any] = self.mock.admin("GET", self._path)
        return state

    @property
    def matched(self) -> int:
        return int(self.state["matched"])

    @property
    def applied(self) -> int:
        return int(self.state["applied"])

    @property
    def live(self) -> bool:
        return self._last is None

    @property
    def _path(self) -> str:
        return f"/__mock__/faults/{urllib.parse.quote(self.id)}"

    def assert_applied(self) -> None:
        """Fails unless the rule caused at least one fault."""
        state = self.state
        if not state["applied"]:
            raise AssertionError(f"fault rule never applied: {describe_rule(state)}")

    def remove(self) -> None:
        if self._last is None:
            self._last = self.state
            self.mock.admin("DELETE", self._path)

    def _gone(self, last: Mapping[str, Any]) -> None:
        self._last = last

    def __enter__(self) -> FaultHandle:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<FaultHandle {self.id} {self.rule.get('match', '*')}>"


def describe_rule(state: Mapping[str, Any]) -> str:
    data = {key: value for key, value in state.items() if key not in ("id", "matched", "applied")}
    return f"{state['id']} {json.dumps(data)} (matched {state['matched']}, applied {state['applied']})"


class AdminList:
    """The objects of one kind the admin API lists for the mock's API key, oldest first: for assertions."""

    path = ""

    def __init__(self, mock: ThreadsMock) -> None:
        self.mock = mock

    def all(self) -> list[dict[str, Any]]:
        """Every object of the mock's API key, oldest first."""
        query = urllib.parse.urlencode({"project": self.mock.api_key})
        listed = self.mock.admin("GET", f"{self.path}?{query}")
        return list(listed["data"])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.all())

    def __contains__(self, object_id: object) -> bool:
        return any(found["id"] == object_id for found in self.all())

    def __getitem__(self, object_id: str) -> dict[str, Any]:
        for found in self.all():
            if found["id"] == object_id:
                return found
        raise KeyError(object_id)


class ThreadsView(AdminList):
    """The threads stored for the mock's API key: for assertions, and for seeding state."""

    path = "/__mock__/threads"

    def messages(self, thread_id: str, order: str = "asc") -> list[dict[str, Any]]:
        """Every message of a thread, oldest first by default."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            query = {"limit": "100", "order": order, **({"after": after} if after else {})}
            page = self.mock.api("GET", f"/threads/{thread_id}/messages?{urllib.parse.urlencode(query)}")
            found.extend(page["data"])
            if not page["has_more"]:
                return found
            after = page["last_id"]

    def create(self, **body: Any) -> dict[str, Any]:
        """Seed a thread through the API (same body as `client.beta.threads.create`)."""
        created: dict[str, Any] = self.mock.api("POST", "/threads", body)
        return created


class ConversationsView(AdminList):
    """The conversations stored for the mock's API key, and their items: for assertions, and for seeding state."""

    path = "/__mock__/conversations"

    def items(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every item of a conversation, oldest first, as stored (an image's URL and search results included),
        read through the admin API: the journal and fault rules do not see it."""
        query = urllib.parse.urlencode({"project": self.mock.api_key})
        path = f"{self.path}/{urllib.parse.quote(conversation_id)}/items?{query}"
        return list(self.mock.admin("GET", path)["data"])

    def create(self, **body: Any) -> dict[str, Any]:
        """Seed a conversation through the API (same body as `client.conversations.create`)."""
        created: dict[str, Any] = self.mock.api("POST", "/conversations", body)
        return created


class ResponsesView(AdminList):
    """The stored responses of the mock's API key, as they are now: reading them moves no background response
    on (a poll through the API does)."""

    path = "/__mock__/responses"

    def create(self, **body: Any) -> dict[str, Any]:
        """Make a response through the API (same body as `client.responses.create`)."""
        created: dict[str, Any] = self.mock.api("POST", "/responses", body)
        return created


class ThreadsMock:
    """A running mock as a test sees it."""

    def __init__(self, server: BackgroundServer[MockApp], api_key: str = "sk-mock") -> None:
        self.server = server
        self.api_key = api_key
        self.added_faults: list[FaultHandle] = []

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def app(self) -> ASGIApp:
        return self.server.app

    def _call(self, method: str, url: str, body: Any, headers: Mapping[str, str]) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.server.ssl_context) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise MockHTTPError(error.code, json.loads(error.read() or b"null")) from None
        return json.loads(payload) if payload else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"{self.url}{path}", body, {"Content-Type": "application/json"})

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {**API_HEADERS, "Authorization": f"Bearer {self.api_key}"}
        return self._call(method, f"{self.base_url}{path}", body, headers)

    def reset(self) -> None:
        """Forget every thread, run, assistant, conversation, response, reply and fault rule, journal entry and
        counter."""
        live = [handle for handle in self.added_faults if handle.live]
        if live:
            # Keep the counts of the rules about to go: fault ids start again from fault_1 after a reset.
            described = {str(rule["id"]): rule for rule in self.faults()}
            for handle in live:
                handle._gone(described.get(handle.id, {**handle.rule, "removed": "outside its handle"}))
        self.admin("POST", "/__mock__/reset")

    @property
    def requests(self) -> list[JournalEntry]:
        """The journal: every request since the last reset, oldest first, JSON bodies parsed."""
        entries = self.admin("GET", "/__mock__/requests")
        listed = entries["data"] if isinstance(entries, dict) else entries
        return [JournalEntry.from_dict(entry) for entry in listed]

    @property
    def threads(self) -> ThreadsView:
        return ThreadsView(self)

    @property
    def conversations(self) -> ConversationsView:
        return ConversationsView(self)

    @property
    def responses(self) -> ResponsesView:
        return ResponsesView(self)

    def fault(self, rule: str | Mapping[str, Any] | None = None, **keys: Any) -> FaultHandle:
        """Add a fault rule: `fault(status=503, match="POST /v1/threads", times=1)`, or the
        command-line form `fault("POST /v1/threads: status=429; retry_after=2")`."""
        if isinstance(rule, str):
            body: dict[str, Any] = {"rule": rule, **keys}
        else:
            body = {**(rule or {}), **keys}
        handle = FaultHandle(self, self.admin("POST", "/__mock__/faults", body))
        self.added_faults.append(handle)
        return handle

    def faults_not_applied(self) -> list[Mapping[str, Any]]:
        """The rules added through `fault(...)` (the marker's `faults=` included) that never caused a fault."""
        described = {str(rule["id"]): rule for rule in self.faults()}
        states = [handle.state if not handle.live else described.get(handle.id) for handle in self.added_faults]
        return [state for state in states if state is not None and not state.get("removed") and not state["applied"]]

    def assert_all_faults_applied(self) -> None:
        """Fails if a rule added through `fault(...)` never caused a fault (respx's `assert_all_called`)."""
        idle = self.faults_not_applied()
        if idle:
            listed = "\n".join(f"  {describe_rule(state)}" for state in idle)
            raise AssertionError(f"{len(idle)} fault rule(s) never applied:\n{listed}")

    def reply(self, match: str | None = None, **rule: Any) -> dict[str, Any]:
        """Add a reply rule for runs, tried after those already there: `reply("hello", reply="Hi there!")`,
        `reply("weather", tool_calls=[{"function": "get_weather", "arguments": {"city": "Paris"}}], then="Sunny.")`,
        `reply("boom", fail={"code": "server_error", "message": "Sorry, something went wrong."})`,
        `reply("chart", code_interpreter={"input": "plt.bar(x, y)", "image": True})`, `reply(file_search=False)`.
        The fixture resets the mock before each test, so a rule lasts as long as the test that added it."""
        body = {**({} if match is None else {"match": match}), **rule}
        added: dict[str, Any] = self.admin("POST", "/__mock__/replies", body)
        return added

    def replies(self) -> list[dict[str, Any]]:
        listed: dict[str, Any] = self.admin("GET", "/__mock__/replies")
        return list(listed["data"])

    def faults(self) -> Sequence[Mapping[str, Any]]:
        listed = self.admin("GET", "/__mock__/faults")
        return listed["data"] if isinstance(listed, dict) else listed  # type: ignore[no-any-return]

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate of a mock started with tls=True (PEM), for a client to trust: azure-ai-agents'
        `connection_verify=str(threads_mock.ca_file)`; None over plain HTTP."""
        return self.server.ca_file

    def openai_client(self, **options: Any) -> OpenAI:
        from openai import DefaultHttpxClient, OpenAI

        if self.server.ssl_context is not None and "http_client" not in options:
            options["http_client"] = DefaultHttpxClient(verify=self.server.ssl_context)
        return OpenAI(**{"base_url": self.base_url, "api_key": self.api_key, **options})

    def async_openai_client(self, **options: Any) -> AsyncOpenAI:
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        if self.server.ssl_context is not None and "http_client" not in options:
            options["http_client"] = DefaultAsyncHttpxClient(verify=self.server.ssl_context)
        return AsyncOpenAI(**{"base_url": self.base_url, "api_key": self.api_key, **options})


def _http_library(name: str | None) -> Any:
    import importlib

    if name is not None:
        return importlib.import_module(name)
    for candidate in ("httpx2", "httpx"):
        try:
            return importlib.import_module(candidate)
        except ImportError:
            continue
    raise ImportError("neither httpx2 nor httpx is installed")


def asgi_transport(app: ASGIApp, library: str | None = None) -> Any:
    """An async transport that hands requests straight to the ASGI app (httpx2 by default, else httpx)."""
    http = _http_library(library)
    return http.ASGITransport(app=app)


def sync_asgi_transport(app: ASGIApp, library: str | None = None) -> Any:
    """A sync transport for the ASGI app: requests run on a private event loop in a helper thread."""
    from anyio.from_thread import start_blocking_portal

    http = _http_library(library)

    class SyncASGITransport(http.BaseTransport):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self._inner = http.ASGITransport(app=app)
            self._portal_context = start_blocking_portal()
            self._portal = self._portal_context.__enter__()

        def handle_request(self, request: Any) -> Any:
            async def forward() -> Any:
                response = await self._inner.handle_async_request(request)
                content = await response.aread()
                return http.Response(response.status_code, headers=response.headers, content=content, request=request)

            return self._portal.call(forward)

        def close(self) -> None:
            self._portal_context.__exit__(None, None, None)

    return SyncASGITransport()


def in_process_client(app: ASGIApp, api_key: str = "sk-mock", **options: Any) -> OpenAI:
    """An `openai.OpenAI` client that talks to the app with no socket at all."""
    import openai

    library = "httpx" if int(openai.__version__.split(".")[0]) < 3 else "httpx2"
    http = _http_library(library)
    http_client = http.Client(transport=sync_asgi_transport(app, library), base_url="http://threads-mock/v1")
    return openai.OpenAI(base_url="http://threads-mock/v1", api_key=api_key, http_client=http_client, **options)


def in_process_async_client(app: ASGIApp, api_key: str = "sk-mock", **options: Any) -> AsyncOpenAI:
    """An `openai.AsyncOpenAI` client that talks to the app with no socket at all."""
    import openai

    library = "httpx" if int(openai.__version__.split(".")[0]) < 3 else "httpx2"
    http = _http_library(library)
    http_client = http.AsyncClient(transport=asgi_transport(app, library), base_url="http://threads-mock/v1")
    return openai.AsyncOpenAI(base_url="http://threads-mock/v1", api_key=api_key, http_client=http_client, **options)
