"""Server settings, from (highest first) command-line options, THREADS_MOCK_* variables, a TOML file."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .store.base import DEFAULT_MAX_THREADS

ENV_PREFIX = "THREADS_MOCK_"
DEFAULT_MAX_BODY_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 4010
    seed: int | None = None
    api_keys: tuple[str, ...] = ()
    log_level: str = "info"
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    body_timeout: float = 30.0
    store: str = "memory"
    max_threads: int = DEFAULT_MAX_THREADS
    workers: int = 1
    mode: str = "strict"
    # Fault rules in the command-line form (str) or as data (a [[faults]] table); read by create_app.
    faults: tuple[str | Mapping[str, Any], ...] = ()
    rate_limit: str | None = None
    journal_size: int = 10_000
    admin_token: str | None = None
    contract: Path | None = None
    # The `openai-poll-after-ms` of run answers a poller should not stop at: the SDK sleeps that long.
    poll_after_ms: int = 25
    config: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Merge the three sources; `options` holds only what was given on the command line."""
        given = {k: v for k, v in (options or {}).items() if v is not None and v != ()}
        from_env = environment_values(os.environ if environ is None else environ)
        config_path = given.get("config") or from_env.get("config")
        from_file = config_values(Path(config_path)) if config_path else {}
        merged = {**from_file, **from_env, **given}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = {k: v for k, v in merged.items() if k not in names}
        return cls(**{k: coerce(k, v) for k, v in merged.items() if k in names}, extra=unknown)


def coerce(name: str, value: Any) -> Any:
    if name in ("port", "max_body_size", "journal_size", "max_threads", "workers", "poll_after_ms"):
        return int(value)
    if name == "body_timeout":
        return float(value)
    if name == "faults":
        # From the environment: one rule per line.
        if isinstance(value, str):
            return tuple(line.strip() for line in value.splitlines() if line.strip())
        return tuple(value)
    if name in ("rate_limit", "admin_token"):
        return None if value in (None, "") else str(value)
    if name == "seed":
        return None if value in (None, "") else int(value)
    if name == "api_keys":
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return tuple(value)
    if name in ("contract", "config"):
        return Path(value)
    return value


def environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in ("api_key", "api_keys"):
                name = "api_keys"
            elif name == "fault":
                name = "faults"
            values[name] = value
    return values


def config_values(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    section = data.get("server", data)
    values = {k.replace("-", "_"): v for k, v in section.items() if not isinstance(v, dict | list) or k != "faults"}
    if "api_key" in values:
        values["api_keys"] = values.pop("api_key")
    for table in ("faults", "replies"):
        if table in data:
            values[table] = data[table]
    return values
