"""``lrokit check ARGS`` through the console script's own entry point (``lrokit.cli.main``),
recording how long it spent waiting out the server's Retry-After advice; for
bench/check_runtime.py.

    python bench/_timed_check.py OUT.json check URL [--deep ...]

Waits are the sleeps of :meth:`lrokit.runner.target.Target.wait` (the recorded run, whose
jobs are followed concurrently) and the ``time.sleep`` of the lifecycle layer's ``_wait_for``
(``--deep``). A moment counts as waiting when at least one of those sleeps is under way and
no request of :meth:`Target.request` is in flight: the tester had nothing to do but wait.
Any other sleep counts as the tester's own time, so a renamed wait can only overstate the
overhead, never hide it. OUT.json gets ``{"waited": seconds}``; the exit status is check's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, SupportsIndex

import orjson

from lrokit.cli import main
from lrokit.model.exchange import Exchange
from lrokit.runner.target import Target

Interval = tuple[float, float]


def union(intervals: list[Interval]) -> list[Interval]:
    """The disjoint, sorted union of ``intervals``."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def waited(sleeps: list[Interval], requests: list[Interval]) -> float:
    """Seconds covered by ``sleeps`` and by no request."""
    busy = union(requests)
    total = 0.0
    for start, end in union(sleeps):
        overlap = sum(max(0.0, min(end, b) - max(start, a)) for a, b in busy)
        total += end - start - overlap
    return total


def record(sleeps: list[Interval], requests: list[Interval]) -> None:
    """Wrap the tester's waits and requests so that each leaves its interval."""
    original_wait = Target.wait
    original_request = Target.request
    original_sleep = time.sleep

    async def wait(self: Target, seconds: float, limit: float) -> None:
        started = time.monotonic()
        try:
            await original_wait(self, seconds, limit)
        finally:
            sleeps.append((started, time.monotonic()))

    async def request(self: Target, *args: Any, **kwargs: Any) -> Exchange:
        started = time.monotonic()
        try:
            return await original_request(self, *args, **kwargs)
        finally:
            requests.append((started, time.monotonic()))

    def sleep(seconds: float | SupportsIndex) -> None:
        caller = sys._getframe(1).f_code
        started = time.monotonic()
        try:
            original_sleep(seconds)
        finally:
            if caller.co_name == "_wait_for" and caller.co_filename.endswith("test_lifecycle.py"):
                sleeps.append((started, time.monotonic()))

    Target.wait = wait  # type: ignore[method-assign]
    Target.request = request  # type: ignore[method-assign]
    time.sleep = sleep


def run(out: Path, argv: list[str]) -> int:
    sleeps: list[Interval] = []
    requests: list[Interval] = []
    record(sleeps, requests)
    code = main(argv)
    out.write_bytes(orjson.dumps({"waited": waited(sleeps, requests)}))
    return code


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2:]))
