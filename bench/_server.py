"""The reference server as a subprocess on 127.0.0.1, for the benchmark scripts."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

HOST = "127.0.0.1"
CACHE = Path("/tmp/lrokit-bench")
LROKIT = Path(sys.executable).with_name("lrokit")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ReferenceServer:
    """``lrokit serve ARGS`` on 127.0.0.1, run through ``prefix`` (say ``taskset -c 0``);
    :meth:`stop` or :meth:`kill` always ends it."""

    def __init__(
        self, workdir: Path, dataset: Path, *args: str, prefix: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = workdir / "server.log"
        self.command = [
            *prefix, str(LROKIT), "serve", "--host", HOST, "--port", str(self.port),
            "--db", str(workdir / "jobs.sqlite3"), "--dataset", str(dataset),
            "--log-level", "warning", *args,
        ]  # fmt: skip
        self.env: dict[str, str] | None = None  # None: this process's environment
        self.ready_path = "/openapi.json"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> float:
        """Start and wait until ``ready_path`` answers 200; return the seconds it took."""
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        with httpx.Client(trust_env=False, timeout=2.0) as client:  # no proxy: 127.0.0.1 only
            for _ in range(int(timeout / 0.1) + 1):
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited early:\n{self.log.read_text()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}{self.ready_path}").status_code == 200:
                        return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout:.1f} s")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 15 s; the exit status, or None if it never started."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
