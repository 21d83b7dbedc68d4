"""Schemathesis judges the runs' event streams by the contract: a real stream passes, a broken one fails."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mock_server.contract import default_contract_path
from mock_server.server import BackgroundServer

from .helpers import HEADERS


def streamed_run(server: BackgroundServer) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        assistant_id = api.post("/assistants", json={"model": "gpt-4o"}).json()["id"]
        thread_id = api.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]}).json()["id"]
        response = api.post(f"/threads/{thread_id}/runs", json={"assistant_id": assistant_id, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    return response


def test_a_real_stream_passes_and_a_broken_one_fails(start_server: Callable[..., BackgroundServer]) -> None:
    # Imported here: the SDK-1 virtualenv collects this module without the fuzz extra.
    import schemathesis
    from schemathesis.core.failures import FailureGroup

    operation = schemathesis.openapi.from_path(default_contract_path())["/threads/{thread_id}/runs"]["POST"]
    response = streamed_run(start_server())
    assert operation.validate_response(response) is not False

    # The same stream with the run's id dropped from its first event.
    broken_text = response.text.replace('{"id":"run_', '{"di":"run_', 1)
    headers = {"content-type": response.headers["content-type"]}
    broken = httpx.Response(200, headers=headers, text=broken_text, request=response.request)
    broken.elapsed = response.elapsed
    with pytest.raises((AssertionError, FailureGroup)) as caught:
        operation.validate_response(broken)
    assert "SSE event" in str(caught.value)


def test_a_response_stream_and_its_replay_pass(start_server: Callable[..., BackgroundServer]) -> None:
    import schemathesis

    document = schemathesis.openapi.from_path(default_contract_path())
    server = start_server()
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as api:
        body = {"model": "gpt-4o", "input": "hi", "stream": True, "background": True}
        streamed = api.post("/responses", json=body)
        response_id = streamed.text.split('"id":"', 1)[1].split('"', 1)[0]
        replayed = api.get(f"/responses/{response_id}", params={"stream": "true", "starting_after": 2})
    assert replayed.headers["content-type"].startswith("text/event-stream")
    assert '"sequence_number":3' in replayed.text and '"sequence_number":2,' not in replayed.text
    assert document["/responses"]["POST"].validate_response(streamed) is not False
    assert document["/responses/{response_id}"]["GET"].validate_response(replayed) is not False
