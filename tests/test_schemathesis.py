"""The mock passes every Schemathesis check, in every phase, in-process through Schemathesis's Python API.

The contract is loaded with `schemathesis.openapi.from_path` and given the app as `schema.app`, so every
request (the extra probes of `ignored_auth` included) reaches the mock in-process. The mock has an API
key, so that a request without it or with another one must be refused. The seed is fixed; `make fuzz`
runs the same checks far deeper, over HTTP. Schemathesis generates valid and invalid data in the same run,
so this one run also proves that invalid input is refused with a 4xx, never a 5xx.
"""

from __future__ import annotations

from mock_server import MockApp, Settings, create_app
from mock_server.contract import default_contract_path
from mock_server.fuzzing.options import PHASES
from mock_server.fuzzing.report import describe
from mock_server.fuzzing.result import EXIT_FAILED, EXIT_OK, FuzzResult
from mock_server.fuzzing.runner import config_data, execute, load_schema, operation_ids, runnable_checks

SEED = 20260826
KEY = "sk-contract-suite"
# Enough for every phase to reach every operation and every check to run many times, while the whole of
# `make test` stays under four minutes on two cores; `make fuzz` runs 500 per operation over HTTP.
MAX_EXAMPLES = 7
# Operations whose bodies repeat the same big schemas: input items (in a conversation's, its items' and a
# response's `input`), createThreadAndRun (createThread's body plus createRun's) and modifyAssistant
# (createAssistant's). Their negative coverage half doubled this test's time while walking rules already
# walked elsewhere (createThread, createRun, createAssistant keep both halves); here they get the valid half,
# the fuzzing phase still sends them invalid bodies, and `make fuzz` runs every half of every operation.
POSITIVE_COVERAGE = "^(createConversation|createConversationItems|createResponse|createThreadAndRun|modifyAssistant)$"


def fuzz_in_process(app: MockApp, *, phases: tuple[str, ...], max_examples: int) -> tuple[FuzzResult, dict[str, str]]:
    checks = tuple(runnable_checks())
    data = config_data(
        base_url=None,
        headers={"Authorization": f"Bearer {KEY}"},
        checks=checks,
        phases=phases,
        max_examples=max_examples,
        seed=SEED,
    )
    data.setdefault("operations", []).append(
        {"include-operation-id-regex": POSITIVE_COVERAGE, "phases": {"coverage": {"generation": {"mode": "positive"}}}}
    )
    contract = default_contract_path()
    schema = load_schema(contract, data, app=app)
    outcome = FuzzResult(target="in-process", seed=SEED, checks=checks, phases=phases, max_examples=max_examples)
    phase_results: dict[str, str] = {}

    def on_phase(name: str, status: str, skipped: str | None) -> None:
        phase_results.setdefault(name, skipped or status)

    execute(schema, outcome, operation_ids(contract), on_phase=on_phase)
    return outcome, phase_results


def test_the_mock_passes_every_check_in_every_phase() -> None:
    app = create_app(Settings(seed=SEED, api_keys=(KEY,), log_level="warning"))
    outcome, phases = fuzz_in_process(app, phases=PHASES, max_examples=MAX_EXAMPLES)

    assert not outcome.findings, "\n\n".join(describe(finding) for finding in outcome.findings)
    assert not outcome.errors, outcome.errors
    assert phases == dict.fromkeys(PHASES, "success")
    # A check that never ran would pass silently: each one must have judged responses.
    assert set(outcome.checks) >= {"ignored_auth", "use_after_free", "ensure_resource_availability"}
    assert [name for name in outcome.checks if outcome.passed[name] == 0] == []
    assert set(outcome.operations) == set(operation_ids(default_contract_path()).values())
    assert outcome.exit_code == EXIT_OK
    # The coverage and fuzzing phases generate invalid input too (Schemathesis's default mode is both):
    # the journal saw every request answered, none with a 5xx, and many refused. A few mutations land on a
    # value that is still valid (a dropped optional field), so not all are refused.
    statuses = [entry.status for entry in app.journal.entries()]
    assert all(status is not None and status < 500 for status in statuses), sorted(set(map(str, statuses)))
    refused = [status for status in statuses if status is not None and 400 <= status < 500]
    assert len(refused) > 10 * len(operation_ids(default_contract_path()))
    for check in ("negative_data_rejection", "missing_required_header", "unsupported_method"):
        assert outcome.passed[check] > 0, check


def test_the_suite_fails_a_mock_that_ignores_credentials() -> None:
    # Without --api-key the mock takes any key, so the probe with a made-up key is answered as if it
    # were good: the in-process run must catch it, or the test above proves nothing about auth.
    outcome, _ = fuzz_in_process(create_app(Settings(seed=SEED)), phases=("examples",), max_examples=5)

    assert {finding.check for finding in outcome.findings} == {"ignored_auth"}
    assert outcome.exit_code == EXIT_FAILED
    finding = outcome.findings[0]
    assert "invalid credentials" in finding.message
    assert finding.curls and finding.curls[-1].startswith("curl -X ")
