"""The GitHub Action run as a runner runs it, and its files under the checkers GitHub users run: `make test-action`.

Not in the main suite (not named test_*.py): each workflow run takes seconds a step, and the install takes a
minute. The workflows run under act (tests/act.py); each one's probe step (tests/action_probe.py) asks the mock
through the SDK and writes what it saw, which the tests assert on. The checkers (check-jsonschema with GitHub's
schemas from SchemaStore, zizmor, shellcheck, act) come from the virtualenv the make target builds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer

from .act import ACTION, REF, ROOT, Job, Step, checkout_copy, run_workflow, tool
from .helpers import HEADERS
from .test_action import EXAMPLES, START, STOP, load, steps_of

PROBE = Path(__file__).with_name("action_probe.py")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
OUTPUTS = {"BASE_URL": "base-url", "PORT": "port", "PID": "pid", "LOG": "log", "STATE_DIR": "state-dir"}


def job_environment(*, tests_venv_on_path: bool) -> dict[str, str]:
    """This machine's environment less the variables the Action exports (what the probe sees of them came from
    the Action) and less THREADS_MOCK_* and PYTHONPATH (the mock is configured and found by the Action alone);
    with the tests' virtualenv first on PATH when the job uses its threads-mock (install: 'false')."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"OPENAI_BASE_URL", "OPENAI_API_KEY", "TEST_API_BASE_URL"}
        and not name.startswith("THREADS_MOCK_")
    }
    if tests_venv_on_path:
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    else:
        environment.pop("PYTHONPATH", None)  # the installed mock, not this checkout's files
    return environment


def mock_job(inputs: Mapping[str, str], facts: Path, *, then: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A job: the Action with `inputs`, the probe, the steps `then`, and the stop action (`if: always()`)."""
    probe_env = {
        "FACTS": str(facts),
        "PYTHON": sys.executable,  # the SDK's virtualenv, whichever Python the mock runs on
        "PROBE": str(PROBE),
        **{name: f"${{{{ steps.mock.outputs.{output} }}}}" for name, output in OUTPUTS.items()},
    }
    return {
        "runs-on": "ubuntu-latest",
        "steps": [
            {"id": "mock", "uses": f"{ACTION}@{REF}", "with": dict(inputs)},
            {"id": "probe", "name": "probe", "run": '"$PYTHON" "$PROBE"', "env": probe_env},
            *(then or []),
            {"id": "stop", "if": "always()", "uses": f"{ACTION}/stop@{REF}"},
        ],
    }


def workflow(jobs: Mapping[str, dict[str, Any]]) -> str:
    return yaml.safe_dump({"on": "push", "jobs": dict(jobs)}, sort_keys=False)


def read_facts(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and not stat.read_text().split(") ", 1)[-1].startswith("Z")


@contextmanager
def no_mock_left(*facts_files: Path) -> Iterator[None]:
    """Ends a mock a failed check left running (the stop action is what is tested: the test does not stop it)."""
    try:
        yield
    finally:
        for path in facts_files:
            pid = int(read_facts(path).get("PID") or 0)
            if pid and alive(pid):
                os.kill(pid, 9)


def assert_stopped(job: Job, facts: dict[str, Any]) -> None:
    stop = job.step("stop", "0")
    assert stop.result == "success", job.output
    assert "threads-mock stopped" in stop.output
    assert f"threads-mock {VERSION} on {facts['BASE_URL']}" in stop.output  # the log's first line, shown
    assert not alive(int(facts["PID"]))


# ---- the Action, run ------------------------------------------------------------------------------------


def test_the_action_starts_the_mock_with_its_inputs_and_the_stop_action_ends_it(tmp_path: Path) -> None:
    inputs = {
        "install": "false",
        "port": "0",
        "seed": "3",
        "mode": "lenient",
        "api-key": " k1 , k2",
        "faults": "# a comment\nGET /v1/threads/thread_fault: status=503\n\n  POST /v1/threads/x/runs: status=500\n",
        "args": '--max-threads 77\n  --fault "GET /v1/threads/thread_quoted: status=418" ',
    }
    facts_file = tmp_path / "facts.json"
    with no_mock_left(facts_file):
        run = run_workflow(
            workflow({"mock": mock_job(inputs, facts_file)}), tmp_path, job_environment(tests_venv_on_path=True)
        )
        facts = read_facts(facts_file)
        job = run.job("mock")
        assert run.returncode == 0 and job.result == "success", run.log
        pid = int(facts["PID"])

        # The outputs, and the variables exported to the steps after it: one URL, with the port it took.
        url = facts["BASE_URL"]
        assert re.fullmatch(rf"http://127\.0\.0\.1:{facts['PORT']}/v1", url)
        assert facts["OPENAI_BASE_URL"] == facts["TEST_API_BASE_URL"] == url
        assert facts["OPENAI_API_KEY"] == "k1"  # the first key accepted, as the job had none
        assert facts["LOG"] == f"{facts['STATE_DIR']}/log" and facts["health"]["pid"] == pid
        assert f"threads-mock on {url} (pid {pid}" in job.step("mock", "start").output

        # The mock answers the SDK, started with the inputs given.
        with BackgroundServer(create_app(Settings(seed=3, mode="lenient"))) as same_seed:
            first = httpx.post(f"{same_seed.base_url}/threads", headers=HEADERS).json()["id"]
        assert facts["thread"] == first  # seed
        assert facts["statuses"] == {
            "thread_placeholder": 200,  # mode: lenient
            "thread_fault": 503,  # faults, one rule a line
            "thread_quoted": 418,  # args: a quoted word with spaces is one word
        }
        assert facts["other_key"] == 401  # api-key: k1 and k2 only
        assert facts["health"]["store"]["max_threads"] == 77  # args: the first line
        # install: 'false': the threads-mock on PATH, of the tests' virtualenv.
        assert Path(facts["command"]).parent == Path(sys.executable).parent
        assert_stopped(job, facts)


def test_a_mock_that_cannot_start_and_tests_that_fail_leave_nothing_running(tmp_path: Path) -> None:
    broken, failing = tmp_path / "broken.json", tmp_path / "failing.json"
    jobs = {
        # The start fails: the step fails with the reason, the probe is skipped, the stop finds nothing to stop.
        "broken": mock_job({"install": "false", "port": "0", "mode": "wrong"}, broken),
        # The job's tests fail after a good start: the stop still runs, ends the mock, and shows its log.
        "failing": mock_job(
            {"install": "false", "port": "0"}, failing, then=[{"id": "tests", "run": "echo 'tests failed'; exit 3"}]
        ),
    }
    with no_mock_left(broken, failing):
        run = run_workflow(workflow(jobs), tmp_path, job_environment(tests_venv_on_path=True))
        assert run.returncode != 0
        job = run.job("broken")
        assert job.result == "failure", run.log
        start = job.step("mock", "start")
        assert start.result == "failure"
        assert "the mock exited with status 2 before it answered" in start.output  # threads-mock start's reason
        assert "argument --mode: invalid choice: 'wrong'" in start.output  # the log's tail
        assert start.annotations == [
            "::error title=threads-mock::the mock did not start: the reason and its log's last lines are above"
        ]
        assert job.steps.get(("probe",), Step()).result in (None, "skipped") and not broken.exists()
        stop = job.step("stop", "0")
        assert stop.result == "success" and "no mock started from" in stop.output
        assert "invalid choice: 'wrong'" in stop.output  # the log, shown by the stop too

        job = run.job("failing")
        assert job.result == "failure" and job.step("tests").result == "failure", run.log
        assert_stopped(job, read_facts(failing))


def wheel_of_this_checkout(directory: Path) -> Path:
    """openai-threads-mock's wheel, built from the files of this checkout: a package index of one for pip."""
    source = checkout_copy(directory / "source")
    wheels = directory / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source)]
    subprocess.run(command, check=True, timeout=300)
    return wheels


