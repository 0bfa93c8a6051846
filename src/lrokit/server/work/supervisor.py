"""Worker processes under a supervisor: ``lrokit worker --processes N`` and
``lrokit serve --worker-processes N``.

The supervisor runs no worker itself. It starts N children, each a whole ``lrokit worker``
process (``sys.executable -m lrokit worker …``: a fresh interpreter, never a fork of a running
event loop) with its own store connections and :class:`~lrokit.server.work.workers.WorkerPool`,
and keeps N of them running:

* A child that exits while the supervisor is not stopping (a crash, ``kill -9``, any exit
  code) MUST be started again, and its exit code or signal is logged. The wait before the
  restart starts at :data:`FIRST_DELAY` and doubles, up to :data:`MAX_DELAY`, each time the
  child dies within :data:`STEADY` seconds of its start; a child that ran longer restarts
  after :data:`FIRST_DELAY` again. A child that keeps dying at once is never restarted in a
  hot loop.
* :meth:`Supervisor.stop` (``lrokit worker`` calls it on SIGTERM or SIGINT; ``serve`` when
  it shuts down) sends SIGTERM to every child, which hands its jobs back and exits; a child
  still running after the grace period is sent SIGKILL (its jobs then return when their
  leases expire). No child outlives :meth:`Supervisor.stop`.
* A child MUST NOT outlive a supervisor that was killed outright (SIGKILL, a crash): see
  :func:`bind_to_parent`, which the child calls first.

Children are started in a session of their own, so a Ctrl-C at a terminal reaches the
supervisor alone, which stops them in order; their output goes where the supervisor's goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("lrokit.supervisor")

#: Seconds before a dead child is started again, the first time.
FIRST_DELAY = 0.5
#: The longest wait before a restart, however often the child died.
MAX_DELAY = 30.0
#: A child that ran this many seconds is healthy: its next restart waits FIRST_DELAY again.
STEADY = 10.0
#: Seconds between two looks at the children (a dead one is noticed within this).
TICK = 0.1
#: Linux's ``prctl`` option that asks for a signal when the parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def worker_command(arguments: Sequence[str]) -> list[str]:
    """The command line of one child: this interpreter running ``lrokit worker arguments``,
    which works from an installed wheel in any directory (``python -m lrokit``)."""
    return [sys.executable, "-m", "lrokit", "worker", *arguments]


def bind_to_parent(parent: int) -> bool:
    """Make this process end when ``parent``, its supervisor, dies; return whether the kernel
    sees to it. The caller MUST exit at once if ``parent`` is already gone (this returns
    after checking it: then the process is already being sent SIGTERM).

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: the kernel sends SIGTERM the moment the
    parent dies, however it died (SIGKILL included), with no polling and no thread; SIGTERM
    rather than SIGKILL so that the worker hands its jobs back as on any stop. The signal
    follows the death of the parent's *thread* that started the child: the supervisor starts
    every child from its event loop's thread, which lives as long as the supervisor. It is
    set after the fork, so a parent that died before is caught by comparing
    ``os.getppid()``. Elsewhere this returns False and the caller watches ``os.getppid()``
    itself (:func:`orphaned`).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os.kill(os.getpid(), signal.SIGTERM)
        return True
    return False


def orphaned(parent: int) -> bool:
    """Whether ``parent`` is no longer this process's parent (it died: the process was
    adopted). Polled where :func:`bind_to_parent` could not ask the kernel."""
    return os.getppid() != parent


