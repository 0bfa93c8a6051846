"""A run's evidence as HAR 1.2 (``lrokit check --har FILE``), and read back (``lrokit replay``).

What is guaranteed of a HAR this module writes:

* every exchange of every run (the cleanup's cancels too) is one entry of ``log.entries``, in
  the order sent, with the HAR 1.2 members every entry must have; its response body whole, as
  recorded (cut at the tester's body cap: ``_truncated``), in ``content.text`` (base64 when it
  is not UTF-8);
* secrets are redacted as in every report: the request's fields that carry credentials and the
  query's secret parameters were redacted when recorded, a response's cookies are redacted here;
  a profile's submission fields that carry credentials too; the webhook signing secret is never
  written (``_lrokit.runs[].signed`` says whether the run had one);
* each entry says what it was sent for (``_lrokit.purpose``), the job it belongs to
  (``_lrokit.job``: where in the run's recording that job is, e.g. ``main`` or
  ``tenancy.cancelled``; null for a probe of no job) with its monitor URL, and its slot in the
  recording (``_lrokit.role``, e.g. ``main.polls[2]``);
* ``log._lrokit`` holds what judging needs besides the exchanges: per run the profile as it was
  judged by, the contract's source, the selection and strictness, and the whole recording (holds,
  stream events, webhook deliveries, timings) with its exchanges as entry indexes. Times are
  written as the floats they were, so that a rule judged on them is judged the same again.

:func:`read` rebuilds the same recordings from such a document or raises :class:`HarError`
saying, in one line, what it could not read.
"""

from __future__ import annotations

import base64
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lrokit import __version__
from lrokit.model.exchange import SECRET_HEADERS, Exchange, carries_credentials
from lrokit.model.profile import Profile
from lrokit.model.recording import Delivery, Hook, Recording, Streams, Trace, Waits
from lrokit.runner.reporters import response_fields
from lrokit.runner.run import Report

#: The version of ``log._lrokit`` this module writes and reads.
FORMAT = 1
REDACTED = "[redacted]"
#: Fields of the recording's classes never written: computed, or a secret.
_UNWRITTEN = frozenset({"validate", "_json"})
#: The classes whose objects are a job, for ``_lrokit.job``.
_JOBS = (Trace, Waits, Streams, Hook)


class HarError(ValueError):
    """A HAR that cannot be replayed; the message says why, in one line."""


@dataclass
class Run:
    """One run read back from a HAR: its recording and what it was judged with."""

    operation: str | None
    target: str
    profile: Profile
    spec: str | None  # where the run read its contract; None: it had none
    only: tuple[str, ...]
    skip: tuple[str, ...]
    strict: bool
    signed: bool  # the run had the webhook signing secret (never written)
    seconds: float
    recording: Recording
    entries: dict[int, int]  # each exchange's entry index, by id()


# -- writing ---------------------------------------------------------------------------------


def document(
    reports: Sequence[Report],
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    strict: bool = False,
    signed: bool = False,
) -> dict[str, Any]:
    """The HAR 1.2 document of ``reports`` (each with its recording), and each report's
    ``har_entries`` set to its exchanges' entry indexes."""
    entries: list[dict[str, Any]] = []
    runs = []
    for number, report in enumerate(reports):
        rec, profile = report.recording, report.dialect
        if rec is None or profile is None:
            raise ValueError("a report without its recording cannot be written as HAR")
        roles = _roles(rec)
        ordered = sorted(_exchanges(rec), key=lambda e: e.at)
        for exchange in ordered:
            report.har_entries[id(exchange)] = len(entries)
            role, job, monitor = roles.get(id(exchange), ("", None, None))
            tag = {"run": number, "purpose": exchange.label, "job": job, "monitor": monitor}
            entries.append(_entry(exchange, report.started, {**tag, "role": role}))
        runs.append(
            {
                "operation": report.operation,
                "target": report.target,
                "spec": report.spec,
                "only": list(only),
                "skip": list(skip),
                "strict": strict,
                "signed": signed,
                "seconds": report.seconds,
                "started": report.started,
                "profile": _encode(_redacted_profile(profile), {}),
                "recording": _encode(rec, report.har_entries),
            }
        )
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "lrokit", "version": __version__},
            "comment": "lrokit check: every exchange of the run; lrokit replay judges it again",
            "entries": entries,
            "_lrokit": {"format": FORMAT, "runs": runs},
        }
    }


