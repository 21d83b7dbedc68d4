"""A framework built on the Responses API gets its answers from the mock unmodified: the openai-agents package's
`Runner.run` and `Runner.run_sync` with an `Agent` on `OpenAIResponsesModel`, a function tool called and answered,
a run continued in a conversation and one by `previous_response_id`. Tracing is off and the default client is
the mock's, so nothing leaves 127.0.0.1.

The package needs the 3.x SDK and takes seconds to import: `make test-agents` installs it (the `agents` extra) in
the main virtualenv and runs these; `make test` leaves them out (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agents import (
    Agent,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_default_openai_api,
    set_default_openai_client,
    set_tracing_disabled,
)

from mock_server.testing import ThreadsMock

WEATHER = {"match": "weather", "tool_calls": [{"function": "get_weather", "arguments": {"city": "Paris"}}]}


@pytest.fixture(autouse=True)
def mock_as_default(threads_mock: ThreadsMock) -> Iterator[None]:
    """The mock as the package's default client, for the Responses API, with tracing (which would export to
    api.openai.com) off."""
    set_tracing_disabled(True)
    set_default_openai_api("responses")
    set_default_openai_client(threads_mock.async_openai_client(max_retries=0), use_for_tracing=False)
    yield


def test_run_sync_calls_a_function_tool_and_answers_with_the_rule(threads_mock: ThreadsMock) -> None:
    threads_mock.reply(**WEATHER, then="It is sunny in Paris.")
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"Sunny in {city}."

    # The model named explicitly here; the other test's agent gets it from the defaults set above.
    model = OpenAIResponsesModel(model="gpt-4o", openai_client=threads_mock.async_openai_client(max_retries=0))
    agent = Agent(name="Forecaster", instructions="Answer about the weather.", model=model, tools=[get_weather])
    result = Runner.run_sync(agent, "What is the weather in Paris?")
    assert result.final_output == "It is sunny in Paris." and calls == ["Paris"]
    sent = [entry.json for entry in threads_mock.requests if entry.path == "/v1/responses"]
    # Two model calls: the question, then the tool's output sent back with the call it answers.
    assert len(sent) == 2 and sent[0]["tools"][0]["name"] == "get_weather"
    output = next(item for item in sent[1]["input"] if item.get("type") == "function_call_output")
    assert output["output"] == "Sunny in Paris."


@pytest.mark.anyio
async def test_run_continues_a_conversation_and_a_chain(threads_mock: ThreadsMock) -> None:
    threads_mock.reply("hello", reply="Hi there!")
    agent = Agent(name="Greeter", model="gpt-4o")
    conversation = threads_mock.conversations.create()
    first = await Runner.run(agent, "hello", conversation_id=conversation["id"])
    second = await Runner.run(agent, "and again", conversation_id=conversation["id"])
    assert (first.final_output, second.final_output) == ("Hi there!", 'You said: "and again"')
    texts = [item["content"][0]["text"] for item in threads_mock.conversations.items(conversation["id"])]
    assert texts == ["hello", "Hi there!", "and again", 'You said: "and again"']

    chained = await Runner.run(agent, "one more", previous_response_id=second.last_response_id)
    assert chained.final_output == 'You said: "one more"'
    assert chained.last_response_id is not None
    assert threads_mock.responses[chained.last_response_id]["previous_response_id"] == second.last_response_id
