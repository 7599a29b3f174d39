"""The fast reasoner: the ontology's class expressions evaluated directly in Python.

It is derived from the axioms at load time (:mod:`guidekg.logic`), so editing the ontology
changes it exactly as it changes HermiT; constructs it cannot evaluate exactly are refused
when the ontology is read. Consistency uses :func:`find_conflicts`, the same clash finder
that names the conflicting facts for HermiT's verdicts. The conformance suite and a
property-based test (tests/test_equivalence.py) check that both reasoners give identical answers.

Why it is fast at population scale: a patient's classes depend only on an *abstraction* of
its facts (:class:`AbstractKey`), and real cohorts have few distinct abstractions. The
evaluator only ever looks at a literal through three questions: is it visible to OWL (OWL 2
datatype map), does it lie in a datatype range (the facets read from the axioms and the
property's rdfs:range), and is it the same value as a literal the axioms name (hasValue,
implied facts). An IRI is looked at by name. So the key keeps, per property the axioms
mention, the answers to those questions for each distinct value (and how many distinct
values there are, for functional-property clashes); two patients with equal keys get equal
classes and verdicts. Realization is memoised on that key in a bounded LRU cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property

from rdflib import OWL, Graph, Literal
from rdflib.term import Node

from .. import resources
from ..logic import OWL2_DATATYPES, And, DataRange, Evaluator, Expr, HasValue, Or, Some, read_axioms, same_value
from ..logic import literal_in_range as _in_range
from ..model import PatientRecord, Reasoned
from ..namespaces import GK
from .compiled import CompiledEvaluator
from .conflicts import conflicts_in, find_conflicts, visible_facts

CACHE_SIZE = 50_000
"""Distinct fact abstractions kept (LRU). Keys share interned parts, so an entry costs ~0.5 KB
and the memo stays under ~30 MB whatever the cohort size; a miss costs ~0.2 ms with the
generated classifier."""

_TOKEN_CACHE_SIZE = 20_000

AbstractKey = tuple[tuple[str, tuple[object, ...]], ...]


def _walk(expr: Expr):
    yield expr
    if isinstance(expr, (And, Or)):
        for part in expr.parts:
            yield from _walk(part)


class _Abstraction:
    """What the axioms can observe of each property's values, read once from the TBox."""

    def __init__(self, evaluator: Evaluator) -> None:
        ax = evaluator.ax
        self.comparands: dict[str, list[Node]] = {}
        self.ranges: dict[str, list[tuple[str, tuple]]] = {}
        for expr in ax.definitions.values():
            for node in _walk(expr):
                if isinstance(node, HasValue) and isinstance(node.value, Literal):
                    self._add(self.comparands, node.prop, node.value)
                elif isinstance(node, DataRange):
                    self._add(self.ranges, node.prop, (node.datatype, node.facets))
        for facts in ax.implied_facts.values():
            for prop, value in facts:
                if isinstance(value, Literal):
                    self._add(self.comparands, prop, value)
        for prop, rng in ax.ranges.items():
            if rng in OWL2_DATATYPES:
                self._add(self.ranges, prop, (rng, ()))
        # object-property ranges are not checked by the clash finder, so only datatype ranges count
        self.relevant: set[str] = set(ax.functional) | set(self.comparands) | set(self.ranges)
        for expr in ax.definitions.values():
            self.relevant.update(node.prop for node in _walk(expr) if isinstance(node, (HasValue, Some, DataRange)))
        for facts in ax.implied_facts.values():
            self.relevant.update(prop for prop, _ in facts)
        self._tokens: dict[tuple[str, Node], object] = {}
        self._parts: dict[tuple, tuple] = {}  # interned key parts: keys share them, so a memo entry is ~0.5 KB

    @staticmethod
    def _add(table: dict, prop: str, item) -> None:
        bucket = table.setdefault(prop, [])
        if item not in bucket:
            bucket.append(item)

    def token(self, prop: str, value: Node) -> object:
        """Everything the axioms can learn about one value of ``prop`` (an IRI: its name)."""
        if not isinstance(value, Literal):
            return ("iri", str(value))
        cache_key = (prop, value)
        token = self._tokens.get(cache_key)
        if token is None:
            visible = value.datatype is None or str(value.datatype) in OWL2_DATATYPES
            token = ("lit", visible,
                     tuple(same_value(value, c) for c in self.comparands.get(prop, ())),
                     tuple(_in_range(value, dt, facets) for dt, facets in self.ranges.get(prop, ())))
            if len(self._tokens) >= _TOKEN_CACHE_SIZE:
                self._tokens.clear()
            self._tokens[cache_key] = token
        return token

    def key(self, facts: dict[str, list[Node]]) -> AbstractKey:
        parts = []
        for prop, values in facts.items():
            if prop not in self.relevant or not values:
                continue
            if len(values) == 1:
                part = (prop, (self.token(prop, values[0]),))
            else:
                distinct: list[Node] = []
                for value in values:  # distinct under OWL value equality: their count decides functional clashes
                    if not any(type(value) is type(d) and same_value(value, d) for d in distinct):
                        distinct.append(value)
                part = (prop, tuple(sorted((self.token(prop, v) for v in distinct), key=repr)))
            shared = self._parts.get(part)
            if shared is None:
                if len(self._parts) >= _TOKEN_CACHE_SIZE:
                    self._parts.clear()
                shared = self._parts[part] = part
            parts.append(shared)
        parts.sort()
        return tuple(parts)


