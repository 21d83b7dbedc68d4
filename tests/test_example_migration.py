"""The migration example (examples/migrate_threads.py) runs unmodified against the mock: a thread's messages,
more than one batch of them, become a conversation's items in order, and a response continues it."""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mock_server.server import BackgroundServer

from .helpers import HEADERS

pytestmark = pytest.mark.sdk

PROGRAM = Path(__file__).resolve().parent.parent / "examples" / "migrate_threads.py"


def test_a_thread_moves_to_a_conversation_and_goes_on(
    start_server: Callable[..., BackgroundServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_server(seed=3)
    texts = [f"message number {n}" for n in range(23)]
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as api:
        messages = [{"role": "assistant" if n % 2 else "user", "content": text} for n, text in enumerate(texts)]
        thread_id = api.post("/threads", json={"messages": messages[:20]}).json()["id"]
        for message in messages[20:]:
            api.post(f"/threads/{thread_id}/messages", json=message).raise_for_status()
        image = {"type": "image_url", "image_url": {"url": "https://example.com/map.png"}}
        api.post(f"/threads/{thread_id}/messages", json={"role": "user", "content": [image]}).raise_for_status()

    # Run as `python examples/migrate_threads.py THREAD_ID` would run it, in this process (the SDK is imported
    # already: a new interpreter would spend seconds importing it again).
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mock")
    monkeypatch.setattr(sys, "argv", [str(PROGRAM), thread_id])
    runpy.run_path(str(PROGRAM), run_name="__main__")
    migrated, answer = capsys.readouterr().out.splitlines()
    assert migrated.startswith(f"migrated {thread_id} -> conv_") and migrated.endswith("(24 items)")
    assert answer == 'assistant: You said: "Thanks! One more?"'

    conversation_id = migrated.split(" -> ")[1].split()[0]
    key = {"Authorization": HEADERS["Authorization"]}
    listed = httpx.get(
        f"{server.base_url}/conversations/{conversation_id}/items",
        headers=key,
        params={"order": "asc", "limit": 100, "include[]": "message.input_image.image_url"},
    ).json()["data"]
    # The thread in order, each text in its role's part type, the image by URL; then the response's turn.
    assert [item["content"][0].get("text") for item in listed[:23]] == texts
    assert [item["content"][0]["type"] for item in listed[:2]] == ["input_text", "output_text"]
    assert listed[23]["content"][0]["image_url"] == "https://example.com/map.png"
    assert [item["role"] for item in listed[24:]] == ["user", "assistant"]
    conversation = httpx.get(f"{server.base_url}/conversations/{conversation_id}", headers=key).json()
    assert conversation["metadata"] == {"migrated_from": thread_id}
