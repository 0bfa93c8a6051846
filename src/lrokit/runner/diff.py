"""``lrokit diff OLD.json NEW.json``: what changed, rule by rule, between two reports of
``lrokit check --json`` (``lrokit/schemas/report.schema.json``), and whether NEW fails a rule
OLD did not: exit 1, a CI gate for "no regressions"; 0 otherwise; 2 a usage error.

A rule fails where its outcome counts against the run: FAIL, UNOBSERVED (not demonstrated),
ERROR, and a SHOULD's WARN in a report that was ``strict`` (lrokit itself already writes those
as FAIL). A rule that failed in OLD and is SKIP, DISABLED or absent in NEW was not judged:
it is *no longer judged*, never *fixed*. Within a file a report is named by its check file
operation, else its profile (one file holds one target); the reports of two files are paired
by that name, and two files of one report each are paired whatever they name (staging
against production), with a note saying what differs.
"""

from __future__ import annotations

import enum
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lrokit import __version__
from lrokit.commandline import Output, option, output_option, report_console, stdout_taken

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from rich.console import Console

#: Outcomes that fail a run (a report's ``exitCode`` counts them).
FAILING = frozenset({"FAIL", "UNOBSERVED", "ERROR"})
#: Outcomes of a rule that was not judged.
UNJUDGED = frozenset({"SKIP", "DISABLED"})
#: Characters of a detail the Markdown table shows (a comment has a size limit).
MARKDOWN_DETAIL = 200
#: Rule ids the summary line names before it counts the rest.
NAMED = 5


class Change(enum.StrEnum):
    """What became of a rule between OLD and NEW, in the order reports list them."""

    NEW_FAILURE = "new-failure"  # fails in NEW, did not in OLD (or was not there)
    STILL_FAILING = "still-failing"
    NO_LONGER_JUDGED = "no-longer-judged"  # judged in OLD; SKIP, DISABLED or absent in NEW
    FIXED = "fixed"  # failed in OLD, judged and held in NEW
    NEWLY_JUDGED = "newly-judged"  # SKIP or DISABLED in OLD, judged and held in NEW
    CHANGED = "changed"  # PASS and WARN, SKIP and DISABLED: another outcome, no failure
    ADDED = "added"  # only in NEW
    REMOVED = "removed"  # only in OLD
    UNCHANGED = "unchanged"

    @property
    def words(self) -> str:
        """How reports say it: ``new failure``."""
        return self.value.replace("-", " ")

    def counted(self, n: int) -> str:
        """``2 new failures``, ``1 fixed``."""
        return f"{n} {self.words}{'s' if self is Change.NEW_FAILURE and n != 1 else ''}"


@dataclass(frozen=True)
class Run:
    """One report of a file: what it names and its rules by id."""

    name: str  # its operation, else its profile
    target: str
    profile: str
    strict: bool
    lrokit: str  # the version that wrote it
    rules: Mapping[str, Mapping[str, Any]]

    @property
    def unreachable(self) -> str | None:
        """Why no rule was judged, when every one is the same ERROR (the target never
        answered), else None."""
        reasons = {(r["outcome"], r["reason"]) for r in self.rules.values()}
        if len(reasons) == 1:
            ((outcome, reason),) = reasons
            return str(reason) if outcome == "ERROR" else None
        return None

    def failing(self, rule: Mapping[str, Any] | None) -> bool:
        """Whether ``rule`` counts against this run."""
        if rule is None:
            return False
        warned = self.strict and rule["outcome"] == "WARN" and rule["level"] == "SHOULD"
        return rule["outcome"] in FAILING or warned


@dataclass(frozen=True)
class Row:
    """One rule of one pair of reports."""

    report: str
    rule: str
    level: str
    change: Change
    old: str | None  # the outcome; None: not in OLD
    new: str | None
    detail: str
    failed: bool = False  # whether it counted against OLD


