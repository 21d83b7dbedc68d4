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
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import __version__
from .fuzzing import options as fuzz_options

if TYPE_CHECKING:
    import socket

    import uvicorn

    from .app import MockApp
    from .settings import Option, Settings

# How the parent hands its command-line options to the worker processes (`--workers N`), which each build
# their own app. Outside the THREADS_MOCK_ prefix, so that Settings never reads it as a setting.
WORKER_OPTIONS = "_THREADS_MOCK_WORKER_OPTIONS"

# On SIGTERM the requests in flight may finish for this long; then the rest (a `hang` fault, a client that
# stopped reading) are cancelled and the store is closed. Below the 10 s a container runtime gives before SIGKILL.
GRACEFUL_SHUTDOWN_SECONDS = 5

SERVE_HELP = """Start the mock on HOST:PORT. Every option can also come from an environment variable
(THREADS_MOCK_PORT=4010, THREADS_MOCK_API_KEY=k1,k2, ...) or from a TOML file given with --config (keys
named like the options, at the top or in a [server] table: port = 4010, api_keys = ["k1"], ...; [[faults]]
and [[replies]] tables). Command line beats environment beats file. Once listening it prints
'threads-mock VERSION on http://HOST:PORT/v1' to stderr, with the port it bound (also for --port 0)."""

# uvicorn's exit status when the server could not start.
STARTUP_FAILURE = 3


def parser() -> argparse.ArgumentParser:
    from .settings import SERVER_OPTIONS

    root = argparse.ArgumentParser(prog="threads-mock", description="Offline mock of the OpenAI Threads API.")
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server", description=SERVE_HELP)
    for option in SERVER_OPTIONS:
        if option.cli:
            add_option(serve, option)
    fuzz_options.add_parser(commands)
    # Listed here for --help; `main` hands them their arguments whole (start passes serve's options on).
    commands.add_parser("start", help="start the mock in the background and return once it answers")
    commands.add_parser("stop", help="stop the mock `start` left running")
    return root


def add_option(serve: argparse.ArgumentParser, option: Option) -> None:
    from .settings import FLAG

    if option.value_type is FLAG:
        # A switch (`--tls`), never `--tls true`; left unset (None) when absent, so the environment still counts.
        serve.add_argument(
            option.flag, dest=option.name, action="store_const", const=True, help=option.help_with_default()
        )
        return
    serve.add_argument(
        option.flag,
        dest=option.name,
        type=argument_type(option),
        action="append" if option.repeatable else "store",
        choices=option.value_type.choices or None,
        metavar=option.metavar,
        help=option.help_with_default().replace("%", "%%"),
    )


def argument_type(option: Option) -> Callable[[str], Any]:
    parse = option.value_type.item or option.value_type.parse

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def serve(options: dict[str, object]) -> int:
    from . import tls
    from .app import create_app
    from .settings import Settings
    from .store import probe

    try:
        settings = Settings.load(options)
    except ValueError as error:  # a setting from the environment or the config file that cannot be read
        return refuse(str(error))
    configure_logging(settings)
    problem = workers_problem(settings) or exposure_problem(settings) or stack_problem(settings)
    if problem:
        return refuse(problem)
    try:
        # The generated certificate's files are made once, here: workers are handed their paths.
        settings = tls.prepare(settings)
        options = tls_options(settings, options)
        # With workers too: this checks every setting, and opens the store once (creating its file, reaching
        # its server) before any worker starts or any port is bound.
        app = create_app(settings)
        asyncio.run(probe(app.store))
    except ValueError as error:  # a bad fault rule, rate limit, store or TLS file; a store that cannot open
        return refuse(str(error))
    if settings.workers > 1:
        serve_workers(settings, options)
        return 0
    return serve_one(app, settings)


def refuse(problem: str) -> int:
    print(f"threads-mock serve: error: {problem}", file=sys.stderr)
    return 2


def tls_options(settings: Settings, options: dict[str, object]) -> dict[str, object]:
    """The command line's options, with the files `tls.prepare` made, for the workers to load the same."""
    if not settings.tls:
        return options
    return {
        **options,
        "tls_cert": str(settings.tls_cert),
        "tls_ca_file": settings.tls_ca_file and str(settings.tls_ca_file),
    }


def announce(settings: Settings, listener: socket.socket) -> None:
    """The start line, with the port really bound: a caller that asked for --port 0 reads it from here. Over
    TLS it names the CA's file, for a client to trust."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    port = listener.getsockname()[1]
    scheme = "https" if settings.tls else "http"
    ca = f" (CA {settings.tls_ca_file})" if settings.tls and settings.tls_ca_file else ""
    print(f"threads-mock {__version__} on {scheme}://{host}:{port}/v1{ca}", file=sys.stderr, flush=True)


def serve_one(app: MockApp, settings: Settings) -> int:
    import uvicorn

    settle_heap()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler it found:
    # with this one, the process exits 0, as after any stop that went as asked, instead of dying by the signal.
    signal.signal(signal.SIGTERM, stopped_as_asked)
    config = uvicorn.Config(app, **server_options(settings))
    listener = listening_socket(config)
    announce(settings, listener)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listener])
    return 0 if server.started else STARTUP_FAILURE


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options, the same for one process and for workers."""
    from .stack import Stack

    return {
        # httptools and uvloop where installed (the default install), else h11 and asyncio: mock_server/stack.py.
        **Stack.of(settings).uvicorn_options(),
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        # The real API never said `server: uvicorn`; one header less for h11 to check on every answer, too.
        "server_header": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "ssl_certfile": settings.tls_cert,
        "ssl_keyfile": settings.tls_key,
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
            f"or --store redis://HOST:PORT/DB (with --store {settings.store} each worker would keep threads of its own)"
        )
    if settings.seed is not None:
        return (
            "--seed needs a single worker: every worker would hand out the same ids, and which worker "
            "answers a request is not reproducible"
        )
    return None


def stack_problem(settings: Settings) -> str | None:
    """--http httptools or --loop uvloop where that package is not installed."""
    from .stack import Stack

    try:
        Stack.of(settings)
    except ValueError as error:
        return str(error)
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
    listener = listening_socket(config)
    announce(settings, listener)
    Multiprocess(config, sockets=[listener]).run()


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The listening socket, bound by uvicorn before the server starts (so that the port of --port 0 is known),
    with the protocol number uvicorn leaves out; one process serves from it as the workers do.

    uvicorn binds with proto 0, and asyncio turns on TCP_NODELAY only for connections accepted from a socket
    whose proto is IPPROTO_TCP: without it every keep-alive request waits ~40 ms for a delayed ACK, and two
    workers served a fifth of what one did (uvicorn issue #3149).
    """
    import socket

    bound = config.bind_socket()
    if bound.family in (socket.AF_INET, socket.AF_INET6):
        bound = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    # Listening already, so that a client that read the start line is queued until the server accepts,
    # not refused.
    bound.listen(config.backlog)
    return bound


def worker_app() -> MockApp:
    """The app of one worker process, built from the options its parent was started with."""
    from .app import create_app
    from .settings import Settings

    settings = Settings.load(json.loads(os.environ[WORKER_OPTIONS]))
    configure_logging(settings)
    app = create_app(settings)
    settle_heap()
    return app


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] in (["start"], ["stop"]):
        from . import background

        return background.start(given[1:]) if given[0] == "start" else background.stop(given[1:])
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
