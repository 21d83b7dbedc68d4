"""What a fuzzing run found, as plain data: the reports and the exit code are decided from this alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNTESTED = 2


@dataclass(frozen=True)
class Finding:
    """One check that failed, and how to see it again."""

    operation: str  # the operationId, else the label ("POST /threads")
    label: str  # "POST /threads"
    check: str  # the Schemathesis check, e.g. "response_schema_conformance"
    title: str
    message: str
    phase: str
    # The requests that reproduce it, oldest first, each a curl command; the last one failed the check.
    curls: tuple[str, ...]


@dataclass(frozen=True)
class RunError:
    """Something that kept part of the run from testing anything (a network error, a schema problem)."""

    label: str
    title: str
    message: str
    phase: str | None = None


@dataclass
class FuzzResult:
    target: str  # the base URL that was fuzzed
    seed: int
    checks: tuple[str, ...]
    phases: tuple[str, ...]
    max_examples: int
    findings: list[Finding] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)
    # Check results by check name: how many times each passed and failed.
    passed: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    # Operations by id (or label) that at least one check looked at.
    operations: dict[str, str] = field(default_factory=dict)  # id -> label
    operation_checks: Counter[str] = field(default_factory=Counter)  # check results by operation
    elapsed: float = 0.0
    # Why nothing could be tested, when that is the case (decided before or instead of the run).
    untested: str | None = None

    @property
    def checks_run(self) -> int:
        return sum(self.passed.values()) + sum(self.failed.values())

    @property
    def exit_code(self) -> int:
        if self.untested is not None or self.checks_run == 0:
            return EXIT_UNTESTED
        return EXIT_FAILED if self.findings or self.errors or sum(self.failed.values()) else EXIT_OK

    def findings_for(self, operation: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.operation == operation]

    def errors_for(self, operation: str) -> list[RunError]:
        return [error for error in self.errors if error.label in (operation, self.operations.get(operation))]
