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
from tests.live import LiveServer, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def test_installed_wheel_serves_the_packaged_contract(
    wheel: Path, tmp_path: Path, dataset_path: Path
) -> None:
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
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


def test_a_bare_install_is_the_tester_and_names_each_extra(
    wheel: Path, tmp_path: Path, dataset_path: Path
) -> None:
    """``pip install lrokit`` in a new virtualenv: check, lint and rules work without the
    server and generative stacks; serve, check --deep and the pytest plugin say in one line
    which extra to install."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=600)
    lrokit = str(venv / "bin" / "lrokit")

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )

    for command in ("serve", "worker"):
        done = run(lrokit, command)
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"lrokit: error: lrokit {command} needs the server extra"), line
        assert line.endswith("pip install 'lrokit[server]'"), line
    assert run(lrokit, "rules").returncode == 0
    assert run(lrokit, "lint", str(ROOT / "openapi.yaml")).returncode == 0
    with LiveServer(tmp_path, dataset_path, rows=TEST_ROWS) as server:
        checked = run(lrokit, "check", server.url, "--only", "ACCEPT,PROBLEM", "--json", "-")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert '"outcome": "PASS"' in checked.stdout
        deep = run(lrokit, "check", server.url, "--deep")
        assert deep.returncode == 2
        assert "pip install 'lrokit[deep]'" in deep.stderr
        # A project with pytest of its own but not the generative layers.
        subprocess.run([*pip, "pytest"], check=True, capture_output=True, timeout=600)
        project = tmp_path / "project"
        (project / "tests").mkdir(parents=True)
        (project / "tests" / "test_own.py").write_text("def test_own():\n    pass\n")
        python = str(venv / "bin" / "python")
        plugin = run(python, "-m", "pytest", "--lrokit-url", server.url, cwd=project)
        assert plugin.returncode == 4, plugin.stdout + plugin.stderr  # pytest's usage error
        assert "pytest --lrokit-url needs the deep extra" in plugin.stderr
        assert "Traceback" not in plugin.stdout + plugin.stderr
        assert run(python, "-m", "pytest", "-q", cwd=project).returncode == 0
