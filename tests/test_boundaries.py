"""Every numeric threshold of the content, probed at, just below and just above its bound.

The thresholds are read from the axioms and the shapes (a new one gets cases automatically);
the expected answer comes from the facet semantics in guidekg.mutation.boundaries.FACETS,
never from the engines under test. The threshold values themselves are pinned by a reviewed
snapshot (tests/data/expected/thresholds.json): moving 75 to 74 is a content change that must
be reviewed against the guideline, not a silent edit.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import XSD, Literal

from guidekg import resources
from guidekg.fastvalidate import compile_validator
from guidekg.knowledge import knowledge
from guidekg.mutation.boundaries import FACETS, Oracle, in_range, ontology_cases, shape_cases, shape_thresholds, thresholds
from guidekg.mutation.expectations import constructed_cases, example_cases
from guidekg.namespaces import curie
from guidekg.reasoning.fast import FastReasoner

SNAPSHOT = Path(__file__).parent / "data" / "expected" / "thresholds.json"


@pytest.fixture(scope="module")
def generated():
    ax = knowledge().axioms
    bases = [c.record for c in example_cases() + constructed_cases("conformance") if c.expect.get("consistent", True)
             and c.expect.get("status", "ok") == "ok"]
    return ontology_cases(ax, bases)


def test_every_ontology_threshold_has_a_witnessing_case(generated):
    cases, unwitnessed = generated
    assert cases
    assert [t.label() for t in unwitnessed] == [], "no example or conformance case flips this class across the bound: add one"


def test_compiled_engine_matches_the_facet_semantics_at_every_bound(generated):
    cases, _ = generated
    engine = FastReasoner()
    defined = frozenset(knowledge().axioms.definitions)
    wrong = []
    for case in cases:
        verdict = engine.realize([case.record])[case.record.iri]
        got = frozenset(verdict.classes) & defined
        if got != case.expected:
            wrong.append((case.name, sorted(curie(c) for c in got ^ case.expected)))
    assert wrong == []


def test_reference_evaluator_matches_the_facet_semantics_at_every_bound(generated):
    cases, _ = generated
    engine = FastReasoner()
    defined = frozenset(knowledge().axioms.definitions)
    wrong = []
    for case in cases:
        got = frozenset(engine._reference(case.record.facts).classes) & defined
        if got != case.expected:
            wrong.append((case.name, sorted(curie(c) for c in got ^ case.expected)))
    assert wrong == []


def test_thresholds_match_the_reviewed_snapshot():
    """The bounds as reviewed against the guideline (TRIBE 71-75 with ECOG 0, ECOG <= 2, reassess at 2 months, RT window > 6 months)."""
    ontology = sorted(f"{t.label()}" for t in thresholds(knowledge().axioms))
    shapes = sorted(f"{curie(s)} {curie(p)} {curie(f)} {b}" for s, p, f, b in shape_thresholds(resources.shared_graph("shapes", *resources.SHAPES)))
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert {"ontology": ontology, "shapes": shapes} == snapshot


@pytest.mark.parametrize("facet,bound,inside,outside", [
    ("minInclusive", 71, 71, 70), ("maxInclusive", 75, 75, 76), ("minExclusive", "6.0", "6.5", "6.0"), ("maxExclusive", 3, 2, 3)])
def test_oracle_facet_table(facet, bound, inside, outside):
    """The oracle's own semantics, pinned independently of any engine."""
    from guidekg.logic import DataRange

    dt = str(XSD.decimal)
    atom = DataRange("urn:p", dt, ((str(XSD[facet]), Literal(str(bound), datatype=XSD.decimal)),))
    assert in_range(Literal(str(inside), datatype=XSD.decimal), atom)
    assert not in_range(Literal(str(outside), datatype=XSD.decimal), atom)
    assert set(FACETS) == {str(XSD[f]) for f in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive")}


def test_oracle_does_not_use_the_engines_facet_code(monkeypatch):
    """A planted bug in logic.literal_in_range (here: every value in every range) cannot reach the expected side."""
    import guidekg.logic as logic
    from guidekg.namespaces import GK

    monkeypatch.setattr(logic, "literal_in_range", lambda *a, **k: True)
    oracle = Oracle(knowledge().axioms)
    facts = dict(constructed_cases("conformance")[0].record.facts)
    facts[str(GK.age)] = [Literal(90, datatype=XSD.integer)]  # >= 76: not triplet-eligible, fit for a doublet
    classes = oracle.classes(facts)
    assert str(GK.TripletEligible) not in classes and str(GK.TripletIneligibleButFit) in classes
    facts[str(GK.age)] = [Literal(60, datatype=XSD.integer)]
    assert str(GK.TripletEligible) in oracle.classes(facts)


def test_shape_bounds_through_the_compiled_validator():
    shapes = resources.shared_graph("shapes", *resources.SHAPES)
    base = constructed_cases("conformance")[0].record
    cases = shape_cases(shapes, base)
    assert len(cases) >= 3 * len(shape_thresholds(shapes))
    found = compile_validator().validate([c.record for c in cases])
    wrong = []
    for case in cases:
        flagged = any(f.path == curie(case.path) and f.severity == "violation" for f in found[case.record.iri])
        if flagged != case.violates:
            wrong.append(case.name)
    assert wrong == []


def test_probe_values_straddle_each_bound():
    for t in thresholds(knowledge().axioms):
        below, at, above = t.probes()
        assert below < at == t.bound < above
        assert isinstance(at, Decimal)
