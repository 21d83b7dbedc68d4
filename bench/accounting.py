"""What the memory budget costs create-thread: the mock as users run it (`--max-memory 1GiB`) against the same
mock with the budget lifted (`--max-memory off`: nothing is checked against a share and nothing is evicted, but
each part still counts its bytes, as /__mock__/health reports them), in the same run, alternating.

Two figures: requests per second under the bench's load (rounds alternate between the two servers, the ratio
is taken per round), and, when valgrind is on the machine, instructions per create-thread counted by callgrind
in-process (bench/instructions.py), which the machine's other work does not move.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .load import Load, LoadGenerator
from .scenarios import create_thread, write_requests
from .servers import ROOT, Server, mock_command

CALLGRIND_ROUNDS = 300
COLLECTED = re.compile(r"Collected : (\d+)")


@dataclass
class Accounting:
    budget: list[Load] = field(default_factory=list)
    off: list[Load] = field(default_factory=list)
    # Instructions per create-thread, with the budget and without; None when valgrind is missing.
    instructions: tuple[float, float] | None = None
    note: str = ""

    @property
    def ratios(self) -> list[float]:
        return [b.rps / o.rps for b, o in zip(self.budget, self.off, strict=True) if o.rps]

    @property
    def instruction_cost(self) -> float | None:
        if self.instructions is None:
            return None
        budget, off = self.instructions
        return budget / off - 1


def measure(options: argparse.Namespace, generator: LoadGenerator, pin: list[str], work: Path) -> Accounting:
    found = Accounting()
    budget = Server("mock-budget", mock_command(), pin, work)
    off = Server("mock-budget-off", [*mock_command(), "--max-memory", "off"], pin, work)
    try:
        budget.wait_ready()
        off.wait_ready()
        requests = write_requests(work, "accounting", create_thread({}))
        if not options.quick:
            for server in (budget, off):
                generator.run(server.url, requests, 1)  # warm-up
        for number in range(1, options.rounds + 1):
            found.budget.append(generator.run(budget.url, requests, options.duration))
            found.off.append(generator.run(off.url, requests, options.duration))
            for server in (budget, off):
                server.check_alive()
            print(
                f"round {number} accounting       budget {found.budget[-1].rps:8.0f}/s  off {found.off[-1].rps:8.0f}/s"
                f"  ratio {found.ratios[-1]:.3f}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        budget.stop()
        off.stop()
    if options.quick:
        found.note = "not counted in a --quick run (callgrind takes a minute)"
    else:
        found.instructions, found.note = instructions(CALLGRIND_ROUNDS)
    return found


def instructions(rounds: int) -> tuple[tuple[float, float] | None, str]:
    """Instructions per create-thread with the default budget and with it off, or None and why not."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None, "valgrind not found: instructions not counted"

    def counted(count: int, max_memory: str) -> int:
        environment = {**os.environ, "N": str(count), "SCENARIO": "create", "MAX_MEMORY": max_memory}
        environment["PYTHONHASHSEED"] = "0"  # the same dict layouts, the same counts
        run = subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-m",
                "bench.instructions",
            ],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        found = COLLECTED.search(run.stderr)
        if run.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind failed ({run.returncode}): {run.stderr[-500:]}")
        return int(found.group(1))

    try:
        start = counted(0, "1GiB")
        budget, off = counted(rounds, "1GiB"), counted(rounds, "off")
    except RuntimeError as error:
        return None, str(error)
    return ((budget - start) / rounds, (off - start) / rounds), f"callgrind, {rounds} creates in-process"
