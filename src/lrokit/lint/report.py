"""The findings of one lint, rendered for people (rich), CI (JUnit XML) and tools (JSON,
described by ``lrokit/schemas/lint.schema.json``; SARIF in ``sarif.py``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lrokit import __version__
from lrokit.lint.checks import Finding
from lrokit.lint.document import Document
from lrokit.rules import LINT_FAMILY, RULES, Level, Rule


@dataclass(frozen=True)
class LintReport:
    """What one lint found, and whether SHOULD findings fail it."""

    document: Document
    profile: str
    findings: Sequence[Finding]
    strict: bool

    def fails(self, finding: Finding) -> bool:
        """A MUST finding fails; a SHOULD finding fails only under ``--strict``."""
        return finding.rule.level is Level.MUST or (
            self.strict and finding.rule.level is Level.SHOULD
        )

    @property
    def exit_code(self) -> int:
        """0 clean or warnings only, 1 a finding that fails."""
        return 1 if any(self.fails(f) for f in self.findings) else 0

    def level(self, finding: Finding) -> str:
        """``error`` for a finding that fails, else ``warning``."""
        return "error" if self.fails(finding) else "warning"


def spec_rules() -> list[Rule]:
    """The rules ``lrokit lint`` judges."""
    return [rule for rule in RULES.values() if rule.family == LINT_FAMILY]


def print_console(report: LintReport, console: Console) -> None:
    """One row per finding, then a summary line."""
    doc = report.document
    if report.findings:
        table = Table(title=f"lrokit lint {doc.source} (profile {report.profile})", expand=True)
        for column, options in (
            ("rule", {"no_wrap": True}),
            ("level", {"no_wrap": True}),
            ("where", {"ratio": 2, "overflow": "fold"}),
            ("finding", {"ratio": 3}),
            ("source", {"ratio": 1}),
        ):
            table.add_column(column, **options)
        for finding in report.findings:
            line = doc.line(finding.pointer)
            style = "bold red" if report.fails(finding) else "yellow"
            table.add_row(
                finding.rule.id,
                Text(str(finding.rule.level), style),
                finding.pointer + (f"\n(line {line})" if line else ""),
                Text(finding.message).append(f"\nfix: {finding.hint}", "dim"),
                finding.rule.citation,
            )
        console.print(table)
    counts = Counter(report.level(f) for f in report.findings)
    if not report.findings:
        console.print(Text("PASS: ", "green").append(f"{doc.source} meets every SPEC rule"))
    else:
        outcome = Text("FAIL: ", "bold red") if report.exit_code else Text("WARN: ", "yellow")
        console.print(
            outcome.append(
                f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}"
                f" in {doc.source}"
            )
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def to_json(report: LintReport) -> dict[str, Any]:
    """The report as a JSON document valid against ``lint.schema.json``."""
    return {
        "lrokit": __version__,
        "spec": report.document.source,
        "openapi": str(report.document.data["openapi"]),
        "profile": report.profile,
        "strict": report.strict,
        "exitCode": report.exit_code,
        "findings": [
            {
                "rule": f.rule.id,
                "level": str(f.rule.level),
                "severity": report.level(f),
                "pointer": f.pointer,
                "line": report.document.line(f.pointer),
                "message": f.message,
                "hint": f.hint,
                "citation": f.rule.citation,
            }
            for f in report.findings
        ],
    }


def to_junit(report: LintReport) -> bytes:
    """JUnit XML: one test case per SPEC rule; a failing finding is a failure, a warning
    passes with the finding in ``system-out``."""
    rules = spec_rules()
    by_rule = {rule.id: [f for f in report.findings if f.rule.id == rule.id] for rule in rules}
    failures = sum(any(report.fails(f) for f in found) for found in by_rule.values())
    suites = ET.Element("testsuites", name="lrokit lint")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"lrokit.SPEC {report.document.source}",
        tests=str(len(rules)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for rule in rules:
        case = ET.SubElement(
            suite, "testcase", classname="lrokit.SPEC", name=f"{rule.id} {rule.text}"
        )
        found = by_rule[rule.id]
        if not found:
            continue
        text = "\n".join(f"{f.pointer}: {f.message} (fix: {f.hint})" for f in found)
        message = f"{rule.level} {rule.id} ({rule.citation})"
        if any(report.fails(f) for f in found):
            ET.SubElement(case, "failure", message=message).text = text
        else:
            ET.SubElement(case, "system-out").text = f"WARN {message}\n{text}"
    document: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return document
