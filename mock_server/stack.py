"""The server stack: which HTTP/1.1 parser and event loop uvicorn serves the mock with (issue 19).

httptools (llhttp, in C) and uvloop (libuv) serve more requests per second than uvicorn's pure-Python h11 and
asyncio on the same mock (BENCHMARKS.md): they are the default wherever their wheels install (CPython outside
Windows, through the dependency markers in pyproject.toml). h11 and asyncio stay as the fallback, picked when the
compiled ones are missing or asked for with `--http h11 --loop asyncio`; the transport-sensitive tests run on both.

uvicorn runs them through mock_server/protocols.py, which sends each response in one write.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# What each choice needs importable; "auto" takes the first whose module is there.
HTTP_MODULES = {"httptools": "httptools", "h11": "h11"}
LOOP_MODULES = {"uvloop": "uvloop", "asyncio": "asyncio"}
PROTOCOLS = {"httptools": "CoalescingHttpTools", "h11": "CoalescingH11"}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it; a module in sys.modules without a spec
        return False


@dataclass(frozen=True)
class Stack:
    http: str  # "httptools" or "h11"
    loop: str  # "uvloop" or "asyncio"

    @classmethod
    def resolve(cls, http: str = "auto", loop: str = "auto") -> Stack:
        """The stack `auto` stands for here, or the one asked for; ValueError when that one is not installed."""
        return cls(pick("http", http, HTTP_MODULES), pick("loop", loop, LOOP_MODULES))

    @classmethod
    def of(cls, settings: Any) -> Stack:
        """The stack of a `Settings` (or of anything without the two fields: auto)."""
        return cls.resolve(getattr(settings, "http", "auto"), getattr(settings, "loop", "auto"))

    def uvicorn_options(self) -> dict[str, Any]:
        return {"http": self.protocol, "loop": self.loop}

    @property
    def protocol(self) -> str:
        """uvicorn's protocol for the parser, each response in one write; an import string, as uvicorn takes it
        (and as `--workers` hands it to each worker process)."""
        return f"mock_server.protocols:{PROTOCOLS[self.http]}"

    def loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop]:
        if self.loop == "uvloop":
            import uvloop

            return uvloop.new_event_loop
        return asyncio.new_event_loop

    def __str__(self) -> str:
        return f"http={self.http}, loop={self.loop}"


def pick(what: str, asked: str, modules: dict[str, str]) -> str:
    if asked == "auto":
        return next(name for name, module in modules.items() if installed(module))
    if asked not in modules:
        raise ValueError(f"--{what} {asked}: choose from auto, {', '.join(modules)}")
    if not installed(modules[asked]):
        raise ValueError(f"--{what} {asked}: {modules[asked]} is not installed (pip install {modules[asked]})")
    return asked
