"""The image as a service container: configured by environment variables alone, driven from this machine by the
official SDK, healthy by its own HEALTHCHECK, not root, stopped cleanly."""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.request
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.beta.threads import TextContentBlock

from mock_server import Settings, create_app
from mock_server.server import BackgroundServer

from .conftest import NAME_PREFIX, SDK_DEPRECATIONS, Running, podman, running

pytestmark = SDK_DEPRECATIONS

TOKEN = "image-check-token"
SEED = 7
FAULT = "POST /v1/threads: status=503; times=1"
ENVIRONMENT = {
    "THREADS_MOCK_SEED": str(SEED),
    "THREADS_MOCK_MODE": "lenient",
    "THREADS_MOCK_FAULTS": FAULT,
    "THREADS_MOCK_ADMIN_TOKEN": TOKEN,
}


@pytest.fixture(scope="module")
def mock(image: str) -> Iterator[Running]:
    with running(image, ENVIRONMENT) as started:
        yield started


def conversation(client: OpenAI) -> list[str]:
    """What a CI job's tests do: meet the configured fault, then an assistant, a thread, a message, a run
    polled to its end and its reply, and a placeholder id only lenient mode knows. Returns the ids handed out."""
    with pytest.raises(openai.InternalServerError) as refused:
        client.beta.threads.create()
    assert refused.value.status_code == 503
    assistant = client.beta.assistants.create(model="gpt-4o", name="support")
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="Hello from the host")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread.id, order="desc").data[0]
    assert reply.role == "assistant" and reply.run_id == run.id
    block = reply.content[0]
    assert isinstance(block, TextContentBlock)
    assert block.text.value == 'You said: "Hello from the host"'
    placeholder = client.beta.threads.retrieve("thread_placeholder")
    assert placeholder.id == "thread_placeholder"
    return [assistant.id, thread.id, message.id, run.id, reply.id]


def test_the_sdk_meets_the_configured_seed_mode_and_fault(mock: Running) -> None:
    with OpenAI(base_url=mock.base_url, api_key="sk-ci", max_retries=0) as client:
        in_the_container = conversation(client)
    # The same settings in this process hand out the same ids: the variables reached the server.
    settings = Settings(seed=SEED, mode="lenient", faults=(FAULT,))
    local = BackgroundServer(create_app(settings)).start()
    try:
        with OpenAI(base_url=local.base_url, api_key="sk-ci", max_retries=0) as client:
            assert conversation(client) == in_the_container
    finally:
        local.stop()
    # The admin API answers the token from outside the container, and no one without it.
    status, journal = mock.get("/__mock__/requests?status=503", token=TOKEN)
    assert status == 200
    assert [(entry["method"], entry["path"]) for entry in journal["data"]] == [("POST", "/v1/threads")]
    assert mock.get("/__mock__/requests")[0] == 401
    assert mock.get("/__mock__/requests", token="wrong")[0] == 401


def test_the_healthcheck_passes(mock: Running, image: str) -> None:
    declared = json.loads(podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image).stdout)
    assert "/__mock__/health" in " ".join(declared["Test"])
    checked = podman("healthcheck", "run", mock.name, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    health = json.loads(podman("inspect", "--format", "{{json .State.Health}}", mock.name).stdout)
    assert health["Status"] == "healthy"


def test_the_server_is_not_root(mock: Running, image: str) -> None:
    assert podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == "10001:10001"
    status = podman("exec", mock.name, "cat", "/proc/1/status").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids == ["10001"] * 4


def test_without_a_token_the_admin_api_is_locked_and_the_probe_fails_off_its_port(image: str) -> None:
    # Started with arguments, as `podman run IMAGE --port 4011` passes them to serve; THREADS_MOCK_PORT
    # stays 4010, where the HEALTHCHECK looks and nothing answers. The SQLite file goes in /data, the user's.
    with running(image, {"THREADS_MOCK_STORE": "sqlite:/data/mock.db"}, args=["--port", "4011"], port=4011) as other:
        with OpenAI(base_url=other.base_url, api_key="sk-ci", max_retries=0) as client:
            kept = client.beta.threads.create(metadata={"kept": "on disk"})
            assert client.beta.threads.retrieve(kept.id).metadata == {"kept": "on disk"}
        assert "mock.db" in podman("exec", other.name, "ls", "/data").stdout.split()
        assert other.get("/__mock__/health")[1]["status"] == "ok"
        status, refused = other.get("/__mock__/faults")
        assert status == 401 and refused["error"]["type"] == "mock_admin_error"
        assert "admin API (/__mock__/...) is locked" in other.logs()
        checked = podman("healthcheck", "run", other.name, check=False)
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert "unhealthy" in checked.stdout
        # SIGTERM reaches the server as PID 1: it stops at once and exits 0 (no SIGKILL after 10 s).
        started = time.monotonic()
        podman("stop", "--time=10", other.name)
        assert time.monotonic() - started < 8
        assert podman("inspect", "--format", "{{.State.ExitCode}}", other.name).stdout.strip() == "0"


def test_with_tls_on_it_serves_https_with_its_own_ca_and_stays_healthy(image: str) -> None:
    name = f"{NAME_PREFIX}tls-{os.getpid()}-{time.monotonic_ns()}"
    podman("run", "--detach", "--name", name, "--publish=127.0.0.1::4010", "--env=THREADS_MOCK_TLS=true", image)
    try:
        url = f"https://{podman('port', name, '4010/tcp').stdout.strip().splitlines()[0]}"
        unverified = ssl._create_unverified_context()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/__mock__/ca.pem", timeout=5, context=unverified) as answer:
                    ca = answer.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # The certificate names 127.0.0.1, where the port is published: a client that trusts the CA checks it.
        trusting = ssl.create_default_context(cadata=ca)
        with urllib.request.urlopen(f"{url}/__mock__/health", timeout=5, context=trusting) as answer:
            assert json.loads(answer.read())["status"] == "ok"
        with OpenAI(
            base_url=f"{url}/v1", api_key="sk-ci", http_client=httpx.Client(verify=trusting), max_retries=0
        ) as client:
            assert client.beta.threads.create().id.startswith("thread_")
        checked = podman("healthcheck", "run", name, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        podman("rm", "--force", "--time=0", name, check=False)


def test_the_image_keeps_no_build_tools_or_secrets(image: str) -> None:
    environment = json.loads(podman("image", "inspect", "--format", "{{json .Config.Env}}", image).stdout)
    assert "THREADS_MOCK_HOST=0.0.0.0" in environment and "THREADS_MOCK_PORT=4010" in environment
    assert not [variable for variable in environment if variable.startswith(("PIP_", "SSL_", "REQUESTS_"))]
    probe = (
        "import importlib.util, os; "
        "print([m for m in ('pip', 'hatchling', 'setuptools') if importlib.util.find_spec(m)], "
        "os.path.exists('/run/secrets/pip-ca'))"
    )
    found = podman("run", "--rm", "--entrypoint", "python3", image, "-I", "-c", probe).stdout.strip()
    assert found == "[] False"
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)
    assert size < 200_000_000, f"the image grew to {size / 1e6:.0f} MB"
