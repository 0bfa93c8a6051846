"""Session fixtures ``pygeoapi`` and ``wes``: real servers on 127.0.0.1 (see servers.py).

Every test under tests/interop is marked ``interop``; the default run deselects them
(``-m "not interop"`` in pyproject's addopts) and ``pytest -m interop tests/interop`` runs
them. A server whose package cannot be installed (no package index) skips its tests with the
reason, or fails them when ``LROKIT_INTEROP_REQUIRED=1`` (as CI sets it). A failing test's
report carries the end of the log of each server it used.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.interop.servers import (
    PYGEOAPI,
    WES,
    InstallError,
    PygeoapiServer,
    WesServer,
    ensure_installed,
    run_pygeoapi,
    run_wes,
)

HERE = Path(__file__).resolve().parent
SERVER_FIXTURES = ("pygeoapi", "wes")


def _in_this_folder(item: pytest.Item) -> bool:
    return HERE in item.path.parents


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _in_this_folder(item):
            item.add_marker(pytest.mark.interop)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _in_this_folder(item):
        funcargs = getattr(item, "funcargs", {})
        for name in SERVER_FIXTURES:
            server = funcargs.get(name)
            if isinstance(server, (PygeoapiServer, WesServer)):
                report.sections.append((f"{name} server log (end)", server.log_text()))
    return report


def _install(package: tuple[str, str, str]) -> None:
    """Install the server's package once, or skip (fail when LROKIT_INTEROP_REQUIRED=1)."""
    try:
        ensure_installed(*package)
    except InstallError as exc:
        error = str(exc).strip()
    else:
        return
    requirement = package[2]
    if os.environ.get("LROKIT_INTEROP_REQUIRED") == "1":
        pytest.fail(
            f"LROKIT_INTEROP_REQUIRED=1 and {requirement} could not be installed: {error}",
            pytrace=False,
        )
    pytest.skip(
        f"{requirement} could not be installed ({error.splitlines()[-1][:200]}); "
        "LROKIT_INTEROP_REQUIRED=1 makes this a failure"
    )


@pytest.fixture(scope="session")
def pygeoapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PygeoapiServer]:
    """pygeoapi 0.21.0 (OGC API - Processes 1.0) with ``hello-world`` and ``echo``."""
    _install(PYGEOAPI)
    with run_pygeoapi(tmp_path_factory.mktemp("pygeoapi")) as server:
        yield server


@pytest.fixture(scope="session")
def wes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesServer]:
    """wes-service 5.0 (GA4GH WES 1.0.0) with cwl-runner and the sleep-exit CWL tool."""
    _install(WES)
    with run_wes(tmp_path_factory.mktemp("wes")) as server:
        yield server
