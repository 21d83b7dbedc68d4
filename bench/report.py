"""The Markdown report: figures, targets from issue 6 with pass/fail, the machine and the load check."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .accounting import Accounting
from .anchors import ANCHORS
from .fleet import FleetBench
from .load import LoadGenerator
from .measures import Fixture, Memory, Outcome
from .stacks import StackRun
from .stacks import table as stacks_table

P99_TARGET = 1.5
# Written by hand, kept across runs: where the time goes, what was tried and rejected.
NOTES = Path(__file__).resolve().parent / "notes.md"
# mock / anchor requests per second, at least (issue 19).
ANCHOR_TARGETS = {"Steady": 1.2, "Prism": 4.0}
MEMORY_TARGET_MB = 150.0
ACCOUNTING_TARGET = 0.05  # the most create-thread may lose to the memory budget (issue "Memory budget")
STARTUP_TARGET_S = 1.0
PACKAGES = ("starlette", "uvicorn", "h11", "httptools", "uvloop", "granian", "orjson", "jsonschema-rs", "jsonschema")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mark(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


def versions() -> str:
    found = []
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{package} {importlib.metadata.version(package)}")
    return ", ".join(found)


def uvicorn_stack() -> str:
    from mock_server.stack import Stack

    return (
        f"uvicorn with {Stack.resolve()} (what `auto` picks here) through {Stack.resolve().protocol} (each answer in "
        "one write), the same for the mock and the baseline"
    )


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


@dataclass
class Uploads:
    """The server's RSS growth for `files` uploads of `size` bytes each (bench/uploads.py)."""

    files: int
    size: int
    rss_before: int
    rss_after: int

    @property
    def growth(self) -> float:
        return (self.rss_after - self.rss_before) / (self.files * self.size)


