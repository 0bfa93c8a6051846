"""One conformance run: record the scenarios against a target, then judge every rule."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import httpx

from lrokit.model.contract import Contract
from lrokit.model.exchange import Exchange
from lrokit.model.profile import Profile
from lrokit.model.recording import Recording
from lrokit.model.requests import fitted_encoding
from lrokit.runner.options import SuiteOptions
from lrokit.runner.scenarios import Scenarios
from lrokit.runner.setup import prepare
from lrokit.runner.target import Target, TargetConfig
from lrokit.runner.verdicts import Outcome, Verdict, judge


@dataclass(frozen=True)
class JobTiming:
    """How one followed job went in time: what a client of the pattern pays."""

    job: str  # what the run submitted it for: "submit", "submit-failing" …
    polls: int  # monitor reads until a terminal state
    seconds: float  # from the submission to the end of the first terminal read
    noticed_within: float  # the job ended at most this long before that read said so


@dataclass(frozen=True)
class Timing:
    """The figures of a run: the initiating responses' latency and each job's course."""

    initiation: tuple[float, ...]  # seconds each initiating response took
    jobs: tuple[JobTiming, ...]

    @staticmethod
    def of(rec: Recording, profile: Profile) -> Timing:
        jobs = []
        for trace in (rec.main, rec.failing):
            if trace is None or trace.final_state is None or not trace.polls:
                continue
            last = trace.polls[-1]
            before = trace.polls[-2] if len(trace.polls) > 1 else trace.submission
            jobs.append(
                JobTiming(
                    trace.submission.label,
                    len(trace.polls),
                    last.at + last.seconds - trace.submission.at,
                    last.at + last.seconds - before.at,
                )
            )
        initiating = [s for s in rec.submissions() if s.status in profile.initiation_status]
        return Timing(tuple(s.seconds for s in initiating), tuple(jobs))


@dataclass
class Report:
    """What a run found."""

    target: str
    profile: str
    verdicts: list[Verdict]
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    unreachable: str | None = None  # why no request got an answer, if none did
    timing: Timing = field(default_factory=lambda: Timing((), ()))
    operation: str | None = None  # the check file's operation it is of, if any
    # What the run saw and the profile it read it by (the HTML report draws its jobs' course).
    recording: Recording | None = field(default=None, repr=False, compare=False)
    dialect: Profile | None = field(default=None, repr=False, compare=False)
    # What --har writes beside it: the contract read (its path or URL), the run's start in
    # Unix seconds, and each exchange's HAR entry index by id() (set when a HAR is written).
    spec: str | None = field(default=None, repr=False, compare=False)
    started: float = field(default=0.0, repr=False, compare=False)
    har_entries: dict[int, int] = field(default_factory=dict, repr=False, compare=False)


async def run(
    config: TargetConfig,
    profile: Profile,
    *,
    contract: Contract | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    only: Collection[str] = (),
    skip: Collection[str] = (),
    strict: bool = False,
    observer: Callable[[Exchange], None] | None = None,
) -> Report:
    """Check one server. Never raises for anything the server does."""
    started, wall = time.monotonic(), time.time()
    fitted = None
    if contract is not None:  # where the contract says more than the profile (its links)
        profile = contract.fitted(profile)
        profile, fitted = fitted_encoding(contract, profile)
    target = Target(config, transport, observer)
    try:
        rec = await Scenarios(target, profile, contract).run()
    finally:
        await target.aclose()
    if fitted is not None:
        rec.notes.insert(0, fitted)
    if contract is not None:
        rec.validate = contract.monitor_validator(profile)
    report = judged(config.base_url, rec, profile, only=only, skip=skip, strict=strict)
    report.seconds, report.started = time.monotonic() - started, wall
    report.spec = contract.source if contract is not None else None
    return report


def judged(
    target: str,
    rec: Recording,
    profile: Profile,
    *,
    only: Collection[str] = (),
    skip: Collection[str] = (),
    strict: bool = False,
) -> Report:
    """The report of a recording, what a live run and ``lrokit replay`` share: every rule
    judged over ``rec`` by :func:`~lrokit.runner.verdicts.judge`, every verdict an ERROR when no
    request got an answer, and the run's figures in time (``seconds`` is the caller's)."""
    verdicts = judge(rec, profile, only=only, skip=skip, strict=strict)
    unreachable = None
    if rec.exchanges and all(e.status is None for e in rec.exchanges):
        unreachable = f"the target could not be reached: {rec.exchanges[0].error}"
        verdicts = [Verdict(v.rule, Outcome.ERROR, reason=unreachable) for v in verdicts]
    return Report(
        target,
        profile.name,
        verdicts,
        rec.notes,
        len(rec.exchanges) + len(rec.cleaned),
        0.0,
        unreachable,
        Timing.of(rec, profile),
        recording=rec,
        dialect=profile,
    )


async def run_as(
    options: SuiteOptions,
    observer: Callable[[Exchange], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Report]:
    """The runs the options say (``lrokit check``, the suite's recorded run): the setup
    requests first (:class:`~lrokit.runner.setup.SetupFailed` when one is refused), then one
    run per operation, in order, each named after its operation when a check file gave it."""
    config = options.target_config()
    await prepare(config, options.setup, transport)
    reports = []
    for operation in options.checked:
        report = await run(
            config,
            operation.profile,
            contract=options.contract,
            transport=transport,
            only=options.only,
            skip=options.skip,
            strict=options.strict,
            observer=observer,
        )
        if options.operations:
            report.operation = operation.name
        report.notes[:0] = options.notes
        reports.append(report)
    return reports
