"""How long a conformance run takes against the reference server, in real time, and how
much of it is lrokit's own work next to a plain schemathesis run over the same contract.

Part 1, in process: starts ``lrokit serve`` on 127.0.0.1 (a free port, a fresh job store,
``--pace``), waits for ``GET /openapi.json``, then times ``lrokit.runner.run.run`` against it
with the canonical profile and its contract (time_scale 1.0: every Retry-After is honoured in
full), and prints a row per run and the min/median.

Part 2, the commands: per run, each of ``lrokit check URL``, ``lrokit check URL --deep`` and a
plain ``schemathesis run openapi.yaml --url URL`` gets a server of its own (fresh job store,
so no job another command left queued delays it) and is timed as a subprocess, interpreter
start included. The schemathesis run has the settings of --deep's schema layer
(``lrokit.conformance.test_schema.schemathesis_config``): the same examples per operation,
request timeout, phases (examples, coverage, fuzzing: the pytest plugin runs no stateful
phase), schemathesis's default checks with the same two adjustments, no example database, one
worker; it runs schemathesis's checks only, not lrokit's per-response rules.

lrokit's own overhead is a command's wall time minus the time it spent waiting out the
server's Retry-After advice: the moments when at least one advised sleep (the recorded run's,
whose three jobs are followed concurrently, or the lifecycle layer's) was under way and no
request was in flight (measured by bench/_timed_check.py, which runs the very ``lrokit check``
of the console script). Everything else counts as overhead: interpreter start and imports,
every request and the server's time answering it, judging, reporting, pytest, the whole
schema layer. The ratio divides that by the plain schemathesis run's wall time in the same
run. Targets (issue 7): ``check`` with 2 s jobs under 60 s; overhead at most 2x.

The sample dataset (1M rows, about 6 s to build) is cached under /tmp/lrokit-bench/ and
reused. Servers are stopped whatever happens; a command that fails still prints its time.

    .venv/bin/python bench/check_runtime.py [--runs 3] [--pace 2] [--max-wait 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from _server import CACHE, LROKIT, ReferenceServer  # bench/ is on sys.path as a script

from lrokit.model.contract import load_contract
from lrokit.model.exchange import Exchange
from lrokit.model.profile import load_profile
from lrokit.runner.options import SuiteOptions
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.settings import DEFAULT_ROWS
from lrokit.server.work.dataset import ensure_dataset

OUTCOMES = [Outcome.PASS, Outcome.WARN, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP, Outcome.DISABLED]
SCHEMATHESIS = LROKIT.with_name("schemathesis")
TIMED_CHECK = Path(__file__).with_name("_timed_check.py")
CONTRACT = Path(__file__).resolve().parent.parent / "openapi.yaml"
#: The settings of --deep's schema layer (lrokit.conformance.test_schema.schemathesis_config)
#: for the plain run, as a schemathesis.toml; the phases are given on its command line.
PLAIN_CONFIG = f"""\
request-timeout = {SuiteOptions.timeout}

[generation]
max-examples = {SuiteOptions.schema_examples}
database = "none"

[[operations]]
include-name = "POST /reports"
checks.positive_data_acceptance.expected-statuses = ["2xx", "422"]

[[operations]]
include-method = "DELETE"
checks.use_after_free.enabled = false
"""
PLAIN_PHASES = "examples,coverage,fuzzing"
#: The commands of part 2, in the order each run times them; the plain run last.
PLAIN = "schemathesis run"
COMMANDS = ("lrokit check", "lrokit check --deep", PLAIN)


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


@dataclass
class Timed:
    """One command of part 2, timed as a subprocess against a server of its own."""

    command: str
    seconds: float
    code: int | None  # None: killed at the time limit, or never started
    served: int  # requests the server answered while it ran
    waited: float | None = None  # Retry-After waits (lrokit only)

    @property
    def overhead(self) -> float | None:
        return None if self.waited is None else self.seconds - self.waited


def child_environment() -> dict[str, str]:
    """This environment without proxies: every request goes to 127.0.0.1 directly."""
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in proxies}
    return env | {"NO_PROXY": "127.0.0.1", "NO_COLOR": "1"}


def answered(log: Path) -> int:
    """Requests the server has logged (uvicorn's access log) so far."""
    with log.open("rb") as lines:
        return sum(b" uvicorn.access: " in line for line in lines)


def command_line(command: str, url: str, scratch: Path, max_wait: float) -> list[str]:
    if command == PLAIN:
        config = scratch / "schemathesis.toml"
        config.write_text(PLAIN_CONFIG, encoding="utf-8")
        return [
            str(SCHEMATHESIS), "--config-file", str(config), "--no-color", "run", str(CONTRACT),
            "--url", url, "--phases", PLAIN_PHASES, "--workers", "1",
        ]  # fmt: skip
    options = command.removeprefix("lrokit check").split()  # --deep
    timed = [sys.executable, str(TIMED_CHECK), str(scratch / "timing.json")]
    return [*timed, "check", url, "--max-wait", str(max_wait), *options]


def time_command(command: str, dataset: Path, args: argparse.Namespace) -> tuple[Timed, str | None]:
    """Run ``command`` against a fresh server; the figures, and why they are missing if so."""
    with tempfile.TemporaryDirectory(prefix="lrokit-bench-") as tmp:
        scratch = Path(tmp)
        # The access log (info) counts the requests every command sends, the same way.
        server = ReferenceServer(scratch, dataset, "--pace", str(args.pace), "--log-level", "info")
        try:
            server.start(args.startup_timeout)
            argv = command_line(command, server.url, scratch, args.max_wait)
            before = answered(server.log)
            output = scratch / "output.log"
            started = time.monotonic()
            with output.open("wb") as out:
                child = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, cwd=scratch, env=child_environment()
                )
            try:
                code: int | None = child.wait(args.command_timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)
                code = None
            timed = Timed(command, time.monotonic() - started, code, answered(server.log) - before)
            timing = scratch / "timing.json"
            if timing.exists():
                timed.waited = float(orjson.loads(timing.read_bytes())["waited"])
            if code != 0:
                tail = output.read_text(errors="replace").strip().splitlines()[-3:]
                return timed, f"exit status {code}: " + " / ".join(tail)
            return timed, None
        except (RuntimeError, OSError) as exc:
            return Timed(command, 0.0, None, 0), f"server: {exc}"
        finally:
            server.stop()


