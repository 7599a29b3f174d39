"""The fast reasoner: the ontology's class expressions evaluated directly in Python.

It is derived from the axioms at load time (:mod:`guidekg.logic`), so editing the ontology
changes it exactly as it changes HermiT; constructs it cannot evaluate exactly are refused
when the ontology is read. Consistency uses :func:`find_conflicts`, the same clash finder
that names the conflicting facts for HermiT's verdicts. The conformance suite and a
property-based test check that both reasoners give identical answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from rdflib import OWL, Graph

from .. import resources
from ..logic import Evaluator, read_axioms
from ..model import PatientRecord, Reasoned
from ..namespaces import GK
from .conflicts import find_conflicts


class FastReasoner:
    """Exact, in-process realization for the OWL fragment listed in :data:`guidekg.logic.SUPPORTED`."""

    name = "fast"

    def __init__(self, tbox: Graph | None = None) -> None:
        self._tbox = tbox if tbox is not None else resources.shared_graph("ontology", *resources.LOGIC_MODULES)

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(read_axioms(self._tbox))

    def realize_one(self, record: PatientRecord) -> Reasoned:
        asserted = (str(GK.Patient),)
        conflicts = find_conflicts(self.evaluator, record.facts, asserted)
        if conflicts:
            return Reasoned(consistent=False, conflicts=tuple(conflicts))
        classes, _ = self.evaluator.saturate(record.facts, asserted)
        classes.discard(str(OWL.Thing))
        return Reasoned(consistent=True, classes=frozenset(classes))

    def realize(self, patients: Sequence[PatientRecord]) -> dict[str, Reasoned]:
        return {record.iri: self.realize_one(record) for record in patients}

    def unsatisfiable_classes(self) -> set[str]:
        """None in this fragment: without negation or cardinality every class is satisfiable
        unless it needs two disjoint classes or two different values of a functional property,
        which the authoring review checks with HermiT."""
        return set()
