"""Results as servers written by other people deliver them: in a media type nobody asked for,
labelled as what they are not, linked in another form than the profile's (RESULT-1, RESULT-4,
HTTP-7), and placed where the server's own contract says."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest

from lrokit.model.contract import Contract, load_contract
from lrokit.model.profile import load_profile
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from lrokit.server.http.app import contract_path
from tests.fauxservers.server import FauxServer
from tests.test_conformance_fauxservers import BAD, summary

pytestmark = pytest.mark.anyio

CANONICAL = load_profile("canonical")


async def check(app: Any, contract: Contract | None = None) -> Report:
    """A run of the canonical profile, placed where ``contract`` puts the result."""
    config = TargetConfig("http://results.test", time_scale=0.001, max_wait=3.0)
    profile = CANONICAL if contract is None else contract.fitted(CANONICAL)
    return await run(config, profile, contract=contract, transport=httpx.ASGITransport(app=app))


def failed(report: Report) -> set[str]:
    return {v.rule.id for v in report.verdicts if v.outcome in BAD}


def outcome(report: Report, rule_id: str) -> Outcome:
    return next(v.outcome for v in report.verdicts if v.rule.id == rule_id)


def relabel(app: Any, path: str, media_type: str) -> Any:
    """``app`` with the Content-Type of its 200 JSON answers to paths matching ``path``
    replaced: the content stays as it was (a status stream is left as it is)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def send_relabelled(message: Any) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] == 200
                and re.fullmatch(path, scope["path"])
                and (b"content-type", b"application/json") in message["headers"]
            ):
                kept = [(k, v) for k, v in message["headers"] if k.lower() != b"content-type"]
                message = {**message, "headers": [*kept, (b"content-type", media_type.encode())]}
            await send(message)

        await app(scope, receive, send_relabelled)

    return wrapped


# -- the result's media type (RESULT-4) and label (HTTP-7) -----------------------------------


async def test_an_html_page_for_a_json_result_fails_result_4() -> None:
    """Asked for JSON, the result answered an HTML page: RESULT-1 passed it alone (a non-empty
    2xx); the page is labelled truly, so HTTP-7 holds."""
    report = await check(FauxServer(breaks="RESULT-4"))
    assert failed(report) == {"RESULT-4"}, summary(report)
    assert outcome(report, "RESULT-1") is Outcome.PASS
    assert outcome(report, "HTTP-7") is Outcome.PASS


async def test_an_html_page_labelled_json_fails_http_7() -> None:
    report = await check(FauxServer(breaks="HTTP-7"))
    assert failed(report) == {"HTTP-7"}, summary(report)
    verdict = next(v for v in report.verdicts if v.rule.id == "HTTP-7")
    assert [v.received for v in verdict.violations] == [
        "an HTML document labelled application/json"
    ]


async def test_a_json_result_labelled_html_fails_result_4_and_http_7() -> None:
    report = await check(relabel(FauxServer(), r"/reports/[^/]+/download", "text/html"))
    assert failed(report) == {"RESULT-4", "HTTP-7"}, summary(report)


async def test_a_json_monitor_labelled_html_fails_http_7_alone() -> None:
    report = await check(relabel(FauxServer(), r"/reports/[^/]+", "text/html; charset=utf-8"))
    assert failed(report) == {"HTTP-7"}, summary(report)
    verdict = next(v for v in report.verdicts if v.rule.id == "HTTP-7")
    assert {v.received for v in verdict.violations} == {"JSON labelled text/html"}


async def test_a_json_monitor_labelled_text_plain_is_not_blamed() -> None:
    """Any JSON text is also plain text: a vague label is not a wrong one."""
    report = await check(relabel(FauxServer(), r"/reports/[^/]+", "text/plain"))
    assert outcome(report, "HTTP-7") is Outcome.PASS, summary(report)


# -- where the result link is (RESULT-1) -----------------------------------------------------


class StringLinks(FauxServer):
    """Links as plain URI-references: ``"links": {"download": "/reports/1/download"}``."""

    def document(self, job: dict[str, Any]) -> dict[str, Any]:
        doc = super().document(job)
        doc["links"] = {name: link["href"] for name, link in doc["links"].items()}
        return doc


class Unlinked(FauxServer):
    """A status document without links: the contract's OpenAPI links say where the result is."""

    def document(self, job: dict[str, Any]) -> dict[str, Any]:
        doc = super().document(job)
        del doc["links"]
        return doc


def canonical_contract() -> dict[str, Any]:
    return copy.deepcopy(load_contract(str(contract_path())).document)


def string_links_contract() -> Contract:
    """The canonical contract, its links URI-reference strings."""
    document = canonical_contract()
    document["components"]["schemas"]["Link"] = {"type": "string", "format": "uri-reference"}
    return Contract(document, "string-links.yaml")


def unlinked_contract() -> Contract:
    """The canonical contract, its status document without links (the OpenAPI links stay)."""
    document = canonical_contract()
    status = document["components"]["schemas"]["ReportStatus"]
    del status["properties"]["links"]
    status["required"].remove("links")
    return Contract(document, "unlinked.yaml")


async def test_a_string_result_link_is_followed() -> None:
    """``links.download`` as a string, as the server's contract declares it: RESULT-1 once
    failed it for want of ``links.download.href``."""
    for contract in (string_links_contract(), None):
        report = await check(StringLinks(), contract)
        assert failed(report) == set(), summary(report)
        assert outcome(report, "RESULT-1") is Outcome.PASS


async def test_a_result_the_contract_places_by_an_openapi_link() -> None:
    report = await check(Unlinked(), unlinked_contract())
    assert failed(report) == set(), summary(report)
    assert outcome(report, "RESULT-1") is Outcome.PASS
    without = await check(Unlinked())
    assert failed(without) == {"RESULT-1"}, summary(without)


def test_a_contract_keeps_the_profile_where_its_status_schema_has_the_link() -> None:
    assert load_contract(str(contract_path())).fitted(CANONICAL) == CANONICAL
    assert string_links_contract().fitted(CANONICAL) == CANONICAL


def test_a_contract_places_the_result_at_the_operation_it_links() -> None:
    fitted = unlinked_contract().fitted(CANONICAL)
    assert (fitted.result_link, fitted.result_template) == (None, "{monitor}/download")


@pytest.mark.parametrize(
    "links",
    [
        {},  # no OpenAPI link to the result
        {"Other": {"operationId": "listReports"}},  # a link elsewhere
    ],
)
def test_a_contract_that_does_not_say_where_the_result_is_keeps_the_profile(
    links: dict[str, Any],
) -> None:
    document = unlinked_contract().document
    document["paths"]["/reports"]["post"]["responses"]["202"]["links"] = links
    document["paths"]["/reports/{reportId}"]["get"]["responses"]["200"]["links"] = links
    assert Contract(document, "silent.yaml").fitted(CANONICAL) == CANONICAL


def test_a_local_operation_ref_counts_as_a_link() -> None:
    document = unlinked_contract().document
    document["paths"]["/reports"]["post"]["responses"]["202"]["links"] = {}
    document["paths"]["/reports/{reportId}"]["get"]["responses"]["200"]["links"] = {
        "Result": {"operationRef": "#/paths/~1reports~1{reportId}~1download/get"}
    }
    assert Contract(document, "ref.yaml").fitted(CANONICAL).result_link is None
