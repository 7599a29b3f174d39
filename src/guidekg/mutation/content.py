"""Swap the guideline content in and out of the running process, caches included.

:func:`guidekg.resources.overridden` replaces parsed files; everything computed from them
(the knowledge graph, the compiled shapes, the reasoner's axioms, the ontology store the
SHACL-SPARQL checks run on, the vocabulary) is cached downstream and is cleared here, so a
mutant is seen everywhere exactly as an author's edit would be.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rdflib import Graph

from .. import fastvalidate, knowledge, oxstore, resources, validate, vocabulary
from ..reasoning import base


def reset() -> None:
    """Forget every cache derived from the content files."""
    resources._parsed.cache_clear()
    knowledge.knowledge.cache_clear()
    fastvalidate.compile_validator.cache_clear()
    validate._shapes.cache_clear()
    validate._shape_alerts.cache_clear()
    validate._named_ontology.cache_clear()
    oxstore._ontology_ntriples.cache_clear()
    vocabulary.vocabulary.cache_clear()
    base._INSTANCES.clear()


def reset_shapes() -> None:
    """Forget what is computed from the shapes only (the reasoner and knowledge stay)."""
    resources._parsed.cache_clear()
    fastvalidate.compile_validator.cache_clear()
    validate._shapes.cache_clear()
    validate._shape_alerts.cache_clear()


@contextmanager
def using(graphs: Mapping[tuple[str, str], Graph]) -> Iterator[None]:
    """Run the block with these ``(kind, file) -> graph`` replacements, then restore the originals.

    Only shapes replacements are cheap (the ontology-derived caches stay); any ontology
    replacement clears every cache.
    """
    clear = reset_shapes if all(kind == "shapes" for kind, _ in graphs) else reset
    with resources.overridden(graphs):
        clear()
        try:
            yield
        finally:
            clear()
