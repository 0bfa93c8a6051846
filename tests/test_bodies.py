"""Request bodies of every kind, profiles that extend profiles, and monitor and result
templates filled from the initiating answer."""

from __future__ import annotations

import email.parser
import email.policy
from pathlib import Path
from urllib.parse import parse_qsl

import orjson
import pytest

from lrokit.model.bodies import BodyError, body_from
from lrokit.model.exchange import Exchange
from lrokit.model.profile import ProfileError, builtin_profiles, load_profile, load_profile_data


def _parts(content: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart body by field name: (file name, content)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + content
    )
    return {
        str(part.get_param("name", header="content-disposition")): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }


def test_a_json_body_is_sent_as_json() -> None:
    content, media_type = body_from({"a": 1}).encode()
    assert (orjson.loads(content), media_type) == ({"a": 1}, "application/json")


def test_a_form_body_sends_its_fields_and_json_text_for_the_rest() -> None:
    content, media_type = body_from({"name": "a b", "n": 2, "tag": ["x", "y"]}, "form").encode()
    assert media_type == "application/x-www-form-urlencoded"
    assert parse_qsl(content.decode()) == [("name", "a b"), ("n", "2"), ("tag", "x"), ("tag", "y")]


def test_a_multipart_body_carries_fields_and_files_with_its_boundary(tmp_path: Path) -> None:
    (tmp_path / "flow.cwl").write_text("cwlVersion: v1.2\n")
    body = body_from(
        {"workflow_type": "CWL", "workflow_params": {"seconds": 1}},
        "multipart",
        {"workflow_attachment": "flow.cwl"},
        base=tmp_path,
    )
    content, media_type = body.encode()
    assert media_type.startswith("multipart/form-data; boundary=")
    assert _parts(content, media_type) == {
        "workflow_type": (None, b"CWL"),
        "workflow_params": (None, b'{"seconds":1}'),
        "workflow_attachment": ("flow.cwl", b"cwlVersion: v1.2\n"),
    }
    assert "workflow_attachment=@flow.cwl" in body.describe()


@pytest.mark.parametrize(
    ("value", "encoding", "files", "message"),
    [
        ({"a": 1}, "xml", None, "encoding 'xml' is not one of"),
        ({"a": 1}, "json", {"f": "x"}, "files are sent in a multipart body only"),
        (["a"], "form", None, "a table of fields"),
        ({}, "multipart", {"f": "/nonexistent/lrokit.cwl"}, "is not a readable file"),
    ],
)
def test_a_body_that_cannot_be_sent_is_refused_at_once(
    value: object, encoding: str, files: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(BodyError, match=message):
        body_from(value, encoding, files)


def test_a_profile_extends_another_and_overrides_only_what_differs(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'extends = "azure"\n[submit]\npath = "/widgets/w1:export"\n'
        '[monitor]\nresult_link = "resourceLocation"\n[rules.RETRY-2]\nlevel = "SHOULD"\n'
    )
    azure, mine = load_profile("azure"), load_profile(str(tmp_path / "mine.toml"))
    assert (mine.name, mine.submit_path, mine.result_link) == (
        "mine",
        "/widgets/w1:export",
        "resourceLocation",
    )
    assert (mine.states, mine.monitor_header, mine.body) == (
        azure.states,
        azure.monitor_header,
        azure.body,
    )
    assert mine.overrides["RETRY-2"]["level"] == "SHOULD"
    assert mine.overrides["MONITOR-3"] == azure.overrides["MONITOR-3"]


def test_a_profile_extending_itself_or_a_missing_one_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\nname = "a"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nname = "b"\n')
    with pytest.raises(ProfileError, match="extends itself"):
        load_profile(str(tmp_path / "a.toml"))
    (tmp_path / "c.toml").write_text('extends = "nowhere"\n')
    with pytest.raises(ProfileError, match="no profile"):
        load_profile(str(tmp_path / "c.toml"))


def test_multipart_files_are_found_beside_the_profile_that_names_them(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.cwl").write_text("cwlVersion: v1.2\n")
    (tmp_path / "flows" / "wes.toml").write_text(
        'extends = "ga4gh-wes"\n[submit]\nencoding = "multipart"\n'
        'body = { workflow_type = "CWL" }\nfiles = { workflow_attachment = "hello.cwl" }\n'
    )
    (tmp_path / "mine.toml").write_text('extends = "flows/wes.toml"\nname = "mine"\n')
    profile = load_profile("mine.toml", relative_to=tmp_path)
    assert profile.body is not None
    assert profile.body.files == {"workflow_attachment": (tmp_path / "flows" / "hello.cwl",)}


def test_an_inline_profile_is_validated_like_a_file() -> None:
    with pytest.raises(ProfileError, match=r"\(inline\) is invalid at submit/encoding"):
        load_profile_data({"extends": "canonical", "submit": {"encoding": "yaml"}})


def _initiation(body: object, **headers: str) -> Exchange:
    return Exchange(
        label="submit",
        method="POST",
        url="http://api.test/v1/jobs",
        request_headers=(),
        status=200,
        headers=tuple({"content-type": "application/json", **headers}.items()),
        body=orjson.dumps(body),
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("/v1/jobs/{body:job.id}", "/v1/jobs/j%201"),
        ("/v1/jobs/{job.id}", "/v1/jobs/j%201"),
        ("/v1/jobs/{header:x-amz-job-id}/status", "/v1/jobs/J-42/status"),
        ("/v1/jobs/{body:missing}", None),
        ("/v1/jobs/{header:x-missing}", None),
    ],
)
def test_a_monitor_template_takes_values_from_the_body_or_a_header(
    template: str, expected: str | None
) -> None:
    profile = load_profile_data(
        {"extends": "canonical", "name": "t", "initiation": {"monitor_template": template}}
    )
    submission = _initiation({"job": {"id": "j 1"}}, **{"x-amz-job-id": "J-42"})
    assert profile.pointer(submission) == expected


def test_a_result_template_may_start_from_the_submission() -> None:
    profile = load_profile_data(
        {"extends": "canonical", "name": "t", "monitor": {"result_template": "{submit}"}}
    )
    assert profile.result_url("http://a/ops/1", "http://a/things/t1") == "http://a/things/t1"
    assert profile.result_url("http://a/ops/1") is None


def test_a_body_and_transitions_given_replace_the_extended_ones_whole() -> None:
    profile = load_profile_data(
        {
            "extends": "canonical",
            "name": "t",
            "submit": {"body": {"reportType": "sales-by-region", "parameters": {"from": "a"}}},
            "monitor": {
                "states": ["running", "done"],
                "success": "done",
                "transitions": {"running": ["done"], "done": []},
                "failure": "done",
                "cancelled": "done",
            },
        }
    )
    assert profile.body is not None
    assert profile.body.value == {"reportType": "sales-by-region", "parameters": {"from": "a"}}
    assert profile.transitions == {"running": ("done",), "done": ()}


def test_the_arm_patterns_share_their_family_and_differ_in_what_they_point_at() -> None:
    """arm and arm-asyncoperation extend profiles/families/arm.toml, which is not a profile
    of its own."""
    arm, operation = load_profile("arm"), load_profile("arm-asyncoperation")
    assert "families/arm" not in builtin_profiles()
    for shared in ("submit_path", "body", "failing_body", "error_media_type", "retry_after_min"):
        assert getattr(arm, shared) == getattr(operation, shared), shared
    assert arm.overrides["RETRY-4"] == operation.overrides["RETRY-4"]
    assert (arm.monitor_header, operation.monitor_header) == ("Location", "Azure-AsyncOperation")
    assert arm.state_rules
    assert not operation.state_rules
