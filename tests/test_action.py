"""The GitHub Action (action.yml, stop/action.yml) and the two example workflows (examples/github-actions/), as
data: what GitHub requires of an action and of a workflow, every input described and in README's table, every
output written by the step it names, no `${{ }}` inside a script, every script bash that parses, the examples'
inputs and THREADS_MOCK_* variables ones the Action and the mock accept.

Running the Action takes seconds a step (a mock's start, the SDK's import, its stop), so that is
tests/action_checks.py, run by `make test-action`: the Action under act as a runner runs it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "action.yml"
STOP = ROOT / "stop" / "action.yml"
EXAMPLES = ROOT / "examples" / "github-actions"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    # YAML 1.1 reads the key `on` as true; GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps_of(action: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = action["runs"]["steps"]
    return steps


# ---- the actions, as data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [START, STOP], ids=["start", "stop"])
def test_each_action_is_a_composite_action_github_can_load(path: Path) -> None:
    action = load(path)
    assert set(action) <= {"name", "description", "author", "branding", "inputs", "outputs", "runs"}
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite" and set(action["runs"]) == {"using", "steps"}
    ids = [step["id"] for step in steps_of(action) if "id" in step]
    assert len(ids) == len(set(ids))
    for step in steps_of(action):
        # A composite `run:` step must name its shell; bash is the one the scripts are written for.
        assert set(step) <= {"name", "id", "shell", "env", "run"} and step["shell"] == "bash", step
        assert step["name"]
        # Inputs reach a script through env: only, never as text pasted into the script (script injection).
        assert "${{" not in step["run"], step["name"]
        for value in step.get("env", {}).values():
            assert isinstance(value, str)
            used = EXPRESSION.findall(value)
            assert used and EXPRESSION.sub("", value) == "", f"an env value is one expression: {value!r}"
    for name, declared in action.get("inputs", {}).items():
        assert re.fullmatch(r"[a-z][a-z-]*", name), name
        assert declared["description"].strip(), f"input {name} has no description"
        assert isinstance(declared.get("default"), str), f"input {name} has no default (or not a string)"


@pytest.mark.parametrize("path", [START, STOP], ids=["start", "stop"])
def test_every_input_is_used_and_every_expression_names_something_that_exists(path: Path) -> None:
    action = load(path)
    inputs = set(action.get("inputs", {}))
    step_ids = {step["id"] for step in steps_of(action) if "id" in step}
    used: set[str] = set()
    for step in steps_of(action):
        for value in step.get("env", {}).values():
            for expression in EXPRESSION.findall(value):
                context, _, rest = expression.partition(".")
                assert context in {"inputs", "github", "steps", "job", "runner"}, expression
                if context == "inputs":
                    assert rest in inputs, expression
                    used.add(rest)
                if context == "steps":
                    assert rest.split(".")[0] in step_ids, expression
    assert used == inputs, f"inputs no step reads: {sorted(inputs - used)}"


def test_every_output_is_written_by_the_step_it_names() -> None:
    action = load(START)
    scripts = {step["id"]: step["run"] for step in steps_of(action) if "id" in step}
    for name, declared in action["outputs"].items():
        assert declared["description"].strip(), name
        found = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", declared["value"])
        assert found is not None, declared["value"]
        step_id, output = found.groups()
        assert output == name
        assert f'echo "{output}=' in scripts[step_id], f"step {step_id} writes no {output}= to GITHUB_OUTPUT"


@pytest.mark.parametrize("path", [START, STOP], ids=["start", "stop"])
def test_every_script_is_bash_that_parses(path: Path) -> None:
    for step in steps_of(load(path)):
        checked = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{step['name']}: {checked.stderr}"


def readme_table(heading: str) -> dict[str, str]:
    """The rows of the first table under `heading` in README's "The GitHub Action": name -> default column."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The GitHub Action", 1)[1].split("\n## ", 1)[0]
    part = section.split(heading, 1)[1]
    rows = re.findall(r"^\| `([\w-]+)` \| ([^|]*) \|", part.split("\n\n", 2)[1], flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_readme_lists_every_input_with_its_default_and_every_output() -> None:
    start, stop = load(START), load(STOP)
    documented = readme_table("Inputs of the start")
    assert set(documented) == set(start["inputs"])
    for name, default in documented.items():
        expected = start["inputs"][name]["default"]
        assert default == (f"`{expected}`" if expected else "empty"), name
    assert set(readme_table("Outputs")) == set(start["outputs"])
    stop_documented = readme_table("Inputs of the stop")
    assert set(stop_documented) == set(stop["inputs"])


# ---- the example workflows ------------------------------------------------------------------------------


def jobs_of(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert workflow["name"] and workflow["on"]
    jobs: dict[str, dict[str, Any]] = workflow["jobs"]
    for job in jobs.values():
        assert job["runs-on"] and job["steps"]
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
    return jobs


def test_the_example_workflow_uses_the_action_with_inputs_it_declares() -> None:
    (job,) = jobs_of(load(EXAMPLES / "with-action.yml")).values()
    used = [step for step in job["steps"] if step.get("uses", "").startswith("OWNER/openai-threads-mock")]
    start, stop = used
    assert start["uses"] == "OWNER/openai-threads-mock@v1" and "id" in start
    assert set(start["with"]) <= set(load(START)["inputs"])
    assert stop["uses"] == "OWNER/openai-threads-mock/stop@v1" and stop["if"] == "always()"
    assert set(stop.get("with", {})) <= set(load(STOP)["inputs"])
    order = job["steps"]
    tests = next(step for step in order if step.get("run") == "python -m pytest")
    assert order.index(start) < order.index(tests) < order.index(stop)
    # Its fault rules are ones the mock accepts.
    rules = [line for line in start["with"]["faults"].splitlines() if line.strip() and not line.startswith("#")]
    create_app(Settings(faults=tuple(rules), mode=start["with"]["mode"], seed=int(start["with"]["seed"])))


def test_the_service_container_example_configures_the_mock_by_environment_alone() -> None:
    (job,) = jobs_of(load(EXAMPLES / "service-container.yml")).values()
    mock = job["services"]["mock"]
    assert re.fullmatch(r"ghcr\.io/OWNER/openai-threads-mock:latest", mock["image"])
    assert "4010:4010" in mock["ports"]
    assert set(mock) <= {"image", "ports", "env", "options", "credentials", "volumes"}  # no command: none exists
    # Every variable is one the mock reads, with a value it accepts (an unknown THREADS_MOCK_ name is refused).
    assert all(name.startswith("THREADS_MOCK_") for name in mock["env"])
    settings = Settings.load({}, environ={name: str(value) for name, value in mock["env"].items()})
    create_app(settings)
    assert settings.mode == "lenient" and settings.seed == 7 and len(settings.faults) == 1
    assert job["env"]["OPENAI_BASE_URL"] == job["env"]["TEST_API_BASE_URL"] == "http://127.0.0.1:4010/v1"
