"""Test the tester: the conformant fauxserver passes every rule; each broken fauxserver fails
exactly the rule it breaks (WARN for a SHOULD) and nothing else. The TENANCY rules need two
principals: they run against the fauxserver with tokens, given ``other_headers``, and without
those are not run (DISABLED, saying what to give), which changes no run's exit status."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from lrokit.checks import load_all
from lrokit.model.contract import load_contract
from lrokit.model.profile import load_profile
from lrokit.rules import RULES, RUNTIME_RULES, Level
from lrokit.runner.reporters import print_console, to_json
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome, Unjudged, exit_code
from lrokit.server.http.app import contract_path
from tests.fauxservers.server import FauxServer, WireASGITransport

pytestmark = pytest.mark.anyio

#: A conformant server gets none of these.
BAD = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR, Outcome.UNOBSERVED}
#: A broken server gets these for its broken rule alone: what its breach keeps from being seen
#: is UNOBSERVED (not demonstrated), never blamed.
BLAME = {Outcome.FAIL, Outcome.WARN, Outcome.ERROR}


#: Two principals of the fauxserver, by bearer token, and the fields each one sends.
TOKENS = {"token-of-alice": "alice", "token-of-bob": "bob"}
ALICE = {"Authorization": "Bearer token-of-alice"}
BOB = {"Authorization": "Bearer token-of-bob"}
#: A rule broken that leaves another with nothing to judge (SKIP, never blamed): a job anyone
#: reads is no refusal to set beside an unknown id's.
FOLLOWS = {"TENANCY-1": {"TENANCY-5"}}


async def check(app: FauxServer, **given: Any) -> Report:
    # The wait budget leaves room for LIFECYCLE-6's broken server, whose job runs 2.8 s.
    config = TargetConfig("http://faux.test", time_scale=0.001, max_wait=5.0, **given)
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


#: The families a run judges only when given what they need: a second principal
#: (--other-header), a webhook receiver (--callbacks).
GIVEN = ("TENANCY", "WEBHOOK")


def _judged(family: str | None) -> list[str]:
    profile, checks = load_profile("canonical"), load_all()
    return [
        rule.id
        for rule in RUNTIME_RULES.values()
        if rule.level in (Level.MUST, Level.SHOULD)
        and profile.rule(rule) is not None
        and (checks[rule.id].feature is None or checks[rule.id].feature in profile.features)
        and (rule.family if rule.family in GIVEN else None) == family
    ]


def canonical_rules() -> list[str]:
    """The MUST and SHOULD rules of the canonical profile that a run with one principal and
    no webhook receiver judges (the others are proven by the dialect servers in
    tests/test_dialects.py; the TENANCY rules need a second principal: :func:`tenancy_rules`;
    the WEBHOOK rules a receiver: :func:`webhook_rules`)."""
    return _judged(None)


def webhook_rules() -> list[str]:
    """The WEBHOOK rules of the canonical profile, judged with --callbacks."""
    return _judged("WEBHOOK")


def tenancy_rules() -> list[str]:
    """The TENANCY rules of the canonical profile, judged given a second principal."""
    return _judged("TENANCY")


@pytest.mark.parametrize("rule_id", canonical_rules())
async def test_broken_fauxserver_fails_exactly_its_rule(rule_id: str) -> None:
    report = await check(FauxServer(breaks=rule_id))
    expected = Outcome.FAIL if RULES[rule_id].level is Level.MUST else Outcome.WARN
    verdicts = {v.rule.id: v for v in report.verdicts}
    assert verdicts[rule_id].outcome is expected, summary(report)
    assert verdicts[rule_id].violations
    others = [v.rule.id for v in report.verdicts if v.outcome in BLAME and v.rule.id != rule_id]
    assert others == [], summary(report)


async def test_without_a_second_principal_the_tenancy_rules_are_not_run() -> None:
    """Not a PASS, not a failure: DISABLED, saying what to give, in every report; the exit
    status is the one the other rules make, for a conformant server and a broken one."""
    for server in (FauxServer(), FauxServer(breaks="PROBLEM-3")):
        report = await check(server)
        tenancy = [v for v in report.verdicts if v.rule.family == "TENANCY"]
        assert {v.rule.id for v in tenancy} == set(tenancy_rules())
        assert {(v.outcome, v.unjudged) for v in tenancy} == {(Outcome.DISABLED, Unjudged.NOT_RUN)}
        assert all("--other-header" in v.reason for v in tenancy)
        others = [v for v in report.verdicts if v.rule.family != "TENANCY"]
        assert exit_code(report.verdicts) == exit_code(others)
    assert exit_code(report.verdicts) == 1  # PROBLEM-3's, as before
    console = Console(width=200, record=True)
    print_console(report, console)
    assert "not run: give --other-header" in console.export_text()
    (rule,) = [r for r in to_json(report, strict=False)["rules"] if r["id"] == "TENANCY-1"]
    assert (rule["outcome"], rule["reasonKind"]) == ("DISABLED", "not-run")


async def test_conformant_fauxserver_with_two_principals_passes_every_rule() -> None:
    """The TENANCY rules pass, and every other rule keeps the verdict it has with one."""
    alone = await check(FauxServer(tokens=TOKENS), headers=ALICE)
    report = await check(FauxServer(tokens=TOKENS), headers=ALICE, other_headers=BOB)
    assert not [v for v in report.verdicts if v.outcome in BAD], summary(report)
    passed = {v.rule.id for v in report.verdicts if v.outcome is Outcome.PASS}
    assert passed >= {*canonical_rules(), *tenancy_rules()}, summary(report)
    before = {v.rule.id: v.outcome for v in alone.verdicts if v.rule.family != "TENANCY"}
    after = {v.rule.id: v.outcome for v in report.verdicts if v.rule.family != "TENANCY"}
    assert after == before
    assert [n for n in report.notes if not n.startswith("clean-up: cancelled")] == []


@pytest.mark.parametrize("rule_id", tenancy_rules())
async def test_broken_fauxserver_fails_exactly_its_tenancy_rule(rule_id: str) -> None:
    conformant = await check(FauxServer(tokens=TOKENS), headers=ALICE, other_headers=BOB)
    report = await check(
        FauxServer(breaks=rule_id, tokens=TOKENS), headers=ALICE, other_headers=BOB
    )
    expected = Outcome.FAIL if RULES[rule_id].level is Level.MUST else Outcome.WARN
    verdicts = {v.rule.id: v for v in report.verdicts}
    assert verdicts[rule_id].outcome is expected, summary(report)
    assert verdicts[rule_id].violations
    before = {v.rule.id: v.outcome for v in conformant.verdicts}
    changed = {
        v.rule.id
        for v in report.verdicts
        if v.outcome is not before[v.rule.id] and v.rule.id != rule_id
    }
    assert changed <= FOLLOWS.get(rule_id, set()), summary(report)
    others = [v.rule.id for v in report.verdicts if v.outcome in BLAME and v.rule.id != rule_id]
    assert others == [], summary(report)
