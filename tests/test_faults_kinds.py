"""The fault kinds, one class each, found by key: every kind reads and writes its own value, every list
of kinds comes from the registry, and a kind registered here needs nothing else to work."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors
from mock_server.faults import (
    KINDS,
    FaultBook,
    FaultSpec,
    FaultSyntaxError,
    Kind,
    Outcome,
    fault_kinds_help,
    fault_kinds_table,
    parse_header,
    parse_rule,
    rule_data,
    rule_from_data,
    spec_text,
)
from mock_server.middleware.ratelimit import RateLimit
from mock_server.responses import send_json
from mock_server.server import BackgroundServer

README = Path(__file__).parent.parent / "README.md"
EXAMPLES = [(kind.key, example) for kind in KINDS for example in kind.examples]


def refusal(header: str) -> str:
    with pytest.raises(FaultSyntaxError) as refused:
        parse_header(header)
    return str(refused.value)


def the_kind(spec: FaultSpec) -> str | None:
    return spec.outcome.key if spec.outcome is not None else "latency" if spec.latency is not None else None


@pytest.mark.parametrize(("key", "example"), EXAMPLES)
def test_every_kind_round_trips_text_object_data_object(key: str, example: str) -> None:
    spec = parse_header(example)
    assert the_kind(spec) == key
    data = rule_data(parse_rule(f"*: {example}"))
    assert data[key] is not None
    assert rule_from_data({k: v for k, v in data.items() if k != "id"}).spec == spec
    assert parse_header(spec_text(spec)) == spec


def test_every_kind_has_an_example_and_its_words() -> None:
    assert KINDS.keys() == ("status", "latency", "reset", "empty", "malformed", "invalid", "slow", "hang", "stream_cut")
    for kind in KINDS:
        assert kind.examples and kind.form.startswith(kind.key) and kind.gets and kind.raises


def test_the_readme_table_is_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("| fault | what the client gets |")
    table = text[start : text.index("\n\n", start)]
    listed = [re.match(r"\| `([a-z_]+)", row) for row in table.splitlines()[2:]]
    assert [found.group(1) for found in listed if found] == list(KINDS.keys())
    assert table == fault_kinds_table(), "paste mock_server.faults.fault_kinds_table() into README.md"


def test_the_help_and_the_header_error_name_every_kind() -> None:
    assert fault_kinds_help() == (
        "status=N (retry_after, should_retry, code, message), latency=DELAY, reset, empty, malformed, invalid, "
        "slow=DURATION, hang[=MAX], stream_cut=N"
    )
    message = errors.invalid_fault_header("unknown fault 'x'", KINDS.examples()).message
    assert message.endswith(
        "It takes faults like 'status=503', 'status=429; retry_after=2', 'latency=250ms', 'reset', 'empty', "
        "'malformed', 'invalid', 'slow=2s', 'hang=5s' or 'stream_cut=5'."
    )
    assert refusal("stauts=503") == (
        "unknown fault 'stauts'; known: status, latency, reset, empty, malformed, invalid, slow, hang, stream_cut"
    )


def test_a_taken_key_cannot_be_registered_again() -> None:
    class Twice(Kind):
        key = "status"

    class Clash(Kind):
        key = "clash"
        options = ("retry_after",)

    for kind in (Twice, Clash):
        with pytest.raises(ValueError, match="is taken"):
            KINDS.register(kind)
    assert "clash" not in KINDS


# ---- a new kind: one class, registered, and nothing else --------------------------------------


@dataclass(frozen=True)
class Teapot(Outcome):
    """`teapot` or `teapot=short`: a 418 whose body says how the tea was."""

    key = "teapot"
    form = "teapot[=STYLE]"
    examples = ("teapot", "teapot=short; spout=long")
    options = ("spout",)
    gets = "418 and a teapot's body"
    raises = "`APIStatusError`"

    style: str = "stout"
    spout: str | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        style = values["teapot"]
        return cls("stout" if style is True else str(style), values.get("spout"))

    def data(self) -> dict[str, Any]:
        return {"teapot": self.style, **({"spout": self.spout} if self.spout else {})}

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        await send_json(send, {"tea": self.style, "spout": self.spout}, 418)


@pytest.fixture
def teapot() -> Iterator[type[Teapot]]:
    KINDS.register(Teapot)
    try:
        yield Teapot
    finally:
        KINDS.unregister(Teapot.key)


@pytest.mark.usefixtures("teapot")
def test_a_kind_registered_elsewhere_is_read_written_and_answered(server: BackgroundServer, api: httpx.Client) -> None:
    assert parse_header("teapot=short; spout=long") == FaultSpec(Teapot("short", "long"))
    rule = parse_rule("POST /v1/threads: teapot; times=1")
    assert rule_data(rule) == {"id": None, "match": "POST /v1/threads", "teapot": "stout", "times": 1}
    assert rule_from_data({"match": "POST /v1/threads", "teapot": "stout", "times": 1}) == rule
    assert refusal("status=500; spout=long") == "spout goes with teapot, e.g. teapot=short; spout=..."
    assert refusal("teapot; reset").startswith("at most one of status, reset, empty, malformed, invalid, slow, hang, ")
    assert refusal("teapot; reset").endswith(", stream_cut, teapot per fault, got reset and teapot")
    assert fault_kinds_help().endswith(", teapot[=STYLE] (spout)")
    assert "'teapot=short; spout=long'" in errors.invalid_fault_header("x", KINDS.examples()).message

    answered = api.post("/threads", headers={"X-Mock-Fault": "teapot=green; latency=1ms"})
    assert answered.status_code == 418
    assert answered.json() == {"tea": "green", "spout": None}
    assert answered.headers["x-request-id"].startswith("req_")
    journal = httpx.get(f"{server.url}/__mock__/requests", params={"limit": 1}).json()["data"]
    assert journal[-1]["fault"] == {"source": "header", "kind": "teapot", "latency_ms": 1.0}

    book = FaultBook(rules=["POST /v1/threads: teapot=oolong"])
    decision = book.draw("POST", "/v1/threads")
    assert decision is not None and decision.outcome == "teapot"


def test_a_kind_registered_in_a_test_is_gone_after_it() -> None:
    assert "teapot" not in KINDS
    assert refusal("teapot").startswith("unknown fault 'teapot'")
