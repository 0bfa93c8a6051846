"""``lrokit init``: from an API description to a check file whose every operation is a whole
profile. Our own contract gives what canonical.toml says where the contract says it; each
dialect-shaped document under tests/specs/discover/ gives its operations and terminal states
(and agrees with the built-in profile of its dialect); the file parses, validates and loads;
what cannot be inferred is said; lint and init find the same long-running operations."""

from __future__ import annotations

import json
import sys
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from lrokit.cli import main
from lrokit.discover.checkfile import _value
from lrokit.discover.examples import Examples
from lrokit.discover.profiles import NoLongRunningOperation, discover, infer_profiles
from lrokit.discover.specs import read_spec
from lrokit.lint.checks import lint as run_lint
from lrokit.lint.document import SpecError, load_document, read_document
from lrokit.lint.longrunning import find_long_running
from lrokit.lint.states import Kind, classify, is_state_enum
from lrokit.model.profile import Profile, load_profile, load_profile_data
from lrokit.runner.checkfile import load_checkfile
from tests.conftest import TEST_ROWS
from tests.live import LiveServer

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "tests" / "specs"
DIALECTS = SPECS / "discover"
CONTRACT = ROOT / "openapi.yaml"
PROFILE_SCHEMA = Draft202012Validator(
    json.loads((files("lrokit") / "schemas" / "profile.schema.json").read_text())
)


def init(tmp_path: Path, spec: Path | str, *more: str) -> tuple[int, dict[str, Any], str]:
    """Run ``lrokit init`` as the command line does; the written file parsed, and its text."""
    out = tmp_path / "lrokit.toml"
    code = main(["init", "--spec", str(spec), "--out", str(out), *more])
    text = out.read_text() if out.exists() else ""
    return code, tomllib.loads(text) if text else {}, text


def profile(data: dict[str, Any]) -> Profile:
    """An operation's tables as the check file gives them: a whole profile on their own
    (valid against profile.schema.json), loaded by the profile loader over the dialect they
    extend, where they extend one (``profile`` in a check file, ``extends`` as inferred)."""
    base = data.get("profile", data.get("extends"))
    whole = {k: v for k, v in data.items() if k not in ("profile", "extends")}
    PROFILE_SCHEMA.validate(whole)
    return load_profile_data({**whole, **({"extends": base} if base else {})})


def operations(source: Path) -> dict[str, dict[str, Any]]:
    return dict(infer_profiles(str(source))[0])


# -- our own contract --------------------------------------------------------------------
def test_our_contract_gives_the_canonical_profile(tmp_path: Path) -> None:
    code, written, _ = init(tmp_path, CONTRACT, "--url", "http://127.0.0.1:8080")
    assert code == 0
    assert written["url"] == "http://127.0.0.1:8080"
    assert (tmp_path / written["spec"]).resolve() == CONTRACT
    [operation] = written["operations"]
    assert operation["name"] == "create-report"
    inferred, canonical = profile(operation), load_profile("canonical")
    same = (
        *("submit_method", "submit_path", "body", "initiation_status", "monitor_header"),
        *("id_segment", "state_field", "id_field", "progress_field", "created_field"),
        *("started_field", "finished_field", "estimate_field", "error_field", "result_link"),
        *("result_template", "media_type", "error_media_type", "states", "success"),
        *("failure", "cancelled", "terminal", "cancel_method", "cancel_template", "features"),
    )
    for name in same:
        assert getattr(inferred, name) == getattr(canonical, name), name
    # The contract does not order the states: every move canonical allows is allowed.
    for state, following in canonical.transitions.items():
        assert set(following) <= set(inferred.transitions[state]), state
    # It requires more string members of the error than canonical names: all of them.
    assert set(canonical.error_members) <= set(inferred.error_members)


def test_the_file_says_where_each_value_was_read_and_what_was_not(tmp_path: Path) -> None:
    _, _, text = init(tmp_path, CONTRACT)
    assert "# the pointer header declared (from /paths/~1reports/post/responses/202/head" in text
    assert "(from /components/schemas/ReportState/enum)" in text
    assert "the example 'yearlySales' (from" in text
    # It speaks the canonical dialect: judged as canonical states its rules, whose failing
    # body (which no document can give) it keeps.
    assert "# the operation speaks the canonical dialect" in text
    assert 'profile = "canonical"' in text
    assert "failing_body: NOT INFERRED" not in text
    assert "# url: NOT INFERRED" in text  # openapi.yaml's server is relative
    assert '# Authorization = "Bearer ${API_TOKEN}"' in text