def describe(returncode: int) -> str:
    """How a child ended, in words: ``exit code 3`` or ``signal SIGKILL``."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class _Slot:
    """One of the N children the supervisor keeps: its process, when it started, and when it
    may start again after dying (``due``), waiting ``delay`` the next time it dies young."""

    number: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    due: float = 0.0
    delay: float = FIRST_DELAY


class Supervisor:
    """Keeps ``processes`` children running ``command`` until :meth:`stop`.

    Driven by the event loop that calls :meth:`start` (any loop, uvloop included: children
    are watched by polling every :data:`TICK` seconds, not by a child watcher); children are
    started from that loop's thread only (see :func:`bind_to_parent`).
    """

    def __init__(
        self,
        command: Sequence[str],
        processes: int,
        *,
        env: Mapping[str, str] | None = None,
        grace: float = 15.0,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        steady: float = STEADY,
    ) -> None:
        if processes < 1:
            raise ValueError("a supervisor needs 1 or more processes")
        self.command = list(command)
        self.env = dict(env) if env is not None else None
        self.grace = grace
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.steady = steady
        self.restarts = 0
        self._slots = [_Slot(n + 1, delay=first_delay) for n in range(processes)]
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    @property
    def pids(self) -> list[int]:
        """The process ids of the children running now."""
        return [
            slot.process.pid
            for slot in self._slots
            if slot.process is not None and slot.process.poll() is None
        ]

    async def start(self) -> None:
        """Start every child, then watch them until :meth:`stop`."""
        now = time.monotonic()
        for slot in self._slots:
            self._spawn(slot, now)
        log.info("supervising %d worker processes: %s", len(self._slots), self.pids)
        self._watch = asyncio.create_task(self._watch_children(), name="lrokit-supervisor")

    async def run(self, stop: asyncio.Event) -> None:
        """Start the children, keep them running until ``stop`` is set, then stop them."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """SIGTERM every child, wait up to ``grace`` seconds for them to hand their jobs back
        and exit, SIGKILL those still running, and reap them all. Idempotent."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        running = [s.process for s in self._slots if s.process is not None]
        for process in running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            if all(p.poll() is not None for p in running):
                break
            await asyncio.sleep(TICK / 2)
        for process in running:
            if process.poll() is None:
                log.warning(
                    "worker process %d did not stop within %.0fs: SIGKILL", process.pid, self.grace
                )
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        for slot in self._slots:
            slot.process = None
        log.info("worker processes stopped")

    def _spawn(self, slot: _Slot, now: float) -> None:
        """Start ``slot``'s child; one that cannot even start counts as one that died young."""
        command = [*self.command, "--supervisor", str(os.getpid())]
        env = {**os.environ, **self.env} if self.env is not None else None
        try:
            # The command is this interpreter and lrokit's own arguments, none from a request.
            slot.process = subprocess.Popen(  # noqa: S603
                command, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )
        except OSError as exc:
            slot.process = None
            log.error("worker process %d could not start: %s", slot.number, exc)
            self._schedule(slot, now, lived=0.0)
            return
        slot.started = now
        log.debug("worker process %d started: pid %d", slot.number, slot.process.pid)

    def _schedule(self, slot: _Slot, now: float, lived: float) -> float:
        """When ``slot`` starts again: after its current delay, which doubles for the next
        time if the child died young and starts over if it ran :data:`STEADY` seconds."""
        if lived >= self.steady:
            slot.delay = self.first_delay
        wait = slot.delay
        slot.due = now + wait
        slot.delay = min(slot.delay * 2, self.max_delay)
        return wait

    async def _watch_children(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            for slot in self._slots:
                process = slot.process
                if process is not None and (code := process.poll()) is not None:
                    slot.process = None
                    lived = now - slot.started
                    wait = self._schedule(slot, now, lived)
                    log.warning(
                        "worker process %d (pid %d) ended with %s after %.1fs; restarting it "
                        "in %.1fs",
                        slot.number,
                        process.pid,
                        describe(code),
                        lived,
                        wait,
                    )
                elif process is None and now >= slot.due:
                    self.restarts += 1
                    self._spawn(slot, now)
                    if slot.process is not None:
                        log.info(
                            "worker process %d restarted: pid %d", slot.number, slot.process.pid
                        )
            await asyncio.sleep(TICK)
