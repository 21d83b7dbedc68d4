"""Why a request got its 4xx, in plain words, worked out again from the journal's record of it.

The journal keeps the request and the answer (the API's error among it), not which rule of the contract refused
it: working that out for every request would put work on the request path for the sake of a page few open. A
request's validation is deterministic, so the same validators answer the same error when asked again, on
demand, here: the operation the path names, then the checks in the order dispatch runs them (the OpenAI-Beta
header, the path, the query, the body), each with its JSON Schema rule named beside the API's message.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .. import errors
from ..azure import BETA, AzureEdge, Route
from ..azure import PREFIXES as AZURE_PREFIXES
from ..contract import OperationTable, match_with_overlay
from ..contract.explain import error_order
from ..contract.validation import SchemaCheck
from ..errors import APIError, param_path
from ..journal import JournalEntry

if TYPE_CHECKING:
    # Only annotations: the validators import jsonschema on a first refusal (see contract/validation.py).
    import jsonschema


def schema_rule(
    check: SchemaCheck, instance: Any, param: str | None, prefix: tuple[str | int, ...] = ()
) -> dict[str, Any] | None:
    """The JSON Schema rule behind the API's error: its keyword, its value in the contract, where in the schema
    it sits, and the field it is about. Of the validator's errors (the branches of anyOf/oneOf included), the
    first that is about the field the API's error names (`param`); without one, the first error."""
    found = sorted(check.slow.iter_errors(instance), key=error_order)
    if not found:
        return None
    leaves = [leaf for error in found for leaf in leaves_of(error)]
    about = [leaf for leaf in leaves if field_of(leaf, prefix) == param]
    error = min(about, key=error_order) if about else found[0]
    limit = error.validator_value
    shown = limit if isinstance(limit, str | int | float | bool) or limit is None else _short(limit)
    return {
        "keyword": str(error.validator),
        "value": shown,
        "schema_path": "/".join(str(part) for part in error.absolute_schema_path),
        "field": field_of(error, prefix),
        "validator_message": error.message[:500],
    }


def leaves_of(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors that name a rule of their own: the error, or its branches' errors (anyOf, oneOf)."""
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in leaves_of(sub)]


def field_of(error: jsonschema.ValidationError, prefix: tuple[str | int, ...]) -> str | None:
    return param_path([*prefix, *error.absolute_path]) or None


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "…"


def contract_error(error: APIError, stage: str, rule: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "source": "contract",
        "stage": stage,
        "status": error.status,
        "message": error.message,
        "param": error.param,
        "code": error.code,
        "rule": rule,
    }


def explain_entry(
    entry: JournalEntry,
    operations: OperationTable,
    api_keys: frozenset[str],
    foundry_operations: OperationTable | None = None,
) -> dict[str, Any] | None:
    """What the mock found wrong with a request that got a 4xx; None for any other status. `foundry_operations`:
    what only Foundry's agents service served, tried as dispatch tries it, for Foundry's paths alone."""
    status = entry.status
    if status is None or not 400 <= status < 500:
        return None
    if entry.fault and entry.fault.get("kind") not in (None, "latency"):
        fault = entry.fault
        door = (
            "the X-Mock-Fault header"
            if fault.get("source") == "header"
            else "fault rule " + ", ".join(fault.get("rules") or ["?"])
        )
        return {"source": "fault", "message": f"A '{fault.get('kind')}' fault from {door} decided this answer."}
    headers = entry.headers
    # In the middleware's order: auth, the rate limit, then the operation and its checks.
    if status == 401 and not entry.path.startswith(AZURE_PREFIXES):
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return {"source": "auth", "message": errors.missing_api_key().message}
        if api_keys and key.strip() not in api_keys:
            return {"source": "auth", "message": errors.incorrect_api_key(key.strip()).message}
    if status == 429:
        return {"source": "rate_limit", "message": "The project's rate limit (--rate-limit) was spent."}
    # An Azure flavour's request: its credentials and api-version first, then the contract's path it names.
    route: Route | None = None
    if entry.path.startswith(AZURE_PREFIXES):
        scope: dict[str, Any] = {
            "path": entry.path,
            "query_string": entry.raw_query,
            "headers": entry.raw_headers,
            "state": {},
        }
        try:
            AzureEdge(api_keys).admit(scope)
        except APIError as error:
            return {"source": "azure", "status": error.status, "message": error.message or str(error.body())}
        route = scope["state"]["route"]
    path = entry.path if route is None else route.path
    query = entry.query if route is None else route.query_string.decode("latin-1")
    overlay = foundry_operations if route is not None and route.foundry else None
    found = match_with_overlay(operations, overlay, entry.method, path)
    if found is None:
        return {"source": "routing", "message": f"No operation of the contract has the path {entry.path}."}
    if found.operation is None:
        return {
            "source": "routing",
            "message": f"{entry.method} is not an operation of {entry.path}; the contract allows {found.allow}.",
        }
    validator = found.operation.validator
    try:
        validator.check_beta(headers.get("openai-beta") if route is None else BETA)
    except APIError as error:
        return contract_error(error, "header", {"keyword": "header", "field": "OpenAI-Beta", "value": None})
    try:
        validator.check_path(found.path_params)
    except APIError as error:
        return contract_error(error, "path", schema_rule(validator.path_check, dict(found.path_params), error.param))
    if validator.query_params:
        items = parse_qsl(query, keep_blank_values=True)
        try:
            validator.check_query(items)
        except APIError as error:
            rule = None
            if validator.query_check is not None:
                # A parameter given twice is refused before any schema is asked: no rule then.
                with contextlib.suppress(APIError):
                    rule = schema_rule(validator.query_check, validator.query_values(items), error.param)
            return contract_error(error, "query", rule)
    if validator.body_check is not None:
        if entry.body_cut:
            return {"source": "unknown", "message": "The body was cut in the journal; it cannot be checked again."}
        try:
            validator.check_body(entry.raw_body, headers.get("content-type"))
        except APIError as error:
            body = entry.body
            rule = schema_rule(validator.body_check, body, error.param) if isinstance(body, dict) else None
            if rule is None and error.param:
                # Not a schema rule: the contract's prose (constraints.py) or the body's encoding.
                rule = {"keyword": "constraint", "field": error.param, "value": None}
            return contract_error(error, "body", rule)
    elif validator.form is not None:
        return {"source": "unknown", "message": "An upload's form is checked as it streams; not checked again here."}
    return {
        "source": "handler",
        "message": "The request passes the contract's checks: the answer came from the operation itself "
        "(an object that does not exist, a run that is not in a state for this, a limit of the mock).",
    }
