"""One rendering of a violation: every reporter shows received, expected and where the same
way, under the rule's id, level and source (the schemathesis adapters: test_conformance_suite)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rich.console import Console

from lrokit.checks import Violation, explain
from lrokit.rules import RULES
from lrokit.runner.reporters import print_console, to_junit
from lrokit.runner.run import Report
from lrokit.runner.verdicts import Outcome, Verdict

BREACH = Violation("text/html", "application/problem+json", "GET /reports/x -> 404")


def test_a_violation_renders_as_aligned_fields_in_one_order() -> None:
    assert BREACH.render("  ").splitlines() == [
        "  received: text/html",
        "  expected: application/problem+json",
        "  where:    GET /reports/x -> 404",
    ]
    assert Violation("a", "b").fields() == [("received", "a"), ("expected", "b")]


def test_explain_names_the_rule_its_level_and_source() -> None:
    rule = RULES["PROBLEM-1"]
    text = explain(rule, [BREACH] * 7, shown=5)
    assert text.startswith(f"PROBLEM-1 (MUST, {rule.basis}): {rule.text}\n")
    assert text.count("  received: text/html") == 5
    assert "  … 2 more" in text
    assert text.endswith(f"  source:   {rule.citation}: “{rule.quote}”")


def test_every_reporter_shows_the_same_lines() -> None:
    rule = RULES["PROBLEM-1"]
    report = Report("http://x", "canonical", [Verdict(rule, Outcome.FAIL, [BREACH])])
    (failure,) = ET.fromstring(to_junit(report)).iter("failure")
    assert failure.text == explain(rule, [BREACH])
    console = Console(width=400, record=True)
    print_console(report, console)
    shown = console.export_text()
    for line in BREACH.render().splitlines():
        assert line in shown