def seconds(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f}" if values else "-"


def ratios(values: list[float]) -> str:
    return f"{min(values):.2f}x / {statistics.median(values):.2f}x" if values else "-"


def part_two(dataset: Path, args: argparse.Namespace) -> bool:
    """Time the commands per run, print their table; whether every command succeeded and
    met its targets."""
    timed: list[list[Timed]] = []
    failures: list[str] = []
    for number in range(1, args.runs + 1):
        row: list[Timed] = []
        for command in COMMANDS:
            result, failure = time_command(command, dataset, args)
            row.append(result)
            state = "done" if failure is None else "FAILED"
            print(
                f"run {number}/{args.runs}: {command}: {result.seconds:.2f} s, {state}", flush=True
            )
            if failure is not None:
                failures.append(f"run {number}, {command}: {failure}")
        timed.append(row)

    header = ("run", "command", "wall s", "requests", "waited s", "overhead s", "overhead/st")
    rows: list[tuple[str, ...]] = [header]
    for number, row in enumerate(timed, 1):
        plain = row[-1]
        for t in row:
            overhead = t.overhead
            ratio = (
                "-" if overhead is None or plain.code != 0 else f"{overhead / plain.seconds:.2f}x"
            )
            waited = "-" if t.waited is None else f"{t.waited:.2f}"
            cost = "-" if overhead is None else f"{overhead:.2f}"
            rows.append(
                (str(number), t.command, f"{t.seconds:.2f}", str(t.served), waited, cost, ratio)
            )
    print()
    print(table(rows))

    print(f"\nover {args.runs} run(s), min / median:")
    met = True
    summary: list[tuple[str, ...]] = [("command", "wall s", "overhead s", "overhead/st", "target")]
    for column, command in enumerate(COMMANDS):
        done = [row[column] for row in timed if row[column].code == 0]
        walls = [t.seconds for t in done]
        costs = [o for t in done if (o := t.overhead) is not None]
        paired = [
            o / row[-1].seconds
            for row in timed
            if row[column].code == 0
            and row[-1].code == 0
            and (o := row[column].overhead) is not None
        ]
        target = "-"
        if command != PLAIN:
            slow = not walls or max(walls) >= args.wall_target
            heavy = not paired or statistics.median(paired) > args.ratio_target
            target = "failed" if len(done) < len(timed) else "MISSED" if slow or heavy else "met"
            met = met and target == "met"
        summary.append((command, seconds(walls), seconds(costs), ratios(paired), target))
    print(table(summary))
    print(
        f"targets: wall under {args.wall_target:g} s in every run, median overhead at most "
        f"{args.ratio_target:g}x the plain schemathesis run's wall time"
    )
    for failure in failures:
        print(failure)
    return met and not failures


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def part_one(args: argparse.Namespace) -> bool:
    """Time the runner in process, print its table; whether every run produced a report."""
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
        return False
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
    return all(m.report is not None for m in measured)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each part (default 3)")
    parser.add_argument("--pace", type=float, default=2.0, help="server --pace (default 2)")
    parser.add_argument("--max-wait", type=float, default=60.0, help="run --max-wait (60)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request (10 s)")
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    parser.add_argument(
        "--command-timeout", type=float, default=300.0, help="seconds a command may take (300)"
    )
    parser.add_argument("--wall-target", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--ratio-target", type=float, default=2.0, help="overhead/st (2)")
    parser.add_argument(
        "--part", choices=["1", "2", "both"], default="both", help="which part (both)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    # Built here, before any server starts: the server builds a missing dataset in the
    # background after it already answers, which the first timed run would then wait for.
    started = time.monotonic()
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    print(f"dataset {args.dataset} ready in {time.monotonic() - started:.1f} s")
    ok = True
    if args.part in ("1", "both"):
        print("\npart 1: lrokit.runner.run.run in process, one server")
        ok = part_one(args)
    if args.part in ("2", "both"):
        print("\npart 2: the commands, each against a fresh server")
        ok = part_two(args.dataset, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
