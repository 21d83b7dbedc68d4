"""What lenient mode does differently, each rule once, through the official SDK over a real server: the calls
a suite of placeholder ids makes (as openai-python's own suites do; `make test-sdk-suites` runs those), which
strict mode refuses as the real API did and lenient mode answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.vector_stores import VectorStoreFileBatch

from mock_server.app import create_app
from mock_server.server import BackgroundServer
from mock_server.settings import Settings

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TOOL_CALL = {"match": "weather", "tool_calls": [{"function": "get_weather", "arguments": {"city": "Paris"}}]}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, BackgroundServer]]:
    with (
        BackgroundServer(create_app(Settings(mode="lenient"))) as lenient,
        BackgroundServer(create_app(Settings(mode="strict"))) as strict,
    ):
        yield {"lenient": lenient, "strict": strict}


def sdk(server: BackgroundServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0)


@pytest.fixture(scope="module")
def lenient(servers: dict[str, BackgroundServer]) -> Iterator[OpenAI]:
    with sdk(servers["lenient"]) as client:
        yield client


@pytest.fixture(scope="module")
def strict(servers: dict[str, BackgroundServer]) -> Iterator[OpenAI]:
    with sdk(servers["strict"]) as client:
        yield client


def uploaded(client: OpenAI, text: bytes = b"Opening hours are nine to five.") -> str:
    return client.files.create(file=("hours.txt", text), purpose="assistants").id


def test_an_unknown_run_is_a_finished_run_and_an_unknown_step_a_finished_step(lenient: OpenAI) -> None:
    runs = lenient.beta.threads.runs
    run = runs.retrieve("run_id", thread_id="thread_of_run_id")
    assert (run.id, run.thread_id, run.status, run.assistant_id) == (
        "run_id",
        "thread_of_run_id",
        "completed",
        "asst_placeholder",
    )
    assert run.usage is not None and run.usage.total_tokens == 0
    assert lenient.beta.assistants.retrieve("asst_placeholder").id == "asst_placeholder"
    assert runs.update("run_id", thread_id="thread_of_run_id", metadata={"k": "v"}).metadata == {"k": "v"}
    assert runs.steps.list("run_id", thread_id="thread_of_run_id").data == []
    step = runs.steps.retrieve("step_id", thread_id="thread_of_run_id", run_id="run_id")
    assert (step.id, step.run_id, step.status, step.type) == ("step_id", "run_id", "completed", "tool_calls")
    # Made once, then stateful: the run keeps its metadata, the step is listed.
    assert runs.retrieve("run_id", thread_id="thread_of_run_id").metadata == {"k": "v"}
    assert [s.id for s in runs.steps.list("run_id", thread_id="thread_of_run_id").data] == ["step_id"]
    # A run belongs to one thread: under another it is not found.
    with pytest.raises(openai.NotFoundError, match="No run found with id 'run_id'"):
        runs.retrieve("run_id", thread_id="another_thread")


def test_a_new_run_cancels_the_active_one_and_a_message_joins_a_busy_thread(lenient: OpenAI, strict: OpenAI) -> None:
    for client in (lenient, strict):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
        assistant = client.beta.assistants.create(model="gpt-4o")
        first = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        if client is strict:
            with pytest.raises(openai.BadRequestError, match=r"while a run run_\w+ is active"):
                client.beta.threads.messages.create(thread.id, role="user", content="During the run")
            with pytest.raises(openai.BadRequestError, match="already has an active run"):
                client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
            continue
        client.beta.threads.messages.create(thread.id, role="user", content="During the run")
        second = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        ended = client.beta.threads.runs.retrieve(first.id, thread_id=thread.id)
        assert (ended.status, ended.cancelled_at is not None) == ("cancelled", True)
        done = client.beta.threads.runs.poll(second.id, thread_id=thread.id, poll_interval_ms=1)
        assert done.status == "completed"
        reply = client.beta.threads.messages.list(thread.id, run_id=second.id).data[0]
        assert reply.content[0].type == "text" and reply.content[0].text.value == 'You said: "During the run"'


def test_tool_outputs_to_a_run_that_does_not_wait_leave_it_as_it_is(lenient: OpenAI, strict: OpenAI) -> None:
    outputs: Any = [{"tool_call_id": "call_x", "output": "sunny"}]
    for client in (lenient, strict):
        thread = client.beta.threads.create()
        run = client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=client.beta.assistants.create(model="m").id
        )
        if client is strict:
            with pytest.raises(openai.BadRequestError, match='Runs in status "queued" do not accept tool outputs'):
                client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=outputs)
            continue
        same = client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=outputs)
        assert (same.id, same.status) == (run.id, "queued")
        stream = client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=outputs, stream=True
        )
        assert [(event.event, event.data.id) for event in stream] == [("thread.run.queued", run.id)]


def test_a_waiting_run_takes_outputs_for_other_calls(
    lenient: OpenAI, servers: dict[str, BackgroundServer], add_rule: Callable[[BackgroundServer, Any], None]
) -> None:
    add_rule(servers["lenient"], TOOL_CALL)
    thread = lenient.beta.threads.create(messages=[{"role": "user", "content": "The weather?"}])
    assistant = lenient.beta.assistants.create(model="gpt-4o")
    run = lenient.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    waiting = lenient.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=1)
    assert waiting.status == "requires_action"
    taken = lenient.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_not_asked", "output": "x"}]
    )
    assert taken.status == "queued"
    assert lenient.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=1).status == "completed"
    steps = lenient.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    details: Any = steps[0].step_details
    assert details.tool_calls[0].function.output == ""  # the call asked for got no output: an empty one


@pytest.fixture
def add_rule() -> Callable[[BackgroundServer, Any], None]:
    def add(server: BackgroundServer, rule: Any) -> None:
        httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/replies", json=rule).raise_for_status()

    return add


def test_a_cancel_of_a_finished_run_or_batch_answers_it_as_it_is(lenient: OpenAI, strict: OpenAI) -> None:
    for client in (lenient, strict):
        thread = client.beta.threads.create()
        run = client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=client.beta.assistants.create(model="m").id
        )
        done = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=1)
        store = client.vector_stores.create(name="empty")
        batch = client.vector_stores.file_batches.create(store.id, file_ids=[uploaded(client)])
        client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)  # processed when read
        if client is strict:
            with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'completed'"):
                client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
            with pytest.raises(openai.BadRequestError, match="Cannot cancel a vector store file batch"):
                client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
            continue
        assert client.beta.threads.runs.cancel(run.id, thread_id=thread.id) == done
        assert client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id).status == "completed"
        placeholder = client.vector_stores.file_batches.cancel("batch_id", vector_store_id="vector_store_id")
        assert (placeholder.id, placeholder.status, placeholder.file_counts.total) == ("batch_id", "completed", 0)


def test_prose_rules_are_not_checked(lenient: OpenAI, strict: OpenAI) -> None:
    thread = lenient.beta.threads.create(messages=[{"role": "user", "content": str(i)} for i in range(3)])
    # `limit` from 1 to 100 is prose in the reference: any integer is taken, clamped into that range.
    assert len(lenient.beta.threads.messages.list(thread.id, limit=0).data) == 1
    assert len(lenient.beta.threads.messages.list(thread.id, limit=1000).data) == 3
    with pytest.raises(openai.BadRequestError, match="integer below minimum value"):
        strict.beta.threads.messages.list(strict.beta.threads.create().id, limit=0)
    # Both a vector store and the helper that makes one (prose: one or the other): the helper's files join it.
    for client in (lenient, strict):
        store = client.vector_stores.create(name="named")
        helper: Any = [{"file_ids": [uploaded(client)]}]
        resources: Any = {"file_search": {"vector_store_ids": [store.id], "vector_stores": helper}}
        if client is strict:
            with pytest.raises(openai.BadRequestError, match="expected exactly one of 'vector_store_ids'"):
                client.beta.threads.create(tool_resources=resources)
            continue
        made = client.beta.threads.create(tool_resources=resources)
        assert made.tool_resources is not None and made.tool_resources.file_search is not None
        assert made.tool_resources.file_search.vector_store_ids == [store.id]
        assert client.vector_stores.retrieve(store.id).file_counts.total == 1


def test_file_batches_take_both_lists_or_neither(lenient: OpenAI, strict: OpenAI) -> None:
    for client in (lenient, strict):
        store = client.vector_stores.create()
        listed, own = uploaded(client), uploaded(client)
        both: Any = {"files": [{"file_id": own}]}
        if client is strict:
            with pytest.raises(openai.BadRequestError, match="expected exactly one of 'file_ids' or 'files'"):
                client.vector_stores.file_batches.create(store.id, file_ids=[listed], extra_body=both)
            with pytest.raises(openai.BadRequestError, match="Missing required parameter"):
                client.post(f"/vector_stores/{store.id}/file_batches", body={}, cast_to=VectorStoreFileBatch)
            continue
        batch = client.vector_stores.file_batches.create(store.id, file_ids=[listed], extra_body=both)
        assert batch.file_counts.total == 2
        empty = client.post(f"/vector_stores/{store.id}/file_batches", body={}, cast_to=VectorStoreFileBatch)
        assert empty.file_counts.total == 0


def test_answers_take_the_shapes_of_the_reference_and_the_sdk(lenient: OpenAI, strict: OpenAI) -> None:
    # The live API said `vector_store.file_batch` and a null name; the reference and the SDK's strict response
    # validation say `vector_store.files_batch` and a string.
    shapes = {}
    for name, client in (("lenient", lenient), ("strict", strict)):
        store = client.vector_stores.with_raw_response.create().http_response.json()
        batch = client.vector_stores.file_batches.with_raw_response.create(store["id"], file_ids=[uploaded(client)])
        shapes[name] = (store["name"], batch.http_response.json()["object"])
    assert shapes == {"lenient": ("", "vector_store.files_batch"), "strict": (None, "vector_store.file_batch")}
    # `none`, a reasoning effort the SDK knows and the retired API did not.
    assistant = lenient.beta.assistants.create(model="gpt-5", reasoning_effort="none")
    assert assistant.reasoning_effort == "none"
    with pytest.raises(openai.BadRequestError, match="Invalid value: 'none'"):
        strict.beta.assistants.create(model="gpt-5", reasoning_effort="none")


def test_an_assistants_file_can_be_downloaded(lenient: OpenAI, strict: OpenAI) -> None:
    assert lenient.files.content(uploaded(lenient, b"kept")).read() == b"kept"
    assert lenient.files.content("file-never-uploaded").read() == b""
    with pytest.raises(openai.BadRequestError, match="Not allowed to download files of purpose: assistants"):
        strict.files.content(uploaded(strict))
