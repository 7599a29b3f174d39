"""Cases at, just below and just above every numeric threshold of the content.

Thresholds are read from the axioms (every ``owl:withRestrictions`` facet of a defined class,
found the way the coverage enumerator walks definitions) and from the shapes (every
``sh:minInclusive``/``sh:maxInclusive``), so a new threshold gets its cases without anyone
writing them.

The expected side never comes from the engines under test. Facet semantics are this
module's own table (:data:`FACETS`); to get a case's expected classes every data range in
the axioms is replaced by a marker fact that this table decides, and only the boolean
structure (and, or, hasValue, named classes) is left to the reference evaluator. A bug in
how either engine reads a facet (``minExclusive`` as ``>=``) therefore shows as a
disagreement, whatever the engines agree among themselves.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from rdflib import XSD, Graph, Literal
from rdflib.term import Node

from ..logic import And, Axioms, DataRange, Evaluator, Expr, HasValue, Or
from ..model import PatientRecord, SourceRef
from ..namespaces import GK, SH, curie, patient_iri

FACETS = {
    str(XSD.minInclusive): lambda x, b: x >= b,
    str(XSD.maxInclusive): lambda x, b: x <= b,
    str(XSD.minExclusive): lambda x, b: x > b,
    str(XSD.maxExclusive): lambda x, b: x < b,
}
"""The oracle's facet semantics (XSD 1.1 Part 2, 4.3.7-4.3.10), written here on purpose."""

_INTEGERS = {str(XSD.integer), str(XSD.int), str(XSD.long), str(XSD.nonNegativeInteger)}
MARK = "urn:guidekg:boundary-mark:"
_TRUE = Literal(True)


def unit(datatype: str) -> Decimal:
    """One step of a threshold: 1 for integers, 0.5 for decimals (the content's decimals are months)."""
    return Decimal(1) if datatype in _INTEGERS else Decimal("0.5")


def as_literal(value: Decimal, datatype: str) -> Literal:
    if datatype in _INTEGERS:
        return Literal(int(value), datatype=XSD.integer)
    return Literal(str(value), datatype=XSD.decimal)


def in_range(value: Node, atom: DataRange) -> bool:
    """Whether a literal satisfies the data range, by :data:`FACETS`."""
    if not isinstance(value, Literal):
        return False
    try:
        number = Decimal(str(value.toPython()))
    except Exception:  # noqa: BLE001 - a non-number never satisfies a numeric range
        return False
    if atom.datatype in _INTEGERS and number != number.to_integral_value():
        return False
    return all(FACETS[f](number, Decimal(str(b.toPython()))) for f, b in atom.facets)


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    if isinstance(expr, (And, Or)):
        for part in expr.parts:
            yield from _walk(part)


@dataclass(frozen=True)
class Threshold:
    """One facet bound of one data range in one class definition."""

    cls: str
    atom: DataRange
    facet: str
    bound: Decimal

    def probes(self) -> list[Decimal]:
        step = unit(self.atom.datatype)
        return [self.bound - step, self.bound, self.bound + step]

    def label(self) -> str:
        return f"{curie(self.cls)} {curie(self.atom.prop)} {curie(self.facet)} {self.bound}"


def thresholds(ax: Axioms) -> list[Threshold]:
    out = []
    for cls in sorted(ax.definitions):
        for expr in _walk(ax.definitions[cls]):
            if isinstance(expr, DataRange):
                for facet, bound in expr.facets:
                    out.append(Threshold(cls, expr, str(facet), Decimal(str(bound.toPython()))))
    return out


class Oracle:
    """Expected classes of a patient with every data range decided by :data:`FACETS`."""

    def __init__(self, ax: Axioms) -> None:
        self.atoms: dict[DataRange, str] = {}

        def mark(expr: Expr) -> Expr:
            if isinstance(expr, DataRange):
                return HasValue(self.atoms.setdefault(expr, f"{MARK}{len(self.atoms)}"), _TRUE)
            if isinstance(expr, And):
                return And(tuple(mark(p) for p in expr.parts))
            if isinstance(expr, Or):
                return Or(tuple(mark(p) for p in expr.parts))
            return expr

        marked = replace(copy.copy(ax), definitions={c: mark(e) for c, e in ax.definitions.items()})
        self.evaluator = Evaluator(marked)
        self.defined = frozenset(ax.definitions)

    def classes(self, facts: dict[str, list[Node]]) -> frozenset[str]:
        facts = {p: list(v) for p, v in facts.items()}
        for atom, marker in self.atoms.items():
            if any(in_range(v, atom) for v in facts.get(atom.prop, ())):
                facts[marker] = [_TRUE]
        classes, _ = self.evaluator.saturate(facts, (str(GK.Patient),))
        return frozenset(classes) & self.defined


