"""A response's built-in tools through the official SDK over a real socket: file_search over the vector stores
(the call item, its results only with `include`, the answer quoting and citing the best chunk, streamed with
its events), and `text.format` json_schema answers (parsed by `client.responses.parse`)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from mock_server import MockApp, Settings, create_app
from mock_server.server import BackgroundServer

from .test_sdk_documents import vector_stores

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

REFUNDS = "Refunds are paid within 30 days of a return. Keep the receipt: the refund needs it."
RETURNS = "Items come back by post; the refund follows."
QUESTION = "How long until my refund is paid?"
RESULTS: Any = ["file_search_call.results"]


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(poll_after_ms=5))) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: BackgroundServer[MockApp]) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="sk-tools", max_retries=0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def store(client: OpenAI) -> dict[str, str]:
    stores = vector_stores(client)
    made = stores.create(name="policies")
    refunds = stores.files.upload_and_poll(vector_store_id=made.id, file=("refunds.txt", REFUNDS.encode()))
    returns = stores.files.upload_and_poll(vector_store_id=made.id, file=("returns.txt", RETURNS.encode()))
    return {"id": made.id, "refunds": refunds.id, "returns": returns.id}


def add_reply(server: BackgroundServer[MockApp], **rule: Any) -> None:
    httpx.post(f"{server.url}/__mock__/replies", json=rule).raise_for_status()


def test_file_search_answers_with_a_call_and_a_citation(client: OpenAI, store: dict[str, str]) -> None:
    tools: Any = [{"type": "file_search", "vector_store_ids": [store["id"]]}]
    response = client.responses.create(model="gpt-4o", input=QUESTION, tools=tools)
    call, message = response.output
    assert call.type == "file_search_call" and call.id.startswith("fs_") and call.status == "completed"
    # Its results only when included, as the real API shows them.
    assert call.queries == [QUESTION] and call.results is None
    assert message.type == "message" and response.output_text == REFUNDS
    (cited,) = message.content[0].annotations  # type: ignore[union-attr]
    assert cited.type == "file_citation" and (cited.file_id, cited.filename) == (store["refunds"], "refunds.txt")  # type: ignore[union-attr]
    assert cited.index == len(REFUNDS) - 1  # type: ignore[union-attr]
    assert response.tools[0].max_num_results == 20  # type: ignore[union-attr]

    shown = client.responses.retrieve(response.id, include=RESULTS).output[0]
    assert shown.type == "file_search_call" and shown.results is not None
    assert [(r.filename, r.text) for r in shown.results] == [("refunds.txt", REFUNDS), ("returns.txt", RETURNS)]
    assert all(0 < (r.score or 0) < 1 for r in shown.results)

    one = client.responses.create(
        model="gpt-4o", input=QUESTION, include=RESULTS, tools=[{**tools[0], "max_num_results": 1}]
    )
    assert [r.file_id for r in one.output[0].results or []] == [store["refunds"]]  # type: ignore[union-attr]


def test_a_rule_s_reply_is_cited_and_a_rule_can_switch_the_search_off(
    server: BackgroundServer[MockApp], client: OpenAI, store: dict[str, str]
) -> None:
    add_reply(server, match="policy on refunds", reply="Thirty days.")
    add_reply(server, match="no search", reply="Not searched.", file_search=False)
    tools: Any = [{"type": "file_search", "vector_store_ids": [store["id"]]}]
    written = client.responses.create(model="gpt-4o", input="What is the policy on refunds?", tools=tools)
    assert written.output_text == "Thirty days."
    assert written.output[1].content[0].annotations[0].index == len("Thirty days")  # type: ignore[union-attr]
    plain = client.responses.create(model="gpt-4o", input="Refunds, no search.", tools=tools)
    assert [item.type for item in plain.output] == ["message"] and plain.output_text == "Not searched."


def test_an_unknown_vector_store_is_refused(client: OpenAI, store: dict[str, str]) -> None:
    tools: Any = [{"type": "file_search", "vector_store_ids": [store["id"], "vs_unknown"]}]
    with pytest.raises(
        openai.BadRequestError, match=re.escape("No vector store found with id 'vs_unknown'.")
    ) as refused:
        client.responses.create(model="gpt-4o", input=QUESTION, tools=tools)
    assert refused.value.param == "tools[0].vector_store_ids[1]"


def test_a_streamed_file_search(client: OpenAI, store: dict[str, str]) -> None:
    tools: Any = [{"type": "file_search", "vector_store_ids": [store["id"]]}]
    with client.responses.stream(model="gpt-4o", input=QUESTION, tools=tools, include=RESULTS) as stream:
        names = [event.type for event in stream]
        final = stream.get_final_response()
    assert names[2:7] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert names.count("response.output_text.annotation.added") == 1
    assert names.index("response.output_text.annotation.added") < names.index("response.output_text.done")
    assert final.output_text == REFUNDS and final.output[0].results[0].text == REFUNDS  # type: ignore[union-attr]


def test_file_search_with_the_async_client(server: BackgroundServer[MockApp], store: dict[str, str]) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-tools", max_retries=0) as client:
            tools: Any = [{"type": "file_search", "vector_store_ids": [store["id"]]}]
            response = await client.responses.create(model="gpt-4o", input=QUESTION, tools=tools)
            assert response.output_text == REFUNDS
            assert response.output[1].content[0].annotations[0].file_id == store["refunds"]  # type: ignore[union-attr]

    asyncio.run(scenario())


class Forecast(BaseModel):
    city: str
    degrees: int
    kind: Literal["sunny", "rainy"]
    tags: list[str]
    wind: Wind | None


class Wind(BaseModel):
    speed: float
    direction: str


Forecast.model_rebuild()
FORECAST_SCHEMA: Any = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "degrees": {"type": "integer", "minimum": -50, "maximum": 60}},
    "required": ["city", "degrees"],
    "additionalProperties": False,
}


def test_json_schema_answers_parse_and_a_rule_that_breaks_the_schema_fails_the_response(
    server: BackgroundServer[MockApp], client: OpenAI
) -> None:
    if not hasattr(client.responses, "parse"):
        pytest.fail(f"openai {openai.__version__} has no responses.parse")
    # No rule gives JSON: an instance made from the schema, its free strings the reply's words.
    made = client.responses.parse(model="gpt-4o", input="Weather in Oslo?", text_format=Forecast)
    parsed = made.output_parsed
    assert parsed is not None and parsed.city == 'You said: "Weather in Oslo?"'
    assert (parsed.degrees, parsed.kind, parsed.tags) == (0, "sunny", ['You said: "Weather in Oslo?"'])
    assert parsed.wind is not None and parsed.wind.speed == 0.0
    assert made.text.format is not None and made.text.format.type == "json_schema"

    add_reply(
        server,
        match="forecast for Bergen",
        reply='{"city": "Bergen", "degrees": 7, "kind": "rainy", "tags": [], "wind": null}',
    )
    bergen = client.responses.parse(model="gpt-4o", input="The forecast for Bergen?", text_format=Forecast)
    assert bergen.output_parsed == Forecast(city="Bergen", degrees=7, kind="rainy", tags=[], wind=None)

    add_reply(
        server,
        match="forecast for Tromso",
        reply='{"city": "Tromso", "degrees": "cold", "kind": "sunny", "tags": [], "wind": null}',
    )
    broken = client.responses.parse(model="gpt-4o", input="The forecast for Tromso?", text_format=Forecast)
    assert broken.status == "failed" and broken.output == [] and broken.error is not None
    assert broken.error.code == "server_error"
    assert broken.error.message.startswith("The reply rule's JSON does not match the schema 'Forecast': ")
    assert "'cold' is not of type 'integer' (at /degrees)" in broken.error.message

    as_object = client.responses.create(model="gpt-4o", input="Any object.", text={"format": {"type": "json_object"}})
    assert json.loads(as_object.output_text) == {"text": 'You said: "Any object."'}


def test_one_function_shapes_a_run_s_response_format_too(server: BackgroundServer[MockApp], client: OpenAI) -> None:
    add_reply(server, match="city of Paris", reply='{"city": "Paris", "degrees": 21}')
    add_reply(server, match="city of Rome", reply='{"city": "Rome", "degrees": 99}')
    response_format: Any = {"type": "json_schema", "json_schema": {"name": "forecast", "schema": FORECAST_SCHEMA}}
    assistant = client.beta.assistants.create(model="gpt-4o")
    answers = []
    for question in ("The city of Paris?", "Any city?", "The city of Rome?"):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, response_format=response_format, poll_interval_ms=5
        )
        if run.status == "completed":
            answers.append(json.loads(client.beta.threads.messages.list(thread.id).data[0].content[0].text.value))  # type: ignore[union-attr]
        else:
            answers.append(run.last_error.message if run.last_error else run.status)
    assert answers[0] == {"city": "Paris", "degrees": 21}
    assert answers[1] == {"city": 'You said: "Any city?"', "degrees": 0}
    assert answers[2] == (
        "The reply rule's JSON does not match the schema 'forecast': 99 is greater than the maximum of 60 (at /degrees)"
    )
    # The response under the same schema gets the same answer from the same rule.
    text: Any = {"format": {"type": "json_schema", "name": "forecast", "schema": FORECAST_SCHEMA, "strict": True}}
    response = client.responses.create(model="gpt-4o", input="The city of Paris?", text=text)
    assert json.loads(response.output_text) == answers[0]
