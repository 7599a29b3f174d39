"""Mutants of the guideline content: one plausible authoring mistake each.

Ontology (``guideline.ttl``): each facet bound moved one unit down and up; each ``hasValue``
swapped for each sibling value (another individual of the same type, or the other boolean)
and widened to ``someValuesFrom`` the value's type; each member of an intersection (conjunct)
or union (disjunct) dropped; each named ``rdfs:subClassOf`` moved to a sibling of its parent.
Shapes (``patient.ttl``, ``safety.ttl``): each core constraint of a property shape deleted,
each numeric bound moved one unit; in each SHACL-SPARQL ``sh:select`` each clause (a FILTER,
one ``||`` alternative, one triple pattern) deleted and each number in a comparison moved.

A mutant is a function from the original graph to the mutated one, so hundreds share one
parse. Its ``key`` is stable across runs (it names the place, not a blank node id) and is
what ``equivalent.csv`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from ..namespaces import SH, curie

_FACETS = (XSD.minInclusive, XSD.maxInclusive, XSD.minExclusive, XSD.maxExclusive)
_SHAPE_CORE = (SH.minCount, SH.maxCount, SH.datatype, SH["in"], SH["class"], SH.minInclusive, SH.maxInclusive, SH["or"])


@dataclass(frozen=True)
class Mutant:
    key: str  # stable description: kind | file | where | change
    kind: str
    file: tuple[str, str]  # (kind of content, file name)
    apply: Callable[[Graph], Graph]

    def __repr__(self) -> str:
        return f"Mutant({self.key})"


def _copy(graph: Graph) -> Graph:
    out = Graph()
    for prefix, ns in graph.namespaces():
        out.bind(prefix, ns)
    out += graph
    return out


def _edit(remove: list[tuple], add: list[tuple]) -> Callable[[Graph], Graph]:
    def apply(graph: Graph) -> Graph:
        out = _copy(graph)
        for t in remove:
            out.remove(t)
        for t in add:
            out.add(t)
        return out
    return apply


def _owner(graph: Graph, node: Node) -> str:
    """The named class (or shape) a blank node belongs to, for a readable stable key."""
    seen = set()
    while isinstance(node, BNode) and node not in seen:
        seen.add(node)
        parents = list(graph.subjects(None, node))
        if not parents:
            break
        node = parents[0]
    return curie(str(node))


def _path(graph: Graph, node: Node) -> str:
    """A stable address of a node inside its owner's expression (property and value it restricts)."""
    prop = graph.value(node, OWL.onProperty)
    bits = [_owner(graph, node)]
    if prop is not None:
        bits.append(curie(str(prop)))
    return " ".join(bits)


def _step(bound: Literal) -> Decimal:
    return Decimal(1) if str(bound.datatype) in (str(XSD.integer), str(XSD.int)) else Decimal("1.0")


def _moved(bound: Literal, delta: Decimal) -> Literal:
    value = Decimal(str(bound.toPython())) + delta
    if str(bound.datatype) in (str(XSD.integer), str(XSD.int)):
        return Literal(int(value), datatype=bound.datatype)
    return Literal(str(value), datatype=bound.datatype)


def _restriction_of(graph: Graph, facet_node: Node) -> str:
    """owner + property of the datatype restriction a facet node sits in."""
    for head in graph.subjects(RDF.first, facet_node):
        node = head
        while (prev := next(iter(graph.subjects(RDF.rest, node)), None)) is not None:
            node = prev
        for dt in graph.subjects(OWL.withRestrictions, node):
            for restriction in graph.subjects(OWL.someValuesFrom, dt):
                return _path(graph, restriction)
    return _owner(graph, facet_node)


