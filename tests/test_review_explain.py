"""Issue 15 (explanations): planted unsatisfiable class, overlap and gap, each with its axioms (file:line) and smallest witness."""

from __future__ import annotations

import shutil

import pytest

from guidekg.logic import read_axioms
from guidekg.review.coverage import analyse_coverage
from guidekg.review.logic_checks import logic_findings
from guidekg.review.model import load_ontology
from review_planting import plant

HAS_JAVA = shutil.which("java") is not None


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    onto = load_ontology(plant("logic_mistakes", tmp_path_factory.mktemp("logic")))
    return onto, read_axioms(onto.logic)


def test_unsatisfiable_class_is_an_error_with_its_axioms(planted):
    onto, ax = planted
    found, _ = logic_findings(onto, ax)
    hits = [f for f in found if f.subject == "gk:PlantedImpossible"]
    assert [f.rule for f in hits] == ["unsatisfiable_class"] and hits[0].level == "ERROR"
    axioms = {a: (file, line) for a, file, line in hits[0].axioms}
    own = next(a for a in axioms if a.startswith("gk:PlantedImpossible ≡"))
    assert "PerformanceStatus0to2 and NonIntensiveIndividualised" in own
    assert axioms[own][0] == "ontology/guideline.ttl" and int(axioms[own][1]) > 400
    assert any(a.startswith("gk:PerformanceStatus0to2 ≡") and "ecog" in a for a in axioms)
    assert "FunctionalProperty: gk:ecog" in axioms


@pytest.mark.hermit
@pytest.mark.skipif(not HAS_JAVA, reason="Java is not installed: HermiT cannot run")
def test_hermit_gives_the_same_single_message_and_no_owl_nothing(planted):
    onto, ax = planted
    fast, _ = logic_findings(onto, ax)
    hermit, _ = logic_findings(onto, ax, reasoner="hermit")
    pick = lambda found: [(f.rule, f.level, f.subject, f.message) for f in found if f.rule == "unsatisfiable_class"]  # noqa: E731
    assert pick(hermit) == pick(fast)
    assert not [f for f in hermit if "Nothing" in f.subject]
    assert "HermiT" in dict(next(f for f in hermit if f.subject == "gk:PlantedImpossible").details)["proved_by"]


@pytest.fixture(scope="module")
def coverage(planted):
    onto, ax = planted
    return analyse_coverage(onto, ax)


def test_planted_overlap_names_both_definitions_and_a_small_witness(coverage):
    overlap = next(f for f in coverage.findings if f.rule == "first_line_overlap"
                   and f.subject == "gk:DoubletPlusAntiEGFR and gk:PlantedOverlap")
    where = {a.split(" ", 1)[0]: (file, line) for a, file, line in overlap.axioms}
    assert where["gk:PlantedOverlap"][0] == "ontology/guideline.ttl" and where["gk:DoubletPlusAntiEGFR"][1]
    witness = dict(overlap.witness)
    assert witness["NRAS status"] == "NRAS wild type" and witness["KRAS status"] == "KRAS wild type (exons 2-4)"
    assert "age in years" not in witness and len(witness) <= 7


def test_planted_gap_at_ecog_3_is_explained(coverage):
    gap = next(f for f in coverage.findings if f.rule == "coverage_gap")
    assert gap.level == "ERROR" and dict(gap.witness)["ECOG performance status"] == "3"
    why = dict(gap.details)["why_not"]
    assert any("ecog" in cond and ">= 4" in cond for cond in why["gk:NonIntensiveIndividualised"])
    assert any(a.startswith("gk:NonIntensiveIndividualised ≡") for a, _, _ in gap.axioms)
