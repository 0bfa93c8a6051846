"""The checks, one by one, on recordings built by hand: edge cases no fauxserver sends.

Each test builds the few exchanges a check judges and asserts the exact violations (or that
there are none); a check that has nothing to judge must say why: ``NotApplicable`` (it does not
arise here) or ``NotObserved`` (the server kept it from being seen), never pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import orjson
import pytest

from lrokit.checks import NotApplicable, NotJudged, NotObserved, NotRun, Violation, load_all
from lrokit.model.exchange import Exchange
from lrokit.model.profile import load_profile
from lrokit.model.recording import Event, Hold, Recording, Streams, Tenancy, Trace, Waits
from lrokit.runner.scenarios import Scenarios, advised_wait, sse_events
from lrokit.runner.target import Target, TargetConfig

PROFILE = load_profile("canonical")
CHECKS = load_all()
BASE = "http://h"
SUBMIT = f"{BASE}/reports"
MONITOR = f"{BASE}/reports/r1"
DATE = "Thu, 01 Jan 2026 12:00:00 GMT"
T = "2026-01-01T00:00:0{}Z"
PROBLEM = "application/problem+json"


# -- builders ------------------------------------------------------------------------------


def exchange(
    method: str,
    url: str,
    status: int | None,
    *headers: tuple[str, str],
    body: object = None,
    label: str = "",
    error: str | None = None,
) -> Exchange:
    """One recorded exchange; ``body`` is bytes as is, anything else JSON-encoded."""
    raw = body if isinstance(body, bytes) else b"" if body is None else orjson.dumps(body)
    return Exchange(
        label or method.lower(),
        method,
        url,
        (),
        status,
        tuple((name.lower(), value) for name, value in headers),
        raw,
        error=error,
    )


def doc(state: str, **members: Any) -> dict[str, Any]:
    """A monitor document of job r1."""
    return {"id": "r1", "status": state, "createdAt": T.format(0), **members}


def poll(body: object, *headers: tuple[str, str], status: int = 200) -> Exchange:
    return exchange(
        "GET", MONITOR, status, ("content-type", "application/json"), *headers, body=body
    )


def accepted(*headers: tuple[str, str], url: str = SUBMIT, status: int = 202) -> Exchange:
    return exchange(
        "POST",
        url,
        status,
        ("content-type", "application/json"),
        ("retry-after", "1"),
        *headers,
        body=doc("PENDING"),
        label="submit",
    )


def problem(status: int, body: object, *headers: tuple[str, str], url: str = MONITOR) -> Exchange:
    return exchange("GET", url, status, ("content-type", PROBLEM), *headers, body=body)


def followed(*polls: Exchange, final: str | None = None) -> Recording:
    """A recording of one job, submitted and polled."""
    submission = accepted(("location", "/reports/r1"))
    trace = Trace(submission, monitor=MONITOR, polls=list(polls), final_state=final)
    return Recording(main=trace, exchanges=[submission, *polls])


def recorded(*exchanges: Exchange) -> Recording:
    return Recording(exchanges=list(exchanges))


def submitted(submission: Exchange) -> Recording:
    """A recording of one plain submission, not followed."""
    return Recording(plain=submission, exchanges=[submission])


def violations(rule_id: str, rec: Recording) -> list[Violation]:
    return list(CHECKS[rule_id].run(rec, PROFILE))


def received(rule_id: str, rec: Recording) -> list[str]:
    return [v.received for v in violations(rule_id, rec)]


# -- LOCATION ------------------------------------------------------------------------------


def test_location_one_relative_reference_passes() -> None:
    rec = submitted(accepted(("location", "/reports/r1")))
    for rule in ("LOCATION-1", "LOCATION-2", "LOCATION-3"):
        assert violations(rule, rec) == [], rule


def test_location_missing() -> None:
    sub = accepted()
    assert violations("LOCATION-1", submitted(sub)) == [
        Violation("no Location", "a Location header", "POST http://h/reports -> 202")
    ]


def test_location_on_several_field_lines() -> None:
    sub = accepted(("location", "/reports/r1"), ("location", "/reports/r2"))
    assert violations("LOCATION-2", submitted(sub)) == [
        Violation(
            "2 field lines: ['/reports/r1', '/reports/r2']",
            "exactly one",
            "POST http://h/reports -> 202",
        )
    ]
    assert violations("LOCATION-1", submitted(sub)) == []


@pytest.mark.parametrize(
    "value", ["/reports/r1, /reports/r2", "http://h/reports/r1, http://h/reports/r2"]
)
def test_location_comma_separated_list(value: str) -> None:
    assert violations("LOCATION-2", submitted(accepted(("location", value)))) == [
        Violation(repr(value), "a single URI-reference (RFC 3986)", "POST http://h/reports -> 202")
    ]


@pytest.mark.parametrize("value", ["/reports/r 1", "/reports/%zz", "/r\u00e9ports/1", ""])
def test_location_not_a_uri_reference(value: str) -> None:
    assert received("LOCATION-2", submitted(accepted(("location", value)))) == [repr(value)]


@pytest.mark.parametrize(
    ("request_url", "location"),
    [
        ("http://h/api/v1/reports", "../reports/7"),  # -> http://h/api/reports/7
        ("http://h/api/v1/reports", "reports/7"),
        ("http://h/api/v1/reports", "/reports/7"),
        ("http://h/reports", "HTTP://H:80/reports/7"),  # the same origin, spelled otherwise
        ("https://h/reports", "https://h:443/reports/7"),
        ("http://h:8080/reports", "//h:8080/reports/7"),
    ],
)
def test_location_resolved_against_the_request_uri_stays_on_origin(
    request_url: str, location: str
) -> None:
    assert (
        violations("LOCATION-3", submitted(accepted(("location", location), url=request_url))) == []
    )


@pytest.mark.parametrize(
    ("request_url", "location", "resolved", "origin"),
    [
        ("http://h/reports", "http://other.test/reports/7", "http://other.test/reports/7", "h:80"),
        ("http://h/reports", "//other.test/reports/7", "http://other.test/reports/7", "h:80"),
        ("http://h/reports", "http://h:8080/reports/7", "http://h:8080/reports/7", "h:80"),
        # a downgrade from https to http is another origin, and an insecure one
        ("https://h/reports", "http://h/reports/7", "http://h/reports/7", "h:443"),
    ],
)
def test_location_on_another_origin(
    request_url: str, location: str, resolved: str, origin: str
) -> None:
    sub = accepted(("location", location), url=request_url)
    assert violations("LOCATION-3", submitted(sub)) == [
        Violation(resolved, f"a URL on {origin}", f"POST {request_url} -> 202")
    ]


def test_location_with_a_fragment() -> None:
    sub = accepted(("location", "/reports/r1#status"))
    assert violations("LOCATION-3", submitted(sub)) == [
        Violation("/reports/r1#status", "no fragment", "POST http://h/reports -> 202")
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("location", "monitor"),
    [  # RFC 3986 §5.4.1, base http://a/b/c/d;p?q (the fragment is dropped before following)
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("g#s", "http://a/b/c/g"),
        (";x", "http://a/b/c/;x"),
        ("..", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../g", "http://a/g"),
        ("../../../g", "http://a/g"),  # abnormal: more .. than segments
        (" ../g ", "http://a/b/g"),  # OWS around the field value is no part of it
    ],
)
async def test_monitor_url_is_resolved_per_rfc_3986(location: str, monitor: str) -> None:
    target = Target(TargetConfig("http://a/"), httpx.MockTransport(lambda _: httpx.Response(500)))
    try:
        sub = accepted(("location", location), url="http://a/b/c/d;p?q")
        assert Scenarios(target, PROFILE).monitor_of(sub) == (monitor, None)
    finally:
        await target.aclose()


@pytest.mark.anyio
async def test_monitor_on_another_origin_is_not_followed() -> None:
    target = Target(TargetConfig("https://h/"), httpx.MockTransport(lambda _: httpx.Response(500)))
    try:
        sub = accepted(("location", "http://h/reports/7"), url="https://h/reports")
        assert Scenarios(target, PROFILE).monitor_of(sub) == (
            None,
            "Location http://h/reports/7 is on another origin",
        )
    finally:
        await target.aclose()


# -- RETRY ---------------------------------------------------------------------------------


def test_retry_after_on_two_field_lines() -> None:
    rec = recorded(poll(doc("PENDING"), ("retry-after", "1"), ("retry-after", "2")))
    assert violations("RETRY-1", rec) == [
        Violation("2 field lines: ['1', '2']", "one value", "GET http://h/reports/r1 -> 200")
    ]


@pytest.mark.parametrize("value", ["1.5", "-1", "/bar", "5s", "Sunday, 06-Nov-94 08:49:37 GMT"])
def test_retry_after_not_in_the_grammar(value: str) -> None:
    rec = recorded(poll(doc("PENDING"), ("retry-after", value), ("date", DATE)))
    assert violations("RETRY-1", rec) == [
        Violation(
            repr(value),
            "delay-seconds (1*DIGIT) or an IMF-fixdate",
            "GET http://h/reports/r1 -> 200",
        )
    ]
    assert violations("RETRY-4", rec) == []  # an invalid value is RETRY-1's alone


@pytest.mark.parametrize("value", ["0", "1", "600", "Thu, 01 Jan 2026 12:00:30 GMT", DATE])
def test_retry_after_sane(value: str) -> None:
    rec = recorded(poll(doc("PENDING"), ("retry-after", value), ("date", DATE)))
    assert violations("RETRY-1", rec) == []
    assert violations("RETRY-4", rec) == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [("601", "601"), ("86400", "86400"), ("9" * 30, "1000000000000000019884624838656")],
)
def test_retry_after_too_long(value: str, shown: str) -> None:
    rec = recorded(poll(doc("PENDING"), ("retry-after", value), ("date", DATE)))
    assert violations("RETRY-1", rec) == []
    assert violations("RETRY-4", rec) == [
        Violation(f"{value!r} ({shown} s)", "at most 600 s", "GET http://h/reports/r1 -> 200")
    ]


def test_retry_after_beyond_any_float_is_too_long_and_waits_are_finite_per_budget() -> None:
    value = "9" * 400  # float("9" * 400) is inf
    answer = poll(doc("PENDING"), ("retry-after", value), ("date", DATE))
    assert received("RETRY-4", recorded(answer)) == [f"{value!r} (inf s)"]
    assert advised_wait(answer) == float("inf")  # the runner caps it at the wait budget


def test_retry_after_http_date_in_the_past() -> None:
    value = "Thu, 01 Jan 2026 11:00:00 GMT"
    rec = recorded(poll(doc("PENDING"), ("retry-after", value), ("date", DATE)))
    assert violations("RETRY-1", rec) == []
    assert violations("RETRY-4", rec) == [
        Violation(
            f"{value!r}, 3600 s before Date",
            "a date in the future",
            "GET http://h/reports/r1 -> 200",
        )
    ]
    assert advised_wait(rec.exchanges[0]) == 0.0  # the runner polls at once


def test_retry_after_http_date_a_second_early_is_tolerated() -> None:
    one = "Thu, 01 Jan 2026 11:59:59 GMT"
    two = "Thu, 01 Jan 2026 11:59:58 GMT"
    assert violations("RETRY-4", recorded(poll({}, ("retry-after", one), ("date", DATE)))) == []
    assert received("RETRY-4", recorded(poll({}, ("retry-after", two), ("date", DATE)))) == [
        f"{two!r}, 2 s before Date"
    ]


@pytest.mark.parametrize(
    "date", ["Thu, 01 Jan 2026 12:00:00 -0000", "Thu, 01 Jan 2026 12:00:00", "not a date"]
)
def test_retry_after_http_date_with_a_date_field_lacking_a_zone(date: str) -> None:
    """A Date without a zone (or unreadable) must not crash the tester (naive - aware)."""
    value = "Thu, 01 Jan 2026 11:00:00 GMT"
    answer = poll(doc("PENDING"), ("retry-after", value), ("date", date))
    found = received("RETRY-4", recorded(answer))
    assert len(found) == 1
    assert found[0].startswith(f"{value!r}, ")
    assert advised_wait(answer) == 0.0


def test_retry_after_while_running_and_not_when_terminal() -> None:
    running = poll(doc("PROCESSING"))
    done = poll(doc("DONE"), ("retry-after", "1"))
    rec = followed(running, done, final="DONE")
    assert violations("RETRY-2", rec) == [
        Violation(
            "PROCESSING without Retry-After",
            "Retry-After while not terminal",
            "GET http://h/reports/r1 -> 200",
        )
    ]
    assert violations("RETRY-3", rec) == [
        Violation("DONE with Retry-After: 1", "no Retry-After", "GET http://h/reports/r1 -> 200")
    ]


# -- LIFECYCLE -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "shown"),
    [(50.5, "50.5"), (50.0, "50.0"), (True, "True"), ("50", "'50'"), (101, "101"), (-1, "-1")],
)
def test_progress_must_be_an_integer_percentage(progress: object, shown: str) -> None:
    rec = followed(poll(doc("PROCESSING", progress=progress), ("retry-after", "1")))
    assert violations("LIFECYCLE-3", rec) == [
        Violation(shown, "an integer from 0 to 100", "GET http://h/reports/r1 -> 200")
    ]


def test_progress_in_range_passes_and_may_be_absent() -> None:
    polls = [poll(doc("PENDING")), poll(doc("PROCESSING", progress=0))]
    polls += [poll(doc("PROCESSING", progress=100)), poll(doc("DONE", progress=100))]
    assert violations("LIFECYCLE-3", followed(*polls, final="DONE")) == []


def test_progress_never_decreases() -> None:
    rec = followed(poll(doc("PROCESSING", progress=60)), poll(doc("PROCESSING", progress=30)))
    assert violations("LIFECYCLE-3", rec) == [
        Violation("60 then 30", "progress that never decreases", "GET http://h/reports/r1 -> 200")
    ]


def test_timestamps_ordered_with_time_zones() -> None:
    done = doc("DONE", startedAt="2026-01-01T01:00:01+01:00", finishedAt=T.format(2))
    assert violations("LIFECYCLE-4", followed(poll(done), final="DONE")) == []


def test_timestamps_compared_as_instants_not_as_text() -> None:
    # 01:00:00+01:00 is 00:00:00Z: before createdAt 00:00:05Z, though it sorts after it as text
    running = doc("PROCESSING", createdAt=T.format(5), startedAt="2026-01-01T01:00:00+01:00")
    assert violations("LIFECYCLE-4", followed(poll(running))) == [
        Violation(
            "startedAt 2026-01-01T01:00:00+01:00 before createdAt 2026-01-01T00:00:05+00:00",
            "createdAt ≤ startedAt",
            "GET http://h/reports/r1 -> 200",
        )
    ]


@pytest.mark.parametrize("value", ["2026-01-01T00:00:01", "2026-01-01", "20260101T000001"])
def test_timestamps_without_a_time_zone(value: str) -> None:
    """RFC 3339 date-times carry an offset; a local time cannot be ordered against UTC."""
    running = doc("PROCESSING", startedAt=value)
    assert violations("LIFECYCLE-4", followed(poll(running))) == [
        Violation(f"startedAt={value!r}", "an RFC 3339 date-time", "GET http://h/reports/r1 -> 200")
    ]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "", 1767225600])
def test_timestamps_unparsable(value: object) -> None:
    running = doc("PROCESSING", startedAt=value)
    assert violations("LIFECYCLE-4", followed(poll(running))) == [
        Violation(f"startedAt={value!r}", "an RFC 3339 date-time", "GET http://h/reports/r1 -> 200")
    ]


def test_finished_before_terminal() -> None:
    running = doc("PROCESSING", startedAt=T.format(1), finishedAt=T.format(2))
    assert violations("LIFECYCLE-4", followed(poll(running))) == [
        Violation(
            "finishedAt while PROCESSING",
            "finishedAt only once terminal",
            "GET http://h/reports/r1 -> 200",
        )
    ]


def test_terminal_not_reached_within_the_budget() -> None:
    rec = followed(poll(doc("PENDING")), poll(doc("PENDING")))
    assert rec.main is not None
    assert violations("LIFECYCLE-5", rec) == []
    rec.main.timed_out = True
    assert violations("LIFECYCLE-5", rec) == [
        Violation(
            "still PENDING after 2 polls",
            "a terminal state within --max-wait",
            "GET http://h/reports/r1 -> 200",
        )
    ]


# -- MONITOR -------------------------------------------------------------------------------


def test_monitor_unanswered_names_the_timeout() -> None:
    hung = exchange("GET", MONITOR, None, error="timed out")
    rec = followed(poll(doc("PENDING")), hung)
    assert violations("MONITOR-1", rec) == [
        Violation(
            "no response (timed out)", "200", "GET http://h/reports/r1 -> no response (timed out)"
        )
    ]


def test_monitor_body_that_is_not_json() -> None:
    rec = followed(poll(b"\x00\xffnot json{"), poll(b'{"status": "PEN'))
    assert received("MONITOR-2", rec) == ["not a JSON object", "not a JSON object"]
    assert received("MONITOR-1", rec) == []  # a 200 is a 200


def test_monitor_body_truncated_is_not_read_as_json() -> None:
    body = orjson.dumps(doc("PENDING"))
    cut = Exchange("poll", "GET", MONITOR, (), 200, (), body, True)
    assert received("MONITOR-2", followed(cut)) == [f"a body over the {len(body)}-byte limit"]


# -- PROBLEM -------------------------------------------------------------------------------


def title(status: int, **members: object) -> dict[str, object]:
    return {"type": "/problems/not-found", "title": "Not found", "status": status, **members}


def test_problem_well_formed_passes() -> None:
    rec = recorded(problem(404, title(404, detail="No report r1.", instance="/reports/r1")))
    for rule in ("PROBLEM-1", "PROBLEM-2", "PROBLEM-3", "PROBLEM-9"):
        assert violations(rule, rec) == [], rule


def test_problem_status_as_a_string() -> None:
    rec = recorded(problem(404, title(404) | {"status": "404"}))
    assert violations("PROBLEM-2", rec) == [
        Violation("status='404'", "an integer", "GET http://h/reports/r1 -> 404")
    ]
    assert violations("PROBLEM-3", rec) == []  # one breach, reported once


@pytest.mark.parametrize(("status", "shown"), [(404.5, "404.5"), (True, "True"), (None, "None")])
def test_problem_status_of_another_type(status: object, shown: str) -> None:
    rec = recorded(problem(404, title(404) | {"status": status}))
    assert received("PROBLEM-2", rec) == [f"status={shown}"]


def test_problem_status_mismatched() -> None:
    rec = recorded(problem(404, title(400)))
    assert violations("PROBLEM-2", rec) == []
    assert violations("PROBLEM-3", rec) == [
        Violation("status member 400", "404", "GET http://h/reports/r1 -> 404")
    ]


def test_problem_members_of_the_wrong_type() -> None:
    body = title(404, detail=["x"], instance="not a uri") | {"type": 7, "title": None}
    assert received("PROBLEM-2", recorded(problem(404, body))) == [
        "type=7",
        "instance='not a uri'",
        "title=None",
        "detail=['x']",
    ]


def test_error_that_is_not_a_problem() -> None:
    rec = recorded(exchange("GET", MONITOR, 500, ("content-type", "text/html"), body=b"<h1>"))
    assert received("PROBLEM-1", rec) == ["text/html"]
    with pytest.raises(NotApplicable, match="PROBLEM-1 judges that"):
        violations("PROBLEM-2", rec)


JAVA_TRACE = (
    'java.lang.NullPointerException: Cannot invoke "Report.id()"\n'
    "\tat com.example.reports.ReportService.find(ReportService.java:42)\n"
    "\tat com.example.reports.ReportController.get$lambda$0(ReportController.java:17)\n"
)


def test_java_stack_trace_in_a_problem_detail() -> None:
    """Inside a JSON string the trace's tabs and quotes are escaped: it must still be seen."""
    rec = recorded(problem(500, title(500, detail=JAVA_TRACE)))
    assert violations("PROBLEM-9", rec) == [
        Violation(
            "a Java stack trace ('java.lang.NullPointerException') in the body",
            "no implementation internals",
            "GET http://h/reports/r1 -> 500",
        )
    ]


