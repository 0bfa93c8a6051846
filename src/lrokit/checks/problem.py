"""PROBLEM: RFC 9457 problem details on every error path."""

from __future__ import annotations

from collections.abc import Iterator

from lrokit.checks import NotApplicable, NotObserved, Violation, check
from lrokit.checks import _internals as internals
from lrokit.model.exchange import Exchange
from lrokit.model.headers import is_uri_reference
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording


def _errors(rec: Recording) -> list[Exchange]:
    found = [e for e in rec.exchanges if e.status is not None and e.status >= 400]
    if not found:
        raise NotObserved("no error response was recorded")
    return found


def _problems(rec: Recording, profile: Profile) -> list[tuple[Exchange, dict[str, object]]]:
    """The error responses in the dialect's error media type whose body is an object."""
    media = profile.error_media_type
    found = [(e, e.json()) for e in _errors(rec) if e.media_type == media]
    found = [(e, body) for e, body in found if isinstance(body, dict)]
    if not found:
        raise NotApplicable(f"no error was a {media} object (PROBLEM-1 judges that)")
    return found


@check("PROBLEM-1")
def errors_are_problems(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Every 4xx and 5xx MUST be application/problem+json (or the dialect's error type)."""
    media = profile.error_media_type
    for error in _errors(rec):
        if error.media_type != media:
            yield Violation(error.media_type or "no Content-Type", media, error.describe(), error)
        elif error.method != "HEAD" and not isinstance(error.json(), dict):
            yield Violation(
                "a body that is not a JSON object", "a problem object", error.describe(), error
            )


@check("PROBLEM-2")
def problem_member_types(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Problem members MUST have their RFC 9457 types."""
    for error, body in _problems(rec, profile):
        for name in ("type", "instance"):
            value = body.get(name)
            if name in body and not (isinstance(value, str) and is_uri_reference(value)):
                yield Violation(
                    f"{name}={body[name]!r}", "a URI-reference string", error.describe(), error
                )
        for name in ("title", "detail"):
            if name in body and not isinstance(body[name], str):
                yield Violation(f"{name}={body[name]!r}", "a string", error.describe(), error)
        if "status" in body and (
            not isinstance(body["status"], int) or isinstance(body["status"], bool)
        ):
            yield Violation(f"status={body['status']!r}", "an integer", error.describe(), error)


@check("PROBLEM-3")
def problem_status_matches(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A problem's status member MUST equal the HTTP status (a status that is no integer is
    PROBLEM-2's)."""
    for error, body in _problems(rec, profile):
        status = body.get("status")
        if isinstance(status, int) and not isinstance(status, bool) and status != error.status:
            yield Violation(
                f"status member {body['status']!r}", f"{error.status}", error.describe(), error
            )


def _expect(rec: Recording, key: str, status: int) -> Iterator[Violation]:
    probe = rec.errors.get(key)
    if probe is None:
        raise NotObserved(f"the {key} probe was not sent")
    if probe.status != status:
        yield Violation(f"status {probe.status}", str(status), probe.describe(), probe)


def wrong_type(exchange: Exchange, profile: Profile, kind: str) -> Violation | None:
    """The error document's ``type`` is not the URI the dialect fixes for ``kind`` (OGC
    18-062r2: "The type of the exception SHALL be" its URI); None when it is, or when the
    dialect fixes none."""
    expected = profile.error_types.get(kind)
    if expected is None:
        return None
    document = exchange.json()
    got = document.get("type") if isinstance(document, dict) else None
    if got == expected:
        return None
    received = f"type {got!r}" if got is not None else "no type member"
    return Violation(received, f"type {expected!r}", exchange.describe(), exchange)


@check("PROBLEM-4")
def unknown_id_404(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A monitor for an unknown job MUST answer 404: its id replaced, and each other id the
    contract puts in its path replaced in turn (an unknown parent, e.g. a subscription, may
    also be refused 403); where the dialect fixes the error's type URI, it MUST be that."""
    yield from _expect(rec, "unknown-id", 404)
    probe = rec.errors.get("unknown-id")
    if probe is not None and probe.status == 404:
        mistyped = wrong_type(probe, profile, "unknown-id")
        if mistyped is not None:
            yield mistyped
    for key, probe in rec.errors.items():
        if key.startswith("unknown-id-") and probe.status not in (403, 404):
            yield Violation(f"status {probe.status}", "404 (or 403)", probe.describe(), probe)


def _body_probe(rec: Recording, profile: Profile, key: str, status: int) -> Iterator[Violation]:
    if profile.body is None:
        raise NotApplicable("the operation takes no body")
    yield from _expect(rec, key, status)


@check("PROBLEM-5")
def malformed_400(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A body that is not well-formed in the operation's media type (JSON, multipart) MUST be
    answered 400; a form has no malformed shape to send."""
    if profile.body is not None and profile.body.encoding == "form":
        raise NotApplicable(f"a {profile.body.media_type} body cannot be malformed")
    yield from _body_probe(rec, profile, "malformed", 400)


@check("PROBLEM-6")
def wrong_method_405_allow(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """An unsupported method MUST get 405 with Allow listing the supported methods."""
    needed = {"wrong-method": profile.submit_method, "wrong-method-monitor": "GET"}
    probes = [(k, rec.errors[k]) for k in needed if k in rec.errors]
    if not probes:
        raise NotObserved("no wrong-method probe was sent")
    for key, probe in probes:
        allow = {
            m.strip().upper() for m in ",".join(probe.header_lines("allow")).split(",") if m.strip()
        }
        if probe.status != 405:
            yield Violation(f"status {probe.status}", "405", probe.describe(), probe)
        elif not allow or probe.method in allow or needed[key] not in allow:
            yield Violation(
                f"Allow: {', '.join(sorted(allow)) or '(none)'}",
                f"an Allow listing {needed[key]} and not {probe.method}",
                probe.describe(),
                probe,
            )


@check("PROBLEM-7")
def unsupported_media_415(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A submission in an unsupported media type SHOULD be answered 415."""
    yield from _body_probe(rec, profile, "unsupported-media-type", 415)


@check("PROBLEM-8")
def not_acceptable_406(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """A monitor request accepting no available media type SHOULD be answered 406."""
    yield from _expect(rec, "not-acceptable", 406)


def _strings(document: object) -> Iterator[str]:
    """Every string in a JSON document, unescaped."""
    todo = [document]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)


@check("PROBLEM-9")
def no_internals(rec: Recording, profile: Profile) -> Iterator[Violation]:
    """Error bodies SHOULD NOT expose implementation internals such as stack traces (RFC 9457
    §5): any runtime's trace, or a path of the server's file system."""
    for error in _errors(rec):
        texts = [*_strings(error.json()), error.body.decode("utf-8", "replace")]
        found = internals.describe(texts)
        if found:
            yield Violation(
                f"{found} in the body", "no implementation internals", error.describe(), error
            )
