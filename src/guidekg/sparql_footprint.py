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
* :attr:`Footprint.focus_local`: the focus variable occurs only as the subject of triple
  patterns (and in the projection): the query then sees nothing of the focus but its own
  facts on those predicates, never its IRI as such (a FILTER or BIND on it, a pattern with it
  as object). Patients with equal facts on :attr:`predicates` then get the same solutions,
  which the compiled validator memoises (:mod:`guidekg.fastvalidate_sparql`).

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
    focus_local: bool = False


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


def _mentions(value: object, focus: Variable) -> bool:
    """``focus`` among a node's direct values (expressions, lists, VALUES rows), not below nested nodes."""
    from rdflib.plugins.sparql.parserutils import CompValue
    if isinstance(value, CompValue):
        return False  # visited on its own by _nodes
    if isinstance(value, Variable):
        return value == focus
    if isinstance(value, dict):
        return any(_mentions(k, focus) or _mentions(v, focus) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_mentions(v, focus) for v in value)
    return False


def _focus_local(algebra: CompValue, focus: Variable) -> bool:
    for node in _nodes(algebra):
        for key, value in node.items():
            if key in ("_vars", "PV") or (key == "graph" and node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS")):
                continue  # the projection; an EXISTS pattern is visited as algebra by _nodes
            if node.name == "BGP" and key == "triples":
                if any(_mentions(p, focus) or _mentions(o, focus) for _, p, o in value or ()):
                    return False
            elif _mentions(value, focus):
                return False
    return True


Condition = tuple  # ("subject", path, object IRI): ?v path <o> ; ("object", subject IRI, path): <s> path ?v


def narrowing(query: str, focus: str = "this") -> dict[str, tuple[str | None, tuple[Condition, ...]]]:
    """Predicates of which only some values can matter: p -> (the one object IRI, or None and
    conditions every useful value ``?v`` meets).

    A predicate ``p`` (not rdf:type: every patient gets one, not among its facts) qualifies when the query names it in exactly one triple pattern (paths
    and EXISTS filters counted), ``?focus p <o>`` or ``?focus p ?v``, in conjunctive position.
    Every solution then binds that pattern to ``<o>``, or to a ``?v`` that also meets the other
    conjunctive patterns linking ``?v`` to constants (``?v rdf:type/rdfs:subClassOf* <C>``), so
    a patient's other ``p`` values cannot change any solution: they are left out of its memo
    key, and a patient with no qualifying value cannot match. The caller evaluates the
    conditions on the ontology (values are ontology individuals, never patients).
    """
    from rdflib.plugins.sparql import prepareQuery

    algebra = prepareQuery(query).algebra
    variable = Variable(focus)
    uses: dict[str, int] = {}
    for node in _nodes(algebra):
        for triple in node.get("triples") or () if node.name == "BGP" else ():
            for predicate in _path_predicates(triple[1]) or ():
                uses[predicate] = uses.get(predicate, 0) + 1
    conjunctive = list(_conjunctive(algebra, variable))
    out: dict[str, tuple[str | None, tuple[Condition, ...]]] = {}
    for s, p, o in conjunctive:
        if s != variable or not isinstance(p, URIRef) or p == RDF.type or uses.get(str(p)) != 1 or o == variable:
            continue
        if isinstance(o, URIRef):
            out[str(p)] = (str(o), ())
        elif isinstance(o, Variable):
            conditions = tuple(c for c in (_condition(t, o) for t in conjunctive) if c is not None)
            if conditions:
                out[str(p)] = (None, conditions)
    return out


def _condition(triple: tuple, value: Variable) -> Condition | None:
    s, path, o = triple
    if s == value and isinstance(o, URIRef) and (isinstance(path, (URIRef, Path))):
        return ("subject", path, str(o))
    if o == value and isinstance(s, URIRef) and (isinstance(path, (URIRef, Path))):
        return ("object", str(s), path)
    return None


def _conjunctive(node: object, focus: Variable) -> Iterator[tuple]:
    """The triple patterns every solution matches (as :func:`_required` walks them)."""
    from rdflib.plugins.sparql.parserutils import CompValue
    if not isinstance(node, CompValue):
        return
    if node.name == "BGP":
        yield from node.get("triples") or ()
        return
    if node.name == "Project" and focus not in (node.get("PV") or ()):
        return
    for key in _CONJUNCTIVE.get(node.name, ()):
        yield from _conjunctive(node.get(key), focus)


def footprint(query: str, focus: str = "this") -> Footprint:
    """The predicates ``query`` can read and the facts every solution's ``?focus`` must have."""
    from rdflib.plugins.sparql import prepareQuery

    algebra = prepareQuery(query).algebra
    variable = Variable(focus)
    return Footprint(_predicates(algebra), tuple(sorted(set(_required(algebra, variable)), key=str)),
                     _focus_local(algebra, variable))