def test_java_stack_trace_in_a_plain_body() -> None:
    crash = 'Exception in thread "main" ' + JAVA_TRACE
    rec = recorded(
        exchange("GET", MONITOR, 500, ("content-type", "text/plain"), body=crash.encode())
    )
    assert received("PROBLEM-9", rec) == [
        "a Java stack trace ('Exception in thread \"main\"') in the body"
    ]


def test_python_traceback_lines_in_a_problem_member() -> None:
    body = title(500, errors=[{"trace": 'File "/srv/app/reports.py", line 7, in find'}])
    assert received("PROBLEM-9", recorded(problem(500, body))) == [
        "a Python traceback ('File \"/srv/app/reports.py\", line 7') and a server file path "
        "('/srv/app/reports.py') in the body"
    ]


def test_no_stack_trace_for_words_that_merely_look_alike() -> None:
    detail = "Look at the report (report.json) at 10:42; retry at will."
    assert violations("PROBLEM-9", recorded(problem(404, title(404, detail=detail)))) == []


def wrong_method(status: int, *allow: str, url: str = SUBMIT) -> Recording:
    probe = problem(status, title(status), *(("allow", a) for a in allow), url=url)
    probe = Exchange("wrong-method", "PATCH", url, (), probe.status, probe.headers, probe.body)
    return Recording(errors={"wrong-method": probe}, exchanges=[probe])


