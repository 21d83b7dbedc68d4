"""Azure AI Foundry's classic agents through the azure-ai-agents SDK, unmodified, over --tls with the generated
CA; Azure's own refusals (api-version, keys, tokens); `threads-mock start` serving HTTPS. One TLS server for
the module."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.ai.agents import AgentsClient
from azure.ai.agents.models import (
    FilePurpose,
    FileSearchTool,
    FunctionTool,
    ListSortOrder,
    MessageRole,
    ThreadMessageOptions,
    ToolSet,
)
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from mock_server import Settings, create_app, tls
from mock_server.app import MockApp
from mock_server.server import BackgroundServer

PROJECT = "contoso-agents"
ALERT = {"match": "alert", "tool_calls": [{"function": "raise_alert", "arguments": {"level": "red"}}]}
AZURE_VERSION = "2024-10-01-preview"


class StandIn:
    """A TokenCredential, as azure-identity's are: the mock takes any token."""

    def __init__(self, token: str = "entra-token") -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **options: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def trusted(server: BackgroundServer[MockApp]) -> ssl.SSLContext:
    """A client context that trusts the server's generated CA."""
    context = server.ssl_context
    assert context is not None
    return context


def raise_alert(level: str) -> str:
    """Raises an alert.

    :param level: how grave it is
    """
    return json.dumps({"raised": level})


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    settings = tls.prepare(Settings(tls=True))
    running = BackgroundServer(
        create_app(settings), certfile=settings.tls_cert, keyfile=settings.tls_key, ca_file=settings.tls_ca_file
    )
    with running:
        httpx.post(
            f"{running.url}/__mock__/replies", json={**ALERT, "then": "The alert is raised."}, verify=trusted(running)
        ).raise_for_status()
        yield running


@pytest.fixture
def agents(server: BackgroundServer[MockApp]) -> Iterator[AgentsClient]:
    with AgentsClient(
        endpoint=f"{server.url}/api/projects/{PROJECT}", credential=StandIn(), connection_verify=str(server.ca_file)
    ) as client:
        yield client


@pytest.fixture
def web(server: BackgroundServer[MockApp]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, verify=trusted(server), timeout=10) as client:
        yield client


def test_an_agent_a_thread_a_processed_run_and_deletes(agents: AgentsClient, web: httpx.Client) -> None:
    agent = agents.create_agent(model="gpt-4o", name="Helper", instructions="Be brief.")
    thread = agents.threads.create()
    agents.messages.create(thread_id=thread.id, role="user", content="Hello, Foundry")
    run = agents.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0.02)  # type: ignore[arg-type]
    assert run.status == "completed" and run.agent_id == agent.id
    messages = list(agents.messages.list(thread_id=thread.id, order=ListSortOrder.ASCENDING))
    assert [m.role for m in messages] == [MessageRole.USER, MessageRole.AGENT]
    assert messages[1].text_messages[0].text.value == 'You said: "Hello, Foundry"'
    agents.threads.delete(thread.id)
    agents.delete_agent(agent.id)
    with pytest.raises(ResourceNotFoundError):
        agents.threads.get(thread.id)
    # The journal keeps the path the client sent, and fault rules match it.
    sent = web.get("/__mock__/requests", params={"method": "DELETE", "path": f"/api/projects/{PROJECT}/assistants/*"})
    assert [entry["status"] for entry in sent.json()["data"]] == [200]
    rule = web.post("/__mock__/faults", json=f"POST /api/projects/{PROJECT}/threads: status=409; times=1")
    with pytest.raises(ResourceExistsError):
        agents.threads.create()
    assert web.get(f"/__mock__/faults/{rule.json()['id']}").json()["applied"] == 1


def test_a_function_tool_called_by_enable_auto_function_calls(agents: AgentsClient) -> None:
    toolset = ToolSet()
    toolset.add(FunctionTool({raise_alert}))
    agents.enable_auto_function_calls(toolset)
    agent = agents.create_agent(model="gpt-4o", name="Alerter", toolset=toolset)
    assert [tool["function"]["name"] for tool in agent.tools] == ["raise_alert"]
    thread = agents.threads.create()
    agents.messages.create(thread_id=thread.id, role="user", content="Raise an alert")
    run = agents.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0.02)  # type: ignore[arg-type]
    assert run.status == "completed"
    steps = list(agents.run_steps.list(thread_id=thread.id, run_id=run.id, order=ListSortOrder.ASCENDING))
    call = steps[0].step_details.tool_calls[0]  # type: ignore[attr-defined]
    # The SDK's model names no `output`; the wire's field is still there, a model being a mapping.
    assert call.function.name == "raise_alert" and json.loads(call.function["output"]) == {"raised": "red"}
    last = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role=MessageRole.AGENT)
    assert last is not None and last.text.value == "The alert is raised."


