"""An `FuzzResult` told three ways: for a person at a terminal, as JUnit XML for CI, and as JSON for scripts."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from .result import EXIT_UNTESTED, Finding, FuzzResult

INDENT = "    "


def describe(finding: Finding) -> str:
    """A finding as the terminal shows it: where, which check, what was wrong, and how to see it again."""
    where = finding.operation if finding.operation == finding.label else f"{finding.operation} ({finding.label})"
    lines = [f"FAILED {where}: {finding.check} [{finding.phase}]", textwrap.indent(finding.title, INDENT)]
    if finding.message.strip():
        lines.append(textwrap.indent(finding.message.strip(), INDENT))
    if finding.curls:
        intro = "Reproduce:" if len(finding.curls) == 1 else f"Reproduce ({len(finding.curls)} requests, in order):"
        lines.append(f"{INDENT}{intro}")
        lines.extend(textwrap.indent(curl, INDENT * 2) for curl in finding.curls)
    return "\n".join(lines)


def summary(outcome: FuzzResult) -> str:
    if outcome.exit_code == EXIT_UNTESTED:
        return f"Nothing was tested: {untested_reason(outcome)}"
    failed = sorted({finding.check for finding in outcome.findings})
    verdict = f"{count(len(outcome.findings), 'failure')} ({', '.join(failed)})" if failed else "every check held"
    head = f"{count(len(outcome.operations), 'operation')}, {count(outcome.checks_run, 'check result')}: {verdict}"
    if outcome.errors:
        head += f", {count(len(outcome.errors), 'error')}"
    return f"{head}. {outcome.elapsed:.1f} s, seed {outcome.seed}."


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def untested_reason(outcome: FuzzResult) -> str:
    if outcome.untested is not None:
        return outcome.untested
    if outcome.errors:
        first = outcome.errors[0]
        return f"{first.title}: {first.message}".strip(": ")
    return "no check ran (were the operations filtered out, or every phase skipped?)"


def print_outcome(outcome: FuzzResult, out: TextIO) -> None:
    for finding in outcome.findings:
        print(describe(finding), end="\n\n", file=out)
    for error in outcome.errors:
        print(f"ERROR {error.label}: {error.title}", file=out)
        if error.message:
            print(textwrap.indent(error.message.strip(), INDENT), file=out)
        print(file=out)
    print(summary(outcome), file=out, flush=True)


def junit(outcome: FuzzResult) -> ET.Element:
    """One test case per operation, its failures in one `<failure>` and its errors in one `<error>`, as
    CI tools expect; problems that belong to no operation (or an untested run) in a test case "run"."""
    suite = ET.Element("testsuite", name="threads-mock fuzz", time=f"{outcome.elapsed:.3f}")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("target", outcome.target), ("seed", outcome.seed), ("checks", ",".join(outcome.checks))):
        ET.SubElement(properties, "property", name=name, value=str(value))
    labels = dict(outcome.operations)
    for finding in outcome.findings:
        labels.setdefault(finding.operation, finding.label)
    placed: set[int] = set()
    for operation, label in sorted(labels.items()):
        case = ET.SubElement(suite, "testcase", classname="threads-mock.fuzz", name=f"{operation} ({label})")
        found = outcome.findings_for(operation)
        if found:
            checks = ",".join(sorted({f.check for f in found}))
            failure = ET.SubElement(case, "failure", type=checks, message=found[0].title)
            failure.text = "\n\n".join(describe(f) for f in found)
        trouble = outcome.errors_for(operation)
        if trouble:
            placed.update(id(e) for e in trouble)
            error = ET.SubElement(case, "error", message=trouble[0].title)
            error.text = "\n\n".join(f"{e.title}\n{e.message}" for e in trouble)
    rest = [e for e in outcome.errors if id(e) not in placed]
    if rest or outcome.exit_code == EXIT_UNTESTED:
        case = ET.SubElement(suite, "testcase", classname="threads-mock.fuzz", name="run")
        error = ET.SubElement(case, "error", message=rest[0].title if rest else untested_reason(outcome))
        error.text = "\n\n".join(f"{e.label}: {e.title}\n{e.message}" for e in rest) or untested_reason(outcome)
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for case in cases if case.find("failure") is not None)))
    suite.set("errors", str(sum(1 for case in cases if case.find("error") is not None)))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return root


def document(outcome: FuzzResult) -> dict[str, Any]:
    return {
        "tool": f"threads-mock fuzz {__version__}",
        "target": outcome.target,
        "seed": outcome.seed,
        "phases": list(outcome.phases),
        "checks": list(outcome.checks),
        "max_examples": outcome.max_examples,
        "exit_code": outcome.exit_code,
        "summary": summary(outcome),
        "elapsed_seconds": round(outcome.elapsed, 3),
        "operations": {
            op: {
                "label": label,
                "check_results": outcome.operation_checks[op],
                "failures": len(outcome.findings_for(op)),
            }
            for op, label in sorted(outcome.operations.items())
        },
        "check_results": {
            name: {"passed": outcome.passed[name], "failed": outcome.failed[name]} for name in outcome.checks
        },
        "failures": [
            {
                "operation": f.operation,
                "label": f.label,
                "check": f.check,
                "title": f.title,
                "message": f.message,
                "phase": f.phase,
                "reproduce": list(f.curls),
            }
            for f in outcome.findings
        ],
        "errors": [
            {"label": e.label, "title": e.title, "message": e.message, "phase": e.phase} for e in outcome.errors
        ],
    }


def write(kind: str, path: Path, outcome: FuzzResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "junit":
        ET.ElementTree(junit(outcome)).write(path, encoding="utf-8", xml_declaration=True)
    else:
        path.write_text(json.dumps(document(outcome), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
