"""The pytest plugin: ``pytest --lrokit-url URL`` in a project's own run adds the suite to it.

Each run is a subprocess in a small project of its own (one test of its own, ``testpaths``
set), the way a project's CI runs it, judged from its JUnit report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_ROWS
from tests.fauxservers.server import FauxServer
from tests.live import LiveServer, ThreadServer
from tests.test_conformance_suite import CANONICAL_TESTS, SuiteRun, read_junit

FAST = ["--lrokit-time-scale", "0.05", "--lrokit-max-wait", "10"]
NO_GENERATIVE = ["--lrokit-schema-examples", "0", "--lrokit-lifecycle-examples", "0"]


def project_run(project: Path, *args: str) -> SuiteRun:
    """``python -m pytest ARGS`` in a project with a test of its own."""
    (project / "tests").mkdir(exist_ok=True)
    (project / "tests" / "test_own.py").write_text("def test_own():\n    assert True\n")
    (project / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    junit = project / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         f"--junitxml={junit}", *args],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return read_junit(done, junit)


def test_without_lrokit_url_a_project_runs_only_its_own_tests(tmp_path: Path) -> None:
    run = project_run(tmp_path)
    assert run.returncode == 0, run.output
    assert run.outcomes == {"test_own": "passed"}


def test_the_options_are_listed_under_names_of_their_own(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "--lrokit-url=URL" in done.stdout
    assert "--target-url" not in done.stdout  # the suite's short names stay in its directory


@pytest.mark.e2e
def test_lrokit_url_adds_the_suite_and_the_reference_server_passes(
    tmp_path: Path, dataset_path: Path
) -> None:
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        run = project_run(tmp_path, "--lrokit-url", server.url, *FAST, *NO_GENERATIVE)
    assert run.returncode == 0, run.output
    assert run.named("passed") == CANONICAL_TESTS | {"test_own"}, run.output


@pytest.mark.e2e
def test_a_broken_server_fails_the_projects_run_on_exactly_its_rule(tmp_path: Path) -> None:
    with ThreadServer(FauxServer(breaks="RETRY-3")) as url:
        run = project_run(tmp_path, "--lrokit-url", url, *FAST, *NO_GENERATIVE)
    assert run.returncode == 1, run.output
    assert run.named("failed") == {"test_rule[RETRY-3]"}, run.output
    assert "test_own" in run.named("passed")
