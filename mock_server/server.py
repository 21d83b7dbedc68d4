"""A real uvicorn server in a background thread, on a free loopback port: for tests and the pytest plugin."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

import uvicorn
from starlette.types import ASGIApp

from .stack import Stack
from .tls import client_context

T = TypeVar("T")
App = TypeVar("App", bound=ASGIApp)
STOP_GRACE_SECONDS = 3


class BackgroundServer(Generic[App]):
    """`app` is the app it serves, typed as given: a `MockApp` keeps its journal, faults and store in reach."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        *,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """With `certfile` it serves HTTPS; `ca_file` is the CA a client trusts it by (see tls.prepare), and
        `ssl_context` a client context that trusts it (None over plain HTTP, or without a CA file)."""
        self.app = app
        self.host = host
        self.scheme = "https" if certfile is not None else "http"
        self.ca_file = ca_file
        # One context for every client call (the test handle's admin calls among them): loading a CA costs.
        self.ssl_context: ssl.SSLContext | None = client_context(ca_file)
        # The stack of the app's settings (httptools and uvloop where installed, unless they say h11 / asyncio).
        self.stack = Stack.of(getattr(app, "settings", None))
        # Lifespan on: stopping closes the app's store, as a real server's SIGTERM does. A request still
        # pending on stop (a `hang` fault) is cancelled after the grace period instead of holding up the test.
        config = uvicorn.Config(
            app,
            http=self.stack.protocol,
            loop=self.stack.loop,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            server_header=False,
            lifespan="auto",
            timeout_graceful_shutdown=STOP_GRACE_SECONDS,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="threads-mock", daemon=True)
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        with asyncio.Runner(loop_factory=self.stack.loop_factory()) as runner:
            runner.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._server.serve()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the server's own event loop (the store is not shared across loops)."""
        assert self._loop is not None, "the server is not running"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self, timeout: float = 10.0) -> BackgroundServer[App]:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mock server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def __enter__(self) -> BackgroundServer[App]:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
