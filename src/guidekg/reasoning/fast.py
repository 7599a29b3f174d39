"""The fast reasoner: the ontology's class expressions evaluated directly in Python.

It is derived from the axioms at load time (:mod:`guidekg.logic`), so editing the ontology
changes it exactly as it changes HermiT; constructs it cannot evaluate exactly are refused
when the ontology is read. Consistency uses :func:`find_conflicts`, the same clash finder
that names the conflicting facts for HermiT's verdicts. The conformance suite and a
property-based test (tests/test_equivalence.py) check that both reasoners give identical answers.

Why it is fast at population scale: a patient's classes depend only on which of the axioms'
atoms (hasValue, someValuesFrom, datatype ranges, each existential over one property's values)
its values pass. :mod:`guidekg.reasoning.atoms` turns a patient into that bit mask from
per-value masks remembered across patients (a population repeats few distinct values) and
classifies the mask with generated bit tests, memoised per mask. The patients a mask cannot
answer (contradictory ones, whose clash message names their own values, and two values of a
functional property) take the full path: visible facts, the compiled classifier
(:mod:`guidekg.reasoning.compiled`), then the clash finder.

Why not a memo keyed on each patient's abstracted facts (the previous design): a synthetic
cohort draws its ~30 properties independently, so 7,978 of 8,000 patients had distinct keys
and the key cost more than it saved; the mask is coarser (values no atom tells apart collapse)
and costs one dict lookup per fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from rdflib import OWL, Graph
from rdflib.term import Node

from .. import resources
from ..logic import Evaluator, read_axioms
from ..model import PatientRecord, Reasoned
from ..namespaces import GK
from .atoms import MaskClassifier
from .compiled import CompiledEvaluator
from .conflicts import conflicts_in, find_conflicts, visible_facts

CACHE_SIZE = 20_000
"""Distinct masks remembered (the table is emptied when full, so memory stays flat over any
cohort size); a miss costs one run of the generated bit classifier (~10 us)."""


class FastReasoner:
    """Exact, in-process realization for the OWL fragment listed in :data:`guidekg.logic.SUPPORTED`."""

    name = "fast"

    def __init__(self, tbox: Graph | None = None, cache_size: int = CACHE_SIZE) -> None:
        self._tbox = tbox  # None: the packaged logic modules (from the compiled knowledge cache when on)
        self._cache_size = cache_size

    @cached_property
    def evaluator(self) -> Evaluator:
        if self._tbox is None:
            from ..kcache import snapshot

            if (snap := snapshot()) is not None:
                return Evaluator(snap.axioms)
            return Evaluator(read_axioms(resources.shared_graph("ontology", *resources.LOGIC_MODULES)))
        return Evaluator(read_axioms(self._tbox))

    @cached_property
    def masks(self) -> MaskClassifier:
        return MaskClassifier(self.evaluator, self.compiled, (str(GK.Patient),), self._cache_size)

    @property
    def hits(self) -> int:
        return self.masks.hits

    @property
    def misses(self) -> int:
        return self.masks.misses

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
        masks = self.masks
        m = masks.mask(record.facts)
        if m is not None:
            classes = masks.classes(m)
            if classes is not None:
                return Reasoned(consistent=True, classes=classes)
        # inconsistent (the message names this record's own values) or beyond a mask: the full way
        return self._compute(record.facts)

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

