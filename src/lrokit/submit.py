"""``lrokit submit URL --data @body.json --wait``: the client (lrokit.client) on the command line.

Exit codes: 0 when the operation is accepted (without ``--wait``) or ends DONE; 1 when it ends
in ERROR or CANCELLED (the problem is printed); 2 for usage errors, a refused submission, an
unreachable server or the deadline (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lrokit.client import (
    Client,
    LroError,
    Operation,
    OperationFailed,
    Policy,
)


class SubmitError(click.ClickException):
    """A failure that is not the operation's: exit code 2, one line."""

    exit_code = 2


def _body(data: str) -> object:
    """``@FILE`` (``@-`` for stdin) or a JSON text."""
    try:
        if data.startswith("@"):
            name = data[1:]
            text = sys.stdin.read() if name == "-" else Path(name).read_text()
        else:
            text = data
        return json.loads(text)
    except OSError as exc:
        message = f"cannot read {data[1:]}: {exc.strerror}"
        raise click.BadParameter(message, param_hint="--data") from exc
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from exc


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not NAME:VALUE", param_hint="--header")
        headers[name.strip()] = content.strip()
    return headers


def _print_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _print_failure(failure: OperationFailed, console: Console) -> None:
    state = failure.status.get("status", "failed") if failure.status else "failed"
    console.print(f"[bold red]{state}[/]: {failure.monitor}", highlight=False)
    problem = failure.problem
    if problem is None:
        return
    fields: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": problem.instance,
        **problem.extensions,
    }
    for name, value in fields.items():
        if value is not None:
            console.print(f"  {name}: {value}", highlight=False, markup=False)


@click.command("submit")
@click.argument("url")
@click.option("--data", "-d", required=True, help="The JSON body: a JSON text, @FILE or @-.")
@click.option("--header", "-H", "header", multiple=True, help="An extra header, NAME:VALUE.")
@click.option("--idempotency-key", help="Send this Idempotency-Key (quoted for you).")
@click.option("--wait/--no-wait", default=False, help="Poll the monitor to a terminal state.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="Seconds to wait in total for a terminal state.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the (final) status document.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="With --wait: download the result into FILE.",
)
@click.pass_context
def submit(
    ctx: click.Context,
    url: str,
    data: str,
    header: tuple[str, ...],
    idempotency_key: str | None,
    wait: bool,
    timeout: float,
    as_json: bool,
    output: Path | None,
) -> None:
    """Submit a long-running operation to URL and, with --wait, follow it to its end.

    Polls honour Retry-After (RFC 9110 §10.2.3); prints the result link, or the RFC 9457
    problem of a failed operation.
    """
    body, headers = _body(data), _headers(header)
    if output is not None and not wait:
        raise click.UsageError("--output needs --wait")
    console = Console(stderr=True)
    try:
        with Client(policy=Policy(deadline=timeout), timeout=min(timeout, 30.0)) as client:
            operation = client.submit(url, body, idempotency_key=idempotency_key, headers=headers)
            if not wait:
                if as_json:
                    _print_json(dict(operation.status))
                else:
                    click.echo(operation.monitor)
                ctx.exit(0)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                disable=not console.is_terminal,
            ) as bar:
                task = bar.add_task(str(operation.state or "submitted"), total=100)

                def show(op: Operation, task: TaskID = task) -> None:
                    bar.update(task, completed=op.progress or 0, description=str(op.state))

                result = client.wait(operation, on_progress=show)
            if output is not None:
                output.write_bytes(result.download().content)
                console.print(f"saved {result.result_url} to {output}", highlight=False)
            if as_json:
                _print_json(dict(result.status))
            else:
                click.echo(result.result_url or result.monitor)
    except OperationFailed as failure:
        if as_json:
            _print_json(dict(failure.status))
        _print_failure(failure, console)
        ctx.exit(1)
    except LroError as exc:  # refused, timed out, or an answer that is not the pattern's
        raise SubmitError(str(exc)) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SubmitError(f"{type(exc).__name__}: {exc or 'no answer'} ({url})") from exc
    except OSError as exc:
        raise SubmitError(f"cannot write {output}: {exc.strerror}") from exc
