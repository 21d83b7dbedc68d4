"""Properties of the running mock, over loopback, with requests drawn by `mock_server.strategies`.

Any valid request is accepted, answered with a body its response schema allows, and the object it made
or changed reads back the same; any invalid one gets a 400 whose `param` names where it is wrong, and
changes nothing. Example counts stay modest: hypothesis-jsonschema draws a few thread bodies a second.
A drawn body names files and vector stores by made-up ids, which the API refuses: each is replaced by one
that exists before the body is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import Settings, create_app, strategies
from mock_server.contract import Contract
from mock_server.server import BackgroundServer
from mock_server.strategies import InvalidRequest

from .helpers import HEADERS, uploaded

JSON = dict[str, Any]
# Fixed examples (derandomize), no example database: the same cases on every run and every machine.
# Generating thread bodies is slow by nature, which is not what too_slow guards against. The counts keep the
# whole of `make test` under four minutes on two cores; `make fuzz` goes deep.
PROPERTY = settings(
    max_examples=15, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
QUICK_PROPERTY = settings(PROPERTY, max_examples=25)
SLOW_PROPERTY = settings(PROPERTY, max_examples=10)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with (
        BackgroundServer(create_app(Settings(seed=4))) as server,
        httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def known(client: httpx.Client) -> tuple[str, str]:
    """A file and a vector store that exist, for the bodies to name."""
    store = client.post("/vector_stores", json={})
    assert store.status_code == 200, store.text
    return uploaded(client), store.json()["id"]


def naming_what_exists(body: JSON, known: tuple[str, str]) -> JSON:
    """The body with every file and vector store it names replaced by the known ones."""
    file_id, store_id = known
    body = copy.deepcopy(body)
    resources = body.get("tool_resources") or {}
    code = resources.get("code_interpreter") or {}
    if "file_ids" in code:
        code["file_ids"] = [file_id] * len(code["file_ids"])
    search = resources.get("file_search") or {}
    if "vector_store_ids" in search:
        search["vector_store_ids"] = [store_id] * len(search["vector_store_ids"])
    for helper in search.get("vector_stores") or []:
        if "file_ids" in helper:
            helper["file_ids"] = [file_id] * len(helper["file_ids"])
    for message in [body, *(body.get("messages") or [])]:
        for attachment in message.get("attachments") or []:
            attachment["file_id"] = file_id
    return body


def answered(response: httpx.Response, contract: Contract, operation_id: str, status: int = 200) -> JSON:
    """The body, once the status is the expected one and the body is what the contract declares for it."""
    assert response.status_code == status, response.text
    schema = contract.operations[operation_id].response_schema(status)
    assert schema is not None
    body: JSON = response.json()
    jsonschema.Draft202012Validator(schema).validate(body)
    return body


def stored_content(content: str | list[JSON]) -> list[JSON]:
    """What the API stored for a message's requested content: text parts with no annotations, images
    with their detail, `auto` when none was asked for."""
    if isinstance(content, str):
        return [{"type": "text", "text": {"value": content, "annotations": []}}]
    parts: list[JSON] = []
    for part in content:
        kind = part["type"]
        if kind == "text":
            parts.append({"type": "text", "text": {"value": part["text"], "annotations": []}})
        else:
            parts.append({"type": kind, kind: {"detail": "auto", **part[kind]}})
    return parts


def as_requested(message: JSON) -> JSON:
    return {key: message[key] for key in ("role", "content", "attachments", "metadata")}


def expected_message(request: JSON) -> JSON:
    return {
        "role": request["role"],
        "content": stored_content(request["content"]),
        "attachments": request.get("attachments") or [],
        "metadata": request.get("metadata") or {},
    }


def all_messages(client: httpx.Client, contract: Contract, thread_id: str) -> list[JSON]:
    messages: list[JSON] = []
    query: JSON = {"order": "asc", "limit": 100}
    while True:
        page = answered(client.get(f"/threads/{thread_id}/messages", params=query), contract, "listMessages")
        messages.extend(page["data"])
        if not page["has_more"]:
            return messages
        query["after"] = page["last_id"]


def check_tool_resources(requested: JSON | None, stored: JSON, attachments: list[JSON] | None = None) -> None:
    """The tool resources are those requested, with the attached files added where the real API put them:
    code_interpreter ones listed (once, 20 at most), file_search ones in the thread's vector store, a new
    one when the thread names none."""
    requested = requested or {}
    attached = {tool["type"] for attachment in attachments or [] for tool in attachment["tools"]}
    code = requested.get("code_interpreter")
    if code is not None or "code_interpreter" in attached:
        listed = list((code or {}).get("file_ids", []))
        for attachment in attachments or []:
            coded = any(tool["type"] == "code_interpreter" for tool in attachment["tools"])
            if coded and attachment["file_id"] not in listed and len(listed) < 20:
                listed.append(attachment["file_id"])
        assert stored["code_interpreter"] == {"file_ids": listed}
    search = requested.get("file_search")
    if search is not None or "file_search" in attached:
        ids = stored["file_search"]["vector_store_ids"]
        named, helpers = (search or {}).get("vector_store_ids", []), (search or {}).get("vector_stores", [])
        assert ids[: len(named)] == named
        made = ids[len(named) :]
        assert len(made) == len(helpers) or (not named and not helpers and len(made) == 1)
        assert all(store_id.startswith("vs_") and store_id not in named for store_id in made)
    wanted = {key for key, value in requested.items() if value is not None} | attached
    assert set(stored) == wanted


def new_thread(client: httpx.Client, contract: Contract, metadata: JSON | None = None) -> JSON:
    body = {"messages": [{"role": "user", "content": "Hello"}], "metadata": metadata or {"kept": "yes"}}
    return answered(client.post("/threads", json=body), contract, "createThread")


@SLOW_PROPERTY
@given(drawn=strategies.create_thread_requests())
def test_any_valid_thread_is_created_and_reads_back(
    client: httpx.Client, contract: Contract, known: tuple[str, str], drawn: JSON
) -> None:
    body = naming_what_exists(drawn, known)
    thread = answered(client.post("/threads", json=body), contract, "createThread")

    assert thread["metadata"] == (body.get("metadata") or {})
    attachments = [attachment for m in body.get("messages") or [] for attachment in m.get("attachments") or []]
    check_tool_resources(body.get("tool_resources"), thread["tool_resources"], attachments)
    assert answered(client.get(f"/threads/{thread['id']}"), contract, "getThread") == thread
    stored = all_messages(client, contract, thread["id"])
    assert [as_requested(m) for m in stored] == [expected_message(m) for m in body.get("messages") or []]
    assert all(m["thread_id"] == thread["id"] for m in stored)


@PROPERTY
@given(drawn=strategies.create_message_requests())
def test_any_valid_message_is_added_and_reads_back(
    client: httpx.Client, contract: Contract, known: tuple[str, str], drawn: JSON
) -> None:
    body = naming_what_exists(drawn, known)
    thread = new_thread(client, contract)
    path = f"/threads/{thread['id']}/messages"

    message = answered(client.post(path, json=body), contract, "createMessage")

    assert as_requested(message) == expected_message(body)
    assert message["thread_id"] == thread["id"]
    assert answered(client.get(f"{path}/{message['id']}"), contract, "getMessage") == message
    assert all_messages(client, contract, thread["id"])[-1] == message


@QUICK_PROPERTY
@given(drawn=strategies.modify_thread_requests())
def test_any_valid_thread_change_is_kept(
    client: httpx.Client, contract: Contract, known: tuple[str, str], drawn: JSON
) -> None:
    body = naming_what_exists(drawn, known)
    thread = new_thread(client, contract)

    changed = answered(client.post(f"/threads/{thread['id']}", json=body), contract, "modifyThread")

    assert changed["metadata"] == {**thread["metadata"], **(body.get("metadata") or {})}
    if body.get("tool_resources") is not None:
        check_tool_resources(body["tool_resources"], changed["tool_resources"])
    else:
        assert changed["tool_resources"] == thread["tool_resources"]
    assert (changed["id"], changed["created_at"]) == (thread["id"], thread["created_at"])
    assert answered(client.get(f"/threads/{thread['id']}"), contract, "getThread") == changed


@QUICK_PROPERTY
@given(body=strategies.modify_message_requests())
def test_any_valid_message_change_is_kept(client: httpx.Client, contract: Contract, body: JSON) -> None:
    thread = new_thread(client, contract)
    (message,) = all_messages(client, contract, thread["id"])
    path = f"/threads/{thread['id']}/messages/{message['id']}"

    changed = answered(client.post(path, json=body), contract, "modifyMessage")

    assert changed == {**message, "metadata": {**message["metadata"], **(body.get("metadata") or {})}}
    assert answered(client.get(path), contract, "getMessage") == changed


@QUICK_PROPERTY
@given(
    before=st.dictionaries(st.text(max_size=64), st.text(max_size=20), min_size=1, max_size=16),
    added=st.dictionaries(st.text(max_size=64), st.text(max_size=20), min_size=1, max_size=16),
)
def test_metadata_merges_up_to_16_pairs_and_no_further(
    client: httpx.Client, contract: Contract, before: JSON, added: JSON
) -> None:
    thread = new_thread(client, contract, metadata=before)
    merged = {**before, **added}

    response = client.post(f"/threads/{thread['id']}", json={"metadata": added})

    if len(merged) <= 16:
        assert answered(response, contract, "modifyThread")["metadata"] == merged
    else:
        error = answered(response, contract, "modifyThread", 400)["error"]
        assert (error["param"], error["code"]) == ("metadata", "object_above_max_properties")
        assert f"but got an object with {len(merged)} properties instead" in error["message"]
        assert answered(client.get(f"/threads/{thread['id']}"), contract, "getThread") == thread


def refused(response: httpx.Response, contract: Contract, operation_id: str, invalid: InvalidRequest) -> None:
    error = answered(response, contract, operation_id, 400)["error"]
    assert (error["param"], error["code"]) == (invalid.param, invalid.code), (invalid.mistake, error["message"])
    assert error["type"] == "invalid_request_error"


@SLOW_PROPERTY
@given(invalid=strategies.invalid_create_thread_requests())
def test_any_invalid_thread_is_refused_where_it_is_wrong(
    client: httpx.Client, contract: Contract, invalid: InvalidRequest
) -> None:
    refused(client.post("/threads", json=invalid.body), contract, "createThread", invalid)


@PROPERTY
@given(invalid=strategies.invalid_create_message_requests())
def test_any_invalid_message_is_refused_and_adds_nothing(
    client: httpx.Client, contract: Contract, invalid: InvalidRequest
) -> None:
    thread = new_thread(client, contract)
    before = all_messages(client, contract, thread["id"])

    refused(client.post(f"/threads/{thread['id']}/messages", json=invalid.body), contract, "createMessage", invalid)

    assert all_messages(client, contract, thread["id"]) == before


@QUICK_PROPERTY
@given(invalid=strategies.invalid_modify_thread_requests())
def test_any_invalid_thread_change_is_refused_and_changes_nothing(
    client: httpx.Client, contract: Contract, invalid: InvalidRequest
) -> None:
    thread = new_thread(client, contract)

    refused(client.post(f"/threads/{thread['id']}", json=invalid.body), contract, "modifyThread", invalid)

    assert answered(client.get(f"/threads/{thread['id']}"), contract, "getThread") == thread


@QUICK_PROPERTY
@given(invalid=strategies.invalid_modify_message_requests())
def test_any_invalid_message_change_is_refused_and_changes_nothing(
    client: httpx.Client, contract: Contract, invalid: InvalidRequest
) -> None:
    thread = new_thread(client, contract)
    (message,) = all_messages(client, contract, thread["id"])
    path = f"/threads/{thread['id']}/messages/{message['id']}"

    refused(client.post(path, json=invalid.body), contract, "modifyMessage", invalid)

    assert answered(client.get(path), contract, "getMessage") == message


# Small valid bodies to break, one kind of fault at a time.
BASES: dict[str, JSON] = {
    "createThread": {"messages": [{"role": "user", "content": "Hi"}], "metadata": {"user": "u1"}},
    "createMessage": {"role": "user", "content": "Hi", "metadata": {"topic": "t"}},
    "modifyThread": {"metadata": {"modified": "true"}},
    "modifyMessage": {"metadata": {"modified": "true"}},
}
EVERY_FAULT = [(op, name) for op in strategies.REQUEST_OPERATIONS for name in strategies.mistake_names(op)]


@pytest.mark.parametrize(("operation_id", "fault"), EVERY_FAULT)
@settings(PROPERTY, max_examples=3)
@given(data=st.data())
def test_each_kind_of_fault_is_refused_where_it_is(
    client: httpx.Client, contract: Contract, operation_id: str, fault: str, data: st.DataObject
) -> None:
    # The random-body properties above draw faults at random; this one makes sure each kind is sent.
    base = st.just(BASES[operation_id])
    invalid = data.draw(strategies.invalid_requests(operation_id, bodies=base, mistakes=[fault]))
    thread = new_thread(client, contract)
    (message,) = all_messages(client, contract, thread["id"])
    path = {
        "createThread": "/threads",
        "createMessage": f"/threads/{thread['id']}/messages",
        "modifyThread": f"/threads/{thread['id']}",
        "modifyMessage": f"/threads/{thread['id']}/messages/{message['id']}",
    }[operation_id]

    refused(client.post(path, json=invalid.body), contract, operation_id, invalid)

    assert all_messages(client, contract, thread["id"]) == [message]


def test_request_schemas_are_draft_7_and_self_contained(contract: Contract) -> None:
    for operation_id in strategies.REQUEST_OPERATIONS:
        schema = strategies.request_schema(operation_id, contract)
        assert schema["$schema"] == strategies.DRAFT_7
        jsonschema.Draft7Validator.check_schema(schema)
        text = repr(schema)
        assert "$ref" not in text and "'x-" not in text and "'examples'" not in text
    with pytest.raises(ValueError, match="no request body"):
        strategies.request_schema("getThread", contract)
    with pytest.raises(ValueError, match="unknown mistakes"):
        strategies.invalid_requests("modifyMessage", mistakes=["role: missing"])
    with pytest.raises(ValueError, match="prefixItems"):
        strategies.draft7({"type": "array", "prefixItems": [{"type": "string"}]})
    assert strategies.draft7({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
