"""Hostile input, table-driven: each case gets a clear OpenAI-style 4xx, and the server stays healthy."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from mock_server.server import BackgroundServer

AUTH = "Authorization: Bearer sk-mock\r\nOpenAI-Beta: assistants=v2\r\n"


@dataclass(frozen=True)
class Case:
    name: str
    request: bytes  # a whole HTTP/1.1 request, sent as is over a raw socket
    status: int
    code: str | None = None
    message: str | None = None
    # httptools refuses some requests that h11 lets through to the app: the answer is then the parser's 400.
    status_on_httptools: int | None = None


def post(path: str, body: bytes, content_type: str | None = "application/json", extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: mock\r\n{AUTH}{extra}Content-Length: {len(body)}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


def get(target: str, extra: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: mock\r\n{AUTH}{extra}Connection: close\r\n\r\n".encode()


def nested(depth: int) -> bytes:
    return b'{"metadata": ' + b"[" * depth + b"]" * depth + b"}"


CASES = [
    Case("not JSON", post("/v1/threads", b"hello"), 400, None, "We could not parse the JSON body"),
    # Only an empty body stands for "no parameters"; whitespace alone is no JSON text.
    Case("whitespace only", post("/v1/vector_stores", b" \r\n"), 400, None, "We could not parse the JSON body"),
    Case("not UTF-8", post("/v1/threads", b'{"metadata": {"k": "\xff\xfe"}}'), 400, None, "We could not parse"),
    Case("JSON array", post("/v1/threads", b"[]"), 400, "invalid_type", "Invalid type for body"),
    Case("JSON string", post("/v1/threads", b'"thread"'), 400, "invalid_type", "Invalid type for body"),
    Case("JSON null", post("/v1/threads", b"null"), 400, "invalid_type", "Invalid type for body"),
    Case(
        "duplicate keys",
        post("/v1/threads", b'{"metadata": {}, "metadata": {"a": "b"}}'),
        400,
        "duplicate_parameter",
        "Invalid body: the parameter 'metadata' is given more than once.",
    ),
    Case(
        "nested duplicate keys",
        post("/v1/threads", b'{"metadata": {"a": "1", "a": "2"}}'),
        400,
        "duplicate_parameter",
        None,
    ),
    Case("raw NUL byte", post("/v1/threads", b'{"metadata": {"k": "a\x00b"}}'), 400, None, "We could not parse"),
    Case("1e400", post("/v1/threads", b'{"metadata": {"k": 1e400}}'), 400, None, "We could not parse"),
    Case("2**70", post("/v1/threads", b'{"metadata": {"k": 1180591620717411303424}}'), 400, "invalid_type", None),
    Case(
        "2**70 as a chunk size",
        post(
            "/v1/threads",
            json.dumps(
                {
                    "tool_resources": {
                        "file_search": {
                            "vector_stores": [
                                {
                                    "chunking_strategy": {
                                        "type": "static",
                                        "static": {"max_chunk_size_tokens": 2**70, "chunk_overlap_tokens": 1},
                                    }
                                }
                            ]
                        }
                    }
                }
            ).encode(),
        ),
        400,
        None,
        None,
    ),
    Case("10,000 nested arrays", post("/v1/threads", nested(10_000)), 400, None, "We could not parse"),
    Case("10,000 nested objects", post("/v1/threads", b'{"a":' * 10_000 + b"1" + b"}" * 10_000), 400, None, None),
    Case(
        "string of 10 MB",
        post("/v1/threads", b'{"metadata": {"k": "' + b"x" * 10_000_000 + b'"}}'),
        413,
        "request_too_large",
        None,
    ),
    Case("wrong content type", post("/v1/threads", b"{}", "text/plain"), 415, "unsupported_content_type", None),
    Case(
        "form content type",
        post("/v1/threads", b"messages=1", "application/x-www-form-urlencoded"),
        415,
        "unsupported_content_type",
        None,
    ),
    Case(
        "no content type with a body",
        post("/v1/threads", b"{}", None),
        415,
        "unsupported_content_type",
        "Missing Content-Type header.",
    ),
    Case("id of 10,000 characters", get("/v1/threads/thread_" + "a" * 10_000), 404, None, "No thread found"),
    Case("id with a slash", get("/v1/threads/thread_a/b"), 404, None, "Invalid URL (GET /v1/threads/thread_a/b)"),
    Case("id with %2F", get("/v1/threads/thread_a%2Fb"), 404, None, "Invalid URL"),
    Case("id ..", get("/v1/threads/.."), 400, "invalid_value", "Expected an ID that begins with 'thread'"),
    Case("unicode id", get("/v1/threads/thread_%C3%A9%E2%9C%93"), 404, None, "No thread found with id 'thread_é✓'."),
    Case("control characters in the id", get("/v1/threads/thread_%00%0A%1B"), 404, None, "No thread found"),
    Case("repeated limit", get("/v1/threads/thread_x/messages?limit=1&limit=2"), 400, "invalid_type", None),
    Case("limit=-1", get("/v1/threads/thread_x/messages?limit=-1"), 400, "integer_below_min_value", None),
    Case("limit=1e9", get("/v1/threads/thread_x/messages?limit=1e9"), 400, "invalid_type", None),
    Case(
        "limit of 400 digits",
        get("/v1/threads/thread_x/messages?limit=" + "9" * 400),
        400,
        "integer_above_max_value",
        None,
    ),
    Case("order=sideways", get("/v1/threads/thread_x/messages?order=sideways"), 400, "invalid_value", None),
    Case(
        "query of 1,000 parameters",
        get("/v1/threads/thread_x/messages?" + "&".join(f"p{i}=1" for i in range(1000))),
        404,
        None,
        "No thread found",
    ),
    Case(
        "many headers",
        get("/v1/threads/thread_x", "".join(f"X-Junk-{i}: {i}\r\n" for i in range(300))),
        404,
        None,
        None,
    ),
    Case(
        "method the route lacks",
        b"PATCH /v1/threads HTTP/1.1\r\nHost: mock\r\n" + AUTH.encode() + b"Connection: close\r\n\r\n",
        405,
        None,
        None,
    ),
    Case(
        "unknown method",
        b"BREW /v1/threads HTTP/1.1\r\nHost: mock\r\n" + AUTH.encode() + b"Connection: close\r\n\r\n",
        405,
        None,
        None,
        status_on_httptools=400,
    ),
    Case(
        "not HTTP at all",
        b"HELLO THERE\r\n\r\n",
        400,
        None,
        "The request is not valid HTTP/1.1",
    ),
]


def complete(received: bytes) -> bool:
    """Whether a whole response (headers and a body of the announced length) has arrived."""
    head, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def exchange(server: BackgroundServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        # The server may answer (413) and close before the whole body is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        received = b""
        while not complete(received):
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[BackgroundServer]:
    from mock_server import Settings, create_app

    with BackgroundServer(create_app(Settings(log_level="warning"))) as server:
        yield server


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_request_gets_a_clear_4xx(hostile_server: BackgroundServer, case: Case) -> None:
    status, headers, body = exchange(hostile_server, case.request)
    parser = hostile_server.stack.http
    expected = case.status_on_httptools if parser == "httptools" and case.status_on_httptools else case.status
    assert status == expected, body[:300]
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"].startswith("req_")
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    if case.code is not None:
        assert error["code"] == case.code, error
    if case.message is not None:
        assert case.message in error["message"], error
    # ...and the server is still healthy, with its state intact.
    with httpx.Client(
        base_url=hostile_server.base_url, headers={"Authorization": "Bearer sk-mock", "OpenAI-Beta": "assistants=v2"}
    ) as api:
        thread = api.post("/threads", json={"metadata": {"after": case.name[:60]}}).json()
        assert api.get(f"/threads/{thread['id']}").json() == thread


def test_a_body_that_never_ends_gets_408(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(body_timeout=0.3)
    head = post("/v1/threads", b"").replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
    status, _, body = exchange(server, head + b'5\r\n{"met\r\n')  # one chunk, then silence
    assert status == 408
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_a_body_over_the_limit_is_refused_before_it_is_read(start_server: Callable[..., BackgroundServer]) -> None:
    server = start_server(max_body_size=1024)
    headers_only = post("/v1/threads", b"").replace(b"Content-Length: 0", b"Content-Length: 50000000")
    status, _, body = exchange(server, headers_only)  # nothing of the 50 MB is ever sent
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
