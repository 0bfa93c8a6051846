"""The HTML report (``lrokit check --html FILE``): one page that opens without a network.

It holds the verdict table (filtered by outcome and family with a few lines of inline
script), each breach with the exchange it cites (redacted as the JSON report redacts it:
:func:`~lrokit.runner.reporters.exchange_json`), and a picture of each followed job's course
in time, drawn here as SVG: the job's state as coloured bands, each poll as a tick, the
Retry-After the server advised (a bracket from the answer) against the time the client waited
until its next poll, the progress as a line, and when the job finished against when the
client noticed. Everything the server or the user wrote is escaped (:func:`esc`).
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from lrokit import __version__
from lrokit.model.exchange import Exchange, response_date
from lrokit.model.headers import date_time, retry_after_delay
from lrokit.model.profile import Profile, dig
from lrokit.model.recording import Trace
from lrokit.rules import FAMILIES
from lrokit.runner.reporters import exchange_json
from lrokit.runner.run import Report
from lrokit.runner.verdicts import Outcome, Verdict, worst

#: Breaches of one rule the page shows, each with its exchange.
MAX_VIOLATIONS_SHOWN = 10


def esc(value: object) -> str:
    """``value`` as text safe in HTML and SVG, in content and in quoted attributes."""
    return html.escape(str(value), quote=True)


# -- a job's course in time ------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One poll of a job's monitor: when it was sent and answered (seconds since the run
    started), the state and progress it showed, and the wait its Retry-After advised."""

    at: float
    end: float
    state: str | None
    progress: float | None
    advised: float | None  # seconds, as advised (before --time-scale); None: no valid advice
    advice: str | None  # the Retry-After as sent


@dataclass(frozen=True)
class Course:
    """A followed job, as the timeline draws it."""

    job: str  # what the run submitted it for: "submit", "submit-failing" …
    submitted: float
    reads: tuple[Read, ...]
    terminal: bool  # the last read showed a terminal state
    finished: float | None  # when the job ended, as far as the run can tell
    finished_from: str  # how that was told: the status document's field, or the first terminal read
    time_scale: float  # how the run scaled the advised waits

    @property
    def noticed(self) -> float | None:
        """When the client learnt the job was over: the end of its first terminal read."""
        return self.reads[-1].end if self.terminal and self.reads else None

    @property
    def end(self) -> float:
        """The last moment the picture has to show."""
        ends = [self.submitted, *(r.end for r in self.reads), self.finished or 0.0]
        return max(ends)

    def unchanged(self) -> int:
        """Polls that showed the same state and progress as the poll before them."""
        seen = [(r.state, r.progress) for r in self.reads]
        return sum(1 for before, now in pairwise(seen) if before == now)


