"""The lrokit conformance suite for pytest: ``pytest conformance --target-url URL``.

Three layers, each a test module of this directory:

* ``test_rules.py``: one test per rule of lrokit's registry, judged from ONE recorded
  conformance run (the same run as ``lrokit.runner.run.run``), made once per session;
* ``test_lifecycle.py``: a Hypothesis state machine driving submit / poll / cancel / result
  against the target, checking the lifecycle invariants of the profile;
* ``test_schema.py``: schemathesis generating requests from the contract, every response
  judged by schemathesis's checks and lrokit's per-response rules.

Without ``--target-url`` every test of the suite is skipped. Options are validated before
collection; a bad value stops pytest with a one-line usage error. The recorded run goes first,
so the jobs the other layers create do not slow it down. ``--strict`` is pytest's own flag
(its strict mode); given on the command line, it also makes a SHOULD the target does not meet
fail instead of warning. ``--run-json``, ``--run-har`` and ``--run-html FILE`` write the recorded
run as ``lrokit check`` writes it with ``--json``, ``--har`` and ``--html``, right after it is
made (its JUnit is pytest's own ``--junitxml``). From an installed wheel::

    pytest "$(python -c 'import lrokit.conformance as c; print(c.__path__[0])')" --target-url URL
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lrokit.extras import MissingExtra, require
from lrokit.rules import FAMILIES, Level
from lrokit.runner.options import (
    RUN_FILES,
    SUITE_OPTIONS,
    OptionError,
    SuiteOptions,
    parse,
    parse_target_url,
    register_options,
)
from lrokit.runner.run import Report, run_as
from lrokit.runner.setup import SetupFailed
from lrokit.runner.verdicts import Outcome

HERE = Path(__file__).resolve().parent
NO_TARGET = (
    "pass --target-url (the URL of the server under test) to run the lrokit conformance suite"
)
#: The layers, in the order they run: the recorded run first, on a target no other test loaded.
LAYERS = ("test_rules.py", "test_lifecycle.py", "test_schema.py")
_UNSET = object()

OPTIONS = pytest.StashKey[SuiteOptions]()
REPORTS = pytest.StashKey[dict[str, Report]]()
#: The files the recorded run is written to (--run-json …), by RUN_FILES name.
FILES = pytest.StashKey[dict[str, str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # The options the lrokit pytest plugin offers as --lrokit-*, under short names here.
    group = parser.getgroup("lrokit", "lrokit conformance suite")
    register_options(
        group.addoption,
        "",
        "--target-url",
        "base URL of the server under test (required; without it every test skips)",
    )


def parse_options(config: pytest.Config) -> SuiteOptions:
    """Every option of the suite, validated as ``lrokit check`` validates it; a bad one raises
    :class:`pytest.UsageError`. The contract is read only when there is a target to test."""
    raw = {option.name: config.getoption(option.dest, None) for option in SUITE_OPTIONS}
    url = config.getoption("lrokit_target_url", None)
    try:
        if url is not None or raw.get("check-file") is not None:
            require("deep", "the lrokit conformance suite")
        return parse(
            raw,
            target_url=None if url is None else parse_target_url(url, "--target-url"),
            # pytest owns --strict (its strict mode); given on the command line, it makes a
            # SHOULD the target does not meet fail as well.
            strict=bool(config.getoption("strict", False)),
        )
    except (OptionError, MissingExtra) as exc:
        raise pytest.UsageError(str(exc)) from None


def run_files(config: pytest.Config) -> dict[str, str]:
    """The files given to write the recorded run to, by :data:`RUN_FILES` name; standard
    output (``-``) is a usage error: pytest's own output holds it."""
    files = {}
    for name in RUN_FILES:
        value = config.getoption(f"lrokit_run_{name}", None)
        if value is None:
            continue
        if value in ("", "-"):
            raise pytest.UsageError(
                f"--run-{name} (--lrokit-{name}): give a file name; pytest's output holds "
                "standard output"
            )
        files[name] = value
    return files


