"""One test per rule of lrokit's registry, judged from the session's recorded conformance run.

PASS passes; FAIL fails with what was received, what the rule expects and where; WARN (a
SHOULD not met) passes with a :class:`ShouldWarning` (fails under ``--strict``); UNOBSERVED (a
binding rule the server kept the tester from observing) fails as not demonstrated; SKIP and
DISABLED skip with the reason and its kind; ERROR (the tester's or the network's fault) fails
as a tester error. Every test is marked with its rule's family and level: ``-m retry``, ``-m must``.
"""

from __future__ import annotations

import warnings

import pytest

from lrokit.checks import explain
from lrokit.rules import RUNTIME_RULES, Rule
from lrokit.runner.run import Report
from lrokit.runner.verdicts import Outcome


class ShouldWarning(pytest.PytestWarning):
    """A SHOULD rule the target does not meet: not a failure, unless ``--strict``."""


def _param(rule: Rule) -> object:
    marks = [getattr(pytest.mark, rule.family.lower()), getattr(pytest.mark, rule.level.lower())]
    return pytest.param(rule.id, id=rule.id, marks=marks)


@pytest.mark.rules
@pytest.mark.parametrize("rule_id", [_param(rule) for rule in RUNTIME_RULES.values()])
def test_rule(rule_id: str, lrokit_report: Report) -> None:
    verdict = next(v for v in lrokit_report.verdicts if v.rule.id == rule_id)
    outcome = verdict.outcome
    if outcome is Outcome.PASS:
        return
    if outcome is Outcome.WARN:
        warnings.warn(explain(verdict.rule, verdict.violations), ShouldWarning, stacklevel=1)
        return
    if outcome in (Outcome.SKIP, Outcome.DISABLED):
        kind = f" ({verdict.unjudged.words})" if verdict.unjudged else ""
        pytest.skip(f"{outcome}{kind}: {verdict.reason}")
    if outcome is Outcome.UNOBSERVED:
        pytest.fail(
            f"{rule_id} ({verdict.rule.level}) not demonstrated: {verdict.reason}", pytrace=False
        )
    if outcome is Outcome.ERROR:
        pytest.fail(f"tester error: {rule_id}: {verdict.reason}", pytrace=False)
    pytest.fail(explain(verdict.rule, verdict.violations), pytrace=False)
