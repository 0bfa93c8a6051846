"""One rendering of a violation: every reporter shows received, expected and where the same
way, under the rule's id, level and source (the schemathesis adapters: test_conformance_suite)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.resources import files

import httpx
import jsonschema
import pytest
from rich.console import Console

from lrokit.checks import Violation, explain
from lrokit.model.profile import load_profile
from lrokit.rules import RULES
from lrokit.runner.reporters import print_console, to_json, to_junit
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome, Unjudged, Verdict
from tests.fauxservers.server import FauxServer

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


def _console_text(report: Report, width: int = 120) -> str:
    console = Console(width=width, record=True)
    print_console(report, console)
    return console.export_text()


def test_passing_rules_of_a_family_share_one_row() -> None:
    rules = [r for r in RULES.values() if r.family in ("ACCEPT", "RETRY")]
    report = Report("http://x", "canonical", [Verdict(r, Outcome.PASS) for r in rules])
    lines = [line for line in _console_text(report).splitlines() if "PASS" in line]
    assert len([line for line in lines if "│" in line]) == 2  # one row per family
    assert "ACCEPT-1, ACCEPT-2, ACCEPT-3" in _console_text(report)


def test_rules_not_run_for_one_reason_share_one_row() -> None:
    reason = "give --other-header 'NAME: VALUE', another principal's credentials"
    rules = [r for r in RULES.values() if r.family == "TENANCY"]
    verdicts = [Verdict(r, Outcome.DISABLED, [], reason, Unjudged.NOT_RUN) for r in rules]
    text = _console_text(Report("http://x", "canonical", verdicts), width=400)
    rows = [line for line in text.splitlines() if "DISABLED" in line and "│" in line]
    assert len(rows) == 1, rows
    assert f"{', '.join(r.id for r in rules)} not run: {reason}" in rows[0]


def test_a_breach_repeated_on_several_exchanges_is_shown_once_with_a_count() -> None:
    repeated = [Violation("status 201", "202", f"POST /reports -> 201 #{n}") for n in range(4)]
    report = Report("http://x", "canonical", [Verdict(RULES["ACCEPT-1"], Outcome.FAIL, repeated)])
    text = _console_text(report)
    assert text.count("received: status 201") == 1
    assert "(and 3 more)" in text


def test_a_long_url_is_folded_not_cut() -> None:
    url = "http://127.0.0.1:8080/reports/" + "a" * 150
    breach = Violation("status 500", "200", f"GET {url} -> 500")
    report = Report("http://x", "canonical", [Verdict(RULES["MONITOR-1"], Outcome.FAIL, [breach])])
    text = _console_text(report, width=80)
    assert "…" not in text
    assert text.count("a") >= 150  # every character of the URL is shown


def test_an_unreachable_target_is_one_line() -> None:
    reason = "the target could not be reached: All connection attempts failed"
    verdicts = [Verdict(r, Outcome.ERROR, reason=reason) for r in RULES.values()]
    report = Report("http://x", "canonical", verdicts, unreachable=reason)
    assert _console_text(report).strip() == f"ERROR: {reason}"


@pytest.mark.anyio
async def test_the_json_report_carries_the_exchange_each_violation_cites() -> None:
    """A report that proves itself: each violation with its request, status, fields and body
    excerpt, valid against the published schema, and no secret in it anywhere."""
    config = TargetConfig(
        "http://faux.test",
        headers={"Authorization": "Bearer s3cr3t-token"},
        query={"api-key": "s3cr3t-key"},
        time_scale=0.001,
        max_wait=3.0,
    )
    transport = httpx.ASGITransport(app=FauxServer(breaks="PROBLEM-3"))
    report = await run(config, load_profile("canonical"), transport=transport)
    document = to_json(report, strict=False)
    schema = json.loads((files("lrokit") / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(document, schema)
    (rule,) = [r for r in document["rules"] if r["id"] == "PROBLEM-3"]
    cited = rule["violations"][0]["exchange"]
    assert cited["status"] == 404
    assert cited["request"].startswith("GET http://faux.test/reports/")
    assert '"status": 400' in cited["body"] or '"status":400' in cited["body"]
    assert ["content-type", "application/problem+json"] in cited["headers"]
    timing = document["timing"]
    assert len(timing["initiation"]) >= 2
    assert {job["job"] for job in timing["jobs"]} == {"submit", "submit-failing"}
    assert all(job["polls"] >= 1 and job["noticedWithin"] >= 0 for job in timing["jobs"])
    console = Console(width=200, record=True)
    print_console(report, console)
    assert "initiation" in console.export_text().split("time: ")[1]
    text = json.dumps(document)
    assert "s3cr3t" not in text
    assert "[redacted]" in text
