"""The operation table: every operation of the contract, found by method and path with `match()`."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..paths import api_path, compile_path
from ..types import Handler
from .document import Contract
from .validation import OperationValidator, Validators

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True, slots=True)
class Bound:
    """An operation ready to serve: its validator and its handler."""

    validator: OperationValidator
    handler: Handler


class Found(NamedTuple):
    """A path of the contract: the operation of the request's method (None: the method is not allowed
    there, and `allow` lists those that are) and the path's parameters."""

    operation: Bound | None
    path_params: dict[str, str]
    allow: str


@dataclass(frozen=True, slots=True)
class Template:
    regex: re.Pattern[str]
    by_method: dict[str, Bound]
    allow: str


def allowed(methods: Collection[str]) -> str:
    return ", ".join(m for m in METHOD_ORDER if m in methods)


class OperationTable:
    """The contract's path templates, each with its operations by method (HEAD served as GET)."""

    def __init__(self, contract: Contract, validators: Validators, handlers: Mapping[str, Handler]) -> None:
        # By path depth, in the contract's order: a request is tried against the templates of its depth. A
        # template that fails fails on its first literal characters, cheaper than any finer index (keying by
        # depth and first segment, measured with callgrind, cost more per request than the regexes it saved).
        self.by_depth: dict[int, list[Template]] = {}
        for path, operations in contract.paths.items():
            by_method = {
                method: Bound(validators[op.operation_id], handlers[op.operation_id])
                for method, op in operations.items()
            }
            if "GET" in by_method:
                by_method["HEAD"] = by_method["GET"]
            template = Template(compile_path(path, capture=True), by_method, allowed(operations))
            self.by_depth.setdefault(path.count("/"), []).append(template)

    def match(self, method: str, path: str) -> Found | None:
        """The operation for this request, under /v1 or at the root; None when no path of the contract fits."""
        path = api_path(path)
        for template in self.by_depth.get(path.count("/"), ()):
            found = template.regex.fullmatch(path)
            if found is not None:
                return Found(template.by_method.get(method), found.groupdict(), template.allow)
        return None


def match_with_overlay(table: OperationTable, overlay: OperationTable | None, method: str, path: str) -> Found | None:
    """`table`'s operation for the request, else the overlay's where it serves one (the operations a flavour
    served beyond the contract: contracts/foundry-agents.yaml)."""
    found = table.match(method, path)
    if overlay is not None and (found is None or found.operation is None):
        extra = overlay.match(method, path)
        if extra is not None and extra.operation is not None:
            return extra
    return found
