"""The contract itself: valid OpenAPI 3.0.3, shipped in the package, consistent with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from lrokit.server.http.app import contract_path, load_contract, produced_media_types
from lrokit.server.problems import PROBLEM_TYPES, render_markdown
from lrokit.server.work import dataset, reports

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return document


def test_contract_is_valid_openapi_3_0(contract: dict[str, Any]) -> None:
    assert contract["openapi"] == "3.0.3"  # connexion 3.3 rejects 3.1
    validate(contract)


def test_the_package_ships_the_canonical_contract() -> None:
    assert contract_path().read_bytes() == (ROOT / "openapi.yaml").read_bytes()


def test_seed_request_is_a_documented_example(contract: dict[str, Any]) -> None:
    examples = contract["paths"]["/reports"]["post"]["requestBody"]["content"]["application/json"]
    values = [e["value"] for e in examples["examples"].values()]
    assert {"reportType": "yearly-sales", "parameters": {"year": "2023"}} in values


def test_enumerations_match_the_dataset_and_report_types(contract: dict[str, Any]) -> None:
    schemas = contract["components"]["schemas"]
    assert tuple(schemas["Region"]["enum"]) == dataset.REGIONS
    assert tuple(schemas["Category"]["enum"]) == dataset.CATEGORIES
    assert tuple(schemas["Channel"]["enum"]) == dataset.CHANNELS
    mapping = schemas["ReportRequest"]["discriminator"]["mapping"]
    assert tuple(mapping) == reports.REPORT_TYPES
    codes = schemas["ReportError"]["allOf"][1]["properties"]["code"]["enum"]
    assert set(reports.ERROR_CODES) <= set(codes)


def test_every_error_response_is_problem_json(contract: dict[str, Any]) -> None:
    responses = contract["components"]["responses"]
    for path, item in contract["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for code, response in operation["responses"].items():
                if int(code) < 400:
                    continue
                name = response["$ref"].rsplit("/", 1)[-1]
                assert list(responses[name]["content"]) == ["application/problem+json"], (
                    f"{method.upper()} {path} {code}"
                )


def test_202_declares_monitor_headers_and_links(contract: dict[str, Any]) -> None:
    accepted = contract["paths"]["/reports"]["post"]["responses"]["202"]
    assert accepted["headers"]["Location"]["$ref"].endswith("/Location")
    assert "Retry-After" in accepted["headers"]
    targets = {link["operationId"] for link in accepted["links"].values()}
    assert targets == {"getReport", "downloadReport", "cancelReport"}


def test_negotiation_table_comes_from_the_contract() -> None:
    produces = produced_media_types(load_contract())
    assert produces["downloadReport"] == ["application/json", "text/csv"]
    assert produces["getReport"] == ["application/json", "text/event-stream"]


def test_problem_types_documented_in_the_contract_exist(contract: dict[str, Any]) -> None:
    text = (ROOT / "openapi.yaml").read_text()
    for slug in PROBLEM_TYPES:
        if slug not in ("no-data", "report-generation-failed", "worker-lost"):  # job errors
            assert f"`{slug}`" in text, slug


def test_docs_problems_md_is_generated_from_the_registry() -> None:
    assert (ROOT / "docs" / "problems.md").read_text() == render_markdown(), (
        "docs/problems.md is stale: python -m lrokit.server.problems > docs/problems.md"
    )
