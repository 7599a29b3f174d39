"""The reasoner interface (after oaklib: one protocol, several implementations).

A reasoner realizes patients: for each patient record it says whether the record is
consistent with the ontology and, if so, every named class the patient belongs to.
Patients never link to each other, so a reasoner must answer for each patient exactly as
if it were alone: one contradictory record never changes another's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..model import PatientRecord, Reasoned


class ReasonerUnavailable(RuntimeError):
    """The reasoner cannot run here (for example Java is missing for HermiT)."""


class Reasoner(Protocol):
    name: str

    def realize(self, patients: Sequence[PatientRecord]) -> dict[str, Reasoned]:
        """Patient IRI -> consistency verdict and inferred named classes (owl:Thing excluded)."""
        ...

    def unsatisfiable_classes(self) -> set[str]:
        """Named classes that can have no instance in any model of the ontology."""
        ...


def _hermit() -> Reasoner:
    from .hermit import HermitReasoner

    return HermitReasoner()


def _fast() -> Reasoner:
    from .fast import FastReasoner

    return FastReasoner()


_REGISTRY: dict[str, Callable[[], Reasoner]] = {"hermit": _hermit, "fast": _fast}


def reasoner_names() -> list[str]:
    return sorted(_REGISTRY)


_INSTANCES: dict[str, Reasoner] = {}


def get_reasoner(name: str) -> Reasoner:
    """The process-wide reasoner of that name (built once: reading the axioms costs ~80 ms);
    unknown names list the known ones."""
    if name not in _INSTANCES:
        try:
            factory = _REGISTRY[name]
        except KeyError:
            raise ValueError(f"unknown reasoner '{name}'; choose one of: {', '.join(reasoner_names())}") from None
        _INSTANCES[name] = factory()
    return _INSTANCES[name]
