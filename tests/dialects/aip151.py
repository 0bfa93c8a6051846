"""A Google AIP-151 service over HTTP/JSON, from AIP-151, AIP-193 and
google/longrunning/operations.proto: ``POST /v1/documents:analyze`` answers 200 with an
Operation ``{name: "operations/{id}", metadata, done: false}``; ``GET /v1/{name}`` reads it;
when done it carries exactly one of ``response`` and ``error`` (a google.rpc.Status);
``POST /v1/{name}:cancel`` answers ``{}`` and the operation ends with error code 1
(CANCELLED). Errors are ``{"error": {"code", "message", "status"}}`` (AIP-193)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer

META = "type.googleapis.com/example.v1.AnalyzeDocumentMetadata"
RESPONSE = "type.googleapis.com/example.v1.AnalyzeDocumentResponse"


class AipServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/v1/documents:analyze", self.analyze, methods=["POST"]),
            Route("/v1/operations/{id}:cancel", self.cancel, methods=["POST"]),
            Route("/v1/operations/{id}", self.get, methods=["GET"]),
        ]

    def error(self, http: int, status: str, message: str) -> Response:
        return self.json({"error": {"code": http, "message": message, "status": status}}, http)

    def operation(self, job: dict[str, Any]) -> dict[str, Any]:
        op: dict[str, Any] = {"name": f"operations/{job['id']}", "done": job["done"]}
        job["finished"] = job.get("finished") or job["done"]
        op["metadata"] = {"@type": META, "progressPercent": 100 if job["finished"] else 50}
        if job["done"]:
            if job["outcome"] == "response" and self.breaks != "MONITOR-2":
                op["response"] = {"@type": RESPONSE, "words": 4}
            elif job["outcome"] == "error":
                op["error"] = {"code": 3, "message": "The text cannot be analyzed."}
                if self.breaks == "RESULT-2":
                    op["response"] = {"@type": RESPONSE, "words": 0}
            elif job["outcome"] == "cancelled":
                op["error"] = {"code": 1, "message": "The operation was cancelled."}
        return op

    async def analyze(self, request: Request) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):  # the HTTP status of the base's answer, AIP-193 shaped
            return self.error(body.status_code, "INVALID_ARGUMENT", "A JSON object is needed.")
        if not isinstance(body.get("text"), str):
            return self.error(400, "INVALID_ARGUMENT", "text is required.")
        job = {
            "id": uuid.uuid4().hex,
            "done": False,
            "outcome": "error" if body["text"] == "fail" else "response",
        }
        self.jobs[job["id"]] = job
        return self.json(self.operation(job), 202 if self.breaks == "ACCEPT-1" else 200)

    async def get(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.error(404, "NOT_FOUND", "Operation not found.")
        if not self.acceptable(request):
            return self.error(406, "INVALID_ARGUMENT", "Only application/json.")
        if not job["done"]:
            job["done"] = self.step(job, ("running", "running", "done")) == "done"
        elif self.breaks == "LIFECYCLE-2":
            job["done"] = False  # a done operation that comes back to life
        return self.json(self.operation(job), **{"Cache-Control": "no-store"})

    async def cancel(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.error(404, "NOT_FOUND", "Operation not found.")
        if job["done"] and job["outcome"] != "cancelled":
            return self.error(400, "FAILED_PRECONDITION", "The operation is already done.")
        if self.breaks != "CANCEL-1":
            job["done"], job["outcome"] = True, "cancelled"
        return self.json({})