def test_405_with_allow_passes() -> None:
    assert violations("PROBLEM-6", wrong_method(405, "POST")) == []
    assert violations("PROBLEM-6", wrong_method(405, "GET, HEAD", "POST")) == []  # two lines


def test_405_whose_allow_lists_the_refused_method() -> None:
    assert violations("PROBLEM-6", wrong_method(405, "GET, PATCH, POST")) == [
        Violation(
            "Allow: GET, PATCH, POST",
            "an Allow listing POST and not PATCH",
            "PATCH http://h/reports -> 405",
        )
    ]


def test_405_without_allow_or_without_the_supported_method() -> None:
    assert received("PROBLEM-6", wrong_method(405)) == ["Allow: (none)"]
    assert received("PROBLEM-6", wrong_method(405, "GET")) == ["Allow: GET"]
    assert received("PROBLEM-6", wrong_method(400, "POST")) == ["status 400"]


# -- HTTP ----------------------------------------------------------------------------------


def cached(control: str, retry_after: str = "10") -> Recording:
    fields = [("retry-after", retry_after), ("date", DATE)]
    return followed(poll(doc("PROCESSING"), ("cache-control", control), *fields))


@pytest.mark.parametrize(
    "control",
    ["no-store", "no-cache", "max-age=5", "max-age=10", "private, max-age=0", 'max-age="5"'],
)
def test_cache_control_within_retry_after(control: str) -> None:
    assert violations("HTTP-1", cached(control)) == []


@pytest.mark.parametrize(
    "control", ["max-age=30", "public", "max-age=5, s-maxage=30", "s-maxage=3600"]
)
def test_cache_control_beyond_retry_after(control: str) -> None:
    assert violations("HTTP-1", cached(control)) == [
        Violation(
            f"Cache-Control: {control}",
            "no-store, no-cache, or max-age ≤ Retry-After",
            "GET http://h/reports/r1 -> 200",
        )
    ]


