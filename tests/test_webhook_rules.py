"""Completion webhooks (the WEBHOOK rules, ``--callbacks``): the conformant fauxserver passes
them all; each broken one fails exactly its rule; without ``--callbacks`` they are not run,
and without ``--webhook-secret`` the signature alone is not; the receiver records, answers by
script and stays bounded; the options are validated in one line."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from rich.console import Console

from lrokit.checks.webhook import only_where_given, paused, redelivered
from lrokit.cli import main
from lrokit.discover.profiles import callback_members, discover
from lrokit.discover.specs import read_spec
from lrokit.model.contract import load_contract
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile, ProfileError, load_profile, load_profile_data
from lrokit.model.recording import Delivery, Hook, Recording, Trace, Webhooks
from lrokit.rules import RULES, Level
from lrokit.runner import receiver as receiving
from lrokit.runner.options import OptionError, parse
from lrokit.runner.receiver import Answer, Receiver, ReceiverUnavailable
from lrokit.runner.reporters import print_console, to_json
from lrokit.runner.run import Report, run
from lrokit.runner.target import TargetConfig
from lrokit.runner.verdicts import Outcome, Unjudged, exit_code
from lrokit.server.http.app import contract_path, create_app
from lrokit.server.jobs.store import JobStore
from lrokit.server.settings import Settings
from tests.fauxservers.server import WEBHOOK_SECRET, FauxServer, WireASGITransport
from tests.test_conformance_fauxservers import BAD, BLAME, canonical_rules, summary, webhook_rules
from tests.test_conformance_reference import with_date

pytestmark = pytest.mark.anyio

IN_USE = "Address already in use"
CALLBACKS = {"callbacks": True, "webhook_secret": WEBHOOK_SECRET}


async def check(app: FauxServer, profile: Profile | None = None, **given: Any) -> Report:
    """A run against ``app`` (its deliveries stopped after it), webhooks or not as given."""
    config = TargetConfig("http://faux.test", time_scale=0.001, max_wait=5.0, **given)
    try:
        return await run(
            config,
            profile or load_profile("canonical"),
            contract=load_contract(str(contract_path())),
            transport=WireASGITransport(app=app),
        )
    finally:
        await app.aclose()


def webhook_verdicts(report: Report) -> dict[str, Any]:
    return {v.rule.id: v for v in report.verdicts if v.rule.family == "WEBHOOK"}


# -- against the fauxserver --------------------------------------------------------------


async def test_conformant_fauxserver_passes_every_webhook_rule_in_a_few_seconds() -> None:
    begun = time.monotonic()
    report = await check(FauxServer(), **CALLBACKS)
    took = time.monotonic() - begun
    assert not [v for v in report.verdicts if v.outcome in BAD], summary(report)
    passed = {v.rule.id for v in report.verdicts if v.outcome is Outcome.PASS}
    assert passed >= {*canonical_rules(), *webhook_rules()}, summary(report)
    assert [n for n in report.notes if not n.startswith("clean-up: cancelled")] == []
    assert took < 5.0  # a redelivery, a 1 s pause, a watch of the gone URL: all side by side


async def test_the_reference_server_passes_every_webhook_rule(
    settings: Settings, job_store: JobStore | None
) -> None:
    """Its deliveries come from its outbox, over the network, to the run's receiver."""
    hooked = dataclasses.replace(
        settings,
        pace=1.0,
        callback_allow=("127.0.0.0/8",),
        webhook_secret=WEBHOOK_SECRET,
        callback_backoff=0.2,
    )
    app = create_app(hooked, store=job_store)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=with_date(manager.app))
        config = TargetConfig("http://testserver", time_scale=0.05, max_wait=30, **CALLBACKS)
        report = await run(
            config,
            load_profile("canonical"),
            contract=load_contract(str(contract_path())),
            transport=transport,
            only=("WEBHOOK",),
        )
    verdicts = webhook_verdicts(report)
    assert {v.outcome for v in verdicts.values()} == {Outcome.PASS}, summary(report)


@pytest.mark.parametrize("rule_id", webhook_rules())
async def test_broken_fauxserver_fails_exactly_its_webhook_rule(rule_id: str) -> None:
    report = await check(FauxServer(breaks=rule_id), **CALLBACKS)
    expected = Outcome.FAIL if RULES[rule_id].level is Level.MUST else Outcome.WARN
    verdict = webhook_verdicts(report)[rule_id]
    assert verdict.outcome is expected, summary(report)
    assert verdict.violations
    others = [v.rule.id for v in report.verdicts if v.outcome in BLAME and v.rule.id != rule_id]
    assert others == [], summary(report)