def ontology_mutants(graph: Graph, name: str = "guideline", context: Graph | None = None) -> Iterator[Mutant]:
    """Mutants of one ontology file; ``context`` (the logic modules) supplies value types and the class tree."""
    file = ("ontology", name)
    context = context if context is not None else graph
    for facet in _FACETS:
        for node, bound in sorted(graph.subject_objects(facet), key=lambda so: (_restriction_of(graph, so[0]), str(so[1]))):
            where = f"{_restriction_of(graph, node)} {curie(str(facet))} {bound}"
            for delta in (-_step(bound), _step(bound)):
                new = _moved(bound, delta)
                yield Mutant(f"facet|{name}|{where}|-> {new}", "facet", file, _edit([(node, facet, bound)], [(node, facet, new)]))
    types = {}
    for ind, cls in context.subject_objects(RDF.type):
        types.setdefault(ind, set()).add(cls)
    for r, value in sorted(graph.subject_objects(OWL.hasValue), key=lambda rv: (_path(graph, rv[0]), str(rv[1]))):
        where = f"{_path(graph, r)} hasValue {curie(str(value)) if isinstance(value, URIRef) else value}"
        if isinstance(value, Literal) and isinstance(value.toPython(), bool):
            siblings = [Literal(not value.toPython())]
        else:
            siblings = sorted({s for c in types.get(value, set()) - {OWL.NamedIndividual} for s in context.subjects(RDF.type, c)} - {value}, key=str)
        for sib in siblings:
            label = curie(str(sib)) if isinstance(sib, URIRef) else str(sib)
            yield Mutant(f"hasValue-swap|{name}|{where}|-> {label}", "hasValue", file, _edit([(r, OWL.hasValue, value)], [(r, OWL.hasValue, sib)]))
        for cls in sorted(types.get(value, set()) - {OWL.NamedIndividual}, key=str):
            yield Mutant(f"hasValue-widen|{name}|{where}|-> some {curie(str(cls))}", "hasValue", file,
                         _edit([(r, OWL.hasValue, value)], [(r, OWL.someValuesFrom, cls)]))
    for op, kind in ((OWL.intersectionOf, "conjunct"), (OWL.unionOf, "disjunct")):
        for node, head in graph.subject_objects(op):
            members = list(Collection(graph, head))
            if len(members) < 2:
                continue
            for i, member in enumerate(members):
                label = curie(str(member)) if isinstance(member, URIRef) else _describe(graph, member)
                yield Mutant(f"{kind}-drop|{name}|{_owner(graph, node)}|drop #{i} {label}", kind, file, _drop(node, op, head, i))
    for cls, parent in sorted(graph.subject_objects(RDFS.subClassOf), key=lambda cp: (str(cp[0]), str(cp[1]))):
        if not isinstance(cls, URIRef) or not isinstance(parent, URIRef):
            continue
        grand = set(context.objects(parent, RDFS.subClassOf))
        siblings = sorted({s for g in grand for s in context.subjects(RDFS.subClassOf, g) if isinstance(s, URIRef)} - {parent, cls}, key=str)
        if siblings:
            sib = siblings[0]
            yield Mutant(f"subclass-move|{name}|{curie(str(cls))} subClassOf {curie(str(parent))}|-> {curie(str(sib))}", "subclass", file,
                         _edit([(cls, RDFS.subClassOf, parent)], [(cls, RDFS.subClassOf, sib)]))


def _describe(graph: Graph, node: Node) -> str:
    prop = graph.value(node, OWL.onProperty)
    if prop is None:
        return "(class expression)"
    value = graph.value(node, OWL.hasValue) or graph.value(node, OWL.someValuesFrom)
    shown = curie(str(value)) if isinstance(value, URIRef) else ("[datatype]" if isinstance(value, BNode) else str(value))
    return f"{curie(str(prop))} {shown}"


def _drop(node: Node, op: URIRef, head: Node, index: int) -> Callable[[Graph], Graph]:
    def apply(graph: Graph) -> Graph:
        out = _copy(graph)
        members = list(Collection(out, head))
        del members[index]
        new_head = BNode()
        Collection(out, new_head, members)
        out.remove((node, op, head))
        out.add((node, op, new_head))
        return out
    return apply


_NUMBER = re.compile(r"(?<=[<>=]\s)(\d+(?:\.\d+)?)")