def test_a_streamed_run(agents: AgentsClient) -> None:
    agent = agents.create_agent(model="gpt-4o", name="Streamer")
    thread = agents.threads.create(messages=[ThreadMessageOptions(role="user", content="Stream it")])
    with agents.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
        events = [event for event, _, _ in stream]
    assert events[0] == "thread.run.created" and events[-2:] == ["thread.run.completed", "done"]
    assert "thread.message.delta" in events
    last = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role=MessageRole.AGENT)
    assert last is not None and last.text.value == 'You said: "Stream it"'


def test_files_vector_stores_and_a_file_search_run(agents: AgentsClient) -> None:
    notes = agents.files.upload(file=("notes.txt", b"Refunds are paid within 30 days."), purpose=FilePurpose.AGENTS)
    store = agents.vector_stores.create_and_poll(file_ids=[notes.id], name="policies", polling_interval=0.02)
    assert store.status == "completed" and store.file_counts.completed == 1
    search = FileSearchTool(vector_store_ids=[store.id])
    agent = agents.create_agent(model="gpt-4o", tools=search.definitions, tool_resources=search.resources)
    thread = agents.threads.create()
    agents.messages.create(thread_id=thread.id, role="user", content="When are refunds paid?")
    run = agents.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0.02)  # type: ignore[arg-type]
    assert run.status == "completed"
    last = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role=MessageRole.AGENT)
    assert last is not None and last.text.value.endswith("【4:0†notes.txt】")
    assert last.text.annotations[0]["file_citation"]["file_id"] == notes.id
    agents.vector_stores.delete(store.id)
    agents.files.delete(notes.id)
    with pytest.raises(ResourceNotFoundError):
        agents.files.get(notes.id)


def test_a_project_is_its_own_state(server: BackgroundServer[MockApp], agents: AgentsClient) -> None:
    thread = agents.threads.create()
    with AgentsClient(
        endpoint=f"{server.url}/api/projects/{PROJECT}",
        credential=StandIn("another-principal"),
        connection_verify=str(server.ca_file),
    ) as colleague:
        assert colleague.threads.get(thread.id).id == thread.id
    with (
        AgentsClient(
            endpoint=f"{server.url}/api/projects/elsewhere", credential=StandIn(), connection_verify=str(server.ca_file)
        ) as other,
        pytest.raises(ResourceNotFoundError),
    ):
        other.threads.get(thread.id)
    listed = httpx.get(
        f"{server.url}/__mock__/threads", params={"project": f"foundry:{PROJECT}"}, verify=trusted(server)
    )
    assert thread.id in [t["id"] for t in listed.json()["data"]]


