"""The rows of the real API's error table (openai-facts.md) that only faults produce: the 429 rate limit,
the 429 quota and the 500 server error, checked field by field over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mock_server.server import BackgroundServer

from .helpers import HEADERS

RATE_LIMITS_URL = "https://platform.openai.com/account/rate-limits"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


def test_rate_limit_row_from_a_fault(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(rate_limit="3/min")  # the limit the wording names; the fault answers at once
    headers = {**HEADERS, "X-Mock-Fault": "status=429; retry_after=20"}
    response = httpx.post(f"{server.base_url}/threads", headers=headers)
    assert error_of(response, 429) == {
        "message": "Rate limit reached for requests in organization org-mock on requests per min (RPM): Limit 3, "
        f"Used 3, Requested 1. Please try again in 20s. Visit {RATE_LIMITS_URL} to learn more.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert response.headers["retry-after"] == "20"


def test_rate_limit_row_from_the_rate_limiter(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(rate_limit="3/min")
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
        assert [client.post("/threads").status_code for _ in range(3)] == [200, 200, 200]
        response = client.post("/threads")
    error = error_of(response, 429)
    wording = re.fullmatch(
        r"Rate limit reached for requests in organization org-mock on requests per min \(RPM\): Limit 3, Used 3, "
        r"Requested 1\. Please try again in (?P<wait>\d+(\.\d+)?)s\. Visit (?P<url>\S+) to learn more\.",
        error["message"],
    )
    assert wording is not None, error["message"]
    assert 19 < float(wording["wait"]) <= 20 and wording["url"] == RATE_LIMITS_URL
    assert (error["type"], error["param"], error["code"]) == ("requests", None, "rate_limit_exceeded")
    assert response.headers["retry-after"] == "20"


@pytest.mark.parametrize("door", ["header", "rule"])
def test_quota_row(start_server: Callable[..., BackgroundServer], door: str) -> None:
    fault = "status=429; code=insufficient_quota"
    server = start_server(faults=() if door == "header" else (f"POST /v1/threads: {fault}",))
    headers = {**HEADERS, "X-Mock-Fault": fault} if door == "header" else HEADERS
    error = error_of(httpx.post(f"{server.base_url}/threads", headers=headers), 429)
    assert error == {
        "message": "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }


@pytest.mark.parametrize("door", ["header", "rule"])
def test_server_error_row(start_server: Callable[..., BackgroundServer], door: str) -> None:
    server = start_server(faults=() if door == "header" else ("GET /v1/threads/*: status=500",))
    headers = {**HEADERS, "X-Mock-Fault": "status=500"} if door == "header" else HEADERS
    response = httpx.get(f"{server.base_url}/threads/thread_abc", headers=headers)
    error = error_of(response, 500)
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"req_[0-9a-f]{32}", request_id)
    assert error == {
        "message": "The server had an error processing your request. Sorry about that! You can retry your request, "
        "or contact us through our help center at help.openai.com if you keep seeing this error. "
        f"(Please include the request ID {request_id} in your email.)",
        "type": "server_error",
        "param": None,
        "code": None,
    }
