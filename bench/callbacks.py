"""Completion webhooks: how soon a receiver learns that a report ended, and how many
deliveries one server makes per second.

1. **Latency.** ``--jobs`` reports of ``--pace`` seconds each, each submitted with a
   ``callbackUrl`` on a receiver of this script, and each also polled honouring Retry-After
   (the baseline: what a client without webhooks does). For both, the time from the job's
   ``finishedAt`` (the terminal write, which puts the event in the outbox) to the moment the
   receiver, or the polling client, holds the terminal status; p50 and p99, and the ratio to
   polling's in the same run.
2. **Burst.** ``--burst`` unpaced reports submitted at once: deliveries per second from the
   first submission to the last receipt, the latency from terminal write to receipt (p50,
   p99), and whether every event arrived once, signed; against the same burst without
   webhooks on another server of the same settings (its time until the last report ended),
   so the ratio is what the outbox and its deliveries cost.

Server, receiver and client share the machine's clock. Talks only to 127.0.0.1.

    .venv/bin/python bench/callbacks.py [--jobs 30] [--pace 2] [--burst 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from _latency import ROWS, SEED, TERMINAL, by_polling, finished, quantiles  # bench/ on sys.path
from _server import CACHE, ReferenceServer

from lrokit.server.work.dataset import ensure_dataset
from lrokit.webhooks import WebhookVerificationError, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver(ThreadingHTTPServer):
    """Records, per report id, the seconds from its terminal write to the delivery's receipt."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency: dict[str, float] = {}
        self.ids: list[str] = []
        self.unsigned = 0
        self.lock = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def wait(self, count: int, timeout: float) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.latency) >= count, timeout):
                raise RuntimeError(f"{len(self.latency)} of {count} deliveries in {timeout} s")


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received = time.time()
        self.send_response(204)
        self.end_headers()
        status = json.loads(body)
        try:
            verify({k.lower(): v for k, v in self.headers.items()}, body, SECRET)
            signed = True
        except WebhookVerificationError:
            signed = False
        with self.server.lock:
            self.server.unsigned += not signed
            self.server.ids.append(self.headers["webhook-id"])
            self.server.latency[status["id"]] = received - finished(status)
            self.server.lock.notify_all()

    def log_message(self, *args: object) -> None:
        pass


async def latency(url: str, receiver: Receiver, jobs: int) -> int:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, trust_env=False) as c:
        monitors = []
        for _ in range(jobs):
            response = await c.post("/reports", json={**SEED, "callbackUrl": receiver.url})
            monitors.append(response.headers["location"])
        polled = await asyncio.gather(*(by_polling(c, m) for m in monitors))
    await asyncio.to_thread(receiver.wait, jobs, 60)
    base = quantiles(list(polled))
    print(f"{'channel':<10} {'p50 ms':>8} {'p99 ms':>8} {'p50 vs polling':>15}")
    for name, values in (("webhook", list(receiver.latency.values())), ("polling", polled)):
        p50, p99 = quantiles(values)
        print(f"{name:<10} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} {p50 / base[0]:>14.3f}x")
    return 0


async def burst(url: str, receiver: Receiver | None, count: int) -> float:
    """Submit ``count`` reports at once (with a webhook to ``receiver``, if any); the seconds
    until every event was received, or without a receiver until every report ended."""
    limits = httpx.Limits(max_connections=64)
    started = time.time()
    body = SEED if receiver is None else {**SEED, "callbackUrl": receiver.url}
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, trust_env=False) as c:
        answers = await asyncio.gather(*(c.post("/reports", json=body) for _ in range(count)))
        assert all(a.status_code == 202 for a in answers)
        if receiver is None:  # the last ones claimed end last: one per worker, at most
            await asyncio.gather(*(until_ended(c, a.headers["location"]) for a in answers[-8:]))
            return time.time() - started
    await asyncio.to_thread(receiver.wait, count, 300)
    return time.time() - started


async def until_ended(client: httpx.AsyncClient, monitor: str) -> None:
    for _ in range(6000):  # bounded: 10 minutes
        if (await client.get(monitor)).json()["status"] in TERMINAL:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{monitor}: not terminal in 10 minutes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--pace", type=float, default=2.0)
    parser.add_argument("--burst", type=int, default=1000)
    args = parser.parse_args()
    dataset = CACHE / f"sales-{ROWS}.sqlite3"
    CACHE.mkdir(parents=True, exist_ok=True)
    ensure_dataset(dataset, ROWS)
    status = 0
    hooks = ["--callback-allow", "127.0.0.1", "--webhook-secret", SECRET]
    took: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="lrokit-callbacks-") as tmp:
        for name, extra in (
            ("latency", ["--workers", "4", "--pace", str(args.pace)]),
            ("burst without webhooks", ["--workers", "2"]),
            ("burst", ["--workers", "2"]),
        ):
            workdir = Path(tmp) / name.replace(" ", "-")
            workdir.mkdir()
            server = ReferenceServer(workdir, dataset, "--dataset-rows", str(ROWS), *hooks, *extra)
            receiver = Receiver()
            threading.Thread(target=receiver.serve_forever, daemon=True).start()
            server.start(timeout=120)
            try:
                if name == "latency":
                    print(f"-- {args.jobs} reports of {args.pace:g} s: webhook against polling")
                    status |= asyncio.run(latency(server.url, receiver, args.jobs))
                elif name == "burst":
                    took[name] = asyncio.run(burst(server.url, receiver, args.burst))
                    p50, p99 = quantiles(list(receiver.latency.values()))
                    twice = len(receiver.ids) - len(set(receiver.ids))
                    status |= receiver.unsigned > 0
                else:
                    took[name] = asyncio.run(burst(server.url, None, args.burst))
            finally:
                server.stop()
                receiver.shutdown()
    base = took["burst without webhooks"]
    print(f"-- {args.burst} unpaced reports at once (2 workers)")
    print(f"without webhooks: every report ended in {base:.1f} s ({args.burst / base:.0f}/s)")
    print(
        f"with webhooks:    every event received in {took['burst']:.1f} s "
        f"({args.burst / took['burst']:.0f}/s, {took['burst'] / base:.2f}x the time); "
        f"terminal write to receipt p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; "
        f"{twice} delivered twice, {receiver.unsigned} not verified"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
