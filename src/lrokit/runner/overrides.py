"""What the command line changes in a profile, so that no file is needed for the common
cases: the operation (``--submit 'METHOD PATH'``), its body (``--data``, ``--form``,
``--urlencoded``, ``--no-body``), a body whose job fails (``--failing-data``), and where the
monitor and the result are (``--monitor-template``, ``--result-template``); and the requests
sent before a run (``--setup``), parsed here and sent by :mod:`lrokit.runner.setup`.

``@FILE`` reads a value from a file, as curl does: ``--data @body.json`` the JSON document,
``--form attachment=@flow.cwl`` a file to attach (multipart), ``--urlencoded --form
text=@note.txt`` the file's text as the field's value.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lrokit.commandline import argument_text, json_argument
from lrokit.model.bodies import Body, BodyError, body_from
from lrokit.model.profile import Profile

#: The methods an operation that starts a job may have (the profile schema's).
SUBMIT_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class OverrideError(ValueError):
    """An override no run can use; ``option`` names it (``--data``), ``reason`` says why."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(f"{option}: {reason}")
        self.option = option
        self.reason = reason


@dataclass(frozen=True)
class SetupStep:
    """A request sent before a run (to create what the operation needs, e.g. its parent
    resource): a failure is the user's to fix, never a verdict on the server."""

    method: str
    path: str
    body: Body | None = None
    headers: Mapping[str, str] | None = None

    def describe(self) -> str:
        return f"{self.method} {self.path}"


def overridden(profile: Profile, raw: Mapping[str, Any], base: Path | None = None) -> Profile:
    """``profile`` with the command line's overrides (``raw`` by option name, as typed;
        absent or None: not given); ``@FILE`` paths are relative to ``base`` (default: the working
        directory). A body given anew drops the profile's other bodies, which were for its own; an
    operation given anew drops its listing of jobs too."""
    changes: dict[str, Any] = {}
    if raw.get("submit"):
        changes["submit_method"], changes["submit_path"] = _operation("--submit", raw["submit"])
        changes["listing_path"] = None  # the profile's listing lists its own operation's jobs
    body = _body(raw, base)
    if raw.get("no-body"):
        if body is not None or raw.get("failing-data"):
            raise OverrideError("--no-body", "is given with a body (--data, --form)")
        changes.update(body=None, failing_body=None, other_body=None)
    elif body is not None:
        changes.update(body=body, failing_body=None, other_body=None)
    elif raw.get("submit"):  # another operation: the profile's bodies were for its own
        changes.update(failing_body=None, other_body=None)
    if raw.get("failing-data"):
        model = changes.get("body", profile.body)
        value = _json("--failing-data", raw["failing-data"], base)
        encoding = model.encoding if model is not None else "json"
        failing = _built("--failing-data", value, encoding, None, base)
        # the files of a multipart body go with every body of the operation
        changes["failing_body"] = replace(failing, files=model.files) if model else failing
    if raw.get("monitor-template"):
        template = str(raw["monitor-template"])
        if not template.startswith("/"):
            raise OverrideError("--monitor-template", f"{template!r} is not a path (from /)")
        changes["monitor_template"] = template
    if raw.get("result-template"):
        template = str(raw["result-template"])
        if not template.startswith(("{monitor}", "{submit}")):
            raise OverrideError(
                "--result-template", f"{template!r} starts neither with {{monitor}} nor {{submit}}"
            )
        changes["result_template"] = template
    return replace(profile, **changes) if changes else profile


def setup_steps(values: Iterable[str], base: Path | None = None) -> tuple[SetupStep, ...]:
    """``--setup 'METHOD PATH [--data JSON|@FILE] [--form NAME=VALUE ...] [--urlencoded]'``
    as steps, in order."""
    steps = []
    for value in values:
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise OverrideError("--setup", f"{value!r}: {exc}") from None
        if len(words) < 2:
            raise OverrideError("--setup", f"{value!r} is not 'METHOD PATH [--data ...]'")
        method, path = _operation("--setup", " ".join(words[:2]), methods=None)
        options: dict[str, Any] = {"form": []}
        rest = iter(words[2:])
        for word in rest:
            if word == "--urlencoded":
                options["urlencoded"] = True
            elif word in ("--data", "--form"):
                argument = next(rest, None)
                if argument is None:
                    raise OverrideError("--setup", f"{value!r}: {word} needs a value")
                if word == "--data":
                    options["data"] = argument
                else:
                    options["form"].append(argument)
            else:
                raise OverrideError(
                    "--setup", f"{value!r}: {word!r} is none of --data, --form, --urlencoded"
                )
        steps.append(SetupStep(method, path, _body(options, base, option="--setup")))
    return tuple(steps)


def _operation(
    option: str, value: str, methods: tuple[str, ...] | None = SUBMIT_METHODS
) -> tuple[str, str]:
    method, _, path = str(value).strip().partition(" ")
    method, path = method.upper(), path.strip()
    if not _TOKEN.match(method) or (methods is not None and method not in methods):
        allowed = ", ".join(methods) if methods else "an HTTP method"
        raise OverrideError(option, f"{value!r}: the method is not one of {allowed}")
    if not path.startswith("/") or " " in path:
        raise OverrideError(option, f"{value!r} is not 'METHOD /PATH'")
    return method, path


def _body(raw: Mapping[str, Any], base: Path | None, option: str | None = None) -> Body | None:
    """The body the options give: ``--data`` (JSON), ``--form`` fields (multipart, or a form
    with ``--urlencoded``), or None."""
    data, form = raw.get("data"), list(raw.get("form") or ())
    if data and form:
        raise OverrideError(option or "--form", "is given with --data: give one body")
    if raw.get("urlencoded") and not form:
        raise OverrideError(option or "--urlencoded", "needs the fields, given with --form")
    if data:
        return _built(option or "--data", _json(option or "--data", data, base), "json", None, base)
    if not form:
        return None
    encoding = "form" if raw.get("urlencoded") else "multipart"
    fields: dict[str, Any] = {}
    files: dict[str, list[str]] = {}
    for item in form:
        name, equals, value = str(item).partition("=")
        if not equals or not name:
            raise OverrideError(option or "--form", f"{item!r} is not NAME=VALUE or NAME=@FILE")
        if value.startswith("@") and encoding == "multipart":
            files.setdefault(name, []).append(value[1:])
        elif value.startswith("@"):
            value = _text(option or "--form", value, base)
            fields.setdefault(name, []).append(value)
        else:
            fields.setdefault(name, []).append(value)
    flat = {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
    return _built(option or "--form", flat, encoding, files or None, base)


def _built(
    option: str, value: Any, encoding: str, files: Mapping[str, Any] | None, base: Path | None
) -> Body:
    try:
        return body_from(value, encoding, files, base=base or Path.cwd())
    except BodyError as exc:
        raise OverrideError(option, str(exc)) from None


def _json(option: str, value: str, base: Path | None) -> Any:
    """A JSON document typed in, or read from ``@FILE``."""
    try:
        return json_argument(value, base)
    except ValueError as exc:
        raise OverrideError(option, str(exc)) from None


def _text(option: str, value: str, base: Path | None) -> str:
    """A field's text typed in, or read from ``@FILE``."""
    try:
        return argument_text(value, base)
    except ValueError as exc:
        raise OverrideError(option, str(exc)) from None
