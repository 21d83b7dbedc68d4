"""`threads-mock`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import __version__
from .fuzzing import options as fuzz_options

if TYPE_CHECKING:
    import socket

    import uvicorn
    from starlette.applications import Starlette

    from .settings import Settings

# How the parent hands its command-line options to the worker processes (`--workers N`), which each build
# their own app. Outside the THREADS_MOCK_ prefix, so that Settings never reads it as a setting.
WORKER_OPTIONS = "_THREADS_MOCK_WORKER_OPTIONS"

# On SIGTERM the requests in flight may finish for this long; then the rest (a `hang` fault, a client that
# stopped reading) are cancelled and the store is closed. Below the 10 s a container runtime gives before SIGKILL.
GRACEFUL_SHUTDOWN_SECONDS = 5

# uvicorn's exit status when the app fails to start (uvicorn.run exits with it; Server.run only returns).
STARTUP_FAILURE = 3

SERVE_HELP = """Start the mock on HOST:PORT. Every option can also come from an environment variable
(THREADS_MOCK_PORT=4010, THREADS_MOCK_API_KEY=k1,k2, ...) or from a TOML file given with --config
(keys named like the options: port = 4010, api_keys = ["k1"], ...). Command line beats environment
beats file."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="threads-mock", description="Offline mock of the OpenAI Threads API.")
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server", description=SERVE_HELP)
    serve.add_argument(
        "--host",
        help="address to bind (default 127.0.0.1; any non-loopback address needs --admin-token; env THREADS_MOCK_HOST)",
    )
    serve.add_argument("--port", type=int, help="port to listen on (default 4010; env THREADS_MOCK_PORT)")
    serve.add_argument(
        "--seed", type=int, help="make ids, request ids and created_at reproducible (env THREADS_MOCK_SEED)"
    )
    serve.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        help="accept only this key (repeatable; default: any non-empty key; env THREADS_MOCK_API_KEY=k1,k2)",
    )
    serve.add_argument("--config", help="TOML file with any of these options (env THREADS_MOCK_CONFIG)")
    serve.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level; info prints one access-log line per request (default info; env THREADS_MOCK_LOG_LEVEL)",
    )
    serve.add_argument("--max-body-size", type=int, help="largest request body in bytes, else 413 (default 1048576)")
    serve.add_argument(
        "--body-timeout",
        type=float,
        help="seconds a client may take to send its whole body, else 408 (default 30; env THREADS_MOCK_BODY_TIMEOUT)",
    )
    serve.add_argument(
        "--poll-after-ms",
        type=int,
        help="the openai-poll-after-ms header on runs still in progress, the SDK's polling interval "
        "(default 25; env THREADS_MOCK_POLL_AFTER_MS)",
    )
    serve.add_argument(
        "--mode",
        choices=["strict", "lenient"],
        help="strict: the real API's semantics (default); lenient: unknown ids are created on first use, "
        "as Prism and Steady answer (env THREADS_MOCK_MODE)",
    )
    serve.add_argument("--contract", help="serve another copy of the contract (default: the packaged one)")
    serve.add_argument(
        "--store",
        metavar="URL",
        help="where threads and messages live: 'memory' (default; lost on exit) or 'sqlite:PATH' (a file that "
        "survives restarts and crashes and is shared by --workers) (env THREADS_MOCK_STORE)",
    )
    serve.add_argument(
        "--max-threads",
        type=int,
        metavar="N",
        help="most threads the store keeps, all keys together; past it the least recently used thread and its "
        "messages are dropped, counted on /__mock__/health (default 100000; env THREADS_MOCK_MAX_THREADS)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="serve with N processes; needs --store sqlite:PATH so they share one state; fault counters, rate "
        "limits and the request journal stay per process (default 1; env THREADS_MOCK_WORKERS)",
    )
    serve.add_argument(
        "--fault",
        dest="faults",
        action="append",
        type=fault_rule,
        metavar="RULE",
        help="a fault rule, repeatable: '[METHOD] PATH: fault; how often', e.g. "
        "'POST /v1/threads: status=429; retry_after=1; probability=0.2' or '*: latency=100ms..300ms'. "
        "Faults: status=N (retry_after, should_retry, code, message), latency, reset, empty, malformed, "
        "invalid, slow=DURATION, hang[=MAX]; how often: probability, times, every, after "
        "(env THREADS_MOCK_FAULTS, one rule per line; [[faults]] tables in the config)",
    )
    serve.add_argument(
        "--rate-limit",
        type=rate_limit,
        metavar="N/UNIT",
        help="requests allowed per API key, e.g. 60/min (also /s, /h, /d): a token bucket; over it the real 429 "
        "(env THREADS_MOCK_RATE_LIMIT)",
    )
    serve.add_argument(
        "--journal-size",
        type=int,
        metavar="N",
        help="how many requests GET /__mock__/requests keeps, newest last; 0 turns the journal off "
        "(default 10000; env THREADS_MOCK_JOURNAL_SIZE)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="serve the admin API (/__mock__/...) to any client that sends 'Authorization: Bearer TOKEN'; "
        "without it the admin API answers loopback clients only (env THREADS_MOCK_ADMIN_TOKEN)",
    )
    fuzz_options.add_parser(commands)
    return root


