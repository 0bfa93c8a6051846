"""The options of a conformance run, declared once: ``lrokit check`` (and its ``--deep``), the
pytest suite's conftest and the pytest plugin all register them from :data:`SUITE_OPTIONS` and
validate them with :func:`parse`, so that a value means the same and fails the same way
everywhere.

Each option is spelled ``--NAME`` by ``lrokit check`` (variable ``LROKIT_NAME``), ``--NAME``
by the suite's conftest and ``--lrokit-NAME`` by the plugin, except where pytest already owns
the name: the per-request ``--timeout`` is ``--request-timeout`` in pytest (pytest-timeout's
``--timeout`` is a whole test's). Values arrive as text, as typed; :func:`parse` turns them into
a :class:`SuiteOptions` or raises :class:`OptionError` with one line that names the option.

The files a run is written to (:data:`RUN_FILES`) are ``lrokit check``'s output options
(``--json`` …); the suite and the plugin take them as ``--run-NAME`` and ``--lrokit-NAME``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lrokit.commandline import header
from lrokit.rules import FAMILIES, LINT_FAMILY, RULES, RUNTIME_RULES

if TYPE_CHECKING:  # loaded on use: the pytest plugin imports this table at every pytest start
    from lrokit.model.contract import Contract
    from lrokit.model.profile import Profile
    from lrokit.runner.checkfile import Operation
    from lrokit.runner.overrides import SetupStep
    from lrokit.runner.target import TargetConfig


class OptionError(ValueError):
    """A value no run can use: ``option`` names it as typed (``--max-wait``, ``URL``),
    ``reason`` says why; the message is both."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(f"{option}: {reason}")
        self.option = option
        self.reason = reason


@dataclass(frozen=True)
class SuiteOption:
    """One option of a conformance run, as every command line offers it."""

    name: str  # lrokit check's --NAME; its variable is LROKIT_NAME
    help: str
    metavar: str | None = None
    default: str | None = None  # as it would be typed; None: not given
    multiple: bool = False
    flag: bool = False
    short: str | None = None  # lrokit check's one-letter form
    pytest_name: str | None = None  # the pytest spelling, where pytest owns --NAME
    deep: bool = False  # read only by the generative layers (check --deep, the suite)

    @property
    def in_pytest(self) -> str:
        return self.pytest_name or self.name

    @property
    def dest(self) -> str:
        """Where pytest stores it, whichever spelling set it."""
        return "lrokit_" + self.name.replace("-", "_")


