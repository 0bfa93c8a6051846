"""``lrokit lint SPEC``: the SPEC rules over an OpenAPI document, before any server exists.

Exit status: 0 clean (SHOULD findings only warn), 1 a finding that fails, 2 a usage error
or a document that cannot be read (one line on stderr through ``lrokit.cli.main``).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("spec")
@click.option(
    "--profile",
    default="canonical",
    show_default=True,
    envvar="LROKIT_PROFILE",
    help="A built-in profile name (lrokit profiles lists them) or a profile file (TOML): "
    "its monitor header, state field and terminal states.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the findings as JSON (schema: lrokit/schemas/lint.schema.json).",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option(
    "--sarif",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write SARIF 2.1.0 (for code scanning annotations).",
)
@click.option("--strict", is_flag=True, help="SHOULD findings fail too.")
def lint(
    spec: str,
    profile: str,
    json_path: Path | None,
    junit: Path | None,
    sarif: Path | None,
    strict: bool,
) -> None:
    """Lint the OpenAPI 3.0/3.1 document SPEC (a path or an http(s) URL) for the
    asynchronous request-reply pattern.

    Exit status: 0 clean, 1 a finding that fails, 2 a usage error or an unreadable document.
    """
    import orjson
    from rich.console import Console

    from lrokit.lint.checks import lint as run_lint
    from lrokit.lint.document import SpecError, load_document
    from lrokit.lint.report import LintReport, print_console, to_json, to_junit
    from lrokit.lint.sarif import to_sarif
    from lrokit.model.profile import ProfileError, load_profile

    try:
        chosen = load_profile(profile)
        document = load_document(spec)
    except (ProfileError, SpecError) as exc:
        raise click.UsageError(str(exc)) from exc
    report = LintReport(document, chosen.name, run_lint(document, chosen), strict)
    print_console(report, Console())
    try:
        if json_path is not None:
            json_path.write_bytes(orjson.dumps(to_json(report), option=orjson.OPT_INDENT_2))
        if junit is not None:
            junit.write_bytes(to_junit(report))
        if sarif is not None:
            sarif.write_bytes(orjson.dumps(to_sarif(report), option=orjson.OPT_INDENT_2))
    except OSError as exc:
        raise click.UsageError(f"cannot write the report: {exc}") from exc
    raise click.exceptions.Exit(report.exit_code)
