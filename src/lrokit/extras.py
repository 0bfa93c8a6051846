"""Optional extras: each user installs what they use, and a missing one is named, not a traceback.

``pip install lrokit`` is the tester (``check``, ``lint``, ``submit``, ``rules``,
``profiles``, the client library). ``lrokit[server]`` adds the reference server (``serve``,
``worker``); ``lrokit[deep]`` the generative layers (``check --deep``, the pytest suite and
its plugin). The distributions are declared in ``pyproject.toml``; this table names a module of
each that the extra brings, so that its absence can be told before anything imports it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

#: The modules each extra brings, by the import names the code uses.
EXTRAS: Mapping[str, tuple[str, ...]] = {
    "server": ("connexion", "uvicorn", "starlette", "psycopg", "psycopg_pool", "jsonschema_rs"),
    "deep": ("pytest", "schemathesis", "hypothesis"),
}


class MissingExtra(Exception):
    """A feature needs an extra that is not installed; the message says which and how."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a blocked module
        return False


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` naming ``extra`` when a module of it is not installed."""
    missing = [module for module in EXTRAS[extra] if not _installed(module)]
    if missing:
        raise MissingExtra(
            f"{feature} needs the {extra} extra ({', '.join(missing)} not installed): "
            f"pip install 'lrokit[{extra}]'"
        )
