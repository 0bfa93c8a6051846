"""A base URL with a path (``lrokit check http://host/api``): the profile's own paths are under
it, and the references the server sends resolve by RFC 3986 §5 against the response that
carried them, as for a base URL without a path."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from lrokit.model.contract import load_contract
from lrokit.model.exchange import Exchange
from lrokit.model.profile import api_url, load_profile
from lrokit.runner.run import Report, run
from lrokit.runner.scenarios import Scenarios
from lrokit.runner.target import Target, TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.http.app import contract_path
from tests.fauxservers.server import FauxServer
from tests.test_conformance_fauxservers import BAD, canonical_rules, summary
from tests.test_dialects import DIALECTS, bad

pytestmark = pytest.mark.anyio

JSON = (("content-type", "application/json"),)


class Mounted:
    """``app`` served under ``prefix``, as a reverse proxy mounts it: a request under the
    prefix reaches the app without it, the absolute paths the app answers with (Location and
    every JSON string that starts with "/", such as links) get the prefix back, and any other
    path is a 404 problem."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith(f"{self.prefix}/"):
            problem = {"type": "about:blank", "title": "Not Found", "status": 404}
            answer = Response(json.dumps(problem), 404, media_type="application/problem+json")
            await answer(scope, receive, send)
            return
        inner = {
            **scope,
            "path": scope["path"].removeprefix(self.prefix),
            "raw_path": scope["raw_path"].removeprefix(self.prefix.encode()),
        }
        prefix = self.prefix.encode()
        start: dict[str, Any] = {}
        body = bytearray()

        async def prefixed(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            content = bytes(body).replace(b'"/', b'"' + prefix + b"/")
            headers = [
                (name, prefix + value if name == b"location" and value[:1] == b"/" else value)
                for name, value in start["headers"]
                if name != b"content-length"
            ]
            headers.append((b"content-length", str(len(content)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": content})

        await self.app(inner, receive, prefixed)


async def check_canonical(base_url: str, app: Any, seen: list[Exchange] | None = None) -> Report:
    return await run(
        TargetConfig(base_url, time_scale=0.001, max_wait=3.0),
        load_profile("canonical"),
        contract=load_contract(str(contract_path())),
        transport=httpx.ASGITransport(app=app),
        observer=None if seen is None else seen.append,
    )


async def test_a_server_mounted_under_a_path_passes_when_checked_at_that_path() -> None:
    report = await check_canonical("http://faux.test/api", Mounted(FauxServer(), "/api"))
    assert not [v for v in report.verdicts if v.outcome in BAD], summary(report)
    passed = {v.rule.id for v in report.verdicts if v.outcome is Outcome.PASS}
    assert passed >= set(canonical_rules()), summary(report)


async def test_a_server_at_the_root_does_not_pass_when_checked_under_a_path() -> None:
    seen: list[Exchange] = []
    report = await check_canonical("http://faux.test/api", FauxServer(), seen)
    verdicts = {v.rule.id: v for v in report.verdicts}
    assert verdicts["ACCEPT-1"].outcome is Outcome.FAIL, summary(report)
    assert seen
    assert all(e.url.startswith("http://faux.test/api/reports") for e in seen)


@pytest.mark.parametrize("profile", ["aip151", "ga4gh-wes", "ogc"])
async def test_a_dialect_server_mounted_under_a_path_passes_as_at_the_root(profile: str) -> None:
    """aip151 and ga4gh-wes fill a monitor template from the body; ogc sends Location."""
    server, unmet, must_pass = DIALECTS[profile]
    report = await run(
        TargetConfig("http://dialect.test/api", time_scale=0.001, max_wait=5),
        load_profile(profile),
        transport=httpx.ASGITransport(app=Mounted(server(), "/api")),
    )
    outcomes = {v.rule.id: v.outcome for v in report.verdicts}
    assert {rule for rule, outcome in outcomes.items() if outcome in BAD} == unmet, bad(report)
    assert must_pass <= {rule for rule, o in outcomes.items() if o is Outcome.PASS}, outcomes


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("http://h.test/api", "/reports", "http://h.test/api/reports"),
        ("http://h.test/api/", "/reports", "http://h.test/api/reports"),
        ("http://h.test/", "/reports", "http://h.test/reports"),
        ("http://h.test", "/reports", "http://h.test/reports"),
        ("http://h.test/api?x=1#f", "/reports", "http://h.test/api/reports"),
        ("http://h.test/api", "/x:export?format=json", "http://h.test/api/x:export?format=json"),
    ],
)
def test_a_profile_path_is_under_the_base_url_path(base: str, path: str, url: str) -> None:
    assert api_url(base, path) == url


@pytest.mark.parametrize(
    ("profile", "body", "monitor", "cancel"),
    [
        (
            "aip151",
            {"name": "operations/op 1", "done": False},
            "http://h.test/api/v1/operations/op%201",
            "http://h.test/api/v1/operations/op%201:cancel",
        ),
        (
            "ga4gh-wes",
            {"run_id": "r1"},
            "http://h.test/api/ga4gh/wes/v1/runs/r1/status",
            "http://h.test/api/ga4gh/wes/v1/runs/r1/cancel",
        ),
    ],
)
async def test_a_monitor_template_fills_a_path_under_the_base_url(
    profile: str, body: dict[str, Any], monitor: str, cancel: str
) -> None:
    dialect = load_profile(profile)
    target = Target(TargetConfig("http://h.test/api"))
    scenarios = Scenarios(target, dialect)
    assert scenarios.submit_url == api_url("http://h.test/api", dialect.submit_path)
    assert scenarios.submit_url.startswith("http://h.test/api/")
    submission = Exchange(
        "submit", "POST", scenarios.submit_url, (), 200, JSON, json.dumps(body).encode()
    )
    assert scenarios.monitor_of(submission) == (monitor, None)
    assert dialect.cancel_url(monitor) == cancel
    assert dialect.job_id(dialect.with_job_id(monitor, "other")) == "other"
    assert dialect.with_job_id(monitor, "other").startswith("http://h.test/api/")
    await target.aclose()


@pytest.mark.parametrize(
    ("location", "monitor"),
    [
        ("/reports/1", "http://h.test/reports/1"),  # an absolute path stays absolute
        ("reports/1", "http://h.test/api/reports/1"),
        ("http://h.test/elsewhere/1#status", "http://h.test/elsewhere/1"),
    ],
)
async def test_a_reference_the_server_sent_resolves_against_its_response(
    location: str, monitor: str
) -> None:
    canonical = load_profile("canonical")
    target = Target(TargetConfig("http://h.test/api"))
    scenarios = Scenarios(target, canonical)
    submission = Exchange(
        "submit", "POST", scenarios.submit_url, (), 202, (*JSON, ("location", location)), b"{}"
    )
    assert scenarios.submit_url == "http://h.test/api/reports"
    assert scenarios.monitor_of(submission) == (monitor, None)
    assert canonical.result_url(monitor) == f"{monitor}/download"
    await target.aclose()
