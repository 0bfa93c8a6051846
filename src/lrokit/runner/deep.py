"""``lrokit check --deep``: the pytest suite's generative layers (schemathesis over the contract,
the lifecycle state machine) after the rules, with every option of the run.

The layers run in this process with pytest, isolated from any pytest configuration of the
working directory and from the pytest plugins that happen to be installed (only the two the
layers use are loaded). Loading them by module also spares pytest's rewriting of the asserts of
every module of their packages on each run, which it cannot cache under
PYTHONDONTWRITEBYTECODE or in a read-only environment (about a second).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lrokit.commandline import Output
from lrokit.runner.options import to_pytest_args

#: The suite's directory in the installed package, found without importing it (the suite is
#: above the runner: it runs the runner, not the other way round).
SUITE = Path(__file__).resolve().parents[1] / "conformance"


def run_layers(
    url: str, raw: Mapping[str, Any], *, strict: bool, junit: Output | None, quiet: bool
) -> int:
    """Run the layers against ``url`` with the options ``raw`` (as typed); 0 when they pass,
    1 when a layer fails, 2 when pytest could not run them. ``quiet``: pytest's output goes to
    standard error (a report holds standard output)."""
    import pytest

    args = [
        "--target-url",
        url,
        *to_pytest_args(raw),
        *(["--strict"] if strict else []),
        *([f"--junitxml={junit.name}"] if junit is not None else []),
    ]
    out = contextlib.redirect_stdout(sys.stderr) if quiet else contextlib.nullcontext()
    with tempfile.TemporaryDirectory(prefix="lrokit-") as scratch, out:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        status = pytest.main(
            [
                str(SUITE),
                "-c",
                str(ini),
                "--rootdir",
                scratch,
                "-p",
                "no:cacheprovider",
                "--disable-plugin-autoload",
                "-p",
                "schemathesis.pytest.plugin",
                "-p",
                "_hypothesis_pytestplugin",
                "-q",
                "-k",
                "test_schema or test_lifecycle",
                *args,
            ]
        )
    if status == pytest.ExitCode.OK:
        return 0
    return 1 if status == pytest.ExitCode.TESTS_FAILED else 2
