"""SARIF 2.1.0 output of a lint, so that code hosts annotate the document's lines.

Each rule of the SPEC family is a ``reportingDescriptor`` (MUST: ``error``, SHOULD:
``warning`` by default); each finding a ``result`` located in the document by its JSON
pointer (a logical location) and, when the source maps it, its line (a region).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from lrokit import __version__
from lrokit.lint.report import LintReport, spec_rules
from lrokit.rules import Level

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact(source: str) -> dict[str, str]:
    """A URL as it is; a relative path against the checkout's root (``%SRCROOT%``)."""
    if source.startswith(("http://", "https://")):
        return {"uri": source}
    path = PurePath(source)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": path.as_posix(), "uriBaseId": "%SRCROOT%"}


def to_sarif(report: LintReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log with one run."""
    rules = spec_rules()
    index = {rule.id: number for number, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        location: dict[str, Any] = {"artifactLocation": _artifact(report.document.source)}
        line = report.document.line(finding.pointer)
        if line is not None:
            location["region"] = {"startLine": line}
        results.append(
            {
                "ruleId": finding.rule.id,
                "ruleIndex": index[finding.rule.id],
                "level": report.level(finding),
                "message": {"text": f"{finding.message}. Fix: {finding.hint}."},
                "locations": [
                    {
                        "physicalLocation": location,
                        "logicalLocations": [
                            {"fullyQualifiedName": finding.pointer or "/", "kind": "object"}
                        ],
                    }
                ],
            }
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lrokit",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule.id,
                                "shortDescription": {"text": rule.text},
                                "fullDescription": {
                                    "text": f"{rule.text} ({rule.citation}: “{rule.quote}”)"
                                },
                                "defaultConfiguration": {
                                    "level": "error" if rule.level is Level.MUST else "warning"
                                },
                                "properties": {"level": str(rule.level), "basis": str(rule.basis)},
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
