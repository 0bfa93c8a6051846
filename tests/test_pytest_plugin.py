"""The pytest plugin: ``pytest --lrokit-url URL`` in a project's own run adds the suite to it.

Each run is a subprocess in a small project of its own (one test of its own, ``testpaths``
set), the way a project's CI runs it, judged from its JUnit report. Some projects keep lrokit in
a virtualenv inside them (``.venv``), installed from a wheel of this checkout: pytest does not
walk into a virtualenv, and the suite must be collected all the same, however pytest is invoked;
a run that collects none of it is a usage error, never a green run without it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_ROWS
from tests.fauxservers.server import FauxServer
from tests.live import LiveServer, ThreadServer
from tests.test_conformance_suite import CANONICAL_TESTS, SuiteRun, read_junit

FAST = ["--lrokit-time-scale", "0.05", "--lrokit-max-wait", "10"]
NO_GENERATIVE = ["--lrokit-schema-examples", "0", "--lrokit-lifecycle-examples", "0"]
ROOT = Path(__file__).resolve().parents[1]


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
    for name in ("json", "har", "html"):  # the rules' run written as check writes it
        assert f"--lrokit-{name}=FILE" in done.stdout
    assert "--target-url" not in done.stdout  # the suite's short names stay in its directory
    assert "--run-json" not in done.stdout


@pytest.mark.e2e
def test_lrokit_url_adds_the_suite_and_the_reference_server_passes(
    tmp_path: Path, dataset_path: Path
) -> None:
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        run = project_run(tmp_path, "--lrokit-url", server.url, *FAST, *NO_GENERATIVE)
    assert run.returncode == 0, run.output
    assert run.named("passed") == CANONICAL_TESTS | {"test_own"}, run.output


@pytest.mark.e2e
def test_a_check_file_drives_the_plugin_with_rules_and_a_lifecycle_per_operation(
    tmp_path: Path, dataset_path: Path
) -> None:
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        (tmp_path / "lrokit.toml").write_text(
            f'url = "{server.url}"\n'
            '[[operations]]\nname = "yearly"\nprofile = "canonical"\n'
            '[[operations]]\nname = "regional"\nprofile = "canonical"\n'
            "[operations.submit.body]\n"
            'reportType = "sales-by-region"\n'
            'parameters = { from = "2023-01-01", to = "2023-06-30" }\n'
        )
        run = project_run(
            tmp_path, "--lrokit-check-file", "lrokit.toml", *FAST,
            "--lrokit-schema-examples", "0", "--lrokit-lifecycle-examples", "1",
        )  # fmt: skip
    assert run.returncode == 0, run.output
    per_operation = {
        test.replace("[", f"[{operation}-") for test in CANONICAL_TESTS
        for operation in ("yearly", "regional")
    }  # fmt: skip
    lifecycles = {"test_lifecycle[yearly]", "test_lifecycle[regional]"}
    assert run.named("passed") == per_operation | lifecycles | {"test_own"}, run.output


@pytest.mark.e2e
def test_a_broken_server_fails_the_projects_run_on_exactly_its_rule(tmp_path: Path) -> None:
    with ThreadServer(FauxServer(breaks="RETRY-3")) as url:
        run = project_run(tmp_path, "--lrokit-url", url, *FAST, *NO_GENERATIVE)
    assert run.returncode == 1, run.output
    assert run.named("failed") == {"test_rule[RETRY-3]"}, run.output
    assert "test_own" in run.named("passed")


# -- lrokit installed in a virtualenv inside the project ----------------------------------------

#: The project's own test; it also proves that lrokit, its plugin and its suite, is imported
#: from the project's virtualenv (whose prefix is ``sys.prefix``), not from this checkout.
OWN_TEST = """\
import sys

import lrokit


def test_own():
    assert lrokit.__file__.startswith(sys.prefix + "/"), (lrokit.__file__, sys.prefix)
"""


@pytest.fixture(scope="module")
def venv_project(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A project with a test of its own and its virtualenv inside it, ``project/.venv``, as
    uv, poetry and hatch make it, where lrokit is installed from a wheel of this checkout.

    The wheel is installed without its dependencies: a ``.pth`` line puts this virtualenv's
    site-packages after the project's own, so that the deep extra's ~50 packages need not be
    downloaded (the test runs offline, in seconds). Only a plain directory is on that line, so
    the ``.pth`` files there (this checkout's editable install among them) are not read: lrokit
    comes from the project's virtualenv, as the project's test asserts in every run.
    """
    project = tmp_path_factory.mktemp("project")
    venv = project / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = str(venv / "bin" / "python")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "lrokit-test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_own.py").write_text(OWN_TEST)
    return project


