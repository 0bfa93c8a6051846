"""Profiles as data: built-ins load, bad files get one clear line, overrides change verdicts."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import httpx
import pytest

from lrokit.cli import main
from lrokit.model.profile import ProfileError, builtin_profiles, load_profile
from lrokit.runner.run import run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome
from tests.fauxservers.server import FauxServer

CANONICAL = (files("lrokit") / "profiles" / "canonical.toml").read_text()


@pytest.mark.parametrize("name", sorted(builtin_profiles()))
def test_builtin_profiles_load(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.success in profile.terminal
    assert profile.failure is None or profile.failure in profile.terminal
    assert profile.cancelled is None or profile.cancelled in profile.terminal


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('name = "canonical"', "name = 7"),
            "at name: 7 is not of type 'string'",
        ),
        (
            lambda t: t.replace('state_field = "status"\n', ""),
            "'state_field' is a required property",
        ),
        (lambda t: t.replace("status = [202]", "status = [404]"), "at initiation/status/0"),
        (lambda t: t + '\n[rules]\nNOPE-1 = "MUST"\n', "rules.NOPE-1: no such rule"),
        (lambda t: t + '\n[rules]\nRETRY-2 = "sometimes"\n', "at rules/RETRY-2"),
        (
            lambda t: t.replace('success = "DONE"', 'success = "PENDING"'),
            "monitor.success must be a terminal state",
        ),
        (
            lambda t: t.replace("DONE = []", 'DONE = ["LIMBO"]'),
            "monitor.transitions must name exactly",
        ),
        (lambda t: t.replace("[submit]", "[submit"), "cannot read profile"),
        (lambda t: t + "\nsurprise = true\n", "Additional properties are not allowed ('surprise'"),
    ],
)
def test_a_wrong_profile_gets_one_clear_line(tmp_path: Path, edit: object, message: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(edit(CANONICAL))  # type: ignore[operator]
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_the_cli_reports_a_wrong_profile_file_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(CANONICAL.replace("[monitor]", "[monitr]"))
    assert main(["check", "http://127.0.0.1:9", "--profile-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrokit: error: --profile-file: profile ")
    assert err.count("\n") == 1


def test_profiles_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "canonical" in out
    assert "azure" in out


@pytest.mark.anyio
async def test_a_user_profile_sets_levels_and_words(tmp_path: Path) -> None:
    path = tmp_path / "strict-caching.toml"
    rules = """
[rules.HTTP-1]
level = "MUST"
citation = "Our API style guide §4"

[rules.PROBLEM-9]
level = "off"
"""
    path.write_text(CANONICAL.replace('name = "canonical"', 'name = "strict-caching"') + rules)
    profile = load_profile(str(path))
    report = await run(
        TargetConfig("http://faux.test", time_scale=0.001, max_wait=3),
        profile,
        transport=httpx.ASGITransport(app=FauxServer(breaks="HTTP-1")),
    )
    verdicts = {v.rule.id: v for v in report.verdicts}
    assert verdicts["HTTP-1"].outcome is Outcome.FAIL  # a SHOULD made MUST by the profile
    assert verdicts["HTTP-1"].rule.citation == "Our API style guide §4"
    assert verdicts["PROBLEM-9"].outcome is Outcome.DISABLED
