"""Test the pytest conformance suite (``pytest conformance --target-url URL``) itself.

The suite runs in a subprocess, the way a user runs it, against real servers on 127.0.0.1:
the reference server passes every rule and the lifecycle layer; a fauxserver breaking one rule
fails exactly that rule's test; without a target everything skips with the reason. A run is
judged from its JUnit report.
The repository's pytest configuration applies to the subprocess too (filterwarnings=error,
--strict-markers, --strict-config): the suite must stand it, as a checkout's user gets it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from lrokit.checks import adapters
from lrokit.model.exchange import Exchange
from lrokit.rules import RUNTIME_RULES
from tests.conftest import TEST_ROWS
from tests.dialects._base import DialectServer
from tests.dialects.aip151 import AipServer
from tests.dialects.arm import ArmServer
from tests.fauxservers.server import FauxServer
from tests.live import LiveServer, ThreadServer
from tests.test_conformance_fauxservers import ALICE, BOB, TOKENS, canonical_rules, tenancy_rules
from tests.test_har import SCHEMA, assert_same_verdicts, replay

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "conformance"
RULE_TESTS = {f"test_rule[{rule_id}]" for rule_id in RUNTIME_RULES}
#: The rules of the canonical profile; the others are DISABLED there (skipped).
CANONICAL_TESTS = {f"test_rule[{rule_id}]" for rule_id in canonical_rules()}
#: The recorded run's rules alone, fast: a short time scale, no generative layers.
RULES_ONLY = ("--time-scale", "0.05", "--schema-examples", "0", "--lifecycle-examples", "0")


@dataclass
class SuiteRun:
    returncode: int
    output: str
    outcomes: dict[str, str]  # test name -> passed / failed / skipped / error
    skip_reasons: dict[str, str]
    seconds: float

    def named(self, outcome: str) -> set[str]:
        return {name for name, seen in self.outcomes.items() if seen == outcome}


def run_suite(workdir: Path, *args: str, timeout: float = 120) -> SuiteRun:
    """``python -m pytest <repo>/conformance ARGS`` in ``workdir``; its JUnit report read."""
    junit = workdir / "junit.xml"
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SUITE),
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={junit}",
            *args,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return read_junit(done, junit, time.monotonic() - started)


def read_junit(
    done: subprocess.CompletedProcess[str], junit: Path, seconds: float = 0.0
) -> SuiteRun:
    """A finished pytest run, judged from its JUnit report."""
    output = done.stdout + done.stderr
    outcomes: dict[str, str] = {}
    reasons: dict[str, str] = {}
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            name = case.get("name", "")
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = {"failure": "failed", "error": "error"}.get(child.tag, "skipped")
                    reasons[name] = child.get("message", "")
            if outcomes.get(name) not in ("failed", "error"):  # a subtest's failure stays
                outcomes[name] = outcome
    return SuiteRun(done.returncode, output, outcomes, reasons, seconds)


# -- the suite against servers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, dataset_path: Path) -> SuiteRun:
    """The whole suite, default layers, against a reference server whose jobs take 1 s."""
    workdir = tmp_path_factory.mktemp("suite-reference")
    with LiveServer(workdir, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        run = run_suite(workdir, "--target-url", server.url, "--time-scale", "0.2")
    print(f"suite against the reference server: {run.seconds:.1f} s")
    return run


@pytest.mark.e2e
def test_reference_server_passes_every_rule_and_the_lifecycle(reference_run: SuiteRun) -> None:
    passed = reference_run.named("passed")
    assert passed >= CANONICAL_TESTS | {"test_lifecycle"}, reference_run.output
    assert f"{len(CANONICAL_TESTS)} PASS" in reference_run.output  # the run's terminal summary


@pytest.mark.e2e
def test_reference_server_passes_the_whole_suite(reference_run: SuiteRun) -> None:
    assert reference_run.returncode == 0, reference_run.output[-6000:]
    assert reference_run.named("passed") == CANONICAL_TESTS | {"test_lifecycle", "test_schema"}


@pytest.mark.e2e
def test_a_broken_server_fails_exactly_its_rule(tmp_path: Path) -> None:
    with ThreadServer(FauxServer(breaks="RETRY-3")) as url:
        run = run_suite(
            tmp_path,
            "--target-url",
            url,
            *RULES_ONLY,
            "--max-wait",
            "10",
        )
    print(f"suite against a fauxserver breaking RETRY-3: {run.seconds:.1f} s")
    assert run.returncode == 1, run.output
    assert run.named("failed") == {"test_rule[RETRY-3]"}, run.output
    assert run.named("passed") == CANONICAL_TESTS - {"test_rule[RETRY-3]"}, run.output
    assert run.named("skipped") == {"test_lifecycle", "test_schema"} | RULE_TESTS - CANONICAL_TESTS
    assert "RETRY-3 (MUST, contract)" in run.output
    assert "received: DONE with Retry-After: 1" in run.output
    assert "expected: no Retry-After" in run.output


@pytest.mark.e2e
def test_the_suite_writes_the_recorded_run_as_check_does(tmp_path: Path) -> None:
    """--run-json, --run-har and --run-html write the recorded run with check's own writers:
    the JSON report valid, its violation citing the HAR's entry, the HAR replaying to the same
    verdicts and exit status, the page holding the verdict table."""
    report, har, page = tmp_path / "run.json", tmp_path / "run.har", tmp_path / "run.html"
    with ThreadServer(FauxServer(breaks="RETRY-3")) as url:
        run = run_suite(
            tmp_path,
            "--target-url",
            url,
            *RULES_ONLY,
            "--max-wait",
            "10",
            f"--run-json={report}",
            f"--run-har={har}",
            f"--run-html={page}",
        )
    assert run.returncode == 1, run.output
    assert run.named("failed") == {"test_rule[RETRY-3]"}, run.output
    assert f"HAR written to {har}" in run.output
    live = json.loads(report.read_text())
    jsonschema.validate(live, SCHEMA)
    assert live["exitCode"] == 1
    (retry,) = [rule for rule in live["rules"] if rule["id"] == "RETRY-3"]
    assert retry["outcome"] == "FAIL"
    assert all("harEntry" in violation for violation in retry["violations"])
    code, replayed = replay(har, tmp_path)
    assert code == 1
    assert_same_verdicts(live, replayed)
    text = page.read_text()
    assert '<tr class="verdict" data-outcome="FAIL" data-family="RETRY">' in text
    assert text.count('<tr class="verdict"') == len(RUNTIME_RULES)


@pytest.mark.e2e
def test_given_another_principal_the_suite_judges_tenancy(tmp_path: Path) -> None:
    """--other-header reaches the suite's recorded run: a server whose jobs anyone may cancel
    fails that rule's test alone, and every other TENANCY rule's test passes."""
    tenancy = {f"test_rule[{rule_id}]" for rule_id in tenancy_rules()}
    with ThreadServer(FauxServer(breaks="TENANCY-3", tokens=TOKENS)) as url:
        run = run_suite(
            tmp_path,
            "--target-url",
            url,
            f"--header=Authorization: {ALICE['Authorization']}",
            f"--other-header=Authorization: {BOB['Authorization']}",
            *RULES_ONLY,
        )
    assert run.returncode == 1, run.output
    assert run.named("failed") == {"test_rule[TENANCY-3]"}, run.output
    assert run.named("passed") == CANONICAL_TESTS | tenancy - {"test_rule[TENANCY-3]"}
    assert "accepted" in run.output


@pytest.mark.e2e
def test_the_lifecycle_layer_finds_a_broken_invariant(tmp_path: Path) -> None:
    # RETRY-3 left out of the recorded run: only the state machine can fail on it.
    with ThreadServer(FauxServer(breaks="RETRY-3")) as url:
        run = run_suite(
            tmp_path,
            "--target-url",
            url,
            "--time-scale",
            "0.05",
            "--max-wait",
            "20",
            "--skip",
            "RETRY-3",
            "--schema-examples",
            "0",
            "--hypothesis-seed",
            "1",
        )
    assert run.returncode == 1, run.output
    assert run.named("failed") == {"test_lifecycle"}, run.output
    assert "RETRY-3: a terminal monitor read carries Retry-After: 1" in run.output
    assert "state = Lifecycle()" in run.output  # the steps that replay it
    assert "state.poll(monitor=monitors_0)" in run.output


@pytest.mark.e2e
def test_without_a_target_everything_skips(tmp_path: Path) -> None:
    run = run_suite(tmp_path, "-rs")
    assert run.returncode == 0, run.output
    assert run.named("skipped") == RULE_TESTS | {"test_lifecycle", "test_schema"}, run.output
    assert all("pass --target-url" in reason for reason in run.skip_reasons.values())


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--time-scale", "2"], "--time-scale: '2' is not within [0, 1]"),
        (["--only", "NOPE-1"], "--only: 'NOPE-1' is neither a rule id nor a family"),
        (["--run-json", "-"], "--run-json (--lrokit-json): give a file name"),
    ],
    ids=["time-scale", "only", "run-json"],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    run = run_suite(tmp_path, "--target-url", "http://127.0.0.1:9", *args)
    assert run.returncode == 4, run.output  # pytest's usage error
    assert f"ERROR: {message}" in run.output


@pytest.mark.e2e
def test_adapters_register_only_when_imported() -> None:
    code = (
        "from schemathesis.checks import CHECKS\n"
        "import lrokit.checks, lrokit.runner.run, lrokit.checks.adapters as a\n"
        "lrokit.checks.load_all()\n"
        "names = set(CHECKS.get_all_names())\n"
        "print(sorted(n for n in names if n.startswith('lrokit_')))\n"
    )
    before = "from schemathesis.checks import CHECKS\nimport lrokit.checks, lrokit.runner.run\n"
    before += "lrokit.checks.load_all()\n"
    before += "print([n for n in CHECKS.get_all_names() if n.startswith('lrokit_')])\n"
    without = subprocess.run(
        [sys.executable, "-c", before], capture_output=True, text=True, timeout=60, check=True
    )
    assert without.stdout.strip() == "[]"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    expected = sorted(check.__name__ for check in adapters.CHECKS.values())
    assert loaded.stdout.strip() == str(expected)


# -- the adapters, in process -----------------------------------------------------------------

DATE = ("date", "Thu, 26 Nov 2026 17:00:00 GMT")
PROBLEM = ("content-type", "application/problem+json")


def exchange(status: int, *headers: tuple[str, str], body: bytes = b"") -> Exchange:
    return Exchange(
        label="schemathesis",
        method="GET",
        url="http://127.0.0.1/reports/x",
        request_headers=(),
        status=status,
        headers=headers,
        body=body,
    )


GOOD_PROBLEM = b'{"type": "/problems/x", "title": "X", "status": 404, "instance": "/reports/x"}'


@pytest.mark.parametrize(
    ("rule_id", "broken"),
    [
        ("PROBLEM-1", exchange(404, DATE, ("content-type", "application/json"), body=b"{}")),
        (
            "PROBLEM-2",
            exchange(404, DATE, PROBLEM, body='{"instance": "/reports/\u2603"}'.encode()),
        ),
        ("PROBLEM-3", exchange(404, DATE, PROBLEM, body=b'{"status": 400}')),
        (
            "PROBLEM-9",
            exchange(500, PROBLEM, body=b'{"detail": "Traceback (most recent call last):"}'),
        ),
        ("RETRY-1", exchange(200, DATE, ("retry-after", "1.5"))),
        ("RETRY-1", exchange(200, DATE, ("retry-after", "1"), ("retry-after", "2"))),
        ("HTTP-5", exchange(200)),
    ],
)
def test_adapters_judge_one_exchange_as_the_run_does(rule_id: str, broken: Exchange) -> None:
    violations = adapters.judge(rule_id, broken)
    assert violations, rule_id
    assert set(adapters.judge_all(broken)) == {rule_id}
    good = exchange(404, DATE, PROBLEM, ("retry-after", "1"), body=GOOD_PROBLEM)
    assert adapters.judge_all(good) == {}
    assert adapters.judge("PROBLEM-1", exchange(200, DATE)) is None  # nothing to judge


class Should(UserWarning):
    pass


def test_a_should_rule_warns_unless_strict() -> None:
    body = b'{"status": 500, "detail": "Traceback (most recent call last):"}'
    leaky = st_response(500, {"content-type": ["application/problem+json"]}, body)
    names = list(adapters.CHECKS)
    lenient = dict(zip(names, adapters.checks_for(strict=False, warning=Should), strict=True))
    strict = dict(zip(names, adapters.checks_for(strict=True), strict=True))
    with pytest.warns(Should, match=r"^PROBLEM-9 \(SHOULD, rfc\): "):
        assert lenient["PROBLEM-9"](None, leaky, None) is None
    with pytest.raises(AssertionError, match=r"^PROBLEM-9 \(SHOULD, rfc\): "):
        strict["PROBLEM-9"](None, leaky, None)
    assert lenient["PROBLEM-1"] is adapters.CHECKS["PROBLEM-1"]  # a MUST always fails
    assert lenient["PROBLEM-9"].__name__ == "lrokit_problem_9"


def st_response(status: int, headers: dict[str, list[str]], body: bytes) -> object:
    import requests
    import schemathesis

    request = requests.Request("GET", "http://127.0.0.1/reports/x").prepare()
    return schemathesis.Response(status, headers, body, request, elapsed=0.01, verify=True)


def test_adapters_are_schemathesis_checks() -> None:
    broken = st_response(404, {"content-type": ["text/html"]}, b"<p>")
    good = st_response(200, {"date": [DATE[1]]}, b"{}")
    with pytest.raises(AssertionError, match=r"^PROBLEM-1 \(MUST, \w+\): .*\n  received: text"):
        adapters.CHECKS["PROBLEM-1"](None, broken, None)
    assert adapters.CHECKS["PROBLEM-1"](None, good, None) is None
    assert adapters.CHECKS["HTTP-5"](None, good, None) is True
    with pytest.raises(AssertionError, match=r"^HTTP-5 \(MUST, rfc\): "):
        adapters.CHECKS["HTTP-5"](None, broken, None)
    assert adapters.to_exchange(broken).describe() == "GET http://127.0.0.1/reports/x -> 404"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("profile", "server"), [("arm", ArmServer), ("aip151", AipServer)], ids=["arm", "aip151"]
)
def test_the_suite_speaks_other_dialects(
    tmp_path: Path, profile: str, server: type[DialectServer]
) -> None:
    """The rules and the lifecycle state machine follow a dialect's own shape: a monitor read
    by its HTTP status (ARM), a monitor named in the body and cancelled at {monitor}:cancel
    (AIP-151)."""
    with ThreadServer(server()) as url:
        run = run_suite(
            tmp_path,
            "--target-url",
            url,
            "--profile",
            profile,
            "--time-scale",
            "0.01",
            "--max-wait",
            "20",
        )
    assert run.returncode == 0, run.output
    assert "test_lifecycle" in run.named("passed"), run.output
