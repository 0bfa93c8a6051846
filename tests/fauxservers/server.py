"""A minimal, correct implementation of the canonical contract, with one rule broken on demand.

Jobs advance one step per monitor read: PENDING, then PROCESSING at 50 %, then their terminal
state, so a run needs no real time. The failing body (year 1999) ends in ERROR. A read with
``Prefer: wait=N`` of a job not terminal is held until the job's state changes, N seconds at
most (and ``MAX_HOLD``); time passes for a held job, which moves one step on every ``TICK``
seconds. A read with ``Accept: text/event-stream`` streams the job's status to its end, one
step per event.

A submission naming a ``callbackUrl`` gets the job's status document POSTed there when the
job ends, signed per Standard Webhooks with :data:`WEBHOOK_SECRET`: a failed attempt is sent
again after :data:`REDELIVER` seconds (the Retry-After of a 429 or 503 if longer), with the
same ``webhook-id`` and body, :data:`ATTEMPTS` at most; a 2xx or a 410 ends it.

Given ``tokens`` (bearer token -> principal), every request needs ``Authorization: Bearer
TOKEN`` (401 with a challenge without one), a job belongs to the principal that submitted it,
and for any other it does not exist: 404 as for an unknown id, and not listed. Without, the
server is open to anyone and every job is everyone's.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrokit.webhooks import signature_headers

PROBLEM = "application/problem+json"
STEPS = ("PENDING", "PROCESSING")
TERMINAL = ("DONE", "ERROR", "CANCELLED")
#: Seconds between looks at a held job; after which a held job moves one step on by itself;
#: by which a hold outlasts what was asked when WAIT-1 is broken; that a read is held at most.
LOOK, TICK, OVERRUN, MAX_HOLD = 0.01, 0.05, 1.5, 30
_WAIT = re.compile(r"(?:^|[,\s])wait\s*=\s*([0-9]+)", re.IGNORECASE)
T0 = "2026-01-01T00:00:0{}Z"
PAGE = "<!DOCTYPE html>\n<html><body><table><tr><td>1</td></tr></table></body></html>\n"
#: Where a request's principal is kept in its ASGI scope (None: the server has no tokens).
PRINCIPAL = "faux.principal"
#: The secret deliveries are signed with; one they are signed with when WEBHOOK-2 is broken.
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW5vdC10aGUtc2VydmVycw=="
#: Seconds before a failed delivery is sent again; attempts at one delivery at most.
REDELIVER, ATTEMPTS = 0.2, 5
#: What another principal may do to a job when its TENANCY rule is broken.
OPEN_TO_ALL = {"read": "TENANCY-1", "download": "TENANCY-2", "cancel": "TENANCY-3"}


class FauxServer:
    """``FauxServer(breaks=None)`` is conformant; ``breaks="ID"`` breaks rule ID only. With
    ``tokens`` (bearer token -> principal) it has principals, and can break TENANCY rules."""

    def __init__(self, breaks: str | None = None, tokens: Mapping[str, str] | None = None) -> None:
        self.breaks = breaks
        self.tokens = tokens
        self.jobs: dict[str, dict[str, Any]] = {}
        self.keys: dict[tuple[str | None, str], tuple[str, bytes]] = {}
        self.bodies: dict[tuple[str | None, bytes], str] = {}
        self.deliveries: set[asyncio.Task[None]] = set()
        routes = [
            Route("/reports", self.submit, methods=["POST"]),
            Route("/reports", self.listing, methods=["GET"]),
            Route("/reports/{id}", self.monitor, methods=["GET", "DELETE"]),
            Route("/reports/{id}/download", self.download, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if self.tokens is not None:
            principal = self.tokens.get(bearer(scope))
            if principal is None:
                challenge = {"WWW-Authenticate": 'Bearer realm="faux"'}
                response = self.problem(401, "Unauthorized", path, challenge)
                if self.is_("TENANCY-6"):
                    del response.headers["www-authenticate"]
                await self.dated(response)(scope, receive, send)
                return
            scope = {**scope, PRINCIPAL: principal}
        allowed = {"/reports": "GET, HEAD, POST"}.get(path) or (
            "GET, HEAD" if path.endswith("/download") else "GET, HEAD, DELETE"
        )
        if method not in allowed.replace(" ", "").split(","):
            headers = {} if self.is_("PROBLEM-6") else {"Allow": allowed}
            response = self.problem(405, "Method not allowed", path, headers)
            await self.dated(response)(scope, receive, send)
            return

        async def send_dated(message: Any) -> None:
            if message["type"] == "http.response.start" and not self.is_("HTTP-5"):
                message = {
                    **message,
                    "headers": [(b"date", formatdate(usegmt=True).encode()), *message["headers"]],
                }
            await send(message)

        await self.app(scope, receive, send_dated)

    def is_(self, rule: str) -> bool:
        return self.breaks == rule

    async def aclose(self) -> None:
        """Stop the deliveries still being attempted."""
        for task in self.deliveries:
            task.cancel()
        await asyncio.gather(*self.deliveries, return_exceptions=True)

    def job_for(self, request: Request, action: str) -> dict[str, Any] | None:
        """The job the path names, if the caller may ``action`` it (``read``, ``download``,
        ``cancel``): another principal's job is no job."""
        job = self.jobs.get(request.path_params["id"])
        if job is None or job.get("owner") == request.scope.get(PRINCIPAL):
            return job
        return job if self.is_(OPEN_TO_ALL[action]) else None

    def not_found(self, request: Request, status: int = 404) -> Response:
        """The answer for a job the caller cannot see, as for an unknown id (breaking
        TENANCY-5: 403 for another principal's job, which tells that it exists)."""
        if self.is_("TENANCY-5") and request.path_params["id"] in self.jobs:
            return self.problem(403, "Forbidden", request.url.path)
        return self.problem(status, "Not found", request.url.path)

    def dated(self, response: Response) -> Response:
        if not self.is_("HTTP-5"):
            response.headers["Date"] = formatdate(usegmt=True)
        return response

    # -- representations -------------------------------------------------------------------

    def problem(
        self, status: int, title: str, instance: str, headers: dict[str, str] | None = None
    ) -> Response:
        body: dict[str, Any] = {
            "type": f"/problems/{status}",
            "title": title,
            "status": status,
            "detail": f"{title}.",
            "instance": instance,
        }
        media = PROBLEM
        if status == 404 and self.is_("PROBLEM-1"):
            media, body = "application/json", {"error": title}
        if status == 404 and self.is_("PROBLEM-2"):
            body["instance"] = "not a uri reference"
        if status == 404 and self.is_("PROBLEM-3"):
            body["status"] = 400
        if status == 404 and self.is_("PROBLEM-9"):
            body["detail"] = 'Traceback (most recent call last):\n  File "app.py", line 7'
        return Response(json.dumps(body), status, headers=headers, media_type=media)

    def document(self, job: dict[str, Any]) -> dict[str, Any]:
        state = job["state"]
        href = f"/reports/{job['id']}"
        doc: dict[str, Any] = {
            "id": job["id"].upper() if self.is_("MONITOR-4") else job["id"],
            "status": "RUNNING" if self.is_("MONITOR-3") and state == "PROCESSING" else state,
            "reportType": "yearly-sales",
            "parameters": job["parameters"],
            "progress": job["progress"],
            "createdAt": T0.format(0),
            "links": {"self": {"href": href}},
        }
        if state != "PENDING" or job["reads"] > 1:
            doc["startedAt"] = T0.format(1)
        if state in ("DONE", "ERROR", "CANCELLED"):
            doc["finishedAt"] = T0.format(2)
            if self.is_("LIFECYCLE-4"):
                doc["finishedAt"] = "2025-12-31T23:59:59Z"
            if self.is_("LIFECYCLE-2") and job["terminal_reads"] > 1:
                doc["finishedAt"] = T0.format(min(9, 2 + job["terminal_reads"]))
        if state == "DONE" or (state == "ERROR" and self.is_("RESULT-2")):
            doc["links"]["download"] = {"href": f"{href}/download"}
        if state not in ("DONE", "ERROR", "CANCELLED"):
            doc["links"]["cancel"] = {"href": href}
        if state == "PROCESSING":  # estimated well: a read later finds it ended
            doc["estimatedTimeRemaining"] = 0 if self.is_("LIFECYCLE-6") else 1
        if state == "ERROR":
            doc["error"] = {
                "type": "/problems/no-data",
                "title": "No data",
                "status": 422,
                "detail": "No sales in 1999.",
                "code": "NO_DATA",
                "retryable": False,
                "failedStep": "aggregate",
            }
        if self.is_("MONITOR-2"):
            doc["unexpected"] = True
        return doc

    def status_response(self, job: dict[str, Any], status: int = 200, **headers: str) -> Response:
        state = job["state"]
        fields = {"Cache-Control": "no-store", **headers}
        if self.is_("HTTP-1"):
            del fields["Cache-Control"]
        running = state not in ("DONE", "ERROR", "CANCELLED")
        if (running and not (self.is_("RETRY-2") and status == 200)) or (
            self.is_("RETRY-3") and not running
        ):
            fields["Retry-After"] = "1.5" if self.is_("RETRY-1") and status == 200 else "1"
        if self.is_("RETRY-4") and status == 202:
            fields["Retry-After"] = "3600"
        if running and "Retry-After" in fields and self.is_("RETRY-5"):
            fields["Retry-After"] = "0"  # a client honouring it polls in a loop
        if running and "Retry-After" in fields and self.is_("LIFECYCLE-6"):
            fields["Retry-After"] = "500"  # scaled by the tester: reads 0.5 s apart
        return Response(
            json.dumps(self.document(job)), status, headers=fields, media_type="application/json"
        )

    def advance(self, job: dict[str, Any]) -> None:
        """One monitor read moves the job one step on; a job that ends calls back."""
        self.step(job)
        self.settle(job)

    def settle(self, job: dict[str, Any]) -> None:
        """Once the job is over, deliver its status document to its callback URL, once
        (breaking WEBHOOK-1: never)."""
        if job["state"] in TERMINAL and job.get("callback") and not job.get("called"):
            job["called"] = True
            if not self.is_("WEBHOOK-1"):
                task = asyncio.get_running_loop().create_task(self.deliver(job))
                self.deliveries.add(task)
                task.add_done_callback(self.deliveries.discard)

    async def deliver(self, job: dict[str, Any]) -> None:
        """POST the job's status document, signed, until the receiver takes it (2xx) or
        answers 410 Gone. Breaking WEBHOOK-2 it is signed with another secret; WEBHOOK-3,
        timestamped ten minutes ago; WEBHOOK-4, the document says the job is still running;
        WEBHOOK-5, each attempt has an id of its own; WEBHOOK-6, Retry-After is ignored;
        WEBHOOK-7, a 410 is a failure like any other; WEBHOOK-8, a copy goes to a path of the
        receiver's nobody gave."""
        document = self.document(job)
        if self.is_("WEBHOOK-4"):
            document["status"] = "PROCESSING"
        body, url = json.dumps(document).encode(), job["callback"]
        secret = OTHER_SECRET if self.is_("WEBHOOK-2") else WEBHOOK_SECRET
        message = f"msg_{uuid.uuid4().hex}"
        async with httpx.AsyncClient(timeout=5.0) as client:
            if self.is_("WEBHOOK-8"):
                stray = str(httpx.URL(url).copy_with(path="/lrokit-stray"))
                await client.post(stray, content=body, headers={"Content-Type": "application/json"})
            for _ in range(ATTEMPTS):
                if self.is_("WEBHOOK-5"):
                    message = f"msg_{uuid.uuid4().hex}"
                stamp = int(time.time()) - (600 if self.is_("WEBHOOK-3") else 0)
                headers = {
                    "Content-Type": "application/json",
                    **signature_headers(secret, message, stamp, body),
                }
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    await asyncio.sleep(REDELIVER)
                    continue
                if response.is_success or (
                    response.status_code == 410 and not self.is_("WEBHOOK-7")
                ):
                    return
                pause = REDELIVER
                advised = response.headers.get("retry-after", "")
                if (
                    response.status_code in (429, 503)
                    and advised.isdigit()
                    and not self.is_("WEBHOOK-6")
                ):
                    pause = max(pause, int(advised))
                await asyncio.sleep(pause)

    def step(self, job: dict[str, Any]) -> None:
        """One monitor read moves the job one step on (breaking LIFECYCLE-6: the job runs
        2.8 s of wall time, though it estimates it has no time left)."""
        job["reads"] += 1
        if job["state"] in ("DONE", "ERROR", "CANCELLED"):
            job["terminal_reads"] += 1
            return
        if self.is_("LIFECYCLE-6"):
            started = job.setdefault("started", time.monotonic())
            running = time.monotonic() - started < 2.8
            job["state"], job["progress"] = ("PROCESSING", 50) if running else (job["outcome"], 100)
            job["terminal_reads"] = 0 if running else 1
            return
        if self.is_("LIFECYCLE-5"):
            job["state"] = "PROCESSING"
            return
        script, progress = ["PENDING", "PROCESSING", job["outcome"]], [0, 50, 100]
        if self.is_("LIFECYCLE-1"):
            script, progress = (
                ["PENDING", "PROCESSING", "PENDING", job["outcome"]],
                [0, 50, 50, 100],
            )
        if self.is_("LIFECYCLE-3"):
            script = ["PENDING", "PROCESSING", "PROCESSING", job["outcome"]]
            progress = [0, 60, 30, 100]
        step = min(job["reads"] - 1, len(script) - 1)
        job["state"] = script[step]
        if job["state"] != "ERROR":  # a failed job keeps the progress it had
            job["progress"] = progress[step]
        if job["state"] in ("DONE", "ERROR"):
            job["terminal_reads"] = 1

    # -- handlers --------------------------------------------------------------------------

    async def submit(self, request: Request) -> Response:
        if self.is_("ACCEPT-4"):
            await asyncio.sleep(2.1)  # the work done before answering
        prefer = request.headers.get("prefer", "")
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("application/json"):
            status = 400 if self.is_("PROBLEM-7") else 415
            headers = {"Location": "/reports/refused"} if self.is_("ACCEPT-3") else None
            return self.problem(status, "Unsupported media type", "/reports", headers)
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return self.problem(422 if self.is_("PROBLEM-5") else 400, "Malformed", "/reports")
        valid = isinstance(body, dict) and isinstance(body.get("reportType"), str)
        if not (valid and isinstance(body.get("parameters"), dict)) and not self.is_("ACCEPT-3"):
            return self.problem(400, "Request violates the contract", "/reports")
        if self.is_("HTTP-4") and "x-lrokit" in prefer:
            return self.problem(400, "Unknown preference", "/reports")
        owner = request.scope.get(PRINCIPAL)
        key = request.headers.get("idempotency-key")
        if key is not None and (owner, key) in self.keys:
            job_id, first_raw = self.keys[owner, key]
            if first_raw != raw and not self.is_("IDEMPOTENCY-2"):
                return self.problem(422, "Idempotency key reused", "/reports")
            if self.is_("IDEMPOTENCY-1"):
                return self.problem(409, "Still processing", "/reports")
            return self.accepted(self.jobs[job_id], prefer)
        if self.is_("IDEMPOTENCY-3") and key is not None:
            await asyncio.sleep(0.01)  # a check-then-insert race
        if self.is_("LOCATION-5") and key is None and not prefer and (owner, raw) in self.bodies:
            return self.accepted(self.jobs[self.bodies[owner, raw]], prefer)
        year = body.get("parameters", {}).get("year")
        job = {
            "id": uuid.uuid4().hex,
            "owner": owner,
            "state": "PENDING",
            "progress": 0,
            "reads": 0,
            "terminal_reads": 0,
            "parameters": body.get("parameters", {}),
            "outcome": "ERROR" if year == "1999" else "DONE",
            "callback": body.get("callbackUrl"),
        }
        self.jobs[job["id"]] = job
        self.bodies.setdefault((owner, raw), job["id"])
        if key is not None:
            self.keys[owner, key] = (job["id"], raw)
        return self.accepted(job, prefer)

    def accepted(self, job: dict[str, Any], prefer: str) -> Response:
        location = f"/reports/{job['id']}"
        if self.is_("LOCATION-3"):
            location += "#status"
        headers = {"Location": location, "Vary": "Prefer"}
        if self.is_("HTTP-3"):
            del headers["Vary"]
        if "respond-async" in prefer:
            headers["Preference-Applied"] = "respond-async"
        response = self.status_response(job, 201 if self.is_("ACCEPT-1") else 202, **headers)
        if self.is_("LOCATION-1"):
            del response.headers["location"]
        if self.is_("LOCATION-2"):
            response.headers.append("Location", location)
        if self.is_("ACCEPT-2"):
            response.body = b""
            response.headers["content-length"] = "0"
        return response

    async def listing(self, request: Request) -> Response:
        """The caller's jobs, newest first (breaking TENANCY-4: everyone's)."""
        principal = request.scope.get(PRINCIPAL)
        everyone = self.is_("TENANCY-4")
        jobs = [j for j in self.jobs.values() if everyone or j.get("owner") == principal]
        body = {
            "items": [self.document(job) for job in reversed(jobs)],
            "links": {"self": {"href": "/reports"}},
        }
        headers = {"Cache-Control": "no-store"}
        return Response(json.dumps(body), 200, headers=headers, media_type="application/json")

    async def monitor(self, request: Request) -> Response:
        job = self.job_for(request, "cancel" if request.method == "DELETE" else "read")
        if job is None:
            return self.not_found(request, 400 if self.is_("PROBLEM-4") else 404)
        accept = request.headers.get("accept", "*/*")
        if request.method == "GET" and accept == "text/event-stream":
            return self.stream(job, request.headers.get("last-event-id"))
        if "json" not in accept and "*/*" not in accept and not self.is_("PROBLEM-8"):
            return self.problem(406, "Not acceptable", request.url.path)
        if request.method == "DELETE":
            return self.cancel(job)
        vary = {} if self.is_("HTTP-3") else {"Vary": "Prefer"}  # reads vary with Prefer: wait
        if request.method == "HEAD":
            if self.is_("HTTP-6"):  # a monitor that forgot HEAD: another status than GET's
                response = self.problem(
                    405, "Method not allowed", request.url.path, {"Allow": "GET, DELETE"}
                )
            else:
                response = self.status_response(job, **vary)
            if not self.is_("HTTP-2"):  # GET's status and fields, without its content
                response.body = b""
            return response
        if self.is_("LOCATION-4") and not job.get("seen"):
            job["seen"] = True  # the job is "not there yet" at the first read
            return self.problem(404, "Not found", request.url.path)
        asked = _WAIT.search(request.headers.get("prefer", ""))
        wait = min(int(asked.group(1)), MAX_HOLD) if asked is not None else 0
        if wait and job["state"] not in TERMINAL:
            await self.hold(job, wait)
            if not self.is_("WAIT-3"):
                vary["Preference-Applied"] = f"wait={wait}"
            return self.status_response(job, **vary)
        if wait and self.is_("WAIT-4"):
            await asyncio.sleep(wait)  # a job already over, held all the same
        self.advance(job)
        if job["reads"] == 2 and self.is_("MONITOR-1"):
            return self.problem(503, "Busy", request.url.path, {"Retry-After": "1"})
        return self.status_response(job, **vary)

    def stream(self, job: dict[str, Any], last: str | None) -> Response:
        """The job's status as Server-Sent Events, one step on after each, to its terminal
        state; a snapshot named by ``Last-Event-ID`` is not sent again. Breaking STREAM-1 it
        is labelled ``text/plain``; STREAM-2, the terminal event is left out; STREAM-3, every
        snapshot is sent, whatever ``Last-Event-ID`` names."""
        events = []
        for _ in range(len(STEPS) + 1):
            snapshot = f"{job['state']}.{job['progress']}"
            over = job["state"] in TERMINAL
            if (snapshot != last or self.is_("STREAM-3")) and not (over and self.is_("STREAM-2")):
                data = json.dumps(self.document(job))
                events.append(f"id: {snapshot}\nevent: status\ndata: {data}\n\n")
            if over:
                break
            job["state"] = "PROCESSING" if job["state"] == "PENDING" else job["outcome"]
            if job["state"] != "ERROR":  # a failed job keeps the progress it had
                job["progress"] = 50 if job["state"] == "PROCESSING" else 100
            job["terminal_reads"] = 1 if job["state"] in TERMINAL else 0
            self.settle(job)
        media = "text/plain" if self.is_("STREAM-1") else "text/event-stream"
        return Response("".join(events), 200, {"Cache-Control": "no-store"}, media_type=media)

    async def hold(self, job: dict[str, Any], seconds: int) -> None:
        """Hold a read of a job not terminal until its state changes, ``seconds`` at most:
        another read, a cancel or time moves it on (one step every ``TICK`` seconds held).
        Breaking WAIT-1 the job stands still while held and the hold outlasts what was asked
        by ``OVERRUN``; breaking WAIT-2 the hold runs to its end whatever changes."""
        loop = asyncio.get_running_loop()
        started, state, ticks = loop.time(), job["state"], 0
        limit = seconds + (OVERRUN if self.is_("WAIT-1") else 0)
        for _ in range(math.ceil(limit / LOOK)):
            if job["state"] != state and not self.is_("WAIT-2"):
                return
            await asyncio.sleep(LOOK)
            held = loop.time() - started
            if held >= limit:
                return
            moving = not self.is_("WAIT-1") and job["state"] not in TERMINAL
            if moving and held >= (ticks + 1) * TICK:
                ticks += 1
                self.advance(job)

    def cancel(self, job: dict[str, Any]) -> Response:
        if job["state"] == "CANCELLED":
            if self.is_("CANCEL-2"):
                return self.problem(409, "Already cancelled", f"/reports/{job['id']}")
            return self.status_response(job)
        if job["state"] in ("DONE", "ERROR"):
            if self.is_("CANCEL-3"):
                return self.status_response(job)
            return self.problem(409, "Finished", f"/reports/{job['id']}")
        if not self.is_("CANCEL-1"):
            job["state"] = "CANCELLED"
            job["terminal_reads"] = 1
            self.settle(job)
        return self.status_response(job)

    async def download(self, request: Request) -> Response:
        job = self.job_for(request, "download")
        if job is None:
            return self.not_found(request)
        if job["state"] != "DONE":
            if self.is_("RESULT-3"):
                return Response("{}", 200, media_type="application/json")
            return self.problem(409, "Not ready", request.url.path)
        if self.is_("RESULT-1"):
            return Response(b"", 200, media_type="application/json")
        if self.is_("RESULT-4"):  # a web page, labelled as one, whatever was asked for
            return Response(PAGE, 200, media_type="text/html")
        if self.is_("HTTP-7"):  # a web page labelled as the JSON asked for
            return Response(PAGE, 200, media_type="application/json")
        return Response(json.dumps({"rows": [[1]]}), 200, media_type="application/json")


def bearer(scope: Any) -> str:
    """The token of the request's ``Authorization: Bearer TOKEN`` (RFC 6750 §2.1), or ""."""
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class WireASGITransport(httpx.ASGITransport):
    """``httpx.ASGITransport``, except that content the app sends in answer to HEAD reaches the
    client, as it would from a server that puts on the wire whatever it is given: ASGI servers
    drop it (``httpx.ASGITransport`` and uvicorn alike), so in process no app could break
    HTTP-2 without this."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "HEAD":
            return await super().handle_async_request(request)
        app = self.app

        async def as_head(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "method": "HEAD"}, receive, send)

        # The app is asked HEAD; the transport, told GET, keeps all the app answers.
        told_get = httpx.Request("GET", request.url, headers=request.headers)
        transport = httpx.ASGITransport(
            as_head, self.raise_app_exceptions, self.root_path, self.client
        )
        return await transport.handle_async_request(told_get)
