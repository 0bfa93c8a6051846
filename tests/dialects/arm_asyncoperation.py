"""An Azure Resource Manager action with the Azure-AsyncOperation pattern: ``POST
.../widgets/w1/export`` answers 202 with an absolute ``Azure-AsyncOperation`` URL and
``Retry-After: 10`` and no body; the operation resource answers 200 ``{id, name, status,
startTime, endTime, percentComplete, error}`` with Retry-After while InProgress."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer
from tests.dialects.arm import PREFIX


class ArmAsyncOperationServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route(PREFIX + "/widgets/w1/export", self.export, methods=["POST"]),
            Route(
                PREFIX + "/locations/westus/operationStatuses/{id}", self.operation, methods=["GET"]
            ),
        ]

    def error(self, status: int, code: str, message: str) -> Response:
        return self.json({"error": {"code": code, "message": message}}, status)

    def resource(self, request: Request, job: dict[str, Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": request.url.path,
            "name": job["id"],
            "status": job["status"],
            "startTime": "2026-01-01T00:00:00Z",
            "percentComplete": 100 if job["status"] != "InProgress" else 50,
        }
        if job["status"] != "InProgress":
            doc["endTime"] = "2026-01-01T00:00:05Z"
        if job["status"] == "Failed":
            doc["error"] = {"code": "ExportFailed", "message": "The widget cannot be exported."}
            if self.breaks == "RESULT-2":
                doc["error"] = {"code": "ExportFailed"}
        return doc

    async def export(self, request: Request) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):
            return self.error(body.status_code, "InvalidRequestContent", "A JSON body is needed.")
        job = {
            "id": uuid.uuid4().hex,
            "status": "InProgress",
            "outcome": "Failed" if body.get("format") == "fail" else "Succeeded",
        }
        self.jobs[job["id"]] = job
        headers = {"Retry-After": "10"}
        if self.breaks != "LOCATION-1":
            headers["Azure-AsyncOperation"] = str(request.url_for("operation", id=job["id"]))
        return Response(status_code=202, headers=headers)

    async def operation(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.error(404, "NotFound", "No such operation.")
        if not self.acceptable(request):
            return self.error(406, "NotAcceptable", "Only application/json.")
        if job["status"] == "InProgress":
            job["status"] = self.step(job, ("InProgress", "InProgress", job["outcome"]))
        if job["status"] == "Failed" and self.breaks == "MONITOR-1":
            return self.error(400, "ExportFailed", "The widget cannot be exported.")
        headers = {"Cache-Control": "no-store"}
        if job["status"] == "InProgress":
            headers["Retry-After"] = "10"
        return self.json(self.resource(request, job), **headers)
