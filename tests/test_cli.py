"""The command line: help, and bad input as one line with exit code 2."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from lrokit.cli import main
from tests.conftest import TEST_ROWS
from tests.helpers import SEED_REQUEST
from tests.live import LiveServer

LROKIT = [sys.executable, "-m", "lrokit.cli"]


def test_help_lists_serve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "serve" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "http"],
        ["serve", "--workers", "-1"],
        ["serve", "--no-such-flag"],
        ["frobnicate"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrokit: error: ")
    assert err.count("\n") == 1


def test_environment_variables_configure_serve() -> None:
    result = subprocess.run(
        [*LROKIT, "serve"],
        env={"LROKIT_PORT": "not-a-port", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not-a-port" in result.stderr
    assert "Traceback" not in result.stderr


def test_unusable_job_store_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_text("not a database, " * 100)
    assert main(["serve", "--db", str(garbage)]) == 2
    assert "cannot open the job store" in capsys.readouterr().err
    newer = tmp_path / "newer.sqlite3"
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute("PRAGMA user_version = 999")
    assert main(["serve", "--db", str(newer)]) == 2
    assert "newer lrokit" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["serve", "--db", str(blocker / "jobs.sqlite3")]) == 2
    assert capsys.readouterr().err.startswith("lrokit: error: cannot create")


def test_a_worker_takes_no_option_of_the_http_edge() -> None:
    """lrokit worker serves no HTTP: serve's connection and request options are not its."""
    from lrokit.cli import cli

    options = {name for p in cli.commands["worker"].params for name in p.opts}
    http_edge = {
        *("--host", "--port", "--max-body", "--header-timeout", "--body-timeout"),
        *("--keep-alive-timeout", "--max-in-flight", "--tokens", "--ui"),
    }
    assert not options & http_edge, options & http_edge
    assert {"--store", "--workers", "--lease"} <= options


@pytest.mark.parametrize(
    ("args", "logged"),
    [((), False), (("--access-log",), True), (("--log-level", "debug"), True)],
    ids=["info", "info-access-log", "debug"],
)
def test_the_access_log_is_off_at_info_unless_asked_for(
    tmp_path: Path, dataset_path: Path, args: tuple[str, ...], logged: bool
) -> None:
    """At the default level a poll logs nothing (a line a request costs a status GET a fifth of
    its throughput); ``--access-log`` or ``--log-level debug`` log each request. The job's own
    line is logged at info either way."""
    with LiveServer(tmp_path, dataset_path, "--workers", "0", *args, rows=TEST_ROWS) as server:
        accepted = httpx.post(f"{server.url}/reports", json=SEED_REQUEST, timeout=5)
        assert accepted.status_code == 202
        assert httpx.get(server.url + accepted.headers["location"], timeout=5).status_code == 200
    log = server.log.read_text()
    assert f"job {accepted.json()['id']} accepted" in log
    assert ('"GET /reports/' in log) is logged, log