def test_cache_control_with_an_absurd_max_age_is_judged_not_an_error() -> None:
    control = "max-age=" + "9" * 5000  # int() refuses more than 4300 digits
    assert received("HTTP-1", cached(control)) == [f"Cache-Control: {control}"]


def test_cache_control_absent() -> None:
    rec = followed(poll(doc("PROCESSING"), ("retry-after", "10")))
    assert received("HTTP-1", rec) == ["Cache-Control: (none)"]


def test_date_missing() -> None:
    rec = recorded(poll(doc("DONE"), ("date", DATE)), poll(doc("DONE")), problem(500, title(500)))
    assert violations("HTTP-5", rec) == [
        Violation("no Date", "a Date field", "GET http://h/reports/r1 -> 200")
    ]


# -- nothing to judge ----------------------------------------------------------------------


def test_no_check_passes_an_empty_recording() -> None:
    judged = []
    for rule_id, check in CHECKS.items():
        try:
            list(check.run(Recording(), PROFILE))
        except NotJudged:
            continue
        judged.append(rule_id)
    assert judged == []


NA, NO = NotApplicable, NotObserved


@pytest.mark.parametrize(
    ("rule_id", "rec", "why", "reason"),
    [
        ("LOCATION-1", submitted(accepted(status=400)), NO, "no submission was accepted"),
        ("LOCATION-5", submitted(accepted(("location", "/r/1"))), NO, "fewer than two monitors"),
        ("RETRY-1", recorded(poll(doc("PENDING"))), NA, "no response carried Retry-After"),
        ("RETRY-3", followed(poll(doc("PENDING"))), NO, "no terminal state was read"),
        ("MONITOR-1", Recording(main=Trace(accepted())), NO, "no monitor could be followed"),
        ("MONITOR-2", followed(poll(b"", status=503)), NO, "no monitor read answered 200"),
        ("MONITOR-3", followed(poll({"id": "r1"})), NO, "no monitor read carried a state"),
        ("LIFECYCLE-2", followed(poll(doc("DONE")), final="DONE"), NO, "no terminal state"),
        ("LIFECYCLE-3", followed(poll(doc("PENDING"))), NO, "no monitor read carried .progress."),
        ("LIFECYCLE-4", followed(poll(b"", status=503)), NO, "no monitor read carried createdAt"),
        ("HTTP-1", followed(poll(doc("DONE"))), NO, "no non-terminal monitor read"),
        ("PROBLEM-1", recorded(poll(doc("DONE"))), NO, "no error response was recorded"),
        ("PROBLEM-4", recorded(problem(404, title(404))), NO, "the unknown-id probe was not sent"),
        ("RESULT-1", followed(poll(doc("ERROR")), final="ERROR"), NO, "did not reach DONE"),
        # Nothing judged is never a PASS (each of these passed with nothing judged once).
        ("LIFECYCLE-1", followed(poll(doc("PENDING")), poll(doc("PENDING"))), NO, "no change"),
        ("MONITOR-1", followed(poll(doc("PENDING"))), NO, "read more than once"),
        ("LOCATION-2", submitted(accepted()), NA, "no accepted submission carried Location"),
        ("LOCATION-3", submitted(accepted()), NA, "no accepted submission carried Location"),
        ("MONITOR-4", followed(poll(b"", status=200)), NO, "no monitor read carried a body"),
        ("LIFECYCLE-4", followed(poll({"id": "r1", "status": "DONE"})), NO, "carried createdAt"),
    ],
)
def test_nothing_to_judge_says_why(
    rule_id: str, rec: Recording, why: type[NotJudged], reason: str
) -> None:
    with pytest.raises(why, match=reason):
        violations(rule_id, rec)


# -- a cancel refused ------------------------------------------------------------------------


def cancelled(answer: int, *states: str) -> Recording:
    """A job cancelled at once, answered ``answer``, then read in ``states``."""
    submission = accepted(("location", "/reports/r1"))
    cancel = exchange("DELETE", MONITOR, answer, ("content-type", PROBLEM), label="cancel")
    polls = [poll(doc(state)) for state in states]
    final = states[-1] if states and states[-1] in PROFILE.terminal else None
    trace = Trace(submission, monitor=MONITOR, polls=polls, final_state=final)
    return Recording(cancel=cancel, cancelled=trace, exchanges=[submission, cancel, *polls])


def test_a_cancel_refused_while_the_job_runs_is_a_violation() -> None:
    """A server that refuses every cancel with 409 once passed: the refusal is judged against
    the states read after it."""
    assert violations("CANCEL-1", cancelled(409, "PROCESSING", "DONE")) == [
        Violation(
            "status 409 while the job was PROCESSING",
            "200 or 202",
            "DELETE http://h/reports/r1 -> 409",
        )
    ]


def test_a_cancel_refused_once_the_job_had_finished_is_not_observed() -> None:
    with pytest.raises(NotObserved, match="DONE at its first read after the cancel"):
        violations("CANCEL-1", cancelled(409, "DONE"))


def test_a_cancel_accepted_and_honoured() -> None:
    assert violations("CANCEL-1", cancelled(202, "PROCESSING", "CANCELLED")) == []
    assert received("CANCEL-1", cancelled(202, "PROCESSING", "DONE")) == ["final state DONE"]


# -- HEAD: no content (HTTP-2), GET's status and fields (HTTP-6) -----------------------------

GET_FIELDS = (("content-type", "application/json"), ("cache-control", "no-store"))
HEAD_WHERE = "HEAD http://h/reports/r1 -> {}"


def headed(head: Exchange, get: Exchange | None = None) -> Recording:
    """A followed job whose monitor was then read with HEAD and, to compare, with GET."""
    rec = followed(poll(doc("DONE")), final="DONE")
    rec.head = head
    rec.head_get = get or exchange("GET", MONITOR, 200, *GET_FIELDS, body=doc("DONE"))
    return rec


def head_read(status: int | None, *headers: tuple[str, str], body: bytes = b"") -> Exchange:
    error = "timed out" if status is None else None
    return exchange("HEAD", MONITOR, status, *headers, body=body, error=error)


def test_head_without_content_and_with_the_fields_of_get_passes() -> None:
    rec = headed(head_read(200, *GET_FIELDS, ("content-length", "120")))
    assert violations("HTTP-2", rec) == []
    assert violations("HTTP-6", rec) == []


def test_head_with_content() -> None:
    rec = headed(head_read(200, *GET_FIELDS, body=b"hello"))
    assert violations("HTTP-2", rec) == [
        Violation("5 bytes of content: b'hello'", "no content", HEAD_WHERE.format(200))
    ]
    assert violations("HTTP-6", rec) == []  # content is HTTP-2's alone


def test_head_with_content_beyond_what_the_tester_reads() -> None:
    cut = Exchange("head", "HEAD", MONITOR, (), 200, GET_FIELDS, b"x" * 64, True)
    assert received("HTTP-2", headed(cut)) == [f"more than 64 bytes of content: {b'x' * 32!r}"]


def test_head_with_another_status_than_get() -> None:
    """The fields of a 405 are another response's: the status alone is reported."""
    rec = headed(head_read(405, ("content-type", PROBLEM), ("allow", "GET, DELETE")))
    assert violations("HTTP-6", rec) == [
        Violation("HEAD 405, GET 200", "the same status", HEAD_WHERE.format(405))
    ]
    assert violations("HTTP-2", rec) == []


def test_head_with_other_fields_than_get() -> None:
    """Content-Type and Cache-Control are compared; Date and Content-Length may differ."""
    fields = (("content-type", "text/plain"), ("date", DATE), ("content-length", "0"))
    assert violations("HTTP-6", headed(head_read(200, *fields))) == [
        Violation(
            "content-type: 'text/plain' vs GET 'application/json'",
            "the same fields",
            HEAD_WHERE.format(200),
        ),
        Violation(
            "cache-control: None vs GET 'no-store'", "the same fields", HEAD_WHERE.format(200)
        ),
    ]


