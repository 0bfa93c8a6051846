"""Reporters: one conformance report, rendered for people (rich), CI (JUnit XML) and tools
(JSON, described by the published schema ``lrokit/schemas/report.schema.json``)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lrokit import __version__
from lrokit.checks import Violation, explain
from lrokit.model.exchange import SECRET_HEADERS, Exchange
from lrokit.rules import FAMILIES
from lrokit.runner.run import Report, Timing
from lrokit.runner.verdicts import Outcome, Unjudged, Verdict, exit_code, worst

STYLES = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.WARN: "yellow",
    Outcome.ERROR: "bold magenta",
    Outcome.UNOBSERVED: "bold red",
    Outcome.SKIP: "dim",
    Outcome.DISABLED: "dim",
}
MAX_VIOLATIONS_SHOWN = 3
#: Bytes of a cited exchange's body the JSON report carries.
BODY_EXCERPT = 2048


class LiveProgress:
    """A one-line live view of a run: requests sent, seconds elapsed, the latest exchange."""

    def __init__(self, console: Console, target: str) -> None:
        self.console = console
        self.target = target
        self.count = 0
        self.last = ""
        self.started = time.monotonic()
        self.live = Live(self._render(), console=console, transient=True, auto_refresh=False)

    def _render(self) -> Text:
        elapsed = time.monotonic() - self.started
        line = Text(f"checking {self.target}  {self.count} requests  {elapsed:5.1f}s  ", "cyan")
        return line.append(self.last[:100], "dim")

    def __call__(self, exchange: Exchange) -> None:
        self.count += 1
        self.last = exchange.describe()
        self.live.update(self._render(), refresh=True)

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()


def _detail(verdict: Verdict) -> Text:
    """The table's detail cell: each distinct breach once (with a count when several
    exchanges repeat it), else why nothing was judged, else the rule itself."""
    if not verdict.violations:
        if verdict.unjudged is not None:
            return Text(f"{verdict.unjudged.words}: ", "dim").append(verdict.reason)
        return Text(verdict.reason or verdict.rule.text, "dim" if not verdict.reason else "")
    repeated = Counter((v.received, v.expected) for v in verdict.violations)
    first: dict[tuple[str, str], Violation] = {}
    for violation in verdict.violations:
        first.setdefault((violation.received, violation.expected), violation)
    distinct = list(first.values())
    text = Text()
    for violation in distinct[:MAX_VIOLATIONS_SHOWN]:
        more = repeated[violation.received, violation.expected] - 1
        for label, value in violation.fields():
            style = "dim" if label == "where" else ""
            text.append(f"{label + ':':<9} ", "dim").append(value, style)
            if label == "where" and more:
                text.append(f" (and {more} more)", "dim")
            text.append("\n")
    if len(distinct) > MAX_VIOLATIONS_SHOWN:
        text.append(f"… {len(distinct) - MAX_VIOLATIONS_SHOWN} more\n", "dim")
    text.rstrip()
    return text


def _deselected(verdict: Verdict) -> bool:
    return verdict.unjudged is Unjudged.DESELECTED


def print_console(report: Report, console: Console) -> None:
    """What could not be checked first (the tester's notes, then the rules not demonstrated,
    which fail the run), then the table, then a summary line. Every rule that is not a PASS
    has its row; the passing rules of a family share one, and so do those not run for one
    reason (TENANCY without a second principal). A target that never answered is one line,
    not a row of errors per rule."""
    if report.unreachable is not None:
        console.print(Text("ERROR: ", STYLES[Outcome.ERROR]).append(report.unreachable))
        return
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    unobserved: dict[str, list[str]] = {}
    for verdict in report.verdicts:
        if verdict.outcome is Outcome.UNOBSERVED:
            unobserved.setdefault(verdict.reason, []).append(verdict.rule.id)
    for reason, rule_ids in unobserved.items():
        console.print(
            Text("not demonstrated: ", "bold red").append(f"{reason}: {', '.join(rule_ids)}")
        )
    what = f"operation {report.operation}, " if report.operation else ""
    table = Table(
        title=f"lrokit check {report.target} ({what}profile {report.profile})", expand=True
    )
    table.add_column("rule", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    # Fold, never cut: a URL in a report is worth its every character (CI logs included).
    table.add_column("details", ratio=3, overflow="fold")
    table.add_column("source", ratio=2, overflow="fold")
    shown = [v for v in report.verdicts if not _deselected(v)]
    for family in FAMILIES:
        members = [v for v in shown if v.rule.family == family]
        passed = [v.rule.id for v in members if v.outcome is Outcome.PASS]
        if passed:
            table.add_row(
                family, "", Text("PASS", STYLES[Outcome.PASS]), Text(", ".join(passed), "dim"), ""
            )
        not_run: dict[str, list[str]] = {}
        for verdict in members:
            if verdict.unjudged is Unjudged.NOT_RUN:
                not_run.setdefault(verdict.reason, []).append(verdict.rule.id)
        for reason, rule_ids in not_run.items():
            why = Text(f"{', '.join(rule_ids)} {Unjudged.NOT_RUN.words}: {reason}", "dim")
            table.add_row(family, "", Text("DISABLED", STYLES[Outcome.DISABLED]), why, "")
        for verdict in members:
            if verdict.outcome is Outcome.PASS or verdict.unjudged is Unjudged.NOT_RUN:
                continue
            table.add_row(
                verdict.rule.id,
                str(verdict.rule.level),
                Text(str(verdict.outcome), STYLES[verdict.outcome]),
                _detail(verdict),
                verdict.rule.citation,
            )
    console.print(table)
    deselected = len(report.verdicts) - len(shown)
    if deselected:
        console.print(f"[dim]{deselected} rules deselected by --only/--skip[/]")
    counts = Counter(v.outcome for v in shown)
    overall = worst(counts)
    summary = ", ".join(f"{counts[o]} {o}" for o in Outcome if counts[o])
    console.print(
        Text(f"{overall}: ", STYLES[overall]).append(
            f"{summary} — {report.requests} requests in {report.seconds:.1f}s"
        )
    )
    if report.timing.initiation or report.timing.jobs:
        console.print(Text("time: ", "dim").append(_timing_line(report.timing)))


def print_summary(reports: Sequence[Report], console: Console) -> None:
    """After the reports of several operations, one line each: its worst outcome and its
    counts, so that a run of many operations ends with what it found of each."""
    if len(reports) < 2:
        return
    table = Table(title="lrokit check: the operations", expand=True)
    table.add_column("operation", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("verdicts", ratio=1)
    for report in reports:
        counts = Counter(v.outcome for v in report.verdicts if not _deselected(v))
        overall = Outcome.ERROR if report.unreachable else worst(counts)
        table.add_row(
            report.operation or report.profile,
            Text(str(overall), STYLES[overall]),
            ", ".join(f"{counts[o]} {o}" for o in Outcome if counts[o]),
        )
    console.print(table)


def _timing_line(timing: Timing) -> str:
    """The run's figures in one line: what a client of this server pays in time."""
    parts = []
    if timing.initiation:
        ordered = sorted(timing.initiation)
        median, worst_ = ordered[len(ordered) // 2], ordered[-1]
        parts.append(f"initiation {median * 1000:.0f} ms median, {worst_ * 1000:.0f} ms max")
    parts += [
        f"{job.job}: {job.polls} polls, over after {job.seconds:.1f} s, "
        f"noticed within {job.noticed_within:.1f} s"
        for job in timing.jobs
    ]
    return "; ".join(parts)


def to_json(reports: Report | Sequence[Report], strict: bool) -> dict[str, Any]:
    """The reports as a JSON document valid against ``report.schema.json``: one report as
    it is, several (a check file's operations) under ``operations``, each named."""
    if isinstance(reports, Report):
        return _report_json(reports, strict)
    if len(reports) == 1:
        return _report_json(reports[0], strict)
    each = [_report_json(report, strict) for report in reports]
    return {
        "lrokit": __version__,
        "target": reports[0].target,
        "strict": strict,
        "outcome": str(worst(Counter(Outcome(r["outcome"]) for r in each))),
        "exitCode": max(r["exitCode"] for r in each),
        "operations": each,
    }


def _report_json(report: Report, strict: bool) -> dict[str, Any]:
    counts = Counter(v.outcome for v in report.verdicts)
    judged = Counter(v.outcome for v in report.verdicts if not _deselected(v))
    named = {"operation": report.operation} if report.operation else {}
    return {
        **named,
        "lrokit": __version__,
        "target": report.target,
        "profile": report.profile,
        "strict": strict,
        "outcome": str(worst(judged)),
        "exitCode": exit_code(report.verdicts),
        "seconds": round(report.seconds, 3),
        "requests": report.requests,
        "summary": {str(o): counts[o] for o in Outcome},
        "notes": list(report.notes),
        "timing": {
            "initiation": [round(s, 4) for s in report.timing.initiation],
            "jobs": [
                {
                    "job": job.job,
                    "polls": job.polls,
                    "seconds": round(job.seconds, 3),
                    "noticedWithin": round(job.noticed_within, 3),
                }
                for job in report.timing.jobs
            ],
        },
        "rules": [
            {
                "id": v.rule.id,
                "family": FAMILIES[v.rule.family],
                "level": str(v.rule.level),
                "basis": str(v.rule.basis),
                "text": v.rule.text,
                "citation": v.rule.citation,
                "quote": v.rule.quote,
                "outcome": str(v.outcome),
                "reason": v.reason,
                "reasonKind": str(v.unjudged) if v.unjudged is not None else "",
                "violations": [_violation_json(x, report.har_entries) for x in v.violations],
            }
            for v in report.verdicts
        ],
    }


def _violation_json(violation: Violation, har: Mapping[int, int]) -> dict[str, Any]:
    """A violation; with ``har`` (exchanges' HAR entry indexes by id(), from --har), the
    ``harEntry`` of the exchange it cites."""
    found: dict[str, Any] = {
        "received": violation.received,
        "expected": violation.expected,
        "where": violation.where,
    }
    if violation.exchange is not None:
        found["exchange"] = exchange_json(violation.exchange)
        if id(violation.exchange) in har:
            found["harEntry"] = har[id(violation.exchange)]
    return found


def exchange_json(exchange: Exchange) -> dict[str, Any]:
    """The exchange a violation cites, so that a report proves itself: the request line and
    fields, the status (null when no answer came, with why), the response fields and the
    start of the body. Secrets are never shown: the request's were redacted when it was
    recorded; the response's cookies are redacted here."""
    excerpt = exchange.body[:BODY_EXCERPT]
    return {
        "request": f"{exchange.method} {exchange.url}",
        "requestHeaders": [[name, value] for name, value in exchange.request_headers],
        "status": exchange.status,
        "error": exchange.error,
        "headers": [list(line) for line in response_fields(exchange)],
        "body": excerpt.decode("utf-8", "replace"),
        "bodyTruncated": exchange.truncated or len(exchange.body) > len(excerpt),
        "at": round(exchange.at, 3),
    }


#: Response fields whose values reports never show (a cookie is a credential).
REDACTED_RESPONSE_FIELDS = SECRET_HEADERS | {"set-cookie"}


def response_fields(exchange: Exchange) -> list[tuple[str, str]]:
    """The response's field lines as every report shows them: a cookie's value redacted."""
    return [
        (name, "[redacted]" if name in REDACTED_RESPONSE_FIELDS else value)
        for name, value in exchange.headers
    ]


def to_junit(*reports: Report) -> bytes:
    """JUnit XML: a test suite per rule family (and operation, when a check file names
    them), a test case per rule. A WARN passes with the warning in ``system-out``; SKIP and
    DISABLED are skipped with their reason."""
    seconds = sum(report.seconds for report in reports)
    suites = ET.Element("testsuites", name="lrokit", time=f"{seconds:.3f}")
    for report in reports:
        _junit_suites(suites, report)
    document: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return document


def _junit_suites(suites: ET.Element, report: Report) -> None:
    prefix = f"lrokit.{report.operation}." if report.operation else "lrokit."
    for family, title in FAMILIES.items():
        verdicts = [v for v in report.verdicts if v.rule.family == family]
        if not verdicts:  # a family judged elsewhere (SPEC: lrokit lint)
            continue
        counts = Counter(v.outcome for v in verdicts)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{prefix}{family} {title}",
            tests=str(len(verdicts)),
            failures=str(counts[Outcome.FAIL] + counts[Outcome.UNOBSERVED]),
            errors=str(counts[Outcome.ERROR]),
            skipped=str(counts[Outcome.SKIP] + counts[Outcome.DISABLED]),
        )
        for verdict in verdicts:
            rule = verdict.rule
            case = ET.SubElement(
                suite, "testcase", classname=f"{prefix}{family}", name=f"{rule.id} {rule.text}"
            )
            text = explain(rule, verdict.violations, shown=len(verdict.violations))
            message = f"{rule.level} {rule.id} ({rule.citation})"
            if verdict.outcome is Outcome.FAIL:
                ET.SubElement(case, "failure", message=message).text = text
            elif verdict.outcome is Outcome.UNOBSERVED:
                ET.SubElement(
                    case, "failure", message=f"{message}: not demonstrated: {verdict.reason}"
                )
            elif verdict.outcome is Outcome.ERROR:
                ET.SubElement(case, "error", message=verdict.reason)
            elif verdict.outcome in (Outcome.SKIP, Outcome.DISABLED):
                kind = f" ({verdict.unjudged.words})" if verdict.unjudged else ""
                ET.SubElement(case, "skipped", message=f"{verdict.outcome}{kind}: {verdict.reason}")
            elif verdict.outcome is Outcome.WARN:
                ET.SubElement(case, "system-out").text = f"WARN {message}\n{text}"
