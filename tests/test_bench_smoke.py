"""The benchmark (`make bench`, issue 6) kept from rotting: a smoke run of a few seconds, no timing asserted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.anchors import ANCHORS
from bench.load import LoadGenerator
from bench.measures import measured
from bench.scenarios import SCENARIOS, write_requests
from bench.servers import BenchError, Request, Server, mock_command

ROOT = Path(__file__).resolve().parent.parent
ANCHORS_NAMES = [anchor.name for anchor in ANCHORS]


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--no-install", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def rows(report: str) -> dict[str, list[str]]:
    """Each row by its first cell; a title in several tables (a scenario against the baseline, then against
    the anchors) keeps its first row, the baseline's."""
    found: dict[str, list[str]] = {}
    for line in report.splitlines():
        if cells := re.findall(r"\| ([^|]+?) (?=\|)", line):
            found.setdefault(cells[0], cells[1:])
    return found


def test_quick_run_measures_every_part_with_the_builtin_load_generator(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    finished = bench("--load-generator", "python", "--output", str(output))
    assert finished.returncode == 0, finished.stderr
    report = output.read_text()
    assert report == finished.stdout.rstrip("\n") + "\n"
    assert "bench/loadgen.py (built-in" in report
    main, _, against = report.partition("Against the anchors")
    table = rows(main)
    for scenario in SCENARIOS:
        cells = table[scenario.title]
        if cells[-1].startswith("not run:"):
            # Only the fault scenario may be missing, and only with its reason in the report.
            assert scenario.fault_rules and "/__mock__/faults" in cells[-1]
        else:
            mock_rps, baseline_rps = (float(cell.replace(",", "")) for cell in cells[:2])
            assert mock_rps > 0 and baseline_rps > 0
            assert cells[-1] in ("pass", "**FAIL**")
    # The anchors' rows: figures where Prism and Steady were already in .cache/bench-anchors (a quick run installs
    # nothing), else the reason they were not run; the scenarios they cannot do say why.
    anchors = rows(against.split("\n\n")[1])
    for name in ANCHORS_NAMES:
        assert re.search(rf"  - {name}: (@\S+ [\d.]+|.*installs are off)", report), name
    for scenario in SCENARIOS:
        cells = anchors[scenario.title]
        if scenario.no_anchors:
            assert cells[-1] == scenario.no_anchors
        elif cells[2] != "-":
            assert float(cells[1].replace(",", "")) > 0 and float(cells[2].split()[0]) > 0
        else:
            assert "installs are off" in cells[-1]
    # The stacks: the mock's default (one write per answer) and uvicorn's pure-Python one, measured side by side.
    assert re.search(r"\| mock: httptools \+ uvloop, one write per answer \| [\d,]+ \(", report)
    assert re.search(r"\| uvicorn h11 \+ asyncio \| [\d,]+ \([\d,]+\) 1.00x \|", report)
    assert re.search(r"\| resident memory per 100,000 threads .* \| [\d.]+ MB \(", report)
    assert re.search(r"\| process start to first 200 .* \| [\d.]+ s \|", report)
    assert re.search(r"\| pytest fixture session start-up: .* \| -?[\d.]+ s \(", report)
    assert "Load generator check:" in report
    cost = re.search(
        r"\| the memory budget's cost on create thread: .* \| ([+-][\d.]+)% \| < 5% \| (pass|\*\*FAIL\*\*) \|", report
    )
    assert cost is not None  # a 0.2 s round says nothing of the size: only that the ratio is measured
    assert "not counted in a --quick run" in report


def test_the_instruction_counter_runs_each_scenario_with_the_budget_off() -> None:
    environment = {**os.environ, "N": "2", "MAX_MEMORY": "off"}
    for scenario in ("create", "stream"):
        environment["SCENARIO"] = scenario
        assert subprocess.run([sys.executable, "-m", "bench.instructions"], cwd=ROOT, env=environment).returncode == 0
    environment["SCENARIO"] = "everything"
    refused = subprocess.run(
        [sys.executable, "-m", "bench.instructions"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "SCENARIO must be one of round, create, stream" in refused.stderr


def test_wrk_is_used_when_installed_and_its_absence_is_explained() -> None:
    finished = bench("--load-generator", "wrk", "--parts", "throughput", "--scenarios", "retrieve-thread")
    if shutil.which("wrk"):
        assert finished.returncode == 0, finished.stderr
        assert "load generator: wrk " in finished.stdout
        assert rows(finished.stdout)["retrieve thread"][-1] in ("pass", "**FAIL**")
    else:
        assert finished.returncode == 1
        assert "apt-get install wrk" in finished.stderr


def test_a_load_that_fails_is_refused_not_measured(tmp_path: Path) -> None:
    """Fast 404s must not pass for throughput: the bench stops on any failed request."""
    server = Server("mock", mock_command(), [], tmp_path).wait_ready()
    try:
        requests = write_requests(tmp_path, "missing", [Request("GET", "/v1/threads/thread_abcdefghijklmnopqrstuvwx")])
        generator = LoadGenerator("python", "built-in", connections=2, threads=1)
        with pytest.raises(BenchError, match=r"mock: (\d+) failed requests of \1"):
            measured(generator, server, requests, duration=0.2)
    finally:
        server.stop()
