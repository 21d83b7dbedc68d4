"""Hypothesis strategies for Threads API request bodies, generated from the contract.

Property tests of code that builds thread, vector store or upload requests can draw from them::

    from hypothesis import given
    from mock_server import strategies

    @given(strategies.create_thread_requests())
    def test_my_client_sends_what_the_api_accepts(body):
        ...  # pass `body` through your code, send it to the mock, expect a 200

    @given(strategies.invalid_create_message_requests())
    def test_my_client_reports_bad_input(invalid):
        ...  # send `invalid.body`, expect a 400 whose error `param` is `invalid.param`

The valid strategies draw bodies the real API accepted: built with hypothesis-jsonschema from the
contract's request schemas (`createThread`, `createMessage`, `modifyThread`, `modifyMessage`) and held
to the constraints the schema language cannot say (a static chunking overlap is at most half the chunk size).
The ids they hold are made up: a body naming a file or a vector store that does not exist is refused (400),
so a test sends it after putting ids that exist in their place (see `tests/test_properties.py`).
The invalid ones draw an `InvalidRequest`: a valid body with exactly one thing wrong, the `param` the
API's 400 names for it (`messages[0].role`, `metadata.user`, ...) and the error `code`.

hypothesis-jsonschema 0.23.1 breaks on every object schema from Hypothesis 6.170.10 on, which is why the
`fuzz` extra pins `hypothesis<=6.170.9`. It knows JSON Schema drafts 4, 6 and 7 and local references
only, so `request_schema` hands it each request schema self-contained (every `$ref` inlined) and in
draft 7: OpenAPI annotations and `x-` extensions dropped, OpenAPI 3.0 `nullable` written as a type.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from .contract import Contract
from .fuzzing.constraints import within_constraints

JSON = dict[str, Any]
DRAFT_7 = "http://json-schema.org/draft-07/schema#"
REQUEST_OPERATIONS = ("createThread", "createMessage", "modifyThread", "modifyMessage")
# Valid bodies only (no invalid_requests yet): the vector store operations' JSON bodies; uploads are `upload_forms`.
VECTOR_STORE_OPERATIONS = (
    "createVectorStore",
    "modifyVectorStore",
    "createVectorStoreFile",
    "updateVectorStoreFileAttributes",
    "createVectorStoreFileBatch",
    "searchVectorStore",
)
# Keywords that only annotate; hypothesis-jsonschema has no use for them and may not know them.
ANNOTATIONS = frozenset(
    {"title", "description", "examples", "example", "deprecated", "readOnly", "writeOnly", "discriminator", "xml"}
)
# Keywords of JSON Schema 2019-09 and later that draft 7 lacks: a schema using one cannot be handed over.
NEWER_KEYWORDS = frozenset(
    {
        "$defs",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "prefixItems",
        "unevaluatedItems",
        "unevaluatedProperties",
        "dependentRequired",
        "dependentSchemas",
        "contentSchema",
        "minContains",
        "maxContains",
    }
)
SUBSCHEMA = frozenset(
    {"items", "additionalItems", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else"}
)
SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
METADATA_LIMITS = (16, 64, 512)  # pairs, key length, value length


@dataclass(frozen=True)
class InvalidRequest:
    """A request body with exactly one thing wrong, and how the API's 400 names it."""

    body: JSON
    # Where the body is invalid, written as the error's `param`: "role", "metadata.user",
    # "messages[0].content[1].type", "tool_resources.code_interpreter.file_ids".
    param: str
    # The error's `code`: unknown_parameter, missing_required_parameter, invalid_type, invalid_value, ...
    code: str
    # What is wrong, for a person reading a falsifying example.
    mistake: str


def request_schema(operation_id: str, contract: Contract | None = None) -> JSON:
    """The request body schema of an operation, self-contained and in JSON Schema draft 7."""
    contract = contract or _default_contract()
    operation = contract.operations.get(operation_id)
    if operation is None or operation.body_schema is None:
        known = REQUEST_OPERATIONS + VECTOR_STORE_OPERATIONS
        raise ValueError(f"{operation_id!r} has no request body in the contract; try one of {known}")
    return {"$schema": DRAFT_7, **draft7(operation.body_schema)}


