"""The README's quick start: exactly two commands, and CI runs the test command verbatim;
its CI examples are valid YAML."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.DOTALL)


def test_quick_start_has_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    serve, test = commands
    assert serve.endswith("lrokit serve")
    assert test.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start_commands()[1] in ci


def test_ci_examples_are_valid_yaml_that_run_lrokit() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    for block in blocks:
        assert isinstance(yaml.safe_load(block), (dict, list)), block
        assert re.search(r"\blrokit (check|lint) ", block), block
    gating = [b for b in blocks if "lrokit check http://127.0.0.1:8080 --junit lrokit.xml" in b]
    assert len(gating) == 2  # GitHub Actions and GitLab CI
