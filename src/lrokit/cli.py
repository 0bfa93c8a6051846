"""The ``lrokit`` command line: ``lrokit serve`` runs the reference server.

Configuration precedence: flags, then ``LROKIT_*`` environment variables, then defaults.
Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import warnings
from contextlib import closing
from pathlib import Path

import click

from lrokit import __version__

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
    "--max-body",
    "max_body_bytes",
    default=65536,
    show_default=True,
    envvar="LROKIT_MAX_BODY",
    type=click.IntRange(1024, 64 * 1024 * 1024),
    help="Largest request body accepted, in bytes (413 beyond).",
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
    dataset: Path | None,
    dataset_rows: int,
    workers: int,
    pace: float,
    retry_after_max: int,
    lease_seconds: float,
    max_body_bytes: int,
    log_level: str,
) -> None:
    """Run the reference server (Swagger UI at /ui, contract at /openapi.json)."""
    import uvicorn

    # connexion 3.3 imports starlette.testclient, which warns about httpx at import time;
    # the warning is about test tooling and means nothing to someone running the server.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from lrokit.server.app import create_app
    from lrokit.server.settings import Settings

    try:
        settings = Settings(
            db=db,
            dataset=dataset,
            dataset_rows=dataset_rows,
            workers=workers,
            pace=pace,
            retry_after_max=retry_after_max,
            lease_seconds=lease_seconds,
            max_body_bytes=max_body_bytes,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    _preflight(settings.db, settings.dataset_path)
    logging.basicConfig(level=log_level.upper(), format=_LOG_FORMAT)
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None)


def _preflight(db: Path, dataset: Path) -> None:
    """Fail with one line, before the server starts, if the files cannot be written."""
    for path in (db, dataset):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.UsageError(f"cannot create {path.parent}: {exc.strerror}") from exc
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise click.UsageError(f"{path} is not writable")
    from lrokit.server.sqlite_store import MIGRATIONS

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
        cli.main(args=argv, prog_name="lrokit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("lrokit: aborted", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"lrokit: error: {exc.format_message()}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
