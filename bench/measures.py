"""The measurements: throughput rounds, memory per stored thread, start-up times, profiles."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .anchors import ANCHORS, Anchor, prepare, probe
from .load import Load, LoadGenerator
from .scenarios import (
    BASELINE_IDS,
    SCENARIOS,
    THREAD_BODY,
    Scenario,
    clear_fault_rules,
    create_thread,
    load_fault_rules,
    mixed,
    mock_features,
    mock_ids,
    run_stream,
    write_requests,
)
from .servers import (
    AUTH,
    ROOT,
    BenchError,
    Request,
    Server,
    baseline_command,
    call,
    expect_ok,
    free_port,
    mock_command,
)

# The journal is bounded (10,000 entries by default): it is filled before the memory measure so
# that what is measured is the store, not a journal filling up.
MEMORY_WARMUP = 12_000
ANCHOR_NAMES = tuple(a.name for a in ANCHORS)


@dataclass
class Pair:
    mock: Load
    baseline: Load

    @property
    def ratio(self) -> float:
        return self.mock.rps / self.baseline.rps if self.baseline.rps else 0.0

    @property
    def p99_ratio(self) -> float:
        return self.mock.p99_ms / self.baseline.p99_ms if self.baseline.p99_ms else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The ratio of requests per CPU-second of each server: what is left when other work steals CPU."""
        mock, base = self.mock.per_cpu_second, self.baseline.per_cpu_second
        return mock / base if base else 0.0


@dataclass
class Outcome:
    scenario: Scenario
    pairs: list[Pair] = field(default_factory=list)
    not_run: str | None = None
    # Each anchor's load in each round (measured right after that round's pair), or why it did not run.
    anchors: dict[str, list[Load]] = field(default_factory=dict)
    anchors_not_run: dict[str, str] = field(default_factory=dict)

    def anchor_ratios(self, name: str) -> list[float]:
        """mock / anchor requests per second, per round."""
        loads = self.anchors.get(name, [])
        return [p.mock.rps / a.rps for p, a in zip(self.pairs, loads, strict=False) if a.rps]

    def anchor_cpu_ratios(self, name: str) -> list[float]:
        """mock / anchor requests per CPU-second of each server, per round: what is left when other work on the
        machine takes a share of the server core (a server with more threads gets more of it)."""
        loads = self.anchors.get(name, [])
        pairs = zip(self.pairs, loads, strict=False)
        return [p.mock.per_cpu_second / a.per_cpu_second for p, a in pairs if a.per_cpu_second]


def measured(generator: LoadGenerator, server: Server, requests_file: Path, duration: float) -> Load:
    before = server.cpu_seconds()
    load = generator.run(server.url, requests_file, duration)
    load.server_cpu = server.cpu_seconds() - before
    server.check_alive()
    if load.errors or not load.summary["requests"]:
        raise BenchError(f"{server.name}: {load.errors} failed requests of {load.summary['requests']}: {load.summary}")
    return load


def request_files(
    chosen: list[Scenario], server: Server, ids: dict[str, str], work: Path, anchor: Anchor | None = None
) -> dict[str, Path]:
    """Each scenario's request file for one server, once every distinct request has answered 2xx."""
    files = {}
    for scenario in chosen:
        requests = scenario.requests(ids)
        if anchor is not None:
            requests = [anchor.request(r) for r in requests]
        for request in {r.line(): r for r in requests}.values():
            expect_ok(server.url, request)
        files[scenario.key] = write_requests(work, f"{scenario.key}-{server.name}", requests)
    return files


def captured_stream(url: str, work: Path) -> Path:
    """One run's event stream as the mock sends it, for the baseline to replay (the run-stream scenario)."""
    ids = mock_ids(url)
    request = run_stream(ids)[0]
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            request.method, request.path, json.dumps(request.body), {**AUTH, "Content-Type": "application/json"}
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200 or not body.rstrip().endswith(b"data: [DONE]"):
        raise BenchError(f"the run stream answered {response.status}: {body[:300]!r}")
    path = work / "run-stream.sse"
    path.write_bytes(body)
    return path


