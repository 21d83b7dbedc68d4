"""The admin API and the test handle show conversations (with their items) and stored responses per API key,
beside threads: apart from them, as they are kept (a listing moves no background response on), guarded like
the other routes, and cleared by a reset."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer
from mock_server.testing import MockHTTPError, ThreadsMock


def test_conversations_items_and_responses_come_from_the_admin_api(server: BackgroundServer) -> None:
    mock, other = ThreadsMock(server), ThreadsMock(server, api_key="sk-other")
    mock.reply("weather", reply="Sunny.")
    first = mock.conversations.create(items=[{"role": "user", "content": "Hi"}], metadata={"n": "1"})
    second = mock.conversations.create()
    thread = mock.threads.create()
    answered = mock.responses.create(model="gpt-4o", input="What is the weather?", conversation=first["id"])
    queued = mock.responses.create(model="gpt-4o", input="later", background=True)
    mock.responses.create(model="gpt-4o", input="forgotten", store=False)
    other.conversations.create()

    assert [c["id"] for c in mock.conversations] == [first["id"], second["id"]]
    assert mock.conversations[first["id"]]["metadata"] == {"n": "1"} and second["id"] in mock.conversations
    items = mock.conversations.items(first["id"])
    assert [(item["role"], item["content"][0]["text"]) for item in items] == [
        ("user", "Hi"),
        ("user", "What is the weather?"),
        ("assistant", "Sunny."),
    ]
    assert mock.conversations.items(second["id"]) == []
    # Stored responses only, oldest first; the background one as it is kept: queued, since nobody polled it.
    assert [(r["id"], r["status"]) for r in mock.responses] == [(answered["id"], "completed"), (queued["id"], "queued")]
    assert mock.responses[answered["id"]] == answered
    # Each family apart: threads list threads only, and another key sees only its own.
    assert [t["id"] for t in mock.threads] == [thread["id"]]
    assert len(other.conversations) == 1 and len(other.responses) == 0 and first["id"] not in other.conversations

    with pytest.raises(MockHTTPError) as missing:
        mock.conversations.items("conv_unknown")
    assert missing.value.status == 404 and "conv_unknown" in missing.value.body["error"]["message"]
    for path in ("/__mock__/conversations", "/__mock__/responses", f"/__mock__/conversations/{first['id']}/items"):
        with pytest.raises(MockHTTPError) as refused:
            mock.admin("GET", path)
        assert refused.value.status == 400 and refused.value.body["error"]["param"] == "project"

    mock.reset()
    assert len(mock.conversations) == 0 and len(mock.responses) == 0 and len(other.conversations) == 0


def test_the_new_routes_are_guarded_like_the_others() -> None:
    app = create_app(Settings(log_level="warning"))
    paths = ("/__mock__/conversations", "/__mock__/responses", "/__mock__/conversations/conv_x/items")
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        assert [remote.get(path, params={"project": "sk-mock"}).status_code for path in paths] == [403] * 3
