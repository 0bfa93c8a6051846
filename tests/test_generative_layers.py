"""The conformance suite's generative layers can fail: every step check and invariant of the
lifecycle state machine (conformance/test_lifecycle.py), and the schema layer
(conformance/test_schema.py), fail against a server that breaks what they check, and say what
was broken; ``lrokit check --deep`` then exits 1.

As in tests/test_conformance_suite.py, the suite runs in a subprocess against a server on
127.0.0.1, one run per broken server, with only the layer under test. Each lifecycle server
breaks its check on every job (tests/fauxservers/layers.py), so that the state machine meets
the breach within a few runs whatever steps Hypothesis draws: each case below failed within
``EXAMPLES`` runs for every seed of 0…19 tried. The seed is fixed all the same, so that a run
replays exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from email.utils import formatdate
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lrokit.cli import main
from lrokit.server.http.app import create_app
from lrokit.server.settings import Settings
from tests.fauxservers.layers import (
    CancelFails,
    Contradicts,
    FractionProgress,
    NamelessOperation,
    NoResultLink,
    OneJob,
    Quick,
    RefusesCancel,
    Resurrects,
)
from tests.fauxservers.server import FauxServer
from tests.hostile.servers import Garbage, Hang
from tests.live import ThreadServer
from tests.test_conformance_suite import SUITE, SuiteRun, run_suite

pytestmark = pytest.mark.e2e

#: Runs of the state machine per server (``--lifecycle-examples``).
EXAMPLES = "6"
#: Examples per operation of the schema layer (``--schema-examples``).
SCHEMA_EXAMPLES = "3"
#: A URL the target serves, in a failure message.
URL = r"http://127\.0\.0\.1:\d+/\S+"


@dataclasses.dataclass(frozen=True)
class Breach:
    server: Callable[[], object]
    message: str  # a pattern of the failure's message: the rule id and what was broken
    args: tuple[str, ...] = ()


#: Every step check and invariant of the lifecycle state machine, in the order of the module,
#: and a server that breaks it. RETRY-3, the invariant "no Retry-After on a terminal read", is
#: tests/test_conformance_suite.py::test_the_lifecycle_layer_finds_a_broken_invariant.
LIFECYCLE = {
    # -- step checks -----------------------------------------------------------------------
    "response": Breach(Hang, rf"no response: GET {URL} -> no response", ("--request-timeout", "1")),
    "MONITOR-3": Breach(
        partial(FauxServer, "MONITOR-3"), r"MONITOR-3: state 'RUNNING' is not one of PENDING, "
    ),
    "ACCEPT-1": Breach(
        partial(FauxServer, "ACCEPT-1"),
        r"ACCEPT-1: a valid submission was answered 201, expected 202",
    ),
    "LOCATION-1": Breach(
        partial(FauxServer, "LOCATION-1"), r"LOCATION-1/2: 0 Location field lines, expected one"
    ),
    "monitor": Breach(NamelessOperation, r"no monitor in the answer", ("--profile", "aip151")),
    "LOCATION-5": Breach(OneJob, rf"LOCATION-5: a second submission got monitor {URL}"),
    "MONITOR-1": Breach(
        partial(FauxServer, "MONITOR-1"),
        r"MONITOR-1: a monitor read of a job that exists was answered 503",
    ),
    "MONITOR-2": Breach(Garbage, r"MONITOR-2: no state in 'status'"),
    "RESULT-1-link": Breach(NoResultLink, r"RESULT-1: the job is DONE but links no result"),
    "RESULT-1-body": Breach(
        partial(Quick, "RESULT-1"),
        r"RESULT-1: the result of a DONE job was answered 200 with 0 bytes",
    ),
    "cancel": Breach(CancelFails, r"a cancel was answered 500"),
    "PROBLEM-4": Breach(
        partial(FauxServer, "PROBLEM-4"),
        r"PROBLEM-4: a monitor of an unknown job was answered 400, expected 404",
    ),
    # -- invariants ------------------------------------------------------------------------
    "LIFECYCLE-2": Breach(Resurrects, rf"LIFECYCLE-2: {URL} left its terminal state DONE"),
    "LIFECYCLE-2-finish": Breach(
        partial(FauxServer, "LIFECYCLE-2"),
        rf"LIFECYCLE-2: {URL}'s finishedAt changed after its terminal state [A-Z]+: "
        r"'2026-01-01T00:00:0\dZ' -> '2026-01-01T00:00:0\dZ'",
    ),
    "LIFECYCLE-1": Breach(
        partial(FauxServer, "LIFECYCLE-1"),
        rf"LIFECYCLE-1: {URL} moved PROCESSING -> PENDING, which the profile does not allow",
    ),
    "LIFECYCLE-3-range": Breach(
        FractionProgress, r"LIFECYCLE-3: progress 0\.0 is not an integer within 0\.\.100"
    ),
    "LIFECYCLE-3": Breach(
        partial(FauxServer, "LIFECYCLE-3"), rf"LIFECYCLE-3: {URL}'s progress decreased"
    ),
    "CANCEL-1-refused": Breach(
        RefusesCancel,
        rf"CANCEL-1: a cancel of {URL} was refused, yet the job was not terminal afterwards",
    ),
    "CANCEL-1-ignored": Breach(
        partial(FauxServer, "CANCEL-1"),
        rf"CANCEL-1: a cancel of {URL} was accepted while it was running, yet it ended DONE",
    ),
}


def suite(url: str, workdir: Path, layer: str, *args: str) -> SuiteRun:
    """The suite against ``url`` with one layer, ``test_lifecycle`` or ``test_schema``; the
    lifecycle layer without the schema layer's module and plugin (a second less to start)."""
    if layer == "test_lifecycle":
        sizes = ["--lifecycle-examples", EXAMPLES, "--schema-examples", "0"]
        sizes += ["-p", "no:schemathesis", "--ignore", str(SUITE / "test_schema.py")]
    else:
        sizes = ["--schema-examples", SCHEMA_EXAMPLES, "--lifecycle-examples", "0"]
    return run_suite(
        workdir,
        "--target-url",
        url,
        "-k",
        layer,
        *sizes,
        "--time-scale",
        "0.05",
        "--max-wait",
        "20",
        "--hypothesis-seed",
        "0",
        *args,
    )