def _progress(exchange: Exchange, profile: Profile) -> float | None:
    value = dig(exchange.json(), profile.progress_field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(min(100.0, max(0.0, value)))


def _read(exchange: Exchange, profile: Profile) -> Read:
    advice = exchange.header("retry-after")
    advised = retry_after_delay(advice, response_date(exchange)) if advice is not None else None
    return Read(
        exchange.at,
        exchange.at + exchange.seconds,
        profile.state(exchange.json(), exchange.status),
        _progress(exchange, profile),
        None if advised is None else max(0.0, advised),
        advice,
    )


def _finished(trace: Trace, profile: Profile, reads: Sequence[Read]) -> tuple[float, str]:
    """When the job ended: the status document's finished time, measured from its created
    time and placed at the submission (one clock, the server's, for both), within what the
    polls saw (after the last read that found it running, by its first terminal read); else
    its first terminal read."""
    last = trace.polls[-1]
    document = last.json()
    created = date_time(dig(document, profile.created_field))
    finished = date_time(dig(document, profile.finished_field))
    noticed = reads[-1].end
    if created is None or finished is None:
        return noticed, "first terminal read"
    running_seen = reads[-2].at if len(reads) > 1 else trace.submission.at
    told = trace.submission.at + (finished - created).total_seconds()
    how = f"{profile.finished_field} - {profile.created_field}"
    return min(noticed, max(running_seen, told)), how


def course_of(trace: Trace, profile: Profile, time_scale: float = 1.0) -> Course | None:
    """The course of a followed job; None when it was never read."""
    if not trace.polls:
        return None
    reads = tuple(_read(poll, profile) for poll in trace.polls)
    terminal = trace.final_state is not None and reads[-1].state in profile.terminal
    finished, told = _finished(trace, profile, reads) if terminal else (None, "not finished")
    return Course(
        trace.submission.label, trace.submission.at, reads, terminal, finished, told, time_scale
    )


def courses(report: Report) -> list[Course]:
    """The courses of every job the report's run followed."""
    rec, profile = report.recording, report.dialect
    if rec is None or profile is None:
        return []
    found = (course_of(trace, profile, rec.time_scale) for trace in rec.traces())
    return [course for course in found if course is not None]


# -- the timeline, drawn ---------------------------------------------------------------------

WIDTH, LEFT, RIGHT = 980, 92, 24
BAND_Y, BAND_H = 24, 20
PROGRESS_TOP, PROGRESS_BOTTOM = 54, 124
ADVICE_Y, WAITED_Y = 138, 152
AXIS_Y, HEIGHT = 172, 196
#: Fills of the states, in the order a profile names them (terminal ones have their own).
PALETTE = ("#6c8ebf", "#d6a400", "#9673a6", "#4ba3a3", "#b5739d", "#7f8c3a")
SUCCESS, FAILURE, CANCELLED, UNKNOWN = "#3a9d4a", "#c8413b", "#8c8c8c", "#dddddd"
NICE_STEPS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True)
class Scale:
    """Seconds since the run started, to x in the picture."""

    span: float

    def x(self, seconds: float) -> float:
        """Where ``seconds`` falls across the plot."""
        return LEFT + (WIDTH - LEFT - RIGHT) * max(0.0, seconds) / self.span

    def ticks(self) -> list[float]:
        """The axis's marks: round seconds, ten at most."""
        step = next((s for s in NICE_STEPS if self.span / s <= 10), NICE_STEPS[-1])
        return [i * step for i in range(int(self.span / step) + 1)]


def scale_of(found: Iterable[Course]) -> Scale:
    """One scale for every job of a run, so that their pictures compare."""
    end = max((course.end for course in found), default=0.0)
    return Scale(max(end * 1.04, 0.5))


def state_fill(state: str | None, profile: Profile | None) -> str:
    """A state's colour: the outcome's for terminal states, else the profile's order's."""
    if state is None:
        return UNKNOWN
    if profile is not None:
        outcomes = {profile.success: SUCCESS, profile.failure: FAILURE}
        outcomes[profile.cancelled] = CANCELLED
        if state in outcomes:
            return outcomes[state]
        if state in profile.states:
            return PALETTE[profile.states.index(state) % len(PALETTE)]
    return PALETTE[sum(map(ord, state)) % len(PALETTE)]


def _f(value: float) -> str:
    """A coordinate, to a tenth of a pixel."""
    return f"{value:.1f}"


def _title(text: str) -> str:
    """An SVG element's tooltip."""
    return f"<title>{esc(text)}</title>"


def _bands(course: Course, scale: Scale, profile: Profile | None) -> list[str]:
    """The state polls showed, from the first poll that showed it to the first that showed
    another (the last a little past its poll's answer)."""
    out = []
    reads = course.reads
    starts = [i for i, r in enumerate(reads) if i == 0 or r.state != reads[i - 1].state]
    for i, j in zip(starts, [*starts[1:], len(reads)], strict=True):
        read = reads[i]
        until = reads[-1].end + scale.span * 0.03 if j == len(reads) else reads[j].at
        x0, x1 = scale.x(read.at), scale.x(until)
        state = read.state or "no state"
        out.append(
            f'<rect class="band" x="{_f(x0)}" y="{BAND_Y}" width="{_f(max(x1 - x0, 1))}" '
            f'height="{BAND_H}" fill="{state_fill(read.state, profile)}">'
            f"{_title(f'{state}, seen by the poll at {read.at:.2f} s')}</rect>"
        )
        if read.state and x1 - x0 > 7 * len(read.state) + 8:
            out.append(
                f'<text class="band-label" x="{_f(x0 + 4)}" y="{BAND_Y + 14}">'
                f"{esc(read.state)}</text>"
            )
    return out


