"""The official openai SDK against a real mock server: run once per SDK major version (1.x and 3.x)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import openai
import pytest
from openai import OpenAI

from mock_server.server import BackgroundServer

pytestmark = [pytest.mark.sdk, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_sdk_version_is_the_one_under_test() -> None:
    assert int(openai.__version__.split(".")[0]) in (1, 2, 3)


def test_create_empty_and_retrieve(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    assert thread.id.startswith("thread_") and thread.object == "thread"
    again = client.beta.threads.retrieve(thread.id)
    assert again.model_dump() == thread.model_dump()


def test_create_with_string_and_part_messages(client: OpenAI) -> None:
    document = client.files.create(file=("data.csv", b"a,b\n1,2\n"), purpose="assistants").id
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "What is AI?", "metadata": {"turn": "1"}},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And this picture?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/x.png", "detail": "low"}},
                    {"type": "image_file", "image_file": {"file_id": "file-img"}},
                ],
                "attachments": [{"file_id": document, "tools": [{"type": "code_interpreter"}]}],
            },
        ],
        metadata={"owner": "tests"},
    )
    assert thread.metadata == {"owner": "tests"}
    assert thread.tool_resources.code_interpreter.file_ids == [document]  # type: ignore[union-attr]
    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.content[0].text.value for m in messages] == ["What is AI?", "And this picture?"]  # type: ignore[union-attr]
    assert messages[0].metadata == {"turn": "1"}
    assert messages[1].content[1].type == "image_url"
    assert messages[1].content[2].image_file.file_id == "file-img"  # type: ignore[union-attr]
    assert messages[1].attachments[0].file_id == document  # type: ignore[index]


def test_tool_resources_both_forms(client: OpenAI) -> None:
    code_file, search_file = (client.files.create(file=(n, b"text"), purpose="assistants").id for n in "ab")
    store = (client.vector_stores if hasattr(client, "vector_stores") else client.beta.vector_stores).create()
    thread = client.beta.threads.create(
        tool_resources={"code_interpreter": {"file_ids": [code_file]}, "file_search": {"vector_store_ids": [store.id]}}
    )
    assert thread.tool_resources.code_interpreter.file_ids == [code_file]  # type: ignore[union-attr]
    assert thread.tool_resources.file_search.vector_store_ids == [store.id]  # type: ignore[union-attr]
    helper = client.beta.threads.create(
        tool_resources={
            "file_search": {
                "vector_stores": [
                    {
                        "file_ids": [search_file],
                        "chunking_strategy": {
                            "type": "static",
                            "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100},
                        },
                    }
                ]
            }
        }
    )
    (made,) = helper.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert made.startswith("vs_") and made != store.id


def test_update_and_delete(client: OpenAI) -> None:
    thread = client.beta.threads.create(metadata={"a": "1"})
    updated = client.beta.threads.update(thread.id, metadata={"b": "2"})
    assert updated.metadata == {"a": "1", "b": "2"}
    deleted = client.beta.threads.delete(thread.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (thread.id, True, "thread.deleted")
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)


def test_messages_crud(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="hello")
    assert message.thread_id == thread.id and message.role == "user"
    got = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert got.model_dump() == message.model_dump()
    updated = client.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"seen": "yes"})
    assert updated.metadata == {"seen": "yes"}
    deleted = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert deleted.deleted is True and deleted.object == "thread.message.deleted"
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)


def test_auto_pagination_over_more_than_100_messages(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    sent = [client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id for i in range(130)]
    seen = [m.id for m in client.beta.threads.messages.list(thread.id, limit=100, order="asc")]
    assert seen == sent
    newest_first = [m.id for m in client.beta.threads.messages.list(thread.id, limit=7)]
    assert newest_first == sent[::-1]


ErrorCase = tuple[type[openai.APIStatusError], Callable[[OpenAI], object], str, str | None, str | None]


def test_errors_map_to_sdk_exceptions(client: OpenAI) -> None:
    cases: list[ErrorCase] = [
        (
            openai.NotFoundError,
            lambda c: c.beta.threads.retrieve("thread_abcdefghijklmnopqrstuvwx"),
            "No thread found with id 'thread_abcdefghijklmnopqrstuvwx'.",
            None,
            None,
        ),
        (
            openai.BadRequestError,
            lambda c: c.beta.threads.retrieve("undefined"),
            "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'.",
            "thread_id",
            "invalid_value",
        ),
        (
            openai.BadRequestError,
            lambda c: c.beta.threads.create(metadata={"k": "v" * 600}),
            "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, but got a string with "
            "length 600 instead.",
            "metadata.k",
            "string_above_max_length",
        ),
        (
            openai.BadRequestError,
            lambda c: c.beta.threads.create(messages=[{"role": "bot", "content": "x"}]),  # type: ignore[list-item]
            "Invalid value: 'bot'. Supported values are: 'user' and 'assistant'.",
            "messages[0].role",
            "invalid_value",
        ),
        (
            openai.BadRequestError,
            lambda c: c.beta.threads.create(extra_body={"role": "user"}),
            "Unknown parameter: 'role'.",
            "role",
            "unknown_parameter",
        ),
        (
            openai.BadRequestError,
            lambda c: c.beta.threads.create(extra_headers={"OpenAI-Beta": "assistants=v1"}),
            "The v1 Assistants API has been deprecated. See the migration guide for more information: "
            "https://platform.openai.com/docs/assistants/migration.",
            None,
            "invalid_beta",
        ),
    ]
    for exception, call, message, param, code in cases:
        with pytest.raises(exception) as caught:
            call(client)
        error = caught.value
        assert message in error.message  # 1.x prefixes "Error code: 404 - {body}"
        assert error.body == {"message": message, "type": "invalid_request_error", "param": param, "code": code}
        assert (error.type, error.param, error.code) == ("invalid_request_error", param, code)
        assert error.request_id is not None and error.request_id.startswith("req_")


def test_authentication_error(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=("sk-right-key-0000",))
    wrong = OpenAI(base_url=server.base_url, api_key="sk-wrong-key-1234", max_retries=0)
    with wrong, pytest.raises(openai.AuthenticationError) as caught:
        wrong.beta.threads.create()
    assert caught.value.code == "invalid_api_key"
    assert "Incorrect API key provided: sk-****1234." in caught.value.message


def test_base_url_from_environment(server: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with OpenAI() as sdk:
            assert sdk.beta.threads.create().object == "thread"
