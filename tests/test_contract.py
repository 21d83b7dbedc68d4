"""The contract is valid OpenAPI 3.1, its examples pass its own schemas, and it says what the API did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from mock_server.contract import Contract, resolve_refs
from mock_server.contract.document import parse_yaml

ERRORS_FOR_ALL = {"400", "401", "405", "429", "500", "503"}
OPERATIONS = {
    "createThread",
    "getThread",
    "modifyThread",
    "deleteThread",
    "listMessages",
    "createMessage",
    "getMessage",
    "modifyMessage",
    "deleteMessage",
    "listAssistants",
    "createAssistant",
    "getAssistant",
    "modifyAssistant",
    "deleteAssistant",
    "createThreadAndRun",
    "listRuns",
    "createRun",
    "getRun",
    "modifyRun",
    "cancelRun",
    "submitToolOuputsToRun",
    "listRunSteps",
    "getRunStep",
}
FILES_AND_VECTOR_STORES = {
    "listFiles",
    "createFile",
    "retrieveFile",
    "deleteFile",
    "downloadFile",
    "listVectorStores",
    "createVectorStore",
    "getVectorStore",
    "modifyVectorStore",
    "deleteVectorStore",
    "listVectorStoreFiles",
    "createVectorStoreFile",
    "getVectorStoreFile",
    "updateVectorStoreFileAttributes",
    "deleteVectorStoreFile",
    "retrieveVectorStoreFileContent",
    "createVectorStoreFileBatch",
    "getVectorStoreFileBatch",
    "cancelVectorStoreFileBatch",
    "listFilesInVectorStoreBatch",
    "searchVectorStore",
}
CONVERSATIONS_AND_RESPONSES = {
    "createConversation",
    "getConversation",
    "updateConversation",
    "deleteConversation",
    "listConversationItems",
    "createConversationItems",
    "getConversationItem",
    "deleteConversationItem",
    "createResponse",
    "getResponse",
    "deleteResponse",
    "cancelResponse",
    "listInputItems",
}
# The operations whose body can ask for `"stream": true`, answered as text/event-stream.
STREAMING = {"createRun", "createThreadAndRun", "submitToolOuputsToRun", "createResponse", "getResponse"}


def test_contract_is_valid_openapi_31(contract: Contract) -> None:
    assert contract.document["openapi"].startswith("3.1")
    validate(yaml.safe_load(contract.text))


def test_contract_has_every_threads_operation(contract: Contract) -> None:
    assert set(contract.operations) == OPERATIONS | FILES_AND_VECTOR_STORES | CONVERSATIONS_AND_RESPONSES


def iter_examples(contract: Contract) -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for op_id, op in contract.operations.items():
        spec = contract.document["paths"][op.path][op.method.lower()]
        spec = resolve_refs(spec, contract.document)
        media = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, example in media.get("examples", {}).items():
            found.append((f"{op_id} request {name}", media["schema"], example["value"]))
        for status, response in spec["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                found.append((f"{op_id} {status} {name}", media["schema"], example["value"]))
    return found


def test_every_example_validates_against_its_schema(contract: Contract) -> None:
    examples = iter_examples(contract)
    assert len(examples) >= 20
    for label, schema, value in examples:
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(value))
        assert not errors, f"{label}: {errors[0].message}"


def test_examples_reach_every_oneof_branch(contract: Contract) -> None:
    requests = [value for label, _, value in iter_examples(contract) if " request " in label]
    text = str(requests)
    for needle in (
        "'image_file'",
        "'image_url'",
        "'type': 'text'",
        "'auto'",
        "'static'",
        "vector_store_ids",
        "vector_stores",
        "code_interpreter",
        "file_search",
    ):
        assert needle in text, needle
    assert any(isinstance(m.get("content"), str) for r in requests for m in r.get("messages", []))
    assert any(isinstance(m.get("content"), list) for r in requests for m in r.get("messages", []))


@pytest.mark.parametrize("op_id", sorted(OPERATIONS | FILES_AND_VECTOR_STORES | CONVERSATIONS_AND_RESPONSES))
def test_every_operation_declares_its_errors(contract: Contract, op_id: str) -> None:
    op = contract.operations[op_id]
    declared = set(op.responses)
    assert declared >= ERRORS_FOR_ALL
    if "{" in op.path:
        assert "404" in declared
    if op.body_schema is not None:
        assert {"413", "415"} <= declared
    for status in declared - {"200"}:
        schema = op.response_schema(int(status))
        assert schema is not None and schema["required"] == ["error"]
        assert set(schema["properties"]["error"]["required"]) == {"message", "type", "param", "code"}
        assert "x-request-id" in op.responses[status]["headers"]
    assert "x-request-id" in op.responses["200"]["headers"]


def test_beta_header_and_bearer_auth_are_declared(contract: Contract) -> None:
    scheme = contract.document["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert contract.document["security"] == [{"ApiKeyAuth": []}]
    for op_id, op in contract.operations.items():
        beta = [p for p in op.parameters if p.name == "OpenAI-Beta"]
        if op_id in FILES_AND_VECTOR_STORES | CONVERSATIONS_AND_RESPONSES:
            # /files never took it; vector stores answered with and without it (the .NET client sends none);
            # the SDKs send none for /conversations and /responses.
            assert not beta, op_id
        else:
            assert beta and beta[0].required and beta[0].location == "header"


def test_metadata_limits_are_schema_keywords(contract: Contract) -> None:
    metadata = contract.schema("Metadata")
    assert metadata["maxProperties"] == 16
    assert metadata["propertyNames"]["maxLength"] == 64
    assert metadata["additionalProperties"] == {"type": "string", "maxLength": 512}
    assert metadata["type"] == ["object", "null"]


def test_no_openapi_30_nullable_left(contract: Contract) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert "nullable" not in node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(contract.document)


def test_links_from_creates(contract: Contract) -> None:
    thread_links = contract.operations["createThread"].responses["200"]["links"]
    assert {link["operationId"] for link in thread_links.values()} >= {
        "getThread",
        "modifyThread",
        "deleteThread",
        "listMessages",
        "createMessage",
    }
    message_links = contract.operations["createMessage"].responses["200"]["links"]
    assert {link["operationId"] for link in message_links.values()} == {"getMessage", "modifyMessage", "deleteMessage"}
    for link in message_links.values():
        assert link["parameters"] == {"thread_id": "$response.body#/thread_id", "message_id": "$response.body#/id"}


def test_streaming_operations_declare_the_event_stream_and_the_others_do_not(contract: Contract) -> None:
    for op_id, op in contract.operations.items():
        content = op.responses["200"]["content"]
        assert ("text/event-stream" in content) == (op_id in STREAMING), op_id
        if op_id in STREAMING:
            if op.method == "GET":
                # A background response streamed again: `stream` is a query parameter there.
                assert {p.name: p.schema for p in op.params_in("query")}["stream"] == {"type": "boolean"}
            else:
                assert op.body_schema is not None
                assert op.body_schema["properties"]["stream"]["type"] == ["boolean", "null"]
            # Each event is described as a client reads it: its name, and its data as JSON text whose
            # object `contentSchema` gives (what Schemathesis checks every event of an answer against).
            event = content["text/event-stream"]["schema"]
            names = set()
            for branch in event["oneOf"]:
                declared = branch["properties"]["event"]
                names |= set(declared.get("enum", [declared.get("const")]))
                data = branch["properties"]["data"]
                assert data["type"] == "string"
                assert data.get("contentMediaType") == "application/json" or data["const"] == "[DONE]"
            if op_id in ("createResponse", "getResponse"):
                # The Responses API's events, named by their `type`; no `[DONE]`.
                assert {"response.created", "response.output_text.delta", "response.completed"} <= names
                assert "done" not in names
                continue
            assert {
                "thread.created",
                "thread.run.created",
                "thread.message.delta",
                "thread.run.step.delta",
                "done",
            } <= names


def test_run_objects_carry_what_the_real_api_sent(contract: Contract) -> None:
    run = contract.schema("RunObject")
    assert run["properties"]["instructions"] == {"type": "string"}
    assert {"tool_resources", "instructions", "usage", "required_action"} <= set(run["required"])
    step = contract.schema("RunStepObject")
    assert "expires_at" in step["properties"] and "expired_at" not in step["required"]
    for op_id in ("createRun", "getRun", "cancelRun", "submitToolOuputsToRun", "createThreadAndRun"):
        assert "openai-poll-after-ms" in contract.operations[op_id].responses["200"]["headers"], op_id


def test_links_from_runs_and_assistants(contract: Contract) -> None:
    for op_id in ("createRun", "createThreadAndRun"):
        links = contract.operations[op_id].responses["200"]["links"]
        assert {link["operationId"] for link in links.values()} >= {"getRun", "cancelRun", "listRunSteps"}
    links = contract.operations["createAssistant"].responses["200"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "getAssistant",
        "modifyAssistant",
        "deleteAssistant",
        "createThreadAndRun",
    }
    # A run needs a real assistant: the link hands the new one's id to the run's body.
    assert links["CreateThreadAndRun"]["requestBody"] == {"assistant_id": "$response.body#/id"}


def test_not_found_examples_name_the_new_objects(contract: Contract) -> None:
    examples = contract.document["components"]["responses"]["NotFound"]["content"]["application/json"]["examples"]
    messages = [example["value"]["error"]["message"] for example in examples.values()]
    assert any(m.startswith("No assistant found with id 'asst_") for m in messages)
    assert any(m.startswith("No run found with id 'run_") for m in messages)


def test_a_parsed_document_is_read_back_from_the_cache_only_for_the_same_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = "paths:\n  /threads: {post: {operationId: createThread}}\nnumbers: [1, 2.5, null, true]\n"
    first = parse_yaml(text)
    (copy,) = (tmp_path / "threads-mock").iterdir()
    assert first == yaml.safe_load(text) and parse_yaml(text) == first
    # What is read back is the copy: a copy changed by hand shows, which proves the YAML was not parsed again.
    copy.write_bytes(b'{"from": "the cache"}')
    assert parse_yaml(text) == {"from": "the cache"}
    # A broken copy is parsed past and made again; another text has a copy of its own.
    copy.write_bytes(b"{not json")
    assert parse_yaml(text) == first and parse_yaml(text + "more: 1\n")["more"] == 1
    assert len(list((tmp_path / "threads-mock").iterdir())) == 2
    # A document JSON would change (a key that is no string) is never copied.
    assert parse_yaml("200: ok\n") == {200: "ok"} and parse_yaml("200: ok\n") == {200: "ok"}
    assert len(list((tmp_path / "threads-mock").iterdir())) == 2


def test_a_cache_that_cannot_be_written_is_passed_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert parse_yaml("a: [1]\n") == {"a": [1]}
    assert Contract().operations["createThread"].path == "/threads"