@pytest.mark.parametrize("breach", LIFECYCLE.values(), ids=LIFECYCLE.keys())
def test_the_lifecycle_layer_fails_on_each_breach(tmp_path: Path, breach: Breach) -> None:
    with ThreadServer(breach.server()) as url:
        run = suite(url, tmp_path, "test_lifecycle", *breach.args)
    assert run.returncode == 1, run.output
    assert run.outcomes == {"test_lifecycle": "failed"}, run.output
    assert re.search(breach.message, run.skip_reasons["test_lifecycle"]), run.output
    assert "state = Lifecycle()" in run.output  # the steps that replay it


# -- the schema layer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("breaks", "failures", "messages"),
    [
        # schemathesis's own check, against the contract; lrokit's rules hold
        (
            "schema",
            {"ST108 Response violates schema"},
            (
                '"0" is not of type "integer"',
                "/components/schemas/ReportStatus/properties/progress",
            ),
        ),
        # lrokit's per-response rule, registered as a schemathesis check; the contract holds
        (
            "PROBLEM-3",
            {"ST901 Custom check failed: `lrokit_problem_3`"},
            (
                "PROBLEM-3 (MUST, rfc): A problem's status member MUST equal the response's",
                "received: status member 400",
                "expected: 404",
            ),
        ),
    ],
    ids=["contract", "PROBLEM-3"],
)
def test_the_schema_layer_fails_on_an_answer_it_reaches(
    tmp_path: Path, settings: Settings, breaks: str, failures: set[str], messages: tuple[str, ...]
) -> None:
    """The reference server, which passes the schema layer (test_conformance_suite.py's
    ``test_reference_server_passes_the_whole_suite``), with one kind of answer that the layer
    reaches broken; the checks that fail are that answer's alone. (The conformant FauxServer
    does not speak the whole contract: it fails the schema layer on every operation.)"""
    with ThreadServer(Contradicts(create_app(settings), breaks), lifespan=True) as url:
        run = suite(url, tmp_path, "test_schema")
    assert run.returncode == 1, run.output
    assert run.outcomes == {"test_schema": "failed"}, run.output
    assert set(re.findall(r"^ *\| - (ST\d+ .*)$", run.output, re.MULTILINE)) == failures
    for message in messages:
        assert message in run.output, run.output


# -- lrokit check --deep -------------------------------------------------------------------


