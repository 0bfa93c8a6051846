"""``lrokit lint``: our contract lints clean, each defective document under tests/specs/ is
caught by exactly its rule at exactly its pointer, and the reports are well-formed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from lrokit.lint.checks import lint as run_lint
from lrokit.lint.command import lint
from lrokit.lint.document import load_document
from lrokit.lint.report import spec_rules
from lrokit.model.profile import load_profile
from lrokit.model.recording import Recording
from lrokit.rules import FAMILIES, LINT_FAMILY
from lrokit.runner.reporters import to_junit
from lrokit.runner.run import Report
from lrokit.runner.verdicts import judge

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "tests" / "specs"
CLEAN = SPECS / "clean.yaml"
SCHEMA = json.loads((files("lrokit") / "schemas" / "lint.schema.json").read_text())

#: Each SPEC rule, the document breaking it alone and the pointer it must be found at.
DEFECTS = {
    "SPEC-1": ("spec-1.yaml", "/info"),
    "SPEC-2": ("spec-2.yaml", "/paths/~1jobs/post/responses/202/headers"),
    "SPEC-3": ("spec-3.yaml", "/paths/~1jobs/post/responses/202/headers"),
    "SPEC-4": ("spec-4.yaml", "/components/schemas/RetryAfter"),
    "SPEC-5": ("spec-5.yaml", "/components/schemas/Status/properties/status"),
    "SPEC-6": ("spec-6.yaml", "/paths/~1jobs~1{jobId}/get/responses/404/content"),
    "SPEC-7": ("spec-7.yaml", "/components/schemas/Problem"),
    "SPEC-8": ("spec-8.yaml", "/paths/~1jobs/post/responses/202"),
    "SPEC-9": ("spec-9.yaml", "/paths/~1jobs~1{jobId}/get"),
    "SPEC-10": ("spec-10.yaml", "/paths/~1jobs~1{jobId}/get"),
    "SPEC-11": ("spec-11.yaml", "/paths"),
}


def found(source: Path | str, profile: str = "canonical") -> set[tuple[str, str]]:
    return {
        (f.rule.id, f.pointer) for f in run_lint(load_document(str(source)), load_profile(profile))
    }


def invoke(*args: str) -> tuple[int, str]:
    """Run the command as ``lrokit.cli.main`` does: a usage error is one line, exit 2."""
    try:
        lint.main(args=list(args), prog_name="lrokit lint", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code, ""
    except click.ClickException as exc:
        return 2, exc.format_message()
    return 0, ""


def test_every_spec_rule_has_a_defective_document() -> None:
    assert set(DEFECTS) == {rule.id for rule in spec_rules()}
    assert {path.name for path in SPECS.glob("spec-*.yaml")} == {f for f, _ in DEFECTS.values()}


def test_our_contract_lints_clean() -> None:
    result = CliRunner().invoke(lint, [str(ROOT / "openapi.yaml"), "--strict"])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_clean_document_lints_clean(version: str, tmp_path: Path) -> None:
    spec = tmp_path / "clean.yaml"
    spec.write_text(CLEAN.read_text().replace("openapi: 3.0.3", f"openapi: {version}"))
    assert found(spec) == set()


@pytest.mark.parametrize("rule_id", list(DEFECTS))
def test_defective_document_is_caught_by_exactly_its_rule(rule_id: str) -> None:
    name, pointer = DEFECTS[rule_id]
    assert found(SPECS / name) == {(rule_id, pointer)}


@pytest.mark.parametrize(
    ("rule_id", "strict", "code"),
    [("SPEC-2", False, 1), ("SPEC-7", False, 0), ("SPEC-7", True, 1)],
)
def test_exit_code_fails_on_must_and_on_should_under_strict(
    rule_id: str, strict: bool, code: int
) -> None:
    spec = str(SPECS / DEFECTS[rule_id][0])
    result = CliRunner().invoke(lint, [spec, *(["--strict"] if strict else [])])
    assert result.exit_code == code, result.output
    assert rule_id in result.output


def test_the_profile_names_the_monitor_header() -> None:
    assert found(CLEAN, "azure") >= {("SPEC-2", "/paths/~1jobs/post/responses/202/headers")}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["missing.yaml"], "cannot read missing.yaml"),
        ([str(ROOT / "pyproject.toml")], "cannot read"),
        ([str(ROOT / "src" / "lrokit" / "profiles" / "canonical.toml")], "cannot read"),
        ([str(SPECS / "clean.yaml"), "--profile", "nosuch"], "nosuch"),
    ],
)
def test_unreadable_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    code, message = invoke(*args)
    assert code == 2
    assert says in message
    assert "\n" not in message


def test_a_document_that_is_not_openapi_3_is_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "swagger.yaml"
    spec.write_text("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n")
    assert invoke(str(spec)) == (
        2,
        f"{spec} is not an OpenAPI 3.0 or 3.1 document (no openapi: 3.x)",
    )


def test_a_url_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://api.example/openapi.yaml"

    def get(source: str, **_: Any) -> httpx.Response:
        return httpx.Response(
            200, content=(SPECS / "spec-4.yaml").read_bytes(), request=httpx.Request("GET", source)
        )

    monkeypatch.setattr(httpx, "get", get)
    assert found(url) == {("SPEC-4", "/components/schemas/RetryAfter")}


def test_json_report_follows_its_schema(tmp_path: Path) -> None:
    out = tmp_path / "lint.json"
    result = CliRunner().invoke(lint, [str(SPECS / "spec-5.yaml"), "--json", str(out)])
    assert result.exit_code == 1
    report = json.loads(out.read_text())
    Draft202012Validator(SCHEMA).validate(report)
    assert [(f["rule"], f["pointer"], f["severity"]) for f in report["findings"]] == [
        ("SPEC-5", "/components/schemas/Status/properties/status", "error")
    ]


def test_junit_has_a_case_per_spec_rule(tmp_path: Path) -> None:
    out = tmp_path / "lint.xml"
    CliRunner().invoke(lint, [str(SPECS / "spec-7.yaml"), "--junit", str(out)])
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name", "").split()[0]: case for case in suite.iter("testcase")}
    assert set(cases) == set(DEFECTS)
    assert suite.get("failures") == "0"  # SPEC-7 is a SHOULD: it warns
    assert "SPEC-7" in (cases["SPEC-7"].findtext("system-out") or "")


def test_sarif_locates_each_finding_by_pointer_and_line(tmp_path: Path) -> None:
    out = tmp_path / "lint.sarif"
    spec = SPECS / "spec-4.yaml"
    CliRunner().invoke(lint, [str(spec), "--sarif", str(out), "--strict"])
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(DEFECTS)
    [result] = run["results"]
    assert (result["ruleId"], result["level"]) == ("SPEC-4", "error")
    assert rules[result["ruleIndex"]]["id"] == "SPEC-4"
    [location] = result["locations"]
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "/components/schemas/RetryAfter"
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == spec.as_uri()
    line = spec.read_text().splitlines()[physical["region"]["startLine"] - 1]
    assert line.strip() == "RetryAfter:"


def test_check_judges_no_spec_rule() -> None:
    verdicts = judge(Recording(), load_profile("canonical"))
    assert {v.rule.family for v in verdicts} == set(FAMILIES) - {LINT_FAMILY}
    report = Report(target="http://x", profile="canonical", verdicts=verdicts)
    suites = ET.fromstring(to_junit(report)).iter("testsuite")
    assert not [s for s in suites if s.get("name", "").startswith(f"lrokit.{LINT_FAMILY}")]
