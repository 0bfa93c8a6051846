"""The vocabulary of job states: what a state's name says of the job, read the same way by
``lrokit lint`` (is this enum a job's state?) and ``lrokit init`` (which states end a job, and
how).

A name is compared without case and without anything but letters and digits, so
``EXECUTOR_ERROR``, ``executorError`` and ``Executor Error`` are one name. A state is terminal
when its name says the job ended: it succeeded (``Succeeded``, ``DONE``, ``completed``,
``successful`` …), failed (``Failed``, ``error``, ``EXECUTOR_ERROR``, ``PREEMPTED`` …) or was
cancelled (``Canceled``, ``cancelled``, ``dismissed`` …); it is active when its name says the
job goes on (``NotStarted``, ``Running``, ``queued``, ``CANCELING`` …). Any other name is
unknown: a person decides.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable


class Kind(enum.StrEnum):
    """What a state's name says of the job."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    ACTIVE = "active"  # the job goes on
    UNKNOWN = "unknown"  # the name does not say

    @property
    def terminal(self) -> bool:
        """The job ended in this state."""
        return self in (Kind.SUCCESS, Kind.FAILURE, Kind.CANCELLED)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORDS: dict[Kind, frozenset[str]] = {
    Kind.SUCCESS: _words("succeeded succeed success successful done complete completed finished"),
    Kind.FAILURE: _words(
        "failed fail failure error errored executorerror systemerror timedout timeout "
        "rejected preempted crashed"
    ),
    Kind.CANCELLED: _words("canceled cancelled dismissed revoked aborted"),
    Kind.ACTIVE: _words(
        "notstarted running inprogress queued accepted pending processing started starting "
        "initializing initialising waiting scheduled submitted created new paused suspended "
        "canceling cancelling cancelrequested deleting updating creating provisioning unknown "
        "executing active busy retrying blocked onhold held preparing validating "
        "uploading downloading"
    ),
}
#: Endings that say the same as the whole word: ``ProvisioningFailed``, ``SYSTEM_ERROR``.
_ENDINGS: tuple[tuple[str, Kind], ...] = (
    ("succeeded", Kind.SUCCESS),
    ("completed", Kind.SUCCESS),
    ("failed", Kind.FAILURE),
    ("error", Kind.FAILURE),
    ("canceled", Kind.CANCELLED),
    ("cancelled", Kind.CANCELLED),
)


def normal(state: str) -> str:
    """``state`` as compared: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", state.lower())


def classify(state: str) -> Kind:
    """What the name ``state`` says of the job: a whole word of the vocabulary, else a
    telling ending (``…Failed``, ``…_ERROR``), else UNKNOWN."""
    word = normal(state)
    for kind, words in _WORDS.items():
        if word in words:
            return kind
    return next((kind for end, kind in _ENDINGS if word.endswith(end)), Kind.UNKNOWN)


def is_state_enum(values: Iterable[object]) -> bool:
    """Whether an enum reads as a job's states: two strings or more, one of which at least
    names a terminal state (so ``[active, suspended]`` of an account does not)."""
    found = list(values)
    return (
        len(found) >= 2
        and all(isinstance(v, str) for v in found)
        and any(classify(str(v)).terminal for v in found)
    )
