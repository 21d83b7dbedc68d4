"""`threads_mock.reply(...)`, used the way users use it: a sample suite run by pytest's own `pytester`."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SAMPLE = """
import pytest


def ask(threads_mock, text):
    client = threads_mock.openai_client(max_retries=0)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    return client, thread, run


def test_a_scripted_reply(threads_mock):
    added = threads_mock.reply("hello", reply="Hi there!")
    assert added["match"] == "hello" and added["reply"] == "Hi there!"
    client, thread, run = ask(threads_mock, "hello, assistant")
    assert run.status == "completed"
    assert client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "Hi there!"


def test_the_rule_of_the_previous_test_is_gone(threads_mock):
    assert threads_mock.replies() == []
    client, thread, run = ask(threads_mock, "hello, assistant")
    assert client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == 'You said: "hello, assistant"'


def test_a_tool_call(threads_mock):
    call = {"function": "get_weather", "arguments": {"city": "Paris"}}
    threads_mock.reply("weather", tool_calls=[call], then="Sunny.")
    client, thread, run = ask(threads_mock, "weather in Paris?")
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "22C"}]
    )
    assert client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "Sunny."


def test_a_failure_used_once(threads_mock):
    threads_mock.reply(fail={"code": "server_error", "message": "Sorry, something went wrong."}, times=1)
    _, _, run = ask(threads_mock, "anything")
    assert (run.status, run.last_error.message) == ("failed", "Sorry, something went wrong.")
    _, _, run = ask(threads_mock, "anything")
    assert run.status == "completed"


def test_a_bad_rule_is_refused(threads_mock):
    from mock_server.testing import MockHTTPError

    with pytest.raises(MockHTTPError) as caught:
        threads_mock.reply("(")
    assert caught.value.status == 400
"""


def test_reply_rules_last_for_their_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_replies=SAMPLE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=5)
