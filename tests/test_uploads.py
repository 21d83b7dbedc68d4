"""POST /v1/files with every kind of broken multipart body, over a real socket: each gets an OpenAI-style 4xx
(never a 500), and nothing is stored. And what a good upload keeps: its bytes, its expiry, the journal's part."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_server import MockApp, Settings, create_app
from mock_server.journal import UPLOAD_KEPT
from mock_server.server import BackgroundServer

from .helpers import HEADERS, journal, wait_until

LIMIT = 64 * 1024
BOUNDARY = "xYzZY"
AUTH = {"Authorization": HEADERS["Authorization"]}


def part(name: str, value: bytes, filename: bytes | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'.encode()
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    headers = b"Content-Disposition: " + disposition + b"\r\n"
    if content_type is not None:
        headers += f"Content-Type: {content_type}\r\n".encode()
    return b"--" + BOUNDARY.encode() + b"\r\n" + headers + b"\r\n" + value + b"\r\n"


def form(*parts: bytes, closed: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


def upload(client: httpx.Client, body: bytes | Iterator[bytes], content_type: str | None = None) -> httpx.Response:
    headers = {"Content-Type": content_type or f"multipart/form-data; boundary={BOUNDARY}"}
    return client.post("/files", content=body, headers=headers)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer[MockApp]]:
    with BackgroundServer(create_app(Settings(max_file_bytes=LIMIT, body_timeout=5))) as running:
        yield running


@pytest.fixture
def api(server: BackgroundServer[MockApp]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as client:
        yield client


def stored_nothing(server: BackgroundServer[MockApp], api: httpx.Client) -> None:
    assert api.get("/files").json()["data"] == []
    assert server.call(server.app.store.stats())["file_bytes"] == 0


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


GOOD_FILE = part("file", b"hello", b"notes.txt", "text/plain")
PURPOSE = part("purpose", b"assistants")

REFUSED = [
    ("no file", form(PURPOSE), 400, "'file' is a required property", None),
    ("no purpose", form(GOOD_FILE), 400, "'purpose' is a required property", None),
    ("an empty file", form(PURPOSE, part("file", b"", b"empty.txt")), 400, "'' should be non-empty - 'file'", "file"),
    (
        "a purpose not in the list",
        form(part("purpose", b"world_domination"), GOOD_FILE),
        400,
        "'world_domination' is not one of ['fine-tune', 'assistants', 'batch', 'user_data', 'vision', 'evals'] - "
        "'purpose'",
        "purpose",
    ),
    (
        "an unknown field",
        form(PURPOSE, GOOD_FILE, part("colour", b"red")),
        400,
        "Additional properties are not allowed ('colour' was unexpected)",
        None,
    ),
    (
        "expiry seconds that are not a number",
        form(PURPOSE, GOOD_FILE, part("expires_after[anchor]", b"created_at"), part("expires_after[seconds]", b"x")),
        400,
        "'x' is not of type 'integer' - 'expires_after.seconds'",
        "expires_after.seconds",
    ),
    (
        "a non-UTF-8 filename",
        form(PURPOSE, part("file", b"hello", b"caf\xe9.txt")),
        400,
        "Invalid 'file': the filename is not valid UTF-8.",
        "file",
    ),
    ("two files", form(PURPOSE, GOOD_FILE, GOOD_FILE), 400, "the parameter 'file' is given more than once", "file"),
    (
        "a body that stops before its closing boundary",
        form(PURPOSE, GOOD_FILE, closed=False),
        400,
        "the body ends before its closing boundary",
        None,
    ),
    ("a body that is not multipart", b"garbage\r\n", 400, "not a valid multipart/form-data body", None),
    ("a file over the limit", form(PURPOSE, part("file", b"x" * (LIMIT + 1), b"big.bin")), 413, "is too large", "file"),
]


@pytest.mark.parametrize(("case", "body", "status", "message", "param"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_broken_upload_is_refused_and_stores_nothing(
    server: BackgroundServer[MockApp], api: httpx.Client, case: str, body: bytes, status: int, message: str, param: str
) -> None:
    error = error_of(upload(api, body), status)
    assert message in error["message"], error
    assert error["param"] == param
    stored_nothing(server, api)


def test_the_wrong_content_type_is_refused_naming_the_form(api: httpx.Client) -> None:
    error = error_of(api.post("/files", json={"purpose": "assistants"}), 415)
    assert "only accepts 'multipart/form-data' requests" in error["message"]
    assert error_of(api.post("/files"), 415)["message"].startswith("Missing Content-Type header.")
    error = error_of(upload(api, form(PURPOSE, GOOD_FILE), "multipart/form-data"), 400)
    assert "names no boundary" in error["message"]


def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_read(
    server: BackgroundServer[MockApp], api: httpx.Client
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-mock\r\n"
            b"Content-Type: multipart/form-data; boundary=" + BOUNDARY.encode() + b"\r\n"
            b"Content-Length: 10000000\r\n\r\n" + PURPOSE
        )
        answer = b""
        while b'"code"' not in answer and (chunk := sock.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code":"file_too_large"' in answer
    stored_nothing(server, api)


def test_a_file_that_passes_the_limit_as_it_streams_is_refused(
    server: BackgroundServer[MockApp], api: httpx.Client
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: only the streamed size can tell
        yield form(PURPOSE, closed=False) + part("file", b"", b"big.bin")[:-2]
        for _ in range(LIMIT // 1024 + 2):
            yield b"y" * 1024

    error = error_of(upload(api, chunks()), 413)
    assert error["code"] == "file_too_large"
    stored_nothing(server, api)


def test_a_client_that_goes_away_half_way_leaves_nothing(server: BackgroundServer[MockApp], api: httpx.Client) -> None:
    body = form(PURPOSE, part("file", b"z" * 5000, b"cut.bin"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-mock\r\n"
            b"Content-Type: multipart/form-data; boundary="
            + BOUNDARY.encode()
            + b"\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
    entry = wait_until(lambda: [e for e in journal(server, path="/v1/files") if e["completed"] and "cut.bin" in str(e)])
    assert entry[-1]["status"] is None or entry[-1]["status"] < 500
    stored_nothing(server, api)


def test_a_good_upload_keeps_its_bytes_expiry_and_only_the_start_in_the_journal(
    server: BackgroundServer[MockApp], api: httpx.Client
) -> None:
    content = bytes(range(256)) * 40  # 10 KiB, more than the journal keeps
    bracketed = form(
        part("purpose", b"batch"),
        part("expires_after[anchor]", b"created_at"),
        part("expires_after[seconds]", b"3600"),
        part("file", content, "données.jsonl".encode(), "application/octet-stream"),
    )
    created = upload(api, bracketed).json()
    assert (created["filename"], created["bytes"], created["purpose"]) == ("données.jsonl", len(content), "batch")
    assert created["expires_at"] == created["created_at"] + 3600
    assert created["status"] == "processed" and created["id"].startswith("file-") and len(created["id"]) == 27
    download = api.get(f"/files/{created['id']}/content")
    assert download.content == content and download.headers["content-length"] == str(len(content))
    # The JSON form of an object part, as Schemathesis sends it, says the same.
    as_json = form(
        part("purpose", b"batch"), part("expires_after", b'{"anchor": "created_at", "seconds": 7200}'), GOOD_FILE
    )
    again = upload(api, as_json).json()
    assert again["expires_at"] == again["created_at"] + 7200
    recorded = [e for e in journal(server, path="/v1/files", method="POST") if "données" in str(e["body"])]
    assert len(recorded[-1]["body"]) <= UPLOAD_KEPT  # characters of the kept bytes, each byte at most one
    for file_id in (created["id"], again["id"]):
        assert api.delete(f"/files/{file_id}").json() == {"object": "file", "deleted": True, "id": file_id}
    stored_nothing(server, api)
