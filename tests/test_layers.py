"""The layers of ARCHITECTURE.md hold in the code: no module imports a layer above its own or a
sibling on its line, nor anything a ``never`` line forbids. The layer order is read from that
document's ``layers`` block, the one place it is written; grimp builds the import graph."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Architecture:
    layers: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # container -> lines
    never: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split("|") if name.strip())


def read_architecture(text: str) -> Architecture:
    """The ``layers`` block: ``CONTAINER:`` then its layers from the top down, one per line
    (siblings split by ``|``); ``never:`` then ``A | B -> C | D`` lines."""
    (block,) = re.findall(r"```layers\n(.*?)```", text, flags=re.DOTALL)
    found, section = Architecture(), None
    for line in block.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            section = line.strip().rstrip(":")
            if section != "never":
                found.layers[section] = []
        elif section == "never":
            importers, imported = line.split("->")
            found.never.append((_names(importers), _names(imported)))
        else:
            assert section is not None, line
            found.layers[section].append(_names(line))
    return found


@pytest.fixture(scope="module")
def architecture() -> Architecture:
    return read_architecture((ROOT / "ARCHITECTURE.md").read_text())


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("lrokit", include_external_packages=True, cache_dir=None)


def _absolute(name: str) -> str:
    return name if "." in name or not _is_ours(name) else f"lrokit.{name}"


def _is_ours(name: str) -> bool:
    return (ROOT / "src" / "lrokit" / name).exists() or (
        ROOT / "src" / "lrokit" / f"{name}.py"
    ).exists()


def _route(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    chain = graph.find_shortest_chain(importer, imported, as_packages=True) or ()
    return " -> ".join(chain)


def test_the_block_reads_as_written() -> None:
    found = read_architecture("```layers\nx:\n    a\n    b | c\nnever:\n    a | b -> d\n```")
    assert found.layers == {"x": [("a",), ("b", "c")]}
    assert found.never == [(("a", "b"), ("d",))]


def test_every_module_has_a_layer(architecture: Architecture, graph: grimp.ImportGraph) -> None:
    """A new room is placed in the order before it lands: nothing falls outside the layers."""
    for container, lines in architecture.layers.items():
        placed = {f"{container}.{name}" for line in lines for name in line}
        depth = container.count(".") + 1
        children = {
            ".".join(module.split(".")[: depth + 1])
            for module in graph.find_descendants(container)
            if not module.split(".")[depth].startswith("__")
        }
        nested = {c for c in architecture.layers if c.startswith(container + ".")}
        assert children - placed - nested == set(), f"not in a layer of {container}"


def test_no_module_imports_upwards_or_sideways(
    architecture: Architecture, graph: grimp.ImportGraph
) -> None:
    breaches = []
    for container, lines in architecture.layers.items():
        layers = [grimp.Layer(*line, independent=True) for line in lines]
        for dependency in graph.find_illegal_dependencies_for_layers(
            layers=layers, containers={container}
        ):
            for route in dependency.routes:
                chain = [*route.heads, *route.middle, *route.tails]
                breaches.append(f"{dependency.importer} -> {dependency.imported}: {chain}")
    assert breaches == [], "\n".join(sorted(breaches))


def test_what_must_never_import_what(architecture: Architecture, graph: grimp.ImportGraph) -> None:
    breaches = []
    for importers, imported in architecture.never:
        for source in map(_absolute, importers):
            for target in map(_absolute, imported):
                if graph.chain_exists(source, target, as_packages=True):
                    breaches.append(_route(graph, source, target))
    assert breaches == [], "\n".join(breaches)


def test_the_architecture_catches_an_upward_import(architecture: Architecture) -> None:
    """The check can fail: a graph with the registry importing the runner breaks it."""
    broken = grimp.build_graph("lrokit", include_external_packages=True, cache_dir=None)
    broken.add_import(importer="lrokit.rules", imported="lrokit.runner.run")
    layers = [grimp.Layer(*line) for line in architecture.layers["lrokit"]]
    illegal = broken.find_illegal_dependencies_for_layers(layers=layers, containers={"lrokit"})
    assert {(d.importer, d.imported) for d in illegal} >= {("lrokit.rules", "lrokit.runner")}