@dataclass
class BoundaryCase:
    name: str
    threshold: Threshold
    record: PatientRecord
    expected: frozenset[str]  # defined classes


def _rename(record: PatientRecord, pid: str) -> None:
    record.patient_id = pid
    record.iri = patient_iri(pid)
    if str(GK.patientId) in record.facts:
        record.facts[str(GK.patientId)] = [Literal(pid, datatype=XSD.string)]


def _with(base: PatientRecord, prop: str, value: Literal, name: str) -> PatientRecord:
    record = PatientRecord(name, patient_iri(name), SourceRef("boundary case", name))
    for p, values in base.facts.items():
        if p != prop:
            for v in values:
                record.add(p, v)
    record.add(prop, value)
    return record


def ontology_cases(ax: Axioms, bases: Iterable[PatientRecord], per_threshold: int = 2) -> tuple[list[BoundaryCase], list[Threshold]]:
    """Cases for every threshold on bases that witness it (the class flips across the bound).

    Returns the cases and the thresholds no base witnesses (the caller fails on those: a
    threshold no case can see is a threshold no test pins).
    """
    oracle = Oracle(ax)
    bases = list(bases)
    cases: list[BoundaryCase] = []
    unwitnessed = []
    for t in thresholds(ax):
        found = 0
        for base in bases:
            probes = []
            for i, x in enumerate(t.probes()):
                rec = _with(base, t.atom.prop, as_literal(x, t.atom.datatype), f"bnd-{len(cases) + i}-{base.patient_id}")
                probes.append((rec, oracle.classes(rec.facts)))
            if len({t.cls in expected for _, expected in probes}) < 2:
                continue
            for rec, expected in probes:
                cases.append(BoundaryCase(f"{t.label()} = {rec.facts[t.atom.prop][0]} on {base.patient_id}", t, rec, expected))
            found += 1
            if found >= per_threshold:
                break
        if not found:
            unwitnessed.append(t)
    for i, case in enumerate(cases):  # unique ids across the corpus
        _rename(case.record, f"boundary-{i}")
    return cases, unwitnessed


@dataclass
class ShapeCase:
    name: str
    record: PatientRecord
    path: str
    violates: bool


def shape_thresholds(shapes: Graph) -> list[tuple[str, str, str, Decimal]]:
    """(shape, path, facet, bound) for every numeric bound of a property shape."""
    out = []
    for facet in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
        for shape, bound in shapes.subject_objects(facet):
            path = shapes.value(shape, SH.path)
            if path is not None:
                out.append((str(shape), str(path), str(XSD[facet.split("#")[-1]]), Decimal(str(bound.toPython()))))
    return sorted(out)


def shape_cases(shapes: Graph, base: PatientRecord) -> list[ShapeCase]:
    """Each shape bound probed at bound-1, bound, bound+1 on a valid base; expected from :data:`FACETS`."""
    cases = []
    bounds = shape_thresholds(shapes)
    for shape, path, facet, bound in bounds:
        datatype = str(XSD.integer) if bound == bound.to_integral_value() else str(XSD.decimal)
        for x in (bound - 1, bound, bound + 1):
            name = f"shape-{len(cases)}"
            record = _with(base, path, as_literal(x, datatype), name)
            _rename(record, name)
            ok = all(FACETS[f](x, b) for _, p, f, b in bounds if p == path)
            cases.append(ShapeCase(f"{curie(shape)} {curie(facet)} {bound}: {x}", record, path, not ok))
    return cases


__all__ = ["FACETS", "BoundaryCase", "Oracle", "ShapeCase", "Threshold", "in_range", "ontology_cases", "shape_cases",
           "shape_thresholds", "thresholds"]
