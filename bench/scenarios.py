"""The benchmarked scenarios: the requests each sends, and the state the mock needs for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .servers import Request, call, expect_ok

THREAD_BODY = {"messages": [{"role": "user", "content": "Hello, how can I reset my password?"}]}
MESSAGE_BODY = {"role": "user", "content": "One more question."}
# The baseline ignores ids; these only give its requests the same shape and length as the mock's.
BASELINE_IDS = {"retrieve": "thread_abcdefghijklmnopqrstuvwx", "grow": "thread_bcdefghijklmnopqrstuvwxy"}
BASELINE_IDS["list"] = "thread_cdefghijklmnopqrstuvwxyz"
RUN_THREADS = 64
BASELINE_IDS.update({f"run{n}": f"thread_defghijklmnopqrstuvw{n:03d}" for n in range(RUN_THREADS)})
BASELINE_IDS["assistant"] = "asst_abcdefghijklmnopqrstuvwx"
ASSISTANT_BODY = {"model": "gpt-4o", "name": "Bench"}
FAULT_RULES = 100
NO_RUNS = (
    "not run: the anchors' spec (the Threads excerpt) has no runs path, and neither Prism nor Steady makes an "
    "event stream from a spec"
)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    target: float
    requests: Callable[[dict[str, str]], list[Request]]
    fault_rules: bool = False
    # Why Prism and Steady do not run this scenario; None: they do.
    no_anchors: str | None = None


def create_thread(ids: dict[str, str]) -> list[Request]:
    return [Request("POST", "/v1/threads", THREAD_BODY)]


def retrieve_thread(ids: dict[str, str]) -> list[Request]:
    return [Request("GET", f"/v1/threads/{ids['retrieve']}")]


def create_message(ids: dict[str, str]) -> list[Request]:
    return [Request("POST", f"/v1/threads/{ids['grow']}/messages", MESSAGE_BODY)]


def list_messages(ids: dict[str, str]) -> list[Request]:
    return [Request("GET", f"/v1/threads/{ids['list']}/messages?limit=20")]


def list_one_message(ids: dict[str, str]) -> list[Request]:
    # A page of one: what Prism and Steady answer to any list (their spec's one example message), so that the
    # anchors' table has a list of equal work; "list 20 messages" sends eight times their bytes.
    return [Request("GET", f"/v1/threads/{ids['list']}/messages?limit=1")]


def run_stream(ids: dict[str, str]) -> list[Request]:
    # A thread takes one run at a time (a second one while the first streams is refused, as the API does): the
    # connections go round RUN_THREADS threads, so that a thread's turn comes back long after its run has ended
    # (with the default pace a run ends with its stream).
    body = {"assistant_id": ids["assistant"], "stream": True}
    return [Request("POST", f"/v1/threads/{ids[f'run{n}']}/runs", body) for n in range(RUN_THREADS)]


def mixed(ids: dict[str, str]) -> list[Request]:
    # 2 creates, 3 reads, 3 writes of a message, 2 pages of 20: a client's conversation loop.
    return create_thread(ids) * 2 + retrieve_thread(ids) * 3 + create_message(ids) * 3 + list_messages(ids) * 2


SCENARIOS = (
    Scenario("create-thread", "create thread (one message)", 0.80, create_thread),
    Scenario("retrieve-thread", "retrieve thread", 0.80, retrieve_thread),
    Scenario("create-message", "create message", 0.80, create_message),
    Scenario("list-messages", "list 20 messages", 0.80, list_messages),
    Scenario("list-one", "list 1 message (the anchors' page size)", 0.80, list_one_message),
    Scenario("mixed", "mixed (2 create, 3 get, 3 message, 2 list)", 0.80, mixed),
    Scenario(
        "faults-100",
        f"create thread, {FAULT_RULES} fault rules loaded",
        0.75,
        create_thread,
        True,
        "not run: fault rules are the mock's own",
    ),
    # The baseline replays the same events (captured from the mock) from a fixed list: the ratio is the price of
    # making a run (its steps, its message, 14 events serialized) against only writing them.
    Scenario("run-stream", "create run, stream: true, read to [DONE]", 0.50, run_stream, no_anchors=NO_RUNS),
)


def mock_ids(url: str) -> dict[str, str]:
    """Threads the scenarios address: one to read, one that grows, one with exactly 20 messages."""
    ids = {name: expect_ok(url, Request("POST", "/v1/threads", THREAD_BODY))["id"] for name in ("retrieve", "grow")}
    ids["list"] = expect_ok(url, Request("POST", "/v1/threads", {}))["id"]
    for number in range(RUN_THREADS):
        ids[f"run{number}"] = expect_ok(url, Request("POST", "/v1/threads", THREAD_BODY))["id"]
    ids["assistant"] = expect_ok(url, Request("POST", "/v1/assistants", ASSISTANT_BODY))["id"]
    for _ in range(20):
        expect_ok(url, Request("POST", f"/v1/threads/{ids['list']}/messages", MESSAGE_BODY))
    return ids


def fault_rule(number: int) -> dict[str, Any]:
    # Same method as the benchmarked request, so matching cannot stop at the method.
    return {"match": f"POST /v1/nothing/{number}/*", "status": 500}


def load_fault_rules(url: str) -> str | None:
    """Adds the rules through the admin API (issue 3); None when loaded, else why not."""
    status, body = call(url, Request("POST", "/__mock__/faults", fault_rule(0)))
    if status in (404, 405):
        return f"`POST /__mock__/faults` answered {status}: the fault admin API is not in this build"
    if not 200 <= status < 300:
        return f"`POST /__mock__/faults` answered {status}: {body}"
    for number in range(1, FAULT_RULES):
        expect_ok(url, Request("POST", "/__mock__/faults", fault_rule(number)))
    status, listed = call(url, Request("GET", "/__mock__/faults"))
    rules = listed if isinstance(listed, list) else (listed or {}).get("data", listed)
    if status == 200 and isinstance(rules, list) and len(rules) != FAULT_RULES:
        return f"`GET /__mock__/faults` lists {len(rules)} rules, expected {FAULT_RULES}"
    return None


def clear_fault_rules(url: str) -> None:
    expect_ok(url, Request("DELETE", "/__mock__/faults"))


def mock_features(url: str) -> dict[str, bool]:
    journal = call(url, Request("GET", "/__mock__/requests"))[0] == 200
    faults = call(url, Request("GET", "/__mock__/faults"))[0] == 200
    return {"journal (GET /__mock__/requests)": journal, "fault rules (GET /__mock__/faults)": faults}


def write_requests(directory: Path, name: str, requests: list[Request]) -> Path:
    path = directory / f"{name}.requests"
    path.write_text("".join(r.line() + "\n" for r in requests))
    return path
