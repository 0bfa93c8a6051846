"""RETRY: the Retry-After field."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import followed, monitor_reads, submissions
from lrokit.model.exchange import response_date
from lrokit.model.headers import http_date, retry_after_delay
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording


@check("RETRY-1")
def retry_after_grammar(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Retry-After MUST be one delay-seconds or IMF-fixdate value."""
    carrying = [e for e in rec.exchanges if e.header_lines("retry-after")]
    if not carrying:
        raise NotApplicable("no response carried Retry-After (RETRY-2 judges that)")
    for exchange in carrying:
        lines = exchange.header_lines("retry-after")
        if len(lines) > 1:
            yield Violation(
                f"{len(lines)} field lines: {lines}", "one value", exchange.describe(), exchange
            )
        elif retry_after_delay(lines[0]) is None:
            yield Violation(
                repr(lines[0]),
                "delay-seconds (1*DIGIT) or an IMF-fixdate",
                exchange.describe(),
                exchange,
            )


@check("RETRY-2")
def retry_after_while_running(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """The initiating response and every non-terminal monitor read MUST carry Retry-After
    (an initiating response that reports a terminal state, an idempotent replay, need not)."""
    judged = 0
    for sub in submissions(rec):
        if (
            sub.status in profile.initiation_status
            and profile.body_state(sub.json()) not in profile.terminal
        ):
            judged += 1
            if sub.header("retry-after") is None:
                yield Violation(
                    "no Retry-After", "Retry-After on the initiating response", sub.describe(), sub
                )
    for _, poll, state in monitor_reads(rec, profile):
        if state not in profile.terminal:
            judged += 1
            if poll.header("retry-after") is None:
                yield Violation(
                    f"{state} without Retry-After",
                    "Retry-After while not terminal",
                    poll.describe(),
                    poll,
                )
    if not judged:
        raise NotObserved("no accepted submission and no non-terminal monitor read")


@check("RETRY-3")
def no_retry_after_when_terminal(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A terminal monitor read MUST NOT carry Retry-After."""
    terminal = [(p, s) for _, p, s in monitor_reads(rec, profile) if s in profile.terminal]
    if not terminal:
        raise NotObserved("no terminal state was read")
    for poll, state in terminal:
        if poll.header("retry-after") is not None:
            yield Violation(
                f"{state} with Retry-After: {poll.header('retry-after')}",
                "no Retry-After",
                poll.describe(),
                poll,
            )


@check("RETRY-4")
def retry_after_sane(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Retry-After SHOULD be within the profile's bounds and never a date in the past."""
    carrying = [e for e in rec.exchanges if e.header("retry-after") is not None]
    if not carrying:
        raise NotApplicable("no response carried Retry-After (RETRY-2 judges that)")
    for exchange in carrying:
        value = exchange.header("retry-after") or ""
        delay = retry_after_delay(value, response_date(exchange))
        if delay is None:
            continue  # RETRY-1's business
        if delay < profile.retry_after_min and http_date(value.strip()) is None:
            got = f"{value!r} ({delay:.0f} s)"
            yield Violation(
                got, f"at least {profile.retry_after_min} s", exchange.describe(), exchange
            )
        elif delay > profile.retry_after_max:
            yield Violation(
                f"{value!r} ({delay:.0f} s)",
                f"at most {profile.retry_after_max} s",
                exchange.describe(),
                exchange,
            )
        elif http_date(value.strip()) is not None and delay < -1:
            yield Violation(
                f"{value!r}, {-delay:.0f} s before Date",
                "a date in the future",
                exchange.describe(),
                exchange,
            )


@check("RETRY-5")
def advice_plausible(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Retry-After SHOULD be plausible: over a job's observed duration (its submission to its
    first terminal read), a client waiting the mean advised wait SHOULD need no more polls
    than the profile's bound (RFC 9110 §10.2.3). A wait of 0 while the job runs is a poll
    loop. The tester's own polls do not count: it may scale the waits."""
    judged = False
    for trace in followed(rec):
        if trace is rec.cancelled or trace.final_state is None:
            continue  # the tester's cancel cut it short, or it never ended
        running = [trace.submission, *(p for p in trace.polls if p is not trace.polls[-1])]
        advised = [
            delay
            for e in running
            if (value := e.header("retry-after")) is not None
            and (delay := retry_after_delay(value, response_date(e))) is not None
        ]
        if not advised:
            continue  # no advice to weigh (RETRY-2 judges its absence)
        judged = True
        last = trace.polls[-1]
        duration = last.at + last.seconds - trace.submission.at
        mean = max(0.0, sum(advised) / len(advised))
        polls = duration / mean if mean > 0 else float("inf")
        if duration > 0 and polls > profile.polls_max:
            shown = "a poll loop" if mean == 0 else f"about {polls:.0f} polls"
            yield Violation(
                f"{shown} over {duration:.1f} s (mean Retry-After {mean:g} s)",
                f"at most {profile.polls_max} polls of one job",
                last.describe(),
                last,
            )
    if not judged:
        raise NotObserved("no job advised Retry-After and ended")