def test_head_unanswered() -> None:
    rec = headed(head_read(None))
    assert violations("HTTP-6", rec) == [
        Violation(
            "no response (timed out)",
            "status 200, as for GET",
            HEAD_WHERE.format("no response (timed out)"),
        )
    ]
    with pytest.raises(NotObserved, match=r"HEAD on the monitor got no response \(timed out\)"):
        violations("HTTP-2", rec)


@pytest.mark.parametrize("rule_id", ["HTTP-2", "HTTP-6"])
def test_head_not_sent_is_not_observed(rule_id: str) -> None:
    with pytest.raises(NotObserved, match="the monitor was not followed"):
        violations(rule_id, followed(poll(doc("DONE")), final="DONE"))


def test_head_without_a_get_to_compare_with_is_not_observed() -> None:
    rec = headed(head_read(200, *GET_FIELDS), exchange("GET", MONITOR, None, error="timed out"))
    with pytest.raises(NotObserved, match="the GET to compare with got no response"):
        violations("HTTP-6", rec)
    assert violations("HTTP-2", rec) == []  # content is judged without the GET


# -- the result's media type and a response's label (RESULT-4, HTTP-7) ---------------------

PAGE = b"<!DOCTYPE html>\n<html><body>Report</body></html>"
JSON_TYPE = ("content-type", "application/json")


def fetched(status: int | None, *headers: tuple[str, str], body: object = None) -> Recording:
    """A done job whose result was fetched and answered ``status``."""
    rec = followed(poll(doc("DONE")), final="DONE")
    url = f"{MONITOR}/download"
    rec.result = exchange("GET", url, status, *headers, body=body, label="result")
    return rec


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (200, [("content-type", "application/json; charset=utf-8")], {"rows": []}),
        (200, [("content-type", "Application/JSON")], {"rows": []}),
        (406, [("content-type", PROBLEM)], title(406)),  # refused, as the rule allows
    ],
)
def test_result_in_an_accepted_media_type_or_refused(
    status: int, headers: list[tuple[str, str]], body: object
) -> None:
    assert violations("RESULT-4", fetched(status, *headers, body=body)) == []


def test_result_in_a_media_type_nobody_asked_for() -> None:
    assert violations("RESULT-4", fetched(200, ("content-type", "text/html"), body=PAGE)) == [
        Violation(
            "text/html", "application/json, or a 406", "GET http://h/reports/r1/download -> 200"
        )
    ]
    assert received("RESULT-4", fetched(200, body=PAGE)) == ["no Content-Type"]


@pytest.mark.parametrize(
    ("rec", "why", "reason"),
    [
        (followed(poll(doc("ERROR")), final="ERROR"), NotObserved, "did not reach DONE"),
        (followed(poll(doc("DONE")), final="DONE"), NotApplicable, "no result was fetched"),
        (fetched(None), NotApplicable, "no result was fetched or answered"),
        (fetched(500, ("content-type", "text/html"), body=PAGE), NotApplicable, "status 500"),
        (fetched(200, JSON_TYPE), NotApplicable, "status 200, 0 bytes"),
    ],
)
def test_result_media_type_with_nothing_to_judge(
    rec: Recording, why: type[NotJudged], reason: str
) -> None:
    with pytest.raises(why, match=reason):
        violations("RESULT-4", rec)


def labelled(media_type: str, body: bytes, *, truncated: bool = False) -> Exchange:
    headers = (("content-type", media_type),) if media_type else ()
    return Exchange("poll", "GET", MONITOR, (), 200, headers, body, truncated)


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        (labelled("text/html", b'{"id": "r1"}'), "JSON labelled text/html"),
        (labelled("application/xml", b" [1, 2]"), "JSON labelled application/xml"),
        (labelled("application/atom+xml", b"{}"), "JSON labelled application/atom+xml"),
        (labelled("application/json", PAGE), "an HTML document labelled application/json"),
        (labelled("application/json", b"  <html lang=en>"), "an HTML document labelled "),
        # the page is known from its start, even past the tester's body limit
        (labelled("application/json", PAGE[:20], truncated=True), "an HTML document labelled"),
        (labelled("application/problem+json", b"Internal error"), "content that is not JSON"),
        (labelled("application/json", b'{"id": "r1",}'), "content that is not JSON"),
    ],
)
def test_a_label_its_content_belies(answer: Exchange, found: str) -> None:
    (got,) = received("HTTP-7", recorded(answer))
    assert found in got


@pytest.mark.parametrize(
    "answer",
    [
        labelled("application/json", b'{"id": "r1"}'),
        labelled("application/json; charset=utf-8", b"\xef\xbb\xbf[1]"),  # a byte order mark
        labelled("application/vnd.api+json", b'{"data": null}'),
        labelled("application/json", b"null"),
        labelled("text/html", PAGE),
        labelled("application/xhtml+xml", PAGE),
        # any text is plain text, any content octets; no label is not a wrong label
        labelled("text/plain", b'{"id": "r1"}'),
        labelled("application/octet-stream", b'{"id": "r1"}'),
        labelled("", b'{"id": "r1"}'),
        labelled("text/plain", PAGE),
        # JSON that may be what its label says: a CSV cell, a line of NDJSON, HTML text
        labelled("text/csv", b"[1,2]"),
        labelled("application/x-ndjson", b'{"id": "r1"}'),
        labelled("text/html", b'"done"'),
        # cut at the tester's limit: not parsed
        labelled("application/json", b'{"rows": [[1', truncated=True),
        labelled("text/html", b'{"rows": [[1]]}', truncated=True),
    ],
)
def test_a_label_that_may_be_true_is_not_blamed(answer: Exchange) -> None:
    assert violations("HTTP-7", recorded(answer)) == []


def test_head_content_is_not_judged_by_its_label() -> None:
    head_answer = exchange("HEAD", MONITOR, 200, JSON_TYPE, body=PAGE)
    with pytest.raises(NotApplicable, match="no response had content"):
        violations("HTTP-7", recorded(head_answer, poll(b"", status=204)))
    with pytest.raises(NotObserved, match="no response was recorded"):
        violations("HTTP-7", recorded(exchange("GET", MONITOR, None, error="timed out")))


# -- the result link, in either form -------------------------------------------------------


@pytest.mark.parametrize(
    ("result_link", "document", "reference"),
    [
        ("links.download.href", {"links": {"download": {"href": "/r/1/d"}}}, "/r/1/d"),
        ("links.download.href", {"links": {"download": "/r/1/d"}}, "/r/1/d"),
        ("reportURL", {"reportURL": "/r/1/d"}, "/r/1/d"),
        ("reportURL", {"reportURL": {"href": "/r/1/d", "type": "text/csv"}}, "/r/1/d"),
        ("links.download.href", {"links": {"download": {"url": "/r/1/d"}}}, None),
        ("links.download.href", {"links": {"download": 7}}, None),
        ("links.download.href", {"links": {}}, None),
        ("links.download.href", None, None),
        (None, {"links": {"download": "/r/1/d"}}, None),
    ],
)
def test_result_reference_reads_a_string_or_an_href(
    result_link: str | None, document: object, reference: str | None
) -> None:
    profile = dataclasses.replace(PROFILE, result_link=result_link)
    assert profile.result_reference(document) == reference


# -- time ----------------------------------------------------------------------------------


def timed(e: Exchange, at: float, seconds: float = 0.01) -> Exchange:
    return dataclasses.replace(e, at=at, seconds=seconds)


def test_an_initiating_response_that_keeps_the_client_waiting() -> None:
    slow = timed(accepted(("location", "/reports/r1")), 0.0, 2.5)
    assert violations("ACCEPT-4", submitted(slow)) == [
        Violation("answered after 2.50 s", "within 2 s", "POST http://h/reports -> 202", slow)
    ]
    assert violations("ACCEPT-4", submitted(timed(slow, 0.0, 0.2))) == []


