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
fail instead of warning. From an installed wheel::

    pytest "$(python -c 'import lrokit.conformance as c; print(c.__path__[0])')" --target-url URL
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lrokit.model.contract import Contract, ContractError, load_contract
from lrokit.model.profile import Profile, ProfileError, load_profile
from lrokit.pytest_plugin import add_suite_options
from lrokit.rules import FAMILIES, RULES, Level
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome

HERE = Path(__file__).resolve().parent
NO_TARGET = (
    "pass --target-url (the URL of the server under test) to run the lrokit conformance suite"
)
#: The layers, in the order they run: the recorded run first, on a target no other test loaded.
LAYERS = ("test_rules.py", "test_lifecycle.py", "test_schema.py")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name


@dataclass(frozen=True)
class Options:
    """The suite's command-line options, validated."""

    target_url: str | None
    profile: Profile
    spec: str | None  # path or URL of the contract; None when the profile names none
    contract: Contract | None = None  # read when there is a target
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    max_wait: float = 60.0
    time_scale: float = 1.0
    strict: bool = False
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    schema_examples: int = 20
    lifecycle_examples: int = 5

    def target_config(self) -> TargetConfig:
        assert self.target_url is not None
        return TargetConfig(
            self.target_url,
            headers=dict(self.headers),
            query=dict(self.query),
            max_wait=self.max_wait,
            time_scale=self.time_scale,
        )


OPTIONS = pytest.StashKey[Options]()
REPORT = pytest.StashKey[Report]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # The same options the lrokit pytest plugin offers as --lrokit-*, under short names here.
    add_suite_options(
        parser,
        "",
        "--target-url",
        "base URL of the server under test (required; without it every test skips)",
    )


# -- options -------------------------------------------------------------------------------


def _get(config: pytest.Config, name: str) -> Any:
    return config.getoption("lrokit_" + name.replace("-", "_"), None)


def _number(config: pytest.Config, name: str, low: float, high: float, *, open_low: bool) -> float:
    raw = _get(config, name)
    try:
        value = float(raw)
    except ValueError:
        raise pytest.UsageError(f"--{name}: {raw!r} is not a number") from None
    if not (low < value if open_low else low <= value) or not value <= high:
        bounds = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        raise pytest.UsageError(f"--{name}: {raw!r} is not within {bounds}")
    return value


def _count(config: pytest.Config, name: str) -> int:
    raw = _get(config, name)
    try:
        value = int(raw)
    except ValueError:
        raise pytest.UsageError(f"--{name}: {raw!r} is not a whole number") from None
    if value < 0:
        raise pytest.UsageError(f"--{name}: {raw!r} must be >= 0")
    return value


def _headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not _TOKEN.fullmatch(name.strip()):
            raise pytest.UsageError(f"--header: {value!r} is not 'Name: value'")
        if "\r" in content or "\n" in content:
            raise pytest.UsageError(f"--header: {name.strip()} has a line break in its value")
        headers[name.strip()] = content.strip()
    return headers


def _query(values: list[str]) -> dict[str, str]:
    query: dict[str, str] = {}
    for value in values:
        key, equals, content = value.partition("=")
        if not equals or not key:
            raise pytest.UsageError(f"--query: {value!r} is not 'key=value'")
        query[key] = content
    return query


def _selection(name: str, values: list[str]) -> tuple[str, ...]:
    chosen = tuple(
        part.strip().upper() for value in values for part in value.split(",") if part.strip()
    )
    unknown = [value for value in chosen if value not in RULES and value not in FAMILIES]
    if unknown:
        raise pytest.UsageError(
            f"--{name}: {', '.join(map(repr, unknown))} is neither a rule id nor a family "
            f"(families: {', '.join(FAMILIES)})"
        )
    return chosen


def _target_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(f"--target-url: {raw!r} is not an http(s) URL with a host")
    if parts.fragment:
        raise pytest.UsageError(f"--target-url: {raw!r} has a fragment")
    return raw


def parse_options(config: pytest.Config) -> Options:
    """Every option of the suite, validated; a bad one raises :class:`pytest.UsageError`.
    The contract is read only when there is a target to test."""
    source = _get(config, "profile")
    try:
        profile = load_profile(source)
    except ProfileError as exc:
        raise pytest.UsageError(f"--profile: {exc}") from None
    target_url = _target_url(_get(config, "target-url"))
    # The profile's contract as `lrokit check` finds it (canonical: the packaged openapi.yaml,
    # what lrokit.server.http.app.contract_path() returns).
    spec = _get(config, "spec") or profile.spec_source
    contract = None
    if target_url is not None and spec is not None:
        try:
            contract = load_contract(spec)
        except ContractError as exc:
            raise pytest.UsageError(f"--spec: {exc}") from None
    return Options(
        target_url=target_url,
        profile=profile,
        spec=spec,
        contract=contract,
        headers=_headers(_get(config, "header")),
        query=_query(_get(config, "query")),
        # The ranges of `lrokit check`: a positive budget; a scale that never waits longer
        # than the server asked (0 does not wait at all).
        max_wait=_number(config, "max-wait", 0, 86400, open_low=True),
        time_scale=_number(config, "time-scale", 0, 1, open_low=False),
        # pytest owns --strict (its strict mode); given on the command line, it makes a SHOULD
        # the target does not meet fail as well.
        strict=bool(config.getoption("strict", False)),
        only=_selection("only", _get(config, "only")),
        skip=_selection("skip", _get(config, "skip")),
        schema_examples=_count(config, "schema-examples"),
        lifecycle_examples=_count(config, "lifecycle-examples"),
    )


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
    if _get(config, "profile") is not None:  # None: this conftest was found too late to add options
        config.stash[OPTIONS] = parse_options(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    options = config.stash.get(OPTIONS, None)
    if options is None or options.target_url is None:
        return None
    return (
        f"lrokit conformance: target {options.target_url}, profile {options.profile.name}, "
        f"contract {options.spec or '(none)'}"
    )


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report = terminalreporter.config.stash.get(REPORT, None)
    if report is None:
        return
    counts: dict[Outcome, int] = {}
    for verdict in report.verdicts:
        counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
    tally = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    write = terminalreporter.write_line
    terminalreporter.section("lrokit conformance run")
    write(f"target {report.target}, profile {report.profile}: {tally}")
    write(f"{report.requests} requests in {report.seconds:.1f} s")
    for note in report.notes:
        write(f"note: {note}")


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lrokit_options(pytestconfig: pytest.Config) -> Options:
    """The suite's validated options (skips when there is no target)."""
    options = pytestconfig.stash.get(OPTIONS, None)
    if options is None or options.target_url is None:
        pytest.skip(NO_TARGET)
    return options


@pytest.fixture(scope="session")
def lrokit_report(pytestconfig: pytest.Config, lrokit_options: Options) -> Report:
    """ONE conformance run against the target, shared by every rule test."""
    report = asyncio.run(
        run(
            lrokit_options.target_config(),
            lrokit_options.profile,
            contract=lrokit_options.contract,
            only=lrokit_options.only,
            skip=lrokit_options.skip,
            strict=lrokit_options.strict,
        )
    )
    pytestconfig.stash[REPORT] = report
    return report
