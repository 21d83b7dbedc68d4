"""The SDK's AzureOpenAI and AsyncAzureOpenAI clients, unmodified, against the mock's Azure OpenAI flavour:
`/openai/...?api-version=`, the `api-key` header or an Entra token. One server for the module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler, AsyncAzureOpenAI, AzureOpenAI

from mock_server import Settings, create_app
from mock_server.app import MockApp
from mock_server.server import BackgroundServer

from ..helpers import SHARED_SSL, journal

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

VERSION = "2024-05-01-preview"
KEY = "azure-key-1"
FORECAST = {"match": "forecast", "tool_calls": [{"function": "get_forecast", "arguments": {"city": "Oslo"}}]}


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings())) as running:
        httpx.post(f"{running.url}/__mock__/replies", json={**FORECAST, "then": "Snow in Oslo."}, verify=SHARED_SSL)
        yield running


@pytest.fixture
def azure(server: BackgroundServer[MockApp]) -> Iterator[AzureOpenAI]:
    with AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=VERSION, max_retries=0) as client:
        yield client


class ToolRecorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.texts: list[str] = []

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.calls.append(tool_call.function.name)

    def on_text_done(self, text: Any) -> None:
        self.texts.append(text.value)


def test_threads_messages_and_a_polled_run_with_a_tool_call(
    azure: AzureOpenAI, server: BackgroundServer[MockApp]
) -> None:
    assistant = azure.beta.assistants.create(model="gpt-4o", name="Forecaster")
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "The forecast, please"}])
    azure.beta.threads.messages.create(thread.id, role="user", content="For Oslo")
    assert [m.role for m in azure.beta.threads.messages.list(thread.id, order="asc").data] == ["user", "user"]
    run = azure.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    # The rule matches the last user message only: "For Oslo" gets the echo.
    assert run.status == "completed"
    azure.beta.threads.messages.create(thread.id, role="user", content="forecast for Oslo")
    run = azure.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.function.name == "get_forecast"
    run = azure.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "snow"}]
    )
    assert run.status == "completed"
    reply = azure.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert reply.content[0].text.value == "Snow in Oslo."  # type: ignore[union-attr]
    # The journal and the access log keep the path the client sent.
    sent = journal(server, method="POST", path="/openai/threads/*/runs")
    assert sent and sent[-1]["query"] == f"api-version={VERSION}" and sent[-1]["headers"]["api-key"] == KEY


def test_a_streamed_run_through_its_tool_call(azure: AzureOpenAI) -> None:
    assistant = azure.beta.assistants.create(model="gpt-4o")
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "forecast?"}])
    first = ToolRecorder()
    with azure.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=first) as s:
        s.until_done()
    run = first.current_run
    assert first.calls == ["get_forecast"] and run is not None and run.status == "requires_action"
    assert run.required_action is not None
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
    second = ToolRecorder()
    with azure.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call_id, "output": "snow"}],
        event_handler=second,
    ) as s:
        s.until_done()
    assert second.texts == ["Snow in Oslo."]


def test_one_resource_whatever_the_credential_or_base_url_apart_from_openai(
    azure: AzureOpenAI, server: BackgroundServer[MockApp]
) -> None:
    thread = azure.beta.threads.create(metadata={"made": "with the key"})
    # An Entra token naming the same project, and a client built with a deployment: the same resource.
    with AzureOpenAI(
        azure_endpoint=server.url, azure_ad_token=KEY, azure_deployment="gpt-4o", api_version="2025-04-01-preview"
    ) as entra:
        assert entra.beta.threads.retrieve(thread.id).metadata == {"made": "with the key"}
    with AzureOpenAI(base_url=f"{server.url}/openai/deployments/gpt-4o", api_key=KEY, api_version=VERSION) as based:
        assert based.beta.threads.retrieve(thread.id).id == thread.id
    # api.openai.com kept its threads apart from every Azure resource's, under the same key too.
    with (
        openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as plain,
        pytest.raises(openai.NotFoundError),
    ):
        plain.beta.threads.retrieve(thread.id)


def test_files_and_vector_stores(azure: AzureOpenAI) -> None:
    uploaded = azure.files.create(file=("notes.txt", b"Refunds are paid within 30 days."), purpose="assistants")
    assert azure.files.retrieve(uploaded.id).filename == "notes.txt"
    store = azure.vector_stores.create(name="policies", file_ids=[uploaded.id])
    attached = azure.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("more.txt", b"Cats nap."))
    assert attached.status == "completed"
    listed = azure.vector_stores.files.list(store.id).data
    assert {f.id for f in listed} == {uploaded.id, attached.id}
    assert azure.vector_stores.delete(store.id).deleted and azure.files.delete(uploaded.id).deleted


def test_the_async_client_polls_and_streams(server: BackgroundServer[MockApp]) -> None:
    class Texts(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []

        async def on_text_done(self, text: Any) -> None:
            self.texts.append(text.value)

    async def program() -> None:
        async with AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=VERSION, max_retries=0) as az:
            assistant = await az.beta.assistants.create(model="gpt-4o")
            thread = await az.beta.threads.create(messages=[{"role": "user", "content": "forecast"}])
            run = await az.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
            assert run.status == "requires_action" and run.required_action is not None
            call = run.required_action.submit_tool_outputs.tool_calls[0]
            run = await az.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "snow"}]
            )
            assert run.status == "completed"
            await az.beta.threads.messages.create(thread.id, role="user", content="Stream this")
            handler = Texts()
            async with az.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                await stream.until_done()
            assert handler.texts == ['You said: "Stream this"']

    asyncio.run(program())
