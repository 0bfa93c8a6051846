"""lrokit's per-response rules as schemathesis checks.

Seven rules judge a single response on its own: PROBLEM-1 (a 4xx/5xx is
``application/problem+json``), PROBLEM-2 (problem member types), PROBLEM-3 (``status`` equals
the HTTP status), PROBLEM-9 (no stack traces), RETRY-1 (Retry-After grammar, one field line),
HTTP-5 (Date on every response below 500) and HTTP-7 (Content-Type is the content's). Their
checks in :mod:`lrokit.checks` read only ``Recording.exchanges``, so one response converted to
an :class:`Exchange` and judged as a recording of its own gets exactly the verdict the
conformance run would give it: the same code judges both, nothing is written twice.

Importing this module registers the checks with schemathesis (``lrokit_problem_1`` …), which
is what ``SCHEMATHESIS_HOOKS=lrokit.checks.adapters schemathesis run …`` relies on. Nothing in
lrokit imports it: only the conformance suite and hooks users do. Failures raise
``AssertionError`` with :func:`lrokit.checks.explain` ("RULE-ID (LEVEL, basis): …"), which
schemathesis reports as ``ST901 Custom check failed``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import schemathesis

from lrokit.checks import NotJudged, Violation, explain, load_all
from lrokit.model.exchange import SECRET_HEADERS, Exchange
from lrokit.model.profile import Profile, load_profile
from lrokit.model.recording import Recording
from lrokit.rules import RULES, Level

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

#: The rules whose checks judge one response on its own.
RESPONSE_RULES = (
    "PROBLEM-1",
    "PROBLEM-2",
    "PROBLEM-3",
    "PROBLEM-9",
    "RETRY-1",
    "HTTP-5",
    "HTTP-7",
)

SchemathesisCheck = Callable[["CheckContext", "Response", "Case[Any]"], "bool | None"]


@cache
def _default_profile() -> Profile:
    # The response rules do not read the profile; a check function's signature needs one.
    return load_profile("canonical")


def to_exchange(
    response: Response, case: Case[Any] | None = None, label: str = "schemathesis"
) -> Exchange:
    """A schemathesis response as a recorded :class:`Exchange` (header names lower-cased,
    one entry per field line; secrets of the request redacted)."""
    request = response.request
    method = (request.method or (case.method if case is not None else "")).upper()
    sent = tuple(
        (name.lower(), "[redacted]" if name.lower() in SECRET_HEADERS else str(value))
        for name, value in (request.headers or {}).items()
    )
    headers = tuple(
        (name.lower(), value) for name, values in response.headers.items() for value in values
    )
    return Exchange(
        label=label,
        method=method,
        url=request.url or "",
        request_headers=sent,
        status=response.status_code,
        headers=headers,
        body=response.content,
        truncated=response.content_size > len(response.content),
    )


def judge(
    rule_id: str, exchange: Exchange, profile: Profile | None = None
) -> list[Violation] | None:
    """The violations of ``rule_id`` by one exchange; None when the rule has nothing to judge
    in it (e.g. PROBLEM-1 on a 200)."""
    if rule_id not in RESPONSE_RULES:
        raise ValueError(
            f"{rule_id} does not judge a single response ({', '.join(RESPONSE_RULES)} do)"
        )
    check = load_all()[rule_id]
    recording = Recording(exchanges=[exchange])
    try:
        return list(check.run(recording, profile or _default_profile()))
    except NotJudged:
        return None


def judge_all(exchange: Exchange, profile: Profile | None = None) -> dict[str, list[Violation]]:
    """Every response rule's violations by one exchange, for the rules it breaks."""
    found = {rule_id: judge(rule_id, exchange, profile) for rule_id in RESPONSE_RULES}
    return {rule_id: violations for rule_id, violations in found.items() if violations}


def _adapter(rule_id: str, name: str) -> SchemathesisCheck:
    def run(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        violations = judge(rule_id, to_exchange(response, case))
        if violations is None:
            return None
        if violations:
            raise AssertionError(explain(RULES[rule_id], violations))
        return True

    run.__name__ = run.__qualname__ = name  # schemathesis names a check by its function name
    run.__doc__ = f"{rule_id}: {RULES[rule_id].text}"
    return run


#: The schemathesis checks, by rule id. Their names start with ``lrokit_``.
CHECKS: Mapping[str, SchemathesisCheck] = {
    rule_id: _adapter(rule_id, "lrokit_" + rule_id.lower().replace("-", "_"))
    for rule_id in RESPONSE_RULES
}


def checks_for(
    *, strict: bool = True, warning: type[Warning] = UserWarning
) -> list[SchemathesisCheck]:
    """Every adapter for a test run: a MUST rule's check fails; a SHOULD rule's check fails
    only when ``strict``, else it warns ``warning`` (``"RULE-ID (SHOULD, basis): …"``) and
    passes."""
    return [
        check if strict or RULES[rule_id].level is Level.MUST else _lenient(check, warning)
        for rule_id, check in CHECKS.items()
    ]


def _lenient(check: SchemathesisCheck, warning: type[Warning]) -> SchemathesisCheck:
    def run(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        try:
            return check(ctx, response, case)
        except AssertionError as exc:
            warnings.warn(str(exc), warning, stacklevel=2)
            return None

    run.__name__ = run.__qualname__ = check.__name__
    return run


def _register() -> None:
    """Register every adapter with schemathesis (CLI and pytest alike)."""
    for check in CHECKS.values():
        schemathesis.check(check)


_register()
