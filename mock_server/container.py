"""The container image's entry point: `threads-mock serve`, configured by THREADS_MOCK_* variables alone.

The image binds 0.0.0.0 (a container's loopback is its own: a published port arrives from the runtime's
bridge, never from 127.0.0.1), and the server refuses a bind beyond loopback whose admin API has no token.
A service container is given no arguments and often no token, and it must start all the same: without
THREADS_MOCK_ADMIN_TOKEN the admin API is locked with a random token that nobody is told, so the mock
serves the API and answers `/__mock__/health` (open to every client, as a liveness probe must be) and
nothing can reset it, change its faults or read its journal. Setting THREADS_MOCK_ADMIN_TOKEN opens the
admin API to clients that send it.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping, Sequence

TOKEN_VARIABLE = "THREADS_MOCK_ADMIN_TOKEN"
HOST_VARIABLE = "THREADS_MOCK_HOST"
DEFAULT_HOST = "127.0.0.1"  # the server's own default, when the image's ENV was overridden with an empty value


def locked_admin(environ: Mapping[str, str], argv: Sequence[str]) -> dict[str, str]:
    """The variables to add so that the server starts: a random admin token when the bind reaches beyond
    loopback and no token was given; nothing otherwise (a loopback bind keeps the loopback-only admin API)."""
    from .admin import is_loopback

    host = given(argv, "--host") or environ.get(HOST_VARIABLE) or DEFAULT_HOST
    if given(argv, "--admin-token") or environ.get(TOKEN_VARIABLE) or is_loopback(host):
        return {}
    return {TOKEN_VARIABLE: secrets.token_urlsafe(32)}


def given(argv: Sequence[str], flag: str) -> str | None:
    """An option among the arguments given to the image (`podman run IMAGE --host ::`), which beat the
    environment; the last one counts, as argparse reads it."""
    found = None
    for index, argument in enumerate(argv):
        if argument == flag and index + 1 < len(argv):
            found = argv[index + 1]
        elif argument.startswith(f"{flag}="):
            found = argument.partition("=")[2]
    return found


def main(argv: Sequence[str]) -> int:
    added = locked_admin(os.environ, argv)
    if added:
        os.environ.update(added)
        print(
            f"threads-mock container: no {TOKEN_VARIABLE} given: the admin API (/__mock__/...) is locked; "
            f"/__mock__/health stays open. Set {TOKEN_VARIABLE} to reset the mock, add faults or replies, "
            "or read its journal with 'Authorization: Bearer <token>'.",
            file=sys.stderr,
            flush=True,
        )
    from .cli import main as cli_main

    # In this process, so that the server is the container's PID 1 and receives its SIGTERM itself.
    return cli_main(["serve", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