SUITE_OPTIONS: tuple[SuiteOption, ...] = (
    SuiteOption("profile", "A built-in profile name (lrokit profiles lists them) or a profile "
                "file (TOML) [default: canonical; with --spec and no profile, the profiles "
                "are inferred from the spec, as lrokit init writes them].", "NAME_OR_PATH"),
    SuiteOption("spec", "The target's OpenAPI document, a path or an http(s) URL "
                "[default: the profile's].", "PATH_OR_URL"),
    SuiteOption("header", "Send this header with every request, e.g. auth; redacted in "
                "reports (repeatable).", "'NAME: VALUE'", multiple=True, short="-H"),
    SuiteOption("other-header", "Another principal's credentials, by the names --header "
                "gives the run's, e.g. 'Authorization: Bearer B': the TENANCY rules then ask "
                "for the run's jobs as that principal, and without those fields; an empty "
                "value sends the field not at all; redacted in reports (repeatable; without "
                "it the TENANCY rules are not run).", "'NAME: VALUE'", multiple=True),
    SuiteOption("callbacks", "Judge completion webhooks (the WEBHOOK rules, where the "
                "profile has them): jobs name callback URLs of a receiver the run starts on "
                "127.0.0.1 [without it the WEBHOOK rules are not run].", flag=True),
    SuiteOption("callback-url", "Where the server reaches the receiver when not at "
                "127.0.0.1, e.g. http://host.docker.internal:8765/hooks: the receiver "
                "listens on 127.0.0.1 at its port (implies --callbacks).", "URL"),
    SuiteOption("webhook-secret", "The server's Standard Webhooks signing secret "
                "(whsec_...), to verify deliveries with (WEBHOOK-2; without it that rule is not "
                "run); never shown in reports. Prefer the variable to the flag: a flag shows "
                "in the process list.", "SECRET"),
    SuiteOption("query", "Add this query parameter to every request, e.g. "
                "api-version=2024-01-01, after the query a URL has (a name it has keeps its "
                "value; repeatable).", "NAME=VALUE", multiple=True),
    SuiteOption("max-wait", "Seconds a job may take to reach a terminal state, within "
                "(0, 86400].", "SECONDS", default="60"),
    SuiteOption("time-scale", "Multiply every wait between polls, within [0, 1]: the advised "
                "Retry-After, and the 1 s waited where none is advised (below 1 polls sooner "
                "than the server asked).", "FACTOR", default="1"),
    SuiteOption("timeout", "Seconds one request may take, first byte to last, within "
                "(0, 600].", "SECONDS", default="10", pytest_name="request-timeout"),
    SuiteOption("max-requests", "Requests one run may send, within [50, 100000].", "N",
                default="500"),
    SuiteOption("only", "Judge only these rule ids or families, e.g. RETRY-3,HTTP "
                "(comma-separated, repeatable).", "RULES", multiple=True),
    SuiteOption("skip", "Do not judge these rule ids or families (comma-separated, "
                "repeatable).", "RULES", multiple=True),
    SuiteOption("allow-cross-origin", "Follow monitor and result links to other origins.",
                flag=True),
    SuiteOption("check-file", "A check file (lrokit.toml, or a pyproject.toml with "
                "[tool.lrokit]): the base URL, headers, setup requests and the operations to "
                "check [default for lrokit check with no URL: the one in the working "
                "directory].", "PATH"),
    SuiteOption("operation", "Check only these operations of the check file, or of the spec "
                "inferred (repeatable).", "NAME", multiple=True),
    SuiteOption("submit", "The operation that starts a job, instead of the profile's: "
                "'POST /v1/exports'.", "'METHOD PATH'"),
    SuiteOption("data", "The JSON body of a submission whose job succeeds, or @FILE.",
                "JSON|@FILE"),
    SuiteOption("form", "A field of a multipart/form-data body; NAME=@FILE attaches a file "
                "(repeatable).", "NAME=VALUE", multiple=True),
    SuiteOption("urlencoded", "Send the --form fields as application/x-www-form-urlencoded; "
                "NAME=@FILE is then the file's text.", flag=True),
    SuiteOption("no-body", "The operation takes no body: send none, and no body probes.",
                flag=True),
    SuiteOption("failing-data", "The body of a valid submission whose job fails, where the "
                "API has one (JSON, or @FILE; its fields for a form).", "JSON|@FILE"),
    SuiteOption("setup", "A request sent before the check, e.g. to create the parent "
                "resource: 'PUT /widgets/w1 --data {...}' (repeatable, in order; one refused "
                "is a usage error).", "'METHOD PATH [--data JSON|@FILE] [--form N=V]'",
                multiple=True),
    SuiteOption("monitor-template", "Where the monitor is when no header points at it: "
                "{body:jobId} is the initiating body's member, {header:x-job-id} a header's "
                "value, e.g. /jobs/{body:jobId}.", "PATH"),
    SuiteOption("result-template", "Where a job's result is: {monitor}/result, or {submit} "
                "(the submitted URL: a PUT whose result is the resource it created).",
                "TEMPLATE"),
    SuiteOption("schema-examples", "Schemathesis examples per operation of the schema layer "
                "(0 disables it).", "N", default="20", deep=True),
    SuiteOption("lifecycle-examples", "Runs of the lifecycle state machine (0 disables it).",
                "N", default="5", deep=True),
)  # fmt: skip
BY_NAME: Mapping[str, SuiteOption] = {option.name: option for option in SUITE_OPTIONS}

