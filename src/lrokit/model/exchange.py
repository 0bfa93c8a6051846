"""Recorded HTTP exchanges: what the tester sent and what the server answered, verbatim; the
origin of a URL and the request fields whose values are never shown, or that carry
credentials."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

#: Request fields whose values reports never show.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
#: Words that mark a field's name as one that carries credentials, besides those above.
_SECRET_WORDS = ("key", "token", "secret", "password", "auth", "signature")


def carries_credentials(name: str) -> bool:
    """Whether a request field named ``name`` carries credentials, as far as its name says:
    one of :data:`SECRET_HEADERS`, or a name with key, token, secret, password, auth or
    signature in it (``X-Api-Token``)."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in _SECRET_WORDS)


@dataclass(frozen=True)
class Exchange:
    """One request and its response. ``status`` is None when no response came (``error``)."""

    label: str  # what the tester meant, e.g. "submit", "poll", "unknown-id"
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()  # every field line, names lower-cased
    body: bytes = b""
    truncated: bool = False  # the body was cut at the tester's size limit
    at: float = 0.0  # seconds since the run started, when the request was sent
    seconds: float = 0.0  # from sending the request to the end of the response (or failure)
    error: str | None = None  # why there was no response
    _json: list[Any] = field(default_factory=list, repr=False, compare=False)

    def header_lines(self, name: str) -> list[str]:
        """Every value of field ``name``, one per field line."""
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def header(self, name: str) -> str | None:
        """The first value of field ``name``, or None."""
        lines = self.header_lines(name)
        return lines[0] if lines else None

    @property
    def media_type(self) -> str:
        """The response's media type, lower-cased, without parameters."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        if not self._json:
            value: Any = None
            if self.body and not self.truncated:
                with contextlib.suppress(orjson.JSONDecodeError):
                    value = orjson.loads(self.body)
            self._json.append(value)
        return self._json[0]

    @property
    def answer(self) -> str:
        """What came back, for reports: ``status 404`` or ``no response (timed out)``."""
        return f"status {self.status}" if self.status is not None else f"no response ({self.error})"

    def describe(self) -> str:
        """One line for reports: ``GET /reports/1 -> 200``."""
        answer = str(self.status) if self.status is not None else f"no response ({self.error})"
        return f"{self.method} {self.url} -> {answer}"


def response_date(exchange: Exchange) -> datetime | None:
    """The response's ``Date`` (RFC 9110 §6.6.1) as an aware datetime, or None. Read leniently:
    it is the clock an HTTP-date Retry-After is measured from, not a rule of its own."""
    value = exchange.header("date")
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    # An HTTP-date is UTC; a zone-less (or -0000) Date parses naive: never subtract it from UTC.
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def origin(url: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` with default ports made explicit."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return parts.scheme, f"{(parts.hostname or '').lower()}:{port}"
