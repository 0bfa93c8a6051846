"""``lrokit check URL`` end to end: verdicts, exit codes, JUnit and JSON reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from lrokit.cli import main
from lrokit.rules import RUNTIME_RULES
from tests.conftest import TEST_ROWS
from tests.fauxservers.server import FauxServer
from tests.live import LiveServer, ThreadServer
from tests.test_conformance_fauxservers import ALICE, BOB, TOKENS, canonical_rules

pytestmark = pytest.mark.e2e

SCHEMA = json.loads((files("lrokit") / "schemas" / "report.schema.json").read_text())


def test_reference_server_passes(
    tmp_path: Path, dataset_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_xml = tmp_path / "report.json", tmp_path / "junit.xml"
    out_har, out_html = tmp_path / "run.har", tmp_path / "report.html"
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        code = main(
            [
                "check",
                server.url,
                "--json",
                str(out_json),
                "--junit",
                str(out_xml),
                "--har",
                str(out_har),
                "--html",
                str(out_html),
                "--deep",
                "--time-scale",
                "0.2",
            ]
        )
    output = capsys.readouterr().out
    assert code == 0, output
    canonical = len(canonical_rules())
    disabled = len(RUNTIME_RULES) - canonical  # features the canonical profile lacks
    assert f"PASS: {disabled} DISABLED, {canonical} PASS" in output
    # --deep: the suite's generative layers ran after the rules, with their own JUnit file.
    layers = ET.parse(tmp_path / "junit-layers.xml").getroot()
    names = {case.get("name") for case in layers.iter("testcase")}
    assert names == {"test_schema", "test_lifecycle"}, names
    assert not layers.findall(".//failure")
    assert not layers.findall(".//skipped")
    report = json.loads(out_json.read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["outcome"] == "PASS"
    assert report["exitCode"] == 0
    assert report["summary"]["PASS"] == canonical
    assert report["summary"]["DISABLED"] == disabled
    suites = ET.parse(out_xml).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == len(RUNTIME_RULES)
    assert not suites.findall(".//failure")
    assert not suites.findall(".//error")
    # --deep writes the rules' run as check alone does (the layers' requests are not in it).
    assert main(["replay", str(out_har)]) == 0
    assert out_html.read_text().count('<tr class="verdict"') == len(RUNTIME_RULES)


def test_broken_server_fails_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_xml = tmp_path / "report.json", tmp_path / "junit.xml"
    with ThreadServer(FauxServer(breaks="PROBLEM-3")) as url:
        code = main(
            ["check", url, "--time-scale", "0", "--json", str(out_json), "--junit", str(out_xml)]
        )
    output = capsys.readouterr().out
    assert code == 1, output
    report = json.loads(out_json.read_text())
    jsonschema.validate(report, SCHEMA)
    failed = [rule["id"] for rule in report["rules"] if rule["outcome"] == "FAIL"]
    assert failed == ["PROBLEM-3"]
    (rule,) = [r for r in report["rules"] if r["id"] == "PROBLEM-3"]
    assert rule["violations"][0]["received"] == "status member 400"
    assert rule["violations"][0]["expected"] == "404"
    failures = ET.parse(out_xml).getroot().findall(".//failure")
    assert len(failures) == 1
    assert "PROBLEM-3" in failures[0].attrib["message"]
    assert "PROBLEM-3" in output


def test_should_failure_warns_and_fails_only_when_strict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ThreadServer(FauxServer(breaks="HTTP-1")) as url:
        assert main(["check", url, "--time-scale", "0"]) == 0
        assert "WARN" in capsys.readouterr().out
        assert main(["check", url, "--time-scale", "0", "--strict"]) == 1


def test_unreachable_target_is_a_tester_error(tmp_path: Path) -> None:
    out_json = tmp_path / "report.json"
    assert main(["check", "http://127.0.0.1:9", "--max-wait", "1", "--json", str(out_json)]) == 2
    report = json.loads(out_json.read_text())
    assert report["outcome"] == "ERROR"
    assert report["summary"]["ERROR"] == len(RUNTIME_RULES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "ftp://example"], "absolute http(s) URL"),
        (["check", "http://127.0.0.1:9", "--only", "NOPE-1"], "'NOPE-1' is neither a rule id"),
        (["check", "http://127.0.0.1:9", "--only", "SPEC"], "judged by lrokit lint"),
        (["check", "http://127.0.0.1:9", "--skip", "SPEC-3"], "judged by lrokit lint"),
        (["lint", "/no/such/openapi.yaml"], "cannot read /no/such/openapi.yaml"),
        (["check", "http://127.0.0.1:9", "--profile", "nosuch"], "no profile 'nosuch'"),
        (["check", "http://127.0.0.1:9", "--header", "no-colon"], "is not NAME:VALUE"),
        (
            ["check", "http://127.0.0.1:9", "--spec", "/no/such/spec.yaml"],
            "--spec: cannot read /no/such/spec.yaml",
        ),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrokit: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--markdown"]) == 0
    text = capsys.readouterr().out
    assert text == (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text()


def test_tenancy_is_judged_given_another_principal_and_not_run_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-H names the run's principal, --other-header another: a server that lets anyone read a
    job fails TENANCY-1 (exit 1); without --other-header the same server passes (exit 0),
    the TENANCY rules not run."""
    report = tmp_path / "report.json"
    own = ["-H", f"Authorization: {ALICE['Authorization']}"]
    other = ["--other-header", f"Authorization: {BOB['Authorization']}"]
    with ThreadServer(FauxServer(breaks="TENANCY-1", tokens=TOKENS)) as url:
        judged = main(["check", url, *own, *other, "--time-scale", "0", "--json", str(report)])
        first = report.read_text()
        alone = main(["check", url, *own, "--time-scale", "0", "--json", str(report)])
    output = capsys.readouterr().out
    failed = [r["id"] for r in json.loads(first)["rules"] if r["outcome"] == "FAIL"]
    assert (judged, failed) == (1, ["TENANCY-1"]), output
    assert "token-of-bob" not in output + first  # redacted, in the exchanges cited too
    assert alone == 0, output
    document = json.loads(report.read_text())
    jsonschema.validate(json.loads(first), SCHEMA)
    jsonschema.validate(document, SCHEMA)
    tenancy = [r for r in document["rules"] if r["id"].startswith("TENANCY-")]
    assert {(r["outcome"], r["reasonKind"]) for r in tenancy} == {("DISABLED", "not-run")}
    assert "not run: give --other-header" in output