async def test_without_callbacks_the_webhook_rules_are_not_run() -> None:
    """DISABLED, saying what to give, folded into one row, and the exit status is the one the
    other rules make; no receiver, no delivery."""
    for server in (FauxServer(), FauxServer(breaks="PROBLEM-3")):
        report = await check(server)
        webhooks = list(webhook_verdicts(report).values())
        assert {v.rule.id for v in webhooks} == set(webhook_rules())
        assert {(v.outcome, v.unjudged) for v in webhooks} == {(Outcome.DISABLED, Unjudged.NOT_RUN)}
        assert all("--callbacks" in v.reason for v in webhooks)
        others = [v for v in report.verdicts if v.rule.family != "WEBHOOK"]
        assert exit_code(report.verdicts) == exit_code(others)
    assert exit_code(report.verdicts) == 1  # PROBLEM-3's
    console = Console(width=300, record=True)
    print_console(report, console)
    text = console.export_text()
    assert f"{', '.join(webhook_rules())} not run: give --callbacks" in text
    (rule,) = [r for r in to_json(report, strict=False)["rules"] if r["id"] == "WEBHOOK-1"]
    assert (rule["outcome"], rule["reasonKind"]) == ("DISABLED", "not-run")


async def test_without_the_secret_the_signature_alone_is_not_run() -> None:
    report = await check(FauxServer(breaks="WEBHOOK-2"), callbacks=True)
    verdicts = webhook_verdicts(report)
    signed = verdicts.pop("WEBHOOK-2")
    assert (signed.outcome, signed.unjudged) == (Outcome.DISABLED, Unjudged.NOT_RUN)
    assert "--webhook-secret" in signed.reason
    assert {v.outcome for v in verdicts.values()} == {Outcome.PASS}, summary(report)


async def test_a_profile_without_the_feature_leaves_the_rules_disabled() -> None:
    """Asked for, but not declared: no receiver, no job, every rule DISABLED for the
    profile, as OGC's is, whose subscriber is described but whose callback class is optional."""
    quiet = {"extends": "canonical", "name": "quiet", "features": {"callbacks": False}}
    report = await check(FauxServer(), profile=load_profile_data(quiet), **CALLBACKS)
    webhooks = webhook_verdicts(report).values()
    assert {(v.outcome, v.unjudged) for v in webhooks} == {(Outcome.DISABLED, Unjudged.DISABLED)}
    assert all(v.reason == "profile quiet has no callbacks feature" for v in webhooks)
    assert "callbacks" not in load_profile("ogc").features


# -- the checks on recorded deliveries ---------------------------------------------------


def delivery(at: float, answered: int, message: str = "msg_1", **fields: Any) -> Delivery:
    headers = (("webhook-id", message), ("content-type", "application/json"))
    body = b'{"id": "j1", "status": "DONE"}'
    return Delivery("POST", "/h", headers, body, at, 0.0, answered, **fields)


def recording(*deliveries: Delivery, path: str = "/h") -> Recording:
    submission = Exchange("submit-for-webhook", "POST", "http://x/reports", (), 202)
    poll = Exchange("poll", "GET", "http://x/reports/j1", (), 200, body=b'{"id": "j1"}')
    job = Trace(submission, monitor="http://x/reports/j1", polls=[poll], final_state="DONE")
    hook = Hook("http://127.0.0.1:1/h", path, submission, job, list(deliveries))
    return Recording(webhooks=Webhooks(None, 5.0, hook, None, 0.0, list(deliveries)))


def test_a_redelivery_at_once_is_not_a_backoff() -> None:
    canonical = load_profile("canonical")
    rec = recording(delivery(1.0, 500), delivery(1.01, 200))
    (violation,) = redelivered(rec, canonical)
    assert violation.received == "again 0.010 s after the 500"
    assert list(redelivered(recording(delivery(1.0, 500), delivery(1.3, 200)), canonical)) == []


def test_a_pause_asked_for_is_measured_from_the_answer() -> None:
    canonical = load_profile("canonical")
    asked = delivery(1.0, 503, retry_after="1")
    assert list(paused(recording(asked, delivery(2.0, 200)), canonical)) == []
    (violation,) = paused(recording(asked, delivery(1.5, 200)), canonical)
    assert "Retry-After: 1" in violation.received


def test_another_jobs_delivery_at_a_url_is_a_stray() -> None:
    other = Delivery("POST", "/h", (), b'{"id": "j2", "status": "DONE"}', 1.0, 0.0, 200)
    (violation,) = only_where_given(recording(other), load_profile("canonical"))
    assert violation.received == "job 'j2''s delivery"


# -- the receiver --------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = time.monotonic()
    with Receiver(None, lambda: time.monotonic() - started) as listening:
        yield listening