def _polls(course: Course, scale: Scale) -> list[str]:
    """A tick per poll, from the bands down to the waits; a poll that showed nothing new is
    drawn paler (a client that polls often draws many of them)."""
    out = []
    before: tuple[str | None, float | None] | None = None
    for n, read in enumerate(course.reads, 1):
        now = (read.state, read.progress)
        changed = "changed" if now != before else "same"
        before = now
        x = _f(scale.x(read.at))
        shown = f"{read.progress:g}" if read.progress is not None else "-"
        said = f"poll {n} at {read.at:.2f} s: {read.state or 'no state'}, progress {shown}"
        out.append(
            f'<line class="poll {changed}" x1="{x}" y1="{BAND_Y - 4}" x2="{x}" '
            f'y2="{WAITED_Y + 8}">{_title(said)}</line>'
        )
    return out


def _progress_line(course: Course, scale: Scale) -> list[str]:
    """The progress each poll showed, 0 at the box's foot and 100 at its top."""
    height = PROGRESS_BOTTOM - PROGRESS_TOP
    points = [
        (_f(scale.x(r.end)), _f(PROGRESS_BOTTOM - height * r.progress / 100))
        for r in course.reads
        if r.progress is not None
    ]
    if not points:
        return [
            f'<text class="muted" x="{LEFT + 6}" y="{PROGRESS_TOP + 30}">'
            "no progress in the status documents</text>"
        ]
    line = f'<polyline class="progress" points="{" ".join(f"{x},{y}" for x, y in points)}"/>'
    dots = [f'<circle class="progress-dot" cx="{x}" cy="{y}" r="2.5"/>' for x, y in points]
    return [line, *dots]


def _advice(read: Read, scaled: float, time_scale: float, scale: Scale) -> str:
    """A bracket from a poll's answer to the end of the wait its Retry-After advised."""
    x0 = scale.x(read.end)
    x1 = max(scale.x(read.end + scaled), x0 + 1)
    at_scale = f" at --time-scale {time_scale:g}" if time_scale != 1 else ""
    said = f"Retry-After: {read.advice} (a wait of {scaled:.2f} s{at_scale})"
    return (
        f'<path class="advice" d="M{_f(x0)} {ADVICE_Y + 5} V{ADVICE_Y} H{_f(x1)} '
        f'V{ADVICE_Y + 5}">{_title(said)}</path>'
    )


def _waits(course: Course, scale: Scale) -> list[str]:
    """After each answer that was not the last: the advised wait as a bracket (scaled as the
    run scaled it) and, below, the time the client waited until its next poll."""
    out = []
    reads = course.reads
    for read, following in pairwise(reads):
        x0 = scale.x(read.end)
        waited = following.at - read.end
        if read.advised is not None:
            out.append(_advice(read, read.advised * course.time_scale, course.time_scale, scale))
        else:
            advice = f"invalid Retry-After {read.advice}" if read.advice else "no Retry-After"
            out.append(
                f'<circle class="no-advice" cx="{_f(x0)}" cy="{ADVICE_Y + 2}" r="3">'
                f"{_title(advice)}</circle>"
            )
        width = max(scale.x(following.at) - x0, 1)
        out.append(
            f'<rect class="waited" x="{_f(x0)}" y="{WAITED_Y}" width="{_f(width)}" height="6">'
            f"{_title(f'waited {waited:.2f} s before the next poll')}</rect>"
        )
    return out


def _moments(course: Course, scale: Scale) -> list[str]:
    """When the job finished and when the client noticed, and the time between."""
    if course.finished is None or course.noticed is None:
        return []
    xf, xn = scale.x(course.finished), scale.x(course.noticed)
    lag = course.noticed - course.finished
    # The words right of the red line, or left of the green one where the picture ends.
    words = f"finished → noticed: {lag:.2f} s"
    right = xn + 4 + 7 * len(words) < WIDTH
    where = f'x="{_f(xn + 4)}"' if right else f'x="{_f(xf - 4)}" text-anchor="end"'
    return [
        f'<line class="finished" x1="{_f(xf)}" y1="10" x2="{_f(xf)}" y2="{PROGRESS_BOTTOM}">'
        f"{_title(f'finished at {course.finished:.2f} s ({course.finished_from})')}</line>",
        f'<line class="noticed" x1="{_f(xn)}" y1="10" x2="{_f(xn)}" y2="{PROGRESS_BOTTOM}">'
        f"{_title(f'noticed at {course.noticed:.2f} s (the first terminal read)')}</line>",
        f'<path class="lag" d="M{_f(xf)} 12 H{_f(max(xn, xf + 1))}"/>',
        f'<text class="moment" {where} y="14">{words}</text>',
    ]


