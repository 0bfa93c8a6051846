"""``lrokit submit URL --data @body.json --wait``: the client (lrokit.client) on the command line.

Exit codes: 0 when the operation is accepted (without ``--wait``) or ends DONE; 1 when it ends
in ERROR or CANCELLED (the problem is printed); 2 for usage errors, a refused submission, an
unreachable server or the deadline (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    Via,
)
from lrokit.commandline import Lines, Output, header, json_argument, option, output_option


class SubmitError(click.ClickException):
    """A failure that is not the operation's: exit code 2, one line."""

    exit_code = 2


def _body(data: str) -> object:
    """``@FILE`` (``@-`` for stdin) or a JSON text."""
    try:
        return json_argument(data)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--data") from exc


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    try:
        return dict(header(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--header") from exc


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(document), indent=2, ensure_ascii=False).encode() + b"\n"


def _report(json_output: Output | None, status: Mapping[str, Any], link: str | None) -> None:
    """The status document where ``--json`` says; the link on standard output unless the
    document took it."""
    if json_output is not None:
        json_output.write(_json(status))
    if json_output is None or not json_output.is_stdout:
        click.echo(link)


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
@option("--data", "-d", required=True, help="The JSON body: a JSON text, @FILE or @-.")
@option(
    "--header",
    "-H",
    "header",
    multiple=True,
    type=Lines(),
    metavar="'NAME: VALUE'",
    help="Send this header too (repeatable).",
)
@option("--idempotency-key", help="Send this Idempotency-Key (quoted for you).")
@option("--wait/--no-wait", default=False, help="Poll the monitor to a terminal state.")
@option(
    "--via",
    type=click.Choice(["poll", "wait", "stream"]),
    default="poll",
    help="With --wait: 'poll' by Retry-After; 'wait': ask the monitor to hold each read until "
    "the status changes (Prefer: wait); 'stream': read its Server-Sent Events. A server "
    "without the channel is polled.",
)
@option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    help="Seconds to wait in total, from submission to a terminal state.",
)
@option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    help="Seconds one request may take, first byte to last.",
)
@output_option("json", "Write the (final) status document as JSON")
@option(
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
    via: Via,
    deadline: float,
    timeout: float,
    json_output: Output | None,
    output: Path | None,
) -> None:
    """Submit a long-running operation to URL and, with --wait, follow it to its end.

    Polls honour Retry-After (RFC 9110 §10.2.3); with --via wait the server holds each
    until the status changes, with --via stream it sends each change as an event. Prints the
    result link, or the RFC 9457 problem of a failed operation.
    """
    body, headers = _body(data), _headers(header)
    if output is not None and not wait:
        raise click.UsageError("--output needs --wait")
    if via != "poll" and not wait:
        raise click.UsageError("--via needs --wait")
    console = Console(stderr=True)
    try:
        with Client(policy=Policy(deadline=deadline), timeout=min(timeout, deadline)) as client:
            operation = client.submit(url, body, idempotency_key=idempotency_key, headers=headers)
            if not wait:
                _report(json_output, operation.status, operation.monitor)
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

                result = client.wait(operation, on_progress=show, via=via)
            if output is not None:
                output.write_bytes(result.download().content)
                console.print(f"saved {result.result_url} to {output}", highlight=False)
            _report(json_output, result.status, result.result_url or result.monitor)
    except OperationFailed as failure:
        if json_output is not None:
            json_output.write(_json(failure.status))
        _print_failure(failure, console)
        ctx.exit(1)
    except LroError as exc:  # refused, timed out, or an answer that is not the pattern's
        raise SubmitError(str(exc)) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SubmitError(f"{type(exc).__name__}: {exc or 'no answer'} ({url})") from exc
    except OSError as exc:
        raise SubmitError(f"cannot write {output}: {exc.strerror}") from exc
