"""``lrokit replay FILE.har``: a recorded run judged again, offline, by the current rules.

The HAR is one ``lrokit check --har`` wrote (:mod:`lrokit.runner.har`). Each of its runs is
rebuilt into the recording it was, and judged by the code a live run is judged by
(:func:`lrokit.runner.run.judged`), with the profile it was judged by (or ``--profile``), and
reported by the same reporters. No request is sent. Every check judges a recording, so
every rule is judged again from what was recorded; what a HAR never holds is given back or
named:

* the contract (MONITOR-2, WEBHOOK-4 validate bodies against it) is read again from where the
  run read it, or ``--spec``; when it cannot be, each rule that asks for it SKIPs naming it;
* the webhook signing secret is never written: give ``--webhook-secret`` for WEBHOOK-2,
  else it SKIPs saying so.

A rule is never passed for want of what the HAR lacks.

With ``--from-traffic`` the HAR is other traffic (a browser's, a proxy's export): its jobs are
followed by their initiating answers' pointers and the monitor reads after them
(:func:`lrokit.runner.har.traffic`) and judged by the profile given (default canonical); a rule
that would need a request the traffic does not hold (lrokit's probes, held reads, a second
principal) or that judges lrokit's own pacing SKIPs, saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lrokit.commandline import Output, option, output_option, report_console, stdout_taken

if TYPE_CHECKING:  # loaded on use: the command line imports this module at every start
    from lrokit.model.exchange import Exchange
    from lrokit.model.profile import Profile
    from lrokit.model.recording import Recording
    from lrokit.runner.har import Run
    from lrokit.runner.run import Report
    from lrokit.runner.verdicts import Verdict

#: How a verdict begins that could not be judged for what the HAR does not hold.
NOT_REPLAYABLE = "not replayable"


class NotReplayable(Exception):
    """What a rule asked for that the replay could not rebuild; the message names it."""


def replayed(
    run: Run,
    *,
    profile: Profile | None = None,
    spec: str | None = None,
    webhook_secret: str | None = None,
    strict: bool = False,
) -> Report:
    """``run`` judged again: with ``profile`` (else the one it was judged by), the contract
    read from ``spec`` (else where the run read it), strict if it was or ``strict`` says so.
    A rule that needs what could not be rebuilt SKIPs with a reason naming it."""
    from lrokit.runner.run import judged

    rec = run.recording
    # The contract of --spec, else the run's where it was read, else where its profile says.
    chosen = profile or run.profile
    sources = [spec] if spec else []
    if not spec and run.spec is not None:
        sources = [run.spec, *([chosen.spec_source] if chosen.spec_source else [])]
    chosen = _with_contract(rec, chosen, sources, fit=profile is not None)
    if rec.webhooks is not None:
        rec.webhooks.secret = webhook_secret
    report = judged(
        run.target, rec, chosen, only=run.only, skip=run.skip, strict=strict or run.strict
    )
    unsigned = run.signed and webhook_secret is None and rec.webhooks is not None
    report.verdicts = [_honest(verdict, unsigned) for verdict in report.verdicts]
    report.operation, report.seconds = run.operation, run.seconds
    report.har_entries = run.entries
    return report


def _with_contract(rec: Recording, profile: Profile, sources: list[str], *, fit: bool) -> Profile:
    """The first contract of ``sources`` that can be read validates ``rec``'s bodies, and
    ``profile`` fitted to it when ``fit`` (as a run fits its profile); when none can be read,
    every check that validates a body stops at :class:`NotReplayable` naming it."""
    from lrokit.model.contract import ContractError, load_contract
    from lrokit.model.requests import fitted_encoding

    missing = ""
    for source in dict.fromkeys(sources):
        try:
            contract = load_contract(source)
        except ContractError as exc:
            missing = missing or f"the contract could not be read again: {exc}; give --spec"
            continue
        if fit:
            profile, _ = fitted_encoding(contract, contract.fitted(profile))
        rec.validate = contract.monitor_validator(profile)
        return profile
    if missing:
        rec.validate = _unrebuilt(missing)
    return profile


#: Rules that judge how lrokit itself paces a run, which other traffic's client did not:
#: the wait budget (--max-wait), the polls a client honouring Retry-After needs.
PACED_BY_LROKIT = frozenset({"LIFECYCLE-5", "RETRY-5"})


def from_traffic(
    data: Any, profile: Profile, *, spec: str | None = None, strict: bool = False
) -> Report:
    """A HAR lrokit did not write (a browser's, a proxy's) judged by ``profile``: the jobs
    followed in it (:func:`lrokit.runner.har.traffic`) judged by every rule; a rule that would
    need a request the traffic does not hold (lrokit's probes, held reads, a second principal)
    or that judges lrokit's own pacing SKIPs saying so, never passes or fails. Traffic in which
    no job could be followed demonstrates nothing: its MUST rules are UNOBSERVED, and the
    replay fails."""
    from lrokit.runner.har import traffic
    from lrokit.runner.run import judged
    from lrokit.runner.verdicts import Outcome, Unjudged, Verdict

    seen = traffic(data, profile)
    sources = [spec] if spec else [s for s in (profile.spec_source,) if s]
    profile = _with_contract(seen.recording, profile, sources, fit=True)
    report = judged(seen.target, seen.recording, profile, strict=strict)
    verdicts = []
    for verdict in report.verdicts:
        if verdict.rule.id in PACED_BY_LROKIT and verdict.outcome is not Outcome.DISABLED:
            why = "not in the traffic: it judges lrokit's own pacing of a run"
            verdict = Verdict(verdict.rule, Outcome.SKIP, reason=why)
        elif verdict.unjudged is Unjudged.NOT_OBSERVED and seen.jobs:
            # The traffic followed a job, so what it lacks is lrokit's own requests, not the
            # server's doing. With no job in it nothing was judged: a MUST stays UNOBSERVED.
            why = f"not in the traffic (lrokit check sends what it needs): {verdict.reason}"
            verdict = Verdict(verdict.rule, Outcome.SKIP, reason=why)
        verdicts.append(_honest(verdict, unsigned=False))
    report.verdicts = verdicts
    report.seconds = max((e.at + e.seconds for e in seen.recording.exchanges), default=0.0)
    report.notes = [
        f"judged from traffic lrokit did not send: {seen.jobs} jobs followed by their "
        f"{profile.monitor_header} chains, {len(seen.recording.exchanges)} exchanges on their "
        "origins; what would need new requests SKIPs",
        *report.notes,
    ]
    return report


def _unrebuilt(missing: str) -> Callable[[Exchange], list[tuple[str, str]]]:
    def validate(exchange: Exchange) -> list[tuple[str, str]]:
        raise NotReplayable(missing)

    return validate


def _honest(verdict: Verdict, unsigned: bool) -> Verdict:
    """``verdict``, or a SKIP naming what the HAR does not hold when that kept it from being
    judged: the contract (the check stopped at :class:`NotReplayable`) or the signing secret
    (the check was not run for want of it)."""
    from lrokit.runner.verdicts import Outcome, Unjudged, Verdict

    prefix = f"{NotReplayable.__name__}: "
    if verdict.outcome is Outcome.ERROR and verdict.reason.startswith(prefix):
        why = f"{NOT_REPLAYABLE}: {verdict.reason.removeprefix(prefix)}"
        return Verdict(verdict.rule, Outcome.SKIP, reason=why)
    if unsigned and verdict.unjudged is Unjudged.NOT_RUN and "--webhook-secret" in verdict.reason:
        why = (
            f"{NOT_REPLAYABLE}: the webhook signing secret is never written to a HAR; "
            "give lrokit replay --webhook-secret"
        )
        return Verdict(verdict.rule, Outcome.SKIP, reason=why)
    return verdict


def read_har(
    path: Path,
    *,
    profile: Profile | None = None,
    traffic: bool = False,
    spec: str | None = None,
    webhook_secret: str | None = None,
    strict: bool = False,
) -> tuple[list[Report], bool]:
    """The reports of the HAR at ``path`` judged again (:func:`replayed`, or with
    ``traffic`` :func:`from_traffic`), and whether they were judged strictly; a usage
    error (one line) when it cannot be read."""
    import orjson

    from lrokit.model.profile import load_profile
    from lrokit.runner.har import HarError, read

    try:
        data: Any = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise click.UsageError(f"{path}: not JSON ({exc})") from None
    try:
        if traffic:
            chosen = profile or load_profile("canonical")
            return [from_traffic(data, chosen, spec=spec, strict=strict)], strict
        runs = read(data)
    except HarError as exc:
        raise click.UsageError(f"{path}: {exc}") from None
    if not runs:
        raise click.UsageError(f"{path}: log._lrokit.runs is empty")
    reports = []
    for run in runs:
        report = replayed(
            run, profile=profile, spec=spec, webhook_secret=webhook_secret, strict=strict
        )
        report.notes = [f"replayed offline from {path}: no request was sent", *report.notes]
        reports.append(report)
    return reports, strict or any(run.strict for run in runs)


@click.command()
@click.argument("har_file", metavar="FILE.har", type=click.Path(dir_okay=False, path_type=Path))
@option(
    "--profile",
    metavar="NAME_OR_PATH",
    help="Judge by this profile (a built-in name or a TOML file) instead of the one the run "
    "was judged by.",
)
@option(
    "--spec",
    metavar="PATH_OR_URL",
    help="The contract, where the run's cannot be read.",
)
@option(
    "--webhook-secret",
    metavar="SECRET",
    help="The server's signing secret, for WEBHOOK-2 (a HAR never holds it).",
)
@output_option("json", "Write the JSON report (schema: lrokit/schemas/report.schema.json)")
@output_option("junit", "Write JUnit XML")
@option("--strict", is_flag=True, help="SHOULD failures fail the run (as they did if it was).")
@option(
    "--from-traffic",
    "from_traffic_",
    is_flag=True,
    help="FILE.har is other traffic (a browser's, a proxy's): follow its jobs by their 202 "
    "and Location, judge what it shows by --profile (default canonical), SKIP the rest.",
)
def replay(
    har_file: Path,
    profile: str | None,
    spec: str | None,
    webhook_secret: str | None,
    json_output: Output | None,
    junit_output: Output | None,
    strict: bool,
    from_traffic_: bool,
) -> None:
    """Judge a run recorded with lrokit check --har FILE.har again, offline, by the current
    rules: no request is sent. Rules that need what a HAR does not hold (the signing secret;
    the contract, when it cannot be read again) SKIP, saying which. With --from-traffic,
    judge a HAR of other traffic: what would need a request it does not hold SKIPs.

    Exit status: 0 conformant, 1 a conformance failure, 2 a usage or tester error.
    """
    import orjson

    from lrokit.model.profile import ProfileError, load_profile
    from lrokit.runner.options import OptionError, _webhook_secret
    from lrokit.runner.reporters import print_console, print_summary, to_json, to_junit
    from lrokit.runner.verdicts import exit_code

    try:
        chosen = load_profile(profile) if profile is not None else None
        secret = _webhook_secret(webhook_secret, "--webhook-secret")
    except ProfileError as exc:
        raise click.UsageError(f"--profile: {exc}") from None
    except OptionError as exc:
        raise click.UsageError(str(exc)) from None
    reports, judged_strict = read_har(
        har_file,
        profile=chosen,
        traffic=from_traffic_,
        spec=spec,
        webhook_secret=secret,
        strict=strict,
    )
    console = report_console(stderr=stdout_taken(json_output, junit_output))
    for report in reports:
        print_console(report, console)
    print_summary(reports, console)
    if junit_output is not None:
        junit_output.write(to_junit(*reports))
    if json_output is not None:
        document = to_json(reports, judged_strict)
        json_output.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    raise click.exceptions.Exit(max(exit_code(report.verdicts) for report in reports))
