"""HTTP: caching, HEAD, Vary and Prefer, Date, Content-Type."""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks._util import monitor_reads, plain_submissions, submissions
from lrokit.model.exchange import Exchange
from lrokit.model.headers import retry_after_delay
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording, state_of

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:max-age|s-maxage)\s*=\s*\"?([0-9]+)", re.IGNORECASE)


@check("HTTP-1")
def monitor_not_cached_stale(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Non-terminal monitor reads SHOULD forbid caching beyond the advised wait."""
    running = [(p, s) for _, p, s in monitor_reads(rec, profile) if s not in profile.terminal]
    if not running:
        raise NotObserved("no non-terminal monitor read")
    for poll, _ in running:
        control = ",".join(poll.header_lines("cache-control")).lower()
        if "no-store" in control or "no-cache" in control:
            continue
        ages = [float(a) for a in _MAX_AGE.findall(control)]
        wait = retry_after_delay(poll.header("retry-after") or "")
        if ages and all(age <= (wait or 0) for age in ages):
            continue
        yield Violation(
            f"Cache-Control: {control or '(none)'}",
            "no-store, no-cache, or max-age ≤ Retry-After",
            poll.describe(),
            poll,
        )


@check("HTTP-2")
def head_without_content(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A response to HEAD on the monitor MUST NOT carry content: nothing may follow its header
    section (RFC 9110 §9.3.2). ``Target.head`` reads on past the header section to see any."""
    head = rec.head
    if head is None:
        raise NotObserved("the monitor was not followed")
    if head.status is None:
        raise NotObserved(f"HEAD on the monitor got {head.answer}")
    if head.label.endswith("-proxied"):
        # Not the server's doing, yet a MUST left unseen: exit 0 would claim it held.
        raise NotObserved(
            "HEAD went through the environment's proxy, where content sent on it cannot be "
            "seen (set NO_PROXY for the target)"
        )
    if head.body:
        more = "more than " if head.truncated else ""
        yield Violation(
            f"{more}{len(head.body)} bytes of content: {head.body[:32]!r}",
            "no content",
            head.describe(),
            head,
        )


@check("HTTP-6")
def head_matches_get(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A response to HEAD on the monitor SHOULD have the status and header fields of GET's
    (RFC 9110 §9.3.2). Compared: the status, Content-Type and Cache-Control, the metadata HEAD
    is asked for and what a cache copies from a HEAD response onto its stored GET response
    (RFC 9111 §4.3.5). Other fields may rightly differ: Date and Retry-After from one response
    to the next, and Content-Length and Transfer-Encoding may be left out on HEAD (RFC 9110
    §8.6, RFC 9112 §6.1). Fields are compared only when the status is the same."""
    head, get = rec.head, rec.head_get
    if head is None or get is None:
        raise NotObserved("the monitor was not followed")
    if get.status is None:
        raise NotObserved(f"the GET to compare with got {get.answer}")
    if head.status is None:
        yield Violation(head.answer, f"status {get.status}, as for GET", head.describe(), head)
        return
    if head.status != get.status:
        yield Violation(
            f"HEAD {head.status}, GET {get.status}", "the same status", head.describe(), head
        )
        return
    for name in ("content-type", "cache-control"):
        if head.header(name) != get.header(name):
            yield Violation(
                f"{name}: {head.header(name)!r} vs GET {get.header(name)!r}",
                "the same fields",
                head.describe(),
                head,
            )


@check("HTTP-3", feature="prefer")
def vary_prefer(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Responses that vary with Prefer MUST list Prefer (or *) in Vary, whether or not their
    request carried Prefer (RFC 7240 §2): every submission, once one says it applied a
    preference, and every read of a monitor, once one does (a held read, ``features.wait``)."""
    subs = [s for s in submissions(rec) if s.status is not None]
    varying = [
        answers
        for answers in (subs, _monitor_answers(rec, profile))
        if any(a.header("preference-applied") is not None for a in answers)
    ]
    if not varying:
        raise NotApplicable("no response varied with Prefer (no Preference-Applied)")
    for answer in (a for answers in varying for a in answers):
        vary = {v.strip().lower() for v in ",".join(answer.header_lines("vary")).split(",")}
        if not vary & {"prefer", "*"}:
            yield Violation(
                f"Vary: {answer.header('vary') or '(none)'}",
                "Vary listing Prefer",
                answer.describe(),
                answer,
            )


def _monitor_answers(rec: Recording, profile: Profile) -> list[Exchange]:
    """Every read of a monitor that reported a state: the followed jobs' and the held reads'
    job's, plain and held."""
    reads = [poll for _, poll, _ in monitor_reads(rec, profile)]
    waits = rec.waits
    if waits is not None:
        holds = [*waits.holds, *([waits.ended] if waits.ended is not None else [])]
        held = [hold.read for hold in holds]
        reads += [r for r in waits.plain() + held if state_of(profile, r) is not None]
    return reads


@check("HTTP-4", feature="prefer")
def unknown_preference_ignored(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """An unknown preference MUST be ignored: the answer is the one given without it."""
    sub = rec.prefer_probe
    if sub is None:
        raise NotObserved("the submission with an unknown preference was not sent")
    plain = next(
        (s for s in plain_submissions(rec, profile) if s.status in profile.initiation_status),
        None,
    )
    if plain is None:
        raise NotObserved("no accepted submission without Prefer to compare with")
    if sub.status != plain.status:
        yield Violation(
            f"status {sub.status}",
            f"{plain.status}, as without the unknown preference",
            sub.describe(),
            sub,
        )


@check("HTTP-5")
def date_present(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """2xx, 3xx and 4xx responses MUST carry Date."""
    judged = [e for e in rec.exchanges if e.status is not None and e.status < 500]
    if not judged:
        raise NotObserved("no response was recorded")
    for exchange in judged:
        if exchange.header("date") is None:
            yield Violation("no Date", "a Date field", exchange.describe(), exchange)


#: The start of an HTML document: its first bytes but white space are a doctype or html tag.
_HTML = re.compile(rb"\s*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)
#: Labels JSON content never has: markup, HTML or XML (XML begins with "<", JSON never does).
_MARKUP = re.compile(r"text/html|(?:application|text)/xml|[^/]+/[^/]+\+xml")


@check("HTTP-7")
def content_type_matches(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A response's Content-Type MUST be its content's media type (RFC 9110 §8.3): content
    labelled JSON MUST parse as JSON, and JSON MUST NOT be labelled HTML or XML.

    Only a certain mismatch is blamed. A generic label (text/plain, application/octet-stream)
    is true of any text, and no label is not a wrong one; JSON under another label (text/csv,
    NDJSON, JavaScript) may be that too; only an object or array counts as JSON under a markup
    label; a body cut at the tester's limit is not parsed. A HEAD answer has no content."""
    answered = [e for e in rec.exchanges if e.status is not None]
    if not answered:
        raise NotObserved("no response was recorded")
    judged = [e for e in answered if e.body and e.method != "HEAD"]
    if not judged:
        raise NotApplicable("no response had content")
    for exchange in judged:
        found = _mislabelled(exchange)
        if found is not None:
            yield Violation(*found, exchange.describe(), exchange)


def _mislabelled(exchange: Exchange) -> tuple[str, str] | None:
    """What a response's label claims that its content belies (received, expected), if any."""
    declared = exchange.media_type
    body = exchange.body.removeprefix(b"\xef\xbb\xbf")  # a byte order mark is no content
    if declared == "application/json" or declared.endswith("+json"):
        if _HTML.match(body):
            return f"an HTML document labelled {declared}", "the label text/html, or JSON content"
        if exchange.truncated:
            return None
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return f"{declared} content that is not JSON ({exc})", "JSON, or its true label"
        return None
    if _MARKUP.fullmatch(declared) and not exchange.truncated:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if isinstance(document, dict | list):
            return f"JSON labelled {declared}", "a JSON media type (application/json)"
    return None
