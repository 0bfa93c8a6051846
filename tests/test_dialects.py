"""Built-in dialect profiles against faithful servers of their dialects: the faithful server
passes (no FAIL), a server that gets the dialect wrong fails the right rule in the dialect's
own words, and the verdicts do not depend on how fast the jobs run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lrokit.model.profile import builtin_profiles, load_profile
from lrokit.rules import RULES, Level
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from tests.dialects._base import DialectServer
from tests.dialects.aip151 import AipServer
from tests.dialects.arm import ArmServer
from tests.dialects.arm_asyncoperation import ArmAsyncOperationServer
from tests.dialects.azure import AzureServer
from tests.dialects.jsonapi import JsonApiServer
from tests.dialects.ogc import OgcServer
from tests.dialects.seeds import SeedEmbedded, SeedStatus
from tests.dialects.wes import WesServer
from tests.test_conformance_fauxservers import canonical_rules, tenancy_rules, webhook_rules
from tests.test_lint import DEFECTS

pytestmark = pytest.mark.anyio

#: A conformant server gets none of these.
BAD = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR, Outcome.UNOBSERVED}
#: A broken server gets these for its broken rule alone: what its breach keeps from being seen
#: is UNOBSERVED (not demonstrated), never blamed.
BLAME = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR}

#: Per profile: its faithful server, the rules the dialect's own text leaves unmet (a SHOULD
#: warns; a MUST fails plainly, as LOCATION-1 does for an API without a monitor pointer), and
#: the rules it must pass there.
DIALECTS: dict[str, tuple[type[DialectServer], set[str], set[str]]] = {
    "aip151": (
        AipServer,
        set(),
        {"ACCEPT-1", "MONITOR-2", "MONITOR-4", "RESULT-1", "RESULT-2", "CANCEL-1", "CANCEL-2"},
    ),
    "arm-asyncoperation": (
        ArmAsyncOperationServer,
        set(),
        {
            "ACCEPT-1",
            "LOCATION-1",
            "RETRY-2",
            "RETRY-4",
            "MONITOR-1",
            "MONITOR-3",
            "MONITOR-4",
            "LIFECYCLE-3",
            "LIFECYCLE-4",
            "RESULT-2",
        },
    ),
    "azure": (
        AzureServer,
        set(),
        {"ACCEPT-1", "LOCATION-1", "RETRY-2", "MONITOR-3", "RESULT-1", "RESULT-2"},
    ),
    "jsonapi": (
        JsonApiServer,
        set(),
        {
            "ACCEPT-1",
            "ACCEPT-2",
            "LOCATION-1",
            "MONITOR-1",
            "MONITOR-4",
            "RESULT-1",
            "PROBLEM-1",
            "PROBLEM-4",
        },
    ),
    "ogc": (
        OgcServer,
        set(),
        {
            "ACCEPT-1",
            "LOCATION-1",
            "MONITOR-3",
            "MONITOR-4",
            "LIFECYCLE-3",
            "LIFECYCLE-4",
            "RESULT-1",
            "RESULT-3",
            "CANCEL-1",
            "PROBLEM-1",
            "PROBLEM-4",
            "HTTP-3",
        },
    ),
    "seed-embedded": (
        SeedEmbedded,
        {"RETRY-2"},
        {"ACCEPT-1", "LOCATION-1", "MONITOR-4", "RESULT-1", "RESULT-2"},
    ),
    "arm": (
        ArmServer,
        set(),
        {
            "ACCEPT-1",
            "LOCATION-1",
            "LOCATION-6",
            "RETRY-2",
            "RETRY-3",
            "RETRY-4",
            "MONITOR-1",
            "LIFECYCLE-1",
            "RESULT-2",
            "PROBLEM-1",
        },
    ),
    "ga4gh-wes": (
        WesServer,
        set(),
        {"ACCEPT-1", "LOCATION-4", "MONITOR-3", "MONITOR-4", "CANCEL-1", "CANCEL-2", "PROBLEM-4"},
    ),
    "seed-status": (
        SeedStatus,
        set(),
        {"ACCEPT-1", "LOCATION-1", "LOCATION-4", "MONITOR-3", "RESULT-1", "PROBLEM-4"},
    ),
}

#: (profile, rule broken, a fragment of the citation the report must give)
BREAKS = [
    ("aip151", "ACCEPT-1", "AIP-151"),
    ("aip151", "MONITOR-2", "operations.proto Operation"),
    ("aip151", "RESULT-2", "AIP-151 Errors"),
    ("aip151", "LIFECYCLE-2", "operations.proto"),
    ("aip151", "CANCEL-1", "CancelOperation"),
    ("arm", "ACCEPT-1", "ARM async API"),
    ("arm", "LOCATION-6", "step 4"),
    ("arm", "RETRY-4", "ARM async API: Retry-After"),
    ("arm", "LIFECYCLE-5", "RFC 9110"),
    ("arm-asyncoperation", "LOCATION-1", "Azure-AsyncOperation Resource format"),
    ("arm-asyncoperation", "MONITOR-1", "Azure-AsyncOperation Resource format"),
    ("arm-asyncoperation", "RESULT-2", "Azure-AsyncOperation Resource format"),
    ("azure", "ACCEPT-1", "#lro-returns-202"),
    ("azure", "LOCATION-1", "#lro-returns-operation-location"),
    ("azure", "RETRY-1", "RFC 9110"),
    ("azure", "RETRY-2", "#lro-status-monitor-retry-after"),
    ("azure", "MONITOR-2", "#lro-status-monitor-structure"),
    ("azure", "LIFECYCLE-5", "RFC 9110"),
    ("ga4gh-wes", "LIFECYCLE-1", "AIP-216"),
    ("ga4gh-wes", "MONITOR-3", "WES 1.1.0 State"),
    ("ga4gh-wes", "CANCEL-1", "CancelRun"),
    ("ga4gh-wes", "PROBLEM-5", "RunWorkflow"),
    ("jsonapi", "ACCEPT-1", "RFC 9110"),
    ("jsonapi", "LOCATION-1", "JSON:API"),
    ("jsonapi", "RESULT-1", "JSON:API"),
    ("ogc", "ACCEPT-1", "/req/core/process-execute-success-async"),
    ("ogc", "LOCATION-1", "/req/core/process-execute-success-async"),
    ("ogc", "MONITOR-3", "statusCode.yaml"),
    ("ogc", "RESULT-3", "results-not-ready"),
    ("ogc", "PROBLEM-4", "no-such-job"),
    ("seed-embedded", "ACCEPT-1", "RFC 9110"),
    ("seed-embedded", "RETRY-1", "RFC 9110"),
    ("seed-embedded", "MONITOR-2", "openapi.yaml"),
    ("seed-status", "LOCATION-1", "'202 Accepted Pattern'"),
    ("seed-status", "RESULT-1", "'202 Accepted Pattern', Polling for Status"),
    ("seed-status", "LIFECYCLE-5", "RFC 9110"),
]


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


def test_every_built_in_dialect_has_a_faithful_server() -> None:
    """A profile nobody ran against a server of its dialect proves nothing."""
    assert set(builtin_profiles()) - {"canonical"} == set(DIALECTS)


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "slow"])
@pytest.mark.parametrize("profile", sorted(DIALECTS))
async def test_faithful_server_passes(profile: str, slow: bool) -> None:
    server, unmet, must_pass = DIALECTS[profile]
    report = await check(profile, server(slow=slow))
    unmet_seen = {rule for rule, outcome in outcomes(report).items() if outcome in BAD}
    assert unmet_seen == unmet, bad(report)
    passed = {rule for rule, outcome in outcomes(report).items() if outcome is Outcome.PASS}
    assert must_pass <= passed, outcomes(report)


@pytest.mark.parametrize("profile", sorted(DIALECTS))
async def test_verdicts_do_not_depend_on_job_speed(profile: str) -> None:
    server = DIALECTS[profile][0]
    fast = await check(profile, server())
    slow = await check(profile, server(slow=True))
    assert outcomes(fast) == outcomes(slow)


@pytest.mark.parametrize(("profile", "rule_id", "citation"), BREAKS)
async def test_a_server_breaking_its_dialect_fails_the_rule_in_its_words(
    profile: str, rule_id: str, citation: str
) -> None:
    server, unmet, _ = DIALECTS[profile]
    report = await check(profile, server(breaks=rule_id))
    failed = [v for v in report.verdicts if v.outcome in BLAME and v.rule.id not in unmet]
    assert [v.rule.id for v in failed] == [rule_id], bad(report)
    assert citation in failed[0].rule.citation
    assert failed[0].outcome is (Outcome.FAIL if failed[0].rule.level == "MUST" else Outcome.WARN)


def test_every_rule_is_proven_by_a_broken_server() -> None:
    """Each MUST and SHOULD rule has a server breaking it: the canonical fauxserver for the
    canonical profile's rules (with two principals for the TENANCY rules, a webhook receiver
    for the WEBHOOK rules), a dialect server
    for the rest; each SPEC rule a defective document under tests/specs/ (tests/test_lint.py)."""
    proven = (
        {*canonical_rules(), *tenancy_rules(), *webhook_rules()}
        | {rule_id for _, rule_id, _ in BREAKS}
        | set(DEFECTS)
    )
    needed = {r.id for r in RULES.values() if r.level in (Level.MUST, Level.SHOULD)}
    assert needed - proven == set()
