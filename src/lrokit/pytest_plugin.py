"""The lrokit pytest plugin: a project's own test run gates on conformance with ``--lrokit-url``.

Installed with lrokit (entry point ``pytest11``), it adds the conformance suite's options under
names of their own (``--lrokit-url``, ``--lrokit-profile`` …), so that they cannot clash with a
project's or another plugin's. Given ``--lrokit-url URL``, it adds the suite shipped in the
wheel (``lrokit.conformance``) to what pytest collects, beside the project's own tests: one run,
one report, one exit status for CI::

    pytest --lrokit-url http://127.0.0.1:8080 --junitxml=report.xml

The suite is collected however pytest is invoked (``pytest``, ``pytest .``, ``pytest tests/``,
with ``testpaths`` or without), also from a virtualenv inside the project (``.venv``, as uv,
poetry and hatch make it), which pytest skips when it walks the project (see
:func:`pytest_ignore_collect`).

A run given ``--lrokit-url`` whose collection makes no test of the suite stops with a one-line
usage error (exit status 4) instead of passing without it: the suite's files ignored
(``--ignore``, ``--ignore-glob``, ``collect_ignore``), not matched by the project's
``python_files`` or ``python_functions``, or missing from the installation. Tests count as
collection makes them, before ``-k``, ``-m`` or ``--deselect`` choose among them: deselecting
the suite is a choice, not an error, and so is ``--lf`` skipping its files because none of them
failed last time. A run whose collection failed is left to fail with that error.

Without ``--lrokit-url`` or ``--lrokit-check-file`` it adds nothing. The suite's own short
options (``pytest conformance --target-url URL``) set the same values; either spelling works.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

import lrokit.conformance
from lrokit.extras import MissingExtra, require
from lrokit.runner.options import register_options

SUITE = Path(lrokit.conformance.__file__).resolve().parent
#: The suite's directory and every directory above it.
WAY = frozenset((SUITE, *SUITE.parents))
NOT_COLLECTED = (
    f"--lrokit-url: no test of lrokit's conformance suite was collected from {SUITE}; make "
    "sure this run does not ignore it (--ignore, --ignore-glob, collect_ignore) and that "
    "python_files and python_functions match its test_*.py files and test_* functions"
)

#: Directories on the way to the suite that pytest would have ignored (set with --lrokit-url).
OPENED = pytest.StashKey[set[Path]]()
#: Whether collection has made a test of the suite yet (set with --lrokit-url).
COLLECTED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lrokit", "lrokit conformance suite")
    register_options(
        group.addoption,
        "lrokit-",
        "--lrokit-url",
        "base URL of the server under test: adds lrokit's conformance suite to this run",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--lrokit-url`` (or ``--lrokit-check-file``, a check file that names the URL and
    the operations), collect the conformance suite too, unless the arguments already name it
    or a part of it (a directory above it is fine: pytest collects a path once). Without the
    generative layers installed, stop at once with one line naming the extra."""
    given = config.getoption("lrokit_target_url", None) or config.getoption(
        "lrokit_check_file", None
    )
    if given is None:
        return
    try:
        require("deep", "pytest --lrokit-url")
    except MissingExtra as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[OPENED] = set()
    config.stash[COLLECTED] = False
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == SUITE or SUITE in path.parents:
            return
    config.args.append(str(SUITE))


@pytest.hookimpl(wrapper=True)
def pytest_ignore_collect(
    collection_path: Path, config: pytest.Config
) -> Generator[None, bool | None, bool | None]:
    """With ``--lrokit-url``, never ignore a directory on the way to the suite; below one that
    pytest would have ignored, ignore everything else.

    The suite is an argument of its own unless an argument above it covers it, as the
    project's directory does (``pytest`` without ``testpaths``, ``pytest .``): pytest then
    drops it as a duplicate (``normalize_collection_arguments``) and reaches it only by walking
    down from that directory, asking this hook at each entry. pytest's own answer ignores a
    virtualenv (``_in_venv``, unless ``--collect-in-virtualenv``) and every ``.*`` directory
    (``norecursedirs``), so a ``.venv`` inside the project hid the suite. This wrapper sees
    that answer and reverses it on the way to the suite only (the way pytest spares the
    directories above an argument); a directory it opened yields nothing else, so the rest of
    the virtualenv stays out (its ``lib64`` leads to the same site-packages again, where other
    packages keep tests of their own). It is a wrapper because only pytest's answer tells
    which directories would have been ignored; ``False`` is the hook's documented "do not
    ignore", and the hook is pytest's own way to choose what a walk enters.
    """
    ignored = yield
    opened = config.stash.get(OPENED, None)
    if opened is None or SUITE in collection_path.parents:
        return ignored
    if collection_path in WAY:
        if ignored:
            opened.add(collection_path)
        return False
    if opened and not opened.isdisjoint(collection_path.parents):
        return True  # beside the way, inside a directory pytest would have ignored
    return ignored


def pytest_itemcollected(item: pytest.Item) -> None:
    """Note the first test of the suite that collection makes, before any deselection."""
    stash = item.config.stash
    # Once one test of the suite is found, no other item's path is resolved.
    if stash.get(COLLECTED, None) is False and item.path.resolve().parent == SUITE:
        stash[COLLECTED] = True


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config) -> None:
    """A run given ``--lrokit-url`` whose collection made no test of the suite is a usage
    error, unless collection failed (its error tells why) or ``--lf`` skipped the suite's files.
    Deselection (``-k``, ``-m``, ``--deselect``) comes after collection and does not count."""
    if config.stash.get(COLLECTED, True) or session.testsfailed or config.getoption("lf", False):
        return
    raise pytest.UsageError(NOT_COLLECTED)
