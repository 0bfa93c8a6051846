"""``lrokit rules`` and ``lrokit profiles``: what the tester knows, listed from its registries
(the rules of :mod:`lrokit.rules`, the built-in dialects of :mod:`lrokit.model.profile`)."""

from __future__ import annotations

import click

from lrokit.commandline import option


@click.command()
def profiles() -> None:
    """List the built-in profiles (dialects) that check --profile takes."""
    from rich.console import Console
    from rich.table import Table

    from lrokit.model.profile import builtin_profiles, load_profile

    table = Table(expand=True)
    for column in ("profile", "initiation", "monitor pointer", "states", "description"):
        table.add_column(column)
    for name in sorted(builtin_profiles()):
        dialect = load_profile(name)
        table.add_row(
            name,
            " or ".join(map(str, dialect.initiation_status)),
            dialect.monitor_header
            if dialect.monitor_template is None
            else f"{dialect.monitor_header}, else {dialect.monitor_template}",
            ", ".join(dialect.states),
            dialect.description,
        )
    Console().print(table)


@click.command()
@option("--markdown", is_flag=True, help="Print docs/rules.md.")
def rules(markdown: bool) -> None:
    """List the conformance rules."""
    from rich.console import Console
    from rich.table import Table

    from lrokit.rules import by_family, render_markdown

    if markdown:
        click.echo(render_markdown(), nl=False)
        return
    table = Table(expand=True)
    for column in ("rule", "level", "basis", "rule text", "source"):
        table.add_column(column)
    for _family, members in by_family():
        table.add_section()
        for rule in members:
            table.add_row(rule.id, str(rule.level), str(rule.basis), rule.text, rule.citation)
    Console().print(table)
