"""Re-take the hand-run transcripts behind docs/interop.md, against servers started by
``tests/interop/servers.py``: ``.venv/bin/python tests/interop/files/transcripts.py [OUTDIR]``
(default: this folder). Writes ``pygeoapi-transcript.txt`` and ``wes-transcript.txt``.

Each exchange is printed like ``curl -i``: the request line and the headers that matter, then
every response header and the body (long bodies cut). Takes about 40 s after install.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.interop.servers import run_pygeoapi, run_wes  # noqa: E402

SHOWN_REQUEST_HEADERS = ("content-type", "prefer", "accept")
TERMINAL_OGC = {"successful", "failed", "dismissed"}
TERMINAL_WES = {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"}


class Transcript:
    """Sends requests and writes each exchange to ``lines``."""

    def __init__(self, title: str) -> None:
        self.client = httpx.Client(timeout=30.0)
        self.start = time.monotonic()
        self.lines: list[str] = [title, "=" * len(title)]

    def note(self, text: str) -> None:
        self.lines += ["", f"## {text}"]

    def send(self, method: str, url: str, *, limit: int = 1200, **kwargs: Any) -> httpx.Response:
        request = self.client.build_request(method, url, **kwargs)
        elapsed = time.monotonic() - self.start
        self.lines += ["", f"[t={elapsed:6.2f}s] > {method} {url}"]
        self.lines += [
            f"> {k}: {v}" for k, v in request.headers.items() if k in SHOWN_REQUEST_HEADERS
        ]
        if kwargs.get("files") or kwargs.get("data"):
            names = [name for _, (name, _, _) in kwargs.get("files") or []]
            self.lines.append(f"> (multipart) fields={kwargs.get('data')} files={names}")
        elif request.content:
            self.lines.append(f"> (body) {request.content.decode(errors='replace')[:400]}")
        response = self.client.send(request)
        self.lines.append(f"< HTTP/1.1 {response.status_code} {response.reason_phrase}")
        self.lines += [f"< {k}: {v}" for k, v in response.headers.multi_items()]
        text = response.text
        if len(text) > limit:
            text = f"{text[:limit]}... ({len(response.content)} bytes in all)"
        if text:
            self.lines.append(text.rstrip())
        return response

    def poll(
        self, url: str, state: Callable[[httpx.Response], str], terminal: set[str], every: float
    ) -> httpx.Response:
        """GET ``url`` every ``every`` s until its state is terminal (at most 60 polls)."""
        response = self.send("GET", url)
        for _ in range(60):
            if state(response) in terminal:
                break
            time.sleep(every)
            response = self.send("GET", url)
        return response

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.lines) + "\n")
        self.client.close()


def pygeoapi_transcript(out: Path, scratch: Path) -> None:
    with run_pygeoapi(scratch / "pygeoapi") as geo:
        t = Transcript(f"pygeoapi {geo.version} at {geo.url} (started by tests/interop/servers.py)")
        u = geo.url
        status: Callable[[httpx.Response], str] = lambda r: r.json().get("status", "")  # noqa: E731
        t.note("conformance classes claimed (no .../conf/dismiss, no .../conf/job-list)")
        t.send("GET", f"{u}/conformance?f=json")
        t.note("process description: echo (async-execute and sync-execute)")
        t.send("GET", f"{u}/processes/echo?f=json", limit=400)
        t.note("a long job to dismiss later: echo, pause 10.25 s")
        dismissed = t.send(
            "POST", f"{u}/processes/echo/execution", headers={"Prefer": "respond-async"},
            json={"inputs": {"echoInput": "Echo", "pause": 10.25}},
        ).headers["location"]  # fmt: skip
        t.note("no Prefer: synchronous 200, a job is made (Location) but no Link rel=monitor")
        t.send("POST", f"{u}/processes/hello-world/execution", json={"inputs": {"name": "lrokit"}})
        t.note("Prefer: respond-async: 201 + Location + Preference-Applied, body `null`")
        monitor = t.send(
            "POST", f"{u}/processes/echo/execution", headers={"Prefer": "respond-async"},
            json={"inputs": {"echoInput": "Echo", "pause": 5.5}},
        ).headers["location"]  # fmt: skip
        t.note("the monitor at once: status accepted, progress 5, started already set")
        t.send("GET", monitor)
        t.note("results while the job runs (OGC: 404, type .../result-not-ready)")
        t.send("GET", f"{monitor}/results?f=json")
        t.note("HEAD on the monitor")
        t.send("HEAD", monitor)
        t.note("Accept: text/html on the monitor (JSON for */* and application/json, or ?f=json)")
        t.send("GET", monitor, headers={"Accept": "text/html"}, limit=200)
        t.note("polls every 1 s: no Retry-After; status stays accepted until the work ends")
        t.poll(monitor, status, TERMINAL_OGC, 1.0)
        t.note("results: ?f=json gives JSON; Accept */* gives HTML")
        t.send("GET", f"{monitor}/results?f=json")
        t.send("GET", f"{monitor}/results", limit=200)
        t.note("one output by its id (OGC /req/core/job-result)")
        t.send("GET", f"{monitor}/results/echoOutput?f=json")
        t.note("a failing job: hello-world without its required input `name`")
        failing = t.send(
            "POST", f"{u}/processes/hello-world/execution", headers={"Prefer": "respond-async"},
            json={"inputs": {"message": "no name"}},
        ).headers["location"]  # fmt: skip
        time.sleep(0.5)
        t.poll(failing, status, TERMINAL_OGC, 0.5)
        t.send("GET", f"{failing}/results?f=json")
        t.note("inputs outside the process description (echoInput and pause are enums there)")
        unchecked = t.send(
            "POST", f"{u}/processes/echo/execution", headers={"Prefer": "respond-async"},
            json={"inputs": {"echoInput": "not in the enum", "pause": 1.0}},
        ).headers["location"]  # fmt: skip
        t.poll(unchecked, status, TERMINAL_OGC, 0.5)
        t.note("the same failure run synchronously")
        t.send("POST", f"{u}/processes/hello-world/execution", json={"inputs": {"message": "x"}})
        t.note("an unknown job id")
        unknown = f"{u}/jobs/00000000-0000-0000-0000-000000000000"
        t.send("GET", f"{unknown}?f=json")
        t.send("GET", f"{unknown}/results?f=json")
        t.send("DELETE", unknown)
        t.note("an unknown process")
        t.send(
            "POST", f"{u}/processes/nope/execution", headers={"Prefer": "respond-async"},
            json={"inputs": {}},
        )  # fmt: skip
        t.note("wrong media type / malformed body")
        execute = f"{u}/processes/hello-world/execution"
        t.send("POST", execute, content=b"name=x",
               headers={"Content-Type": "text/plain", "Prefer": "respond-async"})  # fmt: skip
        t.send("POST", execute, content=b'{"inputs": {"name": "x"}',
               headers={"Content-Type": "application/json", "Prefer": "respond-async"})  # fmt: skip
        t.send("POST", execute, content=b'{"inputs": {"name": "x"}}',
               headers={"Content-Type": "application/xml", "Prefer": "respond-async"})  # fmt: skip
        t.note("Prefer as a list, wait alone, an unknown preference: all run synchronously")
        for prefer in ("respond-async, wait=5", "wait=5", "respond-async; x=1", "lrokit-probe"):
            t.send("POST", execute, headers={"Prefer": prefer}, json={"inputs": {"name": "x"}})
        t.note("wrong methods on the monitor")
        t.send("PUT", dismissed, json={})
        t.send("POST", dismissed, json={})
        t.note("dismiss a running job: DELETE /jobs/{id}")
        t.send("GET", dismissed)
        t.send("DELETE", dismissed)
        t.send("GET", dismissed)
        t.send("GET", f"{dismissed}/results?f=json")
        t.send("DELETE", dismissed)
        t.note("dismiss a finished job")
        t.send("DELETE", monitor)
        t.send("GET", monitor)
        t.note("after the dismissed job's 10.25 s: does it come back?")
        time.sleep(max(0.0, 11.5 - (time.monotonic() - t.start)))
        t.send("GET", dismissed)
        jobs = t.send("GET", f"{u}/jobs?f=json", limit=300).json()["jobs"]
        job_id = dismissed.rsplit("/", 1)[1]
        listed = job_id in [job["jobID"] for job in jobs]
        t.lines.append(f"(dismissed job {job_id} in the job list: {listed})")
        t.note("a server-side failure: the outputs folder removed, then a valid job")
        shutil.rmtree(geo.workdir / "outputs")
        broken = t.send(
            "POST", execute, headers={"Prefer": "respond-async"}, json={"inputs": {"name": "x"}}
        ).headers["location"]
        time.sleep(0.5)
        t.poll(broken, status, TERMINAL_OGC, 0.5)
        t.send("GET", f"{broken}/results?f=json")
        t.save(out / "pygeoapi-transcript.txt")


def wes_transcript(out: Path, scratch: Path) -> None:
    with run_wes(scratch / "wes") as wes:
        t = Transcript(
            f"wes-service {wes.version} at {wes.api} (started by tests/interop/servers.py)"
        )
        a = wes.api
        state: Callable[[httpx.Response], str] = lambda r: r.json().get("state", "")  # noqa: E731

        def submit(seconds: int, exit_code: int) -> str:
            data, files = wes.run_form(seconds, exit_code)
            run: str = t.send("POST", f"{a}/runs", data=data, files=files).json()["run_id"]
            return run

        t.note("service info (supported_wes_versions)")
        t.send("GET", f"{a}/service-info")
        t.note("a successful job: sleeps 3 s, exits 0 (multipart POST /runs)")
        ok = submit(3, 0)
        t.send("GET", f"{a}/runs/{ok}/status")
        t.note("HEAD on the status")
        t.send("HEAD", f"{a}/runs/{ok}/status")
        t.note("the run log while it runs")
        t.send("GET", f"{a}/runs/{ok}")
        t.note("polls every 0.5 s (no Retry-After anywhere)")
        t.poll(f"{a}/runs/{ok}/status", state, TERMINAL_WES, 0.5)
        t.note("the result: outputs in the run log")
        t.send("GET", f"{a}/runs/{ok}", limit=2000)
        t.note("a failing job: exits 3")
        bad = submit(0, 3)
        t.poll(f"{a}/runs/{bad}/status", state, TERMINAL_WES, 0.5)
        t.send("GET", f"{a}/runs/{bad}", limit=2000)
        t.note("cancel a 6 s job, then poll: the cancel changes nothing")
        long = submit(6, 0)
        t.send("POST", f"{a}/runs/{long}/cancel")
        time.sleep(0.5)
        t.poll(f"{a}/runs/{long}/status", state, TERMINAL_WES, 1.0)
        t.send("POST", f"{a}/runs/{long}/cancel")
        t.note("an unknown run id")
        t.send("GET", f"{a}/runs/0123456789abcdef0123456789abcdef/status")
        t.send("GET", f"{a}/runs/0123456789abcdef0123456789abcdef")
        t.send("POST", f"{a}/runs/fedcba9876543210fedcba9876543210/cancel")
        t.note("wrong media type / malformed submissions")
        t.send("POST", f"{a}/runs", json={
            "workflow_url": "https://example.org/x.cwl", "workflow_type": "CWL",
            "workflow_type_version": "v1.2", "workflow_params": {},
        })  # fmt: skip
        data, files = wes.run_form(0, 0)
        t.send("POST", f"{a}/runs", data={**data, "workflow_params": "{bad"}, files=files)
        t.send("POST", f"{a}/runs", data={k: v for k, v in data.items() if k != "workflow_url"},
               files=files)  # fmt: skip
        t.send("POST", f"{a}/runs",
               data={**data, "workflow_type": "WDL", "workflow_type_version": "1.0"},
               files=files)  # fmt: skip
        t.note("wrong methods")
        t.send("DELETE", f"{a}/runs/{ok}")
        t.send("PUT", f"{a}/runs/{ok}/status")
        t.send("GET", f"{a}/runs/{ok}/cancel")
        t.note("the run list: the ids only ever asked about are runs now")
        t.send("GET", f"{a}/runs", limit=2000)
        t.save(out / "wes-transcript.txt")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    with tempfile.TemporaryDirectory(prefix="lrokit-interop-") as scratch:
        pygeoapi_transcript(out, Path(scratch))
        wes_transcript(out, Path(scratch))


if __name__ == "__main__":
    main()
