"""Verdicts: each rule's outcome for one run, and the exit code they add up to."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from lrokit.checks import NotApplicable, Violation, load_all
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording
from lrokit.rules import RUNTIME_RULES, Level, Rule

DESELECTED = "deselected (--only/--skip)"


class Outcome(enum.StrEnum):
    """A rule's outcome. ERROR is the tester's or the network's failure, never the server's."""

    DISABLED = "DISABLED"  # not a rule of the dialect, or a feature the server lacks
    SKIP = "SKIP"  # nothing to judge, or deselected; the reason says which
    PASS = "PASS"  # noqa: S105 - an outcome, not a password
    WARN = "WARN"  # a SHOULD not met (FAIL under --strict)
    ERROR = "ERROR"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        """Badness: a group's outcome is its worst member's. A rule without a verdict
        (DISABLED, SKIP) does not make a passing group look worse."""
        return list(Outcome).index(self)


@dataclass
class Verdict:
    """One rule's outcome, with what was received and expected when it failed."""

    rule: Rule
    outcome: Outcome
    violations: list[Violation] = field(default_factory=list)
    reason: str = ""


def selected(rule: Rule, only: Collection[str], skip: Collection[str]) -> bool:
    """Whether ``--only``/``--skip`` (rule ids or family prefixes) keep ``rule``."""

    def hit(names: Collection[str]) -> bool:
        return rule.id in names or rule.family in names

    return (not only or hit(only)) and not hit(skip)


def judge(
    rec: Recording,
    profile: Profile,
    *,
    only: Collection[str] = (),
    skip: Collection[str] = (),
    strict: bool = False,
) -> list[Verdict]:
    """Run every runtime rule's check over the recording (the SPEC rules judge documents,
    not servers: ``lrokit lint``)."""
    checks = load_all()
    verdicts = []
    for registered in RUNTIME_RULES.values():
        check = checks[registered.id]
        rule = profile.rule(registered)  # as the dialect states it
        if rule is None:
            reason = f"not a rule of the {profile.name} dialect"
            verdicts.append(Verdict(registered, Outcome.DISABLED, reason=reason))
            continue
        if not selected(rule, only, skip):
            verdicts.append(Verdict(rule, Outcome.SKIP, reason=DESELECTED))
            continue
        if check.feature is not None and check.feature not in profile.features:
            reason = f"profile {profile.name} has no {check.feature} feature"
            verdicts.append(Verdict(rule, Outcome.DISABLED, reason=reason))
            continue
        try:
            violations = list(check.run(rec, profile))
        except NotApplicable as exc:
            verdicts.append(Verdict(rule, Outcome.SKIP, reason=str(exc)))
            continue
        except Exception as exc:  # a bug of the tester: say so, never blame the server
            verdicts.append(Verdict(rule, Outcome.ERROR, reason=f"{type(exc).__name__}: {exc}"))
            continue
        if not violations:
            verdicts.append(Verdict(rule, Outcome.PASS))
        elif rule.level is Level.MUST or (strict and rule.level is Level.SHOULD):
            verdicts.append(Verdict(rule, Outcome.FAIL, violations))
        else:
            verdicts.append(Verdict(rule, Outcome.WARN, violations))
    return verdicts


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """The worst of ``outcomes`` (PASS when there are none)."""
    return max(outcomes, key=lambda o: o.rank, default=Outcome.PASS)


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """0 conformant, 1 a conformance failure, 2 a tester error with no failure."""
    overall = worst(v.outcome for v in verdicts)
    return {Outcome.FAIL: 1, Outcome.ERROR: 2}.get(overall, 0)
