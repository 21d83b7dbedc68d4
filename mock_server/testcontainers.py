"""The mock's container image as a Testcontainers module (`pip install 'openai-threads-mock[testcontainers]'`).

    from mock_server.testcontainers import ThreadsMockContainer

    with ThreadsMockContainer(image="openai-threads-mock").with_seed(7).with_reply("hello", reply="Hi!") as mock:
        client = mock.get_client()
        ...

Configured as the image is, by THREADS_MOCK_* variables (`with_env` sets any other option): seed, mode and
fault rules before the start. Reply rules have no variable, so they go through the admin API once the mock
answers, and again after every `reset()`, so that they last as long as the container, as the fault rules
given at the start do. The admin API needs a token beyond loopback: the container is given a random one
(or `admin_token=`), which `admin()` sends.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Self

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

if TYPE_CHECKING:
    from openai import OpenAI

# What `docker build -t openai-threads-mock .` (README "The container image") tags; no registry has it.
DEFAULT_IMAGE = "openai-threads-mock:latest"
PORT = 4010
HEALTH_PATH = "/__mock__/health"


class MockAdminError(Exception):
    """An admin API call the mock refused: its status and the body it answered."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def healthy(body: str) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("status") == "ok"


class ThreadsMockContainer(DockerContainer):
    """The mock in a container, ready once `GET /__mock__/health` answers `{"status": "ok"}`."""

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        *,
        port: int = PORT,
        api_key: str = "sk-mock",
        admin_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(image, **kwargs)
        self.port = port
        self.api_key = api_key
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self._faults: list[str] = []
        self._replies: list[dict[str, Any]] = []
        self.with_exposed_ports(port)
        self.with_env("THREADS_MOCK_PORT", str(port))
        self.with_env("THREADS_MOCK_ADMIN_TOKEN", self.admin_token)
        # Polled every 0.2 s (the library's default is 1 s): the mock answers about a second after its start.
        ready = HttpWaitStrategy(port, HEALTH_PATH).for_response_predicate(healthy).with_poll_interval(0.2)
        self.waiting_for(ready)

    # ---- before the start ----------------------------------------------------------------------------------

    def with_seed(self, seed: int) -> Self:
        """Ids, request ids and created_at reproducible (and the same again after `reset()`)."""
        return self.with_env("THREADS_MOCK_SEED", str(seed))

    def with_mode(self, mode: Literal["strict", "lenient"]) -> Self:
        """`lenient` creates unknown ids on first use, as Prism and Steady answer."""
        return self.with_env("THREADS_MOCK_MODE", mode)

    def with_fault(self, rule: str) -> Self:
        """A fault rule in the command-line form, e.g. `"POST /v1/threads: status=429; retry_after=1; times=2"`
        (README "Testing the bad days"); repeatable. A `reset()` brings it back with its counters at zero."""
        self._faults.append(rule)
        return self.with_env("THREADS_MOCK_FAULTS", "\n".join(self._faults))

    def with_reply(self, match: str | None = None, reply: str | None = None, **rule: Any) -> Self:
        """A reply rule for runs (README "Reply rules"), tried in the order given: `with_reply("hello",
        "Hi there!")`, `with_reply("weather", tool_calls=[{"function": "get_weather", "arguments": {...}}],
        then="Sunny.")`, `with_reply("boom", fail=True)`."""
        body = {**({} if match is None else {"match": match}), **({} if reply is None else {"reply": reply}), **rule}
        self._replies.append(body)
        if self._container is not None:  # already running: add it now
            self.admin("POST", "/__mock__/replies", body)
        return self

    # ---- running -------------------------------------------------------------------------------------------

    def start(self) -> Self:
        super().start()
        self._add_replies()
        return self

    def get_base_url(self) -> str:
        """The API's base URL, `http://HOST:PORT/v1`, as an OpenAI client takes it."""
        return f"{self.get_url()}/v1"

    def get_url(self) -> str:
        """The server's root, `http://HOST:PORT`, under which the admin API lives (`/__mock__/...`)."""
        host = self.get_container_host_ip()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.get_exposed_port(self.port)}"

    def get_client(self, **options: Any) -> OpenAI:
        """An `openai.OpenAI` pointed at the mock, with its API key; options go to the client."""
        from openai import OpenAI

        return OpenAI(**{"base_url": self.get_base_url(), "api_key": self.api_key, **options})

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """One admin API call with the container's token: `admin("GET", "/__mock__/requests?status=429")`."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"}
        request = urllib.request.Request(f"{self.get_url()}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise MockAdminError(error.code, json.loads(error.read() or b"null")) from None
        return json.loads(payload) if payload else None

    def reset(self) -> None:
        """Forget every thread, run, journal entry and counter; the rules given with `with_fault` and
        `with_reply` stay (the seed starts again too)."""
        self.admin("POST", "/__mock__/reset")
        self._add_replies()

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The journal, oldest first: `requests(method="POST", path="/v1/threads", status=429)`."""
        query = urllib.parse.urlencode({key: str(value) for key, value in filters.items()})
        listed: Mapping[str, Any] = self.admin("GET", f"/__mock__/requests{'?' + query if query else ''}")
        return list(listed["data"])

    def _add_replies(self) -> None:
        if self._replies:
            self.admin("POST", "/__mock__/replies", self._replies)
