"""Load the guideline's content (ontology, shapes, queries, mappings) by name.

Content lives in data files, never in code. An installed wheel carries them under
``guidekg/data/``; a source checkout reads them from the repository's top-level folders,
so editing ``ontology/*.ttl`` takes effect without reinstalling.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from rdflib import Graph

ONTOLOGY_MODULES: tuple[str, ...] = ("core", "guideline", "evidence", "statements", "terminology", "codesystem")
"""Modules of the guideline knowledge graph, in load order."""

LOGIC_MODULES: tuple[str, ...] = ("core", "guideline")
"""The modules a reasoner needs: vocabulary and decision classes (no bibliographic data)."""

SHAPES: tuple[str, ...] = ("patient", "safety")


def data_dir(kind: str) -> Path:
    """Folder of one kind of content: ``ontology``, ``shapes``, ``queries`` or ``examples``."""
    packaged = resources.files("guidekg").joinpath("data", kind)
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / kind
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"guidekg content folder '{kind}' is missing (looked in {packaged} and {checkout})")


def path(kind: str, name: str) -> Path:
    """Path of one content file; ``name`` may omit the usual suffix."""
    folder = data_dir(kind)
    candidate = folder / name
    if candidate.is_file():
        return candidate
    suffix = {"ontology": ".ttl", "shapes": ".ttl", "queries": ".rq"}.get(kind, "")
    candidate = folder / f"{name}{suffix}"
    if candidate.is_file():
        return candidate
    available = sorted(p.stem for p in folder.glob(f"*{suffix}"))
    raise FileNotFoundError(f"no {kind} file named '{name}' in {folder}; available: {', '.join(available)}")


@lru_cache(maxsize=32)
def _parsed(kind: str, names: tuple[str, ...]) -> Graph:
    graph = Graph()
    for name in names:
        graph.parse(path(kind, name), format="turtle")
    return graph


def graph(kind: str, *names: str) -> Graph:
    """A fresh copy of the union of the named Turtle files (callers may modify it)."""
    copy = Graph()
    for triple in _parsed(kind, tuple(names)):
        copy.add(triple)
    return copy


def shared_graph(kind: str, *names: str) -> Graph:
    """The cached parse of the named files. Read-only by convention: never add to it."""
    return _parsed(kind, tuple(names))


def query_text(name: str) -> str:
    """The text of a SPARQL query in ``queries/`` by name (``recommendations`` or ``recommendations.rq``)."""
    return path("queries", name).read_text(encoding="utf-8")