def test_a_retry_after_of_zero_while_running_is_a_poll_loop() -> None:
    sub = timed(accepted(("location", "/reports/r1")), 0.0)
    reads = [
        timed(poll(doc("PROCESSING"), ("retry-after", "0")), 0.1),
        timed(poll(doc("DONE")), 0.5),
    ]
    rec = Recording(main=Trace(sub, monitor=MONITOR, polls=reads, final_state="DONE"))
    rec.main.submission = dataclasses.replace(sub, headers=(("retry-after", "0"),))
    assert received("RETRY-5", rec) == ["a poll loop over 0.5 s (mean Retry-After 0 s)"]
    plausible = Recording(main=Trace(sub, monitor=MONITOR, polls=reads[1:], final_state="DONE"))
    assert violations("RETRY-5", plausible) == []  # Retry-After: 1 over 0.5 s: one poll


def test_a_job_still_running_long_after_its_estimate() -> None:
    sub = accepted(("location", "/reports/r1"))
    reads = [
        timed(poll(doc("PROCESSING", estimatedTimeRemaining=1)), 0.0),
        timed(poll(doc("PROCESSING", estimatedTimeRemaining=1)), 1.5),
        timed(poll(doc("PROCESSING", estimatedTimeRemaining=1)), 3.5),
        timed(poll(doc("DONE")), 4.0),
    ]
    late = Recording(main=Trace(sub, monitor=MONITOR, polls=reads, final_state="DONE"))
    assert received("LIFECYCLE-6", late) == ["still PROCESSING 3.5 s after an estimate of 1 s"]
    in_time = Recording(
        main=Trace(sub, monitor=MONITOR, polls=[reads[0], reads[3]], final_state="DONE")
    )
    assert violations("LIFECYCLE-6", in_time) == []  # read late, but over by then
    with pytest.raises(NotApplicable, match="estimatedTimeRemaining"):
        violations("LIFECYCLE-6", followed(poll(doc("PROCESSING")), poll(doc("DONE"))))


def test_a_synchronous_answer_is_no_initiating_response() -> None:
    """A submission answered with its outcome after the work (a 200) is not held to ACCEPT-4:
    its time is the work's (pygeoapi answered the unknown-preference probe so)."""
    sync = timed(accepted(status=200), 0.0, 5.6)
    with pytest.raises(NotObserved, match="no submission was accepted"):
        violations("ACCEPT-4", submitted(sync))


def test_a_main_job_that_failed_says_how_it_ended() -> None:
    failed = doc("ERROR", error={"title": "Cannot run process without echo value"})
    with pytest.raises(NotObserved, match=r"it ended ERROR: .*without echo value"):
        violations("RESULT-1", followed(poll(failed), final="ERROR"))


# -- TENANCY: another principal, and none ----------------------------------------------------

RESULT = f"{MONITOR}/download"
NOT_FOUND = title(404)


def other_principal(**seen: Any) -> Recording:
    """A run given a second principal, B: the run's job r1, read and done, whose result the
    run downloaded; B's own job b1, read; B refused everything with 404, as for an id nobody
    created; no credentials, 401 with a challenge. ``seen`` replaces any of it."""
    challenge = ("www-authenticate", 'Bearer realm="h"')
    own = accepted(("location", "/reports/b1"))
    job = Trace(
        accepted(("location", "/reports/r1")),
        monitor=MONITOR,
        polls=[poll(doc("PENDING")), poll(doc("DONE"))],
        final_state="DONE",
    )
    listing = {"items": [doc("DONE")], "links": {"self": {"href": "/reports"}}}
    tenancy = Tenancy(
        ("authorization",),
        job=job,
        own=own,
        own_read=poll({"id": "b1", "status": "PENDING"}),
        reads=[problem(404, NOT_FOUND), problem(404, NOT_FOUND)],
        unknown=problem(404, NOT_FOUND, url=f"{BASE}/reports/nobody"),
        result=exchange("GET", RESULT, 200, body={"rows": [[1]]}),
        other_result=problem(404, NOT_FOUND, url=RESULT),
        cancel=exchange("DELETE", MONITOR, 404, ("content-type", PROBLEM), body=NOT_FOUND),
        cancelled=Trace(job.submission, monitor=MONITOR, polls=[poll(doc("PENDING"))]),
        listing=exchange("GET", SUBMIT, 200, body=listing),
        other_listing=exchange("GET", SUBMIT, 200, body={"items": [], "links": {}}),
        anonymous_submit=problem(401, title(401), challenge, url=SUBMIT),
        anonymous_read=problem(401, title(401), challenge),
    )
    return Recording(tenancy=dataclasses.replace(tenancy, **seen))


TENANCY = [f"TENANCY-{n}" for n in range(1, 7)]


@pytest.mark.parametrize("rule_id", TENANCY)
def test_tenancy_kept_passes(rule_id: str) -> None:
    assert violations(rule_id, other_principal()) == []


@pytest.mark.parametrize("rule_id", TENANCY)
@pytest.mark.parametrize("lacking", [{}, {"listing_path": None, "cancel_method": None}])
def test_tenancy_without_a_second_principal_is_not_run(
    rule_id: str, lacking: dict[str, None]
) -> None:
    """Not asked about tenancy, a rule is not run, also where the profile lacks what it would
    look at (a listing, a cancel): the run was not asked, before anything else."""
    profile = dataclasses.replace(PROFILE, **lacking)
    with pytest.raises(NotRun, match="give --other-header"):
        list(CHECKS[rule_id].run(followed(poll(doc("DONE")), final="DONE"), profile))


def test_tenancy_served_to_another_principal() -> None:
    read = poll(doc("DONE"))
    assert received("TENANCY-1", other_principal(reads=[problem(404, NOT_FOUND), read])) == [
        "status 200: another principal read the job"
    ]
    result = exchange("GET", RESULT, 200, body={"rows": [[1]]})
    assert received("TENANCY-2", other_principal(other_result=result)) == [
        "status 200, 14 bytes: another principal got the result"
    ]
    leaked = exchange("GET", SUBMIT, 200, body={"items": [doc("DONE")]})
    assert received("TENANCY-4", other_principal(other_listing=leaked)) == [
        "id r1: the run's job, in another's listing"
    ]


def test_a_redirect_to_the_result_is_the_result_handed_out() -> None:
    """The redirect the job's own principal gets to its result (a signed URL elsewhere) is the
    result, whoever gets it; one the owner does not get is neither a refusal nor the result."""
    redirect = exchange("GET", RESULT, 302, ("location", "https://store.example/r1?sig=x"))
    rec = other_principal(result=redirect, other_result=redirect)
    assert received("TENANCY-2", rec) == ["status 302, 0 bytes: another principal got the result"]
    with pytest.raises(NotObserved, match="got status 302: not refused"):
        violations("TENANCY-2", other_principal(other_result=redirect))


def test_a_redirect_of_the_monitor_is_no_read_and_no_refusal() -> None:
    elsewhere = exchange("GET", MONITOR, 302, ("location", "/login"))
    with pytest.raises(
        NotObserved, match=r"no read by the other principal was refused or served \(status 302\)"
    ):
        violations("TENANCY-1", other_principal(reads=[elsewhere]))


def test_another_principal_whose_credentials_do_not_work_proves_nothing() -> None:
    """A B refused everything because its token is wrong is not a tenancy kept."""
    refused = problem(401, title(401), url=SUBMIT)
    for rule_id in ("TENANCY-1", "TENANCY-2", "TENANCY-3", "TENANCY-4", "TENANCY-5"):
        with pytest.raises(NotObserved, match="credentials were not shown to work"):
            violations(rule_id, other_principal(own=refused, own_read=None))