def draft7(schema: Any) -> Any:
    """A resolved OpenAPI 3.1 schema written for a draft 7 validator; refuses what draft 7 cannot say."""
    if not isinstance(schema, dict):
        return schema
    written: JSON = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in ANNOTATIONS:
            continue
        if key in NEWER_KEYWORDS or key == "$ref":
            raise ValueError(f"the schema uses {key!r}, which hypothesis-jsonschema (JSON Schema draft 7) cannot read")
        if key in SUBSCHEMA:
            written[key] = [draft7(s) for s in value] if isinstance(value, list) else draft7(value)
        elif key in SUBSCHEMA_LISTS:
            written[key] = [draft7(s) for s in value]
        elif key in SUBSCHEMA_MAPS:
            written[key] = {name: draft7(s) for name, s in value.items()}
        elif key == "nullable":
            continue
        else:
            written[key] = value
    if schema.get("nullable") is True and "type" in written:
        types = [written["type"]] if isinstance(written["type"], str) else list(written["type"])
        written["type"] = [*types, "null"] if "null" not in types else types
    return written


# ---- valid requests ----


def requests(operation_id: str, contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Valid request bodies of any of `REQUEST_OPERATIONS` and `VECTOR_STORE_OPERATIONS`."""
    return _valid(operation_id, _contract_path(contract))


def create_thread_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /threads` that the API accepts (the files and vector stores they name may not exist:
    replace those ids by ones that do before sending)."""
    return requests("createThread", contract)


def create_message_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /threads/{thread_id}/messages` that the API accepts (their attachments name files that
    may not exist)."""
    return requests("createMessage", contract)


def modify_thread_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /threads/{thread_id}` that the API accepts (the files and vector stores they name may
    not exist)."""
    return requests("modifyThread", contract)


def modify_message_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /threads/{thread_id}/messages/{message_id}` that the API accepts."""
    return requests("modifyMessage", contract)


def create_vector_store_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /vector_stores` that the API accepts (their `file_ids` name files that may not exist)."""
    return requests("createVectorStore", contract)


def modify_vector_store_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /vector_stores/{vector_store_id}` that the API accepts."""
    return requests("modifyVectorStore", contract)


def create_vector_store_file_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /vector_stores/{vector_store_id}/files` that the API accepts."""
    return requests("createVectorStoreFile", contract)


def update_vector_store_file_attributes_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /vector_stores/{vector_store_id}/files/{file_id}` that the API accepts."""
    return requests("updateVectorStoreFileAttributes", contract)


def create_vector_store_file_batch_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /vector_stores/{vector_store_id}/file_batches` that the API accepts."""
    return requests("createVectorStoreFileBatch", contract)


def search_vector_store_requests(contract: Contract | None = None) -> st.SearchStrategy[JSON]:
    """Bodies of `POST /vector_stores/{vector_store_id}/search` that the API accepts."""
    return requests("searchVectorStore", contract)


@dataclass(frozen=True)
class UploadForm:
    """An upload `POST /files` accepts: its text fields as a client sends them (`expires_after[seconds]` and
    the like), and the file."""

    fields: dict[str, str]
    filename: str
    content: bytes


def upload_forms(contract: Contract | None = None) -> st.SearchStrategy[UploadForm]:
    """Uploads the API accepts, from the contract's form: a purpose it lists, a file of at least one byte,
    and now and then an expiry within its bounds."""
    return _uploads(_contract_path(contract))


def bracketed_fields(after: Any) -> dict[str, str]:
    """An object as the SDK sends it in a form: `expires_after[anchor]`, `expires_after[seconds]`."""
    return {f"expires_after[{key}]": str(value) for key, value in dict(after).items()}


@functools.cache
def _uploads(contract_path: Path | None) -> st.SearchStrategy[UploadForm]:
    contract = Contract(contract_path) if contract_path is not None else _default_contract()
    properties = request_schema("createFile", contract)["properties"]
    expiry = from_schema({"$schema": DRAFT_7, **properties["expires_after"]})
    bracketed = expiry.map(bracketed_fields)
    fields = st.builds(
        lambda purpose, extra: {"purpose": purpose, **extra},
        st.sampled_from(properties["purpose"]["enum"]),
        st.one_of(st.just({}), bracketed),
    )
    # Printable names: the HTML form rules every client follows escape control characters and quotes.
    printable = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters='"\\/')
    filenames = st.text(printable, min_size=1, max_size=40)
    content = st.binary(min_size=max(1, properties["file"].get("minLength", 1)), max_size=2048)
    return st.builds(UploadForm, fields, filenames, content)


@functools.cache
def _valid(operation_id: str, contract_path: Path | None) -> st.SearchStrategy[JSON]:
    contract = Contract(contract_path) if contract_path is not None else _default_contract()
    # Bodies are objects by their schema; the map keeps them to the prose constraints.
    return from_schema(request_schema(operation_id, contract)).map(within_constraints)


@functools.lru_cache(maxsize=1)
def _default_contract() -> Contract:
    return Contract()


def _contract_path(contract: Contract | None) -> Path | None:
    return None if contract is None else contract.path


# ---- invalid requests ----


@dataclass(frozen=True)
class Broken:
    """What a mistake did to the object it was given: where, the error code, and a description."""

    param: str
    code: str
    mistake: str


# A mistake draws with Hypothesis's `draw`, breaks the object (a body, or one message of a thread's body)
# in place, given that object's draft 7 schema and the `param` path that leads to it ("" at the top).
Mistake = Callable[[st.DrawFn, JSON, JSON, str], Broken]


def invalid_requests(
    operation_id: str,
    contract: Contract | None = None,
    *,
    bodies: st.SearchStrategy[JSON] | None = None,
    mistakes: Iterable[str] | None = None,
) -> st.SearchStrategy[InvalidRequest]:
    """Request bodies of `operation_id` with exactly one mistake, each with the `param` the API names.

    `bodies` are the valid bodies to break (default: `requests(operation_id)`); `mistakes` limits the kinds
    of mistake to these names (see `mistake_names`)."""
    if operation_id not in MISTAKES:
        raise ValueError(f"no invalid requests for {operation_id!r}; try one of {REQUEST_OPERATIONS}")
    chosen = MISTAKES[operation_id]
    if mistakes is not None:
        wanted = set(mistakes)
        unknown = wanted - set(chosen)
        if unknown:
            raise ValueError(f"unknown mistakes {sorted(unknown)} for {operation_id}; known: {sorted(chosen)}")
        chosen = {name: mistake for name, mistake in chosen.items() if name in wanted}
    valid = bodies if bodies is not None else requests(operation_id, contract)
    return _invalid(valid, tuple(chosen.values()), request_schema(operation_id, contract))


def mistake_names(operation_id: str) -> tuple[str, ...]:
    """The names of the kinds of mistake `invalid_requests(operation_id)` draws from."""
    return tuple(MISTAKES[operation_id])


def invalid_create_thread_requests(contract: Contract | None = None) -> st.SearchStrategy[InvalidRequest]:
    return invalid_requests("createThread", contract)


def invalid_create_message_requests(contract: Contract | None = None) -> st.SearchStrategy[InvalidRequest]:
    return invalid_requests("createMessage", contract)


def invalid_modify_thread_requests(contract: Contract | None = None) -> st.SearchStrategy[InvalidRequest]:
    return invalid_requests("modifyThread", contract)


def invalid_modify_message_requests(contract: Contract | None = None) -> st.SearchStrategy[InvalidRequest]:
    return invalid_requests("modifyMessage", contract)


@st.composite
def _invalid(
    draw: st.DrawFn, valid: st.SearchStrategy[JSON], mistakes: tuple[Mistake, ...], schema: JSON
) -> InvalidRequest:
    body = copy.deepcopy(draw(valid))
    broken = draw(st.sampled_from(mistakes))(draw, body, schema, "")
    return InvalidRequest(body, broken.param, broken.code, broken.mistake)


def at(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


metadata_keys = st.text(min_size=1, max_size=METADATA_LIMITS[1])
metadata_values = st.text(max_size=METADATA_LIMITS[2])
some_metadata = st.dictionaries(metadata_keys, metadata_values, max_size=3)
non_strings = st.one_of(
    st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.lists(st.integers(), max_size=3)
)
parameter_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,24}\Z")


def unknown_parameter(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    known = schema.get("properties", {})
    name = draw(parameter_names.filter(lambda n: n not in known))
    obj[name] = draw(metadata_values)
    return Broken(at(prefix, name), "unknown_parameter", f"unknown parameter {name!r}")


def too_many_pairs(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    pairs = METADATA_LIMITS[0]
    obj["metadata"] = draw(st.dictionaries(metadata_keys, metadata_values, min_size=pairs + 1, max_size=pairs + 8))
    return Broken(at(prefix, "metadata"), "object_above_max_properties", "metadata with more than 16 pairs")


def metadata_not_an_object(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["metadata"] = draw(st.one_of(st.lists(metadata_values, max_size=3), st.text(), st.integers()))
    return Broken(at(prefix, "metadata"), "invalid_type", "metadata that is not an object")


def key_too_long(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    length = METADATA_LIMITS[1]
    key = draw(st.text(min_size=length + 1, max_size=length + 40))
    obj["metadata"] = {**draw(some_metadata), key: draw(metadata_values)}
    return Broken(at(prefix, "metadata"), "metadata_key_too_long", "a metadata key over 64 characters")


def value_too_long(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    length = METADATA_LIMITS[2]
    others = draw(some_metadata)
    key = draw(metadata_keys.filter(lambda k: k not in others))
    obj["metadata"] = {**others, key: draw(st.text(min_size=length + 1, max_size=length + 100))}
    return Broken(f"{at(prefix, 'metadata')}.{key}", "string_above_max_length", "a metadata value over 512 characters")


def value_not_a_string(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    others = draw(some_metadata)
    key = draw(metadata_keys.filter(lambda k: k not in others))
    obj["metadata"] = {**others, key: draw(non_strings)}
    return Broken(f"{at(prefix, 'metadata')}.{key}", "invalid_type", "a metadata value that is not a string")


CONTENT_TYPES = ("image_file", "image_url", "text")


def role_not_allowed(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["role"] = draw(st.text().filter(lambda r: r not in ("user", "assistant")))
    return Broken(at(prefix, "role"), "invalid_value", "a role other than user or assistant")


def no_role(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    del obj["role"]
    return Broken(at(prefix, "role"), "missing_required_parameter", "no role")


def no_content(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    del obj["content"]
    return Broken(at(prefix, "content"), "missing_required_parameter", "no content")


def content_of_another_type(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["content"] = draw(st.one_of(st.none(), st.integers(), st.booleans(), st.dictionaries(st.text(), st.text())))
    return Broken(at(prefix, "content"), "invalid_type", "content neither a string nor parts")


def no_content_parts(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["content"] = []
    return Broken(at(prefix, "content"), "empty_array", "content with no parts")


def part_of_unknown_type(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    kind = draw(st.text(min_size=1).filter(lambda t: t not in CONTENT_TYPES))
    parts = [{"type": "text", "text": draw(st.text())} for _ in range(draw(st.integers(0, 2)))]
    index = len(parts)
    obj["content"] = [*parts, {"type": kind, "text": draw(st.text())}]
    return Broken(f"{at(prefix, 'content')}[{index}].type", "invalid_value", "a content part of an unknown type")


def attachments_not_a_list(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["attachments"] = draw(st.one_of(st.text(), st.integers(), st.dictionaries(st.text(), st.text())))
    return Broken(at(prefix, "attachments"), "invalid_type", "attachments that are not a list")


def messages_not_a_list(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["messages"] = draw(st.one_of(st.text(), st.integers(), st.dictionaries(st.text(), st.text())))
    return Broken(at(prefix, "messages"), "invalid_type", "messages that are not a list")


def in_a_message(mistake: Mistake) -> Mistake:
    """The mistake, in one of a thread's messages (a message is added when the thread has none)."""

    def broken_message(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
        messages = obj.get("messages") or [{"role": "user", "content": draw(st.text())}]
        obj["messages"] = messages
        index = draw(st.integers(0, len(messages) - 1))
        item = schema["properties"]["messages"]["items"]
        broken = mistake(draw, messages[index], item, f"{at(prefix, 'messages')}[{index}]")
        return Broken(broken.param, broken.code, f"messages[{index}]: {broken.mistake}")

    return broken_message


def too_many_files(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["tool_resources"] = {
        "code_interpreter": {"file_ids": draw(st.lists(st.text(max_size=30), min_size=21, max_size=30))}
    }
    where = at(prefix, "tool_resources.code_interpreter.file_ids")
    return Broken(where, "array_above_max_length", "code_interpreter with more than 20 files")


def too_many_vector_stores(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    stores = draw(st.lists(st.text(max_size=30), min_size=2, max_size=4))
    obj["tool_resources"] = {"file_search": {"vector_store_ids": stores}}
    where = at(prefix, "tool_resources.file_search.vector_store_ids")
    return Broken(where, "array_above_max_length", "file_search with more than one vector store")


def both_file_search_forms(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    ids = draw(st.lists(st.text(max_size=30), min_size=1, max_size=1))
    obj["tool_resources"] = {"file_search": {"vector_store_ids": ids, "vector_stores": [{}]}}
    return Broken(at(prefix, "tool_resources.file_search"), "invalid_value", "both forms of file_search")


def vector_store_helper(draw: st.DrawFn, obj: JSON, schema: JSON, prefix: str) -> Broken:
    obj["tool_resources"] = {"file_search": {"vector_stores": [{}]}}
    where = at(prefix, "tool_resources.file_search.vector_stores")
    return Broken(where, "unknown_parameter", "the vector_stores helper, which only create takes")


COMMON_MISTAKES: dict[str, Mistake] = {
    "unknown parameter": unknown_parameter,
    "metadata: too many pairs": too_many_pairs,
    "metadata: not an object": metadata_not_an_object,
    "metadata: key too long": key_too_long,
    "metadata: value too long": value_too_long,
    "metadata: value not a string": value_not_a_string,
}
MESSAGE_MISTAKES: dict[str, Mistake] = {
    "role: not allowed": role_not_allowed,
    "role: missing": no_role,
    "content: missing": no_content,
    "content: another type": content_of_another_type,
    "content: no parts": no_content_parts,
    "content: part of an unknown type": part_of_unknown_type,
    "attachments: not a list": attachments_not_a_list,
    **COMMON_MISTAKES,
}
# By operation, every kind of mistake its invalid requests are drawn from, by name.
MISTAKES: dict[str, dict[str, Mistake]] = {
    "createThread": {
        **COMMON_MISTAKES,
        "messages: not a list": messages_not_a_list,
        **{f"messages[i] {name}": in_a_message(mistake) for name, mistake in MESSAGE_MISTAKES.items()},
        "tool_resources: too many files": too_many_files,
        "tool_resources: too many vector stores": too_many_vector_stores,
        "tool_resources: both forms of file_search": both_file_search_forms,
    },
    "createMessage": MESSAGE_MISTAKES,
    "modifyThread": {
        **COMMON_MISTAKES,
        "tool_resources: too many files": too_many_files,
        "tool_resources: too many vector stores": too_many_vector_stores,
        "tool_resources: the vector_stores helper": vector_store_helper,
    },
    "modifyMessage": COMMON_MISTAKES,
}

__all__ = [
    "REQUEST_OPERATIONS",
    "VECTOR_STORE_OPERATIONS",
    "InvalidRequest",
    "UploadForm",
    "create_message_requests",
    "create_thread_requests",
    "create_vector_store_file_batch_requests",
    "create_vector_store_file_requests",
    "create_vector_store_requests",
    "invalid_create_message_requests",
    "invalid_create_thread_requests",
    "invalid_modify_message_requests",
    "invalid_modify_thread_requests",
    "invalid_requests",
    "mistake_names",
    "modify_message_requests",
    "modify_thread_requests",
    "modify_vector_store_requests",
    "request_schema",
    "requests",
    "search_vector_store_requests",
    "update_vector_store_file_attributes_requests",
    "upload_forms",
]