def test_the_action_installs_the_mock_from_its_checkout_or_a_release(tmp_path: Path) -> None:
    checkout, release = tmp_path / "checkout.json", tmp_path / "release.json"
    index = wheel_of_this_checkout(tmp_path)
    jobs = {
        "checkout": mock_job({"port": "0"}, checkout),  # install: 'true', version empty: the action's own files
        "release": mock_job({"port": "0", "version": VERSION}, release),
    }
    # The release comes from PyPI by its version; here pip also finds it in the index of one (its dependencies
    # come from PyPI). PIP_FIND_LINKS is pip's own setting, read by the Action's pip as by any.
    jobs["release"]["env"] = {"PIP_FIND_LINKS": str(index)}
    with no_mock_left(checkout, release):
        run = run_workflow(workflow(jobs), tmp_path, job_environment(tests_venv_on_path=False), timeout=600)
        for name, facts_file in (("checkout", checkout), ("release", release)):
            job = run.job(name)
            assert job.result == "success", run.log
            facts = read_facts(facts_file)
            # The mock runs on the virtualenv the Action made under the job's RUNNER_TEMP, not on this one.
            assert Path(facts["command"]).parent == Path(facts["STATE_DIR"]) / "venv" / "bin"
            assert facts["thread"].startswith("thread_") and facts["statuses"]["thread_placeholder"] == 404
            assert_stopped(job, facts)
        # The release job's pip took the wheel of the index; the other built the package from the action's files.
        assert f"openai_threads_mock-{VERSION}-py3-none-any.whl" in run.job("release").step("mock", "install").output
        assert "Successfully installed" in run.job("checkout").step("mock", "install").output


# ---- the files, under the checkers GitHub users run ----------------------------------------------------------


def test_the_actions_and_the_examples_validate_against_githubs_schemas() -> None:
    for schema, paths in (
        ("vendor.github-actions", [START, STOP]),
        ("vendor.github-workflows", sorted(EXAMPLES.glob("*.yml"))),
    ):
        command = [str(tool("check-jsonschema")), "--builtin-schema", schema, *map(str, paths)]
        checked = subprocess.run(command, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


# The examples are for copying: GitHub's own actions by their major tag, as GitHub's documentation writes them,
# and OWNER/openai-threads-mock by a tag, as OWNER is a placeholder with no commit to pin. zizmor's other audits
# apply as they come (its default: every action pinned by a commit hash).
ZIZMOR_CONFIG = {"rules": {"unpinned-uses": {"config": {"policies": {"actions/*": "ref-pin", "OWNER/*": "ref-pin"}}}}}


def test_zizmor_finds_nothing_in_the_actions_and_the_examples(tmp_path: Path) -> None:
    config = tmp_path / "zizmor.yml"
    config.write_text(yaml.safe_dump(ZIZMOR_CONFIG))
    files = [START, STOP, *sorted(EXAMPLES.glob("*.yml"))]
    command = [str(tool("zizmor")), "--offline", "--no-progress", "--config", str(config), *map(str, files)]
    audited = subprocess.run(command, capture_output=True, text=True, check=False)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "No findings" in audited.stdout


def test_shellcheck_finds_nothing_in_the_scripts() -> None:
    for path in (START, STOP):
        for step in steps_of(load(path)):
            command = [str(tool("shellcheck")), "--shell=bash", "--severity=style", "-"]
            checked = subprocess.run(command, input=step["run"], capture_output=True, text=True, check=False)
            assert checked.returncode == 0, f"{path.name}, {step['name']}:\n{checked.stdout}"
