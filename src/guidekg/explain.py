"""Why a patient is in a class: the facts that satisfy each part of the class definition.

Derived from the axioms themselves (:mod:`guidekg.logic`), never hand-written per class:
each named class in a definition is expanded to the facts that satisfied its own
definition, so the explanation bottoms out in the patient's recorded facts.
"""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.term import Node

from .logic import Evaluator, Named
from .namespaces import curie


def _value(evaluator: Evaluator, value: Node | str) -> str:
    if isinstance(value, Literal):
        return str(value)
    iri = str(value)
    return f"{curie(iri)} ({evaluator.ax.label(iri)})"


def because(evaluator: Evaluator, cls: str, facts: dict[str, list[Node]], classes: set[str]) -> list[str]:
    """Readable facts that put a patient in ``cls`` (empty if the class is not defined)."""
    out: list[str] = []
    seen: set[str] = set()

    def walk(iri: str) -> None:
        if iri in seen:
            return
        seen.add(iri)
        expr = evaluator.ax.definitions.get(iri)
        if expr is None:
            return
        if isinstance(expr, Named):
            out.append(f"is {evaluator.ax.label(expr.iri)} ({curie(expr.iri)})")
            walk(expr.iri)
            return
        for prop, value in evaluator.because(expr, facts, classes):
            if prop == "class":
                walk(str(value))
            else:
                line = f"{evaluator.ax.label(prop)} ({curie(prop)}) = {_value(evaluator, value)}"
                if line not in out:
                    out.append(line)

    walk(cls)
    return out


def is_uri(value: object) -> bool:
    return isinstance(value, URIRef)
