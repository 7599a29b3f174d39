"""The guideline's class expressions as a small typed AST, read from the ontology's axioms.

Explanations, the fast reasoner and the authoring review all need to *read* the logic
rather than hand-copy it, so this module turns the OWL in ``guideline.ttl`` into data:
:class:`Axioms` holds every defined class's expression, its told superclasses, the facts
a class implies, functional properties and which value individuals are pairwise different.

Only the constructs listed in :data:`SUPPORTED` are accepted. Anything else raises
:class:`UnsupportedConstruct` naming the class and the construct, so an ontology edit can
never make a consumer silently compute something different from an OWL reasoner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

SUPPORTED = (
    "owl:intersectionOf",
    "owl:unionOf",
    "owl:hasValue (object or data)",
    "owl:someValuesFrom a named class (object property)",
    "owl:someValuesFrom a datatype restricted by min/max facets (data property)",
    "named classes",
    "rdfs:subClassOf a named class or an owl:hasValue restriction",
)


class UnsupportedConstruct(ValueError):
    """The ontology uses OWL that this module would not evaluate exactly like HermiT."""


@dataclass(frozen=True)
class Named:
    iri: str


@dataclass(frozen=True)
class And:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class HasValue:
    prop: str
    value: Node


@dataclass(frozen=True)
class Some:
    prop: str
    cls: str


@dataclass(frozen=True)
class DataRange:
    prop: str
    datatype: str
    facets: tuple[tuple[str, Literal], ...]


Expr = Named | And | Or | HasValue | Some | DataRange

NUMERIC = {str(XSD.integer), str(XSD.decimal), str(XSD.int), str(XSD.long), str(XSD.nonNegativeInteger), str(XSD.double), str(XSD.float)}
OWL2_DATATYPES = NUMERIC | {
    str(XSD.string), str(XSD.boolean), str(XSD.dateTime), str(XSD.dateTimeStamp), str(XSD.anyURI),
    str(RDF.PlainLiteral), str(RDF.langString), "http://www.w3.org/2000/01/rdf-schema#Literal",
    str(XSD.short), str(XSD.byte), str(XSD.positiveInteger), str(XSD.negativeInteger),
    str(XSD.nonPositiveInteger), str(XSD.unsignedInt), str(XSD.unsignedLong), str(XSD.normalizedString),
    str(XSD.token), str(XSD.language), str(XSD.Name), str(XSD.NCName), str(XSD.NMTOKEN),
    str(XSD.hexBinary), str(XSD.base64Binary), "http://www.w3.org/2002/07/owl#real",
    "http://www.w3.org/2002/07/owl#rational",
}
"""Datatypes of the OWL 2 datatype map: literals of any other datatype are invisible to reasoners."""

_FACETS = {str(XSD.minInclusive), str(XSD.maxInclusive), str(XSD.minExclusive), str(XSD.maxExclusive)}


@dataclass
class Axioms:
    """Everything a reasoner needs from the TBox, as plain Python data."""

    definitions: dict[str, Expr] = field(default_factory=dict)
    superclasses: dict[str, set[str]] = field(default_factory=dict)
    implied_facts: dict[str, list[tuple[str, Node]]] = field(default_factory=dict)
    individual_types: dict[str, set[str]] = field(default_factory=dict)
    functional: set[str] = field(default_factory=set)
    ranges: dict[str, str] = field(default_factory=dict)
    different: set[frozenset[str]] = field(default_factory=set)
    disjoint: set[frozenset[str]] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)

    def ancestors(self, cls: str) -> set[str]:
        """cls and every told superclass, transitively."""
        seen = {cls}
        stack = [cls]
        while stack:
            for sup in self.superclasses.get(stack.pop(), ()):
                if sup not in seen:
                    seen.add(sup)
                    stack.append(sup)
        return seen

    def descendants(self, cls: str) -> set[str]:
        return {c for c in self.classes if cls in self.ancestors(c)}

    def are_different(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.different

    def label(self, iri: str) -> str:
        return self.labels.get(iri, iri.rsplit("#", 1)[-1])


def _list(graph: Graph, head: Node) -> list[Node]:
    return list(Collection(graph, head))


def _parse(graph: Graph, node: Node, where: str) -> Expr:
    if isinstance(node, URIRef):
        return Named(str(node))
    if not isinstance(node, BNode):
        raise UnsupportedConstruct(f"{where}: a class expression cannot be the literal {node!r}")
    inter = graph.value(node, OWL.intersectionOf)
    if inter is not None:
        return And(tuple(_parse(graph, part, where) for part in _list(graph, inter)))
    union = graph.value(node, OWL.unionOf)
    if union is not None:
        return Or(tuple(_parse(graph, part, where) for part in _list(graph, union)))
    prop = graph.value(node, OWL.onProperty)
    if prop is not None:
        value = graph.value(node, OWL.hasValue)
        if value is not None:
            return HasValue(str(prop), value)
        filler = graph.value(node, OWL.someValuesFrom)
        if isinstance(filler, URIRef):
            if (filler, RDF.type, RDFS.Datatype) in graph or str(filler).startswith(str(XSD)):
                return DataRange(str(prop), str(filler), ())
            return Some(str(prop), str(filler))
        if isinstance(filler, BNode) and graph.value(filler, OWL.onDatatype) is not None:
            datatype = str(graph.value(filler, OWL.onDatatype))
            facets: list[tuple[str, Literal]] = []
            for restriction in _list(graph, graph.value(filler, OWL.withRestrictions)):
                for facet, value in graph.predicate_objects(restriction):
                    if str(facet) not in _FACETS or not isinstance(value, Literal):
                        raise UnsupportedConstruct(f"{where}: datatype facet {facet} is not supported (only min/max)")
                    facets.append((str(facet), value))
            return DataRange(str(prop), datatype, tuple(facets))
    constructs = sorted({str(p) for p in graph.predicates(node)} - {str(RDF.type)})
    raise UnsupportedConstruct(
        f"{where}: unsupported OWL construct ({', '.join(constructs) or 'empty node'}); supported: {'; '.join(SUPPORTED)}"
    )


_REFUSED_TBOX = (
    OWL.complementOf, OWL.allValuesFrom, OWL.oneOf, OWL.cardinality, OWL.minCardinality, OWL.maxCardinality,
    OWL.qualifiedCardinality, OWL.minQualifiedCardinality, OWL.maxQualifiedCardinality, OWL.hasSelf,
    OWL.propertyChainAxiom, OWL.inverseOf, RDFS.subPropertyOf, OWL.equivalentProperty, OWL.hasKey,
    OWL.disjointUnionOf, OWL.sameAs, OWL.propertyDisjointWith,
)


def _owner(graph: Graph, node: Node) -> str:
    """The named class (or property) an anonymous expression belongs to, for error messages."""
    seen: set[Node] = set()
    while isinstance(node, BNode) and node not in seen:
        seen.add(node)
        parents = [s for s, _ in graph.subject_predicates(node)]
        if not parents:
            return f"an anonymous expression ({node.n3()})"
        node = parents[0]
    return str(node)


def read_axioms(graph: Graph) -> Axioms:
    """Read the logical content of an ontology graph; refuse what cannot be evaluated exactly."""
    for predicate in _REFUSED_TBOX:
        for subject, _, _ in graph.triples((None, predicate, None)):
            raise UnsupportedConstruct(
                f"{_owner(graph, subject)}: {predicate} is not supported; supported: {'; '.join(SUPPORTED)}")
    for kind in (OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.InverseFunctionalProperty, OWL.ReflexiveProperty):
        for subject in graph.subjects(RDF.type, kind):
            raise UnsupportedConstruct(f"{subject}: {kind} is not supported")

    ax = Axioms()
    ax.classes = {str(c) for c in graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
    for subject, label in graph.subject_objects(RDFS.label):
        if isinstance(subject, URIRef):
            ax.labels.setdefault(str(subject), str(label))
    for cls, expr in graph.subject_objects(OWL.equivalentClass):
        if not isinstance(cls, URIRef):
            raise UnsupportedConstruct(f"general class axiom on {cls}: only named classes may have definitions")
        if str(cls) in ax.definitions:
            raise UnsupportedConstruct(f"{cls}: more than one owl:equivalentClass")
        ax.definitions[str(cls)] = _parse(graph, expr, str(cls))
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if not isinstance(sub, URIRef):
            raise UnsupportedConstruct(f"general class axiom with subject {sub} is not supported")
        if isinstance(sup, URIRef):
            ax.superclasses.setdefault(str(sub), set()).add(str(sup))
            continue
        parsed = _parse(graph, sup, str(sub))
        if not isinstance(parsed, HasValue):
            raise UnsupportedConstruct(f"{sub}: rdfs:subClassOf a complex expression is not supported (only hasValue)")
        ax.implied_facts.setdefault(str(sub), []).append((parsed.prop, parsed.value))
    for a, b in graph.subject_objects(OWL.disjointWith):
        ax.disjoint.add(frozenset((str(a), str(b))))
    for prop in graph.subjects(RDF.type, OWL.FunctionalProperty):
        ax.functional.add(str(prop))
    for prop, rng in graph.subject_objects(RDFS.range):
        ax.ranges[str(prop)] = str(rng)
    for node in graph.subjects(RDF.type, OWL.AllDifferent):
        members = [str(m) for m in _list(graph, graph.value(node, OWL.distinctMembers) or graph.value(node, OWL.members))]
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                ax.different.add(frozenset((a, b)))
    for a, b in graph.subject_objects(OWL.differentFrom):
        ax.different.add(frozenset((str(a), str(b))))
    for ind, cls in graph.subject_objects(RDF.type):
        if isinstance(ind, URIRef) and isinstance(cls, URIRef) and str(cls) in ax.classes:
            ax.individual_types.setdefault(str(ind), set()).add(str(cls))
    return ax


# ------------------------------------------------------------------------------ evaluation

def _number(value: Literal) -> Decimal | None:
    python = value.toPython()
    if isinstance(python, bool) or not isinstance(python, (int, float, Decimal)):
        return None
    return Decimal(str(python))


def literal_in_range(value: Node, datatype: str, facets: Iterable[tuple[str, Literal]]) -> bool:
    """Whether a literal lies in a (faceted) datatype, with OWL 2's numeric value semantics."""
    if not isinstance(value, Literal):
        return False
    if datatype in NUMERIC:
        number = _number(value) if str(value.datatype or "") in NUMERIC else None
        if number is None:
            return False
        if datatype in (str(XSD.integer), str(XSD.int), str(XSD.long), str(XSD.nonNegativeInteger)) and number != number.to_integral_value():
            return False
        for facet, bound_literal in facets:
            bound = _number(bound_literal)
            if bound is None:
                return False
            if facet == str(XSD.minInclusive) and not number >= bound:
                return False
            if facet == str(XSD.maxInclusive) and not number <= bound:
                return False
            if facet == str(XSD.minExclusive) and not number > bound:
                return False
            if facet == str(XSD.maxExclusive) and not number < bound:
                return False
        return True
    return str(value.datatype or XSD.string) == datatype and not list(facets)


