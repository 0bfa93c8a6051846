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

SUITE = Path(lrokit.conformance.__file__).resolve().parent

#: (option, the suite's option it stands for, how it is given)
OPTIONS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("url", "target_url", {"metavar": "URL", "help": "base URL of the server under test: "
                           "adds lrokit's conformance suite to this run"}),
    ("profile", "profile", {"default": "canonical", "metavar": "NAME_OR_PATH",
                            "help": "built-in profile name or profile file (default: canonical)"}),
    ("spec", "spec", {"metavar": "PATH_OR_URL",
                      "help": "OpenAPI contract of the target (default: the profile's)"}),
    ("header", "header", {"action": "append", "default": [], "metavar": "'NAME: VALUE'",
                          "help": "header sent with every request, e.g. auth (repeatable)"}),
    ("query", "query", {"action": "append", "default": [], "metavar": "K=V",
                        "help": "query parameter added to every request (repeatable)"}),
    ("max-wait", "max_wait", {"default": "60", "metavar": "SECONDS",
                              "help": "seconds a job may take to finish (default: 60)"}),
    ("time-scale", "time_scale", {"default": "1.0", "metavar": "FLOAT",
                                  "help": "multiplies every Retry-After wait, within [0, 1]"}),
    ("only", "only", {"action": "append", "default": [], "metavar": "RULES",
                      "help": "judge only these rule ids or families (comma-separated)"}),
    ("skip", "skip", {"action": "append", "default": [], "metavar": "RULES",
                      "help": "do not judge these rule ids or families (comma-separated)"}),
    ("schema-examples", "schema_examples", {"default": "20", "metavar": "N",
                                            "help": "schemathesis examples per operation"}),
    ("lifecycle-examples", "lifecycle_examples", {"default": "5", "metavar": "N",
                                                  "help": "runs of the lifecycle state machine"}),
)  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lrokit", "lrokit conformance suite")
    for name, dest, how in OPTIONS:
        group.addoption(f"--lrokit-{name}", dest=f"lrokit_{dest}", **how)


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