def test_a_cancel_by_another_principal() -> None:
    accepted_cancel = exchange("DELETE", MONITOR, 200, body=doc("CANCELLED"))
    after = Trace(accepted(), monitor=MONITOR, polls=[poll(doc("CANCELLED"))])
    assert received("TENANCY-3", other_principal(cancel=accepted_cancel, cancelled=after)) == [
        "status 200: another principal's cancel, accepted",
        "CANCELLED after another principal's cancel",
    ]
    # refused, yet the job ended cancelled all the same
    assert received("TENANCY-3", other_principal(cancelled=after)) == [
        "CANCELLED after another principal's cancel"
    ]
    # refused, and the job first read over: it may have ended before the cancel came
    done = Trace(accepted(), monitor=MONITOR, polls=[poll(doc("DONE"))], final_state="DONE")
    with pytest.raises(NotObserved, match="DONE at its first read"):
        violations("TENANCY-3", other_principal(cancelled=done))


def test_a_listing_the_run_cannot_read_itself_proves_nothing() -> None:
    missing = problem(404, NOT_FOUND, url=SUBMIT)
    with pytest.raises(NotApplicable, match="no listing of jobs is there"):
        violations("TENANCY-4", other_principal(listing=missing))
    elsewhere = exchange("GET", SUBMIT, 200, body={"items": [{"id": "r0"}]})
    with pytest.raises(NotObserved, match="does not show its job"):
        violations("TENANCY-4", other_principal(listing=elsewhere))


def test_another_principals_job_answered_otherwise_than_an_unknown_id() -> None:
    forbidden = problem(403, {**title(403), "type": "/problems/forbidden"})
    assert received("TENANCY-5", other_principal(reads=[forbidden])) == [
        "status 403, type '/problems/forbidden'"
    ]
    other_type = problem(404, {**NOT_FOUND, "type": "/problems/not-yours"})
    assert received("TENANCY-5", other_principal(reads=[other_type])) == [
        "status 404, type '/problems/not-yours'"
    ]


def test_a_request_without_credentials() -> None:
    served = accepted(("location", "/reports/x"))
    bare = problem(401, title(401))
    hidden = problem(404, NOT_FOUND)
    rec = other_principal(anonymous_submit=served, anonymous_read=bare)
    assert received("TENANCY-6", rec) == [
        "status 202: served without credentials",
        "401 without WWW-Authenticate",
    ]
    assert received("TENANCY-6", other_principal(anonymous_read=hidden)) == ["status 404"]
    with pytest.raises(NotApplicable, match="no credentials to leave out"):
        violations("TENANCY-6", other_principal(credentials=()))


# -- WAIT: held reads (Prefer: wait) -----------------------------------------------------------


def held(
    state: str,
    at: float,
    seconds: float,
    *,
    asked: int = 2,
    applied: str | None = "asked",
    beside: tuple[Exchange, ...] = (),
) -> Hold:
    """A read asking to be held ``asked`` seconds, answered ``state`` after ``seconds``, saying
    it applied ``wait=applied`` (the seconds asked, unless given; None: it says nothing)."""
    said = str(asked) if applied == "asked" else applied
    fields = [("vary", "Prefer"), *([("preference-applied", f"wait={said}")] if said else [])]
    return Hold(timed(poll(doc(state), *fields), at, seconds), asked, list(beside))


def plain(state: str, at: float, seconds: float = 0.01) -> Exchange:
    return timed(poll(doc(state), ("vary", "Prefer")), at, seconds)


#: The job once over, read at once asking to be held.
ENDED = held("DONE", 3.0, 0.01, applied=None)


def waited(*holds: Hold, before: str = "PENDING", ended: Hold | None = ENDED) -> Recording:
    """A run's held reads of a job of their own: a plain read (``before``), ``holds``, the job
    followed plainly to its end (DONE), and ``ended``."""
    submission = accepted(("location", "/reports/r1"))
    job = Trace(submission, monitor=MONITOR, polls=[plain("DONE", 2.9)], final_state="DONE")
    return Recording(waits=Waits(submission, plain(before, 0.0), list(holds), job, ended))


#: Held while PENDING, answered early on the change to PROCESSING; then held briefly until DONE.
KEPT = (held("PROCESSING", 0.01, 0.3), held("DONE", 0.4, 0.5, asked=1))
WAIT = [f"WAIT-{n}" for n in range(1, 5)]


@pytest.mark.parametrize("rule_id", WAIT)
def test_held_reads_kept_pass(rule_id: str) -> None:
    assert violations(rule_id, waited(*KEPT)) == []


def test_a_hold_longer_than_asked() -> None:
    overran = held("PROCESSING", 0.4, 2.5, asked=1)
    assert violations("WAIT-1", waited(KEPT[0], overran)) == [
        Violation(
            "status 200 after 2.5 s",
            "an answer within 1 s (and 1.0 s for the network)",
            "GET http://h/reports/r1 -> 200",
        )
    ]
    unanswered = Hold(timed(exchange("GET", MONITOR, None, error="timed out"), 0.4, 10.0), 1)
    assert received("WAIT-1", waited(KEPT[0], unanswered)) == [
        "no response (timed out) after 10.0 s"
    ]


def test_a_slow_network_widens_the_bound() -> None:
    """The slowest plain read of the monitor is the network's time, when beyond 1 s."""
    slow = dataclasses.replace(KEPT[0], beside=[plain("PENDING", 0.2, 2.0)])
    assert violations("WAIT-1", waited(slow, held("PROCESSING", 2.4, 2.9, asked=1))) == []


def test_a_change_answered_late() -> None:
    """A plain read beside the hold found the job over; the hold went on to its end."""
    beside = (plain("PROCESSING", 0.25), plain("DONE", 0.5))
    late = held("DONE", 0.0, 2.0, beside=beside)
    assert violations("WAIT-2", waited(late)) == [
        Violation(
            "held 2.0 s; a plain read found the job DONE 0.5 s in",
            "an answer within 1.0 s of the change",
            "GET http://h/reports/r1 -> 200",
        )
    ]
    # a state other than the one a plain read beside it found first is a change too
    moved = held("DONE", 0.0, 2.0, beside=(plain("PENDING", 0.5), plain("PROCESSING", 0.6)))
    assert received("WAIT-2", waited(moved)) == [
        "held 2.0 s; a plain read found the job PROCESSING 0.6 s in"
    ]
    # answered within the slack of the change: kept
    prompt = held("DONE", 0.0, 1.5, beside=beside)
    assert violations("WAIT-2", waited(prompt)) == []


def test_no_change_seen_during_a_hold_judges_nothing() -> None:
    """The first plain read beside a hold may come before the held read reached the server:
    its state, other than the read before, is no change during the hold; nor is a new state
    answered when the time was up."""
    beside = (plain("PROCESSING", 0.5), plain("PROCESSING", 1.0), plain("PROCESSING", 1.5))
    course = held("PROCESSING", 0.0, 2.0, beside=beside)
    with pytest.raises(NotObserved, match="not seen to change while a read was held"):
        violations("WAIT-2", waited(course))
    assert violations("WAIT-1", waited(course)) == []


def test_a_server_ignoring_the_preference() -> None:
    """Answered at once, unchanged, without Preference-Applied: RFC 7240 allows it, a profile
    with held reads does not."""
    ignored = held("PENDING", 0.0, 0.01, applied=None)
    assert violations("WAIT-3", waited(ignored)) == [
        Violation(
            "no Preference-Applied wait (PENDING after 0.0 s)",
            "Preference-Applied: wait=M, 1 ≤ M ≤ 2",
            "GET http://h/reports/r1 -> 200",
        )
    ]
    assert violations("WAIT-1", waited(ignored)) == []
    with pytest.raises(NotObserved, match="not seen to change"):
        violations("WAIT-2", waited(ignored))


@pytest.mark.parametrize("said", ["3", "0", "soon", "-1"])
def test_preference_applied_that_is_not_the_seconds_allowed(said: str) -> None:
    assert received("WAIT-3", waited(held("PROCESSING", 0.0, 0.3, applied=said))) == [
        f"Preference-Applied: wait={said}"
    ]


def test_a_server_that_allowed_less_than_asked() -> None:
    """Its cap: held 1 s of the 2 asked, and said so; answered at its time up, unchanged."""
    capped = held("PENDING", 0.0, 1.0, applied="1")
    for rule_id in ("WAIT-1", "WAIT-3"):
        assert violations(rule_id, waited(capped)) == [], rule_id


