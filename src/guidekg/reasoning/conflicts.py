"""Name the facts that make a patient inconsistent, from the ontology's own axioms.

HermiT only says 'inconsistent'. Clinicians need to know which facts clash, so this module
finds the clashes the ontology can produce for a single patient: two different values of a
functional property (after facts implied by class axioms), a literal outside its property's
datatype, or membership of two disjoint classes. The fast reasoner uses the same function
as its consistency test, and the conformance suite checks it agrees with HermiT.
"""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.term import Node

from ..logic import OWL2_DATATYPES, Axioms, Evaluator, literal_in_range, same_value
from ..namespaces import curie


def _show(value: Node) -> str:
    if isinstance(value, URIRef):
        return curie(str(value))
    return f'"{value}"'


_ORDER: dict[int, tuple[Axioms, tuple[str, ...], tuple[tuple[str, str], ...]]] = {}


def _clash_order(ax: Axioms) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Functional properties and disjoint pairs in report order, sorted once per Axioms."""
    entry = _ORDER.get(id(ax))
    if entry is None or entry[0] is not ax:
        pairs = tuple(tuple(sorted(pair)) for pair in sorted(ax.disjoint, key=sorted))
        entry = _ORDER[id(ax)] = (ax, tuple(sorted(ax.functional)), pairs)  # type: ignore[assignment]
    return entry[1], entry[2]


_IN_DATATYPE: dict[tuple[Literal, str], bool] = {}


def _in_datatype(value: Literal, datatype: str) -> bool:
    """:func:`literal_in_range` without facets, remembered (bounded): every patient's literals
    are checked against their property's range, and populations repeat the same values."""
    key = (value, datatype)
    answer = _IN_DATATYPE.get(key)
    if answer is None:
        if len(_IN_DATATYPE) > 20_000:
            _IN_DATATYPE.clear()
        answer = _IN_DATATYPE[key] = literal_in_range(value, datatype, ())
    return answer


def _visible(value: Node) -> bool:
    return not isinstance(value, Literal) or value.datatype is None or str(value.datatype) in OWL2_DATATYPES


def visible_facts(facts: dict[str, list[Node]]) -> dict[str, list[Node]]:
    """The facts an OWL 2 reasoner sees: literals outside the OWL 2 datatype map are dropped.

    Returns a new dict; lists without such literals are shared with ``facts``, not copied
    (callers only read them)."""
    out = dict(facts)
    for prop, values in facts.items():
        if not all(map(_visible, values)):
            out[prop] = [v for v in values if _visible(v)]
    return out


def find_conflicts(evaluator: Evaluator, facts: dict[str, list[Node]], asserted: tuple[str, ...]) -> list[str]:
    """Human-readable descriptions of every clash in one patient's facts; empty if consistent."""
    visible = visible_facts(facts)
    classes, saturated = evaluator.saturate(visible, asserted)
    return conflicts_in(evaluator.ax, visible, classes, saturated)


def conflicts_in(ax: Axioms, visible: dict[str, list[Node]], classes: set[str], saturated: dict[str, list[Node]]) -> list[str]:
    """The clashes of an already saturated patient (lets the fast reasoner saturate once)."""
    problems: list[str] = []
    functional, disjoint = _clash_order(ax)
    for prop in functional:
        values = saturated.get(prop, ())
        if len(values) < 2:
            continue
        for i, a in enumerate(values):
            for b in values[i + 1:]:
                clash = (not same_value(a, b)) if isinstance(a, Literal) and isinstance(b, Literal) else (
                    isinstance(a, URIRef) and isinstance(b, URIRef) and ax.are_different(str(a), str(b)))
                if clash:
                    implied = [v for v in (a, b) if not any(same_value(v, w) for w in visible.get(prop, []))]
                    note = f" ({_show(implied[0])} implied by the record's other facts)" if implied else ""
                    problems.append(f"{curie(prop)} has two different values {_show(a)} and {_show(b)}{note}")
    for prop, values in visible.items():
        rng = ax.ranges.get(prop)
        if rng is None or rng not in OWL2_DATATYPES:
            continue
        for value in values:
            if not isinstance(value, Literal) or not _in_datatype(value, rng):
                problems.append(f"{curie(prop)} value {_show(value)} is not a {curie(rng)}")
    for a, b in disjoint:
        if a in classes and b in classes:
            problems.append(f"the patient would be both {curie(a)} and {curie(b)}, which are disjoint")
    return problems
