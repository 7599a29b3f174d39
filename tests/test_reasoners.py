"""Conformance suite: the same cases through every reasoner, with expected classes.

The cases and their exact decision (treatment and alert) classes are hand-reviewed data,
tests/data/expected/conformance.json: every reasoner must return exactly those classes
(nothing missing, nothing extra) and identical verdicts.
"""

from __future__ import annotations

import pytest

from guidekg.knowledge import knowledge
from guidekg.mutation.expectations import constructed_cases
from guidekg.namespaces import GK, curie

CONFORMANCE = constructed_cases("conformance")
BY_NAME = {c.name.split(":", 1)[1]: c for c in CONFORMANCE}
CASES = sorted(n for n, c in BY_NAME.items() if c.expect.get("consistent", True))
CONTRADICTORY = sorted(n for n, c in BY_NAME.items() if not c.expect.get("consistent", True))
DECISION = knowledge().treatment_classes | knowledge().alert_classes


def _decision_classes(verdict) -> list[str]:
    return sorted(curie(c) for c in verdict.classes if c in DECISION)


def _check(verdict, case):
    """Exactly the expected decision classes: a missing one and an extra one both fail."""
    assert verdict.consistent
    got, want = set(_decision_classes(verdict)), set(case.expect["classes"])
    assert got == want, f"{case.name}: extra {sorted(got - want)}, missing {sorted(want - got)}"


@pytest.mark.parametrize("case", CASES)
def test_fast_reasoner_cases(fast, case):
    record = BY_NAME[case].record
    _check(fast.realize([record])[record.iri], BY_NAME[case])


@pytest.mark.parametrize("case", CASES)
def test_reference_evaluator_cases(case):
    """The slow reference path of the fast engine gives the same exact answers."""
    from guidekg.reasoning.fast import FastReasoner

    record = BY_NAME[case].record
    engine = FastReasoner()
    _check(engine._reference(record.facts), BY_NAME[case])


@pytest.mark.parametrize("case", CONTRADICTORY)
def test_fast_reasoner_contradictions(fast, case):
    record = BY_NAME[case].record
    verdict = fast.realize([record])[record.iri]
    assert not verdict.consistent and verdict.conflicts


@pytest.mark.slow
@pytest.mark.hermit
def test_hermit_agrees_on_every_case_and_isolates_contradictions(fast, hermit):
    """One HermiT run over all cases (contradictory ones mixed in): same answers as alone."""
    records = [BY_NAME[c].record for c in CASES + CONTRADICTORY]
    by_hermit = hermit.realize(records)
    by_fast = fast.realize(records)
    for record in records:
        h, f = by_hermit[record.iri], by_fast[record.iri]
        assert h.consistent == f.consistent, record.patient_id
        assert h.classes == f.classes, (record.patient_id, h.classes ^ f.classes)
        case = next(c for c in CONFORMANCE if c.record is record)
        if case.expect.get("consistent", True):
            _check(h, case)
        else:
            assert not h.consistent and h.conflicts
    # isolation: a contradictory neighbour changes nothing
    alone = hermit.realize([records[0]])[records[0].iri]
    assert alone.classes == by_hermit[records[0].iri].classes


def test_every_treatment_and_alert_class_is_exercised():
    from guidekg.knowledge import knowledge

    kb = knowledge()
    exercised = set().union(*(BY_NAME[c].expect["classes"] for c in CASES))
    expected = {curie(c) for c in kb.treatment_classes | kb.alert_classes}
    assert expected - exercised == set()
    assert str(GK.DoubletPlusAntiEGFR) in kb.treatment_classes
