"""pytest plugin: a clean Threads mock for every test, in one line.

    def test_my_assistant_code(threads_mock):
        client = threads_mock.openai_client()
        ...
        assert threads_mock.requests[-1].json == {...}

One real server per session (per xdist worker) is started on first use and reset before each test;
a `threads_mock` marker with server settings (seed, mode, rate_limit...) gets a server of its own,
kept for the session. No server is started unless a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from .settings import (
    FIXTURE_OPTIONS,
    FLAG,
    OPTIONS,
    SERVER_OPTIONS,
    FixtureSettings,
    Settings,
    SettingsError,
    marker_values,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .app import MockApp
    from .server import BackgroundServer
    from .testing import ThreadsMock

SERVER_NAMES = frozenset(option.name for option in SERVER_OPTIONS)
FIXTURE_NAMES = frozenset(option.name for option in FIXTURE_OPTIONS)
MOCK_KEY = pytest.StashKey["ThreadsMock"]()
SESSION_KEY = pytest.StashKey[dict[str, Any]]()
CALL_FAILED_KEY = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("threads-mock", "OpenAI Threads mock")
    for option in OPTIONS:
        if not option.ini:
            continue
        if option.value_type is FLAG:
            group.addoption(
                option.pytest_flag, dest=option.ini_name, action="store_true", default=None, help=option.help
            )
            parser.addini(option.ini_name, option.help, type="bool", default=option.default)
        else:
            group.addoption(option.pytest_flag, dest=option.ini_name, default=None, help=option.help)
            parser.addini(option.ini_name, option.help, default=None)


def pytest_configure(config: pytest.Config) -> None:
    arguments = ", ".join(f"{option.name}=..." for option in OPTIONS if option.marker)
    config.addinivalue_line(
        "markers", f"threads_mock({arguments}): configure the Threads mock for a test, class or module"
    )
    try:
        config.stash[SESSION_KEY] = session_defaults(config)
    except SettingsError as error:
        raise pytest.UsageError(f"threads-mock: {error}") from None


def session_defaults(config: pytest.Config) -> dict[str, Any]:
    """The settings of the pytest command line (--threads-mock-*) and ini file (threads_mock_*), read."""
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if not option.ini:
            continue
        value, given_as = config.getoption(option.ini_name), option.pytest_flag
        if value is None:
            value, given_as = config.getini(option.ini_name), option.ini_name
        if value not in (None, ""):
            values[option.name] = option.read(value, f"pytest option {given_as}")
    return values


def marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Session options, overlaid by markers from the module down to the test (the closest wins)."""
    session: dict[str, Any] = request.config.stash[SESSION_KEY]
    merged = dict(session)
    try:
        for marker in reversed(list(request.node.iter_markers("threads_mock"))):
            merged.update(marker_values(marker.args, marker.kwargs))
    except SettingsError as error:
        problem = str(error)
    else:
        return merged
    pytest.fail(problem, pytrace=False)


def server_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the server is started with. The marker's faults are not among them: the fixture adds them
    to the shared server for the test alone."""
    return {k: v for k, v in values.items() if k in SERVER_NAMES and k != "faults"}


def fixture_settings(values: Mapping[str, Any]) -> FixtureSettings:
    return FixtureSettings(**{k: v for k, v in values.items() if k in FIXTURE_NAMES})


class ServerPool:
    """One server per distinct server configuration, started on first use, stopped at session end."""

    def __init__(self) -> None:
        self._servers: dict[tuple[tuple[str, str], ...], BackgroundServer[MockApp]] = {}

    def get(self, settings: Mapping[str, Any]) -> BackgroundServer[MockApp]:
        key = tuple(sorted((k, repr(v)) for k, v in settings.items()))
        if key not in self._servers:
            from . import tls
            from .app import create_app
            from .server import BackgroundServer

            served = tls.prepare(Settings(**settings))
            self._servers[key] = BackgroundServer(
                create_app(served), certfile=served.tls_cert, keyfile=served.tls_key, ca_file=served.tls_ca_file
            ).start()
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
def threads_mock(request: pytest.FixtureRequest, threads_mock_servers: ServerPool) -> Iterator[ThreadsMock]:
    """A clean mock for this test: a real server on loopback, reset, with the marker's faults loaded."""
    from .testing import ThreadsMock

    values = marker_settings(request)
    fixture = fixture_settings(values)
    server = threads_mock_servers.get(server_settings(values))
    mock = ThreadsMock(server, api_key=fixture.api_key)
    mock.reset()
    for rule in values.get("faults", ()):
        mock.fault(rule)
    request.node.stash[MOCK_KEY] = mock
    yield mock
    if fixture.assert_all_faults_applied and not request.node.stash.get(CALL_FAILED_KEY, True):
        try:
            mock.assert_all_faults_applied()
        except AssertionError as error:
            problem = str(error)
        else:
            return
        pytest.fail(f"threads_mock(assert_all_faults_applied=True): {problem}", pytrace=False)


@pytest.fixture
def threads_mock_app(request: pytest.FixtureRequest) -> ASGIApp:
    """The mock as an ASGI app of its own, for suites that want no socket at all."""
    from .app import create_app

    return create_app(Settings(**server_settings(marker_settings(request))))


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
    if report.when == "call":
        item.stash[CALL_FAILED_KEY] = not report.passed
    mock = item.stash.get(MOCK_KEY, None)
    if mock is not None and report.when == "call" and report.failed and journal_wanted(item.config):
        try:
            lines = [str(entry) for entry in mock.requests]
        except Exception as error:  # the journal is a courtesy; never hide the test's own failure
            lines = [f"(journal unavailable: {error})"]
        report.sections.append(("threads-mock journal", "\n".join(lines) or "(no requests)"))
    return report


def journal_wanted(config: pytest.Config) -> bool:
    return bool(config.stash[SESSION_KEY].get("journal_on_failure"))
