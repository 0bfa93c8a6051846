"""Supervised worker processes: ``lrokit worker --processes N`` and ``lrokit serve
--worker-processes N`` run real child processes on one job store (SQLite or PostgreSQL),
restart one that dies, hand jobs back on SIGTERM, and leave none behind a killed supervisor."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest

from lrokit.cli import main
from lrokit.server.command import child_arguments, worker
from lrokit.server.jobs.backends import make_store
from lrokit.server.jobs.job import NewJob
from lrokit.server.settings import Settings
from lrokit.server.work.supervisor import Supervisor, describe
from tests.conftest import TEST_ROWS
from tests.helpers import SEED_REQUEST, postgres_schema
from tests.live import LROKIT, LiveServer

pytestmark = pytest.mark.e2e


# --- a store the test reads and writes beside the processes ---------------------------------


class Store:
    """The job store under test, as a child sees it (``args``) and as the test reads it."""

    def __init__(self, settings: Settings, args: list[str]) -> None:
        self.settings = settings
        self.args = args

    def submit(self, count: int) -> list[str]:
        async def create() -> list[str]:
            store = make_store(self.settings)
            await store.open()
            try:
                return [
                    (await store.create(NewJob(uuid.uuid4().hex, **_seed())))[0].id
                    for _ in range(count)
                ]
            finally:
                await store.close()

        return asyncio.run(create())

    def rows(self) -> dict[str, tuple[str, int, str | None, float | None]]:
        """Each job: state, attempts, worker id, lease expiry."""
        query = "SELECT id, state, attempts, worker_id, lease_expires_at FROM jobs"
        if self.settings.store is not None:
            with psycopg.connect(self.settings.store) as pg:
                found = pg.execute(query).fetchall()
        else:
            with closing(sqlite3.connect(self.settings.db)) as conn:
                found = conn.execute(query).fetchall()
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in found}


def _seed() -> dict[str, Any]:
    return {"report_type": SEED_REQUEST["reportType"], "parameters": SEED_REQUEST["parameters"]}


@pytest.fixture
def sqlite_store(tmp_path: Path, dataset_path: Path) -> Store:
    db = tmp_path / "jobs.sqlite3"
    return Store(Settings(db=db, dataset=dataset_path), ["--db", str(db)])


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, dataset_path: Path
) -> Iterator[Store]:
    db = tmp_path / "jobs.sqlite3"
    if request.param == "sqlite":
        yield Store(Settings(db=db, dataset=dataset_path), ["--db", str(db)])
        return
    with postgres_schema("worker processes on PostgreSQL") as (url, schema):
        store = f"{url}?options={quote(f'-csearch_path={schema}')}"
        settings = Settings(db=db, store=store, dataset=dataset_path)
        yield Store(settings, ["--store", store, "--db", str(tmp_path / "unused.sqlite3")])


# --- processes -----------------------------------------------------------------------------


def children_of(pid: int) -> set[int]:
    """The live (not zombie) processes whose parent is ``pid``, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat(int(entry.name))[1] == pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    return _stat(pid)[0] not in ("", "Z", "X")


