"""The server stacks the mock could run on, measured side by side (issue 19): `--parts stacks`.

The same mock app, served by: uvicorn as it comes (h11 + asyncio, its pure-Python fallback; httptools + uvloop),
uvicorn through the mock's own protocols (mock_server/protocols.py: each answer in one write; what `threads-mock
serve` runs), and Granian (a Rust HTTP server, when it is installed: it is not a dependency). Each round drives
create-thread and retrieve-thread against every stack in turn, on the server core; the figures are medians.

    python -m bench.stacks --port N --stack uvicorn-httptools-uvloop    # one of them, as the bench starts it
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .load import LoadGenerator
from .measures import measured
from .scenarios import create_thread, mock_ids, retrieve_thread, write_requests
from .servers import BenchError, Server

# name: (http, loop) for uvicorn's own protocols.
PLAIN = {"uvicorn h11 + asyncio": ("h11", "asyncio"), "uvicorn httptools + uvloop": ("httptools", "uvloop")}
SCENARIOS = {"create thread": create_thread, "retrieve thread": retrieve_thread}
QUICK = ("uvicorn h11 + asyncio", "mock: httptools + uvloop, one write per answer")


@dataclass
class StackRun:
    name: str
    note: str
    rps: dict[str, list[float]] = field(default_factory=dict)
    cpu_rps: dict[str, list[float]] = field(default_factory=dict)  # requests per server CPU-second


def commands() -> dict[str, tuple[list[str], str]]:
    mock = [sys.executable, "-m", "mock_server", "serve", "--host", "127.0.0.1", "--log-level", "warning"]
    found = {
        "uvicorn h11 + asyncio": ([sys.executable, "-m", "bench.stacks", "--plain", "h11,asyncio"], "as it comes"),
        "uvicorn httptools + uvloop": (
            [sys.executable, "-m", "bench.stacks", "--plain", "httptools,uvloop"],
            "as it comes",
        ),
        "mock: h11 + asyncio, one write per answer": (
            [*mock, "--http", "h11", "--loop", "asyncio"],
            "`serve --http h11 --loop asyncio`: the fallback",
        ),
        "mock: httptools + uvloop, one write per answer": (
            [*mock, "--http", "httptools", "--loop", "uvloop"],
            "`serve`'s default where the wheels install",
        ),
    }
    granian = shutil.which("granian") or str(Path(sys.executable).parent / "granian")
    if importlib.util.find_spec("granian") is not None and Path(granian).exists():
        args = ["--interface", "asgi", "--loop", "uvloop", "--workers", "1", "--runtime-threads", "1"]
        args += ["--log-level", "warning", "--no-ws", "--factory", "--host", "127.0.0.1", "mock_server.app:create_app"]
        found["granian (ASGI, uvloop)"] = ([granian, *args], "one worker, one runtime thread; not a dependency")
    return found


def measure(options: argparse.Namespace, generator: LoadGenerator, pin: list[str], work: Path) -> list[StackRun]:
    runs: list[StackRun] = []
    servers: dict[str, Server] = {}
    files: dict[str, dict[str, Path]] = {}
    try:
        chosen = commands()
        if options.quick:
            # A smoke run (tests/test_bench_smoke.py): the reference and the default only, to stay short.
            chosen = {name: chosen[name] for name in QUICK}
        for name, (command, note) in chosen.items():
            slug = "stack-" + "".join(c if c.isalnum() else "-" for c in name)
            server = Server(slug, command, pin, work)
            try:
                server.wait_ready()
            except BenchError as error:
                server.stop()
                runs.append(StackRun(name, f"did not start: {str(error).splitlines()[0]}"))
                continue
            servers[name] = server
            runs.append(StackRun(name, note))
            ids = mock_ids(server.url)
            files[name] = {key: write_requests(work, f"{slug}-{key[:6]}", make(ids)) for key, make in SCENARIOS.items()}
            if not options.quick:
                generator.run(server.url, files[name]["create thread"], 1)
        for number in range(1, options.rounds + 1):
            for key in SCENARIOS:
                for run in runs:
                    if run.name not in servers:
                        continue
                    load = measured(generator, servers[run.name], files[run.name][key], options.duration)
                    run.rps.setdefault(key, []).append(load.rps)
                    run.cpu_rps.setdefault(key, []).append(load.per_cpu_second)
                    print(f"round {number} stacks {key:16} {run.name:48} {load.rps:8.0f}/s", file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()
    return runs


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(runs: list[StackRun]) -> list[str]:
    reference = next((r for r in runs if r.name == "uvicorn h11 + asyncio" and r.rps), None)
    lines = [
        "Server stacks, the same mock app (median req/s; in brackets, requests per server CPU-second; x: against "
        "uvicorn h11 + asyncio in the same rounds):",
        "",
        "| stack | " + " | ".join(SCENARIOS) + " | how |",
        "| --- | " + " | ".join("---:" for _ in SCENARIOS) + " | --- |",
    ]
    for run in runs:
        cells = []
        for key in SCENARIOS:
            if not run.rps.get(key):
                cells.append("-")
                continue
            rps = median(run.rps[key])
            shown = f"{rps:,.0f} ({median(run.cpu_rps[key]):,.0f})"
            if reference is not None:
                shown += f" {rps / median(reference.rps[key]):.2f}x"
            cells.append(shown)
        lines.append(f"| {run.name} | {' | '.join(cells)} | {run.note} |")
    return lines


def plain(http: str, loop: str, port: int) -> None:
    """The mock app on uvicorn's own protocol (as `threads-mock serve` ran before issue 19)."""
    import uvicorn

    from mock_server import Settings, create_app

    app = create_app(Settings(log_level="warning"))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        loop=loop,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="on",
    )


if __name__ == "__main__":
    parsed = argparse.ArgumentParser(description=__doc__)
    parsed.add_argument("--plain", required=True, help="HTTP,LOOP: uvicorn's own protocol")
    parsed.add_argument("--port", type=int, required=True)
    given = parsed.parse_args()
    http, _, loop = given.plain.partition(",")
    plain(http, loop, given.port)