def start_anchors(
    options: argparse.Namespace, chosen: list[Scenario], pin: list[str], work: Path
) -> tuple[dict[str, tuple[Anchor, Server]], dict[str, str]]:
    """The anchors that are installed, started and answer; a note per anchor (its version, or why not)."""
    wanted = [a for a in ANCHORS if a.name.lower() in options.anchors]
    if not wanted or not any(s.no_anchors is None for s in chosen):
        return {}, {a.name: "not run: not asked for (--anchors)" for a in ANCHORS}
    ready, notes = prepare(install=not options.no_install and not options.quick)
    running: dict[str, tuple[Anchor, Server]] = {}
    for anchor in ready:
        if anchor not in wanted:
            notes[anchor.name] = "not run: not asked for (--anchors)"
            continue
        server = Server(anchor.name.lower(), anchor.command(), pin, work, ready=probe(anchor))
        try:
            server.wait_ready(timeout=60)
        except BenchError as error:
            server.stop()
            notes[anchor.name] = f"did not start: {str(error).splitlines()[0]}"
            continue
        running[anchor.name] = (anchor, server)
    return running, notes


def throughput(
    options: argparse.Namespace, generator: LoadGenerator, pin: list[str], work: Path
) -> tuple[list[Outcome], dict[str, bool], dict[str, str]]:
    chosen = [s for s in SCENARIOS if s.key in options.scenarios]
    mock = Server("mock", mock_command(), pin, work)
    baseline: Server | None = None
    anchors: dict[str, tuple[Anchor, Server]] = {}
    try:
        mock.wait_ready()
        stream = captured_stream(mock.url, work) if any(s.key == "run-stream" for s in chosen) else None
        baseline = Server("baseline", baseline_command(stream), pin, work)
        baseline.wait_ready()
        anchors, notes = start_anchors(options, chosen, pin, work)
        features = mock_features(mock.url)
        baseline_files = request_files(chosen, baseline, BASELINE_IDS, work)
        outcomes = [Outcome(s) for s in chosen]
        anchor_files: dict[str, dict[str, Path]] = {}
        for name, (anchor, server) in anchors.items():
            with_anchor = [s for s in chosen if s.no_anchors is None]
            try:
                anchor_files[name] = request_files(with_anchor, server, BASELINE_IDS, work, anchor)
            except BenchError as error:
                notes[name] = f"not run: {error}"
        for outcome in outcomes:
            for name in ANCHOR_NAMES:
                if outcome.scenario.no_anchors:
                    outcome.anchors_not_run[name] = outcome.scenario.no_anchors
                elif name not in anchor_files:
                    outcome.anchors_not_run[name] = notes.get(name, "not run")
        if not options.quick:
            warm: list[tuple[Server, dict[str, str], Anchor | None]] = [
                (mock, mock_ids(mock.url), None),
                (baseline, BASELINE_IDS, None),
            ]
            warm += [
                (server, BASELINE_IDS, anchor) for name, (anchor, server) in anchors.items() if name in anchor_files
            ]
            for server, ids, rewrite in warm:
                requests = [rewrite.request(r) for r in mixed(ids)] if rewrite else mixed(ids)
                # Two seconds: the anchors' JIT compilers (V8) warm up on it too.
                generator.run(server.url, write_requests(work, f"warmup-{server.name}", requests), 2)
        for number in range(1, options.rounds + 1):
            # Fresh threads every round: the store keeps the most recently used 100,000 by default, and
            # the create scenarios could otherwise push the ones read here out of it.
            mock_files = request_files(chosen, mock, mock_ids(mock.url), work)
            for outcome in outcomes:
                scenario = outcome.scenario
                if outcome.not_run:
                    continue
                if scenario.fault_rules:
                    outcome.not_run = load_fault_rules(mock.url)
                    if outcome.not_run:
                        continue
                try:
                    mock_load = measured(generator, mock, mock_files[scenario.key], options.duration)
                finally:
                    if scenario.fault_rules:
                        clear_fault_rules(mock.url)
                base_load = measured(generator, baseline, baseline_files[scenario.key], options.duration)
                outcome.pairs.append(Pair(mock_load, base_load))
                line = (
                    f"round {number} {scenario.key:16} mock {mock_load.rps:8.0f}/s  baseline {base_load.rps:8.0f}/s"
                    f"  ratio {outcome.pairs[-1].ratio:.2f}  p99 {mock_load.p99_ms:.2f}/{base_load.p99_ms:.2f} ms"
                    f"  load generator CPU {mock_load.loadgen_share:.0%}/{base_load.loadgen_share:.0%}"
                )
                for name, (_, server) in anchors.items():
                    if name in outcome.anchors_not_run:
                        continue
                    try:
                        load = measured(generator, server, anchor_files[name][scenario.key], options.duration)
                    except BenchError as error:
                        outcome.anchors_not_run[name] = f"failed in round {number}: {str(error).splitlines()[0]}"
                        continue
                    outcome.anchors.setdefault(name, []).append(load)
                    line += f"  {name} {load.rps:8.0f}/s"
                print(line, file=sys.stderr, flush=True)
        return outcomes, features, notes
    finally:
        mock.stop()
        if baseline is not None:
            baseline.stop()
        for _, server in anchors.values():
            server.stop()


