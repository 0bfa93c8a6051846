"""Real open-source servers of the pattern, each in a virtualenv of its own, run on 127.0.0.1.

Three steps per server: :func:`ensure_installed` makes (once) a virtualenv under the cache
directory and pip-installs the pinned version into it, never into lrokit's; a context manager
(:func:`run_pygeoapi`, :func:`run_wes`) starts the server on a free 127.0.0.1 port with a
scratch directory, waits until it answers (bounded), yields a handle with ``.url`` and
``.openapi``, and stops it (SIGTERM to its process group, SIGKILL after a bound).

The cache directory is ``$LROKIT_INTEROP_HOME/<name>-<version>``, by default
``~/.cache/lrokit/interop/<name>-<version>``. A marker file written after a successful install
makes later runs skip pip; delete the directory to reinstall.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

FILES = Path(__file__).resolve().parent / "files"

PYGEOAPI = ("pygeoapi", "0.21.0", "pygeoapi==0.21.0")
WES = ("wes-service", "5.0", "wes-service[cwltool]==5.0")

#: Bounds: a cold pip install (about 25 s each here), a server's start, its stop.
INSTALL_TIMEOUT = 600.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
MARKER = ".lrokit-installed"

#: One ``workflow_attachment`` part for httpx: (field, (file name, content, media type)).
Attachment = tuple[str, tuple[str, bytes, str]]


class InstallError(RuntimeError):
    """The server's package could not be installed (no package index, a build failure)."""


class ServerError(RuntimeError):
    """The server did not start, or exited early; the message ends with its log."""


