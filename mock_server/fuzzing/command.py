"""`threads-mock fuzz`: pick the target (a URL, or the mock started for the run), fuzz it, report, exit."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..contract import default_contract_path
from . import preflight
from .options import FuzzOptions, from_arguments
from .report import print_outcome, write
from .result import EXIT_UNTESTED, FuzzResult
from .runner import PhaseListener, UsageProblem, config_data, execute, load_schema, operation_ids, resolve_checks

# The self-started mock's only key: not a secret (the mock lives as long as the run), and with a key
# configured, a request without it or with another one must get a 401, which `ignored_auth` checks.
MOCK_API_KEY = "sk-threads-mock-fuzz"


@dataclass(frozen=True)
class Target:
    base_url: str
    headers: dict[str, str]
    description: str
    # How to start the same mock again to replay printed requests; None for a server given by URL.
    replay: str | None = None


def main(arguments: Mapping[str, Any]) -> int:
    """Entry point from `mock_server.cli`, with argparse's values."""
    return fuzz(from_arguments(arguments))


def fuzz(options: FuzzOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Runs one fuzzing session and returns the exit status (0 passed, 1 failed, 2 nothing tested)."""
    out, err = out or sys.stdout, err or sys.stderr
    contract = options.contract or default_contract_path()
    if not contract.is_file():
        print(f"threads-mock fuzz: error: no contract at {contract}", file=err)
        return EXIT_UNTESTED
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    try:
        checks = resolve_checks(options.checks, against_mock=options.against_mock)
        with target(options, seed) as where:
            outcome = FuzzResult(
                target=where.base_url,
                seed=seed,
                checks=checks,
                phases=options.phases,
                max_examples=options.max_examples,
            )
            print_header(options, where, outcome, contract, out)
            if where.replay is None:
                outcome.untested = preflight.problem(
                    where.base_url, where.headers, options.request_timeout, has_key=options.api_key is not None
                )
            if outcome.untested is None:
                data = config_data(
                    base_url=where.base_url,
                    headers=where.headers,
                    checks=checks,
                    phases=options.phases,
                    max_examples=options.max_examples,
                    seed=seed,
                    workers=options.workers,
                    request_timeout=options.request_timeout,
                    rate_limit=options.rate_limit,
                    # Against someone else's server: no generated Authorization values, each a refused
                    # (and perhaps billed or alarming) login attempt; `ignored_auth` still sends its two.
                    security_parameters=where.replay is not None,
                    # The mock's key is throwaway, so its curl commands stay complete enough to paste.
                    sanitize=where.replay is None,
                )
                schema = load_schema(contract, data, options.operations)
                execute(schema, outcome, operation_ids(contract), on_phase=progress(err))
    except UsageProblem as problem:
        print(f"threads-mock fuzz: error: {problem}", file=err)
        return EXIT_UNTESTED
    print_outcome(outcome, out)
    if outcome.findings and where.replay is not None:
        print(f"To replay a request, start the same mock first: {where.replay}", file=out)
    for kind, path in options.reports:
        write(kind, path, outcome)
        print(f"{kind} report: {path}", file=out)
    return outcome.exit_code


@contextmanager
def target(options: FuzzOptions, seed: int) -> Iterator[Target]:
    """The server under test: the given URL, or the mock on a free loopback port for as long as the run."""
    extra = dict(options.headers)
    if options.url is not None:
        auth = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        yield Target(options.url, {**auth, **extra}, options.url)
        return
    from ..app import create_app
    from ..server import BackgroundServer
    from ..settings import Settings

    # Always the packaged contract: --contract says what to hold the mock to, not what the mock serves.
    app = create_app(Settings(seed=seed, api_keys=(MOCK_API_KEY,)))
    with BackgroundServer(app, log_level="error") as server:
        yield Target(
            server.base_url,
            {"Authorization": f"Bearer {MOCK_API_KEY}", **extra},
            f"the mock, started for this run at {server.base_url}",
            replay=f"threads-mock serve --port {server.port} --seed {seed} --api-key {MOCK_API_KEY}",
        )


def print_header(options: FuzzOptions, where: Target, outcome: FuzzResult, contract: Path, out: TextIO) -> None:
    operations = ", ".join(options.operations) if options.operations else "all operations"
    print(f"threads-mock fuzz {__version__}: {where.description}", file=out)
    print(f"  contract  {contract} ({operations})", file=out)
    print(
        f"  phases    {','.join(options.phases)}; {options.max_examples} examples per operation; "
        f"seed {outcome.seed}; {options.workers} worker{'s' if options.workers > 1 else ''}",
        file=out,
    )
    print(f"  checks    {', '.join(outcome.checks)}", file=out, flush=True)


def progress(err: TextIO) -> PhaseListener:
    reported: set[str] = set()

    def on_phase(name: str, status: str, skipped: str | None) -> None:
        if name in reported:
            return
        reported.add(name)
        said = f"skipped ({skipped})" if skipped else status
        print(f"  {name:<9} {said}", file=err, flush=True)

    return on_phase
