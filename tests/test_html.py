"""The HTML report (``lrokit check --html``): the timeline's geometry on a synthetic trace and
the escaping of what servers write, without a browser; then real runs against the
fauxserver, opened in headless Chromium (skipped without it), counted element by element."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest

import lrokit.runner.html as html_report
from lrokit.checks import Violation
from lrokit.cli import main
from lrokit.model.exchange import Exchange
from lrokit.model.profile import load_profile
from lrokit.model.recording import Recording, Trace
from lrokit.rules import RULES
from lrokit.runner.html import Scale, course_of, scale_of, timeline, to_html
from lrokit.runner.run import Report
from lrokit.runner.verdicts import Outcome, Verdict
from tests.fauxservers.server import FauxServer
from tests.live import ThreadServer

CANONICAL = load_profile("canonical")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _read(at: float, state: str, progress: int, retry_after: str | None, **extra: str) -> Exchange:
    document = {"id": "1", "status": state, "progress": progress, **extra}
    headers = [("content-type", "application/json")]
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    return Exchange(
        "poll", "GET", "http://t.test/reports/1", (), 200, tuple(headers),
        orjson.dumps(document), at=at, seconds=0.1,
    )  # fmt: skip


def _trace() -> Trace:
    """A job submitted at 0, polled at 0.2, 1.3 and 3.4 s: PENDING, PROCESSING, then DONE
    (finished 2.5 s after it was created); each answer advised 1 s."""
    submission = Exchange("submit", "POST", "http://t.test/reports", (), 202, at=0.0, seconds=0.1)
    times = {"createdAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:02.5Z"}
    polls = [
        _read(0.2, "PENDING", 0, "1"),
        _read(1.3, "PROCESSING", 50, "1"),
        _read(3.4, "DONE", 100, None, **times),
    ]
    return Trace(submission, "http://t.test/reports/1", polls=polls, final_state="DONE")


class Dom(HTMLParser):
    """What the tests count in a page: verdict rows, timelines and the poll ticks in each,
    the filter's count of rows shown, and the script elements."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.rows = 0
        self.hidden: Counter[str] = Counter()  # rows the filters hide, by outcome
        self.timelines: list[str] = []
        self.ticks: list[int] = []
        self.scripts = 0
        self.shown: str | None = None
        self._in_shown = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = (named.get("class") or "").split()
        if tag == "tr" and "verdict" in classes:
            self.rows += 1
            if "hidden" in named:
                self.hidden[named.get("data-outcome") or ""] += 1
        elif tag == "svg" and "timeline" in classes:
            self.timelines.append(named.get("data-job") or "")
            self.ticks.append(0)
        elif tag == "line" and "poll" in classes:
            self.ticks[-1] += 1
        elif tag == "script":
            self.scripts += 1
        self._in_shown = tag == "span" and "shown" in classes

    def handle_data(self, data: str) -> None:
        if self._in_shown:
            self.shown, self._in_shown = data, False


# -- without a browser -------------------------------------------------------------------------


def test_a_course_reads_states_progress_advice_and_when_the_job_finished() -> None:
    course = course_of(_trace(), CANONICAL, time_scale=0.5)
    assert course is not None
    assert [(r.state, r.progress, r.advised) for r in course.reads] == [
        ("PENDING", 0.0, 1.0),
        ("PROCESSING", 50.0, 1.0),
        ("DONE", 100.0, None),
    ]
    # finishedAt - createdAt, placed at the submission: 2.5 s; noticed at the last answer.
    assert course.finished == pytest.approx(2.5)
    assert course.noticed == pytest.approx(3.5)
    assert course.unchanged() == 0


def test_a_finished_time_outside_what_the_polls_saw_is_kept_within_it() -> None:
    trace = _trace()
    late = {"createdAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T01:00:00Z"}
    trace.polls[-1] = _read(3.4, "DONE", 100, None, **late)
    course = course_of(trace, CANONICAL)
    assert course is not None
    assert course.finished == pytest.approx(3.5)  # not after it was noticed
    trace.polls[-1] = _read(3.4, "DONE", 100, None)  # no timestamps: the first terminal read
    course = course_of(trace, CANONICAL)
    assert course is not None
    assert (course.finished, course.finished_from) == (pytest.approx(3.5), "first terminal read")


