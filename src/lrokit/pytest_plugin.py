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
from typing import Any

import pytest

import lrokit.conformance

SUITE = Path(lrokit.conformance.__file__).resolve().parent

#: The suite's options after its target URL, as ``(name, how)``. The suite's conftest registers
#: each as ``--NAME``, this plugin as ``--lrokit-NAME``; both store it in ``lrokit_NAME``.
SUITE_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("profile", {"default": "canonical", "metavar": "NAME_OR_PATH",
                 "help": "built-in profile name or profile file (default: canonical)"}),
    ("spec", {"metavar": "PATH_OR_URL",
              "help": "OpenAPI contract of the target (default: the profile's)"}),
    ("header", {"action": "append", "default": [], "metavar": "'NAME: VALUE'",
                "help": "header sent with every request, e.g. auth (repeatable)"}),
    ("query", {"action": "append", "default": [], "metavar": "K=V",
               "help": "query parameter added to every request (repeatable)"}),
    ("max-wait", {"default": "60", "metavar": "SECONDS",
                  "help": "seconds a job may take to reach a terminal state (default: 60)"}),
    ("time-scale", {"default": "1.0", "metavar": "FLOAT",
                    "help": "multiplies every Retry-After wait, within [0, 1] (default: 1.0)"}),
    ("only", {"action": "append", "default": [], "metavar": "RULES",
              "help": "judge only these rule ids or families, e.g. RETRY-3,HTTP "
                      "(comma-separated, repeatable)"}),
    ("skip", {"action": "append", "default": [], "metavar": "RULES",
              "help": "do not judge these rule ids or families (comma-separated, repeatable)"}),
    ("schema-examples", {"default": "20", "metavar": "N",
                         "help": "schemathesis examples per operation (default: 20; 0 disables "
                                 "the schema layer)"}),
    ("lifecycle-examples", {"default": "5", "metavar": "N",
                            "help": "state machine runs of the lifecycle layer (default: 5; 0 "
                                    "disables it)"}),
)  # fmt: skip


def add_suite_options(parser: pytest.Parser, prefix: str, url_option: str, url_help: str) -> None:
    """Register the suite's options as ``--{prefix}NAME``, its target URL as ``url_option``."""
    group = parser.getgroup("lrokit", "lrokit conformance suite")
    group.addoption(url_option, dest="lrokit_target_url", metavar="URL", help=url_help)
    for name, how in SUITE_OPTIONS:
        group.addoption(f"--{prefix}{name}", dest=f"lrokit_{name.replace('-', '_')}", **how)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_suite_options(
        parser,
        "lrokit-",
        "--lrokit-url",
        "base URL of the server under test: adds lrokit's conformance suite to this run",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--lrokit-url``, collect the conformance suite too, unless the arguments already
    name it or a part of it (a directory above it is fine: pytest collects a path once)."""
    if config.getoption("lrokit_target_url", None) is None:
        return
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == SUITE or SUITE in path.parents:
            return
    config.args.append(str(SUITE))
