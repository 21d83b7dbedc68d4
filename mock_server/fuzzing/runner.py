"""Schemathesis's engine, through its Python API, against one target; its events reduced to an `FuzzResult`.

The engine is what `st run` drives: the examples, coverage, fuzzing and stateful phases, every check,
workers and rate limits. It is configured from a dictionary in the `schemathesis.toml` vocabulary, so the
settings read the same as the documented configuration file. With an ASGI app, the requests (the probes of
`ignored_auth` included) go to the app in-process instead of over the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contract import Contract
from .constraints import within_constraints
from .options import PHASES
from .result import Finding, FuzzResult, RunError

if TYPE_CHECKING:
    from schemathesis.engine import events
    from schemathesis.generation.case import Case
    from schemathesis.hooks import HookContext
    from schemathesis.schemas import BaseSchema
    from starlette.types import ASGIApp

# Checks one client cannot run: the first needs two users whose objects must stay apart, the second a
# response-time limit, which is a service level and not part of the contract.
NOT_RUNNABLE = ("object_level_authorization", "max_response_time")
# Sends requests with methods the API does not serve: answers every server owes, but a third party's
# gateway may log or bill them, so they are sent only when asked for (or to the mock).
PROBING_CHECKS = ("unsupported_method",)
# Only credentials are masked in printed requests: Schemathesis's default list also masks any key that
# contains "token", which would hide `max_chunk_size_tokens` and make the printed curl useless.
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "api-key", "x-api-key")

PhaseListener = Callable[[str, str, str | None], None]


class UsageProblem(Exception):
    """Options that cannot give a run (an unknown check or operation, a broken contract)."""


def runnable_checks() -> list[str]:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return [name for name in CHECKS.get_all_names() if name not in NOT_RUNNABLE]


def resolve_checks(requested: Sequence[str] | None, *, against_mock: bool) -> tuple[str, ...]:
    """The checks to run: the defaults for the target, 'all', or the named ones (each must exist)."""
    known = runnable_checks()
    if requested is None:
        return tuple(name for name in known if against_mock or name not in PROBING_CHECKS)
    if tuple(requested) == ("all",):
        return tuple(known)
    not_runnable = [name for name in requested if name in NOT_RUNNABLE]
    if not_runnable:
        raise UsageProblem(
            f"{', '.join(not_runnable)} cannot run here: object_level_authorization needs several users, "
            "max_response_time a time limit"
        )
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise UsageProblem(f"unknown check {', '.join(unknown)}; known checks: {', '.join(known)}")
    return tuple(requested)


# Operations whose valid requests a run's state can refuse with 400, and what positive_data_acceptance
# otherwise takes (Schemathesis's default).
STATE_REFUSALS = (
    "^(createMessage|createRun|submitToolOuputsToRun|cancelRun|downloadFile|cancelVectorStoreFileBatch"
    "|createVectorStore|createVectorStoreFile|createVectorStoreFileBatch"
    "|createThread|modifyThread|createAssistant|modifyAssistant|createThreadAndRun"
    "|createResponse|cancelResponse)$"
)
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# Schemathesis's own list of what rejects invalid data (its documented default), and 413: a body past the
# server's size limit is refused before it is read. (A 5xx is judged by `not_a_server_error`.)
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]


def config_data(
    *,
    base_url: str | None,
    headers: Mapping[str, str],
    checks: Iterable[str],
    phases: Iterable[str],
    max_examples: int,
    seed: int,
    workers: int = 1,
    request_timeout: float | None = None,
    rate_limit: str | None = None,
    security_parameters: bool = True,
    sanitize: bool = True,
) -> dict[str, Any]:
    """A Schemathesis configuration, in the keys and layout of `schemathesis.toml`."""
    checks, phases = set(checks), set(phases)
    data: dict[str, Any] = {
        "seed": seed,
        "workers": workers,
        "headers": dict(headers),
        "generation": {
            "max-examples": max_examples,
            # Without a stored database, the same seed replays the same run.
            "database": "none",
            "with-security-parameters": security_parameters,
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in checks}},
        "phases": {phase: {"enabled": phase in phases} for phase in PHASES},
        "output": {
            "sanitization": {
                "enabled": sanitize,
                "keys-to-sanitize": [*SECRET_HEADERS, *(name.lower() for name in headers)],
                "sensitive-markers": ["authorization"],
            }
        },
    }
    if "negative_data_rejection" in checks:
        data["checks"]["negative_data_rejection"]["expected-statuses"] = REJECTED
    if "positive_data_acceptance" in checks:
        # The real API refused these valid requests when a run's state forbade them (a message or a run on
        # a thread whose run is active, outputs for a run not in requires_action, cancelling a finished
        # run), downloading a file of a purpose that may not be downloaded, cancelling a finished file batch,
        # naming a file no upload made or a vector store no create made (tool resources, attachments): the
        # 400s of `errors.active_run_blocks_*` and co., which no generator can foresee; and a response's
        # context that breaks what the Responses API states in prose (a `previous_response_id` no response
        # has, a function output without its call, `conversation` beside `previous_response_id`), or the
        # cancel of a response that is not running in the background.
        data["operations"] = [
            {
                "include-operation-id-regex": STATE_REFUSALS,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
            }
        ]
    if not checks.intersection(PROBING_CHECKS):
        # The coverage phase sends the unexpected-method probes whether or not a check reads them.
        data["phases"]["coverage"]["unexpected-methods"] = []
    if base_url is not None:
        data["base-url"] = base_url
    if request_timeout is not None:
        data["request-timeout"] = request_timeout
    if rate_limit is not None:
        data["rate-limit"] = rate_limit
    return data


def load_schema(
    contract: Path, data: Mapping[str, Any], operations: Sequence[str] = (), app: ASGIApp | None = None
) -> BaseSchema:
    """The contract as a Schemathesis schema with this configuration, the prose constraints and, if given, the app."""
    import schemathesis
    from schemathesis.config import ConfigError, SchemathesisConfig
    from schemathesis.core.errors import InvalidSchema, LoaderError

    try:
        config = SchemathesisConfig.from_dict(dict(data))
        schema: BaseSchema = schemathesis.openapi.from_path(contract, config=config)
    except ConfigError as error:
        raise UsageProblem(f"invalid setting: {error}") from None
    except (InvalidSchema, LoaderError) as error:
        raise UsageProblem(f"cannot load the contract {contract}: {error}") from None
    if operations:
        declared = set(Contract(contract).operations)
        unknown = [op for op in operations if op not in declared]
        if unknown:
            raise UsageProblem(
                f"unknown operation {', '.join(unknown)}; the contract has {', '.join(sorted(declared))}"
            )
        schema = schema.include(operation_id=list(operations))
    schema.hook("map_case")(keep_prose_constraints)
    if app is not None:
        schema.app = app
    return schema


def keep_prose_constraints(context: HookContext, case: Case[Any]) -> Case[Any]:
    # In place, and only where a rule applies: assigning `case.body` would make Schemathesis re-judge
    # every case as edited by a hook, and a negative case whose body was never the invalid part would
    # be counted as a positive one.
    within_constraints(case.body)
    return case


def operation_ids(contract: Path) -> dict[str, str]:
    """operationId by Schemathesis label ("POST /threads")."""
    return {f"{op.method} {op.path}": op_id for op_id, op in Contract(contract).operations.items()}


def execute(
    schema: BaseSchema, outcome: FuzzResult, ids: Mapping[str, str], on_phase: PhaseListener | None = None
) -> None:
    """Runs every enabled phase and records what each check said into `outcome`."""
    from schemathesis.engine import events, from_schema

    collector = Collector(outcome, ids)
    started = time.monotonic()
    stream = from_schema(schema).execute()
    try:
        for event in stream:
            collector.on_event(event)
            if on_phase is not None and isinstance(event, events.PhaseFinished):
                name = event.phase.name.value
                if name in PHASES:
                    skipped = event.phase.skip_reason
                    on_phase(name, event.status.value, skipped.value if skipped is not None else None)
    except KeyboardInterrupt:
        stream.stop()
        raise
    finally:
        outcome.elapsed = time.monotonic() - started


class Collector:
    """Folds engine events into an `FuzzResult`; one finding per operation, check and kind of failure."""

    def __init__(self, outcome: FuzzResult, ids: Mapping[str, str]) -> None:
        self.outcome = outcome
        self.ids = ids
        self.seen: set[tuple[str, object]] = set()

    def operation(self, label: str) -> str:
        return self.ids.get(label, label)

    def on_event(self, event: events.EngineEvent) -> None:
        from schemathesis.engine import events

        if isinstance(event, events.ScenarioFinished):
            self.on_scenario(event)
        elif isinstance(event, events.NonFatalError):
            self.outcome.errors.append(
                RunError(
                    label=self.operation(event.label),
                    title=event.info.title,
                    message=event.info.message,
                    phase=event.phase.value if event.phase is not None else None,
                )
            )
        elif isinstance(event, events.FatalError):
            self.outcome.untested = f"Schemathesis stopped: {event.exception}"
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                self.add_finding(type(failure).__name__, failure, "after run", (), failure.operation or "run")

    def on_scenario(self, event: events.ScenarioFinished) -> None:
        from schemathesis.engine import Status

        recorder = event.recorder
        for case_id, nodes in recorder.checks.items():
            node = recorder.cases.get(case_id)
            label = node.value.operation.label if node is not None else recorder.label
            operation = self.operation(label)
            for check in nodes:
                if check.status == Status.SUCCESS:
                    self.outcome.passed[check.name] += 1
                elif check.status == Status.FAILURE and check.failure_info is not None:
                    self.outcome.failed[check.name] += 1
                    info = check.failure_info
                    curls = tuple(step.curl for step in info.steps) or (info.code_sample,)
                    failing = info.failure.operation or label
                    self.add_finding(check.name, info.failure, event.phase.value, curls, failing)
                elif check.status == Status.ERROR:
                    self.outcome.errors.append(
                        RunError(operation, f"The check {check.name} crashed", "", event.phase.value)
                    )
                self.outcome.operations.setdefault(operation, label)
                self.outcome.operation_checks[operation] += 1

    def add_finding(self, check: str, failure: Any, phase: str, curls: tuple[str, ...], label: str) -> None:
        # Schemathesis's failures compare equal when they are the same kind of failure on the same operation.
        key = (check, failure)
        if key in self.seen:
            return
        self.seen.add(key)
        self.outcome.findings.append(
            Finding(
                operation=self.operation(label),
                label=label,
                check=check,
                title=str(failure.title),
                message=str(failure.message or ""),
                phase=phase,
                curls=curls,
            )
        )
