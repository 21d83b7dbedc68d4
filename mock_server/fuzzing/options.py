"""The options of `threads-mock fuzz`, parsed and checked before anything heavy is imported."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PHASES = ("examples", "coverage", "fuzzing", "stateful")
REPORT_FORMATS = ("junit", "json")
RATE_LIMIT = re.compile(r"^(auto|[1-9][0-9]*/(s|m|h|d))$")
DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 10.0

FUZZ_HELP = """Fuzz a Threads API server with Schemathesis against the contract: every response must be one
the contract declares, valid input must be accepted, invalid input refused with a 4xx, a created object
must be found and a deleted one gone. Without --url, the mock itself is started on a free loopback port
(with the seed and an API key of its own), fuzzed and stopped. Exit status: 0 every check held, 1 a check
failed, 2 nothing could be tested (the URL is unreachable, the credentials were refused, bad options)."""

CHECKS_HELP = """'all', or a comma-separated list of Schemathesis checks (not_a_server_error,
status_code_conformance, content_type_conformance, response_headers_conformance,
response_schema_conformance, positive_data_acceptance, negative_data_rejection, missing_required_header,
use_after_free, ensure_resource_availability, ignored_auth, unsupported_method, allow_header_conformance).
Default: all of them against the mock; with --url all but unsupported_method, whose probes send methods the
API does not serve. object_level_authorization needs several users and is never run."""


@dataclass(frozen=True)
class FuzzOptions:
    """One fuzzing run, as the command line (or a test) asked for it."""

    url: str | None = None
    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    phases: tuple[str, ...] = PHASES
    # None: the defaults for the target (see CHECKS_HELP); ("all",): every check that one user can run.
    checks: tuple[str, ...] | None = None
    operations: tuple[str, ...] = ()
    reports: tuple[tuple[str, Path], ...] = ()
    workers: int = 1
    contract: Path | None = None
    rate_limit: str | None = None
    request_timeout: float = DEFAULT_TIMEOUT

    @property
    def against_mock(self) -> bool:
        return self.url is None


def header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or name.strip() != name.strip().split()[0]:
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def phases(text: str) -> tuple[str, ...]:
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in PHASES]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"phases are a comma-separated subset of {','.join(PHASES)}, got {text!r}")
    return tuple(phase for phase in PHASES if phase in wanted)


def checks(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise argparse.ArgumentTypeError("expected 'all' or a comma-separated list of checks")
    return ("all",) if "all" in names else names


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def rate_limit(text: str) -> str:
    if not RATE_LIMIT.match(text):
        raise argparse.ArgumentTypeError(f"expected N/s, N/m, N/h, N/d or 'auto', got {text!r}")
    return text


class ReportAction(argparse.Action):
    """`--report FORMAT PATH`, repeatable, with the format checked where argparse can say so."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        kind, path = values
        if kind not in REPORT_FORMATS:
            parser.error(f"argument --report: format must be one of {', '.join(REPORT_FORMATS)}, got {kind!r}")
        reports = [*(getattr(namespace, self.dest) or []), (kind, Path(path))]
        setattr(namespace, self.dest, reports)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Adds `fuzz` to the `threads-mock` subcommands (`commands` is argparse's subparsers object)."""
    fuzz: argparse.ArgumentParser = commands.add_parser(
        "fuzz", help="fuzz the mock or another server against the contract", description=FUZZ_HELP
    )
    fuzz.add_argument("--url", help="base URL of the server to fuzz, as an SDK's base_url (http://host:port/v1)")
    fuzz.add_argument(
        "--api-key",
        metavar="KEY",
        help="sent as 'Authorization: Bearer KEY' (default with --url: $OPENAI_API_KEY, if set)",
    )
    fuzz.add_argument(
        "--header",
        dest="headers",
        action="append",
        type=header,
        metavar="'NAME: VALUE'",
        help="an extra header on every request (repeatable); with --url its value is masked in the output",
    )
    fuzz.add_argument(
        "--max-examples",
        type=positive_int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"generated examples per operation and phase (default {DEFAULT_MAX_EXAMPLES})",
    )
    fuzz.add_argument(
        "--seed", type=int, metavar="N", help="make the run reproducible (default: a random seed, printed)"
    )
    fuzz.add_argument(
        "--phases",
        type=phases,
        default=PHASES,
        metavar="LIST",
        help=f"which Schemathesis phases run (default {','.join(PHASES)})",
    )
    fuzz.add_argument("--checks", type=checks, metavar="all|LIST", help=CHECKS_HELP)
    fuzz.add_argument(
        "--operation",
        dest="operations",
        action="append",
        metavar="ID",
        help="fuzz only this operationId, e.g. createThread (repeatable; default: every operation)",
    )
    fuzz.add_argument(
        "--report",
        dest="reports",
        action=ReportAction,
        nargs=2,
        metavar=("junit|json", "PATH"),
        help="also write the results as a JUnit XML or JSON file (repeatable)",
    )
    fuzz.add_argument("--workers", type=positive_int, default=1, metavar="N", help="concurrent workers (default 1)")
    fuzz.add_argument(
        "--contract", type=Path, metavar="PATH", help="the contract to hold the server to (default: the packaged one)"
    )
    fuzz.add_argument(
        "--rate-limit",
        type=rate_limit,
        metavar="N/UNIT",
        help="send at most this many requests, e.g. 5/s or 100/m; 'auto' waits out each 429's retry-after",
    )
    fuzz.add_argument(
        "--request-timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"a request with no answer after this long is a failure (default {DEFAULT_TIMEOUT:g})",
    )
    return fuzz


def from_arguments(arguments: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> FuzzOptions:
    """The options from argparse's values; `environ` supplies OPENAI_API_KEY for --url runs."""
    environ = os.environ if environ is None else environ
    url = arguments.get("url")
    api_key = arguments.get("api_key")
    if api_key is None and url is not None:
        api_key = environ.get("OPENAI_API_KEY") or None
    headers: Sequence[tuple[str, str]] = arguments.get("headers") or ()
    return FuzzOptions(
        url=url.rstrip("/") if url else None,
        api_key=api_key,
        headers=dict(headers),
        max_examples=arguments.get("max_examples") or DEFAULT_MAX_EXAMPLES,
        seed=arguments.get("seed"),
        phases=tuple(arguments.get("phases") or PHASES),
        checks=arguments.get("checks"),
        operations=tuple(arguments.get("operations") or ()),
        reports=tuple(arguments.get("reports") or ()),
        workers=arguments.get("workers") or 1,
        contract=arguments.get("contract"),
        rate_limit=arguments.get("rate_limit"),
        request_timeout=arguments.get("request_timeout") or DEFAULT_TIMEOUT,
    )
