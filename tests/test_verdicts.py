"""A verdict is earned: a run that could not observe what a MUST rule is about fails as not
demonstrated (UNOBSERVED, exit 1), with the reason first; a rule the user deselected or the
profile disabled does not. Each server here once got exit 0 without any lifecycle judged."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from rich.console import Console
from starlette.requests import Request
from starlette.responses import Response

from lrokit.model.profile import load_profile
from lrokit.runner.reporters import print_console, to_json, to_junit
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome, Unjudged, exit_code
from tests.fauxservers.server import FauxServer
from tests.hostile.servers import HostileMonitor

pytestmark = pytest.mark.anyio

LIFECYCLE = ("LIFECYCLE-1", "LIFECYCLE-2", "LIFECYCLE-5")


class OffOriginMonitor(FauxServer):
    """Conformant, but every monitor lives on another origin (rightly not followed)."""

    def accepted(self, job: dict[str, Any], prefer: str) -> Response:
        response = super().accepted(job, prefer)
        response.headers["Location"] = f"http://elsewhere.test/reports/{job['id']}"
        return response


class RefusesEverySubmission(FauxServer):
    """Answers every submission 403: no job is ever created."""

    async def submit(self, request: Request) -> Response:
        return self.problem(403, "Forbidden", "/reports")


class UnusableMonitor(HostileMonitor):
    """Every monitor read is a 503 problem."""

    async def hostile(self, scope: Any, receive: Any, send: Any) -> None:
        await self.dated(self.problem(503, "Busy", scope["path"]))(scope, receive, send)


class CancelAlways409(FauxServer):
    """Refuses every cancel with 409, whatever the job's state."""

    def cancel(self, job: dict[str, Any]) -> Response:
        return self.problem(409, "Finished", f"/reports/{job['id']}")


async def check(app: FauxServer, **options: Any) -> Report:
    config = TargetConfig("http://faux.test", time_scale=0.001, max_wait=3.0)
    return await run(
        config,
        load_profile("canonical"),
        transport=httpx.ASGITransport(app=app),
        **options,
    )


def outcomes(report: Report) -> dict[str, Outcome]:
    return {v.rule.id: v.outcome for v in report.verdicts}


@pytest.mark.parametrize(
    "server",
    [OffOriginMonitor, RefusesEverySubmission, UnusableMonitor],
    ids=["off-origin monitor", "submission refused", "monitor never usable"],
)
async def test_a_lifecycle_never_observed_is_not_demonstrated(server: type[FauxServer]) -> None:
    """With only the lifecycle rules selected, nothing else can fail the run: once it passed."""
    report = await check(server(), only={"LIFECYCLE"})
    seen = outcomes(report)
    for rule_id in LIFECYCLE:
        assert seen[rule_id] is Outcome.UNOBSERVED, (rule_id, report.verdicts)
    assert exit_code(report.verdicts) == 1
    unobserved = [v for v in report.verdicts if v.outcome is Outcome.UNOBSERVED]
    assert all(v.unjudged is Unjudged.NOT_OBSERVED and v.reason for v in unobserved)


async def test_the_reason_comes_first_and_every_report_says_not_demonstrated() -> None:
    report = await check(OffOriginMonitor(), only={"LIFECYCLE"})
    console = Console(width=200, record=True)
    print_console(report, console)
    text = console.export_text()
    assert text.index("on another origin") < text.index("not demonstrated:") < text.index("┃")
    document = to_json(report, strict=False)
    assert document["exitCode"] == 1
    assert document["summary"]["UNOBSERVED"] >= len(LIFECYCLE)
    (rule,) = [r for r in document["rules"] if r["id"] == "LIFECYCLE-5"]
    assert (rule["outcome"], rule["reasonKind"]) == ("UNOBSERVED", "not-observed")
    failures = ET.fromstring(to_junit(report)).iter("failure")
    assert any("not demonstrated" in f.get("message", "") for f in failures)
    json.dumps(document)  # plain data


async def test_deselected_and_disabled_rules_never_fail_the_run() -> None:
    report = await check(FauxServer(), only={"ACCEPT"})
    assert exit_code(report.verdicts) == 0
    kinds = {v.unjudged for v in report.verdicts if v.outcome is Outcome.SKIP}
    assert kinds == {Unjudged.DESELECTED}
    everything = await check(FauxServer())
    assert exit_code(everything.verdicts) == 0
    assert outcomes(everything)["LOCATION-6"] is Outcome.DISABLED  # a feature canonical lacks


class DoneAtOnce(FauxServer):
    """Every job is done by its first read: nothing can be asked of it before."""

    def advance(self, job: dict[str, Any]) -> None:
        if job["state"] in ("PENDING", "PROCESSING"):
            job["state"], job["progress"] = job["outcome"], 100
        super().advance(job)


async def test_a_should_rule_not_observed_skips_unless_strict() -> None:
    """A job done at its first read leaves RESULT-3 (SHOULD) unobserved."""
    report = await check(DoneAtOnce(), only={"RESULT-3"})
    (verdict,) = [v for v in report.verdicts if v.rule.id == "RESULT-3"]
    assert (verdict.outcome, verdict.unjudged) == (Outcome.SKIP, Unjudged.NOT_OBSERVED)
    assert exit_code(report.verdicts) == 0
    strict = await check(DoneAtOnce(), only={"RESULT-3"}, strict=True)
    assert outcomes(strict)["RESULT-3"] is Outcome.UNOBSERVED
    assert exit_code(strict.verdicts) == 1


async def test_a_server_refusing_every_cancel_fails_cancel_1() -> None:
    report = await check(CancelAlways409())
    (verdict,) = [v for v in report.verdicts if v.rule.id == "CANCEL-1"]
    assert verdict.outcome is Outcome.FAIL, verdict
    assert "409 while the job was" in verdict.violations[0].received
