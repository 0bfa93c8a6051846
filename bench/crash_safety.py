"""Crash safety of the reference server: kill -9 with jobs in flight, restart, count.

Starts ``lrokit serve`` (paced jobs, short leases) on 127.0.0.1, submits N jobs, waits until
some are PROCESSING, kills the server with SIGKILL (no shutdown code runs), starts it again
on the same job store and polls every job until it is terminal (bounded). Prints how many
jobs were submitted, in flight at the kill, found again, terminal, lost, and whether any job
changed its outcome between two reads. Exit status 1 when a job is lost or not terminal.

    .venv/bin/python bench/crash_safety.py [--jobs 100] [--pace 1] [--workers 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from _server import CACHE, ReferenceServer  # bench/ is on sys.path when run as a script

from lrokit.server.settings import DEFAULT_ROWS
from lrokit.server.work.dataset import ensure_dataset

TERMINAL = {"DONE", "ERROR", "CANCELLED"}
BODY = {"reportType": "yearly-sales", "parameters": {"year": "2023"}}


def states(client: httpx.Client, url: str, ids: list[str]) -> dict[str, str]:
    found = {}
    for job_id in ids:
        response = client.get(f"{url}/reports/{job_id}")
        found[job_id] = (
            response.json()["status"] if response.status_code == 200 else str(response.status_code)
        )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--pace", type=float, default=1.0, help="seconds a job takes")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds to finish all")
    parser.add_argument("--dataset", type=Path, default=CACHE / "sales.sqlite3")
    args = parser.parse_args(argv)
    ensure_dataset(args.dataset, DEFAULT_ROWS)
    serve = ("--pace", str(args.pace), "--workers", str(args.workers), "--lease", str(args.lease))
    with (
        tempfile.TemporaryDirectory(prefix="lrokit-crash-") as tmp,
        httpx.Client(trust_env=False, timeout=10) as client,
    ):
        first = ReferenceServer(Path(tmp), args.dataset, *serve)
        try:
            first.start(120)
            ids = [
                client.post(f"{first.url}/reports", json=BODY).json()["id"]
                for _ in range(args.jobs)
            ]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                before = Counter(states(client, first.url, ids).values())
                if before["PROCESSING"] >= min(args.workers, args.jobs):
                    break
                time.sleep(0.1)
        finally:
            first.kill()
        print(f"submitted {len(ids)} jobs; at the kill -9: {dict(before)}")

        second = ReferenceServer(Path(tmp), args.dataset, *serve)
        try:
            started = time.monotonic()
            second.start(120)
            after: dict[str, str] = {}
            while time.monotonic() - started < args.budget:
                after = states(client, second.url, ids)
                if all(state in TERMINAL for state in after.values()):
                    break
                time.sleep(0.5)
            took = time.monotonic() - started
            again = states(client, second.url, ids)
        finally:
            second.stop()
    # Found: read back as a status document (200) in a state of the contract; a 5xx or any
    # other answer is not a job found, and a 404 is a job lost.
    found = sum(state in TERMINAL | {"PENDING", "PROCESSING"} for state in after.values())
    terminal = sum(state in TERMINAL for state in after.values())
    lost = sum(state == "404" for state in after.values())
    changed = sum(after[j] != again[j] for j in ids)
    print(f"after the restart: {dict(Counter(after.values()))} in {took:.1f} s")
    print(
        f"jobs found again {found}/{len(ids)}, terminal {terminal}/{len(ids)}, lost {lost}, "
        f"unreadable {len(ids) - found - lost}, outcome changed on a second read {changed}"
    )
    return 0 if found == terminal == len(ids) and changed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