async def test_the_receiver_answers_each_url_by_its_script(receiver: Receiver) -> None:
    url, path = receiver.hand_out((Answer(500), Answer(503, "1")))
    other, _ = receiver.hand_out((Answer(410),), Answer(410))
    assert url != other
    assert url.startswith("http://127.0.0.1:")
    assert len(path.removeprefix("/lrokit-hook-")) >= 22  # 128 random bits: unguessable
    async with httpx.AsyncClient() as client:
        answers = [(await client.post(url, content=b"{}")) for _ in range(3)]
        gone = await client.post(other, content=b"{}")
        stray = await client.post(url + "x", content=b"{}")
    assert [a.status_code for a in answers] == [500, 503, 200]
    assert answers[1].headers["retry-after"] == "1"
    assert (gone.status_code, stray.status_code) == (410, 404)
    recorded = receiver.at(path)
    sent = [(d.method, d.body, d.answered) for d in recorded]
    assert sent == [("POST", b"{}", 500), ("POST", b"{}", 503), ("POST", b"{}", 200)]
    assert recorded[0].at <= recorded[1].at <= recorded[2].at
    assert len(receiver.everything()) == 5


async def test_the_receiver_caps_a_body_and_its_requests(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "MAX_BODY", 10)
    monkeypatch.setattr(receiving, "MAX_REQUESTS", 2)
    url, path = receiver.hand_out(())
    async with httpx.AsyncClient() as client:
        first = await client.post(url, content=b"x" * 100)
        await client.post(url, content=b"{}")
        refused = await client.post(url, content=b"{}")
    assert first.status_code == 200
    assert refused.status_code == 503
    (big, small) = receiver.at(path)
    assert (big.body, big.truncated, small.truncated) == (b"x" * 10, True, False)


async def test_a_wait_on_the_receiver_ends_at_its_deadline(receiver: Receiver) -> None:
    _, path = receiver.hand_out(())
    begun = time.monotonic()
    assert await receiver.until(path, 1, receiver.clock() + 0.3) == []
    assert 0.25 <= time.monotonic() - begun < 1.0


async def test_a_wait_on_the_receiver_ends_when_the_delivery_comes(receiver: Receiver) -> None:
    url, path = receiver.hand_out(())

    async def later() -> None:
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient() as client:
            await client.post(url, content=b"{}")

    begun = time.monotonic()
    sending = asyncio.ensure_future(later())
    delivered = await receiver.until(path, 1, receiver.clock() + 10)
    await sending
    assert len(delivered) == 1
    assert time.monotonic() - begun < 2.0


async def test_closing_the_receiver_ends_its_waits() -> None:
    """A run stopped mid-wait (Ctrl-C) is not held for the rest of the wait budget."""
    listening = Receiver(None, time.monotonic)
    _, path = listening.hand_out(())
    waiting = asyncio.ensure_future(listening.until(path, 1, time.monotonic() + 60))
    await asyncio.sleep(0.1)
    listening.close()
    assert await asyncio.wait_for(waiting, 2.0) == []


def test_a_receiver_listens_on_the_port_of_the_callback_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Receiver(f"http://host.docker.internal:{port}/hooks/", time.monotonic) as listening:
        url, path = listening.hand_out(())
        assert url.startswith(f"http://host.docker.internal:{port}/hooks/lrokit-hook-")
        assert path.startswith("/hooks/lrokit-hook-")
        response = httpx.post(f"http://127.0.0.1:{port}{path}", content=b"{}")
        assert response.status_code == 200
        with pytest.raises(ReceiverUnavailable, match=rf"cannot listen on 127.0.0.1:{port}"):
            Receiver(f"http://elsewhere:{port}/", time.monotonic)
    with pytest.raises(httpx.ConnectError):  # closed
        httpx.post(f"http://127.0.0.1:{port}{path}", content=b"{}")


def test_a_port_taken_stops_the_check_before_it_sends_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["check", "http://127.0.0.1:9", "--callback-url", f"http://gw:{port}/"])
    assert code == 2
    err = capsys.readouterr().err
    assert err == f"lrokit: error: --callbacks: cannot listen on 127.0.0.1:{port}: {IN_USE}\n"


# -- options and profiles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"callback-url": "ftp://host:1/"}, "--callback-url: 'ftp://host:1/' is not an absolute"),
        ({"callback-url": "http://host/hooks"}, "names no port"),
        ({"callback-url": "http://host:99999/"}, "has an invalid port"),
        ({"callback-url": "http://u:p@host:1/"}, "credentials, a query or a fragment"),
        ({"webhook-secret": "whsec_not base64!"}, "--webhook-secret: not a Standard Webhooks"),
        ({"webhook-secret": "bm90IGJhc2U2NCE="}, "--webhook-secret: not a Standard Webhooks"),
    ],
)
def test_a_bad_webhook_option_is_one_line(raw: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError, match=message.replace("(", r"\(").replace(")", r"\)")) as exc:
        parse(raw, target_url="http://x.test")
    assert "\n" not in str(exc.value)
    assert "base64!" not in str(exc.value)  # a secret is never repeated
    assert "bm90" not in str(exc.value)


