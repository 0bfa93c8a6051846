"""Strict parsers for the header fields the pattern depends on, and the status document's
RFC 3339 timestamps.

Written here rather than taken from a library because the point is strictness: ``email.utils``
and ``httpx`` accept forms RFC 9110 forbids a server to send (``1.5``, ``-1``, obsolete date
formats), and a conformance tester must tell them apart.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_DELAY = re.compile(r"[0-9]+")
# IMF-fixdate, RFC 9110 §5.6.7: Sun, 06 Nov 1994 08:49:37 GMT
_IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)
# RFC 7240 §2, §3: a preference is token [ BWS "=" BWS word ], word = token / quoted-string;
# members are separated by commas outside quoted strings.
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_MEMBER = re.compile(rf"(?:[^,\"]|{_QUOTED})+")
_PREFERENCE = re.compile(
    rf"[ \t]*({_TCHARS})(?:[ \t]*=[ \t]*({_TCHARS}|{_QUOTED}))?[ \t]*(?:;.*)?", re.DOTALL
)
# RFC 3986 URI-reference, permissively: no spaces, controls, or characters outside it.
_URI_REFERENCE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


def http_date(value: str) -> datetime | None:
    """An IMF-fixdate as an aware datetime, or None if ``value`` is not one."""
    if not _IMF_FIXDATE.fullmatch(value):
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def date_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (``2026-12-03T10:00:00.123Z``), or None for anything else: a
    value that is no string, does not parse, or has no offset (RFC 3339 §5.6 requires one)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def retry_after_delay(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait for a Retry-After ``value`` (RFC 9110 §10.2.3), or None if invalid.

    Only ``delay-seconds`` (``1*DIGIT``) and IMF-fixdate are accepted; an HTTP-date is
    measured from ``now`` (the response's ``Date``, else the tester's clock).
    """
    value = value.strip(" \t")
    if _DELAY.fullmatch(value):
        return float(value)
    when = http_date(value)
    if when is None:
        return None
    return (when - (now or datetime.now(UTC))).total_seconds()


def is_uri_reference(value: str) -> bool:
    """Whether ``value`` is a syntactically valid URI-reference (RFC 3986 §4.1)."""
    if not value or not _URI_REFERENCE.fullmatch(value):
        return False
    return all(re.fullmatch(r"[0-9A-Fa-f]{2}", part[:2]) for part in value.split("%")[1:])


def delta_seconds(value: str | None) -> int | None:
    """``value`` as delta-seconds (``1*DIGIT``, RFC 9110 §10.2.3, RFC 7240 §4.3), or None."""
    return int(value) if value is not None and _DELAY.fullmatch(value) else None


def preferences(lines: list[str]) -> dict[str, str]:
    """The preferences of ``Prefer`` or ``Preference-Applied`` field lines (RFC 7240 §2, §3),
    by lower-cased name: the first of each name, its value unquoted (``""`` when it has none).
    Parameters after ``;`` (``Prefer``'s) are dropped; a member that is not ``token [= word]``
    is skipped."""
    found: dict[str, str] = {}
    for line in lines:
        for member in _MEMBER.findall(line):
            match = _PREFERENCE.fullmatch(member)
            if match is None:
                continue
            value = match.group(2) or ""
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            found.setdefault(match.group(1).lower(), value)
    return found
