"""Faults: what goes wrong, where, and how often, from any of four doors (header, --fault, [[faults]], admin API).

`FaultBook` holds the rules and decides each request's fault; `grammar` reads and writes rules as text
and data; `model` is the fault model itself; `kinds` has the fault kinds, one class each, registered by
key in `registry`, and `answers` what their answers are made of. The middleware that produces the faults
is `mock_server.middleware.faults`.
"""

from __future__ import annotations

from .book import Decision, FaultBook
from .durations import go_duration, parse_duration
from .errors import FaultSyntaxError
from .grammar import parse_any, parse_header, parse_rule, rule_data, rule_from_data, spec_text
from .kinds import Empty, Hang, Invalid, Latency, Malformed, Reset, Slow, Status, StreamCut
from .model import FaultRule, FaultSpec, Schedule, Where
from .registry import KINDS, Kind, Kinds, Outcome, fault_kinds_help, fault_kinds_table, register

__all__ = [
    "KINDS",
    "Decision",
    "Empty",
    "FaultBook",
    "FaultRule",
    "FaultSpec",
    "FaultSyntaxError",
    "Hang",
    "Invalid",
    "Kind",
    "Kinds",
    "Latency",
    "Malformed",
    "Outcome",
    "Reset",
    "Schedule",
    "Slow",
    "Status",
    "StreamCut",
    "Where",
    "fault_kinds_help",
    "fault_kinds_table",
    "go_duration",
    "parse_any",
    "parse_duration",
    "parse_header",
    "parse_rule",
    "register",
    "rule_data",
    "rule_from_data",
    "spec_text",
]
