"""Assistant, run and run step objects shaped as the real API sent them, and the mock's token count.

Tokens are counted as whitespace-separated words: a prompt's tokens are the words of the thread's messages
when the run starts, a completion's the words of the reply (or of the tool calls' arguments).
"""

from __future__ import annotations

import re
from typing import Any

from ..store import JSON

# The real API let a run wait ten minutes for its end or for tool outputs.
RUN_LIFETIME = 600
WORD = re.compile(r"\s*\S+")


def count_tokens(text: str) -> int:
    return len(text.split())


def first_tokens(text: str, count: int) -> str:
    """The text cut after `count` tokens (words), as a reply stopped by max_completion_tokens."""
    return "".join(WORD.findall(text)[:count]).strip()


def usage_object(prompt: int, completion: int) -> JSON:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def assistant_object(assistant_id: str, created_at: int, body: JSON, tool_resources: JSON) -> JSON:
    return {
        "id": assistant_id,
        "object": "assistant",
        "created_at": created_at,
        "name": body.get("name"),
        "description": body.get("description"),
        "model": body.get("model") or "gpt-4o",
        "instructions": body.get("instructions"),
        "tools": body.get("tools") or [],
        "tool_resources": tool_resources,
        "metadata": body.get("metadata") or {},
        "top_p": body.get("top_p", 1.0) if body.get("top_p") is not None else 1.0,
        "temperature": body.get("temperature") if body.get("temperature") is not None else 1.0,
        "reasoning_effort": body.get("reasoning_effort"),
        "response_format": body.get("response_format") or "auto",
    }


def run_object(run_id: str, thread_id: str, created_at: int, assistant: JSON, body: JSON) -> JSON:
    """A new run, `queued`; what the request leaves out comes from the assistant."""

    def pick(key: str, fallback: Any) -> Any:
        value = body.get(key)
        return fallback if value is None else value

    instructions = pick("instructions", assistant.get("instructions") or "")
    if body.get("additional_instructions"):
        instructions = f"{instructions}\n{body['additional_instructions']}".lstrip("\n")
    return {
        "id": run_id,
        "object": "thread.run",
        "created_at": created_at,
        "assistant_id": assistant["id"],
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": created_at + RUN_LIFETIME,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": pick("model", assistant["model"]),
        "instructions": instructions,
        "tools": pick("tools", assistant.get("tools") or []),
        "tool_resources": {},
        "metadata": body.get("metadata") or {},
        "incomplete_details": None,
        "usage": None,
        "temperature": pick("temperature", assistant.get("temperature", 1.0)),
        "top_p": pick("top_p", assistant.get("top_p", 1.0)),
        "max_prompt_tokens": body.get("max_prompt_tokens"),
        "max_completion_tokens": body.get("max_completion_tokens"),
        "truncation_strategy": pick("truncation_strategy", {"type": "auto", "last_messages": None}),
        "response_format": pick("response_format", assistant.get("response_format") or "auto"),
        "tool_choice": pick("tool_choice", "auto"),
        "parallel_tool_calls": pick("parallel_tool_calls", True),
        "reasoning_effort": body.get("reasoning_effort"),
    }


def step_object(step_id: str, run: JSON, created_at: int, details: JSON) -> JSON:
    """A new step, `in_progress`; it carries the run's `expires_at` as the real steps did."""
    return {
        "id": step_id,
        "object": "thread.run.step",
        "created_at": created_at,
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "type": details["type"],
        "status": "in_progress",
        "step_details": details,
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "metadata": {},
        "usage": None,
        "expires_at": run["expires_at"],
    }


def finished_run(run_id: str, thread_id: str, created_at: int, assistant: JSON) -> JSON:
    """Lenient mode's run for an id it has not seen: completed when first asked for, with nothing to show for it
    (no steps, no message, no tokens), so that it holds its thread against no other run."""
    run = run_object(run_id, thread_id, created_at, assistant, {})
    run.update(
        status="completed", started_at=created_at, completed_at=created_at, expires_at=None, usage=usage_object(0, 0)
    )
    return run


def finished_step(step_id: str, run: JSON, created_at: int) -> JSON:
    """Lenient mode's step for an id it has not seen: a completed tool_calls step that called nothing (it names
    no message that would have to exist)."""
    step = step_object(step_id, run, created_at, {"type": "tool_calls", "tool_calls": []})
    step.update(status="completed", completed_at=created_at, usage=usage_object(0, 0))
    return step


def function_call(call_id: str, name: str, arguments: str) -> JSON:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments, "output": None}}


def message_text(message: JSON) -> str:
    return " ".join(part["text"]["value"] for part in message.get("content", []) if part.get("type") == "text")