def _stat(pid: int) -> tuple[str, int]:
    """A process's state letter and parent, or ("", 0) once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "", 0
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


class Supervised:
    """``with Supervised(tmp, store, dataset, "--pace", "1") as sup``: ``lrokit worker
    --processes 2``; SIGKILLed with its children on the way out if still running."""

    def __init__(self, workdir: Path, store: Store, *args: str, processes: int = 2) -> None:
        self.log = workdir / f"supervisor-{uuid.uuid4().hex[:6]}.log"
        self.command = [
            str(LROKIT), "worker", "--processes", str(processes), "--workers", "2",
            "--lease", "2", "--dataset", str(store.settings.dataset),
            "--dataset-rows", str(TEST_ROWS), *store.args, *args,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.seen: set[int] = set()

    def __enter__(self) -> Supervised:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for("two worker processes", lambda: len(self.children()) == 2)
            self.wait_running(self.children())
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_running(self, pids: set[int]) -> None:
        """Until each of ``pids`` has started its workers (it said so in the log); the log
        is in the failure's message."""
        try:
            wait_for(
                f"workers running in {pids}",
                lambda: all(f"workers (pid {pid})" in self.log.read_text() for pid in pids),
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the supervisor's log:\n{self.log.read_text()}") from exc

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> set[int]:
        found = children_of(self.pid)
        self.seen |= found
        return found

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in self.seen:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- lrokit worker --processes --------------------------------------------------------------


def test_two_worker_processes_finish_every_job_once(tmp_path: Path, any_store: Store) -> None:
    ids = any_store.submit(16)
    with Supervised(tmp_path, any_store, "--pace", "0.1") as sup:
        children = sup.children()
        wait_for(
            "every job DONE",
            lambda: all(row[0] == "DONE" for row in any_store.rows().values()),
        )
        assert sup.process is not None
        sup.process.send_signal(signal.SIGTERM)
        assert sup.process.wait(20) == 0
        wait_for("no child left", lambda: not any(alive(pid) for pid in children), 5)
    rows = any_store.rows()
    assert set(rows) == set(ids)
    assert {attempts for _, attempts, _, _ in rows.values()} == {1}
    # Two OS processes, each a WorkerPool of its own (worker ids are POOL-N).
    assert len(children) == 2
    assert len({worker_id.split("-")[0] for _, _, worker_id, _ in rows.values() if worker_id}) == 2
    text = sup.log.read_text()
    assert all(f"(pid {pid})" in text for pid in children), text


def test_a_child_killed_is_restarted_and_jobs_still_finish(
    tmp_path: Path, sqlite_store: Store
) -> None:
    with Supervised(tmp_path, sqlite_store) as sup:
        before = sup.children()
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        wait_for(
            "a new child in place of the killed one",
            lambda: len(now := sup.children()) == 2 and victim not in now,
            10,
        )
        ids = sqlite_store.submit(6)
        wait_for(
            "every job DONE",
            lambda: all(row[0] == "DONE" for row in sqlite_store.rows().values()),
        )
        assert set(sqlite_store.rows()) == set(ids)
        text = sup.log.read_text()
        assert f"(pid {victim}) ended with signal SIGKILL" in text, text


def test_sigterm_hands_the_running_job_back_and_stops_every_child(
    tmp_path: Path, sqlite_store: Store
) -> None:
    (job,) = sqlite_store.submit(1)
    with Supervised(tmp_path, sqlite_store, "--pace", "30") as sup:
        children = sup.children()
        wait_for("the job PROCESSING", lambda: sqlite_store.rows()[job][0] == "PROCESSING")
        assert sup.process is not None
        sup.process.send_signal(signal.SIGTERM)
        assert sup.process.wait(20) == 0
        assert not any(alive(pid) for pid in children)
    state, attempts, _, lease = sqlite_store.rows()[job]
    # Handed back (JobStore.release): its lease ended, the attempt does not count.
    assert (state, attempts) == ("PROCESSING", 0)
    assert lease is not None
    assert lease <= time.time()
    assert "released by worker" in sup.log.read_text()


def test_a_supervisor_killed_outright_leaves_no_child(tmp_path: Path, sqlite_store: Store) -> None:
    with Supervised(tmp_path, sqlite_store) as sup:
        children = sup.children()
        assert sup.process is not None
        sup.process.kill()
        sup.process.wait(5)
        wait_for("the orphans gone", lambda: not any(alive(pid) for pid in children), 5)


def test_a_child_that_keeps_dying_is_restarted_with_growing_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Never a hot loop: 2 s of a child that exits at once start it a handful of times."""
    crash = [sys.executable, "-c", "import sys; sys.exit(3)"]
    supervisor = Supervisor(crash, 1, first_delay=0.1, grace=2)

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(2.0, stop.set)
        await supervisor.run(stop)

    with caplog.at_level(logging.INFO, "lrokit.supervisor"):
        asyncio.run(run())
    # Waits of 0.1, 0.2, 0.4, 0.8 s (plus the start-up of each) fit in 2 s: 4 restarts at most.
    assert 2 <= supervisor.restarts <= 4, supervisor.restarts
    assert "ended with exit code 3" in caplog.text
    waits = [float(r.getMessage().rsplit(" ", 1)[1].rstrip("s")) for r in caplog.records
             if "restarting it in" in r.getMessage()]  # fmt: skip
    assert waits == sorted(waits), waits
    assert waits[0] == 0.1, waits
    assert waits[-1] >= 0.4, waits


def test_the_restart_wait_doubles_to_a_ceiling_and_starts_over_after_a_steady_run() -> None:
    supervisor = Supervisor(["true"], 1, first_delay=0.5, max_delay=30.0, steady=10.0)
    slot = supervisor._slots[0]
    young = [supervisor._schedule(slot, 0.0, lived=1.0) for _ in range(9)]
    assert young == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert supervisor._schedule(slot, 0.0, lived=60.0) == 0.5


def test_how_a_child_ended_is_said_in_words() -> None:
    assert describe(3) == "exit code 3"
    assert describe(-9) == "signal SIGKILL"


# --- lrokit serve --worker-processes --------------------------------------------------------


def test_serve_with_worker_processes_on_sqlite(tmp_path: Path, dataset_path: Path) -> None:
    server = LiveServer(
        tmp_path, dataset_path, "--worker-processes", "2", "--workers", "2", "--pace", "0.1",
        rows=TEST_ROWS,
    )  # fmt: skip
    with server, httpx.Client(timeout=10) as client:
        assert server.process is not None
        api = server.process.pid
        wait_for("two worker processes", lambda: len(children_of(api)) == 2)
        children = children_of(api)
        ids = [client.post(f"{server.url}/reports", json=SEED_REQUEST).json()["id"]
               for _ in range(8)]  # fmt: skip

        def done() -> bool:
            return all(
                client.get(f"{server.url}/reports/{job}").json()["status"] == "DONE" for job in ids
            )

        wait_for("every report DONE", done)
        server.stop()
        wait_for("no worker process left", lambda: not any(alive(p) for p in children), 5)
    text = server.log.read_text()
    assert "supervising 2 worker processes" in text
    # The API process ran no worker: every job was claimed in a child.
    assert all(f"(pid {pid})" in text for pid in children), text


# --- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["worker", "--processes", "0"],
        ["worker", "--processes", "-1"],
        ["serve", "--worker-processes", "-1"],
        ["serve", "--worker-processes", "2", "--workers", "0"],
    ],
)
def test_bad_process_counts_are_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*args, "--db", str(tmp_path / "jobs.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrokit: error: ")
    assert err.count("\n") == 1


def test_every_worker_option_reaches_the_children() -> None:
    """A child parses back exactly its supervisor's options, whatever their source; the
    webhook secret travels in its environment, never on its command line."""
    given = [
        "--db", "/x/jobs.sqlite3", "--store", "postgresql://u@h/d", "--dataset", "/x/s.sqlite3",
        "--dataset-rows", "77", "--workers", "5", "--pace", "0.25", "--lease", "7.5",
        "--max-attempts", "4", "--retention", "99", "--callback-allow", "10.0.0.0/8,*.ex.org",
        "--callback-allow", "127.0.0.1", "--webhook-secret", "whsec_c2VjcmV0c2VjcmV0",
        "--callback-backoff", "0.5", "--callback-period", "60", "--callback-timeout", "3",
        "--log-level", "debug", "--processes", "3",
    ]  # fmt: skip
    parent = worker.make_context("worker", given).params
    arguments, env = child_arguments(parent)
    child = worker.make_context("worker", arguments).params
    assert "whsec_c2VjcmV0c2VjcmV0" not in " ".join(arguments)
    assert env == {"LROKIT_WEBHOOK_SECRET": "whsec_c2VjcmV0c2VjcmV0"}
    assert child["processes"] == 1
    forwarded = {name for name in parent if name not in ("processes", "supervisor")}
    assert {k: child[k] for k in forwarded if k != "webhook_secret"} == {
        k: parent[k] for k in forwarded if k != "webhook_secret"
    }
    assert forwarded | {"webhook_secret"} == {p.name for p in worker.params} - {
        "processes",
        "supervisor",
    }
