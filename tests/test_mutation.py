"""Mutation testing of the guideline content runs in CI: no survivor without a written reason.

The whole run (~540 mutants, in-process) is marked slow; the quick loop keeps the planted
mutants of issue 17 as fast targeted checks.
"""

from __future__ import annotations

import pytest

from guidekg.mutation import run
from guidekg.mutation.run import baseline, build_corpus, evaluate


def _only(*fragments: str):
    return lambda m: any(f in m.key for f in fragments)


def test_the_content_meets_every_expectation_of_the_corpus():
    """Examples, conformance, safety (also on contradictory/invalid records), data errors and the
    generated boundary cases, through the real pipeline: the corpus the mutation run uses."""
    corpus = build_corpus()
    base = baseline(corpus)
    failures = evaluate(corpus, base.kb, base.engine, None, base.defined)
    assert [(case.name, problems) for case, problems in failures] == []
    assert {c.source for c in corpus.cases} >= {"examples", "conformance", "safety", "data-errors", "boundary", "shape-boundary"}


@pytest.mark.slow
def test_every_content_mutant_is_killed_or_explained():
    report = run()
    summary = report.summary()
    assert summary["unexplained"] == [], "mutants no expectation kills: pin the rule or list it in tests/data/mutation/equivalent.csv"
    assert summary["stale_equivalents"] == []
    assert summary["killed"] > 0.8 * summary["mutants"]


@pytest.mark.parametrize("fragment", [
    "gk:TripletEligible gk:age xsd:maxInclusive 75|-> 74",            # the TRIBE band narrowed to 71-74
    "gk:HER2AmplifiedNotAddressed gk:her2Status hasValue gk:HER2_Amplified|-> some gk:HER2Status",  # HER2 alert widened
    "gk:PrimarySurgeryBeyondRTWindow gk:monthsSinceShortCourseRT xsd:minExclusive 6.0|-> 5.0",
    "gk:Shape_AntiEGFRNotEligible|delete '?value rdf:type",
    "gk:Shape_BevacizumabSurgeryInterval 'FILTER (?days < 42)'|-> 43",
])
def test_planted_content_mutants_are_killed(fragment):
    report = run(select=_only(fragment))
    assert report.outcomes, f"no mutant matches {fragment!r}"
    assert all(o.status == "killed" for o in report.outcomes), [(o.mutant.key, o.status) for o in report.outcomes]
