"""The doors into the fault model besides the SDK's view: the header's refusals, the real command line,
the environment, the config file, the Python API, and what faults leave alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server import Settings, create_app
from mock_server.cli import main, parser
from mock_server.server import BackgroundServer

from .helpers import HEADERS, serving


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


# ---- the header ----


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("stauts=503", "unknown fault 'stauts'"),
        ("status=42", "status must be an HTTP error status from 400 to 599, not 42"),
        ("latency=soon", "latency must be a duration like 250ms or 2s, not 'soon'"),
        ("reset; empty", "at most one of status, reset, empty, malformed, invalid, slow, hang, stream_cut per fault"),
        ("status=503; times=2", "'times' has no meaning in a header"),
        ("", "it names no fault"),
    ],
)
def test_an_unreadable_header_gets_a_400_that_says_why(api: httpx.Client, value: str, reason: str) -> None:
    error = error_of(api.post("/threads", headers={"X-Mock-Fault": value}), 400)
    assert error["message"].startswith(f"Invalid 'X-Mock-Fault' header: {reason}")
    assert (error["type"], error["param"], error["code"]) == ("mock_fault_error", "X-Mock-Fault", "invalid_fault")


REGION = "Country, region, or territory not supported"
CONFLICT = "The request conflicts with another request on the same resource. Please try again."


def test_header_faults_apply_at_the_root_too(server: BackgroundServer) -> None:
    headers = {**HEADERS, "X-Mock-Fault": "status=409"}
    error = error_of(httpx.post(f"{server.url}/threads", headers=headers), 409)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("status", "fields"),
    [
        (400, ("Bad Request.", "invalid_request_error", None)),
        (403, (REGION, "request_forbidden", "unsupported_country_region_territory")),
        (409, (CONFLICT, "invalid_request_error", None)),
        (502, ("Bad gateway.", "cf_bad_gateway", 502)),
        (503, ("The server is overloaded or not ready yet.", "server_error", None)),
        (504, ("Gateway timeout.", "cf_gateway_timeout", 504)),
        (418, ("I'm a Teapot.", "invalid_request_error", None)),
    ],
)
def test_status_envelopes(api: httpx.Client, status: int, fields: tuple[str, str, Any]) -> None:
    error = error_of(api.post("/threads", headers={"X-Mock-Fault": f"status={status}"}), status)
    assert (error["message"], error["type"], error["code"]) == fields
    assert error["param"] is None


def test_401_and_404_name_the_key_and_the_object(api: httpx.Client) -> None:
    headers = {"X-Mock-Fault": "status=401", "Authorization": "Bearer sk-proj-abcdefghijklmnopMxYA"}
    unauthorized = error_of(api.get("/threads/thread_abc", headers=headers), 401)
    assert unauthorized["message"].startswith("Incorrect API key provided: sk-proj-****MxYA. ")
    assert unauthorized["code"] == "invalid_api_key"
    missing = error_of(api.get("/threads/thread_abc/messages/msg_xyz", headers={"X-Mock-Fault": "status=404"}), 404)
    assert missing["message"] == "No message found with id 'msg_xyz'."
    unknown = error_of(api.post("/threads", headers={"X-Mock-Fault": "status=404"}), 404)
    assert unknown["message"] == "Invalid URL (POST /v1/threads)"


def test_message_and_code_can_be_given(api: httpx.Client) -> None:
    fault = 'status=400; message="Thread is locked; try later."; code=thread_locked'
    error = error_of(api.post("/threads", headers={"X-Mock-Fault": fault}), 400)
    assert (error["message"], error["code"]) == ("Thread is locked; try later.", "thread_locked")


def test_faults_leave_the_admin_api_and_the_contract_alone(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(faults=("*: status=500",))
    assert httpx.get(f"{server.url}/__mock__/health").status_code == 200
    assert httpx.get(f"{server.url}/openapi.json").status_code == 200
    assert httpx.get(f"{server.url}/__mock__/faults", headers={"X-Mock-Fault": "reset"}).status_code == 200
    assert httpx.post(f"{server.base_url}/threads", headers=HEADERS).status_code == 500


# ---- the command line, for real ----


def test_serve_with_fault_and_rate_limit_options() -> None:
    options = ["--log-level", "warning"]
    options += ["--fault", "POST /v1/threads: status=503; times=1", "--fault", "GET /threads/*: status=404"]
    options += ["--rate-limit", "100/min", "--journal-size", "2"]
    with serving(*options) as server:
        url = server.url
        first = httpx.post(f"{url}/v1/threads", headers=HEADERS)
        second = httpx.post(f"{url}/v1/threads", headers=HEADERS)
        assert (first.status_code, second.status_code) == (503, 200)
        assert first.headers["x-ratelimit-limit-requests"] == "100"
        assert httpx.get(f"{url}/v1/threads/{second.json()['id']}", headers=HEADERS).status_code == 404
        assert [e["status"] for e in httpx.get(f"{url}/__mock__/requests").json()["data"]] == [200, 404]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--fault", "POST /v1/threads: stauts=503"], "unknown key 'stauts'"),
        (["--fault", "POST threads: status=503"], "must start with '/'"),
        (["--rate-limit", "60/week"], "a rate limit is like 60/min"),
        (["--rate-limit", "0/min"], "a rate limit is like 60/min"),
    ],
)
def test_bad_options_are_refused_before_start(
    capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["serve", *option])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_rule_in_the_config_file_stops_serve_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('[[faults]]\nmatch = "POST /v1/threads"\nstatus = 503\nevery = 0\n')
    for name in [n for n in os.environ if n.startswith("THREADS_MOCK_")]:
        monkeypatch.delenv(name)
    assert main(["serve", "--config", str(config), "--log-level", "warning"]) == 2
    assert "every must be at least 1" in capsys.readouterr().err


def test_the_help_explains_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--fault RULE", "--rate-limit N/UNIT", "--journal-size N", "--admin-token TOKEN"):
        assert option in text
    assert "repeatable" in text and "60/min" in text and "loopback" in text


# ---- the environment and the config file ----


def test_environment_gives_one_rule_per_line() -> None:
    environ = {
        "THREADS_MOCK_FAULTS": "POST /v1/threads: status=503\n\nGET /v1/threads/*: latency=10ms\n",
        "THREADS_MOCK_RATE_LIMIT": "5/s",
        "THREADS_MOCK_JOURNAL_SIZE": "7",
        "THREADS_MOCK_ADMIN_TOKEN": "secret",
    }
    settings = Settings.load({}, environ=environ)
    assert settings.faults == ("POST /v1/threads: status=503", "GET /v1/threads/*: latency=10ms")
    assert (settings.rate_limit, settings.journal_size, settings.admin_token) == ("5/s", 7, "secret")
    app = create_app(settings)
    assert [rule.id for rule in app.faults.rules()] == ["fault_1", "fault_2"]


def test_config_file_faults_tables(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(
        'rate_limit = "60/min"\njournal_size = 3\n\n'
        '[[faults]]\nmatch = "POST /v1/threads"\nstatus = 429\nretry_after = 1\nprobability = 0.2\n\n'
        '[[faults]]\nmatch = "GET /v1/threads/*"\nlatency = "lognormal(median=100ms, sigma=0.5, max=2s)"\nevery = 3\n'
    )
    app = create_app(Settings.load({"config": str(config)}, environ={}))
    assert app.faults.describe() == [
        {
            "id": "fault_1",
            "match": "POST /v1/threads",
            "status": 429,
            "retry_after": 1,
            "probability": 0.2,
            "matched": 0,
            "applied": 0,
        },
        {
            "id": "fault_2",
            "match": "GET /v1/threads/*",
            "latency": "lognormal(median=100ms, sigma=0.5, max=2s)",
            "every": 3,
            "matched": 0,
            "applied": 0,
        },
    ]
    assert app.journal.size == 3
    assert app.rate_limits.rate.text() == "60/min"


# ---- the Python API, as the pytest plugin uses it ----


def test_python_api_on_a_running_server(server: BackgroundServer, api: httpx.Client) -> None:
    book = server.app.faults
    rule_id = book.add("POST /v1/threads: status=503; times=1")
    assert api.post("/threads").status_code == 503
    assert api.post("/threads").status_code == 200
    assert book.describe(rule_id)[0]["applied"] == 1
    second = book.add({"match": "POST /v1/threads", "status": 502})
    assert api.post("/threads").status_code == 502
    assert book.remove(second) is True and book.remove(second) is False
    assert api.post("/threads").status_code == 200
    book.add("reset")
    assert book.clear() == 2
    assert api.post("/threads").status_code == 200
    entries = server.app.journal.entries(method="POST")
    assert [e.status for e in entries] == [503, 200, 502, 200, 200]
    assert entries[0].fault == {"source": "rules", "kind": "status", "rules": [rule_id], "status": 503}