def test_the_written_file_loads_as_a_check_file(tmp_path: Path) -> None:
    init(tmp_path, CONTRACT, "--url", "http://127.0.0.1:8080")
    loaded = load_checkfile(tmp_path / "lrokit.toml", environ={})
    assert loaded.url == "http://127.0.0.1:8080"
    assert loaded.spec == str(CONTRACT)
    assert [op.name for op in loaded.operations] == ["create-report"]


@pytest.mark.e2e
def test_the_file_written_from_our_contract_passes_the_reference_server(
    tmp_path: Path,
    dataset_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        assert main(["init", "--spec", str(CONTRACT), "--url", server.url]) == 0
        code = main(["check", "--time-scale", "0.2"])
        output = capsys.readouterr().out
    assert code == 0, output
    assert "operation create-report, profile canonical" in output


def test_infer_profiles_gives_profile_data_and_notes() -> None:
    found, notes = infer_profiles(str(CONTRACT))
    [(name, data)] = found
    assert name == "create-report"
    assert profile(data).name == "create-report"
    state = [n for n in notes if n.startswith("create-report: monitor.state_field:")]
    assert state == [
        "create-report: monitor.state_field: the member whose enum reads as the job's state "
        "(from /components/schemas/ReportStatus/properties/status)"
    ]
    assert "create-report: the operation speaks the canonical dialect" in "\n".join(notes)
    _, elsewhere = infer_profiles(str(DIALECTS / "azure-dataplane.yaml"))
    assert any("NOT INFERRED" in n for n in elsewhere)


# -- the dialects ------------------------------------------------------------------------
#: Per document: each operation found, its initiation, how its monitor is found, and the
#: terminal states it gives.
EXPECTED: dict[str, dict[str, dict[str, Any]]] = {
    "aip151.yaml": {
        "documents-analyze-document": {
            "initiation": {"status": [200], "monitor_template": "/v1/{body:name}"},
            "terminal": {"SUCCEEDED", "FAILED", "CANCELLED"},
            "cancel": {"method": "POST", "template": "{monitor}:cancel"},
            "monitor": {"state_field": "done", "result_field": "response"},
        }
    },
    "azure-arm.json": {
        "widgets-create-or-update": {
            "initiation": {"status": [201], "monitor_header": "Azure-AsyncOperation"},
            "terminal": {"Succeeded", "Failed", "Canceled"},
            "monitor": {"state_field": "status", "progress_field": "percentComplete"},
        },
        "widgets-delete": {
            "initiation": {"status": [202], "monitor_header": "Location"},
            "terminal": {"Succeeded", "Failed"},
            "monitor": {"states": ["InProgress", "Succeeded", "Failed"]},
        },
        "widgets-export": {
            "initiation": {"status": [202], "monitor_header": "Location"},
            "terminal": {"Succeeded", "Failed"},
            "submit": {"body": {"format": "json"}},
        },
    },
    "azure-dataplane.yaml": {
        "document-models-analyze-document": {
            "initiation": {"status": [202], "monitor_header": "Operation-Location"},
            "terminal": {"succeeded", "failed", "canceled"},
            "submit": {"path": "/documentintelligence/documentModels/prebuilt-layout:analyze"},
            "monitor": {"result_field": "analyzeResult", "error_members": ["code", "message"]},
        }
    },
    "ogc.yaml": {
        "execute": {
            "initiation": {"status": [201], "monitor_header": "Location"},
            "terminal": {"successful", "failed", "dismissed"},
            "cancel": {"method": "DELETE", "may_remove": True},
            "monitor": {"result_template": "{monitor}/results", "id_field": "jobID"},
            "submit": {"headers": {"Prefer": "respond-async"}},
        }
    },
    "wes.yaml": {
        "run-workflow": {
            "initiation": {
                "status": [200],
                "monitor_template": "/ga4gh/wes/v1/runs/{body:run_id}/status",
                "id_segment": -2,
            },
            "terminal": {"COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED"},
            "cancel": {"method": "POST", "template": "{monitor}/../cancel"},
            "submit": {"path": "/ga4gh/wes/v1/runs"},
        }
    },
    "seed-status.yaml": {
        "post-api-reports": {
            "initiation": {"status": [202], "monitor_header": "Location", "id_segment": -2},
            "terminal": {"Complete", "Failed"},
            "monitor": {"state_field": "status", "result_link": "reportURL"},
        }
    },
    "seed-embedded.yaml": {
        "post-reports": {
            "initiation": {"status": [202], "monitor_header": "Location"},
            "terminal": {"completed", "failed"},
            "monitor": {"state_field": "status", "result_field": "result", "id_field": "id"},
            "submit": {"body": {"reportType": "sales", "parameters": {"year": "2023"}}},
        }
    },
    "jsonapi.yaml": {
        "create-photo": {
            "initiation": {"status": [202], "monitor_header": "Content-Location"},
            "terminal": {"Done"},
            "monitor": {"result_header": "Location", "media_type": "application/vnd.api+json"},
            "submit": {"headers": {"Content-Type": "application/vnd.api+json"}},
        }
    },
}


def test_every_dialect_document_is_expected() -> None:
    assert {p.name for p in DIALECTS.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_dialect_gives_its_operations_and_terminal_states(name: str) -> None:
    found = operations(DIALECTS / name)
    assert list(found) == list(EXPECTED[name])
    for operation, expected in EXPECTED[name].items():
        data = found[operation]
        inferred = profile(data)
        assert inferred.terminal == expected["terminal"], operation
        assert data["features"]["cancel"] == ("cancel" in expected), operation
        assert data["features"]["stream"] is False, operation  # none declares an event stream
        for table in ("submit", "initiation", "monitor", "cancel"):
            for key, value in expected.get(table, {}).items():
                assert data[table][key] == value, f"{operation} {table}.{key}"


#: A dialect document, one of its operations and the built-in profile of that dialect: the
#: states, the outcomes and how the monitor is found and cancelled agree.
AGREEING = [
    ("aip151.yaml", "documents-analyze-document", "aip151"),
    ("azure-arm.json", "widgets-create-or-update", "arm-asyncoperation"),
    ("azure-arm.json", "widgets-export", "arm"),
    ("ogc.yaml", "execute", "ogc"),
    ("wes.yaml", "run-workflow", "ga4gh-wes"),
    ("jsonapi.yaml", "create-photo", "jsonapi"),
    ("seed-status.yaml", "post-api-reports", "seed-status"),
    ("seed-embedded.yaml", "post-reports", "seed-embedded"),
]


@pytest.mark.parametrize(("name", "operation", "builtin"), AGREEING)
def test_a_dialect_agrees_with_its_built_in_profile(
    name: str, operation: str, builtin: str
) -> None:
    data = operations(DIALECTS / name)[operation]
    inferred, known = profile(data), load_profile(builtin)
    assert data.get("extends") == builtin  # the dialect is recognised, its rules apply
    assert set(inferred.states) == set(known.states)
    for field in (
        *("success", "failure", "cancelled", "terminal", "state_field", "state_rules"),
        *("monitor_header", "id_segment", "cancel_method", "cancel_template", "cancel_may_remove"),
    ):
        assert getattr(inferred, field) == getattr(known, field), field
    for field in ("result_template", "result_field", "result_header"):  # where it has one
        if getattr(known, field) is not None:
            assert getattr(inferred, field) == getattr(known, field), field


def test_a_state_whose_name_says_nothing_is_left_to_a_person(tmp_path: Path) -> None:
    _, written, text = init(tmp_path, DIALECTS / "azure-dataplane.yaml")
    [operation] = written["operations"]
    assert operation["monitor"]["transitions"]["skipped"]  # written non-terminal
    assert "NOT INFERRED: the names 'skipped' do not say whether the job ended" in text


def test_a_dialect_operation_without_an_example_body_sends_the_dialects(tmp_path: Path) -> None:
    _, written, text = init(tmp_path, DIALECTS / "wes.yaml")
    [operation] = written["operations"]
    assert operation["profile"] == "ga4gh-wes"
    assert "body" not in operation["submit"]
    assert "the document gives no example body, so ga4gh-wes's is sent" in text
    body = profile(operation).body
    assert body is not None
    assert (body.encoding, set(body.files)) == ("multipart", {"workflow_attachment"})


def test_a_multipart_file_is_left_to_a_person(tmp_path: Path) -> None:
    other = tmp_path / "wes-elsewhere.yaml"  # not the dialect's operation: nothing supplied
    other.write_text((DIALECTS / "wes.yaml").read_text().replace("/runs:", "/workflow-runs:", 1))
    _, written, text = init(tmp_path, other)
    submit = written["operations"][0]["submit"]
    assert "files" not in submit
    assert '# files = { workflow_attachment = "PATH" }' in text
    assert set(submit["body"]) == {"workflow_url", "workflow_type", "workflow_type_version"}
    assert all(isinstance(v, str) for v in submit["body"].values())


def test_a_path_parameter_without_example_is_left_to_a_person(tmp_path: Path) -> None:
    _, written, text = init(tmp_path, DIALECTS / "ogc.yaml")
    assert written["operations"][0]["submit"]["path"] == "/ogcapi/processes/{processID}/execution"
    assert "NOT INFERRED: the path parameter processID has no example" in text
    assert written["url"] == "https://processes.example.org"


def test_an_azure_query_parameter_is_named() -> None:
    _, notes = infer_profiles(str(DIALECTS / "azure-arm.json"))
    assert any("--query api-version=2024-01-01" in n for n in notes)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_dialect_file_parses_validates_and_loads(name: str, tmp_path: Path) -> None:
    code, written, _ = init(tmp_path, DIALECTS / name, "--url", "http://127.0.0.1:8080")
    assert code == 0
    for operation in written["operations"]:
        profile(operation)
    loaded = load_checkfile(tmp_path / "lrokit.toml", environ={})
    assert [op.name for op in loaded.operations] == list(EXPECTED[name])


# -- bodies ------------------------------------------------------------------------------
def test_a_generated_body_is_valid_minimal_and_the_same_every_time() -> None:
    first = profile(operations(DIALECTS / "aip151.yaml")["documents-analyze-document"]).body
    again = profile(operations(DIALECTS / "aip151.yaml")["documents-analyze-document"]).body
    assert first is not None
    assert again is not None
    assert first.value == again.value == {"text": "The quick brown fox."}  # its example
    spec = read_spec(str(DIALECTS / "ogc.yaml"))
    body = operations(DIALECTS / "ogc.yaml")["execute"]["submit"]["body"]
    assert Examples(spec.doc).problem("/components/schemas/execute", body) is None


def test_a_generated_body_uses_the_members_examples() -> None:
    spec = read_spec(str(CONTRACT))
    generated = Examples(spec.doc).generate(
        "/reports", "post", None, "/components/schemas/ReportRequest"
    )
    assert not isinstance(generated, str)
    assert generated.valid
    assert generated.value == {"reportType": "yearly-sales", "parameters": {"year": "2023"}}


def test_without_the_deep_extra_the_body_is_left_to_a_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "schemathesis", None)  # import schemathesis fails
    _, written, text = init(tmp_path, DIALECTS / "ogc.yaml")
    assert "body" not in written["operations"][0]["submit"]
    assert "# body: NOT INFERRED: generating a body needs the deep extra" in text
    assert "# body = { }" in text


def test_a_swagger_form_with_a_file_is_multipart(tmp_path: Path) -> None:
    spec = tmp_path / "form.yaml"
    spec.write_text(
        "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths:\n"
        "  /uploads:\n    post:\n      operationId: upload\n      consumes: [multipart/form-data]\n"
        "      parameters:\n"
        "        - {name: title, in: formData, required: true, type: string, x-example: hello}\n"
        "        - {name: count, in: formData, type: integer, default: 2}\n"
        "        - {name: data, in: formData, required: true, type: file}\n"
        "      responses:\n        '202':\n          description: Accepted.\n"
        "          headers: {Location: {type: string}}\n"
    )
    [(_, data)] = infer_profiles(str(spec))[0]
    assert data["submit"]["encoding"] == "multipart"
    assert "title" in data["submit"]["body"]
    assert "data" not in data["submit"]["body"]
    _, _, text = init(tmp_path, spec)
    assert '# files = { data = "PATH" }' in text


def test_a_form_body_is_form_encoded_strings(tmp_path: Path) -> None:
    spec = tmp_path / "form.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /jobs:\n    post:\n"
        "      requestBody:\n        content:\n          application/x-www-form-urlencoded:\n"
        "            schema: {type: object, required: [n], properties: {n: {type: integer}}}\n"
        "            example: {n: 3}\n"
        "      responses:\n        '202':\n          description: Accepted.\n"
        "          headers: {Location: {schema: {type: string}}}\n"
    )
    [(name, data)] = infer_profiles(str(spec))[0]
    assert name == "post-jobs"
    assert data["submit"]["encoding"] == "form"
    assert data["submit"]["body"] == {"n": "3"}


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("missing.yaml", "cannot read missing.yaml"),
        (str(ROOT / "pyproject.toml"), "cannot read"),
        (str(SPECS / "spec-11.yaml"), "describes no long-running operation"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    spec: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = init(tmp_path, spec)
    err = capsys.readouterr().err
    assert code == 2
    assert says in err
    assert err.count("\n") == 1
    assert not (tmp_path / "lrokit.toml").exists()


def test_a_url_that_is_not_absolute_is_refused_before_anything_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(tmp_path, CONTRACT, "--url", "localhost:8080")[0] == 2
    assert "--url: 'localhost:8080' is not an absolute http(s) URL" in capsys.readouterr().err
    assert not (tmp_path / "lrokit.toml").exists()


def test_a_document_neither_openapi_nor_swagger_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "other.yaml"
    spec.write_text("asyncapi: 2.6.0\ninfo: {title: x, version: '1'}\n")
    assert init(tmp_path, spec)[0] == 2
    assert "neither OpenAPI 3.0/3.1 nor Swagger 2.0" in capsys.readouterr().err


def test_an_existing_file_is_kept_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lrokit.toml"
    out.write_text("# mine\n")
    code, _, text = init(tmp_path, CONTRACT)
    assert (code, text) == (2, "# mine\n")
    assert "pass --force" in capsys.readouterr().err
    code, written, _ = init(tmp_path, CONTRACT, "--force")
    assert code == 0
    assert written["operations"][0]["name"] == "create-report"


def test_standard_output_and_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--spec", str(CONTRACT), "--out", "-"]) == 0
    out, err = capsys.readouterr()
    assert tomllib.loads(out)["operations"][0]["name"] == "create-report"
    assert err.startswith("lrokit init: standard output: 1 long-running operation (create-report)")


def test_a_url_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://api.example/openapi.yaml"

    def get(source: str, **_: Any) -> httpx.Response:
        content = (DIALECTS / "wes.yaml").read_bytes()
        return httpx.Response(200, content=content, request=httpx.Request("GET", source))

    monkeypatch.setattr(httpx, "get", get)
    assert [name for name, _ in infer_profiles(url)[0]] == ["run-workflow"]


# -- lint and init agree -----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_lint_reads_the_same_long_running_operations(name: str) -> None:
    doc = read_document(str(DIALECTS / name))
    found = discover(read_spec(str(DIALECTS / name)))
    assert [lr.operation for lr in find_long_running(doc)] == [
        i.long_running.operation for i in found.operations
    ]
    if doc.version.startswith("3"):
        findings = run_lint(load_document(str(DIALECTS / name)), load_profile("canonical"))
        assert "SPEC-11" not in {f.rule.id for f in findings}


def test_a_document_without_long_running_operations_is_spec_11_for_both() -> None:
    spec = str(SPECS / "spec-11.yaml")
    with pytest.raises(NoLongRunningOperation):
        infer_profiles(spec)
    assert issubclass(NoLongRunningOperation, SpecError)
    findings = run_lint(load_document(spec), load_profile("canonical"))
    assert [(f.rule.id, f.pointer) for f in findings] == [("SPEC-11", "/paths")]


def test_a_201_to_a_created_resource_is_no_job() -> None:
    """spec-11.yaml's POST /widgets answers 201 with Location; its body has no job state."""
    assert find_long_running(load_document(str(SPECS / "spec-11.yaml"))) == []


def test_the_cancel_of_a_monitor_is_not_a_job_of_its_own() -> None:
    """openapi.yaml's DELETE /reports/{reportId} answers 202 with Location: it cancels."""
    found = find_long_running(load_document(str(CONTRACT)))
    assert [lr.operation.title for lr in found] == ["POST /reports"]


# -- the vocabulary and the writer -------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("Succeeded", Kind.SUCCESS),
        ("DONE", Kind.SUCCESS),
        ("successful", Kind.SUCCESS),
        ("COMPLETE", Kind.SUCCESS),
        ("EXECUTOR_ERROR", Kind.FAILURE),
        ("ProvisioningFailed", Kind.FAILURE),
        ("dismissed", Kind.CANCELLED),
        ("CANCELED", Kind.CANCELLED),
        ("CANCELING", Kind.ACTIVE),
        ("NotStarted", Kind.ACTIVE),
        ("In Progress", Kind.ACTIVE),
        ("skipped", Kind.UNKNOWN),
    ],
)
def test_a_state_name_says_what_it_says(state: str, kind: Kind) -> None:
    assert classify(state) is kind


def test_an_enum_of_states_names_a_terminal_one() -> None:
    assert is_state_enum(["PENDING", "DONE"])
    assert not is_state_enum(["active", "retired"])
    assert not is_state_enum(["DONE"])


def test_toml_values_are_escaped_and_nulls_left_out() -> None:
    dropped: list[bool] = []
    text = _value({"a.b": 'say "x"\n\x7f', "n": None, "l": [1, None, 2.5]}, dropped)
    assert dropped
    assert tomllib.loads(f"v = {text}")["v"] == {"a.b": 'say "x"\n\x7f', "l": [1, 2.5]}
