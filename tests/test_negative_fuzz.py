"""Schemathesis in negative mode, in-process: only requests the contract forbids (wrong types, missing or
extra fields, bad path and query values, missing headers, methods a path does not have), and the mock must
refuse each with a clear 4xx in the contract's error shape, never a 5xx.

`tests/test_schemathesis.py` runs every check on both positive and negative data; this one spends its whole
budget on invalid input, in the phases that generate it.
"""

from __future__ import annotations

from mock_server import Settings, create_app
from mock_server.contract import default_contract_path
from mock_server.fuzzing.report import describe
from mock_server.fuzzing.result import FuzzResult
from mock_server.fuzzing.runner import config_data, execute, load_schema, operation_ids

SEED = 7_2026
KEY = "sk-negative"
PHASES = ("coverage", "fuzzing")
CHECKS = (
    "not_a_server_error",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
# About 10 s on the 2-core development machine, every operation of the contract included.
MAX_EXAMPLES = 10


def test_negative_fuzzing_finds_no_server_error() -> None:
    data = config_data(
        base_url=None,
        headers={"Authorization": f"Bearer {KEY}"},
        checks=CHECKS,
        phases=PHASES,
        max_examples=MAX_EXAMPLES,
        seed=SEED,
    )
    data["generation"]["mode"] = "negative"
    contract = default_contract_path()
    app = create_app(Settings(seed=SEED, api_keys=(KEY,), log_level="warning"))
    schema = load_schema(contract, data, app=app)
    outcome = FuzzResult(target="in-process", seed=SEED, checks=CHECKS, phases=PHASES, max_examples=MAX_EXAMPLES)
    phases: dict[str, str] = {}

    def on_phase(name: str, status: str, skipped: str | None) -> None:
        phases.setdefault(name, skipped or status)

    execute(schema, outcome, operation_ids(contract), on_phase=on_phase)

    assert not outcome.findings, "\n\n".join(describe(finding) for finding in outcome.findings)
    assert not outcome.errors, outcome.errors
    assert {name: phases.get(name) for name in PHASES} == dict.fromkeys(PHASES, "success")
    # Every operation got invalid requests, and the checks that judge them did judge.
    assert set(outcome.operations) == set(operation_ids(contract).values())
    for check in ("not_a_server_error", "negative_data_rejection", "missing_required_header"):
        assert outcome.passed[check] > 0, check
    # The journal saw what was sent: every request answered, none with a 5xx, most refused. (A few are
    # answered 200: a mutation can land on a value that is still valid, e.g. a dropped optional field.)
    statuses = [entry.status for entry in app.journal.entries()]
    assert all(status is not None and status < 500 for status in statuses), sorted(set(map(str, statuses)))
    refused = [status for status in statuses if status is not None and 400 <= status < 500]
    assert len(refused) > 10 * len(operation_ids(contract))
