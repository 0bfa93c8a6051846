"""Fuzz the reference server at ten times CI's volume: no answer may be 5xx.

Two fuzzers, on a server with tokens on:

1. the request fuzzer of ``tests/fuzzing.py`` (methods, paths, query strings, header fields,
   credentials and bodies the contract does not describe), ``--cases`` requests in process
   (CI sends 1,000); every 4xx must be a bounded problem with the fields its status needs;
2. schemathesis over real HTTP against ``lrokit serve``, positive and negative data, all
   phases, ``--max-examples`` per operation (CI: 200, some 1,300 cases), every default check.

Prints the cases each sent, the answers by status, and the 5xx count; exits 1 on any fault.
There is no baseline to compare with: the figure is a count of failures, and it must be 0.

    .venv/bin/python bench/fuzz.py [--cases 10000] [--max-examples 2000] [--seed N]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fuzzer lives with the tests it also serves

from _server import ReferenceServer  # noqa: E402  bench/ is on sys.path as a script
from tests.fuzzing import fuzz, fuzzed_server, schemathesis_run, token_file  # noqa: E402

ROWS = 20_000


def request_fuzzer(workdir: Path, dataset: Path, cases: int, seed: int) -> bool:
    begun = time.monotonic()
    try:
        with fuzzed_server(workdir, dataset, ROWS) as (client, job):
            tally = fuzz(client, job, cases, seed)
    except AssertionError as exc:
        print(f"request fuzzer: FAULT after shrinking: {str(exc)[:2000]}")
        return False
    took = time.monotonic() - begun
    by_status = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items()))
    errors = sum(n for s, n in tally.statuses.items() if s >= 500)
    print(f"request fuzzer: {tally.cases} cases in {took:.0f} s; {by_status}; 5xx: {errors}")
    return errors == 0


def schemathesis(workdir: Path, dataset: Path, max_examples: int, seed: int) -> bool:
    tokens = token_file(workdir)
    server = ReferenceServer(workdir, dataset, "--pace", "0.2", "--tokens", str(tokens))
    server.start(timeout=120)
    begun = time.monotonic()
    try:
        run = schemathesis_run(server.url, max_examples, str(seed), workdir, timeout=3600)
    finally:
        server.stop()
    took = time.monotonic() - begun
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    # Its default checks include not_a_server_error: one 5xx fails the run.
    if counts is None or run.returncode != 0:
        print(f"schemathesis: FAULT (exit {run.returncode})\n{run.stdout[-4000:]}")
        return False
    print(f"schemathesis: {counts[1]} cases in {took:.0f} s, {counts[2]} passed every check")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--max-examples", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    print(f"seed {args.seed}")
    from lrokit.server.work.dataset import ensure_dataset

    with tempfile.TemporaryDirectory(prefix="lrokit-fuzz-") as tmp:
        workdir = Path(tmp)
        dataset = workdir / "sales.sqlite3"
        ensure_dataset(dataset, ROWS)
        (workdir / "requests").mkdir()
        (workdir / "schemathesis").mkdir()
        held = request_fuzzer(workdir / "requests", dataset, args.cases, args.seed)
        held &= schemathesis(workdir / "schemathesis", dataset, args.max_examples, args.seed)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
