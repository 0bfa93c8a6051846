"""Profiles: how a dialect of the pattern is spoken, as data.

A profile says how to submit, which status and header start a job, the monitor's state
field, vocabulary, terminal states and transitions, where results and errors live, how to
cancel, where jobs are listed, and which optional features the server has (a disabled
feature reports DISABLED).
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from lrokit.model.bodies import Body, BodyError, body_from
from lrokit.model.exchange import Exchange
from lrokit.rules import RULES, Level, Rule

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class ProfileError(ValueError):
    """A profile file is missing, unreadable or wrong; the message says where."""


@dataclass(frozen=True)
class StateRule:
    """A state read from other fields: it holds when ``present`` is in the document and
    every ``equals`` field has its value (for dialects without a state field, like AIP-151)."""

    state: str
    present: str | None = None
    equals: Mapping[str, Any] = field(default_factory=dict)
    status: tuple[int, ...] = ()  # the HTTP statuses of the read (202-until-done dialects)

    def holds(self, document: Any, status: int | None) -> bool:
        if self.status and status not in self.status:
            return False
        if self.present is not None and dig(document, self.present) is None:
            return False
        return all(dig(document, name) == value for name, value in self.equals.items())


@dataclass(frozen=True)
class Profile:
    """One dialect of the asynchronous request-reply pattern."""

    name: str
    description: str
    submit_method: str
    submit_path: str
    submit_headers: Mapping[str, str]
    body: Body | None  # None: the operation takes no body (a DELETE, an action without input)
    failing_body: Body | None
    other_body: Body | None
    initiation_status: tuple[int, ...]
    monitor_header: str
    monitor_template: str | None  # a monitor path from the initiating answer: "/v1/{body:name}"
    id_segment: int  # where the job id is in the monitor URL's path, from the end (-1: last)
    state_field: str
    id_field: str | None
    progress_field: str | None
    created_field: str | None
    started_field: str | None
    finished_field: str | None
    error_field: str
    error_members: tuple[str, ...]
    result_link: str | None
    result_field: str | None
    result_template: str | None  # where the result will be: "{monitor}/download", "{submit}"
    result_header: str | None  # a header of the final read naming the result (303 Location)
    result_media_types: tuple[str, ...]  # what a result may be, asked for in Accept
    media_type: str
    error_media_type: str  # what 4xx and 5xx answers are: application/problem+json (RFC 9457)
    states: tuple[str, ...]
    success: str
    failure: str | None  # None for a dialect that names no failure outcome
    cancelled: str | None  # None for a dialect that cannot cancel
    transitions: Mapping[str, tuple[str, ...]]
    cancel_method: str | None
    cancel_template: str  # where a cancel goes, from the monitor path: "{monitor}:cancel"
    cancel_may_remove: bool  # after a cancel the job may be gone: its monitor 404 or 410
    retry_after_max: int
    retry_after_min: int
    estimate_field: str | None = None  # seconds the server expects the job still to take
    # A GET that lists the caller's jobs, and where in its body the list is (None: the body
    # is the list): what TENANCY-4 reads as two principals. None: the dialect lists no jobs.
    listing_path: str | None = None
    listing_items: str | None = None
    # The type URI an error document must carry, by what it answers ("unknown-id",
    # "result-not-ready"), where the dialect fixes one (OGC's exception types).
    error_types: Mapping[str, str] = field(default_factory=dict)
    initiation_max: float = 2.0  # seconds the initiating response may take (ACCEPT-4)
    polls_max: int = 30  # polls of one job, honouring Retry-After, that are plausible (RETRY-5)
    features: frozenset[str] = field(default_factory=frozenset)
    # The body members a submission names its callback URL in (``[callbacks]``): each is set
    # to the job's URL on the run's webhook receiver. Empty: the dialect has no callbacks.
    callback_members: tuple[str, ...] = ()
    spec: str | None = None
    state_rules: tuple[StateRule, ...] = ()  # when given, the state comes from these
    # Per rule id: the dialect's level (None: the rule does not apply) and wording.
    overrides: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)

    def rule(self, rule: Rule) -> Rule | None:
        """``rule`` as this dialect states it, or None when it does not apply here."""
        override = self.overrides.get(rule.id)
        if not override:
            return rule
        if override.get("level") == "off":
            return None
        level = override.get("level")
        return replace(
            rule,
            level=Level(level) if level else rule.level,
            text=override.get("text") or rule.text,
            citation=override.get("citation") or rule.citation,
            quote=override.get("quote") or rule.quote,
        )

    @property
    def read_statuses(self) -> frozenset[int]:
        """The HTTP statuses of a monitor answer that reports the job: 200, unless the state
        rules read the state from the status itself (202 while running, then the outcome)."""
        return frozenset(s for r in self.state_rules for s in r.status) or frozenset({200})

    def state(self, document: Any, status: int | None) -> str | None:
        """The job state a monitor answer reports: the first state rule that holds, or the
        state field's string; None when it reports none."""
        if status not in self.read_statuses:
            return None
        if self.state_rules:
            return next((r.state for r in self.state_rules if r.holds(document, status)), None)
        value = dig(document, self.state_field)
        return value if isinstance(value, str) else None

    def body_state(self, document: Any) -> str | None:
        """The job state a document reports by its content alone (an initiating or cancel
        answer): state rules that need an HTTP status do not apply to it."""
        if self.state_rules:
            rules = [r for r in self.state_rules if not r.status]
            return next((r.state for r in rules if r.holds(document, None)), None)
        value = dig(document, self.state_field)
        return value if isinstance(value, str) else None

    def pointer(self, submission: Exchange, api: str | None = None) -> str | None:
        """The monitor reference of an initiating response: its pointer header, a reference
        the server sent (to resolve against the submission's URL, RFC 3986 §5), or else the
        dialect's template filled from the answer: ``{body:a.b}`` (or ``{a.b}``) is the body's
        member, ``{header:Name}`` the header's value; a path of the API, made a URL under
        ``api``, the base URL, when it is given (``api_url``). None when a value is missing."""
        lines = submission.header_lines(self.monitor_header)
        if lines:
            return lines[0].strip()
        if self.monitor_template is None:
            return None
        body = submission.json()
        values: dict[str, Any] = {}
        for placeholder in _PLACEHOLDER.findall(self.monitor_template):
            kind, colon, name = placeholder.partition(":")
            if colon and kind == "header":
                values[placeholder] = submission.header(name)
            else:
                values[placeholder] = dig(body, name if colon else placeholder)
        if not all(isinstance(v, str | int) and str(v) for v in values.values()):
            return None
        path = _PLACEHOLDER.sub(
            lambda m: quote(str(values[m.group(1)]).strip(), safe="/"), self.monitor_template
        )
        return path if api is None else api_url(api, path)

    def callback_body(self, url: str) -> Body | None:
        """The body of a valid submission that asks to be called back at ``url``, in every
        callback member; None when the operation takes no body."""
        if self.body is None:
            return None
        body = self.body
        for member in self.callback_members:
            body = body.with_member(member, url)
        return body

    def cancel_url(self, monitor: str) -> str:
        """Where to send a cancel for the job at ``monitor``."""
        return _from_monitor(self.cancel_template, monitor)

    def job_id(self, monitor: str) -> str:
        """The job id in a monitor URL (percent-decoded)."""
        segments = urlsplit(monitor).path.rstrip("/").split("/")
        return unquote(segments[self.id_segment]) if len(segments) > -self.id_segment else ""

    def with_job_id(self, monitor: str, job_id: str) -> str:
        """The monitor URL of another job id (no fragment)."""
        return replace_segment(monitor, self.id_segment, job_id)

    def result_reference(self, document: Any) -> str | None:
        """The result link a status document carries at ``result_link``, in either form a
        link takes: the URI-reference as a string, or an object with it in ``href``. So
        ``links.download.href`` also reads a string ``links.download``, and ``reportURL``
        also reads ``reportURL.href``."""
        if self.result_link is None:
            return None
        value = dig(document, self.result_link.removesuffix(".href"))
        if isinstance(value, dict):
            value = value.get("href")
        return value if isinstance(value, str) else None

    def result_url(self, monitor: str, submit: str | None = None) -> str | None:
        """Where the result of the job at ``monitor``, submitted to ``submit``, will be, if
        the dialect fixes it: ``{submit}`` is the submission's URL (a PUT whose result is the
        resource it created), ``{monitor}`` the monitor's."""
        if self.result_template is None:
            return None
        if self.result_template.startswith("{submit}"):
            if submit is None:
                return None
            return _from_monitor(self.result_template.replace("{submit}", "{monitor}", 1), submit)
        return _from_monitor(self.result_template, monitor)

    @property
    def spec_source(self) -> str | None:
        """Where the profile's contract is: a file shipped in lrokit (``openapi.yaml`` is the
        canonical contract), else the path or URL as written."""
        if self.spec is None:
            return None
        packaged = files("lrokit") / self.spec
        return str(packaged) if packaged.is_file() else self.spec

    @property
    def terminal(self) -> frozenset[str]:
        """States with no way out."""
        return frozenset(state for state, nxt in self.transitions.items() if not nxt)

    def reachable(self, state: str) -> set[str]:
        """States a job in ``state`` may be seen in later (polls may skip states)."""
        seen, todo = {state}, [state]
        while todo:
            for following in self.transitions.get(todo.pop(), ()):
                if following not in seen:
                    seen.add(following)
                    todo.append(following)
        return seen


