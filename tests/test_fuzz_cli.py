"""`threads-mock fuzz`, run as a user runs it: a clean mock passes, a drifted contract or a broken server
fails and names the check, and a target that cannot be tested at all says why, with exit status 2;
and the rule the fuzzer holds generated requests to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from mock_server.contract import Contract, default_contract_path
from mock_server.fuzzing.constraints import within_constraints
from mock_server.server import BackgroundServer

from .helpers import refusing_port

KEY = "sk-fuzz-cli"
# Small budgets: these tests are about the command, not about the mock (tests/test_schemathesis.py).
QUICK = ("--phases", "examples", "--max-examples", "3", "--seed", "7")


def fuzz(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mock_server", "fuzz", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, env=env)


def drifted_contract(tmp_path: Path) -> Path:
    """The contract with one response field changed so that the real mock breaks it."""
    document = yaml.safe_load(default_contract_path().read_text(encoding="utf-8"))
    thread = document["components"]["schemas"]["ThreadObject"]
    assert thread["properties"]["created_at"] == {"type": "integer"}
    thread["properties"]["created_at"] = {"type": "string"}
    path = tmp_path / "drifted.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_a_clean_run_against_the_self_started_mock_exits_0_and_writes_reports(tmp_path: Path) -> None:
    junit, report = tmp_path / "fuzz.xml", tmp_path / "fuzz.json"
    # One example per operation and phase: the fuzzing phase is what reaches the operations with no examples.
    only_one = ("--max-examples", "1")
    run = fuzz(
        *QUICK,
        "--phases",
        "examples,fuzzing,stateful",
        *only_one,
        "--report",
        "junit",
        junit,
        "--report",
        "json",
        report,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "the mock, started for this run" in run.stdout
    assert "every check held" in run.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    operations = str(len(Contract().operations))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (operations, "0", "0")
    names = {case.get("name") for case in suite.iter("testcase")}
    assert "createThread (POST /threads)" in names
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["exit_code"] == 0 and document["failures"] == [] and document["seed"] == 7
    assert "unsupported_method" in document["checks"] and "ignored_auth" in document["checks"]
    assert all(result["passed"] > 0 for result in document["check_results"].values())


def test_a_drifted_contract_fails_and_names_the_check(tmp_path: Path) -> None:
    junit = tmp_path / "fuzz.xml"
    only = ("--operation", "createThread", "--operation", "createMessage")
    run = fuzz(*QUICK, *only, "--contract", drifted_contract(tmp_path), "--report", "junit", junit)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED createThread (POST /threads): response_schema_conformance" in run.stdout
    assert 'is not of type "string"' in run.stdout
    assert "curl -X POST -H 'Authorization: Bearer sk-threads-mock-fuzz'" in run.stdout
    assert "To replay a request, start the same mock first: threads-mock serve --port" in run.stdout
    failures = {case.get("name"): case.find("failure") for case in ET.parse(junit).getroot().iter("testcase")}
    failure = failures["createThread (POST /threads)"]
    assert failure is not None and "response_schema_conformance" in (failure.get("type") or "")
    assert failures["createMessage (POST /threads/{thread_id}/messages)"] is None


def test_a_server_that_breaks_its_answers_fails(start_server: Callable[..., BackgroundServer]) -> None:
    # The fault model's `invalid` fault: a 200 whose body the contract does not allow.
    server = start_server(seed=1, api_keys=(KEY,), faults=("POST /v1/threads: invalid",))
    run = fuzz(*QUICK, "--url", server.base_url, "--api-key", KEY, "--operation", "createThread")

    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED createThread (POST /threads): response_schema_conformance" in run.stdout
    # Another's server: its credentials stay out of the printed commands.
    assert KEY not in run.stdout
    assert "Authorization: [Filtered]" in run.stdout


def test_a_healthy_server_by_url_passes_with_third_party_defaults(
    start_server: Callable[..., BackgroundServer],
) -> None:
    server = start_server(seed=1, api_keys=(KEY,))
    only = ("--operation", "createThread", "--operation", "getThread")
    run = fuzz("--phases", "examples", "--max-examples", "2", *only, "--url", server.base_url, "--api-key", KEY)

    assert run.returncode == 0, run.stdout + run.stderr
    checks = next(line for line in run.stdout.splitlines() if line.strip().startswith("checks"))
    assert "ignored_auth" in checks and "unsupported_method" not in checks


def test_an_unreachable_url_exits_2_and_says_so(tmp_path: Path) -> None:
    with refusing_port() as port:
        url, junit = f"http://127.0.0.1:{port}/v1", tmp_path / "fuzz.xml"
        run = fuzz("--url", url, "--api-key", KEY, "--report", "junit", junit)

    assert run.returncode == 2, run.stdout + run.stderr
    assert f"Nothing was tested: cannot reach {url}: connection refused" in run.stdout
    # CI shows the reason too: the report holds one test case in error, not an empty, green suite.
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("errors")) == ("1", "1")
    error = suite.find("testcase/error")
    assert error is not None and f"cannot reach {url}" in (error.get("message") or "")


def test_refused_credentials_exit_2_and_say_so(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=(KEY,))
    wrong = fuzz("--url", server.base_url, "--api-key", "sk-not-the-key")
    without_key = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}
    missing = fuzz("--url", server.base_url, env=without_key)

    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "the server refused the credentials (401: Incorrect API key provided" in wrong.stdout
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "refused the request without credentials (401" in missing.stdout
    assert "pass --api-key KEY or set OPENAI_API_KEY" in missing.stdout


def test_a_url_without_the_threads_api_exits_2(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(api_keys=(KEY,))
    run = fuzz("--url", f"{server.url}/v2", "--api-key", KEY)

    assert run.returncode == 2, run.stdout + run.stderr
    assert f"no Threads API at {server.url}/v2: POST {server.url}/v2/threads answered 404" in run.stdout


def test_options_that_cannot_give_a_run_exit_2() -> None:
    several_users = fuzz("--checks", "object_level_authorization")
    unknown_check = fuzz("--checks", "not_a_server_error,no_such_check")
    unknown_operation = fuzz("--operation", "listThreads", *QUICK)
    bad_report = fuzz("--report", "html", "out.html")

    assert several_users.returncode == 2 and "needs several users" in several_users.stderr
    assert unknown_check.returncode == 2 and "unknown check no_such_check" in unknown_check.stderr
    assert unknown_operation.returncode == 2 and "unknown operation listThreads" in unknown_operation.stderr
    assert bad_report.returncode == 2 and "format must be one of junit, json" in bad_report.stderr


def test_generated_requests_are_held_to_the_rules_the_schema_cannot_say(
    start_server: Callable[..., BackgroundServer],
) -> None:
    def static(size: float, overlap: float) -> dict[str, object]:
        chunking = {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}
        return {"file_ids": [], "chunking_strategy": chunking}

    def overlaps(body: dict[str, Any]) -> list[object]:
        stores = body["tool_resources"]["file_search"]["vector_stores"]
        return [store["chunking_strategy"]["static"]["chunk_overlap_tokens"] for store in stores]

    valid = {"tool_resources": {"file_search": {"vector_stores": [static(801, 700)]}}}
    whole_floats = {"tool_resources": {"file_search": {"vector_stores": [static(417.0, 1e9)]}}}
    invalid = {"tool_resources": {"file_search": {"vector_stores": [static(800, -1)]}}}
    server = start_server(api_keys=(KEY,))
    headers = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "assistants=v2"}

    assert overlaps(within_constraints(valid)) == [400]
    assert overlaps(within_constraints(whole_floats)) == [208]
    # Only what the schema allows and the rule refuses is touched: an invalid request stays invalid.
    assert overlaps(within_constraints(invalid)) == [-1]
    for body, status in ((valid, 200), (whole_floats, 200), (invalid, 400)):
        assert httpx.post(f"{server.base_url}/threads", json=body, headers=headers).status_code == status