def test_a_callback_url_asks_for_callbacks() -> None:
    options = parse(
        {
            "callback-url": "http://host.docker.internal:8765/hooks",
            "webhook-secret": WEBHOOK_SECRET,
        },
        target_url="http://x.test",
    )
    config = options.target_config()
    assert (config.callbacks, config.callback_url) == (
        True,
        "http://host.docker.internal:8765/hooks",
    )
    assert WEBHOOK_SECRET not in repr(config)
    assert parse({}, target_url="http://x.test").callbacks is False


def test_the_cli_refuses_a_bad_secret_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "http://x.test", "--callbacks", "--webhook-secret", "whsec_?"])
    assert code == 2
    assert "--webhook-secret: not a Standard Webhooks secret" in capsys.readouterr().err


def test_a_profile_names_where_the_callback_url_goes() -> None:
    canonical = load_profile("canonical")
    assert "callbacks" in canonical.features
    body = canonical.callback_body("http://r/h")
    assert body is not None
    assert body.value["callbackUrl"] == "http://r/h"
    assert canonical.body is not None
    assert "callbackUrl" not in canonical.body.value  # the other jobs name none
    ogc = load_profile("ogc").callback_body("http://r/h")
    assert ogc is not None
    assert ogc.value["subscriber"] == dict.fromkeys(
        ("successUri", "failedUri", "inProgressUri"), "http://r/h"
    )


def test_the_feature_needs_its_table() -> None:
    data = {
        "name": "x",
        "submit": {"path": "/x", "body": {}},
        "initiation": {"status": [202], "monitor_header": "Location"},
        "monitor": {
            "state_field": "s",
            "states": ["A", "B"],
            "success": "B",
            "transitions": {"A": ["B"], "B": []},
        },
        "features": {"callbacks": True},
    }
    with pytest.raises(ProfileError, match=r"features.callbacks needs a \[callbacks\] table"):
        load_profile_data(data)
    with pytest.raises(ProfileError, match="callbacks/member"):
        load_profile_data({**data, "callbacks": {"member": "not a member"}})
    assert load_profile_data({**data, "callbacks": {"member": "a.b"}}).callback_members == ("a.b",)


def test_a_check_file_asks_for_webhooks_as_the_options_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[webhooks]`` is --callbacks; its url --callback-url, its secret --webhook-secret, read
    from the environment only; the command line's values win."""
    path = tmp_path / "lrokit.toml"
    operation = '[[operations]]\nname = "x"\nprofile = "canonical"\n'
    path.write_text(
        '[webhooks]\nurl = "http://gateway:8765/in"\nsecret = "${LROKIT_W}"\n' + operation
    )
    monkeypatch.setenv("LROKIT_W", WEBHOOK_SECRET)
    options = parse({"check-file": str(path)}, target_url="http://x.test")
    assert (options.callbacks, options.callback_url) == (True, "http://gateway:8765/in")
    assert options.webhook_secret == WEBHOOK_SECRET
    given = {"check-file": str(path), "callback-url": "http://other:1/"}
    assert parse(given, target_url="http://x.test").callback_url == "http://other:1/"
    path.write_text("[webhooks]\n" + operation)
    assert parse({"check-file": str(path)}, target_url="http://x.test").callbacks is True
    path.write_text(f'[webhooks]\nsecret = "{WEBHOOK_SECRET}"\n' + operation)
    with pytest.raises(OptionError, match=r"webhooks\.secret is written out") as exc:
        parse({"check-file": str(path)}, target_url="http://x.test")
    assert WEBHOOK_SECRET not in str(exc.value)
    path.write_text('[webhooks]\nurl = "http://gateway/in"\n' + operation)
    with pytest.raises(OptionError, match=r"lrokit.toml: webhooks.url: .* names no port"):
        parse({"check-file": str(path)}, target_url="http://x.test")


def test_init_reads_the_callback_member_from_the_callbacks_object() -> None:
    """``{$request.body#/callbackUrl}`` names the member; a nested one is dotted."""
    (inferred,) = discover(read_spec(str(contract_path()))).operations
    assert inferred.data["callbacks"] == {"member": "callbackUrl"}
    assert inferred.data["features"]["callbacks"] is True
    nested = {"callbacks": {"done": {"{$request.body#/subscriber/successUri}": {}}}}
    assert callback_members(nested) == ("subscriber.successUri",)
    listed = {"callbacks": {"done": {"{$request.body#/hooks/0}": {}}}}
    assert callback_members(listed) == ()
