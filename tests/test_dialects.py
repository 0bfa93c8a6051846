"""Built-in dialect profiles against faithful servers of their dialects: the faithful server
passes, a server that gets the dialect wrong fails the right rule in the dialect's own words,
and the verdicts do not depend on how fast the jobs run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lrokit.runner.profile import load_profile
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from tests.dialects.azure import AzureServer

pytestmark = pytest.mark.anyio

BAD = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR}


async def check(profile: str, app: Any) -> Report:
    config = TargetConfig(
        "http://dialect.test", query={"api-version": "2024-01-01"}, time_scale=0.001, max_wait=5
    )
    return await run(config, load_profile(profile), transport=httpx.ASGITransport(app=app))


def outcomes(report: Report) -> dict[str, Outcome]:
    return {v.rule.id: v.outcome for v in report.verdicts}


def bad(report: Report) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [
        (v.rule.id, str(v.outcome), [(x.received, x.expected) for x in v.violations])
        for v in report.verdicts
        if v.outcome in BAD
    ]


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "slow"])
async def test_faithful_azure_server_passes(slow: bool) -> None:
    report = await check("azure", AzureServer(slow=slow))
    assert bad(report) == [], report.notes
    passed = {rule for rule, outcome in outcomes(report).items() if outcome is Outcome.PASS}
    assert {"ACCEPT-1", "LOCATION-1", "RETRY-2", "MONITOR-3", "RESULT-1", "RESULT-2"} <= passed
    disabled = {rule for rule, outcome in outcomes(report).items() if outcome is Outcome.DISABLED}
    assert {"PROBLEM-1", "CANCEL-1", "IDEMPOTENCY-1", "HTTP-3"} <= disabled


async def test_azure_verdicts_do_not_depend_on_job_speed() -> None:
    fast = await check("azure", AzureServer())
    slow = await check("azure", AzureServer(slow=True))
    assert outcomes(fast) == outcomes(slow)


@pytest.mark.parametrize(
    ("rule_id", "citation"),
    [
        ("ACCEPT-1", "#lro-returns-202"),
        ("LOCATION-1", "#lro-returns-operation-location"),
        ("RETRY-1", "RFC 9110"),
        ("RETRY-2", "#lro-status-monitor-retry-after"),
        ("MONITOR-2", "#lro-status-monitor-structure"),
        ("LIFECYCLE-5", "RFC 9110"),
    ],
)
async def test_azure_server_breaking_a_rule_fails_it_in_azure_words(
    rule_id: str, citation: str
) -> None:
    report = await check("azure", AzureServer(breaks=rule_id))
    failed = [v for v in report.verdicts if v.outcome in BAD]
    assert [v.rule.id for v in failed] == [rule_id], bad(report)
    assert citation in failed[0].rule.citation
    assert failed[0].outcome is Outcome.FAIL
