"""Implementation internals in an error body, by runtime: what PROBLEM-9 looks for.

RFC 9457 §5: problem details "ought not to expose implementation details such as stack
dumps". Each entry of :data:`TABLE` names one kind of detail, as a violation says it, and
recognises it by what its runtime actually prints: a frame with its file and line, the header
of a dump, a qualified exception type; never a word alone.

Bodies are searched whole (up to 1 MiB), so every pattern is cheap: each alternative starts
with a literal character, which the regular expression engine finds without trying every
position, and every repetition is bounded and stops at a character that cannot continue it.
What must come before that literal is asserted after it, by a lookbehind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: The files a server runs, by extension: a path to one reveals how the server is built.
_SOURCE = r"(?:py|rb|php|[cm]?js|ts|java|kt|scala|go|rs|cs|vb|fs|pl|ex|exs)\b"

#: Where a V8 frame runs: a script's `file:line:column`, a `node:` built-in, `[eval]`.
_V8_LOCATION = (
    r"(?:[^\s()]{0,500}?\.[cm]?[jt]sx?:\d+:\d+|node:[\w/.-]{1,200}:\d+:\d+"
    r"|\[eval\][\w-]{0,20}:\d+:\d+)"
)


@dataclass(frozen=True)
class Internals:
    """One kind of implementation detail: what a report calls it and how it is recognised."""

    name: str
    pattern: re.Pattern[str]


TABLE: tuple[Internals, ...] = (
    # V8 frames: `at fn (/app/x.js:1:2)`, `at file:///app/x.mjs:2:12`, `at JSON.parse (<anonymous>)`
    Internals(
        "a Node.js stack trace",
        re.compile(
            r"at (?:async |new )?[^\s()]{1,300}(?: \[as [^\s\]]{1,100}\])? "
            rf"\((?:<anonymous>|{_V8_LOCATION})\)|at (?:async )?{_V8_LOCATION}"
        ),
    ),
    # goroutine dumps (`goroutine 1 [running]:`), frames (`main.go:12 +0x1d`), runtime panics
    Internals(
        "a Go stack trace",
        re.compile(
            r"goroutine \d+ \[[^\]\n]{1,100}\]:|\.go:\d+\b"
            r"|panic: runtime error: |http: panic serving "
        ),
    ),
    # frames `in C:\src\File.cs:line 42`, `System.NullReferenceException`, rethrow markers
    Internals(
        "a .NET stack trace",
        re.compile(
            r"\.(?:cs|vb|fs):line \d+\b"
            r"|System\.(?:\w{1,100}\.){0,4}\w{0,100}Exception\b"
            r"|Microsoft\.(?:\w{1,100}\.){0,4}\w{0,100}Exception\b"
            r"|--- End of (?:inner exception )?stack trace"
        ),
    ),
    # frames `app/models/x.rb:12:in `find'` (Ruby 3.4 quotes 'Report#find')
    Internals("a Ruby backtrace", re.compile(r"\.(?:rb|erb|rake):\d+:in [`'][^`'\n]{1,200}'")),
    # `PHP Fatal error:`, `Stack trace:` then `#0 /var/www/x.php(12)`, `in x.php:5`, `on line 5`
    Internals(
        "a PHP stack trace",
        re.compile(
            r"PHP (?:Fatal error|Parse error|Warning|Notice|Deprecated|Stack trace):"
            r"|Stack trace:\s{0,10}#0 |\.php(?:\(\d+\)|:\d+\b| on line \d+)"
        ),
    ),
    # `thread 'main' panicked at src/main.rs:2:5` and backtrace frames `at ./src/main.rs:5:7`
    Internals(
        "a Rust panic",
        re.compile(r"thread '[^'\n]{1,100}'(?: \(\d+\))? panicked at |\.rs:\d+:\d+\b"),
    ),
    # `Traceback (most recent call last)` and frames `File "x.py", line 7`
    Internals(
        "a Python traceback",
        re.compile(
            r"Traceback \(most recent call last\)"
            r"|File \"(?:[^\"\n]{0,500}\.py|<[^>\"\n]{1,100}>)\", line \d+"
        ),
    ),
    # frames `at com.x.Y.m(Y.java:12)`, `Exception in thread`, `Caused by:`, `java.lang.…Exception`
    Internals(
        "a Java stack trace",
        re.compile(
            r"at [\w$./<>]{1,500}\((?:[\w$]{1,200}\.(?:java|kt|scala|groovy):\d+"
            r"|Native Method|Unknown Source)\)"
            r"|Exception in thread \"[^\"\n]{1,100}\""
            r"|Caused by: (?:[\w$]{1,100}\.){1,10}[\w$]{0,100}(?:Exception|Error)\b"
            r"|javax?\.(?:[a-z]\w{0,100}\.){0,6}[A-Z]\w{0,100}(?:Exception|Error)\b"
        ),
    ),
    # a path that starts a word (not a URL's): /home/…/x.py, C:\…\X.cs; /var/www/, C:\inetpub\,
    # node_modules/
    Internals(
        "a server file path",
        re.compile(
            r"/(?<![\w.~%/-]/)(?:home|root|Users|srv|opt|app|usr|var|tmp|go|workspace)/"
            rf"(?:[\w.@+-]{{1,255}}/){{0,64}}[\w.@+-]{{1,255}}\.{_SOURCE}"
            r"|:\\(?<=\b[A-Za-z]:\\)(?:[^\\/:*?\"<>|\n]{1,255}\\){0,64}[^\\/:*?\"<>|\n]{1,255}\."
            rf"{_SOURCE}"
            r"|:\\(?<=\b[A-Za-z]:\\)(?:inetpub|Users|Windows|ProgramData|Program Files)\\"
            r"|/var/www/(?<![\w.~%/-]/var/www/)|node_modules[\\/]|site-packages[\\/]"
        ),
    ),
)


def detect(text: str) -> list[tuple[Internals, str]]:
    """The entries of :data:`TABLE` found in ``text``, in table order, each with what it found
    first (widened back to the start of its word: ``/app/main.go:12``, not ``.go:12``)."""
    found = ((entry, entry.pattern.search(text)) for entry in TABLE)
    return [(entry, _excerpt(text, match)) for entry, match in found if match]


#: Up to 60 characters of a word that end where the search ends.
_WORD_END = re.compile(r"[^\s\"'(<]{1,60}\Z")


def _excerpt(text: str, match: re.Match[str]) -> str:
    """What ``match`` found, with the rest of the word it starts in (a path before ``.go``)."""
    before = _WORD_END.search(text, max(match.start() - 60, 0), match.start())
    return text[before.start() if before else match.start() : match.end()]


def describe(texts: Iterable[str]) -> str:
    """What ``texts`` expose, as a violation says it: ``a Node.js stack trace ('at JSON.parse
    (<anonymous>)')``, several joined by "and"; empty when they expose nothing. The texts are
    searched as one, a line each, so that a body of many strings costs one search per entry;
    what an entry finds first is shown, so put decoded texts before raw ones (whose escapes,
    ``\\n\\tat``, would stick to the word shown)."""
    found = detect("\n".join(texts))
    return " and ".join(f"{entry.name} ({_shorten(excerpt)!r})" for entry, excerpt in found)


def _shorten(text: str, limit: int = 80) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