@dataclass(frozen=True)
class Diff:
    """Two reports' rules side by side."""

    old: str  # the file names
    new: str
    rows: list[Row]
    notes: list[str]
    alone: frozenset[str] = frozenset()  # the reports only one file has

    @property
    def counts(self) -> Counter[Change]:
        """How many rules each change has."""
        return Counter(row.change for row in self.rows)

    @property
    def exit_code(self) -> int:
        """1 when NEW fails a rule OLD did not, else 0."""
        return 1 if self.counts[Change.NEW_FAILURE] else 0

    @property
    def several(self) -> bool:
        """Whether rows come from more than one pair of reports (tables then name them)."""
        return len({row.report for row in self.rows}) > 1

    def shown(self) -> list[Row]:
        """The rows worth a line, in :class:`Change` order: every one but the unchanged, and
        but the rules of a report only one file has that neither failed nor fail (counted)."""
        order = list(Change)
        quiet = {Change.UNCHANGED, Change.ADDED, Change.REMOVED}
        rows = [
            row
            for row in self.rows
            if row.change is not Change.UNCHANGED
            and not (row.report in self.alone and row.change in quiet)
        ]
        return sorted(rows, key=lambda row: order.index(row.change))

    def summary(self) -> str:
        """``1 new failure (CANCEL-1), 71 unchanged``: every count that is not 0, naming the
        new failures and the failures no longer judged (a check turned off hides them)."""
        counts = self.counts
        parts = []
        for change in Change:
            if not counts[change]:
                continue
            part = change.counted(counts[change])
            if change is Change.NEW_FAILURE:
                part += f" ({self._named(change)})"
            elif change is Change.NO_LONGER_JUDGED and self._named(change, failed=True):
                part += f" ({self._named(change, failed=True)} failed in OLD)"
            parts.append(part)
        return ", ".join(parts) or "no rules"

    def _named(self, change: Change, *, failed: bool = False) -> str:
        """The ids of the rules of ``change`` (those that failed in OLD, if ``failed``), the
        first :data:`NAMED` of them."""
        rows = [r for r in self.rows if r.change is change and (r.failed or not failed)]
        ids = list(dict.fromkeys(row.rule for row in rows))
        more = f", … {len(ids) - NAMED} more" if len(ids) > NAMED else ""
        return ", ".join(ids[:NAMED]) + more


