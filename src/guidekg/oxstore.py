"""rdflib terms to and from pyoxigraph, and the ontology store each chunk is checked in.

The compiled SHACL checks (:mod:`guidekg.fastvalidate`) run the shapes' SPARQL on pyoxigraph,
over records held as rdflib terms; this module owns that crossing and what it costs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from . import resources


@lru_cache(maxsize=4096)
def named(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


_OX_TERMS: dict[Node, object] = {}


def to_ox(value: Node):
    term = _OX_TERMS.get(value)
    if term is None:
        term = _convert(value)
        if len(_OX_TERMS) > 20_000:
            _OX_TERMS.clear()
        _OX_TERMS[value] = term
    return term


def _convert(value: Node):
    if isinstance(value, URIRef):
        return named(str(value))
    if isinstance(value, Literal):
        if value.language:
            return ox.Literal(str(value), language=value.language)
        return ox.Literal(str(value), datatype=named(str(value.datatype)) if value.datatype else None)
    return ox.BlankNode(str(value))


def from_ox(term) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    return BNode(term.value)


@lru_cache(maxsize=8)
def _ontology_ntriples(predicates: frozenset[str] | None = None) -> bytes:
    """The logic modules as N-Triples, only the triples whose predicate a check can read.

    The checks read a handful of predicates (rdf:type and rdfs:subClassOf from the
    ontology); the labels, comments and evidence links are most of its triples. Loading only
    what can match gives the same solutions and cut a single patient's validation from ~8 to
    ~2 ms (``predicates=None``: every triple).
    """
    from .kcache import snapshot

    if (snap := snapshot()) is not None and predicates in snap.ontology_nt:
        return snap.ontology_nt[predicates]
    graph = resources.shared_graph("ontology", *resources.LOGIC_MODULES)
    if predicates is None:
        return graph.serialize(format="nt", encoding="utf-8")
    kept = Graph()
    for predicate in predicates:
        for triple in graph.triples((None, URIRef(predicate), None)):
            kept.add(triple)
    return kept.serialize(format="nt", encoding="utf-8")


def _loaded(ontology: bytes) -> ox.Store:
    store = ox.Store()
    store.load(ontology, format=ox.RdfFormat.N_TRIPLES)
    return store


CHUNK_GRAPH = ox.NamedNode("urn:guidekg:chunk")
"""The named graph a call's patients go into; the ontology is the default graph."""

REUSE_UP_TO = 16  # patients: a call this small borrows the thread's store instead of building one
REBUILD_AFTER = 2000  # patients through a borrowed store before it is replaced
_BORROWED = threading.local()


@contextmanager
def ontology_store(predicates: frozenset[str] | None = None, patients: int = REUSE_UP_TO + 1) -> Iterator[ox.Store]:
    """An in-memory store holding the ontology (what the checks read); the caller adds its
    patients to :data:`CHUNK_GRAPH`.

    A chunk gets a fresh store: pyoxigraph's in-memory store keeps removed quads, so a store
    that whole chunks pass through grew ~8 KB per patient ever validated (204 -> 420 MB over
    16,000 patients; flat with a fresh store). Loading the ontology costs ~1.2 ms, which is
    nothing for a chunk but over half of one patient's assessment (the CLI, ``/recommend``,
    CDS Hooks): a call of at most :data:`REUSE_UP_TO` patients borrows this thread's store
    instead, its patients' graph is cleared when the call ends (also on an error, so no
    patient's facts can leak into the next call), and the store is replaced after
    :data:`REBUILD_AFTER` patients, which bounds the kept quads (~16 MB).
    """
    ontology = _ontology_ntriples(predicates)
    if patients > REUSE_UP_TO:
        yield _loaded(ontology)
        return
    # Keyed by the ontology text itself, so content swapped in process (guidekg mutate, the
    # review) never meets a store holding the old ontology; one store per thread.
    entry = getattr(_BORROWED, "entry", None)
    if entry is None or entry[0] != ontology or entry[2] >= REBUILD_AFTER:
        entry = [ontology, _loaded(ontology), 0]
    _BORROWED.entry = None  # borrowed: a nested call on this thread builds its own
    try:
        yield entry[1]
    finally:
        entry[1].remove_graph(CHUNK_GRAPH)
        entry[2] += patients
        _BORROWED.entry = entry