def _submitted(course: Course, scale: Scale) -> str:
    """A mark where the job was submitted."""
    x = _f(scale.x(course.submitted))
    said = f"{course.job} submitted at {course.submitted:.2f} s"
    return (
        f'<path class="submitted" d="M{x} {BAND_Y} l-5 -8 h10 z">{_title(said)}</path>'
        f'<line class="submitted" x1="{x}" y1="{BAND_Y}" x2="{x}" y2="{BAND_Y + BAND_H}"/>'
    )


def _frame(scale: Scale) -> list[str]:
    """Row labels, the progress box and the time axis."""
    out = [
        f'<text class="row" x="4" y="{BAND_Y + 14}">state</text>',
        f'<text class="row" x="4" y="{PROGRESS_TOP + 8}">progress 100</text>',
        f'<text class="row" x="4" y="{PROGRESS_BOTTOM}">0</text>',
        f'<text class="row" x="4" y="{ADVICE_Y + 6}">advised</text>',
        f'<text class="row" x="4" y="{WAITED_Y + 7}">waited</text>',
        f'<rect class="box" x="{LEFT}" y="{PROGRESS_TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{PROGRESS_BOTTOM - PROGRESS_TOP}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}"/>',
    ]
    for tick in scale.ticks():
        x = _f(scale.x(tick))
        out.append(f'<line class="axis" x1="{x}" y1="{AXIS_Y}" x2="{x}" y2="{AXIS_Y + 4}"/>')
        out.append(f'<text class="tick" x="{x}" y="{AXIS_Y + 16}">{tick:g} s</text>')
    return out


def timeline(course: Course, scale: Scale, profile: Profile | None = None) -> str:
    """One job's course as an SVG picture."""
    parts = [
        *_frame(scale),
        _submitted(course, scale),
        *_bands(course, scale, profile),
        *_progress_line(course, scale),
        *_waits(course, scale),
        *_polls(course, scale),
        *_moments(course, scale),
    ]
    label = f"the course of job {course.job} in time"
    return (
        f'<svg class="timeline" data-job="{esc(course.job)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{esc(label)}">' + "".join(parts) + "</svg>"
    )


def course_summary(course: Course) -> str:
    """What the picture says, in one line: polls, how many showed nothing new, the advice,
    and how long the client took to notice the end."""
    advised = sorted({r.advice for r in course.reads[:-1] if r.advice is not None})
    polls = len(course.reads)
    parts = [f"{polls} poll{'s' if polls != 1 else ''} ({course.unchanged()} showed nothing new)"]
    if polls > 1:
        parts.append(f"Retry-After {', '.join(advised)}" if advised else "no Retry-After")
        if course.time_scale != 1:
            parts[-1] += f" (waits scaled by --time-scale {course.time_scale:g})"
    if course.finished is not None and course.noticed is not None:
        parts.append(
            f"finished at {course.finished:.2f} s ({course.finished_from}), noticed at "
            f"{course.noticed:.2f} s, {course.noticed - course.finished:.2f} s later"
        )
    else:
        parts.append("not seen to finish")
    return "; ".join(parts)