@dataclass
class Report:
    command: str
    options: argparse.Namespace
    generator: LoadGenerator
    generator_note: str
    pinning: str
    load_before: str
    outcomes: list[Outcome] = field(default_factory=list)
    features: dict[str, bool] = field(default_factory=dict)
    memory: Memory | None = None
    startup: dict[str, list[float]] = field(default_factory=dict)
    fixture: Fixture | None = None
    uploads: Uploads | None = None
    accounting: Accounting | None = None
    profiles: list[Path] = field(default_factory=list)
    load_after: str = ""
    anchor_notes: dict[str, str] = field(default_factory=dict)
    stacks: list[StackRun] = field(default_factory=list)
    fleet: FleetBench | None = None

    def markdown(self) -> str:
        lines = ["# Benchmarks", ""]
        if self.options.quick:
            lines += [
                "> **Smoke run** (`--quick`): these figures show that the bench works, not how fast the mock is.",
                "> Run `make bench` for real figures.",
                "",
            ]
        lines += [
            f"- command: `{self.command}`",
            f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}",
            f"- libraries: {versions()}; {uvicorn_stack()}",
            f"- load generator: {self.generator.version}, {self.generator.threads} thread(s), "
            f"{self.generator.connections} connections, {self.generator_note}",
            f"- {self.pinning}",
            f"- rounds: {self.options.rounds} x {self.options.duration:g} s per scenario and server, "
            "alternating mock, baseline and anchors; figures are medians over rounds, the ratio is taken per round",
            f"- load average before / after: {self.load_before} / {self.load_after} (other work on the machine "
            "adds noise; the ratio against the baseline measured in the same run is what counts)",
        ]
        if self.features:
            active = ", ".join(f"{name}: {'on' if on else 'absent'}" for name, on in self.features.items())
            lines.append(f"- mock features seen: {active}")
        lines += self.anchor_lines()
        lines += ["", *self.throughput_table(), "", *self.anchors_table(), ""]
        if self.stacks:
            lines += [*stacks_table(self.stacks), ""]
        lines += [*self.other_table(), ""]
        lines += self.loadgen_check()
        if self.outcomes and self.options.rounds > 1:
            lines += ["", "<details><summary>Every round</summary>", "", *self.rounds_table(), "", "</details>"]
        if NOTES.exists() and not self.options.quick:
            lines += ["", NOTES.read_text().rstrip()]
        if self.profiles:
            lines += ["", "Profiles (speedscope JSON, open at https://www.speedscope.app):"]
            lines += [f"- `{p}`" for p in self.profiles]
        return "\n".join(lines) + "\n"

    def throughput_table(self) -> list[str]:
        if not self.outcomes:
            return ["(throughput not measured in this run)"]
        lines = [
            "| scenario | mock req/s | baseline req/s | ratio | target | ratio per CPU-second | mock p50 / p99 ms | "
            "baseline p50 / p99 ms | p99 mock/baseline (<= 1.5) | result |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for outcome in self.outcomes:
            s = outcome.scenario
            if outcome.not_run or not outcome.pairs:
                lines.append(
                    f"| {s.title} | - | - | - | >= {s.target:.2f} | - | - | - | - | not run: {outcome.not_run} |"
                )
                continue
            pairs = outcome.pairs
            ratio = median([p.ratio for p in pairs])
            p99_ratio = median([p.p99_ratio for p in pairs])
            mock_p = f"{median([p.mock.p50_ms for p in pairs]):.2f} / {median([p.mock.p99_ms for p in pairs]):.2f}"
            base_p = (
                f"{median([p.baseline.p50_ms for p in pairs]):.2f} / {median([p.baseline.p99_ms for p in pairs]):.2f}"
            )
            result = mark(ratio >= s.target and p99_ratio <= P99_TARGET)
            lines.append(
                f"| {s.title} | {median([p.mock.rps for p in pairs]):,.0f} | "
                f"{median([p.baseline.rps for p in pairs]):,.0f} | {ratio:.2f} | >= {s.target:.2f} | "
                f"{median([p.cpu_ratio for p in pairs]):.2f} | {mock_p} | "
                f"{base_p} | {p99_ratio:.2f} | {result} |"
            )
        return lines

    def anchor_lines(self) -> list[str]:
        if not self.anchor_notes:
            return []
        lines = [
            "- anchors (same core, same rounds, right after the mock and the baseline; spec "
            "bench/anchors/openai-openapi-threads.yaml, paths without /v1):"
        ]
        for anchor in ANCHORS:
            note = self.anchor_notes.get(anchor.name, "not run")
            lines.append(f"  - {anchor.name}: {note}; {anchor.how}")
        return lines

    def anchors_table(self) -> list[str]:
        if not self.outcomes or not self.anchor_notes:
            return []
        names = [a.name for a in ANCHORS]
        header = "| scenario | mock req/s | "
        header += " | ".join(f"{n} req/s | mock/{n} (>= {ANCHOR_TARGETS[n]:g})" for n in names)
        header += " | p99 ms mock / " + " / ".join(names) + " | bytes per answer mock / " + " / ".join(names)
        header += " | result |"
        lines = [
            "Against the anchors (mock req/s over each anchor's, per round, median over rounds; CPU: the same ratio "
            "of requests per server CPU-second):",
            "",
            header,
            "| --- | ---: | " + " | ".join("---: | ---:" for _ in names) + " | ---: | ---: | --- |",
        ]
        for outcome in self.outcomes:
            if not outcome.pairs:
                continue
            mock_rps = median([p.mock.rps for p in outcome.pairs])
            cells, p99s, sizes, passed, reasons = [], [median([p.mock.p99_ms for p in outcome.pairs])], [], [], []
            sizes.append(median([p.mock.bytes_per_answer for p in outcome.pairs]))
            for name in names:
                loads, ratios = outcome.anchors.get(name, []), outcome.anchor_ratios(name)
                if name in outcome.anchors_not_run or not ratios:
                    cells.append("- | -")
                    reasons.append(f"{name} {outcome.anchors_not_run.get(name, 'not run')}")
                    continue
                ratio = median(ratios)
                passed.append(ratio >= ANCHOR_TARGETS[name])
                cpu = median(outcome.anchor_cpu_ratios(name))
                cells.append(f"{median([a.rps for a in loads]):,.0f} | {ratio:.2f} (CPU {cpu:.2f})")
                p99s.append(median([a.p99_ms for a in loads]))
                sizes.append(median([a.bytes_per_answer for a in loads]))
            result = mark(all(passed)) if passed else "-"
            if reasons and len(set(outcome.anchors_not_run.values())) == 1 and not passed:
                result = next(iter(outcome.anchors_not_run.values()))
            elif reasons:
                result += " (" + "; ".join(reasons) + ")"
            lines.append(
                f"| {outcome.scenario.title} | {mock_rps:,.0f} | {' | '.join(cells)} | "
                f"{' / '.join(f'{v:.2f}' for v in p99s)} | {' / '.join(f'{v:,.0f}' for v in sizes)} | {result} |"
            )
        return lines

    def other_table(self) -> list[str]:
        if not (self.memory or self.startup or self.fixture or self.uploads or self.accounting or self.fleet):
            return []
        lines = ["| measure | value | target | result |", "| --- | ---: | ---: | --- |"]
        if self.accounting and self.accounting.ratios:
            a = self.accounting
            cost = 1 - median(a.ratios)
            lines.append(
                f"| the memory budget's cost on create thread: req/s with `--max-memory 1GiB` against `off` (each "
                f"part still counts its bytes), {len(a.ratios)} alternating rounds, median of per-round ratios "
                f"({median([b.rps for b in a.budget]):,.0f} / {median([o.rps for o in a.off]):,.0f} req/s) | "
                f"{cost:+.1%} | < {ACCOUNTING_TARGET:.0%} | {mark(cost < ACCOUNTING_TARGET)} |"
            )
            if a.instructions is not None and a.instruction_cost is not None:
                budget, off = a.instructions
                lines.append(
                    f"| the same in instructions per create thread ({a.note}): {budget:,.0f} with the budget, "
                    f"{off:,.0f} off | {a.instruction_cost:+.1%} | < {ACCOUNTING_TARGET:.0%} | "
                    f"{mark(a.instruction_cost < ACCOUNTING_TARGET)} |"
                )
            elif a.note:
                lines.append(f"| the same in instructions per create thread | - | - | {a.note} |")
        if self.memory:
            m = self.memory
            lines.append(
                f"| resident memory per 100,000 threads with one message (RSS of a fresh server process, "
                f"{m.threads:,} threads created over HTTP at {m.rate:,.0f}/s after {m.warmup:,} to fill the "
                f"journal; {m.note}) | {m.per_100k_mb:.1f} MB ({m.per_thread:,.0f} B/thread) | "
                f"<= {MEMORY_TARGET_MB:.0f} MB | {mark(m.per_100k_mb <= MEMORY_TARGET_MB)} |"
            )
            if m.counted_per_thread is not None and m.counted_per_entry is not None:
                lines.append(
                    f"| bytes the memory budget counts (`/__mock__/health`): per stored thread with one message, "
                    f"per journal entry | {m.counted_per_thread:,.0f} B, {m.counted_per_entry:,.0f} B | - | - |"
                )
        if self.startup:
            mock, base = self.startup["mock"], self.startup["baseline"]
            lines.append(
                f"| process start to first 200 (`python -m mock_server serve`, first POST /v1/threads; median of "
                f"{len(mock)}, max {max(mock):.2f} s) | {median(mock):.2f} s | <= {STARTUP_TARGET_S:.1f} s | "
                f"{mark(median(mock) <= STARTUP_TARGET_S)} |"
            )
            lines.append(f"| the same for the baseline app, for comparison | {median(base):.2f} s | - | - |")
        if self.uploads:
            u = self.uploads
            lines.append(
                f"| resident memory growth for {u.files} uploads of {u.size:,} bytes (`POST /v1/files`, memory "
                f"store, journal on; bench/uploads.py) | {u.growth:.2f} x the bytes uploaded | <= 1.30 x | "
                f"{mark(u.growth <= 1.3)} |"
            )
        if self.fleet:
            fl = self.fleet
            lines.append(
                f"| create thread on Redis (bench/fleet.py; unpinned, redis-server on the same machine): one "
                f"instance {fl.redis:,.0f} req/s against {fl.memory:,.0f} on the memory store; two instances on "
                f"one Redis {fl.pair:,.0f} together | {fl.redis / fl.memory:.2f} x memory, "
                f"two {fl.pair / fl.redis:.2f} x one | - | - |"
            )
        if self.fixture:
            f = self.fixture
            lines.append(
                f"| pytest fixture session start-up: {f.what} | {median(f.added):.2f} s (server start "
                f"{median(f.setup):.2f} s, stop {median(f.teardown):.2f} s) | - | - |"
            )
        return lines

    def loadgen_check(self) -> list[str]:
        loads = [load for o in self.outcomes for p in o.pairs for load in (p.mock, p.baseline)]
        if not loads:
            return []
        generator = [load.loadgen_share for load in loads]
        server = [load.server_share for load in loads]
        if max(generator) >= 0.9:
            verdict = "the load generator was near its limit in some runs: figures may understate the servers"
        elif median(server) < 0.9:
            verdict = (
                "the load generator had CPU to spare, but other work shared the server's core, so absolute "
                "figures are low and noisy; the ratio per CPU-second (requests / server CPU time) corrects for that"
            )
        else:
            verdict = "the load generator had CPU to spare, so the servers were the bottleneck"
        return [
            f"Load generator check: the load generator used a median {median(generator):.0%} "
            f"(max {max(generator):.0%}) of one core, the server under test a median {median(server):.0%} "
            f"(min {min(server):.0%}): {verdict}."
        ]

    def rounds_table(self) -> list[str]:
        lines = [
            "| scenario | round | mock req/s | baseline req/s | ratio | mock p99 ms | baseline p99 ms | "
            "load generator CPU mock/baseline | server CPU mock/baseline | "
            + " | ".join(f"{a.name} req/s (server CPU)" for a in ANCHORS)
            + " |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
            + " | ".join("---:" for _ in ANCHORS)
            + " |",
        ]
        for outcome in self.outcomes:
            for number, p in enumerate(outcome.pairs, 1):
                anchors = []
                for anchor in ANCHORS:
                    loads = outcome.anchors.get(anchor.name, [])
                    load = loads[number - 1] if number <= len(loads) else None
                    anchors.append(f"{load.rps:,.0f} ({load.server_share:.0%})" if load else "-")
                lines.append(
                    f"| {outcome.scenario.key} | {number} | {p.mock.rps:,.0f} | {p.baseline.rps:,.0f} | "
                    f"{p.ratio:.2f} | {p.mock.p99_ms:.2f} | {p.baseline.p99_ms:.2f} | "
                    f"{p.mock.loadgen_share:.0%} / {p.baseline.loadgen_share:.0%} | "
                    f"{p.mock.server_share:.0%} / {p.baseline.server_share:.0%} | {' | '.join(anchors)} |"
                )
        return lines
