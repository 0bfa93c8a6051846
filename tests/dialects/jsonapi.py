"""A JSON:API server following the "Asynchronous Processing" recommendation: ``POST /photos``
answers 202 with a ``queue-jobs`` resource and ``Content-Location`` to it; the job answers 200
while pending and then 303 See Other with ``Location`` to the created photo. Everything is
``application/vnd.api+json``; errors are JSON:API error documents."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.dialects._base import DialectServer

JSONAPI = "application/vnd.api+json"


class JsonApiServer(DialectServer):
    def routes(self) -> list[Route]:
        return [
            Route("/photos", self.create, methods=["POST"]),
            Route("/photos/queue-jobs/{id}", self.job, methods=["GET"]),
            Route("/photos/{id}", self.photo, methods=["GET"]),
        ]

    def doc(self, body: object, status: int = 200, **headers: str) -> Response:
        return Response(json.dumps(body), status, headers=headers, media_type=JSONAPI)

    def errors(self, status: int, title: str) -> Response:
        return self.doc({"errors": [{"status": str(status), "title": title}]}, status)

    def method_not_allowed(self, request: Request, allow: str) -> Response:
        response = self.errors(405, "Method Not Allowed")
        response.headers["Allow"] = allow
        return response

    def job_doc(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            "data": {
                "type": "queue-jobs",
                "id": job["id"],
                "attributes": {"status": "Pending request, waiting other process"},
                "links": {"self": f"/photos/queue-jobs/{job['id']}"},
            }
        }

    async def create(self, request: Request) -> Response:
        if request.headers.get("content-type", "") != JSONAPI:
            return self.errors(415, "Unsupported Media Type")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.errors(400, "Malformed JSON")
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return self.errors(400, "A resource object is required")
        job = {"id": uuid.uuid4().hex}
        self.jobs[job["id"]] = job
        headers = {"Content-Location": f"/photos/queue-jobs/{job['id']}"}
        if self.breaks == "LOCATION-1":
            headers = {}
        return self.doc(self.job_doc(job), 201 if self.breaks == "ACCEPT-1" else 202, **headers)

    async def job(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return self.errors(404, "Not Found")
        accept = request.headers.get("accept", "*/*")
        if JSONAPI not in accept and "*/*" not in accept:
            return self.errors(406, "Not Acceptable")
        if request.method == "GET" and not job.get("done"):
            job["done"] = self.step(job, ("pending", "pending", "done")) == "done"
        if job.get("done"):
            photo = f"/photos/{job['id']}"
            if self.breaks == "RESULT-1":
                photo = "/photos/missing"
            return Response(status_code=303, headers={"Location": photo})
        return self.doc(self.job_doc(job), **{"Cache-Control": "no-store"})

    async def photo(self, request: Request) -> Response:
        if request.path_params["id"] not in self.jobs:
            return self.errors(404, "Not Found")
        data = {
            "type": "photos",
            "id": request.path_params["id"],
            "attributes": {"title": "Ember Hamster"},
        }
        return self.doc({"data": data})