def replace_segment(url: str, segment: int, value: str) -> str:
    """``url`` with its path segment at ``segment`` (from the end) replaced, no fragment."""
    parts = urlsplit(url)
    segments = parts.path.rstrip("/").split("/")
    segments[segment] = quote(value, safe="")
    return urlunsplit(parts._replace(path="/".join(segments), fragment=""))


def api_url(base: str, path: str) -> str:
    """The URL of ``path``, a path of the API that a profile gives (its submit path, a filled
    monitor template), under ``base``, the base URL the user gave. The base's path MUST be
    kept: ``path`` is resolved (RFC 3986 §5.2) as a relative path against the base with a
    "/" appended, so ``http://h/api`` and ``/reports`` give ``http://h/api/reports``, and
    ``http://h`` gives ``http://h/reports``. The base's query and fragment are not kept."""
    parts = urlsplit(base)
    directory = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/", query="", fragment=""))
    # "./": a first segment with a colon (/x:export) is not read as a scheme (RFC 3986 §4.2)
    return urljoin(directory, "./" + path.removeprefix("/"))


def _from_monitor(template: str, monitor: str) -> str:
    """``template`` with ``{monitor}`` the monitor's path, dot segments removed
    (``{monitor}/../cancel``), the monitor's query kept."""
    parts = urlsplit(monitor)
    path = posixpath.normpath(template.replace("{monitor}", parts.path.rstrip("/")))
    return urlunsplit(parts._replace(path=path, fragment=""))


