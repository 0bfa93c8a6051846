"""What every ``lrokit`` command shares on its command line, so that an option means the same
in every command.

* :func:`option`: a click option whose ``--help`` names its ``LROKIT_*`` variable, derived from
  its long name (``--max-wait`` is ``LROKIT_MAX_WAIT``). Precedence: the flag, then the
  variable, then the default.
* :func:`output_option`: ``--json FILE``, ``--junit FILE``, ``--sarif FILE``; ``-`` is standard
  output (never a file named ``-``), and the human report then goes to standard error.
* :func:`header`: one ``NAME: VALUE`` field, validated once for every command that sends them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

#: RFC 9110 §5.6.2 token: what a field name is made of (§5.1).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def envvar(long_name: str) -> str:
    """The variable of an option: ``--max-wait`` -> ``LROKIT_MAX_WAIT``."""
    return "LROKIT_" + long_name.lstrip("-").upper().replace("-", "_")


def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """``click.option`` with its ``LROKIT_*`` variable, shown in ``--help`` with its default."""
    long_name = next(d for d in decls if d.startswith("--")).split("/", 1)[0]
    attrs.setdefault("envvar", envvar(long_name))
    attrs.setdefault("show_envvar", True)
    if attrs.get("default") is not None and not attrs.get("is_flag"):
        attrs.setdefault("show_default", True)
    return click.option(*decls, **attrs)


class Lines(click.types.StringParamType):
    """Repeatable text whose variable holds one value per line (a header value has spaces)."""

    envvar_list_splitter = "\n"


class Output:
    """Where a report goes: a file, or standard output when the name is ``-``."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def is_stdout(self) -> bool:
        return self.name == "-"

    def write(self, document: bytes) -> None:
        """Write ``document``; a file that cannot be written is a usage error (one line)."""
        if self.is_stdout:
            text = document.decode("utf-8")
            click.echo(text, nl=not text.endswith("\n"))
            return
        try:
            Path(self.name).write_bytes(document)
        except OSError as exc:
            raise click.UsageError(f"cannot write {self.name}: {exc.strerror or exc}") from exc

    def sibling(self, suffix: str) -> Output:
        """A file beside this one: ``junit.xml`` -> ``junit-layers.xml``."""
        path = Path(self.name)
        return Output(str(path.with_name(f"{path.stem}{suffix}{path.suffix}")))


def _output(ctx: click.Context, param: click.Parameter, value: str | None) -> Output | None:
    if value is None:
        return None
    if not value:
        raise click.BadParameter("an empty file name (use - for standard output)", ctx, param)
    return Output(value)


def output_option(name: str, help: str) -> Callable[[F], F]:
    """``--NAME FILE``: write a report there; ``-`` is standard output."""
    return option(
        f"--{name}",
        f"{name}_output",
        callback=_output,
        metavar="FILE",
        help=f"{help} (- for standard output).",
    )


def stdout_taken(*outputs: Output | None) -> bool:
    """Whether a report goes to standard output (the human report then goes to stderr)."""
    return any(output is not None and output.is_stdout for output in outputs)


def argument_text(value: str, base: Path | None = None) -> str:
    """An argument as typed, or, given as ``@FILE``, the file's text (``@-``: standard
    input), a relative FILE under ``base`` (default: the working directory), as curl reads
    it. Raises :class:`ValueError` naming the file that cannot be read."""
    if not value.startswith("@"):
        return value
    name = value[1:]
    if name == "-":
        return sys.stdin.read()
    path = Path(name) if base is None or Path(name).is_absolute() else base / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None


def json_argument(value: str, base: Path | None = None) -> Any:
    """A JSON document typed in, or read from ``@FILE`` (:func:`argument_text`). Raises
    :class:`ValueError` saying why it cannot be read or is not JSON."""
    text = argument_text(value, base)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None


def header(value: str) -> tuple[str, str]:
    """``NAME: VALUE`` as a field: the name a token (RFC 9110 §5.1), the value on one line
    (§5.5: no CR or LF). Raises :class:`ValueError` saying what is wrong."""
    name, colon, content = value.partition(":")
    if not colon or not _TOKEN.fullmatch(name.strip()):
        raise ValueError(f"{value!r} is not NAME:VALUE")
    if "\r" in content or "\n" in content:
        raise ValueError(f"{name.strip()} has a line break in its value")
    return name.strip(), content.strip()


#: Columns of a report written to a file or a pipe (a CI log): URLs and ids then fit on their
#: line whole, where the 80 a terminal-less console assumes would break them.
LOG_WIDTH = 200


def report_console(*, stderr: bool) -> Console:
    """The console a report is printed on: the terminal's width, else ``LOG_WIDTH`` (or the
    ``COLUMNS`` the environment sets)."""
    from rich.console import Console  # on use: the pytest plugin imports this module

    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, width=LOG_WIDTH)
    return console
