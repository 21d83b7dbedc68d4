"""How often: `times`, `every`, `after` and `probability` counted exactly, and a seed that replays them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mock_server.faults import FaultBook
from mock_server.server import BackgroundServer

from .helpers import HEADERS, journal


def faulted(book: FaultBook, count: int, method: str = "POST", path: str = "/v1/threads") -> list[int]:
    """The 1-based numbers of the requests the book faults, out of `count`."""
    return [n for n in range(1, count + 1) if book.draw(method, path) is not None]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("times=3", [1, 2, 3]),
        ("every=4", [4, 8, 12, 16, 20]),
        ("after=17", [18, 19, 20]),
        ("after=2; every=3", [5, 8, 11, 14, 17, 20]),
        ("after=2; every=3; times=2", [5, 8]),
        ("every=1; times=1", [1]),
        ("probability=0", []),
        ("probability=1; after=18", [19, 20]),
    ],
)
def test_schedules_exactly(rule: str, expected: list[int]) -> None:
    book = FaultBook(rules=[f"POST /v1/threads: status=503; {rule}"])
    assert faulted(book, 20) == expected
    (described,) = book.describe()
    assert (described["matched"], described["applied"]) == (20, len(expected))


def test_every_over_many_requests() -> None:
    book = FaultBook(rules=["every=7; status=500"])
    assert len(faulted(book, 10_000)) == 10_000 // 7


def test_probability_is_drawn_per_eligible_request() -> None:
    book = FaultBook(seed=3, rules=["status=500; probability=0.25; after=1000"])
    numbers = faulted(book, 11_000)
    assert min(numbers) > 1000
    # 10,000 draws at p=0.25: 2,500 expected, sd 43; the seed makes it one fixed count anyway.
    assert 2300 < len(numbers) < 2700
    assert book.describe()[0]["applied"] == len(numbers)


def test_a_seed_replays_the_same_requests_and_delays() -> None:
    rules = ["POST /v1/threads: status=503; probability=0.3", "*: latency=lognormal(median=50ms, sigma=1)"]

    def run(seed: int) -> list[tuple[int, str | None, float]]:
        book = FaultBook(seed=seed, rules=rules)
        decisions = [(n, book.draw("POST", "/v1/threads")) for n in range(1, 201)]
        return [(n, d.outcome, d.delay) for n, d in decisions if d is not None]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_a_rule_draws_the_same_whatever_other_rules_there_are() -> None:
    alone = FaultBook(seed=5, rules=["POST /v1/threads: status=503; probability=0.5"])
    crowded = FaultBook(
        seed=5, rules=["POST /v1/threads: status=503; probability=0.5", "GET /v1/threads/*: reset; probability=0.5"]
    )
    sequence = []
    for _ in range(100):
        crowded.draw("GET", "/v1/threads/t")
        sequence.append(crowded.draw("POST", "/v1/threads") is not None)
    assert [alone.draw("POST", "/v1/threads") is not None for _ in range(100)] == sequence


def test_reset_restarts_counters_and_draws_and_keeps_start_up_rules() -> None:
    book = FaultBook(seed=9, rules=["status=500; probability=0.5"])
    first = faulted(book, 50)
    book.add("GET /x: reset")
    book.reset()
    assert [rule["match"] for rule in book.describe()] == ["*"]
    assert faulted(book, 50) == first
    assert book.clear() == 1
    assert book.draw("POST", "/v1/threads") is None


def test_all_matching_rules_count_the_first_outcome_wins_and_latencies_add_up() -> None:
    book = FaultBook(
        rules=[
            "POST /v1/threads: latency=100ms",
            "POST /v1/threads: status=503; every=2",
            "*: reset",
            "*: latency=20ms",
        ]
    )
    first = book.draw("POST", "/v1/threads")
    second = book.draw("POST", "/v1/threads")
    assert first is not None and second is not None
    assert (first.outcome, second.outcome) == ("reset", "status")
    assert first.delay == pytest.approx(0.12)
    assert first.rules == ("fault_1", "fault_3", "fault_4")
    assert second.rules == ("fault_1", "fault_2", "fault_3", "fault_4")
    assert [rule["matched"] for rule in book.describe()] == [2, 2, 2, 2]


def test_methods_and_paths_that_no_rule_names_are_left_alone() -> None:
    book = FaultBook(rules=[f"GET /v1/nothing/{n}: status=500" for n in range(100)])
    assert book.draw("GET", "/v1/threads/thread_1") is None
    assert book.draw("POST", "/v1/nothing/7") is None
    assert book.describe()[7]["matched"] == 0
    decision = book.draw("GET", "/nothing/7")
    assert decision is not None and decision.rules == ("fault_8",)


# ---- the same over HTTP, counted by the client, the journal and the rule alike ----


def post_many(server: BackgroundServer, count: int) -> list[int]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as client:
        return [client.post("/threads").status_code for _ in range(count)]


def test_times_every_after_over_http(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(
        faults=(
            "POST /v1/threads: status=503; after=3; every=4; times=3",
            {"match": "POST /threads", "status": 502, "times": 2},
        )
    )
    statuses = post_many(server, 30)
    faulted_numbers = [n for n, status in enumerate(statuses, 1) if status != 200]
    assert faulted_numbers == [1, 2, 7, 11, 15]
    assert [statuses[n - 1] for n in faulted_numbers] == [502, 502, 503, 503, 503]
    rules = httpx.get(f"{server.url}/__mock__/faults").json()["data"]
    assert [(r["matched"], r["applied"]) for r in rules] == [(30, 3), (30, 2)]
    entries = journal(server, path="/v1/threads")
    assert [e["id"] for e in entries if e["fault"]] == faulted_numbers
    assert [e["fault"]["rules"] for e in entries if e["fault"]] == [["fault_2"]] * 2 + [["fault_1"]] * 3


def test_probability_over_http_is_counted_exactly(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(seed=1, faults=("POST /v1/threads: status=500; probability=0.5",))
    statuses = post_many(server, 200)
    failures = statuses.count(500)
    assert 60 < failures < 140
    assert statuses.count(200) + failures == 200
    (rule,) = httpx.get(f"{server.url}/__mock__/faults").json()["data"]
    assert (rule["matched"], rule["applied"]) == (200, failures)
    assert len(journal(server, status=500)) == failures


def test_with_a_seed_two_runs_fault_the_same_requests(start_server: Callable[..., BackgroundServer]) -> None:
    rules = (
        "POST /v1/threads: status=503; probability=0.3",
        {"match": "POST /v1/threads", "latency": "uniform(min=1ms, max=5ms)", "probability": 0.5},
    )

    def run(seed: int) -> tuple[list[int], list[float]]:
        server = start_server(seed=seed, faults=rules)
        statuses = post_many(server, 40)
        delays = [e["fault"].get("latency_ms", 0.0) for e in journal(server) if e["fault"]]
        server.stop()
        return [n for n, status in enumerate(statuses, 1) if status == 503], delays

    first, again, other = run(42), run(42), run(43)
    assert first == again
    assert first[0] and first[1]
    assert other != first
