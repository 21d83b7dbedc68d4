"""openai-python's own tests of the API families the mock serves, run unchanged against it in lenient mode.

    python -m tests.sdk_suites --sdk .venv/bin/python --sdk .venv-openai1/bin/python   # make test-sdk-suites

For each SDK virtualenv given: the `openai` release installed there, its sdist from PyPI (`pip download`, kept
in --cache: the tests are the ones that release shipped, and nothing of them is committed here), and its
`tests/api_resources/...` files for the families below, run by that virtualenv's pytest against a mock of their
own started with `threads-mock start --mode lenient` (`TEST_API_BASE_URL`, which the suites read, is its root,
where Prism sat). The suites run at once, each in one process. Exits 1 unless every test of every suite passes
(a test a suite skips itself, as openai-python's conftest skips respx with aiohttp, is no failure); its last
line counts them all, for CI.

Only the suites' own pytest plugins are loaded (pytest-asyncio, respx, xdist with --workers): the project's
virtualenvs also hold this project's plugin, Hypothesis' and Schemathesis', which the suites never had.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each family's test files, under tests/api_resources/, in every placement an SDK release has had them
# (vector stores were `client.beta.vector_stores` until 1.66, `client.vector_stores` since): a release must
# have at least one of each family's files, or the run fails (a suite that lost a family proves nothing).
FAMILIES: dict[str, tuple[str, ...]] = {
    "assistants": ("beta/test_assistants.py",),
    "threads": ("beta/test_threads.py",),
    "messages": ("beta/threads/test_messages.py",),
    "runs": ("beta/threads/test_runs.py",),
    "run steps": ("beta/threads/runs/test_steps.py",),
    "files": ("test_files.py",),
    "vector stores": ("test_vector_stores.py", "beta/test_vector_stores.py"),
    "vector store files": ("vector_stores/test_files.py", "beta/vector_stores/test_files.py"),
    "file batches": ("vector_stores/test_file_batches.py", "beta/vector_stores/test_file_batches.py"),
    "conversations": ("test_conversations.py",),
    "conversation items": ("conversations/test_items.py",),
    "responses": ("test_responses.py",),
    "response input items": ("responses/test_input_items.py",),
}
# Tests of operations the mock does not serve, in the files above: `responses.compact` (3.x), a model call of
# its own with no state to keep.
DESELECTED = "not compact"
# The suites' plugins, loaded by name with autoloading off (see the module's docstring).
PLUGINS = ("pytest_asyncio.plugin", "respx.plugin")
COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)\b")
LOG_TAIL = 120


@dataclass
class Outcome:
    version: str
    code: int
    counts: Counter[str]
    seconds: float
    log: Path


def installed_openai(python: str) -> str:
    """The version of `openai` a virtualenv's Python imports."""
    code = "import importlib.metadata as m; print(m.version('openai'))"
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def suite_dir(cache: Path, version: str) -> Path:
    """The release's tests (and the pyproject.toml that holds their pytest settings), from its sdist: downloaded
    and unpacked once, kept in `cache`."""
    unpacked = cache / f"openai-{version}"
    if (unpacked / "tests" / "api_resources").is_dir():
        return unpacked
    sdist = cache / f"openai-{version}.tar.gz"
    if not sdist.exists():
        # pip, the ordinary client: --no-binary makes it take the sdist, which has the tests (a wheel has not).
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*command, f"openai=={version}", "--dest", str(cache)], check=True)
    prefix = f"openai-{version}/"
    with tarfile.open(sdist) as archive:
        wanted = [
            member
            for member in archive.getmembers()
            if member.name.startswith(f"{prefix}tests/") or member.name == f"{prefix}pyproject.toml"
        ]
        # Only the tests and the settings: without `src/`, the suite imports the virtualenv's installed SDK.
        archive.extractall(cache, members=wanted, filter="data")
    return unpacked


