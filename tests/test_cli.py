"""The command line as a user runs it: a real `python -m mock_server serve` process, its options and help."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from mock_server.settings import Settings

from .helpers import HEADERS, serving


def test_port_zero_prints_the_port_it_bound() -> None:
    with serving("--port", "0", "--log-level", "warning") as server:
        url = server.url
        port = int(url.rsplit(":", 1)[1])
        assert port > 0 and url == f"http://127.0.0.1:{port}"
        health = httpx.get(f"{url}/__mock__/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_workers_on_port_zero_print_the_port_they_share(tmp_path: Path) -> None:
    args = ["--port", "0", "--workers", "2", "--store", f"sqlite:{tmp_path / 'mock.db'}", "--log-level", "warning"]
    with serving(*args) as server:
        health = httpx.get(f"{server.url}/__mock__/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_help_explains_every_option() -> None:
    result = subprocess.run([sys.executable, "-m", "mock_server", "serve", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--seed",
        "--api-key",
        "--config",
        "--log-level",
        "--poll-after-ms",
        "THREADS_MOCK_PORT",
    ):
        assert option in result.stdout


def test_serve_with_seed_and_key_from_the_command_line() -> None:
    with serving("--seed", "7", "--api-key", "sk-only") as server:
        url = server.url
        wrong = httpx.post(f"{url}/v1/threads", headers=HEADERS)
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        right = httpx.post(f"{url}/v1/threads", headers={**HEADERS, "Authorization": "Bearer sk-only"})
        assert right.status_code == 200 and right.json()["created_at"] == 1_717_000_001
        assert "server" not in right.headers and "date" in right.headers  # no `server: uvicorn`, as the real API


def test_access_log_line_per_request() -> None:
    with serving("--log-level", "info") as server:
        httpx.post(f"{server.url}/v1/threads", headers=HEADERS)
        output = server.stop()
    assert '"POST /v1/threads" 200' in output


def test_environment_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('seed = 3\napi_keys = ["sk-file"]\nlog_level = "warning"\n')
    with serving(env={"THREADS_MOCK_CONFIG": str(config), "THREADS_MOCK_API_KEY": "sk-env"}) as server:
        url = server.url
        by_env = httpx.post(f"{url}/v1/threads", headers={**HEADERS, "Authorization": "Bearer sk-env"})
        by_file = httpx.post(f"{url}/v1/threads", headers={**HEADERS, "Authorization": "Bearer sk-file"})
    assert by_env.status_code == 200 and by_file.status_code == 401
    assert by_env.json()["created_at"] == 1_717_000_001


def test_settings_precedence(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text("port = 1111\nseed = 1\nmax_body_size = 10\n")
    settings = Settings.load(
        {"config": str(config), "port": 3333}, {"THREADS_MOCK_PORT": "2222", "THREADS_MOCK_SEED": "2"}
    )
    assert (settings.port, settings.seed, settings.max_body_size) == (3333, 2, 10)
    assert Settings.load({}, {}).port == 4010


def test_bad_option_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--port", "x"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "invalid int value" in result.stderr


def test_installed_package_carries_the_contract(tmp_path: Path) -> None:
    """`pip install .` into a fresh venv, then the server runs from another directory. The package alone is
    installed there; its dependencies are this environment's, reached through a `.pth` line (which does not
    read this environment's own `.pth` files, so the editable install of the checkout stays out of sight)."""
    root = Path(__file__).resolve().parent.parent
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", str(root)]
    subprocess.run(pip, check=True, timeout=600)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with serving(cwd=elsewhere, python=python, env={"PYTHONPATH": ""}) as server:
        url = server.url
        contract = httpx.get(f"{url}/openapi.yaml")
        created = httpx.post(f"{url}/v1/threads", headers=HEADERS, json={"metadata": {"k": 5}})
    assert contract.status_code == 200 and "createThread" in contract.text
    assert created.status_code == 400 and created.json()["error"]["param"] == "metadata.k"
    located = subprocess.run(
        [python, "-c", "import mock_server.contract as c; print(c.default_contract_path())"],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in located.stdout
