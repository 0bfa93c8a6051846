"""Checks: small functions over recorded exchanges, each tied to one rule of the registry.

A check yields a :class:`Violation` per breach it sees, yields nothing when the server
complies, and raises :class:`NotApplicable` when the recording holds nothing to judge (the
rule is then SKIPped with the reason). ``feature`` names the profile feature a rule needs;
without it the rule is DISABLED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lrokit.model.profile import Profile
from lrokit.model.recording import Recording


class NotApplicable(Exception):
    """Nothing recorded lets this rule be judged; the message says why."""


@dataclass(frozen=True)
class Violation:
    """One breach of a rule: what was received, what the rule expects, and where."""

    received: str
    expected: str
    where: str = ""  # the exchange, as ``GET /x -> 200``


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
    )

    return CHECKS
