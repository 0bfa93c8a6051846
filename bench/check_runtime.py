"""How long a full conformance run takes against the reference server, in real time.

Starts ``lrokit serve`` on 127.0.0.1 (a free port, a fresh job store, ``--pace``), waits for
``GET /openapi.json``, then times ``lrokit.runner.run.run`` against it with the canonical
profile and its contract (time_scale 1.0: every Retry-After is honoured in full), and prints
a row per run and the min/median. The sample dataset (1M rows, about 6 s to build) is cached
under /tmp/lrokit-bench/ and reused. The server is stopped whatever happens; a run that fails
still prints its time.

    .venv/bin/python bench/check_runtime.py [--runs N] [--pace 2] [--max-wait 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _server import CACHE, ReferenceServer  # bench/ is on sys.path when run as a script

from lrokit.runner.contract import load_contract
from lrokit.runner.exchange import Exchange
from lrokit.runner.profile import load_profile
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.dataset import DEFAULT_ROWS, ensure_dataset

OUTCOMES = [Outcome.PASS, Outcome.WARN, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP, Outcome.DISABLED]


@dataclass
class Measured:
    """One conformance run: its wall time and requests, its report or why there is none."""

    seconds: float
    requests: int
    report: Report | None = None
    error: str | None = None
    outcomes: Counter[Outcome] = field(default_factory=Counter)


async def measure(url: str, max_wait: float, request_timeout: float) -> Measured:
    profile = load_profile("canonical")
    source = profile.spec_source
    contract = load_contract(source) if source else None
    config = TargetConfig(url, timeout=request_timeout, max_wait=max_wait, time_scale=1.0)
    seen: list[Exchange] = []
    started = time.monotonic()
    try:
        report = await asyncio.wait_for(
            run(
                config,
                profile,
                contract=contract,
                # An explicit transport: no proxy from the environment, only 127.0.0.1.
                transport=httpx.AsyncHTTPTransport(),
                observer=seen.append,
            ),
            # Three jobs in parallel wait max_wait at most, then a few bounded requests.
            max_wait * 2 + request_timeout * 20,
        )
    except Exception as exc:  # a figure even when the run fails
        return Measured(time.monotonic() - started, len(seen), error=f"{type(exc).__name__}: {exc}")
    outcomes = Counter(v.outcome for v in report.verdicts)
    return Measured(time.monotonic() - started, report.requests, report, outcomes=outcomes)


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1, help="conformance runs (default 1)")
    parser.add_argument("--pace", type=float, default=2.0, help="server --pace (default 2)")
    parser.add_argument("--max-wait", type=float, default=60.0, help="run --max-wait (60)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request (10 s)")
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    # Built here, before the server starts: the server builds a missing dataset in the
    # background after it already answers, which the first timed run would then wait for.
    started = time.monotonic()
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    print(f"dataset {args.dataset} ready in {time.monotonic() - started:.1f} s")
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="lrokit-bench-") as tmp:
        server = ReferenceServer(Path(tmp), args.dataset, "--pace", str(args.pace))
        try:
            startup = server.start(args.startup_timeout)
            print(f"server {server.url} (--pace {args.pace}) up in {startup:.1f} s")
            for number in range(1, args.runs + 1):
                result = asyncio.run(measure(server.url, args.max_wait, args.timeout))
                measured.append(result)
                state = result.error or "done"
                print(f"run {number}/{args.runs}: {result.seconds:.2f} s, {state}", flush=True)
        except (RuntimeError, OSError) as exc:
            print(f"server: {exc}", file=sys.stderr)
        finally:
            status = server.stop()
            print(f"server stopped (exit status {status})")

    if not measured:
        print("no run was measured")
        return 1
    header = ("run", "wall s", "requests", *(str(o) for o in OUTCOMES))
    rows = [header]
    for number, m in enumerate(measured, 1):
        counts = [str(m.outcomes.get(o, 0)) if m.report else "-" for o in OUTCOMES]
        rows.append((str(number), f"{m.seconds:.2f}", str(m.requests), *counts))
    print()
    print(table(rows))
    walls = [m.seconds for m in measured]
    print(
        f"\nwall seconds over {len(walls)} run(s): min {min(walls):.2f}, median "
        f"{statistics.median(walls):.2f}"
    )
    for number, m in enumerate(measured, 1):
        if m.error:
            print(f"run {number} failed: {m.error}")
        elif m.report is not None:
            for v in m.report.verdicts:
                if v.outcome not in (Outcome.PASS,):
                    what = v.reason or "; ".join(x.received for x in v.violations[:2])
                    print(f"run {number}: {v.rule.id} {v.outcome}: {what}")
    return 0 if all(m.report is not None for m in measured) else 1


if __name__ == "__main__":
    sys.exit(main())
