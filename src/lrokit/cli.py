"""The ``lrokit`` command line: the group of commands, each of which lives beside what it drives.

``serve`` and ``worker`` (:mod:`lrokit.server.command`), ``check`` (:mod:`lrokit.runner.command`),
``lint`` (:mod:`lrokit.lint.command`), ``submit`` (:mod:`lrokit.submit`), ``rules`` and
``profiles`` (:mod:`lrokit.catalogue`). Configuration precedence: flags, then the ``LROKIT_*``
variables each ``--help`` names, then defaults. Bad input ends with one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from lrokit import __version__
from lrokit.catalogue import profiles, rules
from lrokit.discover.command import init
from lrokit.extras import MissingExtra
from lrokit.lint.command import lint
from lrokit.runner.command import check
from lrokit.runner.diff import diff
from lrokit.runner.replay import replay
from lrokit.server.command import serve, worker
from lrokit.submit import submit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lrokit")
def cli() -> None:
    """lrokit: the asynchronous request-reply (202 Accepted) contract kit."""


for command in (serve, worker, check, lint, init, submit, rules, profiles, diff, replay):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map usage errors to one line and exit code 2."""
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = cli.main(args=argv, prog_name="lrokit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("lrokit: aborted", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"lrokit: error: {exc.format_message()}", err=True)
        return 2
    except MissingExtra as exc:
        click.echo(f"lrokit: error: {exc}", err=True)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
