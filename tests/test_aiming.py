"""Aiming at an API without a profile file: command-line overrides, setup requests, and check
files with several operations (``lrokit.toml`` or ``[tool.lrokit]``)."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import httpx
import jsonschema
import pytest

from lrokit.cli import main
from lrokit.model.profile import load_profile
from lrokit.runner.checkfile import CheckFileError, find_checkfile, load_checkfile
from lrokit.runner.options import OptionError, parse
from lrokit.runner.overrides import setup_steps
from lrokit.runner.run import Report, run_as
from lrokit.runner.setup import SetupFailed
from lrokit.runner.verdicts import Outcome
from tests.conftest import TEST_ROWS
from tests.dialects.vaults import VaultServer
from tests.live import LiveServer

SCHEMA = json.loads((files("lrokit") / "schemas" / "report.schema.json").read_text())
URL = "http://api.test"


def _profile(**raw: object):  # type: ignore[no-untyped-def]
    return parse(raw, target_url=None).profile


def test_the_command_line_aims_at_another_operation_with_its_own_body(tmp_path: Path) -> None:
    (tmp_path / "fail.json").write_text('{"format": "broken"}')
    profile = _profile(
        profile="azure",
        submit="put /things/t1",
        data='{"format": "csv"}',
        **{"failing-data": f"@{tmp_path / 'fail.json'}"},
        **{"monitor-template": "/ops/{header:x-op-id}", "result-template": "{submit}"},
    )
    assert (profile.submit_method, profile.submit_path) == ("PUT", "/things/t1")
    assert profile.body is not None
    assert profile.body.value == {"format": "csv"}
    assert profile.failing_body is not None
    assert profile.failing_body.value == {"format": "broken"}
    assert profile.other_body is None  # the profile's was for its own operation
    assert (profile.monitor_template, profile.result_template) == (
        "/ops/{header:x-op-id}",
        "{submit}",
    )


def test_form_fields_are_multipart_with_files_or_urlencoded(tmp_path: Path) -> None:
    flow = tmp_path / "flow.cwl"
    flow.write_text("cwlVersion: v1.2\n")
    multipart = _profile(form=("workflow_type=CWL", f"workflow_attachment=@{flow}"))
    assert multipart.body is not None
    assert (multipart.body.encoding, multipart.body.value) == (
        "multipart",
        {"workflow_type": "CWL"},
    )
    assert multipart.body.files == {"workflow_attachment": (flow,)}
    form = _profile(form=("a=1", f"note=@{flow}"), urlencoded=True)
    assert form.body is not None
    assert (form.body.encoding, form.body.value) == (
        "form",
        {"a": "1", "note": "cwlVersion: v1.2\n"},
    )
    bare = _profile(submit="DELETE /things/t1", **{"no-body": True})
    assert (bare.body, bare.failing_body) == (None, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"submit": "GET /x"}, "--submit: 'GET /x': the method is not one of POST, PUT"),
        ({"submit": "POST x"}, "is not 'METHOD /PATH'"),
        ({"data": "{nope"}, "--data: not JSON"),
        ({"data": "@/nonexistent/lrokit.json"}, "--data: cannot read"),
        ({"data": "{}", "form": ("a=1",)}, "--form: is given with --data"),
        ({"no-body": True, "data": "{}"}, "--no-body: is given with a body"),
        ({"urlencoded": True}, "--urlencoded: needs the fields"),
        ({"form": ("novalue",)}, "is not NAME=VALUE or NAME=@FILE"),
        ({"form": ("f=@/nonexistent/x.cwl",)}, "is not a readable file"),
        (
            {"monitor-template": "jobs/{body:id}"},
            "--monitor-template: 'jobs/{body:id}' is not a path",
        ),
        ({"result-template": "/results"}, "--result-template: '/results' starts neither"),
        ({"setup": ("PUT",)}, "--setup: 'PUT' is not 'METHOD PATH"),
        ({"setup": ("PUT /a --json {}",)}, "'--json' is none of --data, --form"),
        ({"operation": ("x",)}, "--operation: chooses among the operations of a check file"),
    ],
)
def test_a_bad_override_is_one_line_naming_the_option(raw: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError) as caught:
        parse(raw, target_url=None)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_setup_steps_keep_their_order_and_bodies() -> None:
    first, second = setup_steps(
        ['PUT /parents/p1 --data \'{"name": "p"}\'', "post /parents/p1/children --form a=b"]
    )
    assert (first.method, first.path, first.body and first.body.value) == (
        "PUT",
        "/parents/p1",
        {"name": "p"},
    )
    assert second.body is not None
    assert (second.method, second.body.encoding) == (
        "POST",
        "multipart",
    )


CHECK_FILE = """
url = "{url}"
spec = "{spec}"

[headers]
Authorization = "Bearer ${{LROKIT_TEST_TOKEN}}"
X-Tenant = "acme"

[[setup]]
method = "GET"
path = "{setup}"

[[operations]]
name = "yearly"
profile = "canonical"

