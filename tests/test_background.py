"""`threads-mock start` and `threads-mock stop`, run as a CI script runs them: in a shell's working directory,
each command a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer

from .helpers import HEADERS, refusing_port

STATE = ".threads-mock"


def mock(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mock_server", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and not stat.read_text().split(") ", 1)[-1].startswith("Z")


def test_start_returns_once_the_mock_answers_and_stop_ends_it(tmp_path: Path) -> None:
    started = mock("start", "--port", "0", "--seed", "3", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    state = tmp_path / STATE
    pid = int((state / "pid").read_text())
    assert (state / "url").read_text().strip() == url == f"http://127.0.0.1:{(state / 'port').read_text().strip()}/v1"
    # It answers at once, with the options it was given: seed 3 hands out the ids a seed-3 mock does.
    first = httpx.post(f"{url}/threads", headers=HEADERS).json()["id"]
    with BackgroundServer(create_app(Settings(seed=3))) as same_seed:
        assert httpx.post(f"{same_seed.base_url}/threads", headers=HEADERS).json()["id"] == first
    assert alive(pid)

    again = mock("start", "--port", "0", cwd=tmp_path)
    assert again.returncode == 1 and f"is running already (pid {pid}, {url}); stop it first" in again.stderr

    stopped = mock("stop", cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stderr
    assert not alive(pid)
    assert sorted(path.name for path in state.iterdir()) == ["log"]
    assert "threads-mock 0.1.0 on" in (state / "log").read_text()
    # Stopping what is not running succeeds (a CI cleanup step always runs), and says so.
    twice = mock("stop", cwd=tmp_path)
    assert twice.returncode == 0 and "no mock started from .threads-mock is running" in twice.stderr


def test_a_mock_that_cannot_start_fails_the_start_with_the_reason(tmp_path: Path) -> None:
    bad_option = mock("start", "--state-dir", "one", "--mode", "wrong", cwd=tmp_path)
    assert bad_option.returncode == 1
    assert "the mock exited with status 2 before it answered" in bad_option.stderr
    assert "argument --mode: invalid choice: 'wrong'" in bad_option.stderr  # the log's tail

    with refusing_port() as port:  # bound by this test: the mock cannot listen there
        taken = mock("start", "--state-dir", "two", "--port", str(port), cwd=tmp_path)
    assert taken.returncode == 1 and "before it answered" in taken.stderr
    assert "address already in use" in taken.stderr.lower()
    assert not (tmp_path / "two" / "pid").exists()


def test_a_start_line_in_the_environment_is_honoured(tmp_path: Path) -> None:
    # Options from THREADS_MOCK_* reach the detached mock as they reach `serve`.
    env = {**os.environ, "THREADS_MOCK_MODE": "lenient"}
    command = [sys.executable, "-m", "mock_server", "start", "--port", "0"]
    started = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    try:
        assert started.returncode == 0, started.stderr
        placeholder = httpx.get(f"{started.stdout.strip()}/threads/thread_placeholder", headers=HEADERS)
        assert placeholder.status_code == 200
    finally:
        assert mock("stop", cwd=tmp_path).returncode == 0
