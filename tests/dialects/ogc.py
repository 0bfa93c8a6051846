"""An OGC API - Processes 1.0 server with one asynchronous process, ``echo``, from OGC
18-062r2: ``POST /processes/echo/execution`` with ``Prefer: respond-async`` answers 201,
Location ``/jobs/{jobID}`` and a statusInfo (with ``Preference-Applied``, and ``Vary: Prefer``
as RFC 7240 asks); ``GET /jobs/{jobID}`` answers the statusInfo; ``/jobs/{jobID}/results``
answers 404 ``result-not-ready`` until the job is successful; ``DELETE /jobs/{jobID}``
dismisses it. Exceptions are application/json with type, title, status, detail."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer

EXC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
RESULTS_REL = "http://www.opengis.net/def/rel/ogc/1.0/results"
T = "2026-01-01T00:00:0{}Z"


class OgcServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/processes/echo/execution", self.execute, methods=["POST"]),
            Route("/jobs/{id}", self.job, methods=["GET", "DELETE"]),
            Route("/jobs/{id}/results", self.results, methods=["GET"]),
        ]

    def exception(self, status: int, kind: str, detail: str, instance: str) -> Response:
        # PROBLEM-4 broken as pygeoapi 0.21 breaks it: a bare word, not the exception's URI
        bare = self.breaks == "PROBLEM-4" and kind == "no-such-job"
        body = {
            "type": "NoSuchJob" if bare else EXC + kind,
            "title": kind.replace("-", " "),
            "status": status,
            "detail": detail,
            "instance": instance,
        }
        return self.json(body, status)

    def method_not_allowed(self, request: Request, allow: str) -> Response:
        response = self.exception(405, "method-not-allowed", "Not here.", request.url.path)
        response.headers["Allow"] = allow
        return response

    def status_info(self, job: dict[str, Any]) -> dict[str, Any]:
        state = job["status"]
        info: dict[str, Any] = {
            "jobID": job["id"],
            "type": "process",
            "processID": "echo",
            # "started": a word OGC 1.0 does not have, for the MONITOR-3 breakage
            "status": "started" if self.breaks == "MONITOR-3" and state == "running" else state,
            "created": T.format(0),
            "updated": T.format(0),
            "progress": {"accepted": 0, "running": 50}.get(
                state, 100 if state == "successful" else 50
            ),
            "links": [{"href": f"/jobs/{job['id']}", "rel": "self"}],
        }
        if state != "accepted":
            info["started"] = T.format(1)
        if state in ("successful", "failed", "dismissed"):
            info["finished"] = T.format(2)
        if state == "successful":
            info["links"].append({"href": f"/jobs/{job['id']}/results", "rel": RESULTS_REL})
        if state == "failed":
            info["message"] = "The echo process refuses to echo 'fail'."
        return info

    async def execute(self, request: Request) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):
            return self.exception(
                body.status_code,
                "invalid-request",
                "A JSON execute request is needed.",
                "/processes/echo/execution",
            )
        message = (
            body.get("inputs", {}).get("message") if isinstance(body.get("inputs"), dict) else None
        )
        if not isinstance(message, str):
            return self.exception(
                400, "invalid-input", "inputs.message is required.", "/processes/echo/execution"
            )
        job = {"id": uuid.uuid4().hex, "status": "accepted", "message": message}
        self.jobs[job["id"]] = job
        headers = {"Location": f"/jobs/{job['id']}", "Vary": "Prefer"}
        if "respond-async" in request.headers.get("prefer", ""):
            headers["Preference-Applied"] = "respond-async"
        if self.breaks == "LOCATION-1":
            del headers["Location"]
        return self.json(
            self.status_info(job), 202 if self.breaks == "ACCEPT-1" else 201, **headers
        )

    async def job(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.exception(404, "no-such-job", "No job has this id.", request.url.path)
        if not self.acceptable(request):
            return self.exception(406, "not-acceptable", "Only application/json.", request.url.path)
        if request.method == "DELETE":
            job["status"] = "dismissed"
        elif job["status"] in ("accepted", "running"):
            outcome = "failed" if job["message"] == "fail" else "successful"
            job["status"] = self.step(job, ("accepted", "running", outcome))
        return self.json(self.status_info(job), **{"Cache-Control": "no-store"})

    async def results(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.exception(404, "no-such-job", "No job has this id.", request.url.path)
        if job["status"] == "successful":
            return self.json({"message": job["message"]})
        if self.breaks == "RESULT-3":
            return self.json({})
        if job["status"] == "failed":
            return self.exception(500, "job-failed", "The process failed.", request.url.path)
        return self.exception(404, "result-not-ready", "The job is not finished.", request.url.path)