[[operations]]
name = "regional"
profile = "canonical"
[operations.submit.body]
reportType = "sales-by-region"
parameters = {{ from = "2023-01-01", to = "2023-06-30" }}
"""


def _write(directory: Path, url: str = URL, setup: str = "/reports/nonexistent") -> Path:
    spec = Path(__file__).resolve().parents[1] / "openapi.yaml"
    path = directory / "lrokit.toml"
    path.write_text(CHECK_FILE.format(url=url, spec=spec, setup=setup))
    return path


def test_a_check_file_names_the_target_its_headers_and_operations(tmp_path: Path) -> None:
    path = _write(tmp_path)
    checkfile = load_checkfile(path, {"LROKIT_TEST_TOKEN": "t0k"})
    assert checkfile.url == URL
    assert checkfile.headers == {"Authorization": "Bearer t0k", "X-Tenant": "acme"}
    assert checkfile.other_headers == {}
    assert [(s.method, s.path) for s in checkfile.setup] == [("GET", "/reports/nonexistent")]
    yearly, regional = checkfile.operations
    assert (yearly.name, yearly.profile.body) == ("yearly", load_profile("canonical").body)
    assert regional.profile.body is not None
    assert regional.profile.body.value["reportType"] == "sales-by-region"
    assert regional.profile.states == load_profile("canonical").states


def test_a_check_file_names_another_principal_as_other_header_does(tmp_path: Path) -> None:
    """``other_headers`` is read as ``headers`` is (from the environment, no secret written
    out), and the command line's --other-header wins over it, field by field."""
    path = tmp_path / "lrokit.toml"
    path.write_text(
        '[headers]\nAuthorization = "Bearer ${LROKIT_A}"\n'
        '[other_headers]\nAuthorization = "Bearer ${LROKIT_B}"\nX-Tenant = "beta"\n'
        '[[operations]]\nname = "x"\nprofile = "canonical"\n'
    )
    environ = {"LROKIT_A": "a", "LROKIT_B": "b"}
    assert load_checkfile(path, environ).other_headers == {
        "Authorization": "Bearer b",
        "X-Tenant": "beta",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        options = parse(
            {"check-file": str(path), "other-header": ("X-Tenant: gamma",)}, target_url=None
        )
    assert options.other_headers == {"Authorization": "Bearer b", "X-Tenant": "gamma"}


def test_pyproject_holds_a_check_file_under_tool_lrokit(tmp_path: Path) -> None:
    assert find_checkfile(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_checkfile(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lrokit]\nurl = "http://a.test"\n[[tool.lrokit.operations]]\nname = "only"\n'
        'profile = "azure"\n'
    )
    found = find_checkfile(tmp_path)
    assert found == tmp_path / "pyproject.toml"
    assert [op.profile.monitor_header for op in load_checkfile(found).operations] == [
        "Operation-Location"
    ]


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ('[headers]\nAuthorization = "Bearer abc"\n', {}, "header Authorization is written out"),
        ('[headers]\nX-Api-Token = "abc"\n', {}, "header X-Api-Token is written out"),
        ('[other_headers]\nX-Key = "b"\n', {}, "header X-Key is written out"),
        ('[headers]\nX-Key = "${NOPE_LROKIT}"\n', {}, "needs the environment variable NOPE_LROKIT"),
        ('[headers]\nX-Tenant = "${LROKIT_TENANT}"\n', {"LROKIT_TENANT": "a\nb"},
         "has a line break in its value"),
        ("", {}, "is invalid at (top level): 'operations' is a required property"),
        ('[[operations]]\nname = "a"\nprofile = "azure"\n[operations.submit]\nmethod = "GET"\n',
         {}, "operation a is invalid at submit/method"),
        ('[[operations]]\nname = "a"\nprofile = "azure"\n'
         '[[operations]]\nname = "a"\nprofile = "arm"\n',
         {}, "operations named twice: a"),
    ],
)  # fmt: skip
def test_a_bad_check_file_is_one_line_naming_the_place(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    path = tmp_path / "lrokit.toml"
    operations = '[[operations]]\nname = "x"\nprofile = "canonical"\n'
    path.write_text(text if "operations" in text or not text else text + operations)
    with pytest.raises(CheckFileError) as caught:
        load_checkfile(path, environ)
    assert message in str(caught.value)


def test_one_override_cannot_change_several_operations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LROKIT_TEST_TOKEN", "t0k")
    path = _write(tmp_path)
    with pytest.raises(OptionError, match="--data: changes one operation, and 2 are checked"):
        parse({"check-file": str(path), "data": "{}"}, target_url=None)
    with pytest.raises(OptionError, match=r"--profile: each operation of .* names its profile"):
        parse({"check-file": str(path), "profile": "azure"}, target_url=None)
    chosen = parse({"check-file": str(path), "operation": ("regional",), "data": "{}"},
                   target_url=None)  # fmt: skip
    assert [op.name for op in chosen.operations] == ["regional"]


@pytest.mark.e2e
def test_check_with_no_url_reads_the_check_file_and_reports_each_operation(
    tmp_path: Path,
    dataset_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LROKIT_TEST_TOKEN", "t0k")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        _write(project, server.url, setup="/reports/nonexistent")
        refused = main(["check"])
        said = capsys.readouterr()
        _write(project, server.url, setup="/problems/not-found")
        code = main(["check", "--time-scale", "0.2", "--json", "report.json"])
        output = capsys.readouterr().out
    assert refused == 2
    assert "setup GET /reports/nonexistent: GET" in said.err
    assert "-> 404" in said.err
    assert code == 0, output
    assert "operation yearly, profile canonical" in output
    assert "operation regional, profile canonical" in output
    assert "lrokit check: the operations" in output
    report = json.loads((project / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert [(r["operation"], r["exitCode"]) for r in report["operations"]] == [
        ("yearly", 0),
        ("regional", 0),
    ]


def test_check_with_no_url_and_no_check_file_says_how_to_aim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    assert "lrokit init --spec writes one" in capsys.readouterr().err


EXTERNAL = """\
openapi: 3.0.3
info: {title: external, version: "1"}
paths:
  /processes/echo/execution:
    post:
      responses:
        "201": {$ref: "https://schemas.invalid/ogcapi/responses/ExecuteAsync.yaml"}
"""


def test_answers_described_in_other_documents_are_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pygeoapi's generated description points its 201 at schemas.opengis.net: init says
    that it cannot follow the reference, and lint that it cannot validate, in one line."""
    spec = tmp_path / "external.yaml"
    spec.write_text(EXTERNAL)
    assert main(["init", "--spec", str(spec), "--out", str(tmp_path / "x.toml")]) == 2
    said = capsys.readouterr().err
    assert "201/202 responses that are references to other documents" in said
    assert "POST /processes/echo/execution -> https://schemas.invalid/" in said
    assert main(["lint", str(spec)]) == 2
    said = capsys.readouterr().err
    assert "cannot be validated: its reference https://schemas.invalid/" in said
    assert "Traceback" not in said
    assert said.count("\n") == 1


@pytest.mark.e2e
def test_check_with_a_spec_and_no_profile_infers_it_and_says_so(
    tmp_path: Path, dataset_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = Path(__file__).resolve().parents[1] / "openapi.yaml"
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        code = main(["check", server.url, "--spec", str(spec), "--time-scale", "0.2"])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "no profile given: the profiles of create-report were inferred from" in output
    assert "operation create-report" in output


VAULTS = """
[[setup]]
method = "PUT"
path = "/vaults/v1"

[[operations]]
name = "inventory"
[operations.submit]
path = "/vaults/v1/jobs"
body = { Type = "inventory-retrieval" }
failing_body = { Type = "inventory-retrieval", Tier = "Fail" }
[operations.initiation]
status = [202]
monitor_header = "Location"
monitor_template = "/vaults/v1/jobs/{header:x-amz-job-id}"
[operations.monitor]
state_field = "StatusCode"
id_field = "JobId"
error_field = "StatusMessage"
error_members = []
states = ["InProgress", "Succeeded", "Failed"]
success = "Succeeded"
failure = "Failed"
transitions = { InProgress = ["Succeeded", "Failed"], Succeeded = [], Failed = [] }
[operations.errors]
media_type = "application/json"
[operations.features]
cancel = false
[operations.rules]
LOCATION-1 = "off"
ACCEPT-2 = "off"
RESULT-1 = "off"
RESULT-3 = "off"
"""


async def _vault_run(path: Path, *setup: str) -> list[Report]:
    options = parse(
        {"check-file": str(path), "time-scale": "0", "setup": setup},
        target_url="http://vaults.test",
    )
    transport = httpx.ASGITransport(app=VaultServer())
    return await run_as(options, transport=transport)


@pytest.mark.anyio
async def test_a_job_api_needing_a_parent_is_checked_after_its_setup(tmp_path: Path) -> None:
    """An AWS-style job API: the vault must exist before a job starts in it, and the job is
    named only in a header. The setup request creates the vault, the template follows the
    job; without the setup every submission is refused and nothing is demonstrated."""
    path = tmp_path / "lrokit.toml"
    path.write_text(VAULTS)
    [report] = await _vault_run(path)
    outcomes = {v.rule.id: v.outcome for v in report.verdicts}
    assert outcomes["ACCEPT-1"] is Outcome.PASS
    assert outcomes["MONITOR-3"] is Outcome.PASS
    assert outcomes["LIFECYCLE-1"] is Outcome.PASS
    assert not [r for r, o in outcomes.items() if o in (Outcome.FAIL, Outcome.UNOBSERVED)]
    path.write_text(VAULTS.replace('[[setup]]\nmethod = "PUT"\npath = "/vaults/v1"\n', ""))
    [unprepared] = await _vault_run(path)
    refused = {v.rule.id: v.outcome for v in unprepared.verdicts}
    assert refused["ACCEPT-1"] is Outcome.FAIL
    assert refused["LIFECYCLE-1"] is Outcome.UNOBSERVED
    with pytest.raises(SetupFailed, match=r"setup PUT /nowhere/v1: PUT http://vaults.test"):
        await _vault_run(path, "PUT /nowhere/v1")