class FastReasoner:
    """Exact, in-process realization for the OWL fragment listed in :data:`guidekg.logic.SUPPORTED`."""

    name = "fast"

    def __init__(self, tbox: Graph | None = None, cache_size: int = CACHE_SIZE) -> None:
        self._tbox = tbox  # None: the packaged logic modules (from the compiled knowledge cache when on)
        self._cache: OrderedDict[AbstractKey, frozenset[str] | None] = OrderedDict()
        self._cache_size = cache_size
        self._class_sets: dict[frozenset[str], frozenset[str]] = {}
        self.hits = 0
        self.misses = 0

    @cached_property
    def evaluator(self) -> Evaluator:
        if self._tbox is None:
            from ..kcache import snapshot

            if (snap := snapshot()) is not None:
                return Evaluator(snap.axioms)
            return Evaluator(read_axioms(resources.shared_graph("ontology", *resources.LOGIC_MODULES)))
        return Evaluator(read_axioms(self._tbox))

    @cached_property
    def _abstraction(self) -> _Abstraction:
        return _Abstraction(self.evaluator)

    @cached_property
    def compiled(self) -> CompiledEvaluator:
        return CompiledEvaluator(self.evaluator, given=(str(GK.Patient),))

    def _compute(self, facts: dict[str, list[Node]]) -> Reasoned:
        """One saturation with the compiled evaluator, then the clash check on its result."""
        visible = visible_facts(facts)
        classes, saturated = self.compiled.saturate(visible, (str(GK.Patient),))
        conflicts = conflicts_in(self.evaluator.ax, visible, classes, saturated)
        if conflicts:
            return Reasoned(consistent=False, conflicts=tuple(conflicts))
        classes.discard(str(OWL.Thing))
        return Reasoned(consistent=True, classes=frozenset(classes))

    def _reference(self, facts: dict[str, list[Node]]) -> Reasoned:
        """The reference computation (no cache, AST walk): clash finder, then saturation to a fixpoint."""
        asserted = (str(GK.Patient),)
        conflicts = find_conflicts(self.evaluator, facts, asserted)
        if conflicts:
            return Reasoned(consistent=False, conflicts=tuple(conflicts))
        classes, _ = self.evaluator.saturate(facts, asserted)
        classes.discard(str(OWL.Thing))
        return Reasoned(consistent=True, classes=frozenset(classes))

    def realize_one(self, record: PatientRecord) -> Reasoned:
        key = self._abstraction.key(record.facts)
        cache = self._cache
        if key in cache:
            self.hits += 1
            cache.move_to_end(key)
            classes = cache[key]
            if classes is not None:
                return Reasoned(consistent=True, classes=classes)
            # inconsistent: the verdict is cached, the message names this record's own values
            return self._compute(record.facts)
        self.misses += 1
        result = self._compute(record.facts)
        if result.consistent:  # equal class sets share one frozenset
            result = Reasoned(consistent=True, classes=self._class_sets.setdefault(result.classes, result.classes))
            if len(self._class_sets) > _TOKEN_CACHE_SIZE:
                self._class_sets.clear()
        cache[key] = result.classes if result.consistent else None
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
        return result

    def realize(self, patients: Sequence[PatientRecord]) -> dict[str, Reasoned]:
        return {record.iri: self.realize_one(record) for record in patients}

    def realize_uncached(self, record: PatientRecord) -> Reasoned:
        """The same answer without the memo or the compiled closures: the AST-walking reference
        that the equivalence tests compare the fast path against."""
        return self._reference(record.facts)

    def unsatisfiable_classes(self) -> set[str]:
        """None in this fragment: without negation or cardinality every class is satisfiable
        unless it needs two disjoint classes or two different values of a functional property,
        which the authoring review checks with HermiT."""
        return set()

