"""Rate limits per API key: the token bucket, the real 429, and the x-ratelimit-* headers."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import httpx
import openai
import pytest

from mock_server.middleware.ratelimit import RateLimit, TokenBuckets
from mock_server.server import BackgroundServer

from .helpers import HEADERS

RATE_LIMIT_MESSAGE = re.compile(
    r"Rate limit reached for requests in organization org-mock on requests per min \(RPM\): "
    r"Limit 3, Used 3, Requested 1\. Please try again in (?P<wait>[\d.]+)s\. "
    r"Visit https://platform\.openai\.com/account/rate-limits to learn more\."
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "limit", "unit", "window"),
    [
        ("60/min", 60, "min", "requests per min (RPM)"),
        ("5/s", 5, "s", "requests per sec (RPS)"),
        ("1000/h", 1000, "h", "requests per hour (RPH)"),
        ("10000/d", 10000, "d", "requests per day (RPD)"),
        (" 7 / minute ", 7, "min", "requests per min (RPM)"),
        ("2/SEC", 2, "s", "requests per sec (RPS)"),
    ],
)
def test_parse(text: str, limit: int, unit: str, window: str) -> None:
    rate = RateLimit.parse(text)
    assert (rate.limit, rate.unit, rate.window) == (limit, unit, window)


@pytest.mark.parametrize("text", ["", "60", "60/week", "0/min", "-1/s", "1.5/s", "many/min"])
def test_parse_refusals(text: str) -> None:
    with pytest.raises(ValueError, match="a rate limit is like 60/min"):
        RateLimit.parse(text)


def test_token_bucket_refills_continuously_per_key() -> None:
    clock = Clock()
    buckets = TokenBuckets(RateLimit(3, "min"), clock)
    grants = [buckets.take("a") for _ in range(4)]
    assert [g.allowed for g in grants] == [True, True, True, False]
    assert [g.remaining for g in grants] == [2, 1, 0, 0]
    assert [g.reset_in for g in grants[:3]] == [20.0, 40.0, 60.0]
    assert (grants[3].used, grants[3].retry_in) == (3, 20.0)
    assert buckets.take("b").allowed  # another key, another bucket
    clock.now += 19.5
    assert not buckets.take("a").allowed
    clock.now += 0.5
    again = buckets.take("a")
    assert (again.allowed, again.remaining) == (True, 0)
    clock.now += 600
    assert buckets.take("a").remaining == 2  # never more than the limit
    buckets.clear()
    assert buckets.take("a").remaining == 2


def test_headers_on_every_answer_and_the_real_429(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(rate_limit="3/min")
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
        answers = [client.post("/threads"), client.get("/threads/thread_nope"), client.post("/threads")]
        limited = client.post("/threads")
    assert [a.status_code for a in answers] == [200, 404, 200]
    assert [a.headers["x-ratelimit-limit-requests"] for a in answers] == ["3", "3", "3"]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
    assert re.fullmatch(r"(19\.9\d*|20)s", answers[0].headers["x-ratelimit-reset-requests"])
    assert re.fullmatch(r"(59\.9\d*|1m0)s", answers[2].headers["x-ratelimit-reset-requests"])

    assert limited.status_code == 429
    assert limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert limited.headers["retry-after"] == "20"
    assert limited.headers["x-request-id"].startswith("req_")
    error = limited.json()["error"]
    found = RATE_LIMIT_MESSAGE.fullmatch(error["message"])
    assert found is not None, error["message"]
    assert 19.0 < float(found["wait"]) <= 20.0
    assert (error["type"], error["param"], error["code"]) == ("requests", None, "rate_limit_exceeded")


def test_limits_are_per_api_key_and_spare_the_admin_api(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(rate_limit="1/h")
    url = f"{server.base_url}/threads"
    assert httpx.post(url, headers=HEADERS).status_code == 200
    assert httpx.post(url, headers=HEADERS).status_code == 429
    other = {**HEADERS, "Authorization": "Bearer sk-other"}
    assert httpx.post(url, headers=other).status_code == 200
    health = httpx.get(f"{server.url}/__mock__/health")
    assert health.status_code == 200 and "x-ratelimit-limit-requests" not in health.headers
    unauthenticated = httpx.post(url, headers={"OpenAI-Beta": "assistants=v2"})
    assert unauthenticated.status_code == 401 and "x-ratelimit-limit-requests" not in unauthenticated.headers


def test_no_headers_without_a_limit(api: httpx.Client) -> None:
    assert not [name for name in api.post("/threads").headers if name.startswith("x-ratelimit")]


def test_reset_refills_the_buckets(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(rate_limit="1/d")
    url = f"{server.base_url}/threads"
    assert [httpx.post(url, headers=HEADERS).status_code for _ in range(2)] == [200, 429]
    httpx.post(f"{server.url}/__mock__/reset")
    assert httpx.post(url, headers=HEADERS).status_code == 200


def test_faults_answer_with_the_limit_in_their_wording_and_headers(
    start_server: Callable[..., BackgroundServer],
) -> None:
    server = start_server(rate_limit="10/s")
    answer = httpx.post(f"{server.base_url}/threads", headers={**HEADERS, "X-Mock-Fault": "status=429"})
    assert answer.headers["x-ratelimit-remaining-requests"] == "9"
    assert "requests per sec (RPS): Limit 10, Used 10, Requested 1. Please try again in 100ms." in answer.text
    assert "retry-after" not in answer.headers


@pytest.mark.sdk
def test_the_sdk_raises_rate_limit_error(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(rate_limit="2/min")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-mock", max_retries=0)
        client.beta.threads.create()
        client.beta.threads.create()
        with pytest.raises(openai.RateLimitError) as caught:
            client.beta.threads.create()
    assert (caught.value.status_code, caught.value.code, caught.value.type) == (429, "rate_limit_exceeded", "requests")
    assert caught.value.response.headers["retry-after"] == "30"
    assert "Limit 2, Used 2, Requested 1." in caught.value.message