#: The files the rules' run is written to, by option name: ``lrokit check``'s output options
#: (with JUnit, which the suite has from pytest's ``--junitxml``), and the suite's and the
#: plugin's (:func:`register_options`), written alike (:func:`lrokit.runner.command.write_run`).
RUN_FILES: Mapping[str, str] = {
    "json": "Write the JSON report (schema: lrokit/schemas/report.schema.json)",
    "html": "Write one self-contained HTML page: the verdicts, breaches, each job's timeline",
    "har": "Write every exchange of the run as HAR 1.2, secrets redacted (lrokit replay reads it)",
}


@dataclass(frozen=True)
class SuiteOptions:
    """A conformance run's options, validated."""

    target_url: str | None
    profile: Profile
    spec: str | None  # path or URL of the contract; None when the profile names none
    contract: Contract | None = None  # read when there is a target
    headers: dict[str, str] = field(default_factory=dict)
    other_headers: dict[str, str] = field(default_factory=dict)  # another principal's
    query: dict[str, str] = field(default_factory=dict)
    max_wait: float = 60.0
    time_scale: float = 1.0
    timeout: float = 10.0
    max_requests: int = 500
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    allow_cross_origin: bool = False
    callbacks: bool = False
    callback_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    strict: bool = False
    schema_examples: int = 20
    lifecycle_examples: int = 5
    # A check file's or an inferred spec's operations (the first is ``profile``): empty for a
    # run of one profile.
    operations: tuple[Operation, ...] = ()
    setup: tuple[SetupStep, ...] = ()
    check_file: Path | None = None
    notes: tuple[str, ...] = ()  # what every report of the run says first

    @property
    def checked(self) -> tuple[Operation, ...]:
        """The operations a run checks: the check file's, or one, named after its profile."""
        from lrokit.runner.checkfile import Operation

        return self.operations or (Operation(self.profile.name, self.profile),)

    def target_config(self) -> TargetConfig:
        from lrokit.runner.target import TargetConfig

        assert self.target_url is not None
        return TargetConfig(
            self.target_url,
            headers=dict(self.headers),
            other_headers=dict(self.other_headers),
            query=dict(self.query),
            timeout=self.timeout,
            max_requests=self.max_requests,
            max_wait=self.max_wait,
            time_scale=self.time_scale,
            allow_cross_origin=self.allow_cross_origin,
            callbacks=self.callbacks,
            callback_url=self.callback_url,
            webhook_secret=self.webhook_secret,
        )


# -- parsing -------------------------------------------------------------------------------


def _number(name: str, raw: str, low: float, high: float, *, open_low: bool) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise OptionError(f"--{name}", f"{raw!r} is not a number") from None
    if not (low < value if open_low else low <= value) or not value <= high:
        bounds = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        raise OptionError(f"--{name}", f"{raw!r} is not within {bounds}")
    return value


