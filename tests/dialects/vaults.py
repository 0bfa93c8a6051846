"""A job API in the shape of AWS Glacier's jobs (not a built-in dialect): a job can only be
started in a vault that exists (``PUT /vaults/{vault}`` creates it); ``POST
/vaults/{vault}/jobs`` answers 202 naming the job in ``x-amz-job-id`` and nowhere else; ``GET
/vaults/{vault}/jobs/{id}`` answers ``{JobId, StatusCode}`` (InProgress, Succeeded, Failed).
What it needs of a tester: a setup request, and a monitor path built from a header."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer


class VaultServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/vaults/{vault}", self.create_vault, methods=["PUT"]),
            Route("/vaults/{vault}/jobs", self.start, methods=["POST"]),
            Route("/vaults/{vault}/jobs/{id}", self.describe, methods=["GET"]),
        ]

    def error(self, status: int, code: str) -> Response:
        return self.json({"code": code, "message": code, "type": "Client"}, status)

    async def create_vault(self, request: Request) -> Response:
        self.jobs.setdefault("vault:" + request.path_params["vault"], {})
        return Response(status_code=201)

    async def start(self, request: Request) -> Response:
        if "vault:" + request.path_params["vault"] not in self.jobs:
            return self.error(404, "ResourceNotFoundException")
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        if body.get("Type") not in ("inventory-retrieval", "archive-retrieval"):
            return self.error(400, "InvalidParameterValueException")
        job = uuid.uuid4().hex
        self.jobs[job] = {"StatusCode": "InProgress", "failing": body.get("Tier") == "Fail"}
        return Response(status_code=202, headers={"x-amz-job-id": job, "Retry-After": "1"})

    async def describe(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None or "StatusCode" not in job:
            return self.error(404, "ResourceNotFoundException")
        if not self.acceptable(request):
            return self.error(406, "NotAcceptable")
        outcome = "Failed" if job["failing"] else "Succeeded"
        job["StatusCode"] = self.step(job, ("InProgress", "InProgress", outcome))
        document = {"JobId": request.path_params["id"], "StatusCode": job["StatusCode"]}
        if job["StatusCode"] == "Failed":
            document["StatusMessage"] = "The retrieval failed."
        pacing = {"Retry-After": "1"} if job["StatusCode"] == "InProgress" else {}
        return self.json(document, **{"Cache-Control": "no-store", **pacing})
