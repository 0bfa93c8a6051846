"""Test the tester: the conformant fauxserver passes every rule; each broken fauxserver fails
exactly the rule it breaks (WARN for a SHOULD) and nothing else."""

from __future__ import annotations

import httpx
import pytest

from lrokit.rules import RULES, Level
from lrokit.runner.contract import load_contract
from lrokit.runner.profile import load_profile
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.app import contract_path
from tests.fauxservers.server import FauxServer

pytestmark = pytest.mark.anyio

BAD = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR}


async def check(app: FauxServer) -> Report:
    config = TargetConfig("http://faux.test", time_scale=0.001, max_wait=3.0)
    return await run(
        config,
        load_profile("canonical"),
        contract=load_contract(str(contract_path())),
        transport=httpx.ASGITransport(app=app),
    )


def summary(report: Report) -> str:
    lines = [
        f"{v.rule.id} {v.outcome} {v.reason} {[(x.received, x.expected) for x in v.violations]}"
        for v in report.verdicts
        if v.outcome is not Outcome.PASS
    ]
    return "\n".join([*lines, f"notes: {report.notes}"])


async def test_conformant_fauxserver_passes_every_rule() -> None:
    report = await check(FauxServer())
    assert not [v for v in report.verdicts if v.outcome in BAD], summary(report)
    skipped = [v.rule.id for v in report.verdicts if v.outcome is not Outcome.PASS]
    assert skipped == [], summary(report)


@pytest.mark.parametrize(
    "rule_id", [r.id for r in RULES.values() if r.level in (Level.MUST, Level.SHOULD)]
)
async def test_broken_fauxserver_fails_exactly_its_rule(rule_id: str) -> None:
    report = await check(FauxServer(breaks=rule_id))
    expected = Outcome.FAIL if RULES[rule_id].level is Level.MUST else Outcome.WARN
    verdicts = {v.rule.id: v for v in report.verdicts}
    assert verdicts[rule_id].outcome is expected, summary(report)
    assert verdicts[rule_id].violations
    others = [v.rule.id for v in report.verdicts if v.outcome in BAD and v.rule.id != rule_id]
    assert others == [], summary(report)