# -- the page ----------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px;margin-bottom:4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;
border-bottom:1px solid #e4e4e4;vertical-align:top}th{background:#f4f4f4}
.o-PASS{color:#2c7a3a}.o-FAIL,.o-UNOBSERVED{color:#b3261e;font-weight:600}
.o-WARN{color:#9a6a00}.o-ERROR{color:#8e24aa;font-weight:600}.o-SKIP,.o-DISABLED{color:#888}
.filters{margin:8px 0;display:flex;flex-wrap:wrap;gap:4px 14px}.filters label{white-space:nowrap}
.muted,.citation{color:#777}
pre{background:#f7f7f7;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 10px}dt{color:#777}dd{margin:0}
svg.timeline{display:block;margin:4px 0 18px}svg text{font:11px system-ui,sans-serif}
svg .row{fill:#555}svg .tick{fill:#555;text-anchor:middle}svg .band-label{fill:#fff}
svg .box{fill:none;stroke:#ddd}svg .axis{stroke:#999}
svg .poll{stroke:#222;stroke-width:1}svg .poll.same{stroke:#bbb}
svg .progress{fill:none;stroke:#2f6db5;stroke-width:2}svg .progress-dot{fill:#2f6db5}
svg .advice{fill:none;stroke:#d17a00;stroke-width:1.5}svg .no-advice{fill:#d17a00}
svg .waited{fill:#5b5b5b}svg .finished{stroke:#3a9d4a;stroke-width:2;stroke-dasharray:4 3}
svg .noticed{stroke:#c8413b;stroke-width:2}svg .lag{stroke:#c8413b;stroke-width:3}
svg .moment{fill:#c8413b}svg .submitted{fill:#555;stroke:#555}
.legend span{display:inline-block;margin-right:14px}
"""

SCRIPT = """
document.querySelectorAll('section.report').forEach(function (section) {
  var boxes = section.querySelectorAll('.filters input');
  function apply() {
    var on = {};
    boxes.forEach(function (box) { if (box.checked) on[box.name + ':' + box.value] = true; });
    var shown = 0;
    section.querySelectorAll('tr.verdict').forEach(function (row) {
      var keep = on['outcome:' + row.dataset.outcome] && on['family:' + row.dataset.family];
      row.hidden = !keep;
      if (keep) shown += 1;
    });
    section.querySelector('.shown').textContent = shown;
  }
  boxes.forEach(function (box) { box.addEventListener('change', apply); });
  apply();
});
"""

#: Nothing the page holds may load anything: only its own inline style and script run.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

LEGEND = (
    '<p class="legend muted"><span>bands: the state each poll showed</span>'
    "<span>ticks: polls (pale: nothing new)</span><span>blue line: progress</span>"
    "<span>orange bracket: the wait Retry-After advised</span>"
    "<span>grey bar: the wait until the next poll</span>"
    "<span>green dashed: finished</span><span>red: noticed</span></p>"
)


def _reason(verdict: Verdict) -> str:
    """The table's reason cell: the first breach (and how many more), else why unjudged."""
    if verdict.violations:
        first = verdict.violations[0]
        more = f" (and {len(verdict.violations) - 1} more)" if len(verdict.violations) > 1 else ""
        return f"{first.received}{more}"
    if verdict.unjudged is not None:
        return f"{verdict.unjudged.words}: {verdict.reason}"
    return verdict.reason


def _row(verdict: Verdict, anchor: str) -> str:
    """A verdict's row, its outcome and family for the filters; a breach links to its details."""
    rule, outcome = verdict.rule, str(verdict.outcome)
    linked = f'<a href="#{anchor}{esc(rule.id)}">{esc(rule.id)}</a>'
    link = linked if verdict.violations else esc(rule.id)
    return (
        f'<tr class="verdict" data-outcome="{esc(outcome)}" data-family="{esc(rule.family)}">'
        f'<td title="{esc(rule.text)}">{link}</td><td>{esc(rule.level)}</td>'
        f'<td class="o-{esc(outcome)}">{esc(outcome)}</td><td>{esc(_reason(verdict))}</td>'
        f'<td class="citation">{esc(rule.citation)}</td></tr>'
    )


def _checkboxes(name: str, counts: Counter[str], titles: dict[str, str]) -> str:
    """A filter: a ticked box per value present, with its count."""
    boxes = [
        f'<label><input type="checkbox" name="{name}" value="{esc(key)}" checked> '
        f"{esc(titles.get(key, key))} ({n})</label>"
        for key, n in counts.items()
    ]
    return f'<div class="filters"><strong>{name}:</strong> {"".join(boxes)}</div>'


def _table(verdicts: Sequence[Verdict], anchor: str) -> str:
    """The verdict table, a row per rule, under its filters."""
    outcomes = Counter(str(o) for o in Outcome for v in verdicts if v.outcome is o)
    families = Counter(f for f in FAMILIES for v in verdicts if v.rule.family == f)
    titles = {f: f"{f} {title}" for f, title in FAMILIES.items()}
    return (
        _checkboxes("outcome", outcomes, {})
        + _checkboxes("family", families, titles)
        + f'<p class="muted"><span class="shown">{len(verdicts)}</span> of {len(verdicts)} '
        "rules shown</p><table><thead><tr><th>rule</th><th>level</th><th>outcome</th>"
        "<th>reason</th><th>citation</th></tr></thead><tbody>"
        + "".join(_row(v, anchor) for v in verdicts)
        + "</tbody></table>"
    )


def exchange_text(exchange: Exchange) -> str:
    """The exchange as the JSON report carries it (secrets redacted), as HTTP reads."""
    found = exchange_json(exchange)
    lines = [found["request"], *(f"{k}: {v}" for k, v in found["requestHeaders"]), ""]
    if found["status"] is None:
        lines.append(f"(no response: {found['error']})")
    else:
        lines += [f"status {found['status']}", *(f"{k}: {v}" for k, v in found["headers"]), ""]
        lines.append(found["body"] + (" …(cut)" if found["bodyTruncated"] else ""))
    return f"at {found['at']} s\n" + "\n".join(lines)


def _violations(verdict: Verdict, anchor: str) -> str:
    """A rule's breaches, each with the exchange it cites (the first one shown open)."""
    rule = verdict.rule
    parts = [
        f'<article id="{anchor}{esc(rule.id)}"><h3>{esc(rule.id)} '
        f'<span class="o-{esc(verdict.outcome)}">{esc(verdict.outcome)}</span> '
        f"({esc(rule.level)}): {esc(rule.text)}</h3>"
        f'<p class="citation">{esc(rule.citation)}: “{esc(rule.quote)}”</p>'
    ]
    for n, violation in enumerate(verdict.violations[:MAX_VIOLATIONS_SHOWN]):
        fields = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in violation.fields())
        parts.append(f"<dl>{fields}</dl>")
        if violation.exchange is not None:
            parts.append(
                f"<details{' open' if n == 0 else ''}><summary>the exchange</summary>"
                f"<pre>{esc(exchange_text(violation.exchange))}</pre></details>"
            )
    hidden = len(verdict.violations) - MAX_VIOLATIONS_SHOWN
    if hidden > 0:
        parts.append(f'<p class="muted">… {hidden} more (the JSON report has them all)</p>')
    return "".join(parts) + "</article>"


def _timelines(report: Report) -> str:
    """A picture per job the run followed, all on one time scale, under their legend."""
    found = courses(report)
    if not found:
        return '<p class="muted">No job was followed.</p>'
    scale = scale_of(found)
    parts = [LEGEND]
    for course in found:
        parts.append(f"<h3>{esc(course.job)}</h3><p>{esc(course_summary(course))}</p>")
        parts.append(timeline(course, scale, report.dialect))
    return "".join(parts)


def _section(report: Report, n: int) -> str:
    """One report (one operation of a check file): its summary, verdicts, jobs and breaches;
    its anchors are its own (``v0-RETRY-3``)."""
    anchor = f"v{n}-"
    counts = Counter(v.outcome for v in report.verdicts)
    overall = Outcome.ERROR if report.unreachable else worst(counts)
    what = f"operation {report.operation}, " if report.operation else ""
    summary = ", ".join(f"{counts[o]} {o}" for o in Outcome if counts[o])
    notes = "".join(f"<li>{esc(note)}</li>" for note in report.notes)
    failing = [v for v in report.verdicts if v.violations]
    return (
        f'<section class="report"><h2>{esc(report.target)} ({esc(what)}profile '
        f'{esc(report.profile)}): <span class="o-{esc(overall)}">{esc(overall)}</span></h2>'
        f"<p>{esc(summary)} — {report.requests} requests in {report.seconds:.1f} s</p>"
        + (f"<p class='o-ERROR'>{esc(report.unreachable)}</p>" if report.unreachable else "")
        + (f"<ul class='notes'>{notes}</ul>" if notes else "")
        + "<h2>Verdicts</h2>"
        + _table(report.verdicts, anchor)
        + "<h2>The jobs in time</h2>"
        + _timelines(report)
        + "<h2>Breaches, with their exchanges</h2>"
        + ("".join(_violations(v, anchor) for v in failing) or '<p class="muted">None.</p>')
        + "</section>"
    )


def to_html(reports: Report | Sequence[Report], strict: bool) -> bytes:
    """The reports as one self-contained HTML page (inline CSS, SVG and script)."""
    each = [reports] if isinstance(reports, Report) else list(reports)
    target = each[0].target if each else ""
    mode = " (--strict)" if strict else ""
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f"<title>lrokit check {esc(target)}</title><style>{CSS}</style></head><body>"
        f"<h1>lrokit check {esc(target)}{mode}</h1>"
        f'<p class="muted">lrokit {esc(__version__)}</p>'
        + "".join(_section(report, n) for n, report in enumerate(each))
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
    return page.encode("utf-8")