def _exchanges(rec: Recording) -> list[Exchange]:
    """Every exchange of the recording once: those sent, the cleanup's, any other it holds."""
    found: dict[int, Exchange] = {}
    for exchange in [*rec.exchanges, *rec.cleaned, *_walk(rec)]:
        found.setdefault(id(exchange), exchange)
    return list(found.values())


def _walk(value: Any) -> list[Exchange]:
    if isinstance(value, Exchange):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [e for f in dataclasses.fields(value) for e in _walk(getattr(value, f.name))]
    if isinstance(value, list | tuple):
        return [e for item in value for e in _walk(item)]
    if isinstance(value, dict):
        return [e for item in value.values() for e in _walk(item)]
    return []


def _roles(rec: Recording) -> dict[int, tuple[str, str | None, str | None]]:
    """Each exchange's first slot in the recording, the job it is of and that job's monitor."""
    roles: dict[int, tuple[str, str | None, str | None]] = {}

    def visit(value: Any, path: str, job: str | None, monitor: str | None) -> None:
        if isinstance(value, Exchange):
            roles.setdefault(id(value), (path, job, monitor))
        elif isinstance(value, _JOBS) and job is None:
            trace = value if isinstance(value, Trace) else getattr(value, "job", None)
            seen = trace.monitor if isinstance(trace, Trace) else None
            visit_fields(value, path, path, seen)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            visit_fields(value, path, job, monitor)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]", job, monitor)
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{path}[{key}]", job, monitor)

    def visit_fields(value: Any, path: str, job: str | None, monitor: str | None) -> None:
        for f in dataclasses.fields(value):
            if f.name not in ("exchanges", "cleaned"):
                visit(getattr(value, f.name), f"{path}.{f.name}".lstrip("."), job, monitor)

    visit_fields(rec, "", None, None)
    for i, exchange in enumerate(rec.cleaned):
        roles.setdefault(id(exchange), (f"cleaned[{i}]", None, None))
    return roles


def _entry(exchange: Exchange, started: float, tag: dict[str, Any]) -> dict[str, Any]:
    """One HAR 1.2 entry; what HAR has no member for is in ``_``-members."""
    when = datetime.fromtimestamp(started + exchange.at, UTC)
    millis = round(exchange.seconds * 1000, 3)
    status = exchange.status
    reason = ""
    if status is not None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    location = (
        exchange.header("location") or "" if status is not None and 300 <= status < 400 else ""
    )
    text, encoding = _text(exchange.body)
    content: dict[str, Any] = {
        "size": len(exchange.body),
        "mimeType": exchange.header("content-type") or "",
        "text": text,
    }
    if encoding:
        content["encoding"] = encoding
    request_fields = [
        (name, REDACTED if name.lower() in SECRET_HEADERS else value)
        for name, value in exchange.request_headers
    ]
    return {
        "startedDateTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": millis,
        "request": {
            "method": exchange.method,
            "url": exchange.url,
            "httpVersion": "HTTP/1.1",
            "headers": _fields(request_fields),
            "queryString": [
                {"name": k, "value": v}
                for k, v in parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
            ],
            "cookies": [],
            "headersSize": -1,
            "bodySize": _sent_size(exchange),  # its Content-Length: bodies sent are not kept
        },
        "response": {
            "status": status if status is not None else 0,
            "statusText": reason,
            "httpVersion": "HTTP/1.1" if status is not None else "",
            "headers": _fields(response_fields(exchange)),
            "cookies": [],
            "content": content,
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": len(exchange.body) if status is not None else -1,
            "_error": exchange.error,
            "_truncated": exchange.truncated,
        },
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
        "_lrokit": {**tag, "at": exchange.at, "seconds": exchange.seconds},
    }


def _sent_size(exchange: Exchange) -> int:
    """The size of the request's body as its Content-Length said, else -1 (not known)."""
    sent = dict(exchange.request_headers).get("content-length", "")
    return int(sent) if sent.isdigit() else 0 if exchange.method in ("GET", "HEAD") else -1