def fault_rule(text: str) -> str:
    from .faults import FaultSyntaxError, parse_rule

    try:
        parse_rule(text)
    except FaultSyntaxError as error:
        raise argparse.ArgumentTypeError(f"{error} (in {text!r})") from None
    return text


def rate_limit(text: str) -> str:
    from .middleware.ratelimit import RateLimit

    try:
        RateLimit.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def serve(options: dict[str, object]) -> int:
    import uvicorn

    from .app import create_app
    from .settings import Settings

    settings = Settings.load(options)
    configure_logging(settings)
    problem = workers_problem(settings) or exposure_problem(settings)
    if problem:
        print(f"threads-mock serve: error: {problem}", file=sys.stderr)
        return 2
    try:
        # With workers too: this checks every setting, and creates the store's file, before any worker starts.
        app = create_app(settings)
    except ValueError as error:  # a bad fault rule, rate limit or store from the environment or the config file
        print(f"threads-mock serve: error: {error}", file=sys.stderr)
        return 2
    if settings.workers > 1:
        asyncio.run(app.state.store.close())
        serve_workers(settings, options)
        return 0
    config = uvicorn.Config(app, **server_options(settings))
    sock = listening_socket(config)
    announce(settings, sock)
    settle_heap()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler it found:
    # with this one, the process exits 0, as after any stop that went as asked, instead of dying by the signal.
    signal.signal(signal.SIGTERM, stopped_as_asked)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def announce(settings: Settings, sock: socket.socket) -> None:
    """The start line, printed once bound: with --port 0 it names the port the system chose."""
    port = sock.getsockname()[1]
    print(f"threads-mock {__version__} on http://{settings.host}:{port}/v1", file=sys.stderr, flush=True)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options, the same for one process and for workers."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        # The real API never said `server: uvicorn`; one header less for h11 to check on every answer, too.
        "server_header": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }


def stopped_as_asked(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def settle_heap() -> None:
    """Move everything built at start-up (the contract, its validators, the app) out of the garbage
    collector's sight: the collections that run under load then walk only what requests left behind."""
    import gc

    gc.collect()
    gc.freeze()


def configure_logging(settings: Settings) -> None:
    level = settings.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def workers_problem(settings: Settings) -> str | None:
    from .store import shared_between_processes

    if settings.workers < 1:
        return f"--workers must be at least 1, got {settings.workers}"
    if settings.workers == 1:
        return None
    if not shared_between_processes(settings.store):
        return (
            f"--workers {settings.workers} needs a store the workers share: add --store sqlite:PATH "
            f"(with --store {settings.store} each worker would keep threads of its own)"
        )
    if settings.seed is not None:
        return (
            "--seed needs a single worker: every worker would hand out the same ids, and which worker "
            "answers a request is not reproducible"
        )
    return None


def exposure_problem(settings: Settings) -> str | None:
    """Refuses a bind beyond this machine while the admin API (reset, faults, the journal with its request
    bodies) has no token; with one, warns that the admin API now answers only to it."""
    from .admin import is_loopback

    if is_loopback(settings.host):
        return None
    warning = (
        f"--host {settings.host} serves the mock beyond this machine: the admin API (/__mock__/...) then "
        "needs --admin-token, and answers only requests that send 'Authorization: Bearer TOKEN'"
    )
    if settings.admin_token is None:
        return f"{warning}; none was given (or bind to 127.0.0.1)"
    print(f"threads-mock serve: warning: {warning}", file=sys.stderr)
    return None


def serve_workers(settings: Settings, options: dict[str, object]) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[WORKER_OPTIONS] = json.dumps(options)
    config = uvicorn.Config(
        f"{__name__}:worker_app", factory=True, workers=settings.workers, **server_options(settings)
    )
    sock = listening_socket(config)
    announce(settings, sock)
    Multiprocess(config, sockets=[sock]).run()


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers share, bound by uvicorn, with the protocol number uvicorn leaves out.

    uvicorn binds with proto 0, and asyncio turns on TCP_NODELAY only for connections accepted from a socket
    whose proto is IPPROTO_TCP: without it every keep-alive request waits ~40 ms for a delayed ACK, and two
    workers served a fifth of what one did (uvicorn issue #3149).
    """
    import socket

    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6):
        return bound
    return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


def worker_app() -> Starlette:
    """The app of one worker process, built from the options its parent was started with."""
    from .app import create_app
    from .settings import Settings

    settings = Settings.load(json.loads(os.environ[WORKER_OPTIONS]))
    configure_logging(settings)
    app = create_app(settings)
    settle_heap()
    return app


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    command = args.pop("command")
    if command == "serve":
        return serve(args)
    if command == "fuzz":
        from .fuzzing import command as fuzz_command

        return fuzz_command.main(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