def family_files(suite: Path) -> list[str]:
    """The suite's files of the families the mock serves; raises if a family has none."""
    found: list[str] = []
    for family, candidates in FAMILIES.items():
        present = [
            f"tests/api_resources/{name}" for name in candidates if (suite / "tests/api_resources" / name).exists()
        ]
        if not present:
            raise SystemExit(f"sdk-suites: {suite.name} has no tests of {family} (looked for {', '.join(candidates)})")
        found += present
    return found


def start_mock(state: Path) -> str:
    """A lenient mock of the suite's own, in the background (`threads-mock start`): its root URL."""
    command = [sys.executable, "-m", "mock_server", "start", "--state-dir", str(state), "--port", "0"]
    started = subprocess.run(
        [*command, "--mode", "lenient", "--log-level", "warning"], capture_output=True, text=True, cwd=ROOT
    )
    if started.returncode != 0:
        raise SystemExit(f"sdk-suites: the mock did not start:\n{started.stderr}")
    return started.stdout.strip().removesuffix("/v1")


def stop_mock(state: Path) -> None:
    subprocess.run([sys.executable, "-m", "mock_server", "stop", "--state-dir", str(state)], cwd=ROOT, check=False)


def run_suite(python: str, cache: Path, workers: int) -> Outcome:
    version = installed_openai(python)
    suite = suite_dir(cache, version)
    files = family_files(suite)
    log = cache / f"openai-{version}.log"
    with tempfile.TemporaryDirectory(prefix="sdk-suites-") as state:
        url = start_mock(Path(state))
        began = time.monotonic()
        try:
            # The suite's own settings (pyproject.toml: asyncio_mode, filterwarnings = error, ...) but its addopts,
            # whose `-n auto` would start as many workers as there are cores for each suite at once.
            options = ["-o", "addopts=", "--tb=short", "-q", "-rfE", "-p", "no:cacheprovider", "-k", DESELECTED]
            plugins = [
                argument for name in (*PLUGINS, *(["xdist.plugin"] if workers > 1 else [])) for argument in ("-p", name)
            ]
            parallel = ["-n", str(workers)] if workers > 1 else []
            env = {**os.environ, "TEST_API_BASE_URL": url, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
            with log.open("w") as output:
                code = subprocess.run(
                    [python, "-m", "pytest", *options, *plugins, *parallel, *files],
                    cwd=suite,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                ).returncode
        finally:
            seconds = time.monotonic() - began
            mock_log = Path(state) / "log"
            stop_mock(Path(state))
            if mock_log.exists():
                (cache / f"openai-{version}.mock.log").write_bytes(mock_log.read_bytes())
    lines = log.read_text(errors="replace").splitlines()
    summary = next((line for line in reversed(lines) if COUNT.search(line)), "")
    counts: Counter[str] = Counter()
    for number, word in COUNT.findall(summary):
        counts["errors" if word.startswith("error") else word] += int(number)
    return Outcome(version, code, counts, seconds, log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sdk_suites", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdk", action="append", required=True, metavar="PYTHON", help="an SDK virtualenv's python")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "sdk-suites", help="sdists and logs")
    parser.add_argument("--workers", type=int, default=1, help="pytest-xdist workers per suite (1: none)")
    options = parser.parse_args(argv)
    # Absolute, as each suite runs from its own directory; not resolved, which would leave the virtualenv.
    pythons = [os.path.abspath(python) for python in options.sdk]
    options.cache.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(len(pythons)) as pool:
        outcomes = list(pool.map(lambda python: run_suite(python, options.cache, options.workers), pythons))
    total: Counter[str] = Counter()
    failed = False
    for outcome in outcomes:
        counts = outcome.counts
        total.update(counts)
        broken = outcome.code != 0 or counts["failed"] or counts["errors"] or not counts["passed"]
        failed = failed or bool(broken)
        shown = ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "no summary line"
        print(
            f"openai {outcome.version}: {shown} in {outcome.seconds:.1f} s (pytest exit {outcome.code}; {outcome.log})"
        )
        if broken:
            tail = outcome.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
            print(*(f"  {line}" for line in tail), sep="\n")
    print(
        f"sdk-suites: {total['passed']} passed, {total['failed'] + total['errors']} failed, {total['skipped']} skipped"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