def load(name: str) -> list[Run]:
    """The reports in the file ``name`` (``-``: standard input). Raises
    :class:`click.UsageError` in one line when it cannot be read, is not JSON, or is not a
    report this lrokit reads."""
    shown = "standard input" if name == "-" else name
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise click.UsageError(f"cannot read {name}: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise click.UsageError(f"{shown} is not JSON: {exc}") from None
    if not isinstance(document, dict) or not {"rules", "operations"} & document.keys():
        raise click.UsageError(
            f"{shown} is not a report of lrokit check --json (it has no rules nor operations)"
        )
    problem = _invalid(document)
    if problem is not None:
        version = document.get("lrokit")
        if isinstance(version, str) and version != __version__:
            raise click.UsageError(
                f"{shown} was written by lrokit {version}, whose reports lrokit {__version__} "
                f"cannot read: {problem}"
            )
        raise click.UsageError(f"{shown} is not a valid lrokit check report: {problem}")
    runs = document.get("operations", [document])
    return [
        Run(
            run.get("operation", run["profile"]),
            run["target"],
            run["profile"],
            run["strict"],
            run["lrokit"],
            {rule["id"]: rule for rule in run["rules"]},
        )
        for run in runs
    ]


@cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    """The report schema's two shapes, one report or several, each validated alone so that
    an error names its member (the schema's ``oneOf`` says only that neither matched)."""
    from importlib.resources import files

    from jsonschema import Draft202012Validator

    schema = json.loads((files("lrokit") / "schemas" / "report.schema.json").read_text())
    one, several = ({"$defs": schema["$defs"], **branch} for branch in schema["oneOf"])
    return Draft202012Validator(one), Draft202012Validator(several)


def _invalid(document: dict[str, Any]) -> str | None:
    """Why ``document`` is not a report of the schema, in one line, or None."""
    from jsonschema.exceptions import best_match

    one, several = _validators()
    error = best_match((several if "operations" in document else one).iter_errors(document))
    if error is None:
        return None
    message = " ".join(error.message.split())
    message = message if len(message) <= 160 else message[:159] + "…"
    return f"{message} at {error.json_path}"


def compare(old_name: str, old: Sequence[Run], new_name: str, new: Sequence[Run]) -> Diff:
    """Pair the reports of two files and compare each pair rule by rule."""
    notes: list[str] = []
    if len(old) == 1 and len(new) == 1:
        pairs: list[tuple[Run | None, Run | None]] = [(old[0], new[0])]
    else:
        named = {run.name: run for run in new}
        pairs = [(run, named.pop(run.name, None)) for run in old]
        pairs += [(None, run) for run in named.values()]
    for before, after in pairs:
        if before is None or after is None:
            present = before or after
            assert present is not None
            where, counted = ("OLD", "removed") if after is None else ("NEW", "added")
            notes.append(
                f"{present.name} is only in {where}: its rules are counted as {counted}, "
                "and listed only where they fail"
            )
            continue
        notes += _differences(before, after)
    rows = [row for before, after in pairs for row in _rows(before, after)]
    alone = frozenset(run.name for pair in pairs if None in pair for run in pair if run)
    return Diff(old_name, new_name, rows, list(dict.fromkeys(notes)), alone)


def _differences(old: Run, new: Run) -> list[str]:
    """What the reader should know of two reports compared as one: what they differ in."""
    notes = [
        f"{which}: every rule is ERROR, {reason}"
        for which, run in (("OLD", old), ("NEW", new))
        if (reason := run.unreachable) is not None
    ]
    if old.target != new.target:
        notes.append(f"the targets differ: OLD checked {old.target}, NEW {new.target}")
    if old.profile != new.profile:
        notes.append(f"the profiles differ: OLD {old.profile}, NEW {new.profile}")
    if old.lrokit != new.lrokit:
        notes.append(f"the lrokit versions differ: OLD {old.lrokit}, NEW {new.lrokit}")
    if old.strict != new.strict:
        which = "NEW" if new.strict else "OLD"
        notes.append(f"only {which} was checked with --strict: a SHOULD not met fails there")
    return notes


def _rows(old: Run | None, new: Run | None) -> list[Row]:
    either = new or old
    report = either.name if either is not None else ""
    ids = list(dict.fromkeys([*(old.rules if old else ()), *(new.rules if new else ())]))
    rows = []
    for rule_id in ids:
        before = old.rules.get(rule_id) if old else None
        after = new.rules.get(rule_id) if new else None
        failed = bool(old and old.failing(before))
        change = _change(before, after, failed, bool(new and new.failing(after)))
        shown = after if after is not None else before
        assert shown is not None
        detail = _detail(before if change is Change.FIXED else after, change)
        rows.append(
            Row(
                report,
                rule_id,
                shown["level"],
                change,
                before["outcome"] if before else None,
                after["outcome"] if after else None,
                detail,
                failed,
            )
        )
    return rows


def _change(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, failed: bool, fails: bool
) -> Change:
    """The decision table: a failure in NEW that OLD did not have is new; a failure that is
    gone is fixed only where NEW judged the rule."""
    if failed and fails:
        return Change.STILL_FAILING
    if fails:
        return Change.NEW_FAILURE
    if new is None:
        return Change.NO_LONGER_JUDGED if failed else Change.REMOVED
    if old is None:
        return Change.ADDED
    judged_old, judged_new = old["outcome"] not in UNJUDGED, new["outcome"] not in UNJUDGED
    if judged_old and not judged_new:
        return Change.NO_LONGER_JUDGED
    if failed:
        return Change.FIXED
    if judged_new and not judged_old:
        return Change.NEWLY_JUDGED
    return Change.UNCHANGED if old["outcome"] == new["outcome"] else Change.CHANGED


def _detail(rule: Mapping[str, Any] | None, change: Change) -> str:
    """One line: the first breach (and how many more), else the reason nothing was judged."""
    if rule is None:
        return "not in NEW" if change is Change.NO_LONGER_JUDGED else ""
    if change is Change.UNCHANGED:
        return ""
    violations = rule["violations"]
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        text = f"received {first['received']}, expected {first['expected']}{more}"
    else:
        kind = rule["reasonKind"].replace("-", " ")
        text = f"{kind}: {rule['reason']}" if kind and rule["reason"] else rule["reason"]
    text = " ".join(text.split())
    return f"was: {text}" if change is Change.FIXED and text else text


def to_json(diff: Diff) -> dict[str, Any]:
    """The diff as JSON: the files, whether NEW regressed, the counts, notes, every rule."""
    counts = diff.counts
    return {
        "lrokit": __version__,
        "old": diff.old,
        "new": diff.new,
        "exitCode": diff.exit_code,
        "summary": {str(change): counts[change] for change in Change},
        "notes": diff.notes,
        "rules": [
            {
                "report": row.report,
                "id": row.rule,
                "level": row.level,
                "change": str(row.change),
                "old": row.old,
                "new": row.new,
                "detail": row.detail,
            }
            for row in diff.rows
        ],
    }


def to_markdown(diff: Diff) -> str:
    """A pull request's comment (GitHub-flavoured): a summary line, then a table of the
    rules that changed."""
    head = "new failures" if diff.exit_code else "no new failures"
    lines = [f"**lrokit diff: {head}** — {_escape(diff.summary())}", ""]
    lines += [f"- {_escape(note)}" for note in diff.notes] + ([""] if diff.notes else [])
    rows = diff.shown()
    if not rows:
        return "\n".join(lines).rstrip() + "\n"
    columns = ["Report"] * diff.several + ["Rule", "Level", "Change", "Outcome", "Details"]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        detail = row.detail if len(row.detail) <= MARKDOWN_DETAIL else row.detail[:199] + "…"
        change = _escape(row.change.words)
        cells = [_escape(row.report)] * diff.several + [
            _escape(row.rule),
            row.level,
            f"**{change}**" if row.change is Change.NEW_FAILURE else change,
            f"{row.old or '—'} → {row.new or '—'}",
            _escape(detail),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~&"})


def _escape(text: str) -> str:
    """``text`` as literal text in a GitHub Markdown table cell: its pipes and whatever
    would format escaped, on one line."""
    return " ".join(text.split()).translate(_MARKDOWN)


def print_diff(diff: Diff, console: Console) -> None:
    """The diff for people: its notes, a table of the rules that changed (the unchanged are
    counted), and a summary line, in the colours of ``lrokit check``."""
    from rich.table import Table
    from rich.text import Text

    from lrokit.runner.reporters import STYLES
    from lrokit.runner.verdicts import Outcome

    def outcome(value: str | None) -> Text:
        return Text(value, STYLES[Outcome(value)]) if value else Text("—", "dim")

    styles = {
        Change.NEW_FAILURE: "bold red",
        Change.STILL_FAILING: "red",
        Change.NO_LONGER_JUDGED: "yellow",
        Change.FIXED: "green",
    }
    for note in diff.notes:
        console.print(Text("note: ", "yellow").append(note), highlight=False)
    rows = diff.shown()
    if rows:
        table = Table(title=Text(f"lrokit diff {diff.old} → {diff.new}"), expand=True)
        if diff.several:
            table.add_column("report", no_wrap=True)
        for name in ("rule", "level", "change", "outcome"):
            table.add_column(name, no_wrap=True)
        table.add_column("details", ratio=1, overflow="fold")
        for row in rows:
            table.add_row(
                *[row.report] * diff.several,
                row.rule,
                row.level,
                Text(row.change.words, styles.get(row.change, "dim")),
                outcome(row.old).append(" → ").append_text(outcome(row.new)),
                Text(row.detail, "" if row.change is Change.NEW_FAILURE else "dim"),
            )
        console.print(table)
    head = (
        Text("NEW FAILURES: ", "bold red") if diff.exit_code else Text("NO NEW FAILURES: ", "green")
    )
    console.print(head.append(diff.summary()), highlight=False)


@click.command()
@click.argument("old", metavar="OLD.json")
@click.argument("new", metavar="NEW.json")
@option("--markdown", is_flag=True, help="Print a pull request comment (GitHub Markdown).")
@output_option("json", "Write the diff as JSON")
def diff(old: str, new: str, markdown: bool, json_output: Output | None) -> None:
    """Compare two reports of lrokit check --json, rule by rule: new failures, fixed, still
    failing, no longer judged (SKIP, DISABLED or gone: never counted as fixed), the rest.

    Exit status: 1 when NEW fails a rule OLD did not, 0 otherwise, 2 a usage error.
    """
    import orjson

    if markdown and json_output is not None and json_output.is_stdout:
        raise click.UsageError("--markdown and --json - both print on standard output")
    if old == new == "-":
        raise click.UsageError("only one of OLD and NEW can be - (standard input)")
    if json_output is not None and not json_output.is_stdout:
        written = Path(json_output.name).resolve()
        if written in {Path(name).resolve() for name in (old, new) if name != "-"}:
            raise click.UsageError(f"--json {json_output.name} would overwrite a report compared")
    result = compare(old, load(old), new, load(new))
    if markdown:
        click.echo(to_markdown(result), nl=False)
    else:
        print_diff(result, report_console(stderr=stdout_taken(json_output)))
    if json_output is not None:
        json_output.write(orjson.dumps(to_json(result), option=orjson.OPT_INDENT_2))
    raise click.exceptions.Exit(result.exit_code)
