"""How a job is cancelled: the cancel table of a profile and ``features.cancel``.

A cancel action on the status operation's path comes first, then a DELETE: a POST at
``{monitor}:cancel`` or ``{monitor}/cancel``; for a ``…/status`` monitor, a POST at
``…/cancel`` beside it (``{monitor}/../cancel``); else a DELETE on the monitor
(``{monitor}``), or on the parent of a ``…/status`` monitor (``{monitor}/..``). An action
comes first because a DELETE of a job may delete its record rather than stop it
(``DeleteOperation`` beside AIP-151's ``CancelOperation``). ``features.cancel`` is on when
a cancel is found and a state's name says cancelled (the state a cancel ends in); a job
whose cancelled state is OGC's ``dismissed`` may be removed by the cancel
(``cancel.may_remove``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrokit.discover.notes import Note
from lrokit.lint.document import Document
from lrokit.lint.longrunning import Operation, operations
from lrokit.lint.states import normal


@dataclass
class Cancelling:
    """The cancel table, ``features.cancel`` and the notes of both."""

    cancel: dict[str, Any] = field(default_factory=dict)
    enabled: bool = False
    notes: list[Note] = field(default_factory=list)


def infer_cancel(doc: Document, monitor: Operation | None, cancelled: str | None) -> Cancelling:
    """The cancel of the job monitored by ``monitor`` (a GET), whose cancelled state is
    ``cancelled``."""
    found = Cancelling()
    if monitor is None:
        found.notes.append(
            Note("features.cancel", "no status operation is described, so no cancel of it")
        )
        return found
    ops = {(op.method, op.shape): op for op in operations(doc)}
    own = monitor.shape
    parent = own.removesuffix("/status") if own.endswith("/status") else None
    candidates = [
        ("post", f"{own}:cancel", "{monitor}:cancel"),
        ("post", f"{own}/cancel", "{monitor}/cancel"),
        ("post", f"{parent}/cancel", "{monitor}/../cancel"),
        ("delete", own, "{monitor}"),
        ("delete", parent, "{monitor}/.."),
    ]
    for method, path, template in candidates:
        op = ops.get((method, path or ""))
        if op is None or path is None:
            continue
        found.cancel["method"] = method.upper()
        if template != "{monitor}":
            found.cancel["template"] = template
        found.notes.append(Note("cancel.method", f"{op.title} cancels the job", op.pointer))
        break
    else:
        found.notes.append(
            Note("features.cancel", f"no operation cancels the job monitored at {monitor.path}")
        )
        return found
    if cancelled is None:
        found.notes.append(
            Note(
                "features.cancel",
                "a cancel is described, but no state's name says cancelled: name the state a "
                "cancel ends in (monitor.cancelled) to turn the cancel checks on",
                missing=True,
            )
        )
        return found
    found.enabled = True
    found.notes.append(
        Note("features.cancel", f"a cancel is described and a cancel ends in {cancelled!r}")
    )
    if normal(cancelled) == "dismissed":
        found.cancel["may_remove"] = True
        found.notes.append(
            Note(
                "cancel.may_remove",
                "a dismissed job may be removed (OGC API - Processes: dismiss removes the job)",
            )
        )
    return found
