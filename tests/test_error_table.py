"""Every row of the real API's error table (openai-facts.md), checked field by field over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mock_server.server import BackgroundServer

KEYS_URL = "https://platform.openai.com/account/api-keys"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_no_beta_header(api: httpx.Client) -> None:
    error = error_of(api.post("/threads", headers={"OpenAI-Beta": ""}), 400)
    assert error == {
        "message": "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try again by "
        "setting the header 'OpenAI-Beta: assistants=v2'.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_beta",
    }
    del api.headers["OpenAI-Beta"]
    assert error_of(api.get("/threads/thread_x"), 400) == error


def test_beta_v1_is_deprecated(api: httpx.Client) -> None:
    error = error_of(api.post("/threads", headers={"OpenAI-Beta": "assistants=v1"}), 400)
    assert error == {
        "message": "The v1 Assistants API has been deprecated. See the migration guide for more information: "
        "https://platform.openai.com/docs/assistants/migration.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_beta",
    }


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Token sk-mock", "Basic c2stbW9jaw=="])
def test_no_api_key(server: BackgroundServer, authorization: str | None) -> None:
    headers = {"OpenAI-Beta": "assistants=v2"}
    if authorization is not None:
        headers["Authorization"] = authorization
    error = error_of(httpx.post(f"{server.base_url}/threads", headers=headers), 401)
    assert error == {
        "message": "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) "
        "if you're accessing the API from your browser and are prompted for a username and password. You can "
        f"obtain an API key from {KEYS_URL}.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_wrong_api_key(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=("sk-proj-right0000",))
    headers = {"OpenAI-Beta": "assistants=v2", "Authorization": "Bearer sk-proj-abcdefghijklmnopMxYA"}
    error = error_of(httpx.post(f"{server.base_url}/threads", headers=headers), 401)
    assert error == {
        "message": f"Incorrect API key provided: sk-proj-****MxYA. You can find your API key at {KEYS_URL}.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    headers["Authorization"] = "Bearer sk-proj-right0000"
    assert httpx.post(f"{server.base_url}/threads", headers=headers).status_code == 200


def test_unknown_thread(api: httpx.Client) -> None:
    error = error_of(api.get("/threads/thread_uRNWRC9e6Rg95ul95rzWVPuV"), 404)
    assert error == {
        "message": "No thread found with id 'thread_uRNWRC9e6Rg95ul95rzWVPuV'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_id_without_prefix(api: httpx.Client) -> None:
    error = error_of(api.get("/threads/undefined"), 400)
    assert error["message"] == "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'."
    assert (error["type"], error["param"]) == ("invalid_request_error", "thread_id")


def test_message_id_without_prefix(api: httpx.Client) -> None:
    thread = api.post("/threads").json()
    error = error_of(api.get(f"/threads/{thread['id']}/messages/undefined"), 400)
    assert error["message"] == "Invalid 'message_id': 'undefined'. Expected an ID that begins with 'msg'."
    assert error["param"] == "message_id"


@pytest.mark.parametrize(
    ("body", "message", "param", "code"),
    [
        (
            {"metadata": {f"k{i}": "v" for i in range(17)}},
            "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an "
            "object with 17 properties instead.",
            "metadata",
            "object_above_max_properties",
        ),
        (
            {"metadata": {"actual": "x" * 695}},
            "Invalid 'metadata.actual': string too long. Expected a string with maximum length 512, but got a "
            "string with length 695 instead.",
            "metadata.actual",
            "string_above_max_length",
        ),
        (
            {"metadata": {"someNumericId": 42}},
            "Invalid type for 'metadata.someNumericId': expected a string, but got an integer instead.",
            "metadata.someNumericId",
            "invalid_type",
        ),
        (
            {"metadata": ["a"]},
            "Invalid type for 'metadata': expected a metadata object, but got an array instead.",
            "metadata",
            "invalid_type",
        ),
        ({"role": "user"}, "Unknown parameter: 'role'.", "role", "unknown_parameter"),
    ],
)
def test_body_errors_of_the_table(api: httpx.Client, body: Any, message: str, param: str, code: str) -> None:
    error = error_of(api.post("/threads", json=body), 400)
    assert error == {"message": message, "type": "invalid_request_error", "param": param, "code": code}


def test_unknown_route(api: httpx.Client) -> None:
    error = error_of(api.post("/foo"), 404)
    assert error == {
        "message": "Invalid URL (POST /v1/foo)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_unparseable_json(api: httpx.Client) -> None:
    error = error_of(api.post("/threads", content=b'{"messages": [', headers={"Content-Type": "application/json"}), 400)
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)
