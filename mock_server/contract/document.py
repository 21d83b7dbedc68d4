"""The OpenAPI document: where it lives, and its operations with every `$ref` resolved."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

CONTRACT_NAME = "openai-threads.yaml"
# The operations only Azure AI Foundry's agents service served, over the contract's components (azure.py).
FOUNDRY_OVERLAY_NAME = "foundry-agents.yaml"
# libyaml's loader parses the contract ten times faster than the pure-Python one.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BODY_MEDIA_TYPES = ("application/json", "multipart/form-data")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def default_contract_path(name: str = CONTRACT_NAME) -> Path:
    """The contract (or another file of contracts/) shipped inside the installed package, else the one in a
    source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "contracts" / name, package.parent / "contracts" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"contract {name} not found next to {package}")


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    # The request body's media type: application/json, or multipart/form-data for an upload.
    body_media_type: str | None
    responses: dict[str, dict[str, Any]] = field(repr=False)

    def params_in(self, location: str) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == location)

    def response_schema(self, status: int) -> dict[str, Any] | None:
        response = self.responses.get(str(status)) or self.responses.get("default") or {}
        media = response.get("content", {}).get("application/json", {})
        schema = media.get("schema")
        return schema if isinstance(schema, dict) else None


def resolve_refs(
    node: Any, root: dict[str, Any], seen: tuple[str, ...] = (), done: dict[str, Any] | None = None
) -> Any:
    """Inline every local `$ref` (the contract has no recursive schemas). Nothing of `root` is shared with the
    result; given `done`, a component is resolved once and its result shared by every place that names it
    (the contract's parsed schemas are read, never changed)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                raise ValueError(f"recursive $ref {ref}")
            resolved = None if done is None else done.get(ref)
            if resolved is None:
                target: Any = root
                for part in ref[2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                resolved = resolve_refs(target, root, (*seen, ref), done)
                if done is not None:
                    done[ref] = resolved
            if len(node) == 1:
                return resolved
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return {**resolved, **resolve_refs(siblings, root, seen, done)}
        return {key: resolve_refs(value, root, seen, done) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_refs(item, root, seen, done) for item in node]
    return node


def cache_directory() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "threads-mock"


def parse_yaml(text: str) -> dict[str, Any]:
    """The YAML document, read from a JSON copy in the user's cache made from this very text when there is one.
    Building the objects from libyaml's events was two thirds of the mock's start-up; orjson reads the same
    document in a fortieth of the time. A document JSON cannot hold as it is (a key that is no string) is never
    copied; a cache that cannot be read or written is passed by."""
    copy = cache_directory() / f"contract-{hashlib.sha256(text.encode()).hexdigest()}.json"
    try:
        cached: dict[str, Any] = orjson.loads(copy.read_bytes())
        return cached
    except (OSError, orjson.JSONDecodeError):
        pass
    document: dict[str, Any] = yaml.load(text, Loader=YAML_LOADER)
    try:
        written = orjson.dumps(document)
        if orjson.loads(written) == document:
            copy.parent.mkdir(parents=True, exist_ok=True)
            partial = copy.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(written)
            partial.replace(copy)
    except (OSError, TypeError):
        pass
    return document


class Contract:
    """The parsed contract, its raw text, and its operations by id and by path."""

    def __init__(self, path: Path | None = None, document: dict[str, Any] | None = None) -> None:
        self.path = path or default_contract_path()
        self.text = self.path.read_text(encoding="utf-8")
        self.document: dict[str, Any] = document or parse_yaml(self.text)
        self.operations: dict[str, Operation] = {}
        self.paths: dict[str, dict[str, Operation]] = {}
        self._overlays: dict[Path, Contract] = {}
        self._resolved: dict[str, Any] = {}
        for template, item in self.document["paths"].items():
            shared = item.get("parameters", [])
            by_method: dict[str, Operation] = {}
            for method in HTTP_METHODS:
                spec = item.get(method)
                if spec is None:
                    continue
                operation = self._operation(method, template, spec, shared)
                self.operations[operation.operation_id] = operation
                by_method[method.upper()] = operation
            self.paths[template] = by_method

    def _operation(self, method: str, template: str, spec: dict[str, Any], shared: list[Any]) -> Operation:
        resolved = resolve_refs(
            {**spec, "parameters": [*shared, *spec.get("parameters", [])]}, self.document, done=self._resolved
        )
        parameters = tuple(
            Parameter(p["name"], p["in"], bool(p.get("required", False)), p.get("schema", {}))
            for p in resolved["parameters"]
        )
        body = resolved.get("requestBody") or {}
        content = body.get("content", {})
        media_type = next((m for m in BODY_MEDIA_TYPES if m in content), None)
        body_schema = content[media_type].get("schema") if media_type is not None else None
        return Operation(
            operation_id=spec["operationId"],
            method=method.upper(),
            path=template,
            parameters=parameters,
            body_schema=body_schema,
            body_required=bool(body.get("required", False)),
            body_media_type=media_type,
            responses=resolved.get("responses", {}),
        )

    def overlay(self, path: Path) -> Contract:
        """The operations of an overlay (a file of contracts/ with paths of its own, whose `$ref`s may name
        this contract's components), resolved against both: a contract of the overlay's operations alone. Made
        once per contract and overlay, as the contract is parsed once."""
        if (made := self._overlays.get(path)) is not None:
            return made
        text = path.read_text(encoding="utf-8")
        extra = parse_yaml(text)
        components = {
            kind: {**self.document["components"].get(kind, {}), **extra.get("components", {}).get(kind, {})}
            for kind in {*self.document["components"], *extra.get("components", {})}
        }
        made = self._overlays[path] = Contract(path, {**extra, "components": components})
        return made

    @classmethod
    def load(cls, path: Path | None = None) -> Contract:
        """The contract at `path`, parsed once per file and version: every app of a test session (the pytest
        plugin, a suite that starts a server per test) shares it. Nothing changes a contract once parsed."""
        resolved = (path or default_contract_path()).resolve()
        stat = resolved.stat()
        return _parsed(resolved, stat.st_mtime_ns, stat.st_size)

    def schema(self, name: str) -> dict[str, Any]:
        resolved: dict[str, Any] = resolve_refs(self.document["components"]["schemas"][name], self.document)
        return resolved

    @functools.cached_property
    def json_bytes(self) -> bytes:
        return orjson.dumps(self.document)


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int) -> Contract:
    return Contract(path)
