"""The check file: ``lrokit.toml``, or ``[tool.lrokit]`` in ``pyproject.toml``, naming the base
URL, the headers every request carries (from environment variables), another principal's
(``other_headers``, as ``--other-header`` gives them: the TENANCY rules), completion webhooks
(``[webhooks]``, as ``--callbacks``, ``--callback-url`` and ``--webhook-secret`` give them),
the setup requests, and the operations to check, each with its own profile. ``lrokit check``
with no URL reads it, as the pytest plugin and the suite do with ``--check-file``; ``lrokit
init --spec`` writes one.

Secrets MUST NOT be written in the file: a header that carries one (Authorization, Cookie, an
API key) takes its value from the environment, ``Bearer ${API_TOKEN}``; a literal value there
is refused, in either table.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from lrokit.commandline import header
from lrokit.model.bodies import BodyError, body_from
from lrokit.model.exchange import carries_credentials
from lrokit.model.profile import Profile, ProfileError, load_profile_data
from lrokit.runner.overrides import SetupStep

NAMES = ("lrokit.toml", "pyproject.toml")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CheckFileError(ValueError):
    """A check file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class Operation:
    """One long-running operation of a check file, with the profile it is checked by."""

    name: str
    profile: Profile


@dataclass(frozen=True)
class CheckFile:
    path: Path
    url: str | None
    spec: str | None  # a path (made absolute) or a URL
    headers: Mapping[str, str]
    other_headers: Mapping[str, str]  # another principal's credentials (--other-header)
    setup: tuple[SetupStep, ...]
    operations: tuple[Operation, ...]
    # [webhooks] (--callbacks): where the server reaches the receiver, the signing secret.
    webhooks: bool = False
    callback_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)


def find_checkfile(directory: Path) -> Path | None:
    """The check file of ``directory``: its ``lrokit.toml``, else its ``pyproject.toml`` when
    that has a ``[tool.lrokit]`` table; None when it has neither."""
    candidate = directory / "lrokit.toml"
    if candidate.is_file():
        return candidate
    pyproject = directory / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return pyproject if isinstance(data.get("tool", {}).get("lrokit"), dict) else None


def load_checkfile(path: Path, environ: Mapping[str, str] | None = None) -> CheckFile:
    """The check file at ``path``, validated, its headers read from ``environ`` (default:
    the process's environment), its operations' profiles loaded."""
    env = os.environ if environ is None else environ
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CheckFileError(f"cannot read check file {path}: {exc}") from None
    if path.name == "pyproject.toml":
        document = document.get("tool", {}).get("lrokit")
        if not isinstance(document, dict):
            raise CheckFileError(f"{path} has no [tool.lrokit] table")
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        at = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise CheckFileError(f"check file {path} is invalid at {at}: {error.message}")
    here = path.parent
    spec = document.get("spec")
    if spec is not None and not re.match(r"^https?://", spec):
        spec = str((here / spec).resolve())
    names = [op["name"] for op in document["operations"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CheckFileError(f"check file {path}: operations named twice: {', '.join(twice)}")
    return CheckFile(
        path=path,
        url=document.get("url"),
        spec=spec,
        headers=_fields(path, document.get("headers", {}), env),
        other_headers=_fields(path, document.get("other_headers", {}), env),
        setup=tuple(_step(path, i, s) for i, s in enumerate(document.get("setup", []))),
        operations=tuple(_operation(path, op) for op in document["operations"]),
        webhooks="webhooks" in document,
        callback_url=document.get("webhooks", {}).get("url"),
        webhook_secret=_secret(path, document.get("webhooks", {}).get("secret"), env),
    )


def _fields(path: Path, table: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    return {name: _expanded(path, name, value, env) for name, value in table.items()}


def _secret(path: Path, value: str | None, env: Mapping[str, str]) -> str | None:
    """``[webhooks] secret``, from the environment only: written out, it is refused."""
    if value is None:
        return None
    if not _VARIABLE.fullmatch(value):
        raise CheckFileError(
            f"check file {path}: webhooks.secret is written out; a secret is never kept in the "
            'file: write secret = "${VARIABLE}" and set VARIABLE in the environment'
        )
    name = value[2:-1]
    if name not in env:
        raise CheckFileError(
            f"check file {path}: webhooks.secret needs the environment variable {name}, which "
            "is not set"
        )
    return env[name]


def _expanded(path: Path, name: str, value: str, env: Mapping[str, str]) -> str:
    """A header's value with each ``${NAME}`` read from the environment; a secret written
    out is refused, as is a variable that is not set."""
    if carries_credentials(name) and not _VARIABLE.search(value):
        raise CheckFileError(
            f"check file {path}: header {name} is written out; a secret is never kept in the "
            f'file: write {name} = "${{VARIABLE}}" and set VARIABLE in the environment'
        )
    missing = [v for v in _VARIABLE.findall(value) if v not in env]
    if missing:
        raise CheckFileError(
            f"check file {path}: header {name} needs the environment variable "
            f"{', '.join(missing)}, which is not set"
        )
    expanded = _VARIABLE.sub(lambda m: env[m.group(1)], value)
    try:  # the field as -H takes it: a token for a name, one line for a value
        header(f"{name}: {expanded}")
    except ValueError as exc:
        raise CheckFileError(f"check file {path}: header {exc}") from None
    return expanded


def _step(path: Path, index: int, step: Mapping[str, Any]) -> SetupStep:
    body = None
    if "body" in step or "files" in step:
        try:
            body = body_from(
                step.get("body"), step.get("encoding", "json"), step.get("files"), base=path.parent
            )
        except BodyError as exc:
            raise CheckFileError(f"check file {path}: setup[{index}]: {exc}") from None
    return SetupStep(str(step["method"]).upper(), str(step["path"]), body, step.get("headers"))


def _operation(path: Path, table: Mapping[str, Any]) -> Operation:
    """An operation's profile: its tables over ``profile`` when it names one, else its
    tables alone; paths in it are relative to the check file."""
    data = {k: v for k, v in table.items() if k != "profile"}
    if "profile" in table:  # named after the profile it extends, which reports say it is
        data["extends"] = table["profile"]
        del data["name"]
    try:
        profile = load_profile_data(data, path)
    except ProfileError as exc:
        where = f"check file {path}, operation {table['name']}"
        raise CheckFileError(str(exc).replace(f"profile {path}", where, 1)) from None
    return Operation(str(table["name"]), profile)


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads((files("lrokit") / "schemas" / "checkfile.schema.json").read_text())
    return Draft202012Validator(schema)
