"""Conversations (with their items) and stored responses are bounded as threads are, since the store keeps them
as threads (store/spaces.py): one `--max-threads` count for all three, least recently used first, the same
`--max-memory` share and `--max-disk` file, and a conversation's items under `--max-thread-messages`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mock_server.budget import Shares, parse_size
from mock_server.server import BackgroundServer

KEY = {"Authorization": "Bearer sk-mock"}
SMALL = "16MiB"  # 12 MiB for the store
TEXT = "x" * 200_000
# Few requests for the bytes a budget needs: three items of 250,000 characters, 750 KB a conversation and 1 MB
# a response (its input and its reply), as a body holds at most 1 MiB.
BIG = [{"role": "user", "content": "y" * 250_000}] * 3


def health(server: BackgroundServer) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.url}/__mock__/health").json()
    return answer


def conversation(api: httpx.Client, text: str = "Hi") -> str:
    made = api.post("/conversations", json={"items": BIG if text is TEXT else [{"role": "user", "content": text}]})
    made.raise_for_status()
    return str(made.json()["id"])


def response(api: httpx.Client, text: str = "Hi") -> str:
    made = api.post("/responses", json={"model": "gpt-4o", "input": BIG if text is TEXT else text})
    made.raise_for_status()
    return str(made.json()["id"])


def test_one_count_bounds_threads_conversations_and_responses(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(max_threads=4)
    with httpx.Client(base_url=server.base_url, headers={**KEY, "OpenAI-Beta": "assistants=v2"}) as api:
        thread = api.post("/threads").json()["id"]
        first = conversation(api)
        old = response(api)
        made = [conversation(api), response(api), conversation(api)]
        # Five made after the thread: the thread and the first conversation, the least recently used, went.
        assert api.get(f"/threads/{thread}").status_code == 404
        assert api.get(f"/conversations/{first}").status_code == 404
        assert api.get(f"/conversations/{first}/items").status_code == 404
        assert api.get(f"/responses/{old}").status_code == 200  # used now: the least recent is another
        api.post("/threads")
        found = [api.get(f"/{'responses' if i.startswith('resp_') else 'conversations'}/{i}").status_code for i in made]
        chained = api.post("/responses", json={"model": "gpt-4o", "input": "Go on", "previous_response_id": made[1]})
        # That one evicted the least recently used, the old response: a chain that names it is told, as one past
        # the real API's retention is.
        gone = api.post("/responses", json={"model": "gpt-4o", "input": "Go on", "previous_response_id": old})
    assert found == [404, 200, 200] and chained.status_code == 200
    assert gone.status_code == 400 and gone.json()["error"]["code"] == "previous_response_not_found"
    assert health(server)["store"]["evicted"] == 4 and health(server)["store"]["threads"] == 4


def test_a_conversation_holds_at_most_max_thread_messages_items(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(max_thread_messages=3)
    with httpx.Client(base_url=server.base_url, headers=KEY) as api:
        made = api.post("/conversations", json={"items": [{"role": "user", "content": "one"}] * 2}).json()["id"]
        three = api.post(f"/conversations/{made}/items", json={"items": [{"role": "user", "content": "three"}]})
        refused = api.post(f"/conversations/{made}/items", json={"items": [{"role": "user", "content": "four"}]})
        # A response's own input and output join it all the same, as a run's reply joins a full thread.
        answered = api.post("/responses", json={"model": "gpt-4o", "input": "five", "conversation": made})
        items = api.get(f"/conversations/{made}/items", params={"order": "asc"}).json()["data"]
    assert three.status_code == 200 and answered.status_code == 200
    assert refused.status_code == 400 and refused.json()["error"] == {
        "message": f"Conversation {made} already has 3 items, the most a conversation can hold. Start a new "
        "conversation.",
        "type": "invalid_request_error",
        "param": None,
        "code": "conversation_item_limit_exceeded",
    }
    assert [item["content"][0]["text"] for item in items] == ["one", "one", "three", "five", 'You said: "five"']


def test_past_the_memory_share_the_least_recently_used_conversations_and_responses_go(
    start_server: Callable[..., BackgroundServer],
) -> None:
    server = start_server(max_memory=parse_size(SMALL))
    with httpx.Client(base_url=server.base_url, headers=KEY, timeout=30) as api:
        kept = conversation(api, "keep me")
        made = []
        for number in range(18):  # 16 MB for a 12 MiB share
            made.append(conversation(api, TEXT) if number % 2 else response(api, TEXT))
            assert api.get(f"/conversations/{kept}").status_code == 200  # used, so never the least recent
        found = [api.get(f"/{'responses' if i.startswith('resp_') else 'conversations'}/{i}").status_code for i in made]
    assert found == sorted(found, reverse=True) and 404 in found and found[-1] == 200
    memory, store = health(server)["memory"], health(server)["store"]
    assert memory["store"]["bytes"] <= memory["store"]["max_bytes"] == Shares.of(parse_size(SMALL)).store
    assert store["evicted"] == found.count(404)


def test_past_max_disk_the_sqlite_store_evicts_them_too(
    start_server: Callable[..., BackgroundServer], tmp_path: Path
) -> None:
    path = tmp_path / "twin.db"
    server = start_server(store=f"sqlite:{path}", max_disk=parse_size(SMALL))
    with httpx.Client(base_url=server.base_url, headers=KEY, timeout=30) as api:
        made = [
            conversation(api, TEXT) if number % 2 else response(api, TEXT) for number in range(24)
        ]  # 21 MB for 16 MiB
        found = [api.get(f"/{'responses' if i.startswith('resp_') else 'conversations'}/{i}").status_code for i in made]
    assert found == sorted(found, reverse=True) and 404 in found and found[-1] == 200
    assert health(server)["store"]["evicted"] == found.count(404)
    assert path.stat().st_size <= parse_size(SMALL)
