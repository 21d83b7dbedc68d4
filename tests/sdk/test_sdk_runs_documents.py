"""file_search and code_interpreter runs through the official SDK (1.x and 3.x), sync and async, over a real
socket: a vector store filled with the SDK's poll helpers, an assistant that searches it, polled and streamed
runs whose answer cites the file, the search step with and without `include`, attachments that join the
thread's vector store, a scripted code_interpreter run whose image downloads, and everything deleted; then
the same kept across a restart on SQLite, beside the files and vector stores of `test_sdk_documents` (one pair
of servers for both)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler, AsyncOpenAI, OpenAI
from openai.types.beta.threads import Text
from openai.types.beta.threads.runs import ToolCall

from mock_server import MockApp, Settings, create_app
from mock_server.files.objects import png
from mock_server.server import BackgroundServer

from ..helpers import QUIET, serving
from . import test_sdk_documents as documents
from .test_sdk_documents import vector_stores

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

REFUNDS = b"Refunds are paid within 30 days of a return. Keep the receipt: the refund needs it."
WEATHER = b"The forecast says sun all week, with a light wind from the west."
INCLUDE: Any = ["step_details.tool_calls[*].file_search.results[*].content"]
CHART = {
    "match": "^chart",
    "reply": "Here is the chart.",
    "code_interpreter": {"input": "plt.bar(x, y)", "image": True},
}
QUESTION = "How long until my refund is paid?"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=5, replies=(CHART,)))) as running:
        yield running


class Collected(AssistantEventHandler):
    """What a streamed run's handler saw: the texts done, the tool calls made, the steps done."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[Text] = []
        self.tools: list[str] = []
        self.steps: list[Any] = []

    def on_text_done(self, text: Text) -> None:
        self.texts.append(text)

    def on_tool_call_created(self, tool_call: ToolCall) -> None:
        self.tools.append(tool_call.type)

    def on_run_step_done(self, run_step: Any) -> None:
        self.steps.append(run_step)


class AsyncCollected(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[Text] = []
        self.tools: list[str] = []
        self.images: list[str] = []

    async def on_text_done(self, text: Text) -> None:
        self.texts.append(text)

    async def on_image_file_done(self, image_file: Any) -> None:
        self.images.append(image_file.file_id)

    async def on_tool_call_created(self, tool_call: ToolCall) -> None:
        self.tools.append(tool_call.type)


def check_cited(text: Text, file_id: str) -> None:
    """The answer quotes the chunk and cites it: the annotation on the marker, indices right."""
    (annotation,) = text.annotations
    assert annotation.type == "file_citation" and annotation.file_citation.file_id == file_id  # type: ignore[union-attr]
    assert text.value[annotation.start_index : annotation.end_index] == annotation.text == "【4:0†refunds.txt】"
    assert text.value.startswith(REFUNDS.decode())


def check_search_step(steps: list[Any], file_id: str, *, content: bool) -> None:
    (search,) = [step for step in steps if step.type == "tool_calls"]
    (call,) = search.step_details.tool_calls
    assert call.type == "file_search"
    result = call.file_search.results[0]
    assert (result.file_id, result.file_name) == (file_id, "refunds.txt") and 0 < result.score < 1
    assert (result.content[0].text == REFUNDS.decode()) if content else result.content is None


def check_chart(client: OpenAI, thread_id: str, run_id: str) -> str:
    """The code_interpreter step and the answer showing its image; the image's id."""
    steps = client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, order="asc").data
    (call,) = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert call.type == "code_interpreter" and call.code_interpreter.input == "plt.bar(x, y)"  # type: ignore[union-attr]
    (image,) = call.code_interpreter.outputs  # type: ignore[union-attr]
    text, picture = client.beta.threads.messages.list(thread_id).data[0].content
    (link,) = text.text.annotations  # type: ignore[union-attr]
    assert link.type == "file_path" and link.text == "sandbox:/mnt/data/image.png"
    assert link.file_path.file_id == image.image.file_id == picture.image_file.file_id  # type: ignore[union-attr]
    made = client.files.retrieve(image.image.file_id)  # type: ignore[union-attr]
    assert (made.purpose, made.filename) == ("assistants_output", "image.png")
    assert client.files.content(made.id).read() == png()
    return made.id


def fill(client: OpenAI) -> dict[str, Any]:
    """A vector store, an assistant searching it, a polled run that cites it, a chart run; their ids."""
    stores = vector_stores(client)
    store = stores.create(name="policies")
    refunds = stores.files.upload_and_poll(vector_store_id=store.id, file=("refunds.txt", REFUNDS))
    assert refunds.status == "completed"
    searcher = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=searcher.id, poll_interval_ms=5)
    assert run.status == "completed"
    coder = client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
    charted = client.beta.threads.create_and_run_poll(
        assistant_id=coder.id, thread={"messages": [{"role": "user", "content": "chart it"}]}, poll_interval_ms=5
    )
    return {
        "store": store.id,
        "refunds": refunds.id,
        "assistants": [searcher.id, coder.id],
        "thread": thread.id,
        "run": run.id,
        "chart": (charted.thread_id, charted.id),
    }


def check_filled(client: OpenAI, made: dict[str, Any]) -> str:
    """What `fill` made reads back; the chart image's id."""
    thread_id, run_id = made["thread"], made["run"]
    check_cited(client.beta.threads.messages.list(thread_id).data[0].content[0].text, made["refunds"])  # type: ignore[union-attr]
    steps = client.beta.threads.runs.steps.list(run_id, thread_id=thread_id, include=INCLUDE).data
    check_search_step(steps, made["refunds"], content=True)
    check_search_step(
        client.beta.threads.runs.steps.list(run_id, thread_id=thread_id).data, made["refunds"], content=False
    )
    chunks = vector_stores(client).files.content(made["refunds"], vector_store_id=made["store"]).data
    assert "".join(chunk.text or "" for chunk in chunks) == REFUNDS.decode()
    with pytest.raises(openai.BadRequestError, match="Not allowed to download files of purpose: assistants"):
        client.files.content(made["refunds"])
    return check_chart(client, *made["chart"])


