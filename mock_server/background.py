"""`threads-mock start` and `threads-mock stop`: the mock in the background, for scripts and CI.

`start` runs `threads-mock serve` detached, with every option it does not know itself passed on, and
returns only once the mock answers `/__mock__/health`: then it prints the base URL and leaves `pid`, `port`,
`url` and `log` in its state directory. A mock that cannot start makes it fail with the reason and the last
lines of the log. `stop` sends SIGTERM to the pid it left (the mock finishes the requests in flight), waits,
and cleans up; stopping a mock that is not running succeeds, so a CI cleanup step may always run it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .tls import client_context

DEFAULT_STATE_DIR = ".threads-mock"
START_LINE = re.compile(r" on (?P<url>https?://(?P<host>\S+):(?P<port>\d+)/v1)\b(?: \(CA (?P<ca>[^)]+)\))?")
LOG_TAIL = 20
STATE_FILES = ("pid", "port", "url")

START_HELP = """Start the mock in the background and return once it answers: prints its base URL
(http://HOST:PORT/v1) and writes pid, port, url and log into the state directory. Every other option is
`threads-mock serve`'s (--port 0 takes a free port: read it from the output or DIR/port)."""
STOP_HELP = """Stop the mock `threads-mock start` left running (SIGTERM: requests in flight finish), then remove
its pid, port and url files. Succeeds when no mock is running."""


def start_parser() -> argparse.ArgumentParser:
    return state_parser("start", START_HELP, 30.0, "how long to wait for it to answer (30)")


def stop_parser() -> argparse.ArgumentParser:
    return state_parser("stop", STOP_HELP, 10.0, "how long before SIGKILL follows SIGTERM (10)")


def state_parser(command: str, description: str, wait: float, wait_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"threads-mock {command}", description=description)
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, metavar="DIR", help="default .threads-mock")
    parser.add_argument("--wait", type=float, default=wait, metavar="SECONDS", help=wait_help)
    return parser


def start(argv: Sequence[str]) -> int:
    options, serve_args = start_parser().parse_known_args(argv)
    state = Path(options.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    running = running_pid(state)
    if running is not None:
        where = read(state / "url") or "?"
        return fail(f"a mock started from {state} is running already (pid {running}, {where}); stop it first")
    log = state / "log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "serve", *serve_args],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not stopped by the terminal or the CI step that started it
        )
    deadline = time.monotonic() + options.wait
    url = None
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            return fail(f"the mock exited with status {code} before it answered", log)
        url = url or started_url(log)
        if url is not None and answers(url, started_ca(log)):
            (state / "pid").write_text(f"{process.pid}\n")
            (state / "port").write_text(url.rsplit(":", 1)[1].removesuffix("/v1") + "\n")
            (state / "url").write_text(url + "\n")
            print(url, flush=True)
            return 0
        time.sleep(0.05)
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    return fail(f"the mock did not answer within {options.wait:g} s (--wait)", log)


def stop(argv: Sequence[str]) -> int:
    options = stop_parser().parse_args(argv)
    state = Path(options.state_dir)
    pid = running_pid(state)
    if pid is None:
        print(f"threads-mock stop: no mock started from {state} is running", file=sys.stderr)
        clean(state)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + options.wait
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        print(f"threads-mock stop: pid {pid} did not stop within {options.wait:g} s: killed", file=sys.stderr)
    clean(state)
    return 0


def started_url(log: Path) -> str | None:
    found = START_LINE.search(log.read_text(encoding="utf-8", errors="replace"))
    return None if found is None else found.group("url")


def started_ca(log: Path) -> Path | None:
    """The CA file a mock started with --tls named in its start line (None for another)."""
    found = START_LINE.search(log.read_text(encoding="utf-8", errors="replace"))
    return None if found is None or found.group("ca") is None else Path(found.group("ca"))


def answers(url: str, ca_file: Path | None = None) -> bool:
    health = url.removesuffix("/v1") + "/__mock__/health"
    try:
        with urllib.request.urlopen(health, timeout=2, context=client_context(ca_file)) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def running_pid(state: Path) -> int | None:
    """The pid in the state directory, if that process is alive and is a mock (a pid is reused in time)."""
    text = read(state / "pid")
    if text is None or not text.isdigit():
        return None
    pid = int(text)
    if not alive(pid):
        return None
    command = Path(f"/proc/{pid}/cmdline")
    if command.exists() and b"mock_server" not in command.read_bytes():
        return None
    return pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of ours that exited is a zombie until reaped: alive to kill(0), gone to everyone else.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[-1].startswith("Z"))


def read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def clean(state: Path) -> None:
    for name in STATE_FILES:
        (state / name).unlink(missing_ok=True)


def fail(problem: str, log: Path | None = None) -> int:
    print(f"threads-mock start: error: {problem}", file=sys.stderr)
    if log is not None:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL:]
        print(f"last lines of {log}:", *(f"  {line}" for line in lines), sep="\n", file=sys.stderr)
    return 1