def _fields(lines: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in lines]


def _text(body: bytes) -> tuple[str, str | None]:
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def _redacted_profile(profile: Profile) -> Profile:
    """The profile with the values of its submission fields that carry credentials redacted."""
    fields = {
        k: REDACTED if carries_credentials(k) else v for k, v in profile.submit_headers.items()
    }
    return dataclasses.replace(profile, submit_headers=fields)


def _encode(value: Any, entries: Mapping[int, int]) -> Any:
    """``value`` as JSON: a dataclass as an object of its fields, an exchange as its entry
    index, bytes as base64; the signing secret never (``null``).

    By hand rather than by a structuring library (cattrs): an exchange must become a reference
    to its HAR entry and a delivery's credentials must be dropped on the way, which such a
    library does through as many hooks as this has lines, and the tester's install has none."""
    if isinstance(value, Exchange):
        return {"$entry": entries[id(value)]}
    if isinstance(value, Delivery):  # a request to the receiver: its credentials redacted
        fields = tuple((k, REDACTED if k in SECRET_HEADERS else v) for k, v in value.headers)
        value = dataclasses.replace(value, headers=fields)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found = {
            f.name: _encode(getattr(value, f.name), entries)
            for f in dataclasses.fields(value)
            if f.name not in _UNWRITTEN
        }
        if "secret" in found:
            found["secret"] = None
        return found
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _encode(v, entries) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(_encode(v, entries) for v in value)
    if isinstance(value, list | tuple):
        return [_encode(v, entries) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot write {type(value).__name__} as HAR")


# -- reading ---------------------------------------------------------------------------------


def read(data: Any) -> list[Run]:
    """The runs of a HAR document ``lrokit check --har`` wrote, rebuilt; :class:`HarError` when
    it is not one (not HAR 1.2, no ``log._lrokit`` of this format, a member missing or of the
    wrong type)."""
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise HarError("not a HAR document (no log.entries)")
    meta = log.get("_lrokit")
    if not isinstance(meta, dict):
        raise HarError(
            "no log._lrokit: not written by lrokit check --har (try lrokit replay --from-traffic)"
        )
    if meta.get("format") != FORMAT:
        raise HarError(f"log._lrokit.format {meta.get('format')!r}: this lrokit reads {FORMAT}")
    exchanges = [_exchange(i, entry) for i, entry in enumerate(log["entries"])]
    runs = []
    for number, raw in enumerate(_typed(meta.get("runs"), list, "log._lrokit.runs")):
        where = f"log._lrokit.runs[{number}]"
        run = _typed(raw, dict, where)
        try:
            recording = _decode(Recording, run["recording"], exchanges, f"{where}.recording")
            profile = _decode(Profile, run["profile"], exchanges, f"{where}.profile")
            runs.append(
                Run(
                    operation=_optional_str(run.get("operation"), f"{where}.operation"),
                    target=_typed(run["target"], str, f"{where}.target"),
                    profile=profile,
                    spec=_optional_str(run.get("spec"), f"{where}.spec"),
                    only=tuple(_typed(run.get("only", []), list, f"{where}.only")),
                    skip=tuple(_typed(run.get("skip", []), list, f"{where}.skip")),
                    strict=bool(run.get("strict", False)),
                    signed=bool(run.get("signed", False)),
                    seconds=float(run.get("seconds", 0.0)),
                    recording=recording,
                    entries={id(e): i for i, e in enumerate(exchanges)},
                )
            )
        except KeyError as exc:
            raise HarError(f"{where}: no member {exc}") from None
    return runs


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise HarError(f"{where}: not a{'n' if kind is int else ''} {kind.__name__}")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    return None if value is None else str(_typed(value, str, where))


def _exchange(index: int, entry: Any) -> Exchange:
    """Entry ``index`` as the exchange it recorded."""
    where = f"log.entries[{index}]"
    try:
        request, response = entry["request"], entry["response"]
        tag = entry.get("_lrokit") or {}
        content = response.get("content") or {}
        text = content.get("text") or ""
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
        status = int(response["status"])
        return Exchange(
            label=str(tag.get("purpose", "")),
            method=str(request["method"]),
            url=str(request["url"]),
            request_headers=tuple((str(h["name"]), str(h["value"])) for h in request["headers"]),
            status=status if status else None,
            headers=tuple((str(h["name"]).lower(), str(h["value"])) for h in response["headers"]),
            body=body,
            truncated=bool(response.get("_truncated", False)),
            at=float(tag.get("at", 0.0)),
            seconds=float(tag.get("seconds", float(entry["time"]) / 1000)),
            error=response.get("_error") if not status else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HarError(f"{where}: not a HAR 1.2 entry ({type(exc).__name__}: {exc})") from None


def _decode(kind: Any, data: Any, exchanges: Sequence[Exchange], where: str) -> Any:
    """``data`` as a value of type ``kind`` (the annotation of the field it was written from)."""
    if kind is Any:
        return data
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _decode(arg, data, exchanges, where)
            except HarError as exc:
                errors.append(str(exc))
        raise HarError(errors[0] if errors else f"{where}: null")
    if origin is typing.Literal:
        if data not in args:
            raise HarError(f"{where}: {data!r} is not one of {args}")
        return data
    if kind is Exchange:
        index = _typed(data, dict, where).get("$entry")
        if not isinstance(index, int) or not 0 <= index < len(exchanges):
            raise HarError(f"{where}: no entry {index!r}")
        return exchanges[index]
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind, _typed(data, dict, where), exchanges, where)
    if origin in (list, tuple, frozenset, set) or origin is typing.Sequence:
        items = _typed(data, list, where)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(items) != len(args):
                raise HarError(f"{where}: {len(items)} items, not {len(args)}")
            return tuple(_decode(a, v, exchanges, where) for a, v in zip(args, items, strict=True))
        each = [_decode(args[0], v, exchanges, f"{where}[{i}]") for i, v in enumerate(items)]
        return each if origin is list else frozenset(each) if origin is frozenset else tuple(each)
    if origin in (dict, Mapping) or kind is dict:
        value_kind = args[1] if args else Any
        mapping = _typed(data, dict, where)
        return {k: _decode(value_kind, v, exchanges, f"{where}.{k}") for k, v in mapping.items()}
    if kind is bytes:
        return base64.b64decode(_typed(data, dict, where).get("$base64", ""))
    if kind is Path:
        return Path(_typed(data, str, where))
    if kind is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise HarError(f"{where}: not a number")
        return float(data)
    if kind in (str, int, bool):
        return _typed(data, kind, where)
    raise HarError(f"{where}: cannot read a {kind!r}")


def _dataclass(kind: type, data: dict[str, Any], exchanges: Sequence[Exchange], where: str) -> Any:
    hints = typing.get_type_hints(kind)
    given = {}
    for f in dataclasses.fields(kind):
        if not f.init or f.name in _UNWRITTEN:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise HarError(f"{where}: no member {f.name!r}")
            continue
        given[f.name] = _decode(hints[f.name], data[f.name], exchanges, f"{where}.{f.name}")
    return kind(**given)


# -- traffic lrokit did not send -------------------------------------------------------------


@dataclass
class Traffic:
    """What a HAR of other traffic (a browser's, a proxy's) shows of the pattern: the jobs
    followed by their initiating answer's pointer and the monitor reads after it."""

    target: str  # the origin of the first job's submission (or of the first entry)
    recording: Recording
    jobs: int  # jobs found: initiating answers with a pointer to a monitor


def traffic(data: Any, profile: Profile) -> Traffic:
    """The recording ``profile`` reads in a HAR lrokit did not write: each answer with an
    initiation status (202) and the monitor pointer (Location) is a job; the GETs of that
    monitor after it are its polls, to the first terminal state and after; a GET of its result
    and a cancel of it are the result and the cancel. The first job to succeed is followed as
    the run's main job, the first to fail as its failing one, the first cancelled as its
    cancelled one. Only the entries on the jobs' origins are kept; credentials are redacted as
    they are read. :class:`HarError` when it is not a HAR."""
    from urllib.parse import urljoin

    from lrokit.model.exchange import origin
    from lrokit.model.recording import state_of

    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise HarError("not a HAR document (no log.entries)")
    timed = [(_started(i, e), _traffic_exchange(i, e)) for i, e in enumerate(log["entries"])]
    timed.sort(key=lambda pair: pair[0])
    first = timed[0][0] if timed else datetime.now(UTC)
    exchanges = [dataclasses.replace(e, at=(t - first).total_seconds()) for t, e in timed]
    traces: list[Trace] = []
    for sub in exchanges:
        pointer = sub.header(profile.monitor_header)
        if sub.method == "GET" or sub.status not in profile.initiation_status or not pointer:
            continue
        trace = Trace(sub, urljoin(sub.url, pointer))
        for read in (e for e in exchanges if e.at > sub.at and e.method == "GET"):
            if read.url.split("#")[0] != trace.monitor or _streamed(read):
                continue
            if trace.final_state is None:
                trace.polls.append(read)
                state = state_of(profile, read)
                trace.final_state = state if state in profile.terminal else None
            else:
                trace.after_terminal.append(read)
        traces.append(trace)
    origins = {origin(t.submission.url) for t in traces}
    kept = [e for e in exchanges if not origins or origin(e.url) in origins]
    rec = Recording(exchanges=kept)

    def first_ending(state: str | None) -> Trace | None:
        return next((t for t in traces if state and t.final_state == state), None)

    def results(trace: Trace) -> list[Exchange]:
        """The GETs of the job's result, in order."""
        if trace.monitor is None or not trace.polls:
            return []
        link = profile.result_reference(trace.polls[-1].json())
        url = urljoin(trace.monitor, link) if link else None
        url = url or profile.result_url(trace.monitor, trace.submission.url)
        return [e for e in kept if e.method == "GET" and url and e.url == url]

    def result_of(trace: Trace) -> Exchange | None:
        """The first GET of the job's result once its monitor said it had ended."""
        return next((e for e in results(trace) if e.at > trace.polls[-1].at), None)

    succeeded = [t for t in traces if t.final_state == profile.success]
    # The main job: the first to succeed whose result was asked for, else the first to succeed.
    rec.main = next((t for t in succeeded if result_of(t)), None) or first_ending(profile.success)
    rec.main = rec.main or (traces[0] if traces else None)
    rec.failing = first_ending(profile.failure)
    rec.cancelled = first_ending(profile.cancelled)
    if rec.cancelled is not None and rec.cancelled.monitor and profile.cancel_method:
        where = profile.cancel_url(rec.cancelled.monitor)
        rec.cancel = next(
            (e for e in kept if e.method == profile.cancel_method and e.url == where), None
        )
    if rec.main is not None and rec.main.polls:
        rec.result = result_of(rec.main)
        ended = rec.main.polls[-1].at
        rec.early_result = next((e for e in results(rec.main) if e.at < ended), None)
    at = urlsplit(traces[0].submission.url if traces else kept[0].url if kept else "")
    return Traffic(f"{at.scheme}://{at.netloc}" if at.netloc else "", rec, len(traces))


def _streamed(read: Exchange) -> bool:
    """Whether a read asked for the status stream: not a poll."""
    from lrokit.model.recording import EVENT_STREAM

    return EVENT_STREAM in (dict(read.request_headers).get("accept") or "")


def _started(index: int, entry: Any) -> datetime:
    try:
        when = datetime.fromisoformat(str(entry["startedDateTime"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise HarError(f"log.entries[{index}]: no startedDateTime ({exc})") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _traffic_exchange(index: int, entry: Any) -> Exchange:
    """Entry ``index`` of other traffic: names lower-cased, credentials redacted."""
    exchange = _exchange(index, entry)
    sent = tuple(
        (name.lower(), REDACTED if carries_credentials(name) else value)
        for name, value in exchange.request_headers
    )
    answer = tuple(
        (name, REDACTED if name in SECRET_HEADERS or name == "set-cookie" else value)
        for name, value in exchange.headers
    )
    error = exchange.error or ("no response" if exchange.status is None else None)
    return dataclasses.replace(
        exchange, label="traffic", request_headers=sent, headers=answer, error=error
    )