def builtin_profiles() -> dict[str, Path]:
    """The profiles shipped with lrokit, by name."""
    root = files("lrokit.profiles")
    return {
        entry.name.removesuffix(".toml"): Path(str(entry))
        for entry in root.iterdir()
        if entry.name.endswith(".toml")
    }


def load_profile(name_or_path: str, relative_to: Path | None = None) -> Profile:
    """A built-in profile by name, or a profile file by path (relative to ``relative_to``
    when given); validated against ``lrokit/schemas/profile.schema.json`` and for
    consistency, with a one-line error."""
    path = _locate(name_or_path, relative_to)
    data = _read(path)
    if "extends" in data and "name" not in data:  # named after its file, not what it extends
        data["name"] = re.sub(r"[^a-z0-9-]+", "-", path.stem.lower()).strip("-") or "custom"
    return load_profile_data(data, path)


def load_profile_data(data: Mapping[str, Any], origin: Path | None = None) -> Profile:
    """A profile from its tables as read from ``origin`` (a file, for its messages and the
    paths it names; None: given inline): ``extends`` merged first, then validated."""
    where = str(origin) if origin is not None else "(inline)"
    tables = _extended(data, origin, seen=())
    error = best_match(_validator().iter_errors(tables))
    if error is not None:
        at = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise ProfileError(f"profile {where} is invalid at {at}: {error.message}")
    try:
        return _from_data(tables)
    except (ValueError, BodyError) as exc:
        raise ProfileError(f"profile {where} is invalid: {exc}") from None