def interop_home() -> Path:
    """The cache directory holding one virtualenv per server and version."""
    configured = os.environ.get("LROKIT_INTEROP_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "lrokit" / "interop"


def venv_bin(venv: Path, name: str) -> Path:
    """The path of an executable inside a virtualenv."""
    return venv / "bin" / name


def ensure_installed(name: str, version: str, requirement: str) -> Path:
    """A virtualenv holding ``requirement``, made and installed only if not already there.

    A lock file serialises concurrent sessions; the marker, written last, holds the
    requirement, so a changed pin reinstalls. Raises :class:`InstallError` with pip's output.
    """
    venv = interop_home() / f"{name}-{version}"
    marker = venv / MARKER
    if marker.is_file() and marker.read_text().strip() == requirement:
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{name}-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text().strip() == requirement:
            return venv
        steps: list[list[str]] = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv_bin(venv, "python")), "-m", "pip", "install", "-q",
             "--disable-pip-version-check", "--retries", "1", requirement],
        ]  # fmt: skip
        deadline = time.monotonic() + INSTALL_TIMEOUT
        for command in steps:
            remaining = max(1.0, deadline - time.monotonic())
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=remaining, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise InstallError(
                    f"{requirement}: {command[2:5]} took over {INSTALL_TIMEOUT:.0f} s"
                ) from exc
            if done.returncode != 0:
                output = (done.stdout + done.stderr).strip()[-3000:]
                raise InstallError(
                    f"could not install {requirement} into {venv} "
                    f"(exit {done.returncode}):\n{output}"
                )
        marker.write_text(requirement + "\n")
    return venv


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """One server subprocess in a process group of its own, its output in ``log``."""

    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    log: Path
    ready_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def log_text(self, limit: int = 8000) -> str:
        """The end of the server's captured output."""
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start the process and poll ``ready_url`` until it answers 200 (at most ``timeout``)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.command),
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.command[0]} exited with {self.process.returncode} before it was "
                    f"ready; its log:\n{self.log_text()}"
                )
            try:
                if httpx.get(self.ready_url, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServerError(
            f"{self.ready_url} did not answer 200 within {timeout:.0f} s; "
            f"the server's log:\n{self.log_text()}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM to the server's process group (its workers too), SIGKILL after ``timeout``;
        the exit code, or None if it was never started."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                process.wait(timeout)
        # Children of the group (a workflow runner, its sleep) that outlived the leader.
        self._signal_group(signal.SIGKILL)
        return process.returncode

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)  # the group this process leads, by its id


def _base_env(venv: Path, scratch: Path) -> dict[str, str]:
    tmp = scratch / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["TMPDIR"] = str(tmp)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass(frozen=True)
class PygeoapiServer:
    """A running pygeoapi (OGC API - Processes 1.0): processes ``hello-world`` and ``echo``."""

    url: str  #: base URL, e.g. http://127.0.0.1:PORT (jobs at /jobs, processes at /processes)
    openapi: Path  #: the OpenAPI document pygeoapi generated from its configuration
    config: Path  #: the configuration it runs with
    workdir: Path  #: scratch: the TinyDB job store, outputs, the log
    version: str
    process: ServerProcess

    def log_text(self) -> str:
        """The end of the server's log."""
        return self.process.log_text()


@dataclass(frozen=True)
class WesServer:
    """A running wes-service (GA4GH WES 1.0 reference server) with the cwl-runner backend."""

    url: str  #: base URL, e.g. http://127.0.0.1:PORT; the API is under ``api``
    api: str  #: ``url`` + /ga4gh/wes/v1
    openapi: Path  #: the Swagger 2.0 document shipped inside the wes-service package
    workflow: Path  #: CWL tool: sleeps ``seconds`` (int), then exits ``exit_code`` (int)
    attachments: tuple[Path, ...]  #: every file to send as ``workflow_attachment``
    workdir: Path  #: scratch: the server's cwd (./workflows holds the runs), TMPDIR, the log
    version: str
    process: ServerProcess

    def log_text(self) -> str:
        """The end of the server's log."""
        return self.process.log_text()

    def run_form(self, seconds: int, exit_code: int = 0) -> tuple[dict[str, str], list[Attachment]]:
        """The multipart fields and files of a ``POST /runs`` that sleeps ``seconds`` and then
        exits ``exit_code``: ``httpx.post(f"{wes.api}/runs", data=fields, files=files)``."""
        fields = {
            "workflow_url": self.workflow.name,
            "workflow_type": "CWL",
            "workflow_type_version": "v1.2",
            "workflow_params": json.dumps({"seconds": seconds, "exit_code": exit_code}),
        }
        files = [
            ("workflow_attachment", (path.name, path.read_bytes(), "application/octet-stream"))
            for path in self.attachments
        ]
        return fields, files


def generate_pygeoapi_openapi(
    venv: Path, config: Path, output: Path, env: Mapping[str, str]
) -> None:
    """``pygeoapi openapi generate CONFIG --output-file OUTPUT`` (bounded: 120 s)."""
    done = subprocess.run(
        [str(venv_bin(venv, "pygeoapi")), "openapi", "generate", str(config),
         "--output-file", str(output)],
        env=dict(env), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0 or not output.is_file():
        raise ServerError(f"pygeoapi openapi generate failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def run_pygeoapi(scratch: Path) -> Iterator[PygeoapiServer]:
    """Install (once), configure and serve pygeoapi under Flask on a free 127.0.0.1 port.

    Its job manager is TinyDB in ``scratch``; the server is stopped on exit.
    """
    name, version, requirement = PYGEOAPI
    venv = ensure_installed(name, version, requirement)
    (scratch / "outputs").mkdir(parents=True, exist_ok=True)  # pygeoapi does not make it
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    template = (FILES / "pygeoapi-config.yml").read_text()
    config = scratch / "pygeoapi-config.yml"
    config.write_text(
        string.Template(template).substitute(port=port, url=url, workdir=scratch.as_posix())
    )
    openapi = scratch / "pygeoapi-openapi.yml"
    env = _base_env(venv, scratch)
    env["PYGEOAPI_CONFIG"] = str(config)
    env["PYGEOAPI_OPENAPI"] = str(openapi)
    generate_pygeoapi_openapi(venv, config, openapi, env)
    server = ServerProcess(
        command=[str(venv_bin(venv, "flask")), "--app", "pygeoapi.flask_app", "run",
                 "--no-reload", "--no-debugger", "--with-threads",
                 "--host", "127.0.0.1", "--port", str(port)],
        cwd=scratch, env=env, log=scratch / "pygeoapi.log",
        ready_url=f"{url}/processes?f=json",
    )  # fmt: skip
    server.start()
    try:
        yield PygeoapiServer(url, openapi, config, scratch, version, server)
    finally:
        server.stop()


def wes_openapi(venv: Path) -> Path:
    """The Swagger document shipped inside the wes-service package of ``venv``."""
    found = sorted(venv.glob("lib/python*/site-packages/wes_service/openapi/*.yaml"))
    if not found:
        raise ServerError(f"no wes_service/openapi/*.yaml under {venv}")
    return found[0]


@contextlib.contextmanager
def run_wes(scratch: Path) -> Iterator[WesServer]:
    """Install (once) and serve wes-service with its cwl-runner backend on a free 127.0.0.1
    port, its cwd and TMPDIR in ``scratch``; stopped (workflow runners too) on exit."""
    name, version, requirement = WES
    venv = ensure_installed(name, version, requirement)
    scratch.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = f"{url}/ga4gh/wes/v1"
    workflow = FILES / "sleep-exit.cwl"
    server = ServerProcess(
        command=[str(venv_bin(venv, "python")), str(FILES / "wes_serve.py"), str(port)],
        cwd=scratch, env=_base_env(venv, scratch), log=scratch / "wes.log",
        ready_url=f"{api}/runs",
    )  # fmt: skip
    server.start()
    try:
        yield WesServer(
            url, api, wes_openapi(venv), workflow, (workflow,), scratch, version, server
        )
    finally:
        server.stop()
