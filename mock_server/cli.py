"""`threads-mock`: the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__

SERVE_HELP = """Start the mock on HOST:PORT. Every option can also come from an environment variable
(THREADS_MOCK_PORT=4010, THREADS_MOCK_API_KEY=k1,k2, ...) or from a TOML file given with --config
(keys named like the options: port = 4010, api_keys = ["k1"], ...). Command line beats environment
beats file."""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="threads-mock", description="Offline mock of the OpenAI Threads API.")
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server", description=SERVE_HELP)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; env THREADS_MOCK_HOST)")
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
    serve.add_argument("--contract", help="serve another copy of the contract (default: the packaged one)")
    return root


def serve(options: dict[str, object]) -> int:
    import uvicorn

    from .app import create_app
    from .settings import Settings

    settings = Settings.load(options)
    level = settings.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    print(f"threads-mock {__version__} on http://{settings.host}:{settings.port}/v1", file=sys.stderr, flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="off",
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    command = args.pop("command")
    if command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
