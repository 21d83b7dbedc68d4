"""The contract package: the OpenAPI document, its operation table, request validation, and the
explanation of a schema failure in the real API's words."""

from __future__ import annotations

from .document import (
    CONTRACT_NAME,
    FOUNDRY_OVERLAY_NAME,
    Contract,
    Operation,
    Parameter,
    default_contract_path,
    resolve_refs,
)
from .explain import WORDING, explain
from .operations import METHOD_ORDER, Bound, Found, OperationTable, allowed, match_with_overlay
from .validation import OperationValidator, SchemaCheck, Validators

__all__ = [
    "CONTRACT_NAME",
    "FOUNDRY_OVERLAY_NAME",
    "METHOD_ORDER",
    "WORDING",
    "Bound",
    "Contract",
    "Found",
    "Operation",
    "OperationTable",
    "OperationValidator",
    "Parameter",
    "SchemaCheck",
    "Validators",
    "allowed",
    "default_contract_path",
    "explain",
    "match_with_overlay",
    "resolve_refs",
]