def test_the_timeline_draws_each_poll_the_advice_and_the_waits_to_scale() -> None:
    course = course_of(_trace(), CANONICAL, time_scale=0.5)
    assert course is not None
    scale = scale_of([course])
    assert scale.span == pytest.approx(3.5 * 1.04)
    svg = timeline(course, scale, CANONICAL)
    ticks = re.findall(r'<line class="poll (changed|same)" x1="([\d.]+)"', svg)
    assert [float(x) for _, x in ticks] == [
        pytest.approx(scale.x(at), abs=0.05) for at in (0.2, 1.3, 3.4)
    ]
    # Advice: from each answer (0.3, 1.4 s) for 1 s at --time-scale 0.5; none after the last.
    brackets = re.findall(r'<path class="advice" d="M([\d.]+) \d+ V\d+ H([\d.]+)', svg)
    assert [(float(a), float(b)) for a, b in brackets] == [
        (pytest.approx(scale.x(0.3), abs=0.05), pytest.approx(scale.x(0.8), abs=0.05)),
        (pytest.approx(scale.x(1.4), abs=0.05), pytest.approx(scale.x(1.9), abs=0.05)),
    ]
    # Waited: from each answer to the next poll.
    waits = re.findall(r'<rect class="waited" x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)
    assert [float(w) for _, w in waits] == [
        pytest.approx(scale.x(1.3) - scale.x(0.3), abs=0.1),
        pytest.approx(scale.x(3.4) - scale.x(1.4), abs=0.1),
    ]
    assert svg.count('class="band"') == 3
    finished = re.search(r'class="finished" x1="([\d.]+)"', svg)
    assert finished is not None
    assert finished[1] == f"{scale.x(2.5):.1f}"
    assert "finished → noticed: 1.00 s" in svg


def test_a_scale_has_a_few_round_ticks() -> None:
    assert Scale(3.64).ticks() == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]
    assert len(Scale(95).ticks()) == 10


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _hostile_report() -> Report:
    """A report whose every server-written text is markup."""
    trace = _trace()
    trace.submission = Exchange(HOSTILE, "POST", f"http://t.test/{HOSTILE}", (), 202)
    trace.polls[0] = _read(0.2, HOSTILE, 0, HOSTILE)
    cited = Exchange(
        "poll", "GET", "http://t.test/r", (), 200,
        (("set-cookie", "session=s3cret"), ("authorization", "Bearer t0ken"), ("x-note", HOSTILE)),
        HOSTILE.encode(),
    )  # fmt: skip
    broken = Verdict(RULES["RETRY-3"], Outcome.FAIL, [Violation(HOSTILE, HOSTILE, HOSTILE, cited)])
    report = Report(f"http://t.test/{HOSTILE}", "canonical", [broken], notes=[HOSTILE])
    report.recording, report.dialect = Recording(main=trace), CANONICAL
    return report


def test_everything_a_server_writes_is_escaped_and_secrets_are_redacted() -> None:
    page = to_html(_hostile_report(), strict=False).decode()
    assert "<img" not in page
    assert 'alert("x")</script>' not in page
    assert Dom(page).scripts == 1  # the page's own filter script, nothing else
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "s3cret" not in page
    assert "t0ken" not in page
    assert "set-cookie: [redacted]" in page


def test_a_report_without_a_followed_job_says_so() -> None:
    report = Report("http://t.test", "canonical", [Verdict(RULES["ACCEPT-1"], Outcome.PASS)])
    dom = Dom(to_html([report], strict=True).decode())
    assert (dom.rows, dom.timelines) == (1, [])


# -- real runs, in Chromium --------------------------------------------------------------------


def _chromium(page: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``page``, offline, its console on standard error."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={scratch}",
        "--enable-logging=stderr", "--v=0", *args, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


def _console(stderr: str, page: Path) -> list[str]:
    """The console messages and uncaught errors of ``page`` (the page itself logs nothing)."""
    return [
        line
        for line in stderr.splitlines()
        if ("CONSOLE" in line and page.as_uri() in line) or "Uncaught" in line
    ]


def _check(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    """``lrokit check URL --html`` in this process; the reports the page was made of."""
    made: list[Sequence[Report]] = []

    def spy(reports: Sequence[Report], strict: bool) -> bytes:
        made.append(reports)
        return to_html(reports, strict)

    monkeypatch.setattr(html_report, "to_html", spy)
    page = tmp_path / f"{name}.html"
    code = main(["check", url, "--time-scale", "0.1", "--html", str(page)])
    return code, page, list(made[0])


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed: apt-get install chromium"
)
@pytest.mark.parametrize(("breaks", "code"), [(None, 0), ("RETRY-3", 1)])
def test_a_real_run_renders_in_chromium_with_a_row_per_verdict_and_a_tick_per_poll(
    breaks: str | None, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ThreadServer(FauxServer(breaks=breaks)) as url:
        got, page, reports = _check(url, tmp_path, monkeypatch, breaks or "conformant")
    assert got == code
    (report,) = reports
    assert report.recording is not None
    followed = [t for t in report.recording.traces() if t.polls]
    assert len(page.read_bytes()) < 200_000

    dumped = _chromium(page, tmp_path / "chromium", "--dump-dom")
    assert _console(dumped.stderr, page) == []
    dom = Dom(dumped.stdout)
    assert dom.rows == len(report.verdicts)
    assert dom.shown == str(len(report.verdicts))  # the filter script ran, every box ticked
    assert dom.timelines == [t.submission.label for t in followed]
    assert dom.ticks == [len(t.polls) for t in followed]
    if breaks is not None:
        assert f'id="v0-{breaks}"' in dumped.stdout

    # The filters: without PASS ticked, the script hides the passing rows and no other.
    unticked = tmp_path / "unticked.html"
    ticked = 'name="outcome" value="PASS" checked'
    unticked.write_text(page.read_text().replace(ticked, 'name="outcome" value="PASS"'))
    filtered = Dom(_chromium(unticked, tmp_path / "chromium", "--dump-dom").stdout)
    passed = sum(v.outcome is Outcome.PASS for v in report.verdicts)
    assert filtered.hidden == Counter({"PASS": passed})
    assert filtered.shown == str(len(report.verdicts) - passed)

    shot = tmp_path / "report.png"
    taken = _chromium(
        page, tmp_path / "chromium", f"--screenshot={shot}", "--window-size=1280,2000"
    )
    assert _console(taken.stderr, page) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
