"""The two seed dialects, each as its seed text shows it.

``SeedEmbedded`` follows "Long-running operations": POST /reports -> 202
``{id, status: "processing"}`` with Location ``/reports/{id}`` (and, as in the tutorial's
code, no Retry-After); the status answers "processing" with ``Retry-After: 5``, then
"completed" with ``result``, or "failed" with an ``error`` message.

``SeedStatus`` follows the "202 Accepted Pattern": POST /api/reports -> 202 with Location
``/api/reports/{id}/status`` and no body; the status sub-resource answers
``{"status": "In Progress", "estimatedTimeRemaining": "120 seconds"}``, then
``{"status": "Complete", "reportURL": "/api/reports/{id}/download"}``.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer


class SeedEmbedded(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/reports", self.submit, methods=["POST"]),
            Route("/reports/{id}", self.status, methods=["GET"]),
        ]

    async def submit(self, request: Request) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        failing = body.get("parameters", {}).get("year") == "fail"
        job = {"id": str(uuid.uuid4()), "outcome": "failed" if failing else "completed"}
        self.jobs[job["id"]] = job
        status = 201 if self.breaks == "ACCEPT-1" else 202
        return self.json(
            {"id": job["id"], "status": "processing"}, status, location=f"/reports/{job['id']}"
        )

    async def status(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.json({"error": "Report not found"}, 404)
        if not self.acceptable(request):
            return self.json({"error": "Only application/json."}, 406)
        state = self.step(job, ("processing", "processing", job["outcome"]))
        doc: dict[str, object] = {"id": job["id"], "status": state}
        if self.breaks == "MONITOR-2":
            doc = {"id": job["id"], "state": state}
        headers = {"Cache-Control": "no-store"}
        if state == "processing":
            headers["Retry-After"] = "/bar" if self.breaks == "RETRY-1" else "5"
        elif state == "completed":
            doc["result"] = {"title": "Sales Report", "totalBooks": {"count": 3}}
        else:
            doc["error"] = "No sales for that year."
        return self.json(doc, **headers)


class SeedStatus(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/api/reports", self.submit, methods=["POST"]),
            Route("/api/reports/{id}/status", self.status, methods=["GET"]),
            Route("/api/reports/{id}/download", self.download, methods=["GET"]),
        ]

    async def submit(self, request: Request) -> Response:
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        job_id = str(12345 + len(self.jobs))
        self.jobs[job_id] = {"id": job_id}
        headers = (
            {} if self.breaks == "LOCATION-1" else {"Location": f"/api/reports/{job_id}/status"}
        )
        return Response(status_code=202, headers=headers)

    async def status(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.json({"error": "No such report."}, 404)
        if not self.acceptable(request):
            return self.json({"error": "Only application/json."}, 406)
        script = ("In Progress", "In Progress", "Complete")
        if self.breaks == "LIFECYCLE-5":
            script = ("In Progress",)
        state = self.step(job, script)
        doc: dict[str, object] = {"status": state}
        if state == "In Progress":
            doc["estimatedTimeRemaining"] = "120 seconds"
        else:
            doc["reportURL"] = f"/api/reports/{job['id']}/download"
        return self.json(doc, **{"Cache-Control": "no-store"})

    async def download(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None or self.breaks == "RESULT-1":
            return self.json({"error": "No such report."}, 404)
        return self.json({"report": "yearly-sales", "rows": [["2023-01", 1200]]})
