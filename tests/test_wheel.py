"""lrokit works from a built wheel, in any directory, not only from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROWS
from tests.live import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def test_installed_wheel_serves_the_packaged_contract(tmp_path: Path, dataset_path: Path) -> None:
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("lrokit-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(target)}  # the wheel's lrokit, not the checkout's
    code = (
        "import lrokit.server.http.app as a, sys; "
        f"assert a.__file__.startswith({str(target)!r}), a.__file__; "
        "from lrokit.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            "--port",
            str(port),
            "--db",
            "jobs.sqlite3",
            "--dataset",
            str(dataset_path),
            "--dataset-rows",
            str(TEST_ROWS),
        ],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise AssertionError(server.stdout.read().decode() if server.stdout else "")
            try:
                spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start")
        assert spec.status_code == 200
        assert spec.json()["info"]["title"] == "lrokit reports API"
        accepted = httpx.post(
            f"http://127.0.0.1:{port}/reports",
            json={"reportType": "yearly-sales", "parameters": {"year": "2023"}},
        )
        assert accepted.status_code == 202
        assert (elsewhere / "jobs.sqlite3").exists()
        # The tester from the wheel finds its profile, contract and report schema there too.
        check = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                "check",
                f"http://127.0.0.1:{port}",
                "--only",
                "ACCEPT,PROBLEM,MONITOR-2",
                "--json",
                "report.json",
            ],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert '"outcome": "PASS"' in (elsewhere / "report.json").read_text()
    finally:
        server.terminate()
        server.wait(15)
        if server.stdout:
            server.stdout.close()