@dataclass
class Memory:
    threads: int  # added to the store during the measure
    warmup: int
    rss_before: int
    rss_after: int
    rate: float
    note: str
    # What the memory budget counts (from /__mock__/health), per stored thread and per journal entry.
    counted_per_thread: float | None = None
    counted_per_entry: float | None = None

    @property
    def per_thread(self) -> float:
        return (self.rss_after - self.rss_before) / self.threads

    @property
    def per_100k_mb(self) -> float:
        return self.per_thread * 100_000 / 1e6


def stored_threads(url: str) -> int | None:
    """Threads held by the store, from /__mock__/health when the mock reports it."""
    status, body = call(url, Request("GET", "/__mock__/health"))
    store = body.get("store") if status == 200 and isinstance(body, dict) else None
    return store.get("threads") if isinstance(store, dict) else None


def counted_bytes(url: str) -> tuple[float, float] | None:
    """The memory budget's count per stored thread and per journal entry, when the mock reports it."""
    status, body = call(url, Request("GET", "/__mock__/health"))
    memory = body.get("memory") if status == 200 and isinstance(body, dict) else None
    if not isinstance(memory, dict):
        return None
    threads, entries = body["store"]["threads"], memory["journal"]["entries"]
    return memory["store"]["bytes"] / max(1, threads), memory["journal"]["bytes"] / max(1, entries)


def memory(options: argparse.Namespace, generator: LoadGenerator, pin: list[str], work: Path) -> Memory:
    """RSS of a fresh mock process before and after N threads (one message each) created over HTTP."""
    warmup = min(MEMORY_WARMUP, options.memory_threads)
    command = mock_command()
    note = "default settings"
    help_text = subprocess.run([*command, "--help"], capture_output=True, text=True, check=False).stdout
    if "--max-threads" in help_text:
        # The store's default bound (100,000 threads) would evict the warm-up threads part way.
        command += ["--max-threads", str(warmup + options.memory_threads + 10_000)]
        note = "`--max-threads` raised so that nothing is evicted"
    server = Server("mock-memory", command, pin, work).wait_ready()
    try:
        requests = write_requests(work, "memory", create_thread({}))
        generator.run(server.url, requests, 600, limit=warmup)
        before, stored_before = server.rss_bytes(), stored_threads(server.url)
        load = generator.run(server.url, requests, 900, limit=options.memory_threads)
        server.check_alive()
        after, stored_after = server.rss_bytes(), stored_threads(server.url)
        if load.errors:
            raise BenchError(f"memory fill: {load.errors} failed requests: {load.summary}")
        created = int(load.summary["requests"])
        if stored_before is not None and stored_after is not None:
            created = stored_after - stored_before
            note += ", thread count from /__mock__/health"
        counted = counted_bytes(server.url)
        return Memory(created, warmup, before, after, load.rps, note, *(counted or (None, None)))
    finally:
        server.stop()


def time_to_first_200(command: list[str], pin: list[str], request: Request, timeout: float = 30.0) -> float:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*pin, *command, "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise BenchError(f"{' '.join(command)} exited with {process.returncode} before answering")
            with contextlib.suppress(OSError):
                if call(f"http://127.0.0.1:{port}", request, timeout=5.0)[0] == 200:
                    return time.perf_counter() - started
            time.sleep(0.002)
        raise BenchError(f"{' '.join(command)} gave no 200 within {timeout:.0f} s")
    finally:
        process.terminate()
        process.wait(10)


def startup(options: argparse.Namespace, pin: list[str]) -> dict[str, list[float]]:
    first = Request("POST", "/v1/threads", THREAD_BODY)
    return {
        "mock": [time_to_first_200(mock_command(), pin, first) for _ in range(options.startup_samples)],
        "baseline": [time_to_first_200(baseline_command(), pin, first) for _ in range(options.startup_samples)],
    }


