"""Checks: small functions over recorded exchanges, each tied to one rule of the registry.

A check yields a :class:`Violation` per breach it sees and yields nothing when the server
complies, having judged at least one thing; when the recording holds nothing to judge it raises
one of two reasons, never passes:

* :class:`NotApplicable`: what the rule is about does not arise here, and not by the server's
  doing (the profile has no such field; the absence is another rule's to judge). SKIP.
* :class:`NotObserved`: what the rule is about applies, but what the server did kept the tester
  from seeing it (the submission was refused, the monitor could not be followed or read, the
  job ended before the state the rule needs). A MUST rule is then *not demonstrated* and fails
  the run (UNOBSERVED); a SHOULD rule SKIPs, saying so.
* :class:`NotRun`: the rule needs what the run was not given (another principal's
  credentials, ``--other-header``): the user did not ask for it, so it is DISABLED, saying
  what to give; neither a pass nor a failure.

``feature`` names the profile feature a rule needs; without it the rule is DISABLED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording
from lrokit.rules import Rule


class NotJudged(Exception):
    """Nothing recorded lets this rule be judged; the message says why."""


class NotApplicable(NotJudged):
    """What the rule is about does not arise here, and not by the server's doing."""


class NotObserved(NotJudged):
    """The rule applies, but what the server did kept the tester from observing it."""


class NotRun(NotJudged):
    """The rule needs what the run was not given (a second principal); the message says what
    to give."""


@dataclass(frozen=True)
class Violation:
    """One breach of a rule: what was received, what the rule expects, and where."""

    received: str
    expected: str
    where: str = ""  # the exchange, as ``GET /x -> 200``
    exchange: Exchange | None = field(default=None, compare=False)  # the one cited, whole

    def fields(self) -> list[tuple[str, str]]:
        """What every report shows of a breach, in one order: received, expected, where."""
        found = (("received", self.received), ("expected", self.expected), ("where", self.where))
        return [(label, text) for label, text in found if text]

    def render(self, indent: str = "") -> str:
        """The breach as aligned ``label: text`` lines."""
        return "\n".join(f"{indent}{label + ':':<9} {text}" for label, text in self.fields())


def explain(rule: Rule, violations: Sequence[Violation], shown: int = 5) -> str:
    """A rule's breaches as every text report shows them (pytest, schemathesis, JUnit): the
    rule id, level and text; each breach; its source with a quote."""
    lines = [f"{rule.id} ({rule.level}, {rule.basis}): {rule.text}"]
    lines += [violation.render("  ") for violation in violations[:shown]]
    if len(violations) > shown:
        lines.append(f"  … {len(violations) - shown} more")
    lines.append(f"  source:   {rule.citation}: “{rule.quote}”")
    return "\n".join(lines)


CheckFunction = Callable[[Recording, Profile], Iterable[Violation]]


@dataclass(frozen=True)
class Check:
    rule_id: str
    run: CheckFunction
    feature: str | None = None


CHECKS: dict[str, Check] = {}


def check(rule_id: str, feature: str | None = None) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``fn`` as the check of ``rule_id``."""

    def register(fn: CheckFunction) -> CheckFunction:
        if rule_id in CHECKS:
            raise ValueError(f"{rule_id} has two checks")
        CHECKS[rule_id] = Check(rule_id, fn, feature)
        return fn

    return register


def load_all() -> dict[str, Check]:
    """Import every family's module so that its checks register; return the registry."""
    from lrokit.checks import (  # noqa: F401
        accept,
        cancel,
        hygiene,
        idempotency,
        lifecycle,
        location,
        monitor,
        problem,
        result,
        retry,
        stream,
        tenancy,
        wait,
        webhook,
    )

    return CHECKS