def test_a_job_over_before_the_held_read_came_is_not_judged() -> None:
    """Without Preference-Applied and terminal: the job may have ended before the read
    arrived, and then there was nothing to hold."""
    over = held("DONE", 0.0, 0.01, applied=None)
    with pytest.raises(NotObserved, match="no held read found the job not yet over"):
        violations("WAIT-3", waited(over))


def test_a_job_over_held_all_the_same() -> None:
    slow = held("DONE", 3.0, 2.0, applied=None)
    assert violations("WAIT-4", waited(*KEPT, ended=slow)) == [
        Violation(
            "status 200 after 2.0 s, the job DONE",
            "an answer at once (within 1.0 s)",
            "GET http://h/reports/r1 -> 200",
        )
    ]


def test_held_reads_with_nothing_to_judge() -> None:
    with pytest.raises(NotObserved, match="no job was submitted for the held reads"):
        violations("WAIT-1", Recording())
    for rule_id in ("WAIT-1", "WAIT-2", "WAIT-3"):
        with pytest.raises(NotObserved, match="the job was DONE at the read before them"):
            violations(rule_id, waited(before="DONE"))
    rec = waited(*KEPT, ended=None)
    assert rec.waits is not None
    rec.waits.job = Trace(rec.waits.submission, monitor=MONITOR, timed_out=True)
    with pytest.raises(NotObserved, match="was not seen to end"):
        violations("WAIT-4", rec)


def test_vary_on_every_read_of_a_monitor_that_varies_with_prefer() -> None:
    """Once a read of a monitor says it applied a preference, every read of it is a response
    that varies with Prefer, whether or not its request carried Prefer (RFC 7240 §2)."""
    rec = waited(*KEPT)
    submission = accepted(("location", "/reports/r1"), ("vary", "Prefer"))
    rec.main = Trace(submission, monitor=MONITOR, polls=[poll(doc("DONE"))], final_state="DONE")
    assert received("HTTP-3", rec) == ["Vary: (none)"]  # the main job's read
    rec.main.polls = [poll(doc("DONE"), ("vary", "Accept, Prefer"))]
    assert violations("HTTP-3", rec) == []


# -- STREAM: the status as Server-Sent Events --------------------------------------------------


def event(state: str, progress: int, *, snapshot: str | None = "", kind: str = "status") -> Event:
    """A status event of job r1, its id ``STATE.progress`` unless given (None: no id)."""
    data = orjson.dumps(doc(state, progress=progress)).decode()
    return Event(kind, data, f"{state}.{progress}" if snapshot == "" else snapshot)


def stream_read(*, media: str = "text/event-stream", status: int = 200) -> Exchange:
    fields = [("content-type", media), ("cache-control", "no-store")]
    return exchange("GET", MONITOR, status, *fields, label="stream")


#: A job streamed from PENDING to DONE.
KEPT_STREAM = (event("PENDING", 0), event("PROCESSING", 50), event("DONE", 100))


def streamed(
    *events: Event,
    read: Exchange | None = None,
    ended: bool = True,
    polled: str = "DONE",
    resumed: tuple[Event, ...] | None = (),
) -> Recording:
    """A run's stream of a job of its own: the stream read (``events``), whether it ended, a
    plain read finding ``polled``, and the stream resumed with ``resumed`` (None: not resumed)."""
    submission = accepted(("location", "/reports/r1"))
    again = stream_read() if resumed is not None else None
    return Recording(
        streams=Streams(
            submission,
            read if read is not None else stream_read(),
            list(events),
            ended,
            poll(doc(polled)),
            again,
            list(resumed or ()),
        )
    )


STREAM = [f"STREAM-{n}" for n in range(1, 4)]


@pytest.mark.parametrize("rule_id", STREAM)
def test_a_stream_kept_passes(rule_id: str) -> None:
    assert violations(rule_id, streamed(*KEPT_STREAM)) == []


def test_sse_events_are_parsed_whatever_the_media_type() -> None:
    body = b': keep-alive\n\nid: PENDING.0\nevent: status\ndata: {"a":\ndata: 1}\n\ndata: x\n\n'
    read = exchange("GET", MONITOR, 200, ("content-type", "text/plain"), body=body)
    assert sse_events(read) == [
        Event("status", '{"a":\n1}', "PENDING.0"),
        Event("message", "x", "PENDING.0"),  # the last event id is kept (WHATWG HTML §9.2.6)
    ]
    assert sse_events(exchange("GET", MONITOR, None, error="timed out")) == []


def test_a_stream_not_served_as_an_event_stream() -> None:
    assert received("STREAM-1", streamed(*KEPT_STREAM, read=stream_read(media="text/plain"))) == [
        "200 text/plain"
    ]
    assert received("STREAM-1", streamed(read=stream_read(status=406))) == ["406 text/event-stream"]
    assert received("STREAM-1", streamed(event("PENDING", 0, kind="message"))) == [
        "no status event"
    ]
    garbled = Event("status", "PENDING", "PENDING.0")
    assert received("STREAM-1", streamed(garbled, *KEPT_STREAM)) == ["data: PENDING"]
    unanswered = exchange("GET", MONITOR, None, error="timed out")
    with pytest.raises(NotObserved, match="timed out"):
        violations("STREAM-1", streamed(read=unanswered))


def test_a_stream_out_of_order_or_not_ending() -> None:
    back = event("PENDING", 0, snapshot="PENDING.0b")
    assert received("STREAM-2", streamed(*KEPT_STREAM[:2], back, KEPT_STREAM[2])) == [
        "PROCESSING then PENDING",
        "progress 50 then 0",
    ]
    assert received("STREAM-2", streamed(*KEPT_STREAM[:2], polled="PROCESSING")) == [
        "the stream's last state PROCESSING"
    ]
    assert received("STREAM-2", streamed(*KEPT_STREAM, ended=False, resumed=None)) == [
        "the stream still open after DONE (0.0 s)"
    ]
    assert received("STREAM-2", streamed(*KEPT_STREAM, polled="ERROR")) == [
        "streamed DONE, then a plain read found ERROR"
    ]
    with pytest.raises(NotObserved, match="no status event with a state"):
        violations("STREAM-2", streamed(Event("status", "PENDING", "PENDING.0")))


def test_a_stream_the_tester_stopped_reading_is_not_blamed_for_its_end() -> None:
    """Still running with its job at the end of the wait budget, or cut at the body cap."""
    running = streamed(*KEPT_STREAM[:2], ended=False, polled="PROCESSING", resumed=None)
    with pytest.raises(NotObserved, match="PROCESSING at the end of the wait budget"):
        violations("STREAM-2", running)
    back = event("PENDING", 0, snapshot="PENDING.0b")
    assert running.streams is not None
    running.streams.events.append(back)
    assert received("STREAM-2", running) == ["PROCESSING then PENDING", "progress 50 then 0"]
    cut = dataclasses.replace(stream_read(), truncated=True)
    with pytest.raises(NotObserved, match="body cap"):
        violations("STREAM-2", streamed(*KEPT_STREAM, read=cut, ended=False))


def test_a_stream_without_ids_or_resumed_with_a_repeat() -> None:
    unnamed = event("DONE", 100, snapshot="PROCESSING.50")  # no id: the one before is kept
    assert received("STREAM-3", streamed(*KEPT_STREAM[:2], unnamed)) == [
        "an event without an id of its own (after id PROCESSING.50)"
    ]
    assert received("STREAM-3", streamed(event("PENDING", 0, snapshot=None))) == [
        "an event without an id of its own"
    ]
    repeated = streamed(*KEPT_STREAM, resumed=(KEPT_STREAM[2],))
    assert received("STREAM-3", repeated) == ["the snapshot DONE.100 sent again"]
    with pytest.raises(NotObserved, match="it did not end"):
        violations("STREAM-3", streamed(*KEPT_STREAM, ended=False, resumed=None))
