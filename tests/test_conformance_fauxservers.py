"""Test the tester: the conformant fauxserver passes every rule; each broken fauxserver fails
exactly the rule it breaks (WARN for a SHOULD) and nothing else."""

from __future__ import annotations

import pytest

from lrokit.checks import load_all
from lrokit.model.contract import load_contract
from lrokit.model.profile import load_profile
from lrokit.rules import RULES, RUNTIME_RULES, Level
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.http.app import contract_path
from tests.fauxservers.server import FauxServer, WireASGITransport

pytestmark = pytest.mark.anyio

#: A conformant server gets none of these.
BAD = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR, Outcome.UNOBSERVED}
#: A broken server gets these for its broken rule alone: what its breach keeps from being seen
#: is UNOBSERVED (not demonstrated), never blamed.
BLAME = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR}


async def check(app: FauxServer) -> Report:
    # The wait budget leaves room for LIFECYCLE-6's broken server, whose job runs 2.8 s.
    config = TargetConfig("http://faux.test", time_scale=0.001, max_wait=5.0)
    return await run(
        config,
        load_profile("canonical"),
        contract=load_contract(str(contract_path())),
        transport=WireASGITransport(app=app),
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
    passed = {v.rule.id for v in report.verdicts if v.outcome is Outcome.PASS}
    assert passed >= set(canonical_rules()), summary(report)
    others = {v.rule.id: v.outcome for v in report.verdicts if v.rule.id not in passed}
    assert set(others.values()) <= {Outcome.DISABLED}, summary(report)


def canonical_rules() -> list[str]:
    """The MUST and SHOULD rules of the canonical profile (the others are proven by the
    dialect servers in tests/test_dialects.py)."""
    profile, checks = load_profile("canonical"), load_all()
    return [
        rule.id
        for rule in RUNTIME_RULES.values()
        if rule.level in (Level.MUST, Level.SHOULD)
        and profile.rule(rule) is not None
        and (checks[rule.id].feature is None or checks[rule.id].feature in profile.features)
    ]


@pytest.mark.parametrize("rule_id", canonical_rules())
async def test_broken_fauxserver_fails_exactly_its_rule(rule_id: str) -> None:
    report = await check(FauxServer(breaks=rule_id))
    expected = Outcome.FAIL if RULES[rule_id].level is Level.MUST else Outcome.WARN
    verdicts = {v.rule.id: v for v in report.verdicts}
    assert verdicts[rule_id].outcome is expected, summary(report)
    assert verdicts[rule_id].violations
    others = [v.rule.id for v in report.verdicts if v.outcome in BLAME and v.rule.id != rule_id]
    assert others == [], summary(report)
