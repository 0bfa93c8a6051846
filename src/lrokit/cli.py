"""The ``lrokit`` command line: ``lrokit serve`` runs the reference server.

Configuration precedence: flags, then ``LROKIT_*`` environment variables, then defaults.
Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import click

from lrokit import __version__
from lrokit.lint.command import lint
from lrokit.submit import submit

_LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lrokit")
def cli() -> None:
    """lrokit: the asynchronous request-reply (202 Accepted) contract kit."""


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="LROKIT_HOST",
    help="Interface to listen on.",
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    envvar="LROKIT_PORT",
    type=click.IntRange(0, 65535),
    help="TCP port (0 picks a free one).",
)
@click.option(
    "--db",
    default=Path("lrokit-data/jobs.sqlite3"),
    show_default=True,
    envvar="LROKIT_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file of the durable job store (created if missing).",
)
@click.option(
    "--store",
    default=None,
    envvar="LROKIT_STORE",
    help="postgresql://… to keep jobs in PostgreSQL, shared by several processes "
    "[default: SQLite at --db].",
)
@click.option(
    "--dataset",
    default=None,
    envvar="LROKIT_DATASET",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sample sales dataset file [default: sales.sqlite3 beside --db].",
)
@click.option(
    "--dataset-rows",
    default=1_000_000,
    show_default=True,
    envvar="LROKIT_DATASET_ROWS",
    type=click.IntRange(1, 50_000_000),
    help="Rows of the sample dataset generated on first start.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    envvar="LROKIT_WORKERS",
    type=click.IntRange(0, 64),
    help="Background report workers (0: API only).",
)
@click.option(
    "--pace",
    default=0.0,
    show_default=True,
    envvar="LROKIT_PACE",
    type=click.FloatRange(0, 3600),
    help="Make every report take at least this many seconds (demos, conformance).",
)
@click.option(
    "--retry-after-max",
    default=10,
    show_default=True,
    envvar="LROKIT_RETRY_AFTER_MAX",
    type=click.IntRange(1, 3600),
    help="Upper bound of the Retry-After seconds the monitor advises.",
)
@click.option(
    "--lease",
    "lease_seconds",
    default=30.0,
    show_default=True,
    envvar="LROKIT_LEASE",
    type=click.FloatRange(0.5, 3600),
    help="Seconds a worker's claim on a job lasts without a heartbeat.",
)
@click.option(
    "--max-attempts",
    default=3,
    show_default=True,
    envvar="LROKIT_MAX_ATTEMPTS",
    type=click.IntRange(1, 100),
    help="Attempts that lose their worker before a report ends in ERROR (WORKER_LOST).",
)
@click.option(
    "--retention",
    default=7 * 24 * 3600.0,
    show_default=True,
    envvar="LROKIT_RETENTION",
    type=click.FloatRange(1, 10 * 365 * 24 * 3600),
    help="Seconds a finished report stays readable; after it, 410 Gone.",
)
@click.option(
    "--max-body",
    "max_body_bytes",
    default=65536,
    show_default=True,
    envvar="LROKIT_MAX_BODY",
    type=click.IntRange(1024, 64 * 1024 * 1024),
    help="Largest request body accepted, in bytes (413 beyond).",
)
@click.option(
    "--fast-path/--no-fast-path",
    default=True,
    show_default=True,
    envvar="LROKIT_FAST_PATH",
    help="Answer fully valid requests of the hot operations by validators compiled from the "
    "contract; everything else goes through connexion's stack either way.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    envvar="LROKIT_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    host: str,
    port: int,
    db: Path,
    store: str | None,
    dataset: Path | None,
    dataset_rows: int,
    workers: int,
    pace: float,
    retry_after_max: int,
    lease_seconds: float,
    max_attempts: int,
    retention: float,
    max_body_bytes: int,
    fast_path: bool,
    log_level: str,
) -> None:
    """Run the reference server (Swagger UI at /ui, contract at /openapi.json)."""
    import uvicorn

    # connexion 3.3 imports starlette.testclient, which warns about httpx at import time;
    # the warning is about test tooling and means nothing to someone running the server.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from lrokit.server.http.app import create_app
    from lrokit.server.settings import Settings

    try:
        settings = Settings(
            db=db,
            store=store,
            dataset=dataset,
            dataset_rows=dataset_rows,
            workers=workers,
            pace=pace,
            retry_after_max=retry_after_max,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            retention=retention,
            max_body_bytes=max_body_bytes,
            fast_path=fast_path,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    _preflight(None if settings.store else settings.db, settings.dataset_path, settings.store)
    logging.basicConfig(level=log_level.upper(), format=_LOG_FORMAT)
    app = create_app(settings)
    # An access log line per request only where the log level shows it: the logging call
    # alone costs the status GET several per cent.
    access_log = log_level in ("debug", "info")
    uvicorn.run(
        app, host=host, port=port, log_level=log_level, log_config=None, access_log=access_log
    )


def _worker(**options: Any) -> None:
    """Run report workers without the API, on a job store shared with API processes
    (``--store postgresql://…``); stop cleanly on SIGTERM or SIGINT."""
    from lrokit.server.settings import Settings

    log_level = options.pop("log_level")
    try:
        settings = Settings(**options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if settings.workers < 1:
        raise click.UsageError("a worker process needs --workers 1 or more")
    _preflight(None if settings.store else settings.db, settings.dataset_path, settings.store)
    logging.basicConfig(level=log_level.upper(), format=_LOG_FORMAT)
    asyncio.run(_run_workers(settings))


async def _run_workers(settings: Any) -> None:
    import signal

    from lrokit.server.jobs.backends import make_store
    from lrokit.server.work.workers import WorkerPool

    store = make_store(settings)
    await store.open()
    pool = WorkerPool(store, settings)
    await pool.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logging.getLogger("lrokit.jobs").info("lrokit worker: %d workers", settings.workers)
    try:
        await stop.wait()
    finally:
        await pool.stop()
        await store.close()


#: ``lrokit worker`` takes serve's job and store options, not its HTTP ones.
worker = click.Command(
    "worker",
    callback=_worker,
    help=_worker.__doc__,
    params=[
        p
        for p in serve.params
        if p.name not in {"host", "port", "max_body_bytes", "retry_after_max", "fast_path"}
    ],
)
cli.add_command(worker)
cli.add_command(submit)
cli.add_command(lint)


def _pairs(values: tuple[str, ...], sep: str, what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, found, rest = value.partition(sep)
        if not found or not name.strip():
            raise click.UsageError(f"{what} {value!r} is not NAME{sep}VALUE")
        pairs[name.strip()] = rest.strip()
    return pairs


def _rule_names(values: tuple[str, ...]) -> set[str]:
    from lrokit.rules import FAMILIES, LINT_FAMILY, RULES, RUNTIME_RULES

    names = {name.strip().upper() for value in values for name in value.split(",") if name.strip()}
    unknown = names - set(RULES) - set(FAMILIES)
    if unknown:
        raise click.UsageError(f"unknown rule or family: {', '.join(sorted(unknown))}")
    static = sorted(n for n in names if n == LINT_FAMILY or (n in RULES and n not in RUNTIME_RULES))
    if static:
        raise click.UsageError(
            f"{', '.join(static)}: rules of a specification, judged by lrokit lint, not check"
        )
    return names


@cli.command()
@click.argument("url")
@click.option(
    "--profile",
    default="canonical",
    show_default=True,
    envvar="LROKIT_PROFILE",
    help="A built-in profile name (lrokit profiles lists them) or a profile file (TOML).",
)
@click.option(
    "--profile-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A profile of your own (TOML, see lrokit/schemas/profile.schema.json); wins over "
    "--profile.",
)
@click.option(
    "--spec",
    default=None,
    envvar="LROKIT_SPEC",
    help="The target's OpenAPI document (path or URL) [default: the profile's].",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Send this header with every request (e.g. auth); redacted in reports.",
)
@click.option(
    "--query",
    "query",
    multiple=True,
    metavar="NAME=VALUE",
    help="Add this query parameter to every request (e.g. api-version=2024-01-01).",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON report (schema: lrokit/schemas/report.schema.json).",
)
@click.option("--strict", is_flag=True, help="SHOULD failures fail the run.")
@click.option(
    "--max-wait",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.1, 86400),
    help="Seconds a job may take to reach a terminal state.",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Multiply every Retry-After wait (below 1 polls sooner than asked).",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds one request may take, first byte to last.",
)
@click.option(
    "--max-requests",
    default=500,
    show_default=True,
    type=click.IntRange(50, 100_000),
    help="Requests the whole run may send.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="RULES",
    help="Check only these rule ids or families (comma-separated, repeatable).",
)
@click.option(
    "--skip", multiple=True, metavar="RULES", help="Do not check these rule ids or families."
)
@click.option(
    "--allow-cross-origin", is_flag=True, help="Follow monitor and result links to other origins."
)
@click.option(
    "--deep",
    is_flag=True,
    help="Then run the pytest suite's generative layers too: schemathesis over the contract "
    "and the lifecycle state machine.",
)
def check(
    url: str,
    profile: str,
    profile_file: Path | None,
    spec: str | None,
    headers: tuple[str, ...],
    query: tuple[str, ...],
    junit: Path | None,
    json_path: Path | None,
    strict: bool,
    max_wait: float,
    time_scale: float,
    timeout: float,
    max_requests: int,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    allow_cross_origin: bool,
    deep: bool,
) -> None:
    """Check the asynchronous request-reply behaviour of the server at URL.

    Exit status: 0 conformant, 1 a conformance failure, 2 a usage or tester error.
    """
    import asyncio
    from urllib.parse import urlsplit

    import orjson
    from rich.console import Console

    from lrokit.model.contract import ContractError, load_contract
    from lrokit.model.profile import ProfileError, load_profile
    from lrokit.runner.reporters import LiveProgress, print_console, to_json, to_junit
    from lrokit.runner.run import run
    from lrokit.runner.target import TargetConfig
    from lrokit.runner.verdicts import exit_code

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.UsageError(f"URL must be an absolute http(s) URL, not {url!r}")
    try:
        if profile_file is not None:
            profile = str(profile_file)
        chosen = load_profile(profile)
        source = spec or chosen.spec_source
        contract = load_contract(source) if source else None
    except (ProfileError, ContractError) as exc:
        raise click.UsageError(str(exc)) from exc
    config = TargetConfig(
        base_url=url,
        headers=_pairs(headers, ":", "header"),
        query=_pairs(query, "=", "query parameter"),
        timeout=timeout,
        max_requests=max_requests,
        max_wait=max_wait,
        time_scale=time_scale,
        allow_cross_origin=allow_cross_origin,
    )
    console = Console(stderr=False)
    with LiveProgress(console, url) as progress:
        report = asyncio.run(
            run(
                config,
                chosen,
                contract=contract,
                only=_rule_names(only),
                skip=_rule_names(skip),
                strict=strict,
                observer=progress,
            )
        )
    print_console(report, console)
    try:
        if junit is not None:
            junit.write_bytes(to_junit(report))
        if json_path is not None:
            json_path.write_bytes(orjson.dumps(to_json(report, strict), option=orjson.OPT_INDENT_2))
    except OSError as exc:
        raise click.UsageError(f"cannot write the report: {exc}") from exc
    code = exit_code(report.verdicts)
    if deep:
        layers = [url, "--profile", profile, "--max-wait", str(max_wait)]
        layers += ["--time-scale", str(time_scale), *(["--spec", spec] if spec else [])]
        layers += [arg for h in headers for arg in ("--header", h)]
        layers += [arg for q in query for arg in ("--query", q)]
        if strict:
            layers.append("--strict")
        if junit is not None:
            layers.append(f"--junitxml={junit.with_name(f'{junit.stem}-layers{junit.suffix}')}")
        code = max(code, _generative_layers(layers))
    raise click.exceptions.Exit(code)


def _generative_layers(args: list[str]) -> int:
    """Run the conformance suite's schemathesis and lifecycle layers with pytest, isolated
    from any pytest configuration of the working directory and from the pytest plugins that
    happen to be installed (only the two the layers use are loaded); map pytest's exit status.

    Loading them by module also spares pytest's rewriting of the asserts of every module of
    their packages on each run, which it cannot cache under PYTHONDONTWRITEBYTECODE or in a
    read-only environment (about a second)."""
    import tempfile

    import pytest

    from lrokit import conformance

    url, rest = args[0], args[1:]
    with tempfile.TemporaryDirectory(prefix="lrokit-") as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        status = pytest.main(
            [
                conformance.__path__[0],
                "-c",
                str(ini),
                "--rootdir",
                scratch,
                "-p",
                "no:cacheprovider",
                "--disable-plugin-autoload",
                "-p",
                "schemathesis.pytest.plugin",
                "-p",
                "_hypothesis_pytestplugin",
                "-q",
                "-k",
                "test_schema or test_lifecycle",
                "--target-url",
                url,
                *rest,
            ]
        )
    if status == pytest.ExitCode.OK:
        return 0
    return 1 if status == pytest.ExitCode.TESTS_FAILED else 2


@cli.command()
def profiles() -> None:
    """List the built-in profiles (dialects) that check --profile takes."""
    from rich.console import Console
    from rich.table import Table

    from lrokit.model.profile import builtin_profiles, load_profile

    table = Table(expand=True)
    for column in ("profile", "initiation", "monitor pointer", "states", "description"):
        table.add_column(column)
    for name in sorted(builtin_profiles()):
        dialect = load_profile(name)
        table.add_row(
            name,
            " or ".join(map(str, dialect.initiation_status)),
            dialect.monitor_header
            if dialect.monitor_template is None
            else f"{dialect.monitor_header}, else {dialect.monitor_template}",
            ", ".join(dialect.states),
            dialect.description,
        )
    Console().print(table)


@cli.command()
@click.option("--markdown", is_flag=True, help="Print docs/rules.md.")
def rules(markdown: bool) -> None:
    """List the conformance rules."""
    from rich.console import Console
    from rich.table import Table

    from lrokit.rules import by_family, render_markdown

    if markdown:
        click.echo(render_markdown(), nl=False)
        return
    table = Table(expand=True)
    for column in ("rule", "level", "basis", "rule text", "source"):
        table.add_column(column)
    for _family, members in by_family():
        table.add_section()
        for rule in members:
            table.add_row(rule.id, str(rule.level), str(rule.basis), rule.text, rule.citation)
    Console().print(table)


def _preflight(db: Path | None, dataset: Path, store: str | None) -> None:
    """Fail with one line, before the server starts, if the job store or the dataset cannot
    be used: files that cannot be written, a database that cannot be reached."""
    for path in (p for p in (db, dataset) if p is not None):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.UsageError(f"cannot create {path.parent}: {exc.strerror}") from exc
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise click.UsageError(f"{path} is not writable")
    if store is not None:
        import psycopg

        try:
            psycopg.connect(store, connect_timeout=5).close()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.UsageError(f"cannot reach the job store: {first}") from exc
        return
    from lrokit.server.jobs.sqlite import MIGRATIONS

    assert db is not None
    try:
        with closing(sqlite3.connect(db)) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise click.UsageError(f"cannot open the job store {db}: {exc}") from exc
    if version > len(MIGRATIONS):
        raise click.UsageError(f"the job store {db} was written by a newer lrokit")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map usage errors to one line and exit code 2."""
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = cli.main(args=argv, prog_name="lrokit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("lrokit: aborted", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"lrokit: error: {exc.format_message()}", err=True)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
