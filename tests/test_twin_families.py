"""What every family gets from the rooms around it holds for Conversations and Responses too: faults (header and
rule), rate limits, per-key projects, the journal, the seed, the SQLite store's durability, lenient mode, and a
fault's 404 in the families' own words. Lean: three servers, a few requests each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mock_server.server import BackgroundServer

from .helpers import journal

KEY = {"Authorization": "Bearer sk-twin-a"}
OTHER = {"Authorization": "Bearer sk-twin-b"}


def made(server: BackgroundServer, headers: dict[str, str] = KEY) -> tuple[dict[str, Any], dict[str, Any]]:
    base = server.base_url
    conversation = httpx.post(
        f"{base}/conversations", headers=headers, json={"items": [{"role": "user", "content": "Hi"}]}
    )
    conversation.raise_for_status()
    body = {"model": "gpt-4o", "input": "Hello", "conversation": conversation.json()["id"]}
    response = httpx.post(f"{base}/responses", headers=headers, json=body)
    response.raise_for_status()
    return conversation.json(), response.json()


def test_seed_projects_journal_faults_and_durability(
    start_server: Callable[..., BackgroundServer], tmp_path: Path
) -> None:
    store = f"sqlite:{tmp_path / 'twin.db'}"
    first = start_server(seed=11, store=store)
    conversation, response = made(first)
    base = first.base_url
    # Per-key projects: another key finds neither.
    assert httpx.get(f"{base}/conversations/{conversation['id']}", headers=OTHER).status_code == 404
    assert httpx.get(f"{base}/responses/{response['id']}", headers=OTHER).status_code == 404
    # Faults: the header, and a rule on the new paths (a 404 in the family's own words).
    faulted = httpx.post(f"{base}/responses", headers={**KEY, "X-Mock-Fault": "status=503"}, json={"model": "m"})
    assert faulted.status_code == 503
    rule = {"match": "GET /v1/conversations/*", "status": 404, "times": 1}
    httpx.post(f"{first.url}/__mock__/faults", json=rule).raise_for_status()
    missing = httpx.get(f"{base}/conversations/{conversation['id']}", headers=KEY)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"Conversation with id '{conversation['id']}' not found."
    # The journal saw them all, the new paths included.
    paths = [(entry["method"], entry["path"], entry["status"]) for entry in journal(first)]
    assert ("POST", "/v1/responses", 200) in paths and ("POST", "/v1/responses", 503) in paths
    assert ("GET", f"/v1/conversations/{conversation['id']}", 404) in paths
    first.stop()

    # The SQLite store kept both; the seed makes the same ids and bodies again on a fresh store.
    again = start_server(seed=11, store=store)
    kept = httpx.get(f"{again.base_url}/responses/{response['id']}", headers=KEY)
    assert kept.json() == response
    items = httpx.get(f"{again.base_url}/conversations/{conversation['id']}/items", headers=KEY).json()["data"]
    assert [item["role"] for item in items] == ["assistant", "user", "user"]
    fresh = start_server(seed=11)
    assert made(fresh) == (conversation, response)


def test_lenient_mode_and_rate_limits(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(mode="lenient", rate_limit="4/min")
    base = server.base_url
    # Lenient mode makes an unknown conversation on first use, as it makes threads.
    adopted = httpx.get(f"{base}/conversations/conv_placeholder", headers=KEY)
    assert adopted.status_code == 200 and adopted.json()["id"] == "conv_placeholder"
    # ...and answers a function output whose call it never saw, as Prism would.
    output = {"type": "function_call_output", "call_id": "call_x", "output": "42"}
    answered = httpx.post(f"{base}/responses", headers=KEY, json={"model": "m", "input": [output]})
    assert answered.status_code == 200 and answered.json()["status"] == "completed"
    assert httpx.get(f"{base}/conversations/conv_placeholder/items", headers=KEY).status_code == 200
    assert httpx.post(f"{base}/conversations", headers=KEY).status_code == 200
    limited = httpx.post(f"{base}/responses", headers=KEY, json={"model": "m", "input": "x"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"


def test_the_probed_wording_of_a_bad_request(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server()

    def refused(body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{server.base_url}/responses", headers=KEY, json=body)
        assert answer.status_code == 400
        error: dict[str, Any] = answer.json()["error"]
        return error

    moved = refused({"model": "m", "messages": []})
    assert moved["message"].startswith("Unsupported parameter: 'messages'. In the Responses API, this parameter")
    assert (moved["code"], moved["param"]) == ("unsupported_parameter", None)
    unknown = refused({"model": "m", "input": [{"role": "user", "content": "x", "bogus": 1}]})
    assert (unknown["message"], unknown["code"]) == ("Unknown parameter: 'input[0].bogus'.", "unknown_parameter")
    typed = refused({"model": "m", "input": {"role": "user"}})
    assert typed["message"] == (
        "Invalid type for 'input': expected one of a string or array of input items, but got an object instead."
    )
    assert refused({"input": "x"})["message"] == "Missing required parameter: 'model'."
