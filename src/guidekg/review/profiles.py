"""Every distinguishable patient profile over the facts a set of classes reads.

Patients never link to each other, so a patient's classes depend only on its own facts.
The facts a class can see are finite once values the axioms cannot tell apart are merged:
value individuals with the same answers to every ``hasValue`` / ``some`` atom on their
property, and numbers in the same interval between the facet thresholds. Enumerating one
representative per indistinguishable group (and 'missing') therefore covers every possible
input, which is what lets the review *prove* coverage instead of sampling it.

The space is generated from the ontology alone: the properties read by the target classes'
definitions (closed under the classes they reference and the classes whose implied facts
feed them), the value individuals of each property's ``rdfs:range``, booleans, and numbers
at and around each threshold. Properties the targets never read stay absent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from graphlib import CycleError, TopologicalSorter

from rdflib import OWL, XSD, Literal, URIRef
from rdflib.term import Node

from ..logic import NUMERIC, And, Axioms, DataRange, Evaluator, Expr, HasValue, Named, Or, Some, literal_in_range, same_value
from ..namespaces import GK, curie

Value = Node | None
"""A fact value; ``None`` means the fact is missing."""

PROTOTYPE = "urn:guidekg:prototype:"
_INTEGERS = {str(XSD.integer), str(XSD.int), str(XSD.long), str(XSD.nonNegativeInteger)}


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    if isinstance(expr, (And, Or)):
        for part in expr.parts:
            yield from _walk(part)


def closure(ax: Axioms, targets: Iterable[str]) -> set[str]:
    """The targets and every defined class that can change whether a target holds.

    References to gk:Patient and its ancestors are skipped: every profile is a patient.
    """
    always = ax.ancestors(str(GK.Patient))
    todo, seen = list(targets), set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        expr = ax.definitions.get(cls)
        refs = {e.iri for e in _walk(expr) if isinstance(e, Named)} if expr is not None else set()
        for ref in refs - always:
            todo.extend(d for d in ax.definitions if ref in ax.ancestors(d))
        props = {e.prop for c in seen if c in ax.definitions for e in _walk(ax.definitions[c]) if hasattr(e, "prop")}
        todo.extend(c for c, facts in ax.implied_facts.items() if any(p in props for p, _ in facts) and c in ax.definitions)
    return seen


def atoms(ax: Axioms, classes: Iterable[str]) -> dict[str, list[Expr]]:
    """Property -> the atoms (hasValue, some, data ranges, implied facts) that read it."""
    out: dict[str, list[Expr]] = {}
    for cls in sorted(classes):
        for expr in _walk(ax.definitions[cls]) if cls in ax.definitions else ():
            if isinstance(expr, (HasValue, Some, DataRange)) and expr not in out.get(expr.prop, []):
                out.setdefault(expr.prop, []).append(expr)
        for prop, value in ax.implied_facts.get(cls, ()):
            if HasValue(prop, value) not in out.get(prop, []):
                out.setdefault(prop, []).append(HasValue(prop, value))
    return out


@dataclass(frozen=True)
class Dimension:
    prop: str
    values: tuple[Value, ...]
    merged: tuple[tuple[Value, tuple[Value, ...]], ...] = ()

    def alternatives(self, value: Value) -> tuple[Value, ...]:
        return dict(self.merged).get(value, ())


@dataclass
class ProfileSpace:
    """The cartesian product of the dimensions; profiles are tuples aligned with them."""

    dimensions: tuple[Dimension, ...]
    axioms: Axioms
    fixed: dict[str, list[Node]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        total = 1
        for dim in self.dimensions:
            total *= len(dim.values)
        return total

    def __iter__(self) -> Iterator[tuple[Value, ...]]:
        return itertools.product(*(d.values for d in self.dimensions))

    def facts(self, profile: tuple[Value, ...]) -> dict[str, list[Node]]:
        facts = {p: list(v) for p, v in self.fixed.items()}
        for dim, value in zip(self.dimensions, profile, strict=True):
            if value is not None:
                facts[dim.prop] = [value]
        return facts

    def as_dict(self, profile: tuple[Value, ...]) -> dict[str, str]:
        return {curie(d.prop): show(v) for d, v in zip(self.dimensions, profile, strict=True)}

    def describe(self, profile: tuple[Value, ...], skip_missing: bool = True) -> str:
        parts = []
        for dim, value in zip(self.dimensions, profile, strict=True):
            if value is None and skip_missing:
                continue
            parts.append(f"{curie(dim.prop).removeprefix('gk:')}={show(value)}")  # one real value, no "(or ...)"
        return ", ".join(parts) or "no facts"


def show(value: Value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, URIRef):
        text = str(value)
        return f"any {curie(text[len(PROTOTYPE):]).removeprefix('gk:')}" if text.startswith(PROTOTYPE) else curie(text).removeprefix("gk:")
    return str(value)


def _numbers(datatype: str, ranges: list[DataRange]) -> list[Literal]:
    integer = datatype in _INTEGERS
    step = Decimal(1) if integer else Decimal("0.5")
    thresholds = sorted({Decimal(str(bound.toPython())) for rng in ranges for _, bound in rng.facets}) or [Decimal(0)]
    around = sorted({t + d for t in thresholds for d in (-step, step)} - set(thresholds))
    out_type = XSD.integer if integer else URIRef(datatype)
    # thresholds first, so that merged groups are represented by a value the guideline names
    return [Literal(int(p) if integer else p, datatype=out_type) for p in thresholds + around
            if not integer or p == p.to_integral_value()]


def candidates(ax: Axioms, prop: str, prop_atoms: list[Expr], open_world: bool) -> tuple[list[Node], dict[str, set[str]]]:
    """Every candidate value of one property, and prototype individuals (open world) with their types."""
    rng = ax.ranges.get(prop)
    data_ranges = [a for a in prop_atoms if isinstance(a, DataRange)]
    literals = [a.value for a in prop_atoms if isinstance(a, HasValue) and isinstance(a.value, Literal)]
    prototypes: dict[str, set[str]] = {}
    if rng == str(XSD.boolean) or any(isinstance(v.toPython(), bool) for v in literals):
        return [Literal(True), Literal(False)], prototypes
    if rng in NUMERIC or data_ranges:
        datatype = rng if rng in NUMERIC else data_ranges[0].datatype
        return _numbers(datatype, data_ranges) + [v for v in literals if v not in _numbers(datatype, data_ranges)], prototypes
    if literals:
        return sorted(set(literals), key=str) + [Literal("any other value")], prototypes
    fillers = {a.cls for a in prop_atoms if isinstance(a, Some)}
    wanted = {rng} if rng else set()
    wanted |= fillers
    named = {a.value for a in prop_atoms if isinstance(a, HasValue)}
    for ind, types in ax.individual_types.items():
        if any(wanted & ax.ancestors(t) for t in types):
            named.add(URIRef(ind))
    values: list[Node] = sorted(named, key=lambda v: (len(ax.individual_types.get(str(v), ())), str(v)))
    if open_world:
        for cls in sorted(fillers | wanted):
            proto = PROTOTYPE + cls
            prototypes[proto] = {cls}
            values.append(URIRef(proto))
    return values, prototypes


def build_space(ax: Axioms, targets: Iterable[str], merge: bool = True, open_world: bool = False,
                honour_when_absent: dict[str, str] | None = None, signature_classes: Iterable[str] | None = None) -> ProfileSpace:
    """The profile space of the targets.

    ``open_world`` adds one anonymous-like prototype value per class a ``some`` restriction
    names, so subsumption found over the space holds for every OWL model, not only for the
    named values. ``honour_when_absent`` (property -> default) drops 'missing' where ingest
    always records an explicit 'not tested'. ``merge=False`` keeps every candidate (used to
    prove the enumeration complete on a toy guideline). ``signature_classes`` widens the atoms
    values are told apart by (for comparing the targets with other classes).
    """
    classes = closure(ax, targets)
    read = atoms(ax, classes)
    wider = atoms(ax, closure(ax, signature_classes)) if signature_classes is not None else read
    by_prop = {p: wider.get(p, []) + [a for a in read[p] if a not in wider.get(p, [])] for p in read}
    extra: dict[str, set[str]] = {}
    raw: dict[str, list[Node]] = {}
    for prop in sorted(by_prop):
        raw[prop], protos = candidates(ax, prop, by_prop[prop], open_world)
        extra.update(protos)
    if extra:
        ax = replace(ax, individual_types={**ax.individual_types, **extra})
    evaluator = Evaluator(ax)
    dims = []
    for prop in sorted(by_prop):
        values: list[Value] = list(raw[prop])
        if prop not in (honour_when_absent or {}):
            values.append(None)
        merged: dict[Value, list[Value]] = {}
        if merge:
            groups: dict[tuple, Value] = {}
            kept: list[Value] = []
            for value in values:
                key = ("missing",) if value is None else tuple(
                    evaluator.holds(a, {prop: [value]}, set()) if not isinstance(a, HasValue) else same_value(value, a.value)
                    for a in by_prop[prop])
                if key in groups:
                    merged.setdefault(groups[key], []).append(value)
                else:
                    groups[key] = value
                    kept.append(value)
            values = kept
        dims.append(Dimension(prop, tuple(values), tuple((k, tuple(v)) for k, v in merged.items())))
    return ProfileSpace(tuple(dims), ax)


class Classifier:
    """Exact classification of profiles by the ontology's own expressions, in dependency order.

    The same semantics as :meth:`guidekg.logic.Evaluator.saturate` (the atoms call the same
    ``same_value`` / ``literal_in_range`` / ``value_types``), but each definition is compiled
    once and evaluated once per profile in topological order, with atom answers cached per
    value, so ~100,000 profiles take seconds. Tests compare it with the fast reasoner and
    HermiT on samples.
    """

    def __init__(self, ax: Axioms, classes: Iterable[str] | None = None) -> None:
        self.ax = ax
        self.evaluator = Evaluator(ax)
        self.base = ax.ancestors(str(GK.Patient))
        scope = set(classes) if classes is not None else set(ax.definitions)
        defined = [c for c in sorted(scope) if c in ax.definitions]
        graph: dict[str, set[str]] = {}
        for cls in defined:
            refs = {e.iri for e in _walk(ax.definitions[cls]) if isinstance(e, Named)} - self.base
            graph[cls] = {d for d in defined if d != cls and refs & ax.ancestors(d)}
        try:
            self.order = list(TopologicalSorter(graph).static_order())
            self.single_pass = True
        except CycleError:
            self.order, self.single_pass = defined, False
        self._ancestors = {c: frozenset(ax.ancestors(c)) for c in self.order}
        self._compiled = [(c, self._compile(ax.definitions[c])) for c in self.order]
        self._implying = frozenset(ax.implied_facts)

    def _compile(self, expr: Expr):
        if isinstance(expr, Named):
            iri = expr.iri
            return lambda facts, classes: iri in classes
        if isinstance(expr, (And, Or)):
            parts = [self._compile(p) for p in expr.parts]
            if isinstance(expr, And):
                def conj(facts, classes):
                    for part in parts:
                        if not part(facts, classes):
                            return False
                    return True
                return conj

            def disj(facts, classes):
                for part in parts:
                    if part(facts, classes):
                        return True
                return False
            return disj
        cache: dict[Node, bool] = {}
        prop = expr.prop

        def atom(value: Node) -> bool:
            if value not in cache:
                cache[value] = self.evaluator.holds(expr, {prop: [value]}, set())
            return cache[value]
        def test(facts, classes):
            for value in facts.get(prop, ()):
                if atom(value):
                    return True
            return False
        return test

    def classify(self, facts: dict[str, list[Node]]) -> frozenset[str] | None:
        """The profile's classes, or None when the profile is inconsistent."""
        ax = self.ax
        facts = {p: list(v) for p, v in facts.items()}
        classes = set(self.base)
        while True:
            changed = True
            while changed:
                changed = False
                for cls, test in self._compiled:
                    if cls not in classes and test(facts, classes):
                        classes |= self._ancestors[cls]
                        changed = not self.single_pass
            added = False
            for cls in classes & self._implying:
                for prop, value in ax.implied_facts.get(cls, ()):
                    bucket = facts.setdefault(prop, [])
                    if not any(same_value(value, v) for v in bucket):
                        bucket.append(value)
                        added = True
            if not added:
                break
        for prop, values in facts.items():
            if len(values) > 1 and prop in ax.functional and any(not same_value(a, b) for a in values for b in values):
                return None
        for pair in ax.disjoint:
            if pair <= classes:
                return None
        classes.discard(str(OWL.Thing))
        return frozenset(classes)


__all__ = ["Classifier", "Dimension", "ProfileSpace", "build_space", "closure", "literal_in_range", "show"]
