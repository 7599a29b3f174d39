"""rdflib terms to and from pyoxigraph, and the fresh ontology store each chunk is checked in.

The compiled SHACL checks (:mod:`guidekg.fastvalidate`) run the shapes' SPARQL on pyoxigraph,
over records held as rdflib terms; this module owns that crossing and what it costs.
"""

from __future__ import annotations

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


def ontology_store(predicates: frozenset[str] | None = None) -> ox.Store:
    """A fresh in-memory store holding the ontology (what the checks read), one per chunk.

    A long-lived store that chunks pass through does not work: pyoxigraph's in-memory
    store keeps removed quads, so memory grew ~8 KB per patient ever validated
    (measured: 204 -> 420 MB over 16,000 patients; flat with a fresh store).
    """
    store = ox.Store()
    store.load(_ontology_ntriples(predicates), format=ox.RdfFormat.N_TRIPLES)
    return store
