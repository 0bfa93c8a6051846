"""Verdicts: each rule's outcome for one run, and the exit code they add up to.

A verdict is earned: PASS means the rule was observed and held. A rule with nothing to judge
says why, in one of five kinds (:class:`Unjudged`). Exit 0 means every MUST rule the profile
enables and the user selected was observed and held; a MUST rule the server kept the tester
from observing is UNOBSERVED and fails the run as *not demonstrated* (exit 1), as a SHOULD
rule does under ``--strict``; rules the user deselected, the profile disabled, or the run was
not given what they need (the TENANCY rules without ``--other-header``) do not.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from lrokit.checks import NotApplicable, NotObserved, NotRun, Violation, load_all
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording
from lrokit.rules import RUNTIME_RULES, Level, Rule

DESELECTED = "deselected (--only/--skip)"


class Outcome(enum.StrEnum):
    """A rule's outcome. ERROR is the tester's or the network's failure, never the server's."""

    DISABLED = "DISABLED"  # not a rule of the dialect, or a feature the server lacks
    SKIP = "SKIP"  # nothing to judge, or deselected; the reason and its kind say which
    PASS = "PASS"  # noqa: S105 - an outcome, not a password
    WARN = "WARN"  # a SHOULD not met (FAIL under --strict)
    ERROR = "ERROR"
    UNOBSERVED = "UNOBSERVED"  # a binding rule the server kept the tester from observing
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        """Badness: a group's outcome is its worst member's. A rule without a verdict
        (DISABLED, SKIP) does not make a passing group look worse."""
        return list(Outcome).index(self)


class Unjudged(enum.StrEnum):
    """Why a rule has no verdict of its own: the registry of reasons' kinds."""

    DISABLED = "disabled"  # not a rule of the dialect, or a feature the profile lacks
    DESELECTED = "deselected"  # --only/--skip
    NOT_APPLICABLE = "not-applicable"  # what the rule is about does not arise here
    NOT_OBSERVED = "not-observed"  # what the server did kept the tester from seeing it
    NOT_RUN = "not-run"  # the run was not given what the rule needs (--other-header)

    @property
    def words(self) -> str:
        """How reports say it: ``not observed``."""
        return self.value.replace("-", " ")


@dataclass
class Verdict:
    """One rule's outcome, with what was received and expected when it failed."""

    rule: Rule
    outcome: Outcome
    violations: list[Violation] = field(default_factory=list)
    reason: str = ""
    unjudged: Unjudged | None = None  # why nothing was judged, with the reason

    @property
    def binding(self) -> bool:
        """Whether the outcome counts against the run (exit 1)."""
        return self.outcome in (Outcome.FAIL, Outcome.UNOBSERVED)


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
            verdicts.append(_unjudged(registered, Unjudged.DISABLED, reason))
            continue
        if not selected(rule, only, skip):
            verdicts.append(_unjudged(rule, Unjudged.DESELECTED, DESELECTED))
            continue
        if check.feature is not None and check.feature not in profile.features:
            reason = f"profile {profile.name} has no {check.feature} feature"
            verdicts.append(_unjudged(rule, Unjudged.DISABLED, reason))
            continue
        binding = rule.level is Level.MUST or (strict and rule.level is Level.SHOULD)
        try:
            violations = list(check.run(rec, profile))
        except NotApplicable as exc:
            verdicts.append(_unjudged(rule, Unjudged.NOT_APPLICABLE, str(exc)))
            continue
        except NotRun as exc:
            verdicts.append(_unjudged(rule, Unjudged.NOT_RUN, str(exc)))
            continue
        except NotObserved as exc:
            outcome = Outcome.UNOBSERVED if binding else Outcome.SKIP
            verdicts.append(Verdict(rule, outcome, [], str(exc), Unjudged.NOT_OBSERVED))
            continue
        except Exception as exc:  # a bug of the tester: say so, never blame the server
            verdicts.append(Verdict(rule, Outcome.ERROR, reason=f"{type(exc).__name__}: {exc}"))
            continue
        if not violations:
            verdicts.append(Verdict(rule, Outcome.PASS))
        else:
            verdicts.append(Verdict(rule, Outcome.FAIL if binding else Outcome.WARN, violations))
    return verdicts


def _unjudged(rule: Rule, kind: Unjudged, reason: str) -> Verdict:
    """A rule without a verdict: DISABLED when the profile or the run leaves it out (a rule
    not run for want of a second principal reads like a feature the server lacks: nobody asked
    for it), else SKIP."""
    outcome = Outcome.DISABLED if kind in (Unjudged.DISABLED, Unjudged.NOT_RUN) else Outcome.SKIP
    return Verdict(rule, outcome, reason=reason, unjudged=kind)


def worst(outcomes: Iterable[Outcome]) -> Outcome:
    """The worst of ``outcomes`` (PASS when there are none)."""
    return max(outcomes, key=lambda o: o.rank, default=Outcome.PASS)


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """0 conformant (every binding rule observed and held), 1 a conformance failure (a rule
    broken or not demonstrated), 2 a tester error with no failure."""
    verdicts = list(verdicts)
    if any(v.binding for v in verdicts):
        return 1
    return 2 if any(v.outcome is Outcome.ERROR for v in verdicts) else 0
