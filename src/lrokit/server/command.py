"""``lrokit serve`` and ``lrokit worker``: the reference server, and report workers apart from it.

Configuration precedence: flags, then ``LROKIT_*`` environment variables, then defaults. What
would stop the server at once (a job store or dataset that cannot be written or reached) is
found before it starts and said in one line, exit code 2, through :func:`lrokit.cli.main`.
The server's modules load only when a command runs: they need ``lrokit[server]``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import warnings
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lrokit.commandline import envvar, option
from lrokit.extras import require
from lrokit.server.settings import Settings

if TYPE_CHECKING:
    from lrokit.server.work.supervisor import Supervisor

#: The defaults of every option: the settings' own (settings.py imports nothing of the server).
DEFAULTS = Settings()

_LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


@click.command()
@option(
    "--host",
    default="127.0.0.1",
    help="Interface to listen on.",
)
@option(
    "--port",
    default=8080,
    type=click.IntRange(0, 65535),
    help="TCP port (0 picks a free one).",
)
@option(
    "--db",
    default=DEFAULTS.db,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file of the durable job store (created if missing).",
)
@option(
    "--store",
    default=None,
    help="postgresql://… to keep jobs in PostgreSQL, shared by several processes "
    "[default: SQLite at --db].",
)
@option(
    "--dataset",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Sample sales dataset file [default: sales.sqlite3 beside --db].",
)
@option(
    "--dataset-rows",
    default=DEFAULTS.dataset_rows,
    type=click.IntRange(1, 50_000_000),
    help="Rows of the sample dataset generated on first start.",
)
@option(
    "--workers",
    default=DEFAULTS.workers,
    type=click.IntRange(0, 64),
    help="Background report workers (0: API only); in each worker process, with "
    "--worker-processes.",
)
@option(
    "--worker-processes",
    default=0,
    type=click.IntRange(0, 256),
    help="Run the --workers in this many supervised worker processes of their own, on the "
    "same job store, rather than in the API process (0: in the API process).",
)
@option(
    "--pace",
    default=DEFAULTS.pace,
    type=click.FloatRange(0, 3600),
    help="Make every report take at least this many seconds (demos, conformance).",
)
@option(
    "--retry-after-max",
    default=DEFAULTS.retry_after_max,
    type=click.IntRange(1, 3600),
    help="Upper bound of the Retry-After seconds the monitor advises.",
)
@option(
    "--lease",
    "lease_seconds",
    default=DEFAULTS.lease_seconds,
    type=click.FloatRange(0.5, 3600),
    help="Seconds a worker's claim on a job lasts without a heartbeat.",
)
@option(
    "--max-attempts",
    default=DEFAULTS.max_attempts,
    type=click.IntRange(1, 100),
    help="Attempts that lose their worker before a report ends in ERROR (WORKER_LOST).",
)
@option(
    "--retention",
    default=DEFAULTS.retention,
    type=click.FloatRange(1, 10 * 365 * 24 * 3600),
    help="Seconds a finished report stays readable; after it, 410 Gone.",
)
@option(
    "--max-body",
    "max_body_bytes",
    default=DEFAULTS.max_body_bytes,
    type=click.IntRange(1024, 64 * 1024 * 1024),
    help="Largest request body accepted, in bytes (413 beyond).",
)
@option(
    "--fast-path/--no-fast-path",
    default=DEFAULTS.fast_path,
    help="Answer fully valid requests of the hot operations by validators compiled from the "
    "contract; everything else goes through connexion's stack either way.",
)
@option(
    "--header-timeout",
    default=DEFAULTS.header_timeout,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a request's line and header fields may take to arrive (408 and close "
    "beyond); also the longest a connection may stay silent before its first request.",
)
@option(
    "--body-timeout",
    default=DEFAULTS.body_timeout,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a request's body may take to arrive once its header fields are in (408 "
    "and close beyond).",
)
@option(
    "--keep-alive-timeout",
    default=DEFAULTS.keep_alive_timeout,
    type=click.IntRange(1, 3600),
    help="Seconds an idle kept-alive connection stays open.",
)
@option(
    "--max-in-flight",
    default=DEFAULTS.max_in_flight,
    type=click.IntRange(1, 100_000),
    help="Requests answered at once; one more is answered 503 server-busy with Retry-After.",
)
@option(
    "--max-prefer-wait",
    default=DEFAULTS.max_prefer_wait,
    type=click.IntRange(0, 3600),
    help="Seconds a status read with 'Prefer: wait=N' may be held until the report changes "
    "(0: never held). Each held read counts against --max-in-flight.",
)
@option(
    "--tokens",
    "tokens_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File of lines 'TOKEN PRINCIPAL': every report operation then needs "
    "'Authorization: Bearer TOKEN', and each principal sees only its own reports "
    "[default: open to anyone, with a warning].",
)
@option(
    "--callback-allow",
    multiple=True,
    help="Where report webhooks (callbackUrl) may go: a network (10.0.0.0/8, 127.0.0.1), a "
    "host name (its DNS answers are trusted), *.DOMAIN or * (public addresses only). "
    "Repeat it or separate by commas [default: none; a callbackUrl is refused].",
)
@option(
    "--webhook-secret",
    default=None,
    help="The whsec_… secret webhooks are signed with (Standard Webhooks); needed with "
    "--callback-allow. Prefer the variable to the flag: a flag shows in the process list.",
)
@option(
    "--callback-backoff",
    default=DEFAULTS.callback_backoff,
    type=click.FloatRange(0.01, 3600),
    help="Retry schedule of a failed webhook: attempt n waits BASE/2 + a random "
    "0..BASE*2^(n-1) seconds (at most 600), at least a 429/503 answer's Retry-After.",
)
@option(
    "--callback-period",
    default=DEFAULTS.callback_period,
    type=click.FloatRange(1, 30 * 24 * 3600),
    help="Seconds a webhook event is retried before it is given up (failed).",
)
@option(
    "--callback-timeout",
    default=DEFAULTS.callback_timeout,
    type=click.FloatRange(0.1, 300),
    help="Seconds one webhook attempt may take to be answered.",
)
@option(
    "--ui/--no-ui",
    default=DEFAULTS.ui,
    help="Serve Swagger UI at /ui (the contract stays at /openapi.json either way).",
)
@option(
    "--access-log/--no-access-log",
    default=None,
    help="A line per HTTP request (uvicorn's access log) [default: at --log-level debug only]. "
    "At info it costs a status GET about a fifth of its throughput; the jobs' own lines "
    "(accepted, claimed, finished) are logged at info either way.",
)
@option(
    "--log-level",
    default="info",
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
    worker_processes: int,
    pace: float,
    retry_after_max: int,
    lease_seconds: float,
    max_attempts: int,
    retention: float,
    max_body_bytes: int,
    fast_path: bool,
    header_timeout: float,
    body_timeout: float,
    keep_alive_timeout: int,
    max_in_flight: int,
    max_prefer_wait: int,
    tokens_file: Path | None,
    callback_allow: tuple[str, ...],
    webhook_secret: str | None,
    callback_backoff: float,
    callback_period: float,
    callback_timeout: float,
    ui: bool,
    access_log: bool | None,
    log_level: str,
) -> None:
    """Run the reference server (Swagger UI at /ui, contract at /openapi.json)."""
    require("server", "lrokit serve")
    import uvicorn

    # connexion 3.3 imports starlette.testclient, which warns about httpx at import time;
    # the warning is about test tooling and means nothing to someone running the server.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from lrokit.server.http.app import create_app
    from lrokit.server.http.auth import TokenFileError, read_tokens
    from lrokit.server.http.connections import MAX_HEADER_BYTES, MAX_HEADER_COUNT, bounded_http

    tokens: dict[str, str] | None = None
    shared = False
    if tokens_file is not None:
        try:
            tokens, shared = read_tokens(tokens_file)
        except TokenFileError as exc:
            raise click.UsageError(str(exc)) from exc
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
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            keep_alive_timeout=keep_alive_timeout,
            max_in_flight=max_in_flight,
            max_prefer_wait=max_prefer_wait,
            tokens=tokens,
            callback_allow=_entries(callback_allow),
            webhook_secret=webhook_secret,
            callback_backoff=callback_backoff,
            callback_period=callback_period,
            callback_timeout=callback_timeout,
            ui=ui,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    _check_callbacks(settings)
    if worker_processes and settings.workers < 1:
        raise click.UsageError("--worker-processes needs --workers 1 or more")
    _preflight(None if settings.store else settings.db, settings.dataset_path, settings.store)
    logging.basicConfig(level=log_level.upper(), format=_LOG_FORMAT)
    supervisor = None
    if worker_processes:
        from dataclasses import replace

        supervisor = _supervisor(click.get_current_context().params, worker_processes)
        settings = replace(settings, workers=0)  # the API process runs none itself
    if shared:
        logging.getLogger("lrokit.server").warning(
            "the token file %s can be read by other users: chmod 600 it", tokens_file
        )
    if tokens is not None:
        logging.getLogger("lrokit.server").info(
            "authentication on: %d tokens, %d principals", len(tokens), len(set(tokens.values()))
        )
    _raise_file_limit()
    app = create_app(settings, supervisor=supervisor)
    # A line per request only when asked for, or at debug: at info, a polling client would
    # log a line a poll, and creating, formatting and writing it costs some 20 us, a fifth of
    # a status GET's CPU (bench/hot_path.py, lrokit against lrokit-info).
    if access_log is None:
        access_log = log_level == "debug"
    access_log = access_log and log_level in ("debug", "info")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        access_log=access_log,
        timeout_keep_alive=settings.keep_alive_timeout,
        http=bounded_http(
            settings.header_timeout, settings.body_timeout, MAX_HEADER_COUNT, MAX_HEADER_BYTES
        ),
    )


def _worker(**options: Any) -> None:
    """Run report workers without the API, on a job store shared with API processes
    (``--store postgresql://…``) or on the SQLite file at ``--db``; stop cleanly on SIGTERM or
    SIGINT. With ``--processes N`` (N > 1) this process runs no worker: it supervises N worker
    processes, each with ``--workers`` workers, restarts one that dies, and stops them all on
    SIGTERM or SIGINT."""
    require("server", "lrokit worker")
    processes = options.pop("processes")
    parent = options.pop("supervisor")
    if parent is not None:  # first: a supervisor killed meanwhile must not leave this running
        from lrokit.server.work.supervisor import bind_to_parent

        if bind_to_parent(parent):
            parent = None  # the kernel ends this process with its supervisor
    forwarded = dict(options)
    log_level = options.pop("log_level")
    options["callback_allow"] = _entries(options["callback_allow"])
    try:
        settings = Settings(**options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    _check_callbacks(settings)
    if settings.workers < 1:
        raise click.UsageError("a worker process needs --workers 1 or more")
    _preflight(None if settings.store else settings.db, settings.dataset_path, settings.store)
    logging.basicConfig(level=log_level.upper(), format=_LOG_FORMAT)
    if processes > 1:
        asyncio.run(_supervise(_supervisor(forwarded, processes), settings))
    else:
        asyncio.run(_run_workers(settings, parent))


def _supervisor(params: Mapping[str, Any], processes: int) -> Supervisor:
    """A supervisor of ``processes`` worker processes, each given the worker options whose
    values ``params`` holds (a worker's or serve's, as the command line resolved them)."""
    from lrokit.server.work.supervisor import Supervisor, worker_command

    arguments, env = child_arguments(params)
    return Supervisor(worker_command(arguments), processes, env=env)


def child_arguments(params: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one supervised worker process: every option of
    ``lrokit worker`` (but ``--processes``, which is 1) with the value ``params`` holds.

    Each option MUST be passed, whether it came from a flag, a variable or its default, so
    that a child runs exactly its supervisor's settings; the webhook secret goes in the
    child's environment (``LROKIT_WEBHOOK_SECRET``), never on a command line that the
    process list shows. An option without a value (None) is left out.
    """
    arguments: list[str] = []
    env: dict[str, str] = {}
    for param in worker.params:
        if not isinstance(param, click.Option) or param.name in _SUPERVISION:
            continue
        assert param.name is not None
        value = params[param.name]
        long_name = next(o for o in param.opts if o.startswith("--"))
        if value is None:
            continue
        if param.name == "webhook_secret":
            env[envvar(long_name)] = str(value)
        elif param.is_flag:
            arguments.append(long_name if value else param.secondary_opts[0])
        elif param.multiple:
            for item in value:
                arguments += [long_name, str(item)]
        else:
            arguments += [long_name, str(value)]
    return [*arguments, "--processes", "1"], env


async def _supervise(supervisor: Supervisor, settings: Settings) -> None:
    """Create or migrate the job store once, then run ``supervisor`` until SIGTERM or SIGINT
    and stop its children. The store is ready before any child opens it, so N processes
    never race to create one new file (``serve`` opens its store before its children too)."""
    import signal

    from lrokit.server.jobs.backends import make_store

    store = make_store(settings)
    await store.open()
    await store.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await supervisor.run(stop)


async def _run_workers(settings: Settings, parent: int | None = None) -> None:
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
    watch = None
    if parent is not None:  # no PR_SET_PDEATHSIG here: see bind_to_parent
        watch = asyncio.create_task(_watch_parent(parent, stop))
    logging.getLogger("lrokit.jobs").info(
        "lrokit worker: %d workers (pid %d)", settings.workers, os.getpid()
    )
    try:
        await stop.wait()
    finally:
        if watch is not None:
            watch.cancel()
        await pool.stop()
        await store.close()


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """Set ``stop`` within a second of the supervisor ``parent`` dying."""
    from lrokit.server.work.supervisor import orphaned

    while True:
        await asyncio.sleep(1.0)
        if orphaned(parent):
            break
    logging.getLogger("lrokit.jobs").warning("the supervisor %d is gone: stopping", parent)
    stop.set()


#: ``lrokit worker`` takes serve's job and store options, not its HTTP ones.
worker = click.Command(
    "worker",
    callback=_worker,
    help=_worker.__doc__,
    params=[
        p
        for p in serve.params
        if p.name
        not in {
            *("host", "port", "max_body_bytes", "retry_after_max", "fast_path"),
            *("header_timeout", "body_timeout", "keep_alive_timeout", "max_in_flight"),
            *("max_prefer_wait", "tokens_file", "ui", "worker_processes", "access_log"),
        }
    ]
    + [
        click.Option(
            ["--processes"],
            default=1,
            type=click.IntRange(1, 256),
            envvar=envvar("--processes"),
            show_envvar=True,
            show_default=True,
            help="Worker processes, each with --workers workers (1: this process runs them; "
            "more: this process supervises that many and runs none itself).",
        ),
        # Given by a supervisor to its children: the process to end with (bind_to_parent).
        click.Option(
            ["--supervisor"],
            type=click.IntRange(1),
            default=None,
            hidden=True,
            envvar=envvar("--supervisor"),
            show_envvar=True,
        ),
    ],
)

#: Options of a worker that concern its supervision, never forwarded to a supervised child.
_SUPERVISION = frozenset({"processes", "supervisor"})


def _entries(values: tuple[str, ...]) -> tuple[str, ...]:
    """The entries of a repeatable option whose values may also be comma-separated."""
    return tuple(e.strip() for value in values for e in value.split(",") if e.strip())


def _check_callbacks(settings: Settings) -> None:
    """Refuse, in one line, an allow-list entry or a webhook secret that cannot be used."""
    from lrokit.server.egress import Egress
    from lrokit.webhooks import WebhookVerificationError, signature_headers

    try:
        Egress.parse(settings.callback_allow)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if settings.webhook_secret is not None:
        try:
            signature_headers(settings.webhook_secret, "msg_check", 0, b"")
        except WebhookVerificationError as exc:
            raise click.UsageError(f"--webhook-secret: {exc}") from exc
        if not settings.webhook_secret.startswith("whsec_"):
            raise click.UsageError("--webhook-secret: a Standard Webhooks secret starts whsec_")


#: The open files a server asks for, at most: one per connection, and some to spare.
FILE_LIMIT = 65536


def _raise_file_limit() -> None:
    """Raise the soft limit of open files to the hard one (at most :data:`FILE_LIMIT`): at
    the common default of 1,024, a thousand slow connections leave no descriptor for anyone
    else until the header timeout reclaims them."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FILE_LIMIT if hard == resource.RLIM_INFINITY else min(hard, FILE_LIMIT)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        logging.getLogger("lrokit.server").info("open files: up to %d (was %d)", wanted, soft)


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
