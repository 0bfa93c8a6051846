"""The strict header parsers of ``lrokit.model.headers``: what a server may send, and what not.

RFC 9110 §10.2.3 ``Retry-After = HTTP-date / delay-seconds``, ``delay-seconds = 1*DIGIT``;
§5.6.7 a sender MUST generate HTTP-dates as IMF-fixdate (the obsolete RFC 850 and asctime
forms are for recipients only, so a tester judging a server refuses them). RFC 3986 §4.1
``URI-reference = URI / relative-ref``. RFC 7240 §2, §3: a preference is ``token [ BWS "=" BWS
word ]``; ``wait`` takes delta-seconds (§4.3).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest

from lrokit.model.headers import (
    delta_seconds,
    http_date,
    is_uri_reference,
    preferences,
    retry_after_delay,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
IN_A_MINUTE = "Thu, 01 Jan 2026 12:01:00 GMT"
A_MINUTE_AGO = "Thu, 01 Jan 2026 11:59:00 GMT"
RFC_EXAMPLE = "Sun, 06 Nov 1994 08:49:37 GMT"  # RFC 9110 §5.6.7's own example


# -- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 5 ", 5.0),  # OWS around a field value is not part of it (RFC 9110 §5.5)
        ("\t5\t", 5.0),
        ("007", 7.0),  # 1*DIGIT: leading zeros are digits too
        ("99999999999", 99999999999.0),  # valid grammar; RETRY-4 judges the size
    ],
)
def test_retry_after_delay_seconds(value: str, seconds: float) -> None:
    assert retry_after_delay(value, NOW) == seconds


def test_retry_after_http_date_in_the_future_is_measured_from_now() -> None:
    assert retry_after_delay(IN_A_MINUTE, NOW) == 60.0


def test_retry_after_http_date_in_the_past_is_negative() -> None:
    assert retry_after_delay(A_MINUTE_AGO, NOW) == -60.0
    assert (
        retry_after_delay(RFC_EXAMPLE, NOW)
        == (datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC) - NOW).total_seconds()
    )


def test_retry_after_http_date_without_now_uses_the_clock() -> None:
    soon = formatdate(time.time() + 100, usegmt=True)  # English names, whatever the locale
    delay = retry_after_delay(soon)
    assert delay is not None
    assert 90.0 < delay <= 100.0


@pytest.mark.parametrize(
    "value",
    [
        "1.5",  # not 1*DIGIT
        "-1",
        "+5",
        "5s",
        "5 s",
        "1 2",
        "/bar",
        "",
        " ",
        "1e3",
        "0x10",
        "\uff15",  # FULLWIDTH DIGIT FIVE: a Unicode digit, not an ASCII DIGIT
        "\u0665",  # ARABIC-INDIC DIGIT FIVE
        "5,5",  # two values
        "Sun, 06 Nov 1994 08:49:37 UTC",  # IMF-fixdate ends in GMT, nothing else
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850: obsolete, a sender MUST NOT
        "Sun Nov  6 08:49:37 1994",  # asctime: obsolete, a sender MUST NOT
        "Mon, 32 Nov 1994 08:49:37 GMT",  # no 32nd day
        "Tue, 31 Feb 1994 08:49:37 GMT",  # nor a 31st of February
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",  # day is 2DIGIT
        "sun, 06 nov 1994 08:49:37 GMT",  # day-name and month are case-sensitive
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
    ],
)
def test_retry_after_invalid(value: str) -> None:
    assert retry_after_delay(value, NOW) is None


# -- HTTP-date -----------------------------------------------------------------------------


def test_http_date_parses_imf_fixdate_as_aware_utc() -> None:
    parsed = http_date(RFC_EXAMPLE)
    assert parsed == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


def test_http_date_leap_day() -> None:
    assert http_date("Thu, 29 Feb 2024 00:00:00 GMT") == datetime(2024, 2, 29, tzinfo=UTC)
    assert http_date("Thu, 29 Feb 2023 00:00:00 GMT") is None  # 2023 is no leap year


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0",
        "120",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Mon, 32 Nov 1994 08:49:37 GMT",
        " Sun, 06 Nov 1994 08:49:37 GMT",  # http_date takes the value already trimmed
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "2026-01-01T00:00:00Z",
    ],
)
def test_http_date_invalid(value: str) -> None:
    assert http_date(value) is None


# -- URI-reference -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "/reports/1",
        "reports/1",
        "../x",
        "./x",
        "?q=1",
        "//host/p",
        "http://a/b",
        "https://a.example:8443/b/c?d=e",
        "http://a/b#frag",
        "/reports/1#status",
        "#",
        "/a%20b",
        "/a%2Fb",  # upper- and lower-case hex digits are both HEXDIG
        "/a%2fb",
        "http://[::1]/reports",
        "/reports;v=1/x,y",  # sub-delims are allowed in a path
        "mailto:x@example.org",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    ],
)
def test_uri_reference_valid(value: str) -> None:
    assert is_uri_reference(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "%zz",  # not a percent escape
        "/a%2",  # truncated
        "/a%",
        "/a%g0",
        "a b",  # spaces
        "/reports/1 ",
        " /reports/1",
        "/reports/1, /reports/2",  # a list is not one reference
        "a\x00b",  # control characters
        "a\x01b",
        "/a\tb",
        "/a\r\nb",
        "/a\x7fb",
        "/caf\u00e9",  # non-ASCII must be percent-encoded
        "/\u30ec\u30dd\u30fc\u30c8",
        'a"b',
        "a<b>",
        "a\\b",
        "a^b",
        "a`b",
        "a{b}",
        "a|b",
    ],
)
def test_uri_reference_invalid(value: str) -> None:
    assert not is_uri_reference(value)


# -- Prefer and Preference-Applied (RFC 7240 §2, §3) ------------------------------------------


@pytest.mark.parametrize(
    ("lines", "found"),
    [
        (["wait=2"], {"wait": "2"}),
        (["respond-async, wait = 10"], {"respond-async": "", "wait": "10"}),  # BWS around "="
        (['WAIT="3"'], {"wait": "3"}),  # names are case-insensitive; a word may be quoted
        (["wait=3", "wait=9"], {"wait": "3"}),  # the first instance counts
        (['return=minimal; foo="a,b", wait=1'], {"return": "minimal", "wait": "1"}),
        (["wait=", "=3, a b, ,"], {}),  # not token [= word]: skipped, not an error
        ([], {}),
    ],
)
def test_preferences(lines: list[str], found: dict[str, str]) -> None:
    assert preferences(lines) == found


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2", 2), ("0", 0), ("007", 7), (" 2", None), ("2.5", None), ("-1", None), ("²", None),
     ("", None), (None, None)],
)  # fmt: skip
def test_delta_seconds(value: str | None, seconds: int | None) -> None:
    assert delta_seconds(value) == seconds