def _clauses(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, label) of each deletable clause of a SELECT.

    A clause is a line that starts with FILTER (not an opening ``FILTER (`` of a multi-line
    disjunction), each ``||`` alternative (with its continuation lines) inside one, and a
    triple pattern line that does not bind ``$this`` first.
    """
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("FILTER (") and s.endswith("(") or s == "FILTER (":
            j = i + 1
            while j < len(lines) and lines[j].strip() != ")":
                k = j + 1
                while k < len(lines) and not lines[k].strip().startswith("||") and lines[k].strip() != ")":
                    k += 1
                out.append((j, k - 1, lines[j].strip()[:70]))
                j = k
            i = j + 1
            continue
        if s.startswith("FILTER"):
            out.append((i, i, s[:70]))
        elif (s.startswith("?") or (s.startswith("gk:") and s.endswith("."))) and not s.startswith("BIND"):
            out.append((i, i, s[:70]))
        i += 1
    return out


def _delete_clause(text: str, first: int, last: int) -> str:
    lines = text.split("\n")
    start = lines[first].strip()
    del lines[first:last + 1]
    if not start.startswith("||") and first < len(lines) and lines[first].strip().startswith("||"):
        lines[first] = lines[first].replace("||", "", 1)  # the first alternative: drop the next one's operator
    elif lines[first - 1].rstrip().endswith(";") and first < len(lines) and lines[first].strip().startswith((".", "}")):
        lines[first - 1] = lines[first - 1].rstrip()[:-1] + " ."
    return "\n".join(lines)


def _set_literal(node: Node, prop: URIRef, old: Node, new: Node) -> Callable[[Graph], Graph]:
    return _edit([(node, prop, old)], [(node, prop, new)])


def shape_mutants(graph: Graph, name: str) -> Iterator[Mutant]:
    file = ("shapes", name)
    for shape in sorted({s for s in graph.subjects(SH.path, None)}, key=str):
        for prop in _SHAPE_CORE:
            for value in graph.objects(shape, prop):
                yield Mutant(f"shape-clause|{name}|{curie(str(shape))}|delete {curie(str(prop))}", "shape-clause", file,
                             _edit([(shape, prop, value)], []))
        for prop in (SH.minInclusive, SH.maxInclusive):
            for value in graph.objects(shape, prop):
                for delta in (Decimal(-1), Decimal(1)):
                    new = _moved(value, delta)
                    yield Mutant(f"shape-bound|{name}|{curie(str(shape))} {curie(str(prop))} {value}|-> {new}", "shape-bound", file,
                                 _set_literal(shape, prop, value, new))
    for constraint, select in sorted(graph.subject_objects(SH.select), key=lambda cs: str(cs[1])):
        shape = _owner(graph, constraint)
        text = str(select)
        for first, last, label in _clauses(text):
            new = Literal(_delete_clause(text, first, last))
            yield Mutant(f"shape-clause|{name}|{shape}|delete '{label}'", "shape-clause", file, _set_literal(constraint, SH.select, select, new))
        for line in text.split("\n"):
            if "FILTER" not in line:
                continue
            for match in _NUMBER.finditer(line):
                for delta in (-1, 1):
                    number = Decimal(match.group(1)) + delta
                    changed = line[:match.start()] + str(number) + line[match.end():]
                    new = Literal(text.replace(line, changed))
                    yield Mutant(f"shape-bound|{name}|{shape} '{line.strip()}'|-> {number}", "shape-bound", file,
                                 _set_literal(constraint, SH.select, select, new))


def generate(ontology: dict[str, Graph], shapes: dict[str, Graph], context: Graph | None = None) -> list[Mutant]:
    """Every mutant of the given parsed files (name -> graph), in a stable order."""
    out: list[Mutant] = []
    for name, graph in ontology.items():
        out += ontology_mutants(graph, name, context)
    for name, graph in shapes.items():
        out += shape_mutants(graph, name)
    keys = [m.key for m in out]
    seen: dict[str, int] = {}
    unique = []
    for m, k in zip(out, keys, strict=True):
        n = seen.get(k, 0)
        seen[k] = n + 1
        unique.append(m if n == 0 else Mutant(f"{k} ({n + 1})", m.kind, m.file, m.apply))
    return unique


__all__ = ["Mutant", "generate", "ontology_mutants", "shape_mutants"]
