"""``lrokit check --har FILE`` and ``lrokit replay FILE``: a run written as HAR 1.2, secrets
redacted, and judged again offline to the same verdicts, rule by rule."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lrokit.cli import main
from tests.conftest import TEST_ROWS
from tests.fauxservers.server import WEBHOOK_SECRET, FauxServer
from tests.live import LiveServer, ThreadServer
from tests.test_conformance_fauxservers import ALICE, BOB, TOKENS

pytestmark = pytest.mark.e2e

SCHEMA = json.loads((files("lrokit") / "schemas" / "report.schema.json").read_text())
FAST = ["--time-scale", "0"]
AS_ALICE = ["-H", f"Authorization: {ALICE['Authorization']}"]
AS_BOB = ["--other-header", f"Authorization: {BOB['Authorization']}"]


def record(url: str, tmp_path: Path, *args: str) -> tuple[int, Path, dict[str, Any]]:
    """``lrokit check url --har --json``: the exit code, the HAR's path and the JSON report."""
    har, report = tmp_path / "run.har", tmp_path / "live.json"
    code = main(["check", url, *args, "--har", str(har), "--json", str(report)])
    return code, har, json.loads(report.read_text())


def replay(har: Path, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "replayed.json"
    code = main(["replay", str(har), *args, "--json", str(report)])
    return code, json.loads(report.read_text())


def verdicts(report: dict[str, Any]) -> dict[str, tuple[str, str, list[tuple[str, str, str]]]]:
    """Each rule's outcome, reason and violations (received, expected, where)."""
    return {
        rule["id"]: (
            rule["outcome"],
            rule["reason"],
            [(v["received"], v["expected"], v["where"]) for v in rule["violations"]],
        )
        for rule in report["rules"]
    }


def assert_same_verdicts(live: dict[str, Any], replayed: dict[str, Any]) -> None:
    jsonschema.validate(replayed, SCHEMA)
    before, after = verdicts(live), verdicts(replayed)
    assert before.keys() == after.keys()
    for rule_id, verdict in before.items():
        assert after[rule_id] == verdict, rule_id
    assert replayed["exitCode"] == live["exitCode"]


def assert_har_1_2(document: dict[str, Any]) -> None:
    """The members HAR 1.2 requires of a log and its entries, of their types."""
    log = document["log"]
    assert log["version"] == "1.2"
    assert {"name", "version"} <= log["creator"].keys()
    assert log["entries"]
    for entry in log["entries"]:
        assert isinstance(entry["startedDateTime"], str)
        assert entry["startedDateTime"].endswith("Z")
        assert isinstance(entry["time"], int | float)
        request, response = entry["request"], entry["response"]
        for key in ("method", "url", "httpVersion"):
            assert isinstance(request[key], str)
        for key in ("headers", "queryString", "cookies"):
            assert isinstance(request[key], list)
        for key in ("headersSize", "bodySize"):
            assert isinstance(request[key], int)
        assert isinstance(response["status"], int)
        for key in ("statusText", "httpVersion", "redirectURL"):
            assert isinstance(response[key], str)
        for key in ("headers", "cookies"):
            assert isinstance(response[key], list)
        assert isinstance(response["content"]["size"], int)
        assert isinstance(response["content"]["mimeType"], str)
        for key in ("headersSize", "bodySize"):
            assert isinstance(response[key], int)
        for header in request["headers"] + response["headers"]:
            assert set(header) == {"name", "value"}
        assert isinstance(entry["cache"], dict)
        timings = entry["timings"]
        for key in ("send", "wait", "receive"):
            assert isinstance(timings[key], int | float)
        assert entry["time"] == pytest.approx(sum(v for v in timings.values() if v != -1))
        custom = {k for k in entry if k not in HAR_ENTRY}
        assert all(k.startswith("_") for k in custom), custom
        assert {"run", "purpose", "job", "role"} <= entry["_lrokit"].keys()


HAR_ENTRY = {"startedDateTime", "time", "request", "response", "cache", "timings", "pageref"}


def test_reference_server_replays_to_the_same_verdicts(tmp_path: Path, dataset_path: Path) -> None:
    """``lrokit serve`` itself (uvicorn sends its Date; a ThreadServer's does not)."""
    with LiveServer(tmp_path, dataset_path, "--pace", "1", rows=TEST_ROWS) as server:
        code, har, live = record(server.url, tmp_path, "--time-scale", "0.2")
    assert code == 0, live
    document = json.loads(har.read_text())
    assert_har_1_2(document)
    assert len(document["log"]["entries"]) == live["requests"]
    replayed_code, replayed = replay(har, tmp_path)
    assert replayed_code == 0
    assert_same_verdicts(live, replayed)


@pytest.mark.parametrize(
    "rule",
    ["PROBLEM-3", "ACCEPT-4", "WAIT-1", "RETRY-1", "STREAM-1", "MONITOR-2", "WEBHOOK-4",
     "TENANCY-1", "HTTP-1"],
)  # fmt: skip
def test_a_broken_server_replays_to_the_same_verdicts(rule: str, tmp_path: Path) -> None:
    """Rules judged on bodies, timings, held reads, stream events, webhook deliveries and a
    second principal's reads: each replays to its live verdict, and so does every other."""
    with ThreadServer(FauxServer(breaks=rule, tokens=TOKENS)) as url:
        code, har, live = record(url, tmp_path, *FAST, *AS_ALICE, *AS_BOB, "--callbacks")
    broken = [r["id"] for r in live["rules"] if r["outcome"] in ("FAIL", "WARN")]
    assert rule in broken
    replayed_code, replayed = replay(har, tmp_path)
    assert replayed_code == code
    assert_same_verdicts(live, replayed)
    # The violations cite the HAR's entries, live and replayed alike.
    entries = json.loads(har.read_text())["log"]["entries"]
    for report in (live, replayed):
        (judged,) = [r for r in report["rules"] if r["id"] == rule]
        for violation in judged["violations"]:
            if "exchange" in violation:
                entry = entries[violation["harEntry"]]["request"]
                assert violation["exchange"]["request"] == f"{entry['method']} {entry['url']}"


def test_no_secret_is_written(tmp_path: Path) -> None:
    secret = ["--webhook-secret", WEBHOOK_SECRET]
    with ThreadServer(FauxServer(breaks="WEBHOOK-2", tokens=TOKENS)) as url:
        _, har, live = record(url, tmp_path, *FAST, *AS_ALICE, *AS_BOB, "--callbacks", *secret)
    text = har.read_text()
    for value in ("token-of-alice", "token-of-bob", WEBHOOK_SECRET):
        assert value not in text
    assert "[redacted]" in text
    assert_har_1_2(json.loads(text))
    # WEBHOOK-2 needs the secret: without it the replay says so, and never passes the rule.
    (live_webhook,) = [r for r in live["rules"] if r["id"] == "WEBHOOK-2"]
    assert live_webhook["outcome"] == "FAIL"
    _, without = replay(har, tmp_path)
    (webhook,) = [r for r in without["rules"] if r["id"] == "WEBHOOK-2"]
    assert webhook["outcome"] == "SKIP"
    assert "--webhook-secret" in webhook["reason"]
    _, given = replay(har, tmp_path, *secret)
    assert_same_verdicts(live, given)


def test_a_contract_that_cannot_be_read_again_skips_the_rules_that_read_it(
    tmp_path: Path,
) -> None:
    with ThreadServer(FauxServer(breaks="MONITOR-2")) as url:
        _, har, live = record(url, tmp_path, *FAST)
    document = json.loads(har.read_text())
    run = document["log"]["_lrokit"]["runs"][0]
    run["spec"] = run["profile"]["spec"] = str(tmp_path / "gone.yaml")
    har.write_text(json.dumps(document))
    _, replayed = replay(har, tmp_path)
    before, after = verdicts(live), verdicts(replayed)
    assert before["MONITOR-2"][0] == "FAIL"
    assert after["MONITOR-2"][0] == "SKIP"
    assert "gone.yaml" in after["MONITOR-2"][1]
    assert {k: v for k, v in after.items() if k != "MONITOR-2"} == {
        k: v for k, v in before.items() if k != "MONITOR-2"
    }


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The HAR of a run against the conformant fauxserver, as text."""
    with ThreadServer(FauxServer()) as url:
        _, har, _ = record(url, tmp_path_factory.mktemp("recorded"), *FAST)
    return har.read_text()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda text: text[: len(text) // 2], "not JSON"),
        (lambda text: "[]", "not a HAR document"),
        (lambda text: json.dumps({"log": {"version": "1.2", "entries": []}}), "no log._lrokit"),
        (lambda text: text.replace('"format":1', '"format":99'), "format 99"),
        (lambda text: text.replace('"$entry":0}', '"$entry":100000}'), "no entry 100000"),
        (lambda text: text.replace('"request":{"method"', '"request":{"verb"'), "entries[0]"),
    ],
)
def test_a_damaged_har_is_one_line_and_exit_2(
    damage: Any, message: str, recorded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    har = tmp_path / "damaged.har"
    har.write_text(damage(recorded))
    assert main(["replay", str(har)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert message in err
    assert err.startswith("lrokit: error: ")


def test_a_missing_har_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["replay", str(tmp_path / "none.har")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def as_traffic(text: str) -> dict[str, Any]:
    """A HAR of lrokit's as another tool would have written it: no ``_lrokit`` members, and an
    entry of another origin (a page's asset, without a Date) that is no job's."""
    document = json.loads(text)
    del document["log"]["_lrokit"]
    for entry in document["log"]["entries"]:
        entry.pop("_lrokit")
        entry["response"].pop("_error")
        entry["response"].pop("_truncated")
    asset = json.loads(json.dumps(document["log"]["entries"][0]))
    asset["request"].update(method="GET", url="https://cdn.example/app.js")
    asset["response"].update(status=200, headers=[])
    document["log"]["entries"].insert(0, asset)
    return document


def test_traffic_of_a_conformant_server(recorded: str, tmp_path: Path) -> None:
    """Jobs followed by their 202 and Location: what the traffic shows is judged, what would
    need lrokit's own requests SKIPs, and nothing is UNOBSERVED (the server hid nothing)."""
    har = tmp_path / "traffic.har"
    har.write_text(json.dumps(as_traffic(recorded)))
    code, report = replay(har, tmp_path, "--from-traffic")
    jsonschema.validate(report, SCHEMA)
    outcomes = {rule["id"]: (rule["outcome"], rule["reason"]) for rule in report["rules"]}
    assert code == 0, outcomes
    assert {"FAIL", "WARN", "UNOBSERVED", "ERROR"}.isdisjoint(o for o, _ in outcomes.values())
    for judged in ("ACCEPT-1", "LOCATION-1", "RETRY-2", "MONITOR-2", "RESULT-1", "HTTP-5"):
        assert outcomes[judged][0] == "PASS", judged
    for probe in ("PROBLEM-4", "HTTP-4", "WAIT-1", "IDEMPOTENCY-1"):
        assert outcomes[probe][0] == "SKIP"
        assert outcomes[probe][1].startswith("not in the traffic"), probe
    assert outcomes["LIFECYCLE-5"] == (
        "SKIP", "not in the traffic: it judges lrokit's own pacing of a run"
    )  # fmt: skip
    assert report["target"].startswith("http://127.0.0.1:")


def test_traffic_of_a_broken_server(tmp_path: Path) -> None:
    with ThreadServer(FauxServer(breaks="RETRY-2")) as url:
        _, har, _ = record(url, tmp_path, *FAST)
    har.write_text(json.dumps(as_traffic(har.read_text())))
    code, report = replay(har, tmp_path, "--from-traffic")
    assert code == 1
    assert [r["id"] for r in report["rules"] if r["outcome"] == "FAIL"] == ["RETRY-2"]


def test_traffic_without_a_job_is_never_a_pass(recorded: str, tmp_path: Path) -> None:
    """A HAR of other requests only (no 202 with a Location to follow): the rules that judge
    jobs were not observed, so the MUSTs among them are UNOBSERVED and the replay fails."""
    document = as_traffic(recorded)
    document["log"]["entries"] = [
        e
        for e in document["log"]["entries"]
        if e["request"]["method"] == "GET" and e["response"]["status"] != 202
    ][:1]
    har = tmp_path / "traffic.har"
    har.write_text(json.dumps(document))
    code, report = replay(har, tmp_path, "--from-traffic")
    outcomes = {rule["id"]: rule["outcome"] for rule in report["rules"]}
    assert code == 1
    assert outcomes["ACCEPT-1"] == "UNOBSERVED"
    assert "PASS" not in {outcomes["LOCATION-1"], outcomes["LIFECYCLE-1"]}