def test_deep_fails_when_only_a_generative_layer_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RETRY-3 left out of the rules, every rule passes; the state machine reads a terminal
    state with Retry-After: ``check --deep`` exits 1. No seed can be given to ``check``; none
    is needed: Hypothesis's first run of the machine, its simplest (submit, cancel, probe an
    unknown id, then poll), reads the cancelled job with Retry-After whatever the seed."""
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    with ThreadServer(FauxServer(breaks="RETRY-3")) as url:
        code = main(
            [
                "check",
                url,
                "--skip",
                "RETRY-3",
                "--time-scale",
                "0.05",
                "--max-wait",
                "20",
                "--json",
                str(report),
                "--junit",
                str(junit),
                "--deep",
                "--schema-examples",
                "0",
                "--lifecycle-examples",
                EXAMPLES,
            ]
        )
    output = capsys.readouterr().out
    assert code == 1, output
    rules = json.loads(report.read_text())  # the rules' report: written before the layers ran
    assert (rules["outcome"], rules["exitCode"]) == ("PASS", 0), output
    layers = ET.parse(tmp_path / "junit-layers.xml").getroot()
    outcomes = {
        case.get("name"): next(
            (child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed"
        )
        for case in layers.iter("testcase")
    }
    assert outcomes == {"test_lifecycle": "failure", "test_schema": "skipped"}, output
    assert "RETRY-3: a terminal monitor read carries Retry-After: 1" in output


# -- never calling the internet ------------------------------------------------------------

CALLBACK_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "jobs with callbacks", "version": "1"},
    "paths": {
        "/jobs": {
            "post": {
                "operationId": "submit",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["replyTo", "callbackUrl"],
                                "properties": {
                                    "replyTo": {"type": "string", "format": "uri"},
                                    "callbackUrl": {"type": "string", "format": "uri"},
                                    "subscriber": {
                                        "type": "object",
                                        "properties": {
                                            "successUri": {"type": "string", "format": "uri"}
                                        },
                                    },
                                    "name": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "callbacks": {
                    "done": {"{$request.body#/replyTo}": {"post": {"responses": {"200": {}}}}}
                },
                "responses": {
                    "202": {"description": "accepted"},
                    "400": {
                        "description": "refused",
                        "content": {"application/problem+json": {"schema": {"type": "object"}}},
                    },
                },
            }
        }
    },
}


def _absolute_uri(value: object) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and bool(parts.scheme and parts.netloc)


class CallbackRecorder:
    """A job API that records each body it is sent (and calls nobody back); it refuses what
    CALLBACK_SPEC does not allow, so that the schema layer goes on past negative cases."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body: object = None
        with contextlib.suppress(ValueError):
            body = json.loads(await Request(scope, receive).body())
        if isinstance(body, dict):
            self.bodies.append(body)
        subscriber = body.get("subscriber", {}) if isinstance(body, dict) else None
        valid = (
            isinstance(body, dict)
            and _absolute_uri(body.get("replyTo"))
            and _absolute_uri(body.get("callbackUrl"))
            and isinstance(body.get("name", ""), str)
            and isinstance(subscriber, dict)
            and all(_absolute_uri(v) for k, v in subscriber.items() if k == "successUri")
        )
        dated = {"Date": formatdate(usegmt=True)}
        if scope["method"] == "POST" and scope["path"] == "/jobs" and valid:
            await Response(status_code=202, headers=dated)(scope, receive, send)
            return
        status, fields = (
            (400, dated) if scope["method"] == "POST" else (405, {**dated, "Allow": "POST"})
        )
        problem = json.dumps({"type": "about:blank", "title": "Refused", "status": status})
        refusal = Response(problem, status, fields, media_type="application/problem+json")
        await refusal(scope, receive, send)


def test_the_schema_layer_never_sends_a_callback_url_with_a_real_host(tmp_path: Path) -> None:
    """RFC 6761 §6.4: a callback member of a generated request names a host under .invalid,
    whether the contract's callbacks name it (replyTo) or its name says so."""
    spec = tmp_path / "callbacks.json"
    spec.write_text(json.dumps(CALLBACK_SPEC))
    recorder = CallbackRecorder()
    with ThreadServer(recorder) as url:
        suite(url, tmp_path, "test_schema", "--spec", str(spec), "--profile", "canonical")
    objects = [body for body in recorder.bodies if isinstance(body, dict)]
    assert objects, recorder.bodies
    sent = [
        value
        for body in objects
        for value in (
            body.get("replyTo"),
            body.get("callbackUrl"),
            *(body["subscriber"].values() if isinstance(body.get("subscriber"), dict) else ()),
        )
        if isinstance(value, str)
    ]
    assert sent, objects
    assert all(value.startswith("http://lrokit-callback.invalid/") for value in sent), sent