@pytest.fixture(scope="module")
def conformant_url() -> Iterator[str]:
    with ThreadServer(FauxServer()) as url:
        yield url


def venv_run(project: Path, *args: str, testpaths: bool = False) -> SuiteRun:
    """``.venv/bin/python -m pytest ARGS`` in the project, whose ``pyproject.toml`` sets
    ``testpaths = ["tests"]`` or no pytest configuration at all."""
    table = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n' if testpaths else ""
    (project / "pyproject.toml").write_text(f'[project]\nname = "demo"\nversion = "0"\n{table}')
    junit = project / "junit.xml"
    junit.unlink(missing_ok=True)
    done = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider",
         "-q", f"--junitxml={junit}", *args],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return read_junit(done, junit)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("testpaths", "args"),
    [(False, ()), (False, (".",)), (False, ("tests/",)), (True, ())],
    ids=["pytest", "pytest .", "pytest tests/", "pytest with testpaths"],
)
def test_the_suite_runs_from_a_virtualenv_inside_the_project(
    venv_project: Path, conformant_url: str, testpaths: bool, args: tuple[str, ...]
) -> None:
    run = venv_run(
        venv_project, *args, "--lrokit-url", conformant_url, *FAST, *NO_GENERATIVE,
        testpaths=testpaths,
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert run.named("passed") == CANONICAL_TESTS | {"test_own"}, run.output


@pytest.mark.e2e
@pytest.mark.parametrize(
    "hides",
    [
        ("--ignore-glob", "/*/lrokit/conformance/test_*.py"),
        ("-o", "python_files=check_*.py test_own.py"),
    ],
    ids=["ignored", "not matched by python_files"],
)
def test_a_run_that_collects_none_of_the_suite_is_a_usage_error(
    venv_project: Path, conformant_url: str, hides: tuple[str, str]
) -> None:
    run = venv_run(venv_project, "--lrokit-url", conformant_url, *hides)
    assert run.returncode == 4, run.output  # pytest's usage error
    (line,) = (line for line in run.output.splitlines() if line.startswith("ERROR"))
    assert line.startswith("ERROR: --lrokit-url: no test of lrokit's conformance suite"), line
    assert run.outcomes == {}, run.output  # not even the project's own test ran
    assert "Traceback" not in run.output


@pytest.mark.e2e
def test_deselecting_the_suite_is_a_choice_not_a_usage_error(
    venv_project: Path, conformant_url: str
) -> None:
    run = venv_run(venv_project, "--lrokit-url", conformant_url, "-k", "test_own")
    assert run.returncode == 0, run.output
    assert run.outcomes == {"test_own": "passed"}, run.output
    assert re.search(r"\b1 passed, [1-9][0-9]* deselected\b", run.output), run.output


@pytest.mark.e2e
def test_lf_skipping_the_suites_files_is_a_choice_not_a_usage_error(tmp_path: Path) -> None:
    # Only the project's test failed last time: --lf skips every other file, the suite's too.
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_own.py").write_text("def test_own():\n    assert False\n")
    pytest_ = [sys.executable, "-m", "pytest", "--lrokit-url", "http://127.0.0.1:9"]
    for args in (["-k", "test_own"], ["--lf"]):
        done = subprocess.run(
            [*pytest_, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        assert "1 failed" in done.stdout, done.stdout
    assert "run-last-failure: rerun previous 1 failure (skipped" in done.stdout, done.stdout


@pytest.mark.e2e
def test_a_collection_error_is_reported_as_itself(tmp_path: Path) -> None:
    # The suite's files are not collected, but neither is the project's: the import error is
    # the one to read first, and it fails the run on its own.
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_own.py").write_text("import no_such_module\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--lrokit-url",
         "http://127.0.0.1:9", "--ignore-glob", "/*/lrokit/conformance/test_*.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr  # pytest's interrupted run
    assert "ModuleNotFoundError: No module named 'no_such_module'" in done.stdout, done.stdout
    assert "--lrokit-url" not in done.stderr, done.stderr
