"""The response object as the real API sends it, its usage, and its tools echoed with their defaults.

Usage is counted as runs count it, one token per whitespace-separated word: the input is the text of every
item of the context (the conversation's or the chain's, then this request's input) and the instructions;
the output is the reply (or the function calls' arguments).
"""

from __future__ import annotations

from typing import Any

from ..types import JSON

DEFAULT_TEXT = {"format": {"type": "text"}, "verbosity": "medium"}
# What the real API fills in for a file_search tool sent without them.
FILE_SEARCH_DEFAULTS = {
    "filters": None,
    "max_num_results": 20,
    "ranking_options": {"ranker": "auto", "score_threshold": 0.0},
}


# What a response's end sets: kept aside while a background response runs, shown once it ends.
FINISHED_KEYS = ("status", "output", "usage", "error", "incomplete_details", "completed_at")


def unfinished(response: JSON, status: str) -> JSON:
    """The response before its end: no output, no usage, the `auto` service tier the real ones showed."""
    return {
        **response,
        "status": status,
        "output": [],
        "usage": None,
        "error": None,
        "incomplete_details": None,
        "completed_at": None,
        "service_tier": "auto",
    }


def usage_object(input_tokens: int, output_tokens: int) -> JSON:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def echoed_tool(tool: JSON) -> JSON:
    if tool["type"] == "file_search":
        ranking = {**FILE_SEARCH_DEFAULTS["ranking_options"], **(tool.get("ranking_options") or {})}  # type: ignore[dict-item]
        return {**FILE_SEARCH_DEFAULTS, **tool, "ranking_options": ranking}
    if tool["type"] != "function":
        return tool  # a tool only lenient mode takes (web_search, mcp...): echoed as sent
    # A function keeps `strict` as sent; the Responses API makes functions strict unless told otherwise.
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool["strict"] if tool.get("strict") is not None else True,
    }


def response_object(response_id: str, created_at: int, body: JSON, conversation_id: str | None) -> JSON:
    """A new response, `in_progress`, with what the request set and the real defaults for the rest."""

    def pick(key: str, fallback: Any) -> Any:
        value = body.get(key)
        return fallback if value is None else value

    response: JSON = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "background": bool(body.get("background")),
        "billing": {"payer": "developer"},
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": body.get("model") or "gpt-4o",  # only lenient mode takes a request without one
        "output": [],
        "parallel_tool_calls": pick("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": None, "summary": None, **(body.get("reasoning") or {})},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": pick("store", True),
        "temperature": pick("temperature", 1.0),
        "text": {**DEFAULT_TEXT, **(body.get("text") or {})},
        "tool_choice": pick("tool_choice", "auto"),
        "tools": [echoed_tool(tool) for tool in body.get("tools") or []],
        "top_logprobs": pick("top_logprobs", 0),
        "top_p": pick("top_p", 1.0),
        "truncation": pick("truncation", "disabled"),
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    if conversation_id is not None:
        # Only a response made in a conversation names it (the real answers have no key otherwise).
        response["conversation"] = {"id": conversation_id}
    return response
