"""``lrokit diff OLD.json NEW.json`` over real reports of ``lrokit check --json``: a rule NEW
fails and OLD did not exits 1 and is named; fixed, identical and no-longer-judged exit 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lrokit import __version__
from lrokit.cli import main
from lrokit.rules import RUNTIME_RULES
from lrokit.runner.diff import Change, Run, compare, to_markdown
from tests.fauxservers.server import FauxServer
from tests.live import ThreadServer

pytestmark = pytest.mark.e2e

BROKEN = "CANCEL-1"  # a MUST of the cancel feature, which a profile can turn off
NO_CANCEL = 'extends = "canonical"\nname = "no-cancel"\n[features]\ncancel = false\n'


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three reports: a conformant server's, one breaking CANCEL-1's, and that server's again
    under a profile without the cancel feature (CANCEL-1 DISABLED)."""
    where = tmp_path_factory.mktemp("reports")
    (where / "no-cancel.toml").write_text(NO_CANCEL)
    paths = {name: where / f"{name}.json" for name in ("ok", "broken", "off")}
    check = ["check", "--time-scale", "0", "--json"]
    with ThreadServer(FauxServer()) as url:
        assert main([*check, str(paths["ok"]), url]) == 0
    with ThreadServer(FauxServer(breaks=BROKEN)) as url:
        assert main([*check, str(paths["broken"]), url]) == 1
        profile = ["--profile-file", str(where / "no-cancel.toml")]
        assert main([*check, str(paths["off"]), url, *profile]) == 0
    return paths


def diff_json(
    old: Path, new: Path, capsys: pytest.CaptureFixture[str], *more: str
) -> tuple[int, dict[str, Any]]:
    """The exit code and the JSON diff (written to standard output)."""
    code = main(["diff", str(old), str(new), "--json", "-", *more])
    return code, json.loads(capsys.readouterr().out)


def change_of(document: dict[str, Any], rule: str) -> str:
    (found,) = [r["change"] for r in document["rules"] if r["id"] == rule]
    return str(found)


def test_a_new_failure_exits_1_and_is_named(
    reports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["diff", str(reports["ok"]), str(reports["broken"])])
    output = capsys.readouterr().out
    assert code == 1, output
    assert f"NEW FAILURES: 1 new failure ({BROKEN})" in output
    (row,) = [line for line in output.splitlines() if f" {BROKEN} " in line]
    assert "new failure" in row
    assert "PASS → FAIL" in row
    assert "expected CANCELLED" in row  # why it fails now
    assert "the targets differ" in output  # two servers, paired as the only reports


def test_a_fixed_failure_exits_0(
    reports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = diff_json(reports["broken"], reports["ok"], capsys)
    assert code == 0 == document["exitCode"]
    assert change_of(document, BROKEN) == "fixed"
    assert document["summary"]["fixed"] == 1
    assert document["summary"]["new-failure"] == 0


def test_identical_reports_exit_0(
    reports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(reports["ok"]), str(reports["ok"])]) == 0
    output = capsys.readouterr().out
    assert output.strip() == f"NO NEW FAILURES: {len(RUNTIME_RULES)} unchanged"
    # A failure in both is no regression, and still listed.
    code, document = diff_json(reports["broken"], reports["broken"], capsys)
    assert code == 0
    assert change_of(document, BROKEN) == "still-failing"
    assert document["summary"]["unchanged"] == len(RUNTIME_RULES) - 1


