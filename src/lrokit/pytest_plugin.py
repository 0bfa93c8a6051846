"""The lrokit pytest plugin: a project's own test run gates on conformance with ``--lrokit-url``.

Installed with lrokit (entry point ``pytest11``), it adds the conformance suite's options under
names of their own (``--lrokit-url``, ``--lrokit-profile`` …), so that they cannot clash with a
project's or another plugin's. Given ``--lrokit-url URL``, it adds the suite shipped in the
wheel (``lrokit.conformance``) to what pytest collects, beside the project's own tests: one run,
one report, one exit status for CI::

    pytest --lrokit-url http://127.0.0.1:8080 --junitxml=report.xml

Without ``--lrokit-url`` it adds nothing. The suite's own short options (``pytest conformance
--target-url URL``) set the same values; either spelling works.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import lrokit.conformance
from lrokit.extras import MissingExtra, require
from lrokit.runner.options import register_options

SUITE = Path(lrokit.conformance.__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lrokit", "lrokit conformance suite")
    register_options(
        group.addoption,
        "lrokit-",
        "--lrokit-url",
        "base URL of the server under test: adds lrokit's conformance suite to this run",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--lrokit-url``, collect the conformance suite too, unless the arguments already
    name it or a part of it (a directory above it is fine: pytest collects a path once).
    Without the generative layers installed, stop at once with one line naming the extra."""
    if config.getoption("lrokit_target_url", None) is None:
        return
    try:
        require("deep", "pytest --lrokit-url")
    except MissingExtra as exc:
        raise pytest.UsageError(str(exc)) from None
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == SUITE or SUITE in path.parents:
            return
    config.args.append(str(SUITE))
