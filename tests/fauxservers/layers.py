"""Servers that break what only the generative layers judge (tests/test_generative_layers.py).

Each is the conformant :class:`FauxServer` (or a dialect's faithful server) except for one
invariant or step check of the lifecycle state machine that ``FauxServer(breaks=...)`` cannot
break, and each breaks it on every job, so that the state machine meets the breach on whatever
steps Hypothesis draws, not by luck. :class:`Quick` (jobs done at their first read) and
:class:`LongJobs` (jobs that keep running) are conformant: the bases of breaches that need a job
done, or still running, when the machine gets to it.

:class:`Contradicts` wraps the reference server for the schema layer: the FauxServer speaks
only the core of the contract (``GET /reports`` without its query parameters, no
``/problems`` pages, requests not validated against the contract's schemas) and fails that
layer conformant, so the schema layer's baseline is the reference server itself, with one
kind of answer broken.
"""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any, ClassVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tests.dialects.aip151 import AipServer
from tests.fauxservers.server import FauxServer

TERMINAL = ("DONE", "ERROR", "CANCELLED")

Scope = dict[str, Any]
Receive = Any
Send = Any


class Quick(FauxServer):
    """Conformant; jobs end at their first monitor read, and every job succeeds (its data
    covers 1999 too): one poll of any submitted job reaches DONE and its result."""

    def advance(self, job: dict[str, Any]) -> None:
        job["reads"] += 1
        if job["state"] in TERMINAL:
            job["terminal_reads"] += 1
            return
        job["state"], job["progress"], job["terminal_reads"] = "DONE", 100, 1


class NoResultLink(Quick):
    """RESULT-1: a DONE job links no result (``links.download`` is missing)."""

    def document(self, job: dict[str, Any]) -> dict[str, Any]:
        doc = super().document(job)
        doc["links"].pop("download", None)
        return doc


class Resurrects(Quick):
    """LIFECYCLE-2: a DONE job is read PROCESSING again at its next read (a job whose
    worker restarted it), progress kept at 100."""

    def advance(self, job: dict[str, Any]) -> None:
        if job["state"] == "DONE":
            job["reads"] += 1
            job["state"] = "PROCESSING"
            return
        super().advance(job)


class FractionProgress(FauxServer):
    """LIFECYCLE-3: progress is a fraction (0.0 … 1.0), not a percentage, from the 202 on."""

    def document(self, job: dict[str, Any]) -> dict[str, Any]:
        doc = super().document(job)
        doc["progress"] = job["progress"] / 100
        return doc


class OneJob(FauxServer):
    """LOCATION-5: every submission after the first is answered with the first job (its
    monitor), whatever its body."""

    async def submit(self, request: Request) -> Response:
        if self.jobs:
            return self.accepted(next(iter(self.jobs.values())), "")
        return await super().submit(request)


class LongJobs(FauxServer):
    """Conformant; jobs stay PROCESSING (progress 50) once started: a long report."""

    def advance(self, job: dict[str, Any]) -> None:
        job["reads"] += 1
        if job["state"] in TERMINAL:
            job["terminal_reads"] += 1
        elif job["reads"] > 1:
            job["state"], job["progress"] = "PROCESSING", 50


class RefusesCancel(LongJobs):
    """CANCEL-1: a cancel of a running job is refused (409, as for a finished one), and the job
    goes on."""

    def cancel(self, job: dict[str, Any]) -> Response:
        if job["state"] in TERMINAL:
            return super().cancel(job)
        return self.problem(409, "Cannot be cancelled", f"/reports/{job['id']}")


class CancelFails(FauxServer):
    """A cancel is answered 500 (a problem), whatever the job's state."""

    def cancel(self, job: dict[str, Any]) -> Response:
        return self.problem(500, "Internal error", f"/reports/{job['id']}")


class NamelessOperation(AipServer):
    """AIP-151: the Operation that answers a submission has no ``name``: nothing says where
    to read it (the aip151 profile's monitor is ``/v1/{name}``)."""

    async def analyze(self, request: Request) -> Response:
        response = await super().analyze(request)
        if response.status_code != 200:
            return response
        operation = json.loads(bytes(response.body))
        operation.pop("name", None)
        return self.json(operation, 200)


class Contradicts:
    """The reference server (an ASGI app) with one kind of answer broken, and the Date field
    that a real HTTP server in front of it adds (uvicorn under ``ThreadServer`` adds none).

    ``"schema"``: every 202 (a submission's) reports its progress as a string, against the
    contract's ``ReportStatus``. ``"PROBLEM-3"``: every 404 problem's ``status`` member says
    400: lrokit's rule, not the contract's (its ``Problem`` schema admits any status)."""

    BREAKS: ClassVar[dict[str, int]] = {"schema": 202, "PROBLEM-3": 404}

    def __init__(self, app: Any, breaks: str) -> None:
        self.app, self.breaks = app, breaks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[dict[str, Any]] = []  # the answer to break, until its last body part

        async def breaking(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                date = (b"date", formatdate(usegmt=True).encode())
                message = {**message, "headers": [date, *message["headers"]]}
                if message["status"] == self.BREAKS[self.breaks]:
                    held.append(message)
                    return
            if not held:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await self.send_broken(send, held)

        await self.app(scope, receive, breaking)

    async def send_broken(self, send: Send, held: list[dict[str, Any]]) -> None:
        start, *parts = held
        document = orjson.loads(b"".join(part.get("body", b"") for part in parts))
        if self.breaks == "schema":
            document["progress"] = str(document["progress"])
        else:
            document["status"] = 400
        body = orjson.dumps(document)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