#: Tables of a profile that are values, not tables of settings: given, they replace the
#: extended profile's whole (a body is one document; transitions go with their states).
WHOLE = frozenset(
    {
        ("submit", "body"),
        ("submit", "failing_body"),
        ("submit", "other_body"),
        ("submit", "files"),
        ("monitor", "transitions"),
    }
)


def merged(
    base: Mapping[str, Any], over: Mapping[str, Any], at: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``over`` laid over ``base``: tables merged key by key, every other value replaced
    (a list too: a profile that changes ``states`` gives them all), and so are the tables
    that are values (:data:`WHOLE`: bodies, transitions)."""
    result = dict(base)
    for key, value in over.items():
        below = result.get(key)
        where = (*at, key)
        if isinstance(value, Mapping) and isinstance(below, Mapping) and where not in WHOLE:
            result[key] = merged(below, value, where)
        else:
            result[key] = value
    return result


def _locate(name_or_path: str, relative_to: Path | None) -> Path:
    builtin = builtin_profiles().get(name_or_path)
    if builtin is not None:
        return builtin
    path = Path(name_or_path)
    return relative_to / path if relative_to is not None and not path.is_absolute() else path


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(builtin_profiles()))
        raise ProfileError(f"no profile {str(path)!r} (built in: {known})") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from None


def _extended(
    data: Mapping[str, Any], origin: Path | None, seen: tuple[Path, ...]
) -> dict[str, Any]:
    """``data`` over the profile it ``extends`` (a built-in name, or a path relative to
    ``origin``'s directory), recursively; the files a profile names are made relative to
    its own directory first, so that they mean the same wherever it is extended from."""
    here = origin.parent if origin is not None else None
    own = _anchored(data, here)
    parent = own.pop("extends", None)
    if parent is None:
        return own
    path = _locate(str(parent), here)
    if path.resolve() in seen:
        raise ProfileError(f"profile {path} extends itself (through {' -> '.join(map(str, seen))})")
    base = _extended(_read(path), path, (*seen, path.resolve()))
    return merged(base, own)


def _anchored(data: Mapping[str, Any], here: Path | None) -> dict[str, Any]:
    """``data`` with its multipart files' paths made absolute from ``here``."""
    own = dict(data)
    submit = own.get("submit")
    listed = submit.get("files") if isinstance(submit, Mapping) else None
    if here is not None and isinstance(submit, Mapping) and isinstance(listed, Mapping):
        files = {
            name: [str(here / p) for p in (value if isinstance(value, list) else [value])]
            for name, value in listed.items()
        }
        own["submit"] = {**submit, "files": files}
    return own


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads((files("lrokit") / "schemas" / "profile.schema.json").read_text())
    return Draft202012Validator(schema)


def _from_data(data: Mapping[str, Any]) -> Profile:
    submit, init, mon = data["submit"], data["initiation"], data["monitor"]
    transitions = {str(k): tuple(map(str, v)) for k, v in mon["transitions"].items()}
    states = tuple(map(str, mon["states"]))
    if set(transitions) != set(states) or not all(
        set(v) <= set(states) for v in transitions.values()
    ):
        raise ValueError("monitor.transitions must name exactly the monitor.states")
    for rule in mon.get("state_rules", ()):
        if rule["state"] not in states:
            raise ValueError(f"monitor.state_rules: {rule['state']!r} is not in monitor.states")
    for key in ("success", "failure", "cancelled"):
        if key in mon and (mon[key] not in states or transitions[mon[key]]):
            raise ValueError(f"monitor.{key} must be a terminal state")
    if data.get("features", {}).get("cancel") and "cancelled" not in mon:
        raise ValueError("features.cancel needs monitor.cancelled, the state a cancel ends in")
    if data.get("features", {}).get("callbacks") and "callbacks" not in data:
        raise ValueError("features.callbacks needs a [callbacks] table, the URL's member")
    if data.get("features", {}).get("callbacks") and "body" not in submit:
        raise ValueError("features.callbacks needs submit.body, where the URL goes")
    overrides: dict[str, dict[str, str | None]] = {}
    for rule_id, value in data.get("rules", {}).items():
        if rule_id not in RULES:
            raise ValueError(f"rules.{rule_id}: no such rule")
        overrides[rule_id] = {"level": value} if isinstance(value, str) else dict(value)
    features = frozenset(k for k, v in data.get("features", {}).items() if v is True)
    media_type = str(mon.get("media_type", "application/json"))
    return Profile(
        name=str(data["name"]),
        description=str(data.get("description", "")),
        submit_method=str(submit.get("method", "POST")).upper(),
        submit_path=str(submit["path"]),
        submit_headers=dict(submit.get("headers", {})),
        body=_body(submit, "body"),
        failing_body=_body(submit, "failing_body"),
        other_body=_body(submit, "other_body"),
        initiation_status=tuple(int(s) for s in init["status"]),
        monitor_header=str(init["monitor_header"]),
        monitor_template=init.get("monitor_template"),
        id_segment=int(init.get("id_segment", -1)),
        state_field=str(mon["state_field"]),
        id_field=mon.get("id_field"),
        progress_field=mon.get("progress_field"),
        created_field=mon.get("created_field"),
        started_field=mon.get("started_field"),
        finished_field=mon.get("finished_field"),
        error_field=str(mon.get("error_field", "error")),
        error_members=tuple(mon.get("error_members", ("type", "title", "code"))),
        result_link=mon.get("result_link"),
        result_field=mon.get("result_field"),
        result_template=mon.get("result_template"),
        result_header=mon.get("result_header"),
        result_media_types=tuple(m.lower() for m in mon.get("result_media_types", [media_type])),
        media_type=media_type,
        error_media_type=str(data.get("errors", {}).get("media_type", "application/problem+json")),
        error_types=dict(data.get("errors", {}).get("types", {})),
        states=states,
        success=str(mon["success"]),
        failure=mon.get("failure"),
        cancelled=mon.get("cancelled"),
        transitions=transitions,
        cancel_method=data.get("cancel", {}).get("method"),
        cancel_template=str(data.get("cancel", {}).get("template", "{monitor}")),
        cancel_may_remove=bool(data.get("cancel", {}).get("may_remove", False)),
        retry_after_max=int(data.get("retry_after", {}).get("max", 600)),
        retry_after_min=int(data.get("retry_after", {}).get("min", 0)),
        estimate_field=mon.get("estimate_field"),
        listing_path=data.get("listing", {}).get("path"),
        listing_items=data.get("listing", {}).get("items"),
        initiation_max=float(data.get("timing", {}).get("initiation_max", 2.0)),
        polls_max=int(data.get("timing", {}).get("polls_max", 30)),
        features=features,
        callback_members=_members(data.get("callbacks", {}).get("member", ())),
        spec=data.get("spec"),
        overrides=overrides,
        state_rules=tuple(
            StateRule(
                str(r["state"]),
                r.get("present"),
                dict(r.get("equals", {})),
                tuple(int(s) for s in r.get("status", ())),
            )
            for r in mon.get("state_rules", ())
        ),
    )


def _body(submit: Mapping[str, Any], key: str) -> Body | None:
    """The submit table's body ``key`` in its encoding, None when it gives none; the files of
    a multipart body go with every body of the operation."""
    if key not in submit:
        return None
    encoding = str(submit.get("encoding", "json"))
    return body_from(submit[key], encoding, submit.get("files"))


def _members(member: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``[callbacks] member``: one dotted member, or several."""
    return (member,) if isinstance(member, str) else tuple(member)


def dig(document: Any, dotted: str | None) -> Any:
    """``document["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    if dotted is None:
        return None
    for part in dotted.split("."):
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document