def _count(name: str, raw: str, low: int = 0, high: int | None = None) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise OptionError(f"--{name}", f"{raw!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        within = f"within [{low}, {high}]" if high is not None else f">= {low}"
        raise OptionError(f"--{name}", f"{raw!r} is not {within}")
    return value


def _headers(values: Iterable[str], option: str = "--header") -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        try:
            name, content = header(value)
        except ValueError as exc:
            raise OptionError(option, str(exc)) from None
        headers[name] = content
    return headers


def _other_principal(headers: Mapping[str, str], other: Mapping[str, str]) -> dict[str, str]:
    """``other`` (``--other-header``), which MUST name another principal than ``headers``
    (``--header``): its requests carry its own credentials, so every field of the run's that
    carries credentials MUST be given anew (or empty, to send none), and they MUST NOT all be
    the run's own values; else the TENANCY rules would blame the server for serving the run's
    own principal."""
    from lrokit.model.exchange import carries_credentials

    if not other:
        return {}
    given = {name.lower(): value for name, value in other.items()}
    kept = [name for name in headers if carries_credentials(name) and name.lower() not in given]
    if kept:
        raise OptionError(
            "--other-header",
            f"gives no {', '.join(kept)}, which --header sends as the run's credentials: the "
            f"other principal's requests would carry them too; give its own, or '{kept[0]}:' "
            "to send none",
        )
    own = {name.lower(): value for name, value in headers.items()}
    if all(own.get(name) == value for name, value in given.items()):
        raise OptionError(
            "--other-header", "the run's own credentials (--header): give another principal's"
        )
    return dict(other)


def _callback_url(raw: str | None, label: str) -> str | None:
    """``--callback-url`` (``label`` names it in the error): an absolute http(s) URL with a
    host and the port the receiver listens on (at 127.0.0.1), without credentials, query or
    fragment: the URLs it hands out are under its path."""
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise OptionError(label, f"{raw!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(label, f"{raw!r} is not an absolute http(s) URL with a host")
    if port is None:
        raise OptionError(label, f"{raw!r} names no port: give the one the receiver listens on")
    if parts.username is not None or parts.query or parts.fragment:
        raise OptionError(label, f"{raw!r} has credentials, a query or a fragment")
    return raw


def _webhook_secret(raw: str | None, label: str) -> str | None:
    """``--webhook-secret`` (``label`` names it in the error): a Standard Webhooks secret
    (``whsec_`` and a base64 key), which no message repeats."""
    from lrokit.webhooks import WebhookVerificationError, signature_headers

    if raw is None:
        return None
    try:
        signature_headers(raw, "lrokit", 0, b"")
        valid = raw.startswith("whsec_")
    except WebhookVerificationError:
        valid = False
    if not valid:
        raise OptionError(label, "not a Standard Webhooks secret (whsec_ and a base64 key)")
    return raw


def _query(values: Iterable[str]) -> dict[str, str]:
    query: dict[str, str] = {}
    for value in values:
        key, equals, content = value.partition("=")
        if not equals or not key:
            raise OptionError("--query", f"{value!r} is not NAME=VALUE")
        query[key] = content
    return query


def _selection(name: str, values: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(
        part.strip().upper() for value in values for part in value.split(",") if part.strip()
    )
    unknown = [value for value in chosen if value not in RULES and value not in FAMILIES]
    if unknown:
        raise OptionError(
            f"--{name}",
            f"{', '.join(map(repr, unknown))} is neither a rule id nor a family "
            f"(families: {', '.join(FAMILIES)})",
        )
    static = [v for v in chosen if v == LINT_FAMILY or (v in RULES and v not in RUNTIME_RULES)]
    if static:
        raise OptionError(
            f"--{name}",
            f"{', '.join(static)}: rules of a specification, judged by lrokit lint, "
            "not on a server",
        )
    return chosen


def parse_target_url(raw: str, label: str) -> str:
    """An absolute http(s) URL with a host and no fragment: the base of every profile path.
    ``label`` names it in the error (``URL``, ``--target-url``)."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(label, f"{raw!r} is not an absolute http(s) URL with a host")
    if parts.fragment:
        raise OptionError(label, f"{raw!r} has a fragment")
    if parts.query:
        raise OptionError(label, f"{raw!r} has a query: give it with --query NAME=VALUE")
    return raw


#: The options that change one operation: with a check file of several, choose one.
OVERRIDES = ("submit", "data", "form", "no-body", "failing-data", "monitor-template",
             "result-template")  # fmt: skip


def parse(raw: Mapping[str, Any], *, target_url: str | None, strict: bool = False) -> SuiteOptions:
    """Every option of a run from its text as typed (``raw`` by option name; absent or None:
    the default). A check file gives the target URL when none is given, its headers and
    another principal's (the command line's win), its setup requests (before the command
    line's) and its operations. The contract is read only when there is a target to test."""
    from lrokit.model.contract import ContractError, load_contract
    from lrokit.model.profile import ProfileError, load_profile
    from lrokit.runner.checkfile import CheckFileError, Operation, load_checkfile
    from lrokit.runner.overrides import OverrideError, overridden, setup_steps

    def get(name: str) -> Any:
        value = raw.get(name)
        option = BY_NAME[name]
        if value is None:
            return () if option.multiple else (False if option.flag else option.default)
        return value

    checkfile = None
    if get("check-file"):
        try:
            checkfile = load_checkfile(Path(get("check-file")))
        except CheckFileError as exc:
            raise OptionError("--check-file", str(exc)) from None
        if target_url is None and checkfile.url is not None:
            target_url = parse_target_url(checkfile.url, f"{checkfile.path}: url")
    spec = get("spec") or (checkfile.spec if checkfile else None)
    notes: tuple[str, ...] = ()
    if checkfile is not None:
        if raw.get("profile") is not None:
            raise OptionError(
                "--profile", f"each operation of {checkfile.path} names its profile; give one there"
            )
        source, available = str(checkfile.path), list(checkfile.operations)
    elif raw.get("profile") is None and spec is not None and target_url is not None:
        # No profile named: the spec says what to check, as lrokit init would write it.
        source = f"--spec {spec}"
        available, notes = _inferred(spec, target_url)
    else:
        try:
            profile = load_profile(get("profile") or "canonical")
        except ProfileError as exc:
            raise OptionError("--profile", str(exc)) from None
        source, available = "", [Operation(profile.name, profile)]
    operations = _chosen(available, get("operation"), source)
    given = [name for name in OVERRIDES if get(name)]
    if given and len(operations) > 1:
        raise OptionError(
            f"--{given[0]}",
            f"changes one operation, and {len(operations)} are checked: choose one with "
            "--operation NAME",
        )
    try:
        operations = [Operation(op.name, overridden(op.profile, raw)) for op in operations]
        setup = (*(checkfile.setup if checkfile else ()), *setup_steps(get("setup")))
    except OverrideError as exc:
        raise OptionError(exc.option, exc.reason) from None
    spec = spec or operations[0].profile.spec_source
    contract = None
    if target_url is not None and spec is not None:
        try:
            contract = load_contract(spec)
        except ContractError as exc:
            raise OptionError("--spec", str(exc)) from None
        # every layer reads results where the spec says
        operations = [replace(op, profile=contract.fitted(op.profile)) for op in operations]
    headers = {**(checkfile.headers if checkfile else {}), **_headers(get("header"))}
    other = {
        **(checkfile.other_headers if checkfile else {}),
        **_headers(get("other-header"), "--other-header"),
    }
    # Completion webhooks: the command line's values, else the check file's [webhooks].
    asked, callback_url = False, _callback_url(get("callback-url"), "--callback-url")
    secret = _webhook_secret(get("webhook-secret"), "--webhook-secret")
    if checkfile is not None:
        where = f"{checkfile.path}: webhooks"
        asked = checkfile.webhooks
        callback_url = callback_url or _callback_url(checkfile.callback_url, f"{where}.url")
        secret = secret or _webhook_secret(checkfile.webhook_secret, f"{where}.secret")
    return SuiteOptions(
        target_url=target_url,
        profile=operations[0].profile,
        spec=spec,
        contract=contract,
        headers=headers,
        other_headers=_other_principal(headers, other),
        query=_query(get("query")),
        max_wait=_number("max-wait", get("max-wait"), 0, 86400, open_low=True),
        # A scale that never waits longer than the server asked (0 does not wait at all).
        time_scale=_number("time-scale", get("time-scale"), 0, 1, open_low=False),
        timeout=_number("timeout", get("timeout"), 0, 600, open_low=True),
        max_requests=_count("max-requests", get("max-requests"), 50, 100_000),
        only=_selection("only", get("only")),
        skip=_selection("skip", get("skip")),
        allow_cross_origin=bool(get("allow-cross-origin")),
        callbacks=bool(get("callbacks")) or callback_url is not None or asked,
        callback_url=callback_url,
        webhook_secret=secret,
        strict=strict,
        schema_examples=_count("schema-examples", get("schema-examples")),
        lifecycle_examples=_count("lifecycle-examples", get("lifecycle-examples")),
        operations=tuple(operations) if source else (),
        setup=setup,
        check_file=checkfile.path if checkfile else None,
        notes=notes,
    )


def _chosen(available: list[Operation], chosen: Iterable[str], source: str) -> list[Operation]:
    """The operations to check: the ``chosen`` ones of those ``source`` (a check file, a spec)
    names, or all of them when none is chosen."""
    wanted = {name.strip() for value in chosen for name in str(value).split(",") if name.strip()}
    if wanted and not source:
        raise OptionError(
            "--operation", "chooses among the operations of a check file or an inferred spec"
        )
    known = [op.name for op in available]
    unknown = sorted(wanted - set(known))
    if unknown:
        raise OptionError(
            "--operation", f"{', '.join(unknown)}: not in {source} ({', '.join(known)})"
        )
    return [op for op in available if not wanted or op.name in wanted]


def _inferred(spec: str, target_url: str) -> tuple[list[Operation], tuple[str, ...]]:
    """The operations ``spec`` describes, each with the profile ``lrokit init`` would write
    for it, and a note saying so. Their paths carry the document's base path; a target URL
    that already ends with it keeps it once."""
    from lrokit.discover.profiles import discover
    from lrokit.discover.specs import read_spec
    from lrokit.lint.document import SpecError
    from lrokit.model.profile import ProfileError, load_profile_data
    from lrokit.runner.checkfile import Operation

    try:
        found = discover(read_spec(spec))  # none found: NoLongRunningOperation, a SpecError
    except SpecError as exc:
        raise OptionError("--spec", str(exc)) from None
    base = found.spec.base_path.rstrip("/")
    doubled = bool(base) and urlsplit(target_url).path.rstrip("/").endswith(base)
    operations = []
    for inferred in found.operations:
        data = inferred.data
        if doubled:
            data = _without_base(data, base)
        try:
            operations.append(Operation(inferred.name, load_profile_data(data)))
        except ProfileError as exc:
            raise OptionError("--spec", f"{inferred.name}: {exc}") from None
    names = ", ".join(op.name for op in operations)
    note = (
        f"no profile given: the profiles of {names} were inferred from {spec} (lrokit init "
        f"--spec {spec} writes them to a file to read and correct)"
    )
    return operations, (note,)


def _without_base(data: Mapping[str, Any], base: str) -> dict[str, Any]:
    """A profile's tables with ``base`` taken off the front of its submit path and monitor
    template."""
    tables = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in data.items()
    }
    for table, key in (("submit", "path"), ("initiation", "monitor_template")):
        value = tables.get(table, {}).get(key)
        if isinstance(value, str) and value.startswith(base + "/"):
            tables[table][key] = value[len(base) :]
    return tables


def to_pytest_args(raw: Mapping[str, Any]) -> list[str]:
    """The options given in ``raw`` as the suite's pytest arguments, every one of them."""
    args: list[str] = []
    for option in SUITE_OPTIONS:
        value = raw.get(option.name)
        if value is None or value is False or value == ():
            continue
        flag = f"--{option.in_pytest}"
        if option.flag:
            args.append(flag)
        elif option.multiple:
            args += [f"{flag}={item}" for item in value]
        else:
            args.append(f"{flag}={value}")
    return args


def register_options(add: Callable[..., None], prefix: str, url_option: str, url_help: str) -> None:
    """Register every option with pytest's ``add`` (a group's ``addoption``) as
    ``--{prefix}NAME``, the target URL as ``url_option``, and the files of :data:`RUN_FILES` as
    ``--{prefix}NAME`` too, or ``--run-NAME`` without a prefix (pytest-json and pytest-html
    own ``--json`` and ``--html``)."""
    add(url_option, dest="lrokit_target_url", metavar="URL", help=url_help)
    for name, help in RUN_FILES.items():
        add(
            f"--{prefix or 'run-'}{name}",
            dest=f"lrokit_run_{name}",
            metavar="FILE",
            help=f"The recorded run (the rule tests'): {help[0].lower()}{help[1:]}.",
        )
    for option in SUITE_OPTIONS:
        default = f" (default: {option.default})" if option.default is not None else ""
        how: dict[str, Any] = {"dest": option.dest, "help": option.help + default}
        if option.flag:
            how["action"] = "store_true"
        else:
            how["metavar"] = option.metavar
            if option.multiple:
                how["action"] = "append"
        add(f"--{prefix}{option.in_pytest}", **how)
