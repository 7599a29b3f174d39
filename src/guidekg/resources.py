"""Load the guideline's content (ontology, shapes, queries, mappings) by name.

Content lives in data files, never in code. An installed wheel carries them under
``guidekg/data/``; a source checkout reads them from the repository's top-level folders,
so editing ``ontology/*.ttl`` takes effect without reinstalling.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rdflib import Graph

ONTOLOGY_MODULES: tuple[str, ...] = ("core", "guideline", "evidence", "statements", "terminology", "codesystem")
"""Modules of the guideline knowledge graph, in load order."""

LOGIC_MODULES: tuple[str, ...] = ("core", "guideline")
"""The modules a reasoner needs: vocabulary and decision classes (no bibliographic data)."""

SHAPES: tuple[str, ...] = ("patient", "safety")

CONTENT_ENV = "GUIDEKG_CONTENT_DIR"
"""Environment variable naming a folder whose ``ontology/``, ``shapes/`` ... subfolders replace the bundled ones."""

_OVERRIDES: dict[tuple[str, str], Graph] = {}


def data_dir(kind: str) -> Path:
    """Folder of one kind of content: ``ontology``, ``shapes``, ``queries`` or ``examples``.

    ``$GUIDEKG_CONTENT_DIR/<kind>`` wins when it exists, so a variant of the content (an
    author's draft, a mutant) can be run without touching the installed files.
    """
    override = os.environ.get(CONTENT_ENV)
    if override and (Path(override) / kind).is_dir():
        return Path(override) / kind
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


@lru_cache(maxsize=64)
def _file(kind: str, name: str, folder: Path) -> Graph:
    graph = Graph()
    graph.parse(path(kind, name), format="turtle")
    return graph


@lru_cache(maxsize=32)
def _parsed(kind: str, names: tuple[str, ...]) -> Graph:
    if len(names) == 1 and (kind, names[0]) not in _OVERRIDES:
        return _file(kind, names[0], data_dir(kind))
    graph = Graph()
    for name in names:
        graph += _OVERRIDES.get((kind, name)) or _file(kind, name, data_dir(kind))
    return graph


def overrides_active() -> bool:
    """True inside :func:`overridden`: the process's content differs from the files on disk."""
    return bool(_OVERRIDES)


@contextmanager
def overridden(graphs: Mapping[tuple[str, str], Graph]) -> Iterator[None]:
    """Within the block, ``(kind, name)`` reads the given parsed graph instead of the file.

    Mutation testing runs hundreds of variants of one file in one process: each variant is
    a graph, and every other file keeps its single cached parse. Callers clear the caches
    built on top of this module (:func:`guidekg.mutation.content.reset`) on entry and exit.
    """
    saved = dict(_OVERRIDES)
    _OVERRIDES.update(graphs)
    _parsed.cache_clear()
    try:
        yield
    finally:
        _OVERRIDES.clear()
        _OVERRIDES.update(saved)
        _parsed.cache_clear()


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
