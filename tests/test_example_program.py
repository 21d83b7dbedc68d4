"""The Assistants program shipped in examples/ runs unmodified against the mock, with and without a reply rule."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mock_server.server import BackgroundServer

pytestmark = pytest.mark.sdk

PROGRAM = Path(__file__).resolve().parent.parent / "examples" / "assistant.py"


def run_program(server: BackgroundServer) -> str:
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-mock"}
    done = subprocess.run(
        [sys.executable, str(PROGRAM)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_program_gets_the_default_replies(start_server: Callable[..., BackgroundServer]) -> None:
    output = run_program(start_server(seed=1))
    assert output.splitlines() == [
        "polled run: completed",
        'assistant: You said: "What is the weather in Paris?"',
        'assistant (streamed): You said: "Thanks! Anything else?"',
        "streamed run: completed",
    ]


def test_the_program_answers_a_scripted_tool_call(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(seed=1)
    rule = {
        "match": "weather",
        "tool_calls": [{"function": "get_weather", "arguments": {"city": "Paris"}}],
        "then": "It is 22C and sunny in Paris.",
    }
    httpx.post(f"{server.base_url.removesuffix('/v1')}/__mock__/replies", json=rule).raise_for_status()
    assert run_program(server).splitlines() == [
        "tool call: get_weather({'city': 'Paris'})",
        "polled run: completed",
        "assistant: It is 22C and sunny in Paris.",
        'assistant (streamed): You said: "Thanks! Anything else?"',
        "streamed run: completed",
    ]
