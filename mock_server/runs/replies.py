"""Reply rules: what the mock assistant does with a run, matched in order on the last user message.

A rule is data (JSON from the admin API, a `[[replies]]` table in the TOML config, or keyword arguments of
`threads_mock.reply(...)`):

    match       regular expression searched in the text of the thread's last user message (absent: any)
    assistant   only runs of this assistant, by id or by name
    reply       the assistant's text
    tool_calls  [{"function": name, "arguments": {...} or "json"}]: the run stops in requires_action, and
    then        is the text it answers once the outputs are submitted
    fail        {"code": "server_error", "message": "..."}: the run ends failed with this last_error
    incomplete  true or a reason (max_completion_tokens, max_prompt_tokens): the reply is cut in half
    expired     true: the run ends expired
    file_search false: the run does not search, though its assistant has the file_search tool;
                {"results": [{"file_id", "file_name", "score", "content"}]}: what its search finds (only
                file_id required), instead of searching the vector stores
    code_interpreter
                {"input": "python source", "logs": "what it printed", "image": true or "name.png"}: a run
                whose tools include code_interpreter runs it before answering (the image a PNG file)
    polls       retrieves the run spends in_progress before it ends (default 0)
    seconds     wall-clock seconds the run spends in_progress before its answer begins, however often it is
                polled (a stream waits them out); with polls, both must have passed
    first_delta_ms, deltas_per_second
                the answer's pace (see `pace.py`): after the X-Mock-Pace header, before the server's --pace
    times       the rule is used up after this many runs (default: never)

Without a matching rule the assistant quotes the message: `You said: "<text>"` (see `default_reply`). A run
whose tools include file_search searches its vector stores unless its rule says otherwise, and quotes what it
finds best, citing it (see `runs/tools.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from .pace import KEYS as PACE_KEYS
from .pace import Pace

OUTCOMES = ("reply", "tool_calls", "fail", "incomplete", "expired")
TOOLS = ("file_search", "code_interpreter")
KEYS = {"match", "assistant", "then", "polls", "seconds", "times", *OUTCOMES, *TOOLS, *PACE_KEYS}
RESULT_KEYS = ("file_id", "file_name", "score", "content")
CODE_KEYS = ("input", "logs", "image")
DEFAULT_IMAGE = "image.png"
FAIL_CODES = ("server_error", "rate_limit_exceeded", "invalid_prompt")
INCOMPLETE_REASONS = ("max_completion_tokens", "max_prompt_tokens")
DEFAULT_FAILURE = {"code": "server_error", "message": "Sorry, something went wrong."}


def default_reply(text: str) -> str:
    return f'You said: "{text}"'


@dataclass
class ReplyRule:
    match: re.Pattern[str] | None = None
    assistant: str | None = None
    reply: str | None = None
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    then: str | None = None
    fail: dict[str, str] | None = None
    incomplete: str | None = None
    expired: bool = False
    # False: no search; a list: the results a search finds, instead of searching.
    file_search: bool | list[dict[str, Any]] = True
    # {"input", "logs", "image"}: the code the run runs before it answers.
    code_interpreter: dict[str, Any] | None = None
    polls: int = 0
    seconds: float = 0.0
    times: int | None = None
    # The pace keys the rule gives, over the server's pace.
    pace: dict[str, float] = field(default_factory=dict)
    used: int = 0

    def paced(self, base: Pace) -> Pace:
        return Pace.from_data(self.pace, base)

    def applies(self, text: str, assistant: Mapping[str, Any]) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.assistant is not None and self.assistant not in (assistant.get("id"), assistant.get("name")):
            return False
        return self.match is None or self.match.search(text) is not None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "match": None if self.match is None else self.match.pattern,
            "assistant": self.assistant,
            "polls": self.polls,
            "seconds": self.seconds,
            "times": self.times,
            "used": self.used,
            **self.pace,
        }
        if self.tool_calls:
            described["tool_calls"] = [
                {"function": c["name"], "arguments": orjson.loads(c["arguments"])} for c in self.tool_calls
            ]
            described["then"] = self.then
        elif self.fail is not None:
            described["fail"] = self.fail
        elif self.incomplete is not None:
            described["incomplete"] = self.incomplete
        elif self.expired:
            described["expired"] = True
        if self.reply is not None:
            described["reply"] = self.reply
        if self.file_search is not True:
            described["file_search"] = self.file_search if self.file_search is False else {"results": self.file_search}
        if self.code_interpreter is not None:
            described["code_interpreter"] = self.code_interpreter
        return described


def _text(rule: Mapping[str, Any], key: str) -> str | None:
    value = rule.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    return value


def _seconds(rule: Mapping[str, Any]) -> float:
    value = rule.get("seconds", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise ValueError("'seconds' must be a number of seconds from 0 to 3600")
    return float(value)


def _count(rule: Mapping[str, Any], key: str, minimum: int) -> int | None:
    value = rule.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"'{key}' must be a whole number >= {minimum}")
    return value


def _tool_call(call: Any) -> dict[str, str]:
    if not isinstance(call, Mapping) or not isinstance(call.get("function"), str) or not call["function"]:
        raise ValueError("each of 'tool_calls' needs a 'function' name")
    unknown = set(call) - {"function", "arguments"}
    if unknown:
        raise ValueError(f"unknown key in a tool call: {sorted(unknown)[0]!r}")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        try:
            orjson.loads(arguments)
        except orjson.JSONDecodeError:
            raise ValueError("'arguments' must be an object or a JSON string") from None
        return {"name": call["function"], "arguments": arguments}
    if not isinstance(arguments, Mapping):
        raise ValueError("'arguments' must be an object or a JSON string")
    return {"name": call["function"], "arguments": orjson.dumps(dict(arguments)).decode()}


def _search_result(result: Any) -> dict[str, Any]:
    if not isinstance(result, Mapping) or not isinstance(result.get("file_id"), str) or not result["file_id"]:
        raise ValueError("each of 'file_search.results' needs a 'file_id'")
    unknown = set(result) - set(RESULT_KEYS)
    if unknown:
        known = ", ".join(RESULT_KEYS)
        raise ValueError(f"unknown key in a file_search result: {sorted(unknown)[0]!r}; known: {known}")
    for key in ("file_name", "content"):
        if key in result and not isinstance(result[key], str):
            raise ValueError(f"'file_search.results[].{key}' must be a string")
    score = result.get("score", 1.0)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise ValueError("'file_search.results[].score' must be a number from 0 to 1")
    return {**result, "score": float(score)}


def _file_search(value: Any) -> bool | list[dict[str, Any]]:
    if value is None or isinstance(value, bool):
        return value is not False
    if not isinstance(value, Mapping) or set(value) != {"results"} or not isinstance(value["results"], list):
        raise ValueError("'file_search' must be true, false or {\"results\": [...]}")
    return [_search_result(result) for result in value["results"]]


def _code_interpreter(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("input"), str):
        raise ValueError("'code_interpreter' must be an object with an 'input' (the code, a string)")
    unknown = set(value) - set(CODE_KEYS)
    if unknown:
        raise ValueError(f"unknown key in 'code_interpreter': {sorted(unknown)[0]!r}; known: {', '.join(CODE_KEYS)}")
    if "logs" in value and not isinstance(value["logs"], str):
        raise ValueError("'code_interpreter.logs' must be a string")
    image = value.get("image", False)
    if image is True:
        image = DEFAULT_IMAGE
    if image is not False and (not isinstance(image, str) or not image or "/" in image):
        raise ValueError("'code_interpreter.image' must be true, false or a file name (no '/')")
    return {"input": value["input"], "logs": value.get("logs"), "image": image or None}


def parse_reply_rule(rule: Any) -> ReplyRule:
    """One rule from data; ValueError says what is wrong, in words fit for an error message."""
    if not isinstance(rule, Mapping):
        raise ValueError("a reply rule is an object")
    unknown = set(rule) - KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}; known: {', '.join(sorted(KEYS))}")
    given = [key for key in OUTCOMES if rule.get(key) not in (None, False) and key != "reply"]
    if len(given) > 1:
        raise ValueError(f"a rule has one outcome, got {' and '.join(given)}")
    pattern = _text(rule, "match")
    try:
        match = None if pattern is None else re.compile(pattern)
    except re.error as error:
        raise ValueError(f"'match' is not a regular expression: {error}") from None
    parsed = ReplyRule(
        match=match,
        assistant=_text(rule, "assistant"),
        reply=_text(rule, "reply"),
        then=_text(rule, "then"),
        polls=_count(rule, "polls", 0) or 0,
        seconds=_seconds(rule),
        times=_count(rule, "times", 1),
        pace={key: rule[key] for key in PACE_KEYS if rule.get(key) is not None},
    )
    Pace.from_data(parsed.pace)
    if "tool_calls" in rule:
        calls = rule["tool_calls"]
        if not isinstance(calls, list) or not calls:
            raise ValueError("'tool_calls' must be a non-empty list")
        parsed.tool_calls = [_tool_call(call) for call in calls]
    elif parsed.then is not None:
        raise ValueError("'then' goes with 'tool_calls'")
    fail = rule.get("fail")
    if fail is not None:
        if fail is True:
            fail = DEFAULT_FAILURE
        if not isinstance(fail, Mapping) or set(fail) - {"code", "message"}:
            raise ValueError("'fail' must be true or an object with 'code' and 'message'")
        code = fail.get("code", "server_error")
        if code not in FAIL_CODES:
            raise ValueError(f"'fail.code' must be one of {', '.join(FAIL_CODES)}")
        parsed.fail = {"code": code, "message": str(fail.get("message", DEFAULT_FAILURE["message"]))}
    incomplete = rule.get("incomplete")
    if incomplete not in (None, False):
        reason = "max_completion_tokens" if incomplete is True else incomplete
        if reason not in INCOMPLETE_REASONS:
            raise ValueError(f"'incomplete' must be true or one of {', '.join(INCOMPLETE_REASONS)}")
        parsed.incomplete = reason
    expired = rule.get("expired", False)
    if not isinstance(expired, bool):
        raise ValueError("'expired' must be true or false")
    parsed.expired = expired
    parsed.file_search = _file_search(rule.get("file_search"))
    parsed.code_interpreter = _code_interpreter(rule.get("code_interpreter"))
    scripted = [key for key in TOOLS if rule.get(key) not in (None, True, False)]
    ends = [key for key in ("tool_calls", "fail", "expired") if rule.get(key) not in (None, False)]
    if scripted and ends:
        raise ValueError(f"'{scripted[0]}' goes with a reply, not with '{ends[0]}'")
    return parsed


def plan_for(rule: ReplyRule | None, text: str) -> dict[str, Any]:
    """What a run or a response does, from the rule that matched `text` (None: no rule did): one decision for
    both APIs. `reply` answers `text`; `quote`: a file_search answer may quote what it found in place of a
    reply no rule wrote; `tool_calls` stops for outputs, then answers `then`; `fail` and `expired` end it."""
    reply = default_reply(text) if rule is None or rule.reply is None else rule.reply
    plan: dict[str, Any] = {"outcome": "reply", "text": reply, "quote": rule is None or rule.reply is None}
    if rule is not None:
        if rule.tool_calls:
            plan = {"outcome": "tool_calls", "calls": rule.tool_calls, "then": rule.then or reply}
        elif rule.fail is not None:
            plan = {"outcome": "fail", "error": rule.fail}
        elif rule.incomplete is not None:
            plan["reason"] = rule.incomplete
        elif rule.expired:
            plan = {"outcome": "expired"}
    return plan


class ReplyBook:
    """The rules in force: those from the configuration, then those added at run time."""

    def __init__(self, configured: list[Any] | None = None) -> None:
        self.configured = [parse_reply_rule(rule) for rule in configured or []]
        self.rules: list[ReplyRule] = list(self.configured)

    def add(self, rule: ReplyRule) -> None:
        self.rules.append(rule)

    def clear(self) -> int:
        """Back to the configured rules (with their counters restarted); answers how many rules went."""
        removed = len(self.rules) - len(self.configured)
        for rule in self.configured:
            rule.used = 0
        self.rules = list(self.configured)
        return removed

    def describe(self) -> list[dict[str, Any]]:
        return [rule.describe() for rule in self.rules]

    def choose(self, text: str, assistant: Mapping[str, Any]) -> ReplyRule | None:
        for rule in self.rules:
            if rule.applies(text, assistant):
                rule.used += 1
                return rule
        return None
