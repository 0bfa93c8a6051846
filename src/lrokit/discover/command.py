"""``lrokit init --spec SPEC``: write a check file aimed at the long-running operations an API
description declares.

Exit status: 0 written; 2 a usage error (one line on stderr through ``lrokit.cli.main``): the
document cannot be read, describes no long-running operation, or ``--out`` exists without
``--force``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import click

from lrokit.commandline import Output, option


@click.command()
@option(
    "--spec",
    required=True,
    metavar="PATH_OR_URL",
    help="The API description: OpenAPI 3.0/3.1 or Swagger 2.0, YAML or JSON, a path or an "
    "http(s) URL.",
)
@option(
    "--out",
    default="lrokit.toml",
    metavar="FILE",
    help="Where to write the check file (- for standard output).",
)
@option("--url", metavar="URL", help="The API's base URL, written as the file's url.")
@option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(spec: str, out: str, url: str | None, force: bool) -> None:
    """Write a check file (TOML) for the long-running operations of the API description
    --spec: one whole profile per operation, each value with the JSON pointer it was read
    from, and what could not be inferred marked NOT INFERRED.

    Exit status: 0 written, 2 a usage error or a document without a long-running operation.
    """
    from lrokit.discover.checkfile import render
    from lrokit.discover.profiles import discover
    from lrokit.discover.specs import read_spec, security_headers
    from lrokit.lint.document import SpecError

    parts = urlsplit(url or "")
    if url is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise click.UsageError(f"--url: {url!r} is not an absolute http(s) URL with a host")
    output = Output(out)
    if not out:
        raise click.UsageError("--out: an empty file name (use - for standard output)")
    if not output.is_stdout and Path(out).exists() and not force:
        raise click.UsageError(f"{out} exists: pass --force to overwrite it")
    try:
        found = discover(read_spec(spec))
    except SpecError as exc:
        raise click.UsageError(str(exc)) from exc
    text = render(
        found,
        url=url or found.spec.server,
        spec=_reference(spec, out),
        command=" ".join(["lrokit init --spec", spec, *(["--url", url] if url else [])]),
        headers=security_headers(found.spec),
    )
    output.write(text.encode("utf-8"))
    missing = sum(n.missing for i in found.operations for n in i.notes)
    names = ", ".join(i.name for i in found.operations)
    count = len(found.operations)
    click.echo(
        f"lrokit init: {'standard output' if output.is_stdout else out}: {count} long-running "
        f"operation{'' if count == 1 else 's'} ({names}); {missing} value"
        f"{'' if missing == 1 else 's'} NOT INFERRED, marked in the file",
        err=True,
    )


def _reference(spec: str, out: str) -> str:
    """The document as the check file names it: a URL as given, a path relative to the
    file's directory."""
    if spec.startswith(("http://", "https://")):
        return spec
    base = Path.cwd() if out == "-" else Path(out).resolve().parent
    return Path(os.path.relpath(Path(spec).resolve(), base)).as_posix()