def same_value(a: Node, b: Node) -> bool:
    """Equality of two fact values as OWL sees it (numbers by value, IRIs by name)."""
    if isinstance(a, Literal) and isinstance(b, Literal):
        na, nb = _number(a) if str(a.datatype or "") in NUMERIC else None, _number(b) if str(b.datatype or "") in NUMERIC else None
        if na is not None and nb is not None:
            return na == nb
        return a.eq(b) if hasattr(a, "eq") else a == b
    return a == b


class Evaluator:
    """Evaluates class expressions against one patient's facts (a dict property -> values)."""

    def __init__(self, axioms: Axioms) -> None:
        self.ax = axioms
        self._value_types: dict[str, set[str]] = {
            ind: set().union(*(axioms.ancestors(c) for c in types)) for ind, types in axioms.individual_types.items()
        }

    def value_types(self, individual: str) -> set[str]:
        return self._value_types.get(individual, set())

    def holds(self, expr: Expr, facts: dict[str, list[Node]], classes: set[str]) -> bool:
        if isinstance(expr, Named):
            return expr.iri in classes
        if isinstance(expr, And):
            return all(self.holds(p, facts, classes) for p in expr.parts)
        if isinstance(expr, Or):
            return any(self.holds(p, facts, classes) for p in expr.parts)
        if isinstance(expr, HasValue):
            return any(same_value(v, expr.value) for v in facts.get(expr.prop, ()))
        if isinstance(expr, Some):
            return any(expr.cls in self.value_types(str(v)) for v in facts.get(expr.prop, ()) if isinstance(v, URIRef))
        return any(literal_in_range(v, expr.datatype, expr.facets) for v in facts.get(expr.prop, ()))

    def because(self, expr: Expr, facts: dict[str, list[Node]], classes: set[str]) -> list[tuple[str, Node | str]]:
        """The facts (property, value) or classes ('class', iri) that make a holding expression true."""
        if isinstance(expr, Named):
            return [("class", expr.iri)]
        if isinstance(expr, And):
            return [item for p in expr.parts for item in self.because(p, facts, classes)]
        if isinstance(expr, Or):
            for part in expr.parts:
                if self.holds(part, facts, classes):
                    return self.because(part, facts, classes)
            return []
        if isinstance(expr, HasValue):
            return [(expr.prop, v) for v in facts.get(expr.prop, ()) if same_value(v, expr.value)][:1]
        if isinstance(expr, Some):
            return [(expr.prop, v) for v in facts.get(expr.prop, ()) if isinstance(v, URIRef) and expr.cls in self.value_types(str(v))][:1]
        return [(expr.prop, v) for v in facts.get(expr.prop, ()) if literal_in_range(v, expr.datatype, expr.facets)][:1]

    def saturate(self, facts: dict[str, list[Node]], asserted: Iterable[str]) -> tuple[set[str], dict[str, list[Node]]]:
        """All classes of a patient and its facts after applying implied facts, to a fixpoint.

        The fragment has no negation, so adding classes or facts never removes one and the
        loop terminates in at most (number of classes) rounds.
        """
        facts = {p: list(v) for p, v in facts.items()}
        classes: set[str] = set()
        for cls in asserted:
            classes |= self.ax.ancestors(cls)
        changed = True
        while changed:
            changed = False
            for cls, expr in self.ax.definitions.items():
                if cls not in classes and self.holds(expr, facts, classes):
                    classes |= self.ax.ancestors(cls)
                    changed = True
            for cls in list(classes):
                for prop, value in self.ax.implied_facts.get(cls, ()):
                    bucket = facts.setdefault(prop, [])
                    if not any(same_value(value, v) for v in bucket):
                        bucket.append(value)
                        changed = True
        return classes, facts