def test_a_failure_now_disabled_is_no_longer_judged_not_fixed(
    reports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = diff_json(reports["broken"], reports["off"], capsys)
    assert code == 0
    assert change_of(document, BROKEN) == "no-longer-judged"
    assert document["summary"]["fixed"] == 0
    (rule,) = [r for r in document["rules"] if r["id"] == BROKEN]
    assert (rule["old"], rule["new"]) == ("FAIL", "DISABLED")
    assert "no cancel feature" in rule["detail"]
    assert "the profiles differ: OLD canonical, NEW no-cancel" in document["notes"]
    assert main(["diff", str(reports["broken"]), str(reports["off"])]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith(f"NO NEW FAILURES: 2 no longer judged ({BROKEN} failed in OLD)")
    # Back again: judged once more, and failing, it is a new failure.
    assert main(["diff", str(reports["off"]), str(reports["broken"])]) == 1


def test_markdown_is_a_summary_then_a_table_with_pipes_escaped(
    reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(reports["broken"].read_text())
    (rule,) = [r for r in document["rules"] if r["id"] == BROKEN]
    rule["violations"][0]["received"] = "a | b *c*"
    piped = tmp_path / "piped.json"
    piped.write_text(json.dumps(document))
    assert main(["diff", str(reports["ok"]), str(piped), "--markdown"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"**lrokit diff: new failures** — 1 new failure ({BROKEN})")
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| Rule | Level | Change | Outcome | Details |"
    assert table[1] == "|---|---|---|---|---|"
    row = next(line for line in table if BROKEN in line)
    assert row.startswith(f"| {BROKEN} | MUST | **new failure** | PASS → FAIL | ")
    assert "received a \\| b \\*c\\*" in row
    cells = row.replace("\\|", "").count("|")
    assert all(line.replace("\\|", "").count("|") == cells for line in table)


def test_operations_are_paired_by_name(
    reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A check file's operations: each compared with its namesake; one only NEW has is
    counted as added and listed where it fails."""

    def several(path: Path, **runs: str) -> Path:
        loaded = {name: json.loads(reports[report].read_text()) for name, report in runs.items()}
        first = next(iter(loaded.values()))
        operations = [{"operation": name, **run} for name, run in loaded.items()]
        path.write_text(
            json.dumps(
                {
                    **{key: first[key] for key in ("lrokit", "target", "strict")},
                    **{"outcome": "FAIL", "exitCode": 1, "operations": operations},
                }
            )
        )
        return path

    old = several(tmp_path / "old.json", exports="broken", imports="ok")
    new = several(tmp_path / "new.json", imports="broken", exports="ok", audits="broken")
    code, document = diff_json(old, new, capsys)
    assert code == 1
    changes = {(r["report"], r["change"]) for r in document["rules"] if r["id"] == BROKEN}
    assert changes == {("exports", "fixed"), ("imports", "new-failure"), ("audits", "new-failure")}
    assert "audits is only in NEW" in " ".join(document["notes"])
    assert document["summary"]["added"] == len(RUNTIME_RULES) - 1


def test_a_valid_report_of_another_version_is_compared_with_a_note(
    reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(reports["ok"].read_text())
    document["lrokit"] = "0.0.9"
    older = tmp_path / "older.json"
    older.write_text(json.dumps(document))
    code, diffed = diff_json(older, reports["ok"], capsys)
    assert code == 0
    assert diffed["notes"] == [f"the lrokit versions differ: OLD 0.0.9, NEW {__version__}"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {name}: No such file or directory"),
        ("not json", "{name} is not JSON: "),
        ('{"findings": []}', "{name} is not a report of lrokit check --json"),
        ("outcome:MEH", "{name} is not a valid lrokit check report: 'MEH' is not one of"),
        ("version:9.0.0", "{name} was written by lrokit 9.0.0, whose reports lrokit"),
    ],
)
def test_bad_input_is_a_usage_error_in_one_line(
    content: str | None,
    message: str,
    reports: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None and ":" in content and not content.startswith("{"):
        what, value = content.split(":")
        document = json.loads(reports["ok"].read_text())
        if what == "outcome":
            document["rules"][0]["outcome"] = value
        else:  # a newer lrokit's report, with a member this one does not know
            document.update(lrokit=value, coverage=1.0)
        bad.write_text(json.dumps(document))
    elif content is not None:
        bad.write_text(content)
    assert main(["diff", str(reports["ok"]), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("lrokit: error: " + message.format(name=bad))
    assert captured.err.count("\n") == 1, captured.err
    assert captured.out == ""


def test_a_should_warned_under_strict_fails_there() -> None:
    """A report's strictness decides whether its WARN fails (lrokit writes a strict run's
    SHOULD failures as FAIL; a report that says WARN under strict is read the same way)."""

    def run(outcome: str, strict: bool) -> Run:
        rule = {"outcome": outcome, "level": "SHOULD", "violations": [], "reason": ""}
        rules = {"HTTP-1": rule | {"reasonKind": ""}}
        return Run("canonical", "http://t", "canonical", strict, "0.1.0", rules)

    warned = compare("a", [run("PASS", False)], "b", [run("WARN", False)])
    assert [row.change for row in warned.rows] == [Change.CHANGED]
    assert warned.exit_code == 0
    strict = compare("a", [run("PASS", True)], "b", [run("WARN", True)])
    assert [row.change for row in strict.rows] == [Change.NEW_FAILURE]
    assert strict.exit_code == 1
    assert "no new failures" in to_markdown(warned)


def test_the_diff_never_overwrites_a_report_it_compares(
    reports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``LROKIT_JSON`` is check's --json too: a diff written over NEW would lose it."""
    before = reports["broken"].read_bytes()
    assert (
        main(["diff", str(reports["ok"]), str(reports["broken"]), "--json", str(reports["broken"])])
        == 2
    )
    assert "would overwrite a report compared" in capsys.readouterr().err
    assert reports["broken"].read_bytes() == before
