"""`make bench`: the mock against a bare Starlette handler, under the same load, in the same run.

Both servers run as real processes on loopback (one uvicorn worker, no access log), pinned to one
core while the load generator (wrk, Lua scripts in bench/wrk/) runs pinned to another. Each round
drives every scenario against the mock and then the baseline (A B A B ...); the figures are medians
over rounds and the ratio is taken per round, so noise from other work on the machine hits both.
Also measured: resident memory per 100,000 stored threads, time from process start to the first
200, and the pytest fixture's start-up. Prints a Markdown report and writes it to BENCHMARKS.md.

    .venv/bin/python -m bench.run                       # the full bench (about 5 minutes)
    .venv/bin/python -m bench.run --quick               # a few seconds, figures not meaningful
    .venv/bin/python -m bench.run --profile out/        # also py-spy profiles of the mock
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import accounting, fleet, stacks, uploads
from .load import load_generator
from .measures import fixture_startup, memory, profile, startup, throughput
from .report import Report, Uploads
from .scenarios import SCENARIOS
from .servers import BenchError

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("throughput", "stacks", "accounting", "memory", "startup", "fixture", "uploads", "fleet")


def pinning() -> tuple[list[str], list[str], str]:
    """taskset prefixes for servers and load generator; the bench itself runs on the generator's core."""
    cores = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if len(cores) < 2 or not taskset:
        why = "one core" if len(cores) < 2 else "no taskset"
        return [], [], f"not pinned ({why}): server and load generator share the CPU"
    server_core, client_core = cores[0], cores[1]
    os.sched_setaffinity(0, {client_core})
    return (
        [taskset, "-c", str(server_core)],
        [taskset, "-c", str(client_core)],
        f"pinning: servers on core {server_core}, load generator (and this script) on core {client_core} (taskset)",
    )


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    options = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5; wrk rounds to 1 s)")
    options.add_argument("--rounds", type=int, default=4, help="rounds of A B per scenario (default 4)")
    options.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    options.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: it has one core)")
    options.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto (default): wrk, installed with apt-get when missing and root; else the built-in Python one",
    )
    options.add_argument(
        "--no-install", action="store_true", help="never run apt-get (wrk, node) nor npm (the anchors)"
    )
    options.add_argument(
        "--anchors",
        type=lambda text: [name for name in text.lower().split(",") if name and name != "none"],
        default=["steady", "prism"],
        help="comma-separated anchors to measure the mock against: steady, prism (default both; none: neither)",
    )
    options.add_argument(
        "--scenarios",
        type=lambda text: text.split(","),
        default=[s.key for s in SCENARIOS],
        help="comma-separated subset of: " + ", ".join(s.key for s in SCENARIOS),
    )
    options.add_argument(
        "--parts",
        type=lambda text: text.split(","),
        default=None,
        help="comma-separated subset of: " + ", ".join(PARTS) + " (empty: none, e.g. with --profile; "
        "default: all, but fleet, which needs redis-server, with --quick)",
    )
    options.add_argument("--memory-threads", type=int, default=100_000, help="threads stored for the memory figure")
    options.add_argument("--startup-samples", type=int, default=5, help="process starts to time (default 5)")
    options.add_argument("--profile", metavar="DIR", help="also write py-spy profiles of create and retrieve here")
    options.add_argument("--output", help="Markdown file to write (default BENCHMARKS.md; none with --quick)")
    options.add_argument(
        "--quick", action="store_true", help="a smoke run of a few seconds (installs nothing; 1 s runs with wrk)"
    )
    args = options.parse_args(argv)
    unknown = set(args.scenarios) - {s.key for s in SCENARIOS}
    if unknown:
        options.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    unknown = set(args.anchors) - {"steady", "prism"}
    if unknown:
        options.error(f"unknown anchors: {', '.join(sorted(unknown))}")
    if args.parts is None:
        args.parts = [part for part in PARTS if not (args.quick and part == "fleet")]
    args.parts = [part for part in args.parts if part]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        options.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.quick:
        args.rounds = 1
        args.memory_threads = min(args.memory_threads, 500)
        args.startup_samples = 1
    if args.output is None and not args.quick:
        args.output = str(ROOT / "BENCHMARKS.md")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    given = " ".join(sys.argv[1:] if argv is None else argv)
    if os.environ.get("BENCH_FROM_MAKE"):
        command = f'make bench BENCH_ARGS="{given}"' if given else "make bench"
    else:
        command = f"python -m bench.run {given}".strip()
    server_pin, client_pin, pinned = pinning()
    try:
        generator, note = load_generator(options, client_pin)
        if options.quick:
            options.duration = 1.0 if generator.kind == "wrk" else 0.2  # wrk counts whole seconds
        report = Report(command, options, generator, note, pinned, load_average())
        with tempfile.TemporaryDirectory(prefix="threads-mock-bench-") as name:
            work = Path(name)
            if "throughput" in options.parts:
                report.outcomes, report.features, report.anchor_notes = throughput(options, generator, server_pin, work)
            if "stacks" in options.parts:
                report.stacks = stacks.measure(options, generator, server_pin, work)
            if "accounting" in options.parts:
                report.accounting = accounting.measure(options, generator, server_pin, work)
            if "memory" in options.parts:
                report.memory = memory(options, generator, server_pin, work)
            if "startup" in options.parts:
                report.startup = startup(options, server_pin)
            if "fixture" in options.parts:
                report.fixture = fixture_startup(options, work)
            if "uploads" in options.parts:
                files, size = (4, 1_000_000) if options.quick else (40, 4_000_000)
                report.uploads = Uploads(files, size, *uploads.measure(files, size, work))
            if "fleet" in options.parts:
                report.fleet = fleet.measure(generator, options.duration, work)
            if options.profile:
                report.profiles = profile(options, generator, server_pin, work)
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    report.load_after = load_average()
    text = report.markdown()
    print(text)
    if options.output:
        Path(options.output).write_text(text)
        print(f"written to {options.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
