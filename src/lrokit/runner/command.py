"""``lrokit check URL``: one conformance run against the server at URL, reported per rule.

Exit status: 0 conformant, 1 a conformance failure, 2 a usage or tester error (one line on
stderr through :func:`lrokit.cli.main`). With ``--deep``, the pytest suite's generative layers
run after the rules (:mod:`lrokit.runner.deep`) with every option of the run.
:func:`write_run` writes a run's files, for ``check`` and for the pytest suite alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from lrokit.commandline import (
    Lines,
    Output,
    option,
    output_option,
    report_console,
    stdout_taken,
)
from lrokit.runner.options import (
    RUN_FILES,
    SUITE_OPTIONS,
    OptionError,
    SuiteOptions,
    parse,
    parse_target_url,
)

if TYPE_CHECKING:
    from lrokit.runner.run import Report

F = TypeVar("F", bound=Callable[..., Any])


def write_run(
    reports: Sequence[Report],
    options: SuiteOptions,
    *,
    json: Output | None = None,
    junit: Output | None = None,
    html: Output | None = None,
    har: Output | None = None,
) -> None:
    """Write the run's ``reports`` where asked (a file that cannot be written is a
    :class:`click.UsageError`), judged by ``options`` (strictness, selection)."""
    import orjson

    from lrokit.runner.reporters import to_json, to_junit

    if har is not None:  # first: the JSON report's violations cite its entries
        from lrokit.runner.har import document

        signed = options.webhook_secret is not None
        only, skip, strict = options.only, options.skip, options.strict
        har.write(
            orjson.dumps(document(reports, only=only, skip=skip, strict=strict, signed=signed))
        )
    if junit is not None:
        junit.write(to_junit(*reports))
    if json is not None:
        json.write(orjson.dumps(to_json(reports, options.strict), option=orjson.OPT_INDENT_2))
    if html is not None:
        from lrokit.runner.html import to_html

        html.write(to_html(reports, options.strict))


def suite_options(fn: F) -> F:
    """Every option of :data:`~lrokit.runner.options.SUITE_OPTIONS` as a click option, its
    value passed on as typed (validation is :func:`~lrokit.runner.options.parse`'s alone)."""
    for suite in reversed(SUITE_OPTIONS):
        decls = [f"--{suite.name}", *([suite.short] if suite.short else [])]
        help = suite.help + (" With --deep." if suite.deep else "")
        if suite.flag:
            fn = option(*decls, suite.name.replace("-", "_"), is_flag=True, help=help)(fn)
        else:
            fn = option(
                *decls,
                suite.name.replace("-", "_"),
                default=suite.default,
                multiple=suite.multiple,
                type=Lines() if suite.multiple else str,
                metavar=suite.metavar,
                help=help,
            )(fn)
    return fn


@click.command()
@click.argument("url", required=False)
@suite_options
@option(
    "--profile-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A profile of your own (TOML, see lrokit/schemas/profile.schema.json); wins over "
    "--profile.",
)
@output_option("json", RUN_FILES["json"])
@output_option("junit", "Write JUnit XML")
@output_option("html", RUN_FILES["html"])
@output_option("har", RUN_FILES["har"])
@option("--strict", is_flag=True, help="SHOULD failures fail the run.")
@option(
    "--deep",
    is_flag=True,
    help="Then run the pytest suite's generative layers too: schemathesis over the contract "
    "and the lifecycle state machine (needs lrokit[deep]).",
)
def check(
    url: str | None,
    profile_file: Path | None,
    json_output: Output | None,
    junit_output: Output | None,
    html_output: Output | None,
    har_output: Output | None,
    strict: bool,
    deep: bool,
    **given: Any,
) -> None:
    """Check the asynchronous request-reply behaviour of the server at URL.

    Without URL, the check file says what to check: --check-file, else lrokit.toml (or
    [tool.lrokit] in pyproject.toml) in the working directory; lrokit init --spec writes one.

    Exit status: 0 conformant, 1 a conformance failure, 2 a usage or tester error.
    """
    import asyncio

    from lrokit.extras import require
    from lrokit.runner.checkfile import find_checkfile
    from lrokit.runner.reporters import LiveProgress, print_console, print_summary
    from lrokit.runner.run import run_as
    from lrokit.runner.setup import SetupFailed
    from lrokit.runner.verdicts import exit_code

    raw = {suite.name: given[suite.name.replace("-", "_")] for suite in SUITE_OPTIONS}
    if profile_file is not None:
        raw["profile"] = str(profile_file)
    if url is None and raw["check-file"] is None:
        found = find_checkfile(Path.cwd())
        if found is None:
            raise click.UsageError(
                "give the URL of the server to check, or run where a check file is "
                "(lrokit.toml, or [tool.lrokit] in pyproject.toml; lrokit init --spec writes one)"
            )
        raw["check-file"] = str(found)
    try:
        target = parse_target_url(url, "URL") if url is not None else None
        options = parse(raw, target_url=target, strict=strict)
        if options.target_url is None:
            raise OptionError("URL", f"give it, or url in {options.check_file}")
    except OptionError as exc:
        if profile_file is not None and exc.option == "--profile":
            exc = OptionError("--profile-file", exc.reason)
        raise click.UsageError(str(exc)) from exc
    if deep:
        require("deep", "lrokit check --deep")
        if junit_output is not None and junit_output.is_stdout:
            raise click.UsageError("--junit -: with --deep, give a file (the layers get one too)")
    # A report on standard output keeps it for the report: people read standard error.
    outputs = (json_output, junit_output, html_output, har_output)
    console = report_console(stderr=stdout_taken(*outputs))
    with LiveProgress(console, options.target_url) as progress:
        try:
            reports = asyncio.run(run_as(options, observer=progress))
        except SetupFailed as exc:
            raise click.UsageError(str(exc)) from None
    for report in reports:
        print_console(report, console)
    print_summary(reports, console)
    write_run(
        reports, options, json=json_output, junit=junit_output, html=html_output, har=har_output
    )
    code = max(exit_code(report.verdicts) for report in reports)
    if deep:
        from lrokit.runner.deep import run_layers

        layers = junit_output.sibling("-layers") if junit_output is not None else None
        code = max(
            code,
            run_layers(options.target_url, raw, strict=strict, junit=layers, quiet=console.stderr),
        )
    raise click.exceptions.Exit(code)
