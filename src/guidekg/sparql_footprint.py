"""What a SPARQL query can read of a focus node, derived from its algebra.

The compiled SHACL-SPARQL checks (:mod:`guidekg.fastvalidate`) run on a chunk of patients at
a time. Most of their cost was loading every fact of every patient into a store, although
each check reads a handful of properties and can only match patients that have one specific
fact (for example ``?this gk:plannedAction gk:LiverBiopsy``). This module reads both from
the query itself, so nothing about the guideline is written in Python:

* :attr:`Footprint.predicates`: every predicate any triple pattern or property path of the
  query mentions (in EXISTS filters too). A query cannot see a triple whose predicate it never
  names, so loading only these predicates gives the same solutions. ``None`` when the query
  has a variable predicate or a negated property set (it may read anything).
* :attr:`Footprint.required`: triple patterns ``?this <p> <o>`` (or ``?this <p> ?x``) that
  every solution must match, because they sit in conjunctive position (not under OPTIONAL,
  UNION, MINUS or a filter). A focus node without such a fact cannot be a solution, so it
  need not be loaded for this query at all.

Both are necessary conditions only; tests/test_batch.py checks the findings stay equal to pySHACL's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import RDF, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath

if TYPE_CHECKING:  # rdflib's SPARQL package is imported on use: unpickling a Footprint must not pay ~0.1 s for it
    from rdflib.plugins.sparql.parserutils import CompValue

_CONJUNCTIVE = {"SelectQuery": ("p",), "Project": ("p",), "Distinct": ("p",), "Reduced": ("p",), "Slice": ("p",),
                "OrderBy": ("p",), "ToMultiSet": ("p",), "Extend": ("p",), "Filter": ("p",), "Join": ("p1", "p2"),
                "LeftJoin": ("p1",), "Minus": ("p1",), "Group": ("p",), "AggregateJoin": ("p",)}


@dataclass(frozen=True)
class Footprint:
    predicates: frozenset[str] | None
    required: tuple[tuple[str, str | None], ...]  # (predicate, object IRI or None for any object)


def _nodes(value: object) -> Iterator[CompValue]:
    """Every algebra node below ``value``, filter expressions (EXISTS) included."""
    from rdflib.plugins.sparql.algebra import translateGroupGraphPattern
    from rdflib.plugins.sparql.parserutils import CompValue
    if isinstance(value, CompValue):
        yield value
        if value.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            # rdflib keeps the algebra it evaluates in the attribute; the dict item is the parse
            # form, whose inner FILTERs the translation removed (reading it would miss them)
            graph = vars(value).get("graph")
            yield from _nodes(graph if graph is not None else translateGroupGraphPattern(value["graph"]))
            return
        for child in value.values():
            yield from _nodes(child)
    elif isinstance(value, (list, tuple, set)):
        for child in value:
            yield from _nodes(child)


def _path_predicates(path: object) -> set[str] | None:
    if isinstance(path, URIRef):
        return {str(path)}
    if isinstance(path, NegatedPath) or isinstance(path, Variable):
        return None
    if isinstance(path, (SequencePath, AlternativePath)):
        parts = [_path_predicates(p) for p in path.args]
        return None if any(p is None for p in parts) else set().union(*parts)
    if isinstance(path, MulPath):
        return _path_predicates(path.path)
    if isinstance(path, InvPath):
        return _path_predicates(path.arg)
    if isinstance(path, Path):
        return None  # a path kind this module does not know: assume it may read anything
    return None


def _predicates(algebra: CompValue) -> frozenset[str] | None:
    found: set[str] = set()
    for node in _nodes(algebra):
        if node.name in ("Graph", "ServiceGraphPattern") or "graph" in node and isinstance(node.get("graph"), Variable):
            return None
        for triple in node.get("triples") or () if node.name == "BGP" else ():
            predicates = _path_predicates(triple[1])
            if predicates is None:
                return None
            found |= predicates
    return frozenset(found)


def _required(node: object, focus: Variable) -> Iterator[tuple[str, str | None]]:
    from rdflib.plugins.sparql.parserutils import CompValue
    if not isinstance(node, CompValue):
        return
    if node.name == "BGP":
        for s, p, o in node.get("triples") or ():
            if s == focus and isinstance(p, URIRef) and p != RDF.type:
                yield str(p), (str(o) if isinstance(o, URIRef) else None)
        return
    if node.name == "Project" and focus not in (node.get("PV") or ()):
        return  # a subquery that does not project the focus has its own, unrelated variable of that name
    for key in _CONJUNCTIVE.get(node.name, ()):
        yield from _required(node.get(key), focus)


def footprint(query: str, focus: str = "this") -> Footprint:
    """The predicates ``query`` can read and the facts every solution's ``?focus`` must have."""
    from rdflib.plugins.sparql import prepareQuery

    algebra = prepareQuery(query).algebra
    return Footprint(_predicates(algebra), tuple(sorted(set(_required(algebra, Variable(focus))), key=str)))