def pytest_configure(config: pytest.Config) -> None:
    markers = {
        "rules": "lrokit: one test per conformance rule, judged from the recorded run",
        "stateful": "lrokit: the lifecycle state machine",
        "schema": "lrokit: schemathesis over the contract",
        **{
            f.lower(): f"lrokit: rules of the {title} family ({f}-*)"
            for f, title in FAMILIES.items()
        },
        **{level.lower(): f"lrokit: {level} rules" for level in Level},
    }
    for name, text in markers.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    # A SHOULD the target does not meet passes with a ShouldWarning: keep it a warning even
    # where the project turns warnings into errors (--strict is the way to fail on it; an
    # explicit -W still wins over this line).
    config.addinivalue_line(
        "filterwarnings", r"always:[A-Z]+-[0-9]+ \(SHOULD\b:pytest.PytestWarning"
    )
    # Unset: this conftest was found too late to add its options, and no plugin added them.
    if config.getoption("lrokit_target_url", _UNSET) is not _UNSET:
        config.stash[OPTIONS] = parse_options(config)
        config.stash[FILES] = run_files(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    options = config.stash.get(OPTIONS, None)
    if options is None or options.target_url is None:
        return None
    header = (
        f"lrokit conformance: target {options.target_url}, profile {options.profile.name}, "
        f"contract {options.spec or '(none)'}"
    )
    if len(options.checked) > 1:  # the rules and the lifecycle run per operation
        names = ", ".join(operation.name for operation in options.checked)
        header += f"\nlrokit operations: {names}"
    return header


def _ours(item: pytest.Item) -> bool:
    return item.path.resolve().parent == HERE and item.path.name in LAYERS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    options = config.stash.get(OPTIONS, None)
    if options is None or options.target_url is None:
        for item in items:
            if _ours(item):
                item.add_marker(pytest.mark.skip(reason=NO_TARGET))

    # The recorded run first, on a target no other layer has loaded yet; the suite's items
    # are reordered among their own places only, other tests keep theirs.
    places = [i for i, item in enumerate(items) if _ours(item)]
    ours = sorted((items[i] for i in places), key=lambda item: LAYERS.index(item.path.name))
    for place, item in zip(places, ours, strict=True):
        items[place] = item


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A check file's operations each get their rule tests (``test_rule[export-ACCEPT-1]``)
    and their lifecycle (``test_lifecycle[export]``)."""
    options = metafunc.config.stash.get(OPTIONS, None)
    if "lrokit_operation" in metafunc.fixturenames and options is not None and options.operations:
        names = [operation.name for operation in options.operations]
        metafunc.parametrize("lrokit_operation", names, ids=names, indirect=True, scope="session")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reports = terminalreporter.config.stash.get(REPORTS, None)
    files = terminalreporter.config.stash.get(FILES, {})
    write = terminalreporter.write_line
    if not reports:
        if files:  # no rule test ran: the recorded run was never made
            terminalreporter.section("lrokit conformance run")
            unwritten = ", ".join(files.values())
            write(f"not written (no rule test ran, so no run was recorded): {unwritten}")
        return
    terminalreporter.section("lrokit conformance run")
    for report in reports.values():
        counts: dict[Outcome, int] = {}
        for verdict in report.verdicts:
            counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
        tally = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        what = f"operation {report.operation}, " if report.operation else ""
        write(f"target {report.target}, {what}profile {report.profile}: {tally}")
        write(f"{report.requests} requests in {report.seconds:.1f} s")
        for note in report.notes:
            write(f"note: {note}")
    for name, path in files.items():
        write(f"{name.upper()} written to {path}")


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lrokit_options(pytestconfig: pytest.Config) -> SuiteOptions:
    """The suite's validated options (skips when there is no target)."""
    options = pytestconfig.stash.get(OPTIONS, None)
    if options is None or options.target_url is None:
        pytest.skip(NO_TARGET)
    return options


@pytest.fixture(scope="session")
def lrokit_reports(pytestconfig: pytest.Config, lrokit_options: SuiteOptions) -> dict[str, Report]:
    """ONE conformance run against the target (one per operation of a check file, after its
    setup requests), shared by every rule test, and written to the files given (--run-json …)
    as ``lrokit check`` writes them; a refused setup request or a file that cannot be written
    stops pytest."""
    try:
        reports = asyncio.run(run_as(lrokit_options))
    except SetupFailed as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    files = pytestconfig.stash.get(FILES, {})
    if files:
        import click

        from lrokit.commandline import Output
        from lrokit.runner.command import write_run

        outputs = {name: Output(path) for name, path in files.items()}
        try:
            write_run(reports, lrokit_options, **outputs)
        except click.UsageError as exc:
            pytest.exit(exc.format_message(), returncode=pytest.ExitCode.USAGE_ERROR)
    pytestconfig.stash[REPORTS] = {report.operation or "": report for report in reports}
    return pytestconfig.stash[REPORTS]


@pytest.fixture(scope="session")
def lrokit_operation(request: pytest.FixtureRequest) -> str:
    """The check file's operation a test is of ("" for a run of one profile)."""
    return str(getattr(request, "param", ""))


@pytest.fixture(scope="session")
def lrokit_report(lrokit_reports: dict[str, Report], lrokit_operation: str) -> Report:
    """The run of the operation a test is of."""
    return lrokit_reports[lrokit_operation]
