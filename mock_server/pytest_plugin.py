"""pytest plugin: a clean Threads mock for every test, in one line.

    def test_my_assistant_code(threads_mock):
        client = threads_mock.openai_client()
        ...
        assert threads_mock.requests[-1].json == {...}

One real server per session (per xdist worker) is started on first use and reset before each test;
a `threads_mock` marker with server settings (seed, mode, rate_limit...) gets a server of its own,
kept for the session. Nothing is imported or started unless a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .server import BackgroundServer
    from .testing import ThreadsMock

# name, help, ini type
OPTIONS: tuple[tuple[str, str], ...] = (
    ("seed", "seed for reproducible ids and timestamps"),
    ("mode", "strict (the real API's semantics, default) or lenient (unknown ids are created, as Prism does)"),
    ("api-key", "the key the fixture's clients send (default sk-mock); the server accepts any key"),
    ("rate-limit", "a rate limit per API key, e.g. 60/min"),
)
TEST_ONLY_KEYS = frozenset({"faults", "api_key"})
MOCK_KEY = pytest.StashKey["ThreadsMock"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("threads-mock", "OpenAI Threads mock")
    for name, text in OPTIONS:
        ini = f"threads_mock_{name.replace('-', '_')}"
        group.addoption(f"--threads-mock-{name}", dest=ini, default=None, help=text)
        parser.addini(ini, text, default=None)
    group.addoption(
        "--threads-mock-journal-on-failure",
        dest="threads_mock_journal_on_failure",
        action="store_true",
        default=None,
        help="append the mock's journal for a failed test to its report",
    )
    parser.addini(
        "threads_mock_journal_on_failure",
        "append the mock's journal to failed tests' reports",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "threads_mock(seed=None, mode=None, rate_limit=None, faults=(), api_key=None, **settings): "
        "configure the Threads mock for a test, class or module",
    )


def session_defaults(config: pytest.Config) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, _ in OPTIONS:
        key = f"threads_mock_{name.replace('-', '_')}"
        value = config.getoption(key) or config.getini(key)
        if value not in (None, ""):
            values[key.removeprefix("threads_mock_")] = value
    return values


def marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Session options, overlaid by markers from the module down to the test (the closest wins)."""
    merged = session_defaults(request.config)
    for marker in reversed(list(request.node.iter_markers("threads_mock"))):
        merged.update(marker.kwargs)
    return merged


def server_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    settings = {k: v for k, v in values.items() if k not in TEST_ONLY_KEYS}
    if "seed" in settings and settings["seed"] is not None:
        settings["seed"] = int(settings["seed"])
    settings.setdefault("log_level", "warning")
    return settings


class ServerPool:
    """One server per distinct server configuration, started on first use, stopped at session end."""

    def __init__(self) -> None:
        self._servers: dict[tuple[tuple[str, str], ...], BackgroundServer] = {}

    def get(self, settings: Mapping[str, Any]) -> BackgroundServer:
        key = tuple(sorted((k, repr(v)) for k, v in settings.items()))
        if key not in self._servers:
            from .app import create_app
            from .server import BackgroundServer
            from .settings import Settings

            self._servers[key] = BackgroundServer(create_app(Settings.load(dict(settings), environ={}))).start()
        return self._servers[key]

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


@pytest.fixture(scope="session")
def threads_mock_servers() -> Iterator[ServerPool]:
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture
def threads_mock(request: pytest.FixtureRequest, threads_mock_servers: ServerPool) -> ThreadsMock:
    """A clean mock for this test: a real server on loopback, reset, with the marker's faults loaded."""
    from .testing import ThreadsMock

    values = marker_settings(request)
    server = threads_mock_servers.get(server_settings(values))
    mock = ThreadsMock(server, api_key=str(values.get("api_key") or "sk-mock"))
    mock.reset()
    for rule in values.get("faults") or ():
        mock.fault(rule)
    request.node.stash[MOCK_KEY] = mock
    return mock


@pytest.fixture
def threads_mock_app(request: pytest.FixtureRequest) -> ASGIApp:
    """The mock as an ASGI app of its own, for suites that want no socket at all."""
    from .app import create_app
    from .settings import Settings

    return create_app(Settings.load(server_settings(marker_settings(request)), environ={}))


@pytest.fixture
def threads_mock_transport(threads_mock_app: ASGIApp) -> Iterator[Any]:
    """A sync httpx2 (or httpx) transport into `threads_mock_app`: `httpx2.Client(transport=...)`."""
    from .testing import sync_asgi_transport

    transport = sync_asgi_transport(threads_mock_app)
    yield transport
    transport.close()


@pytest.fixture
def threads_mock_async_transport(threads_mock_app: ASGIApp) -> Any:
    """An async httpx2 (or httpx) transport into `threads_mock_app`: `httpx2.AsyncClient(transport=...)`."""
    from .testing import asgi_transport

    return asgi_transport(threads_mock_app)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    mock = item.stash.get(MOCK_KEY, None)
    if mock is not None and report.when == "call" and report.failed and journal_wanted(item.config):
        try:
            lines = [str(entry) for entry in mock.requests]
        except Exception as error:  # the journal is a courtesy; never hide the test's own failure
            lines = [f"(journal unavailable: {error})"]
        report.sections.append(("threads-mock journal", "\n".join(lines) or "(no requests)"))
    return report


def journal_wanted(config: pytest.Config) -> bool:
    flag = config.getoption("threads_mock_journal_on_failure")
    return bool(flag if flag is not None else config.getini("threads_mock_journal_on_failure"))