def test_foundry_lists_a_project_s_threads_where_openai_never_did(
    server: BackgroundServer[MockApp], agents: AgentsClient, web: httpx.Client
) -> None:
    made = [agents.threads.create(metadata={"n": str(n)}).id for n in range(3)]
    # The SDK pages with `after=last_id` until a page comes back empty: a page size of two takes two pages.
    listed = [thread.id for thread in agents.threads.list(limit=2, order=ListSortOrder.ASCENDING)]
    assert listed[-3:] == made and len(set(listed)) == len(listed)
    newest = agents.threads.list(limit=1)
    assert next(iter(newest)).id == made[-1]
    page = web.get(
        f"/api/projects/{PROJECT}/threads",
        params={"api-version": "v1", "limit": 2, "order": "asc", "after": made[0]},
        headers={"Authorization": "Bearer t"},
    ).json()
    assert [t["id"] for t in page["data"]] == made[1:] and page["object"] == "list" and page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == (made[1], made[2])
    # Checked against foundry-agents.yaml as any operation is against the contract.
    bad = web.get(f"/api/projects/{PROJECT}/threads?api-version=v1&limit=0", headers={"Authorization": "Bearer t"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"
    # OpenAI and Azure OpenAI never listed threads: their paths still refuse the method.
    openai = httpx.get(f"{server.base_url}/threads", headers={"Authorization": "Bearer k"}, verify=trusted(server))
    assert openai.status_code == 405 and openai.headers["allow"] == "POST"
    azure = web.get(f"/openai/threads?api-version={AZURE_VERSION}", headers={"api-key": "k"})
    assert azure.status_code == 405


def test_azure_refusals(web: httpx.Client) -> None:
    key = {"api-key": "k"}
    missing = web.get("/openai/threads/thread_abc", headers=key)
    assert (missing.status_code, missing.json()) == (404, {"error": {"code": "404", "message": "Resource not found"}})
    ga = web.get("/openai/threads/thread_abc?api-version=2024-10-21", headers=key)
    assert ga.status_code == 404 and ga.json()["error"]["message"] == "Resource not found"
    unknown = web.get("/openai/threads/thread_abc?api-version=2031-01-01", headers=key)
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": {"code": "BadRequest", "message": "API version not supported"}},
    )
    no_key = web.get(f"/openai/threads/thread_abc?api-version={AZURE_VERSION}")
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "401"
    assert no_key.json()["error"]["message"].startswith("Access denied due to missing subscription key.")
    found = web.get(f"/openai/threads/thread_abc?api-version={AZURE_VERSION}", headers=key)
    assert found.status_code == 404 and found.json()["error"]["message"] == "No thread found with id 'thread_abc'."
    no_token = web.get(f"/api/projects/{PROJECT}/threads/thread_abc?api-version=v1", headers=key)
    assert no_token.status_code == 401 and "Access token is missing" in no_token.json()["message"]
    bearer = {"Authorization": "Bearer t"}
    old = web.get(f"/api/projects/{PROJECT}/assistants?api-version=2024-12-01-preview", headers=bearer)
    assert old.status_code == 400 and old.json()["error"]["message"] == (
        "Unsupported api version '2024-12-01-preview'. The supported versions are 'v1', '2025-05-01', "
        "'2025-05-15-preview'"
    )
    assert web.get(f"/api/projects/{PROJECT}/assistants", headers=bearer).status_code == 400
    assert web.get(f"/api/projects/{PROJECT}/assistants?api-version=v1", headers=bearer).status_code == 200


def test_keys_restrict_the_azure_flavours_too(start_server: Any) -> None:
    server = start_server(api_keys=("good",))
    path = f"{server.url}/openai/threads?api-version={AZURE_VERSION}"
    wrong_key = httpx.post(path, headers={"api-key": "bad"})
    assert wrong_key.status_code == 401 and "invalid subscription key" in wrong_key.json()["error"]["message"]
    wrong_token = httpx.post(path, headers={"Authorization": "Bearer bad"})
    assert wrong_token.status_code == 401 and "cognitiveservices" in wrong_token.json()["message"]
    assert httpx.post(path, headers={"Authorization": "Bearer good"}).status_code == 200


def test_start_serves_https_with_the_ca_it_names(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "THREADS_MOCK_TLS": "true"}
    started = subprocess.run(
        [sys.executable, "-m", "mock_server", "start", "--state-dir", str(state), "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("https://127.0.0.1:")
        ca_file = Path((state / "log").read_text().split("(CA ", 1)[1].split(")", 1)[0])
        served = httpx.get(
            url.removesuffix("/v1") + "/__mock__/ca.pem", verify=ssl.create_default_context(cafile=ca_file)
        )
        assert served.text == ca_file.read_text() and "BEGIN CERTIFICATE" in served.text
        with pytest.raises(httpx.ConnectError):  # not trusted without the CA
            httpx.get(url.removesuffix("/v1") + "/__mock__/health")
    finally:
        # What `threads-mock stop` does, without a second interpreter's start-up.
        if (state / "pid").exists():
            os.kill(int((state / "pid").read_text()), signal.SIGTERM)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's, for client.beta.threads
@pytest.mark.threads_mock(tls=True)
def test_the_pytest_fixture_serves_https(threads_mock: Any) -> None:
    assert threads_mock.url.startswith("https://") and threads_mock.ca_file.is_file()
    with threads_mock.openai_client(max_retries=0) as client:
        thread = client.beta.threads.create()
    with AgentsClient(
        endpoint=f"{threads_mock.url}/api/projects/{PROJECT}",
        credential=StandIn(),
        connection_verify=str(threads_mock.ca_file),
    ) as agents:
        assert agents.threads.create().id != thread.id
    assert [entry.path for entry in threads_mock.requests] == ["/v1/threads", f"/api/projects/{PROJECT}/threads"]
