"""Path templates and path patterns, compiled by one function for the router, fault rules and the journal.

The API is served under /v1 and at the root alike: every matcher compares paths with `/v1` taken off by
`api_path`, so a `/v1/threads` rule also matches `/threads` and the other way round.
"""

from __future__ import annotations

import re

V1 = "/v1"
# `**` any run of segments, `*` one segment (or none), `{name}` one non-empty segment.
TOKEN = re.compile(r"(\*\*|\*|\{[^{}/]*\})")
ANYWHERE = ("*", "**")


def api_path(path: str) -> str:
    return path[len(V1) :] if path.startswith(V1 + "/") else path


def path_regex(pattern: str, *, capture: bool = False) -> str:
    """The regular expression of a template (`/threads/{thread_id}`) or pattern (`/v1/threads/*`), to be
    matched in full against `api_path(path)`; `capture` names a group for each `{name}`."""
    if pattern in ANYWHERE:
        return r"(?s:.*)"
    parts: list[str] = []
    for token in TOKEN.split(api_path(pattern)):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token.startswith("{") and token.endswith("}"):
            parts.append(f"(?P<{token[1:-1]}>[^/]+)" if capture else "[^/]+")
        elif token:
            parts.append(re.escape(token))
    return "".join(parts)


def compile_path(pattern: str, *, capture: bool = False) -> re.Pattern[str]:
    return re.compile(path_regex(pattern, capture=capture))