PLUGIN_TEST = """
def test_started(threads_mock):
    assert threads_mock.base_url.endswith("/v1")
"""
PLAIN_TEST = """
def test_started():
    assert True
"""

BACKGROUND_SERVER = """
import json, time, urllib.request
started = time.perf_counter()
from mock_server import create_app
from mock_server.server import BackgroundServer
imported = time.perf_counter()
server = BackgroundServer(create_app()).start()
request = urllib.request.Request(server.base_url + "/threads", data=b"{}", method="POST", headers={
    "Authorization": "Bearer sk-bench", "OpenAI-Beta": "assistants=v2", "Content-Type": "application/json"})
assert urllib.request.urlopen(request).status == 200
ready = time.perf_counter()
server.stop()
print(json.dumps({"import": imported - started, "start": ready - imported, "stop": time.perf_counter() - ready}))
"""


@dataclass
class Fixture:
    what: str
    added: list[float] = field(default_factory=list)  # wall time the fixture adds to a session
    setup: list[float] = field(default_factory=list)
    teardown: list[float] = field(default_factory=list)


def pytest_plugin() -> str | None:
    for entry in importlib.metadata.entry_points(group="pytest11"):
        if entry.value.split(".")[0] == "mock_server":
            return entry.value
    return None


def pytest_session(work: Path, test: str) -> tuple[float, str]:
    (work / "test_fixture_startup.py").write_text(test)
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--durations=0", "-vv", "-p", "no:xdist"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise BenchError(f"the fixture start-up session failed:\n{finished.stdout}\n{finished.stderr}")
    return elapsed, finished.stdout


def phase(output: str, name: str) -> float:
    found = re.search(rf"([\d.]+)s {name}\s+\S*test_started", output)
    return float(found.group(1)) if found else 0.0


def fixture_startup(options: argparse.Namespace, work: Path) -> Fixture:
    """What the `threads_mock` fixture adds to a pytest session (or, before the plugin, BackgroundServer)."""
    plugin = pytest_plugin()
    if plugin:
        what = f"`threads_mock` fixture (plugin {plugin}): a one-test pytest session with it minus one without"
        fixture = Fixture(what)
        for _ in range(options.startup_samples):
            plain, _ = pytest_session(work, PLAIN_TEST)
            with_fixture, output = pytest_session(work, PLUGIN_TEST)
            fixture.added.append(with_fixture - plain)
            fixture.setup.append(phase(output, "setup"))
            fixture.teardown.append(phase(output, "teardown"))
        return fixture
    fixture = Fixture("no pytest plugin yet: import mock_server + `BackgroundServer(create_app()).start()` + first 200")
    for _ in range(options.startup_samples):
        finished = subprocess.run(
            [sys.executable, "-c", BACKGROUND_SERVER], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if finished.returncode != 0:
            raise BenchError(f"BackgroundServer start-up failed:\n{finished.stderr}")
        times = json.loads(finished.stdout)
        fixture.added.append(times["import"] + times["start"] + times["stop"])
        fixture.setup.append(times["start"])
        fixture.teardown.append(times["stop"])
    return fixture


# ---------------------------------------------------------------- profile


def profile(options: argparse.Namespace, generator: LoadGenerator, pin: list[str], work: Path) -> list[Path]:
    """py-spy profiles (speedscope JSON) of the mock under the create and retrieve loads."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise BenchError("--profile needs py-spy: `pip install py-spy` (into any environment on PATH)")
    directory = Path(options.profile)
    directory.mkdir(parents=True, exist_ok=True)
    server = Server("mock-profile", mock_command(), pin, work).wait_ready()
    written = []
    try:
        ids = mock_ids(server.url)
        for scenario in (SCENARIOS[0], SCENARIOS[1]):
            requests = write_requests(work, f"profile-{scenario.key}", scenario.requests(ids))
            output = directory / f"{scenario.key}.speedscope.json"
            seconds = max(2, round(options.duration))
            record = ["record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", "250"]
            spy_process = subprocess.Popen(
                [spy, *record, "--format", "speedscope", "--output", str(output)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            generator.run(server.url, requests, seconds + 1)
            _, error = spy_process.communicate(timeout=60)
            if spy_process.returncode != 0:
                raise BenchError(f"py-spy failed: {error}")
            written.append(output)
    finally:
        server.stop()
    return written
