"""Profile enumeration (complete on a toy guideline), coverage, conflicts and logic checks."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from rdflib import XSD, Literal, URIRef

from guidekg.logic import read_axioms
from guidekg.namespaces import GK
from guidekg.review.coverage import analyse_coverage
from guidekg.review.logic_checks import logic_findings
from guidekg.review.model import load_ontology
from guidekg.review.profiles import Classifier, build_space, closure

DATA = Path(__file__).parent / "data" / "review"
TOY = DATA / "toy"
HAS_JAVA = shutil.which("java") is not None


@pytest.fixture(scope="module")
def toy():
    onto = load_ontology(TOY)
    return onto, read_axioms(onto.logic)


def _targets(ax):
    return (ax.descendants(str(GK.FirstLineSystemicClass)) - {str(GK.FirstLineSystemicClass)}) | {str(GK.MolecularTestingRequired)}


def test_enumeration_is_exactly_the_product_on_the_toy_guideline(toy):
    _, ax = toy
    space = build_space(ax, _targets(ax), merge=False)
    kras = [URIRef(GK[n]) for n in ("KRAS_Mutant", "KRAS_NotTested", "KRAS_Wildtype")] + [None]
    ecog = [Literal(n, datatype=XSD.integer) for n in (2, 1, 3)] + [None]
    symptomatic = [Literal(True), Literal(False), None]
    assert [d.prop for d in space.dimensions] == [str(GK.ecog), str(GK.krasStatus), str(GK.primarySymptomatic)]
    assert sorted(map(repr, space)) == sorted(map(repr, itertools.product(ecog, kras, symptomatic)))
    assert space.size == 4 * 4 * 3 == len(list(space))


def test_merging_keeps_one_value_per_indistinguishable_group(toy):
    _, ax = toy
    space = build_space(ax, _targets(ax), honour_when_absent={str(GK.krasStatus): str(GK.KRAS_NotTested)})
    ecog = next(d for d in space.dimensions if d.prop == str(GK.ecog))
    assert [v.toPython() if v is not None else None for v in ecog.values] == [2, 3, None]  # 1 behaves as 2
    kras = next(d for d in space.dimensions if d.prop == str(GK.krasStatus))
    assert None not in kras.values  # ingest always records 'not tested'
    assert space.size == 3 * 3 * 3


def test_toy_coverage_gap_overlap_and_literal_disagreement(toy):
    onto, ax = toy
    cov = analyse_coverage(onto, ax)
    rules = {f.rule for f in cov.findings}
    assert {"coverage_gap", "coverage_gap_missing_data", "first_line_overlap", "literal_reading_disagreement"} <= rules
    assert "reasoner_disagreement" not in rules
    gap = next(f for f in cov.findings if f.rule == "coverage_gap")
    assert dict(gap.witness)["ECOG"] == "3"
    lit = next(f for f in cov.findings if f.rule == "literal_reading_disagreement")
    case = next(c for c in dict(lit.details)["cases"] if c["pivot"] == "gk:ecog")
    assert case["witness"]["KRAS"] == "KRAS_Wildtype"


def test_toy_without_overlap_has_none(toy, tmp_path):
    for f in TOY.glob("*.ttl"):
        text = f.read_text()
        if f.name == "guideline.ttl":
            text = text.replace("rdfs:subClassOf gk:FirstLineSystemicClass ; rdfs:label \"symptomatic\"", "rdfs:subClassOf gk:TreatmentClass ; rdfs:label \"symptomatic\"")
        (tmp_path / f.name).write_text(text)
    onto = load_ontology(tmp_path)
    cov = analyse_coverage(onto, read_axioms(onto.logic))
    assert "first_line_overlap" not in {f.rule for f in cov.findings}


def test_toy_unexpected_subsumption_found_declared_one_not(toy):
    onto, ax = toy
    found, _ = logic_findings(onto, ax)
    pairs = {(f.rule, f.subject, f.value) for f in found}
    assert ("unexpected_subsumption", "gk:SymptomaticWildtype", "gk:SymptomaticFirstLine") in pairs
    assert not any(f.subject == "gk:SymptomaticWildtype" and f.value == "gk:WildtypeFirstLine" for f in found)  # declared conjunct


def test_unsatisfiable_class_by_disjointness(tmp_path):
    for f in TOY.glob("*.ttl"):
        shutil.copy(f, tmp_path / f.name)
    with (tmp_path / "guideline.ttl").open("a") as handle:
        handle.write("\ngk:Fit owl:disjointWith gk:MolecularTestingRequired .\ngk:Impossible a owl:Class ; "
                     "rdfs:subClassOf gk:Fit, gk:MolecularTestingRequired .\n")
    onto = load_ontology(tmp_path)
    found, _ = logic_findings(onto, read_axioms(onto.logic))
    assert ("unsatisfiable_class", "gk:Impossible") in {(f.rule, f.subject) for f in found}
    clean, _ = logic_findings(load_ontology(TOY), read_axioms(load_ontology(TOY).logic))
    assert "unsatisfiable_class" not in {f.rule for f in clean}


@pytest.mark.hermit
@pytest.mark.skipif(not HAS_JAVA, reason="Java is not installed: HermiT cannot run")
def test_hermit_agrees_with_model_checking_on_toy(toy):
    onto, ax = toy
    found, _ = logic_findings(onto, ax, reasoner="hermit")
    assert "reasoner_disagreement" not in {f.rule for f in found}


@pytest.fixture(scope="module")
def real_coverage(shipped_review):
    """The coverage analysis of the shipped guideline, from the session's full review (conftest):
    run_review calls analyse_coverage(onto, read_axioms(onto.logic), "fast") exactly as this
    fixture did, and test_review_triage needs the same review."""
    return shipped_review.coverage


def test_kras_only_vs_all_ras_contradiction_has_its_witness(real_coverage):
    hits = [f for f in real_coverage.findings if f.rule == "source_internal_contradiction"
            and f.subject == "gk:Literal_S3_AntiEGFR vs gk:Literal_S6_EGFREligible"]
    assert len(hits) == 1, "S6 (KRAS only) vs S3 (RAS/BRAF) contradiction not found as one finding"
    witness = next(c for c in dict(hits[0].details)["cases"] if c["pivot"] == "gk:nrasStatus")["witness"]
    assert witness["KRAS status"] == "KRAS wild type (exons 2-4)" and witness["NRAS status"] == "NRAS mutant"


def test_real_coverage_is_cross_checked_and_has_no_hard_gaps(real_coverage):
    rules = {f.rule for f in real_coverage.findings}
    assert "reasoner_disagreement" not in rules
    assert real_coverage.cross_checked["fast"] > 0
    assert 1_000 <= real_coverage.profiles <= 100_000


def test_classifier_matches_fast_reasoner_on_toy(toy):
    from guidekg.reasoning.fast import FastReasoner
    from guidekg.review.coverage import records_for

    onto, ax = toy
    space = build_space(ax, _targets(ax), merge=False)
    profiles = list(space)
    scope = closure(ax, _targets(ax))
    classifier = Classifier(ax, scope)
    verdicts = FastReasoner(onto.logic).realize(records_for(space, profiles))
    for i, profile in enumerate(profiles):
        mine = classifier.classify(space.facts(profile))
        theirs = verdicts[f"urn:guidekg:profile:{i}"]
        assert (mine is None) == (not theirs.consistent)
        if mine is not None:
            assert mine & scope == theirs.classes & scope
