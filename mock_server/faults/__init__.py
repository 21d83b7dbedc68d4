"""Faults: what goes wrong, where, and how often, from any of four doors (header, --fault, [[faults]], admin API).

`FaultBook` holds the rules and decides each request's fault; `grammar` reads and writes rules as text
and data; `model` is the fault model itself. The middleware that produces the faults is
`mock_server.middleware.faults`.
"""

from __future__ import annotations

from .book import Decision, FaultBook
from .durations import go_duration, parse_duration
from .errors import FaultSyntaxError
from .grammar import parse_any, parse_header, parse_rule, rule_data, rule_from_data, spec_text
from .model import FaultRule, FaultSpec, Schedule, Where

__all__ = [
    "Decision",
    "FaultBook",
    "FaultRule",
    "FaultSpec",
    "FaultSyntaxError",
    "Schedule",
    "Where",
    "go_duration",
    "parse_any",
    "parse_duration",
    "parse_header",
    "parse_rule",
    "rule_data",
    "rule_from_data",
    "spec_text",
]
