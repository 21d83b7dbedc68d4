"""The fault model's text and data forms: the examples of the issue, round trips, and clear refusals."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mock_server.faults import (
    KINDS,
    FaultRule,
    FaultSpec,
    FaultSyntaxError,
    Hang,
    Schedule,
    Slow,
    Status,
    Where,
    go_duration,
    parse_duration,
    parse_header,
    parse_rule,
    rule_data,
    rule_from_data,
    spec_text,
)
from mock_server.faults.kinds import DEFAULT_HANG_LIMIT
from mock_server.faults.model import Fixed, LogNormal, Uniform


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("2s", 2.0), ("1.5s", 1.5), ("2", 2.0), ("1m", 60.0), ("0.5min", 30.0), (" 10 ms ", 0.01)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "fast", "-1s", "2h", "1e3s", "ms"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(FaultSyntaxError, match="duration like 250ms or 2s"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.012, "12ms"),
        (1, "1s"),
        (1.898, "1.898s"),
        (20, "20s"),
        (360, "6m0s"),
        (3600, "1h0m0s"),
        (61.5, "1m1.5s"),
    ],
)
def test_go_durations(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


# ---- the header examples of the issue, one by one ----


def test_header_status() -> None:
    assert parse_header("status=503") == FaultSpec(Status(503))


def test_header_status_with_retry_after() -> None:
    spec = parse_header("status=429; retry_after=2").outcome
    assert isinstance(spec, Status)
    assert (spec.key, spec.status, spec.retry_after, spec.retry_after_ms) == ("status", 429, 2.0, False)
    in_ms = parse_header("status=429; retry_after=1500ms; should_retry=false").outcome
    assert isinstance(in_ms, Status)
    assert (in_ms.retry_after, in_ms.retry_after_ms, in_ms.should_retry) == (1.5, True, False)


def test_header_latencies() -> None:
    assert parse_header("latency=250ms").latency == Fixed(0.25)
    assert parse_header("latency=lognormal(median=100ms, sigma=0.5, max=2s)").latency == LogNormal(0.1, 0.5, 2.0)
    assert parse_header("latency=100ms..300ms").latency == Uniform(0.1, 0.3)
    assert parse_header("latency=uniform(min=100ms, max=300ms)").latency == Uniform(0.1, 0.3)
    assert parse_header("latency=lognormal(100ms, 0.5)").latency == LogNormal(0.1, 0.5, None)


@pytest.mark.parametrize("kind", ["reset", "empty", "malformed", "invalid"])
def test_header_flags(kind: str) -> None:
    assert parse_header(kind) == FaultSpec(KINDS[kind]())


def test_header_slow_and_hang() -> None:
    assert parse_header("slow=2s") == FaultSpec(Slow(2.0))
    assert parse_header("hang=5s") == FaultSpec(Hang(5.0))
    assert parse_header("hang") == FaultSpec(Hang(DEFAULT_HANG_LIMIT)) == FaultSpec(Hang(600.0))


def test_header_several_faults() -> None:
    assert parse_header("status=500, latency=100ms") == FaultSpec(Status(500), latency=Fixed(0.1))


def test_header_message_in_quotes_keeps_separators() -> None:
    spec = parse_header('status=400; message="Nope; not, today: \\"really\\""; code=custom').outcome
    assert isinstance(spec, Status)
    assert (spec.message, spec.code) == ('Nope; not, today: "really"', "custom")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "names no fault"),
        ("stauts=503", "unknown fault 'stauts'"),
        ("status=99", "from 400 to 599, not 99"),
        ("status=600", "from 400 to 599, not 600"),
        ("status=abc", "status must be a whole number"),
        ("reset, empty", "at most one of"),
        ("status=503; status=500", "'status' is given twice"),
        ("retry_after=2", "retry_after goes with status"),
        ("reset; should_retry=true", "should_retry goes with status"),
        ("latency=fast", "latency must be a duration"),
        ("latency=300ms..100ms", "min <= max"),
        ("latency=lognormal(median=1s)", "needs median and sigma"),
        ("latency=lognormal(median=1s, sigma=x)", "sigma must be a number"),
        ("latency=gauss(1s)", "latency must be a duration"),
        ("slow", "slow needs the time"),
        ("probability=0.5; status=503", "no meaning in a header"),
        ("match=*; status=503", "no meaning in a header"),
        ("status=503; should_retry=maybe", "should_retry must be true or false"),
        ("reset=later", "reset must be true or false"),
        ('status=500; message="open', "unterminated quoted string"),
        ("latency=lognormal(1s, 0.5", "unbalanced '('"),
        ("a b c", "cannot read 'a b c'"),
    ],
)
def test_header_refusals_say_what_is_wrong(value: str, reason: str) -> None:
    with pytest.raises(FaultSyntaxError, match=reason.replace("(", r"\(")):
        parse_header(value)


# ---- rules: the command-line form, the data form, and back ----


def test_command_line_rule() -> None:
    rule = parse_rule("POST /v1/threads: status=429; probability=0.2")
    assert rule.where == Where("POST", "/v1/threads")
    assert rule.spec == FaultSpec(Status(429))
    assert rule.schedule == Schedule(probability=0.2)


def test_command_line_rule_without_where_applies_everywhere() -> None:
    rule = parse_rule("latency=100ms; every=3; after=2; times=5")
    assert rule.where == Where(None, "*")
    assert rule.schedule == Schedule(times=5, every=3, after=2)


def test_data_rules_of_the_issue() -> None:
    first = rule_from_data({"match": "POST /v1/threads", "status": 429, "retry_after": 1, "probability": 0.2})
    assert first == FaultRule(FaultSpec(Status(429, retry_after=1.0)), Where("POST", "/v1/threads"), Schedule(0.2))
    second = rule_from_data(
        {"match": "GET /v1/threads/*", "latency": "lognormal(median=100ms, sigma=0.5, max=2s)", "every": 3}
    )
    assert second.spec.latency == LogNormal(0.1, 0.5, 2.0)
    assert second.schedule.every == 3


def test_data_rule_in_command_line_form_with_extra_keys() -> None:
    rule = rule_from_data({"rule": "POST /v1/threads: status=429; retry_after=2", "times": 1})
    assert rule == parse_rule("POST /v1/threads: status=429; retry_after=2; times=1")


@pytest.mark.parametrize(
    "text",
    [
        "POST /v1/threads: status=429; retry_after=2; should_retry=true; probability=0.25",
        "GET /v1/threads/*: latency=lognormal(median=100ms, sigma=0.5, max=2s); every=3",
        '*: status=503; code=overloaded; message="Try later; please"; after=4; times=2',
        "DELETE: reset",
        "/v1/threads/{thread_id}/messages: slow=1.5s",
        "hang=30s",
        "POST /threads: status=429; retry_after=1500ms; latency=10ms..20ms",
        "invalid",
    ],
)
def test_rules_round_trip_through_data_and_text(text: str) -> None:
    rule = parse_rule(text)
    data = rule_data(rule)
    assert data.pop("id") is None
    assert rule_from_data(data) == rule
    where = rule.where.text()
    assert parse_header(spec_text(rule.spec)) == rule.spec
    assert parse_rule(f"{where}: {spec_text(rule.spec)}").spec == rule.spec


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"status": 503, "colour": "red"}, "unknown key 'colour'"),
        ({"match": "FETCH! /v1", "status": 503}, "not an HTTP method"),
        ({"match": "POST threads", "status": 503}, "must start with '/'"),
        ({"match": "POST /a /b", "status": 503}, "match must be like"),
        ({"status": 503, "probability": 1.5}, "probability must be a number from 0 to 1"),
        ({"status": 503, "times": 0}, "times must be at least 1"),
        ({"status": 503, "every": "often"}, "every must be a whole number"),
        ({"status": 503, "after": -1}, "after must be at least 0"),
        ({"status": True}, "status must be a whole number"),
        ({"latency": True}, "latency must be a duration"),
        ({"reset": "yes please"}, "reset must be true or false"),
        ({"id": "fault_1", "status": 503}, "unknown key 'id'"),
        ({"rule": 7}, "rule must be a string"),
        ({"rule": "POST /v1/threads: status=503", "status": 500}, "given twice"),
    ],
)
def test_data_refusals(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(FaultSyntaxError, match=reason):
        rule_from_data(data)


def test_a_rule_must_be_an_object() -> None:
    with pytest.raises(FaultSyntaxError, match="must be an object"):
        rule_from_data([1, 2])  # type: ignore[arg-type]


def test_dashes_in_keys_read_as_underscores() -> None:
    spec = rule_from_data({"status": 429, "retry-after": 3}).spec.outcome
    assert isinstance(spec, Status) and spec.retry_after == 3.0


# ---- where ----


@pytest.mark.parametrize(
    ("match", "method", "path", "expected"),
    [
        ("POST /v1/threads", "POST", "/v1/threads", True),
        ("POST /v1/threads", "POST", "/threads", True),
        ("POST /threads", "POST", "/v1/threads", True),
        ("POST /v1/threads", "GET", "/v1/threads", False),
        ("POST /v1/threads", "POST", "/v1/threads/thread_1", False),
        ("GET /v1/threads/*", "GET", "/v1/threads/thread_1", True),
        ("GET /v1/threads/*", "GET", "/threads/thread_1", True),
        ("GET /v1/threads/*", "GET", "/v1/threads/thread_1/messages", False),
        ("/v1/threads/**", "DELETE", "/v1/threads/t/messages/m", True),
        ("/v1/threads/{thread_id}/messages", "GET", "/v1/threads/thread_9/messages", True),
        ("/v1/threads/{thread_id}/messages", "GET", "/v1/threads//messages", False),
        ("/v1/threads/thread_*", "GET", "/v1/threads/thread_9", True),
        ("/v1/threads/thread_*", "GET", "/v1/threads/other", False),
        ("*", "PATCH", "/anything/at/all", True),
        ("post", "POST", "/v1/threads/x", True),
        ("* /v1/threads", "GET", "/v1/threads", True),
        ("/v1/threads.json", "GET", "/v1/threadsXjson", False),
    ],
)
def test_where_matches(match: str, method: str, path: str, expected: bool) -> None:
    assert rule_from_data({"match": match, "reset": True}).where.matches(method, path) is expected


def test_lognormal_draws_are_capped_and_centred() -> None:
    delay = LogNormal(0.1, 0.5, 0.3)
    rng = random.Random(1)
    draws = sorted(delay.draw(rng) for _ in range(2001))
    assert max(draws) == 0.3
    assert 0.09 < draws[1000] < 0.11
    assert all(0.1 <= Uniform(0.1, 0.2).draw(rng) <= 0.2 for _ in range(200))