def delete_all(client: OpenAI, made: dict[str, Any], image_id: str, stores: list[str]) -> None:
    for file_id in (made["refunds"], image_id):
        assert client.files.delete(file_id).deleted
    for store_id in stores:
        assert vector_stores(client).delete(store_id).deleted
    for assistant_id in made["assistants"]:
        assert client.beta.assistants.delete(assistant_id).deleted
    for thread_id in (made["thread"], made["chart"][0]):
        assert client.beta.threads.delete(thread_id).deleted
    for gone in (
        lambda: client.files.retrieve(image_id),
        lambda: vector_stores(client).retrieve(made["store"]),
        lambda: client.beta.assistants.retrieve(made["assistants"][0]),
        lambda: client.beta.threads.retrieve(made["thread"]),
    ):
        with pytest.raises(openai.NotFoundError):
            gone()


def test_file_search_and_code_interpreter_runs_from_upload_to_deletion(server: BackgroundServer[MockApp]) -> None:
    with OpenAI(base_url=server.base_url, api_key="sk-sync", max_retries=0) as client:
        made = fill(client)
        image_id = check_filled(client, made)
        # Streamed, with the steps' chunks asked for: the handler sees the search, then the cited text.
        thread_id, searcher = made["thread"], made["assistants"][0]
        client.beta.threads.messages.create(thread_id, role="user", content="Keep the receipt for the refund?")
        handler = Collected()
        with client.beta.threads.runs.stream(
            thread_id=thread_id, assistant_id=searcher, event_handler=handler, include=INCLUDE
        ) as stream:
            stream.until_done()
        assert handler.tools == ["file_search"]
        assert [step.type for step in handler.steps] == ["tool_calls", "message_creation"]
        (text,) = handler.texts
        check_cited(text, made["refunds"])
        # The completed step's results (the SDK's own snapshot keeps the delta's empty list, as it did live).
        check_search_step(handler.steps, made["refunds"], content=True)
        # An attachment for file_search goes into the thread's own vector store, made for it.
        weather = client.files.create(file=("weather.txt", WEATHER), purpose="assistants")
        client.beta.threads.messages.create(
            thread_id,
            role="user",
            content="And the weather?",
            attachments=[{"file_id": weather.id, "tools": [{"type": "file_search"}]}],
        )
        (own,) = client.beta.threads.retrieve(thread_id).tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
        assert [f.id for f in vector_stores(client).files.list(own)] == [weather.id]
        assert client.files.delete(weather.id).deleted
        delete_all(client, made, image_id, [made["store"], own])
        assert client.files.list().data == []


def test_the_same_with_the_async_client(server: BackgroundServer[MockApp]) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-async", max_retries=0) as client:
            stores = vector_stores(client)
            store = await stores.create(name="async")
            refunds = await stores.files.upload_and_poll(vector_store_id=store.id, file=("refunds.txt", REFUNDS))
            searcher = await client.beta.assistants.create(
                model="gpt-4o",
                tools=[{"type": "file_search"}],
                tool_resources={"file_search": {"vector_store_ids": [store.id]}},
            )
            thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
            handler = AsyncCollected()
            async with client.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=searcher.id, event_handler=handler
            ) as stream:
                await stream.until_done()
            assert handler.tools == ["file_search"]
            check_cited(handler.texts[0], refunds.id)
            steps = (
                await client.beta.threads.runs.steps.list(stream.current_run.id, thread_id=thread.id, include=INCLUDE)
            ).data  # type: ignore[union-attr]
            check_search_step(steps, refunds.id, content=True)
            coder = await client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
            await client.beta.threads.messages.create(thread.id, role="user", content="chart it")
            charted = AsyncCollected()
            async with client.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=coder.id, event_handler=charted
            ) as stream:
                await stream.until_done()
            # The text done when the image part begins, then the image: the SDK's handler saw both parts.
            (image_id,) = charted.images
            (text,) = charted.texts
            assert charted.tools == ["code_interpreter"] and text.annotations[0].file_path.file_id == image_id  # type: ignore[union-attr]
            assert await (await client.files.content(image_id)).aread() == png()
            for file_id in (refunds.id, image_id):
                assert (await client.files.delete(file_id)).deleted
            assert (await stores.delete(store.id)).deleted
            for assistant_id in (searcher.id, coder.id):
                assert (await client.beta.assistants.delete(assistant_id)).deleted
            assert (await client.beta.threads.delete(thread.id)).deleted
            with pytest.raises(openai.NotFoundError):
                await client.files.retrieve(image_id)
            assert (await client.files.list()).data == []

    asyncio.run(scenario())


def test_documents_and_their_runs_survive_a_restart_on_sqlite(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'mock.db'}"
    with serving(*QUIET, "--store", store, "--poll-after-ms", "5") as first:
        httpx.post(f"{first.url}/__mock__/replies", json=CHART).raise_for_status()
        with OpenAI(base_url=f"{first.url}/v1", api_key="sk-durable", max_retries=0) as client:
            filed = documents.fill(client)
            made = fill(client)
    with (
        serving(*QUIET, "--store", store) as second,
        OpenAI(base_url=f"{second.url}/v1", api_key="sk-durable", max_retries=0) as client,
    ):
        documents.check_filled(client, *filed)
        image_id = check_filled(client, made)
        delete_all(client, made, image_id, [made["store"]])
        documents.empty(client, filed[0], filed[1])  # and nothing of either is left
