"""``lrokit lint SPEC``: the SPEC rules over an OpenAPI document, before any server exists.

Exit status: 0 clean (SHOULD findings only warn), 1 a finding that fails, 2 a usage error
or a document that cannot be read (one line on stderr through ``lrokit.cli.main``).
"""

from __future__ import annotations

import click

from lrokit.commandline import Output, option, output_option, report_console, stdout_taken


@click.command()
@click.argument("spec")
@option(
    "--profile",
    default="canonical",
    help="A built-in profile name (lrokit profiles lists them) or a profile file (TOML): "
    "its monitor header, state field and terminal states.",
)
@output_option("json", "Write the findings as JSON (schema: lrokit/schemas/lint.schema.json)")
@output_option("junit", "Write JUnit XML")
@output_option("sarif", "Write SARIF 2.1.0 (for code scanning annotations)")
@option("--strict", is_flag=True, help="SHOULD findings fail too.")
def lint(
    spec: str,
    profile: str,
    json_output: Output | None,
    junit_output: Output | None,
    sarif_output: Output | None,
    strict: bool,
) -> None:
    """Lint the OpenAPI 3.0/3.1 document SPEC (a path or an http(s) URL) for the
    asynchronous request-reply pattern.

    Exit status: 0 clean, 1 a finding that fails, 2 a usage error or an unreadable document.
    """
    import orjson

    from lrokit.lint.checks import lint as run_lint
    from lrokit.lint.document import SpecError, load_document
    from lrokit.lint.report import LintReport, print_console, to_json, to_junit
    from lrokit.lint.sarif import to_sarif
    from lrokit.model.profile import ProfileError, load_profile

    try:
        chosen = load_profile(profile)
        document = load_document(spec)
        findings = run_lint(document, chosen)
    except (ProfileError, SpecError) as exc:
        raise click.UsageError(str(exc)) from exc
    report = LintReport(document, chosen.name, findings, strict)
    # A report on standard output keeps it for the report: people read standard error.
    print_console(
        report, report_console(stderr=stdout_taken(json_output, junit_output, sarif_output))
    )
    if json_output is not None:
        json_output.write(orjson.dumps(to_json(report), option=orjson.OPT_INDENT_2))
    if junit_output is not None:
        junit_output.write(to_junit(report))
    if sarif_output is not None:
        sarif_output.write(orjson.dumps(to_sarif(report), option=orjson.OPT_INDENT_2))
    raise click.exceptions.Exit(report.exit_code)
