"""The rules registry: complete, well-formed, and the source of docs/rules.md."""

from __future__ import annotations

import re
from pathlib import Path

from lrokit.checks import load_all
from lrokit.rules import FAMILIES, RULES, RUNTIME_RULES, render_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_every_runtime_rule_has_exactly_one_check_and_every_check_a_rule() -> None:
    assert set(load_all()) == set(RUNTIME_RULES)


def test_rules_are_well_formed() -> None:
    for rule in RULES.values():
        assert re.fullmatch(r"[A-Z]+-[1-9][0-9]*", rule.id), rule.id
        assert rule.family in FAMILIES, rule.id
        assert rule.level.value in rule.text, f"{rule.id} states no {rule.level}"
        assert rule.citation, rule.id
        assert rule.quote, rule.id


def test_every_family_has_several_rules() -> None:
    for family in FAMILIES:
        assert sum(rule.family == family for rule in RULES.values()) >= 2, family


def test_docs_rules_md_is_generated_from_the_registry() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == render_markdown(), (
        "docs/rules.md is stale: lrokit rules --markdown > docs/rules.md"
    )
