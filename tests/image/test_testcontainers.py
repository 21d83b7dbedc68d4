"""mock_server.testcontainers against the image, through podman's Docker-compatible API (DOCKER_HOST, set by
scripts/image-check, with Ryuk off: nothing can be pulled here)."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI
from openai.types.beta.threads import TextContentBlock

from mock_server.testcontainers import MockAdminError, ThreadsMockContainer

from .conftest import SDK_DEPRECATIONS

pytestmark = SDK_DEPRECATIONS


def last_reply(client: OpenAI, thread_id: str) -> str:
    block = client.beta.threads.messages.list(thread_id, order="desc").data[0].content[0]
    assert isinstance(block, TextContentBlock)
    return block.text.value


def hello_run(client: OpenAI) -> tuple[str, str]:
    """A thread whose run meets the reply rule; its id and the reply."""
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello there"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    return thread.id, last_reply(client, thread.id)


def test_the_container_class_configures_and_resets_the_mock(image: str) -> None:
    container = (
        ThreadsMockContainer(image=image)
        .with_seed(7)
        .with_mode("lenient")
        .with_fault("POST /v1/assistants: status=429; retry_after=1; times=1")
        .with_reply("hello", "Hi there!")
        .with_reply("weather", tool_calls=[{"function": "get_weather", "arguments": {"city": "Paris"}}], then="Sunny.")
    )
    with container as mock:
        assert mock.get_base_url().endswith(f":{mock.get_exposed_port(4010)}/v1")
        # Ready as start() returns: the first request, not retried, meets the fault.
        client = mock.get_client(max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.beta.assistants.create(model="gpt-4o")
        first_thread, reply = hello_run(client)
        assert reply == "Hi there!"
        assert client.beta.threads.retrieve("thread_made_up").id == "thread_made_up"  # lenient
        refused = mock.requests(status=429)
        assert [(entry["method"], entry["path"]) for entry in refused] == [("POST", "/v1/assistants")]

        # After a reset: the seed starts again, the reply rules and the fault are still there.
        mock.reset()
        assert mock.requests() == []
        with pytest.raises(openai.RateLimitError):
            client.beta.assistants.create(model="gpt-4o")
        assert hello_run(client) == (first_thread, "Hi there!")
        assert [rule.get("match") for rule in mock.admin("GET", "/__mock__/replies")["data"]] == ["hello", "weather"]

        # The admin API wants the container's token: a wrong one is refused.
        mock.admin_token = "not-the-token"
        with pytest.raises(MockAdminError) as denied:
            mock.admin("GET", "/__mock__/faults")
        assert denied.value.status == 401


def test_a_reply_rule_added_while_running_and_strict_mode(image: str) -> None:
    with ThreadsMockContainer(image=image, api_key="sk-team") as mock:
        client = mock.get_client(max_retries=0)
        with pytest.raises(openai.NotFoundError):  # strict, the default: no placeholder ids
            client.beta.threads.retrieve("thread_made_up")
        mock.with_reply("hello", "Added later.")
        assert hello_run(client)[1] == "Added later."
        assert {entry["headers"]["authorization"] for entry in mock.requests()} == {"Bearer sk-team"}
