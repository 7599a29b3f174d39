"""Encoding checks (SHACL + SPARQL), evidence network and pathway checks: each fires on a bad fixture only."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from guidekg.pathway import build_pathway, pathway_problems
from guidekg.review.checks import query_findings, query_rules, shacl_findings
from guidekg.review.evidence_graph import evidence_findings, evidence_network
from guidekg.review.model import OntologySet, load_ontology, python_rules

DATA = Path(__file__).parent / "data" / "review"


def _onto(name: str) -> OntologySet:
    return load_ontology(DATA / name)


@pytest.fixture(scope="module")
def bad() -> set[str]:
    onto = _onto("authoring_bad.ttl")
    found = shacl_findings(onto.graph) + query_findings(onto.graph) + evidence_findings(evidence_network(onto))
    return {(f.rule, f.subject) for f in found}


@pytest.fixture(scope="module")
def good() -> set[str]:
    onto = _onto("authoring_good.ttl")
    found = shacl_findings(onto.graph) + query_findings(onto.graph) + evidence_findings(evidence_network(onto))
    return {(f.rule, f.subject) for f in found}


CASES = [
    ("recommendation_incomplete", "gk:Rec_Bare"),
    ("amendment_untraceable", "gk:Amend_Bare"),
    ("cited_source_without_bibliography", "gk:Cit_6"),
    ("term_undocumented", "gk:Undocumented"),
    ("recommendation_never_triggered", "gk:Rec_Bare"),
    ("trigger_target_not_recommendation", "gk:SomeClass"),
    ("alert_target_not_alert", "gk:SomeClass"),
    ("evidence_not_a_source", "gk:Amend_Bare"),
    ("treatment_class_without_pathway_step", "gk:SomeClass"),
    ("duplicate_label", "gk:SameLabelA"),
    ("punned_class_and_individual", "gk:Punned"),
    ("statement_without_evidence", "gk:S1"),
    ("source_cited_by_nothing", "gk:Ref_Orphan"),
    ("recommendation_only_unlisted_evidence", "gk:Rec_Bare"),
]


@pytest.mark.parametrize(("rule", "subject"), CASES)
def test_check_fires_on_bad_fixture_only(rule, subject, bad, good):
    assert (rule, subject) in bad
    assert not any(r == rule for r, _ in good), f"{rule} fired on the clean fixture"


def test_every_query_declares_problem_solution_severity():
    for rule, text in query_rules():
        assert rule.problem and rule.solution, rule.name
        assert rule.level in ("ERROR", "WARN", "INFO"), rule.name
        assert "?subject ?property ?value ?message" in text, rule.name


def test_rules_table_levels_are_valid():
    assert all(r.level in ("ERROR", "WARN", "INFO") for r in python_rules().values())


def test_unlisted_citations_reported_on_real_ontology():
    onto = load_ontology()
    subjects = {f.subject for f in shacl_findings(onto.graph) if f.rule == "cited_source_without_bibliography"}
    assert {"gk:Cit_6", "gk:Cit_7", "gk:Cit_8"} <= subjects
    assert not {"gk:Cit_1", "gk:Cit_4"} & subjects


def test_pathway_checks_bad_fixture():
    path = build_pathway(Graph().parse(DATA / "pathway_bad.ttl"))
    problems = {(rule, subject) for rule, subject, _ in pathway_problems(path)}
    assert ("pathway_dead_end", "gk:Step_C") in problems
    assert ("pathway_unreachable_step", "gk:Step_D") in problems and ("pathway_unreachable_step", "gk:Step_E") in problems
    assert ("pathway_step_unknown", "gk:SomeClass") in problems
    assert ("pathway_dead_end", "gk:Step_F") not in problems  # the final step


def test_pathway_checks_good_fixture_and_real_pathway():
    good = build_pathway(Graph().parse(DATA / "authoring_good.ttl"))
    assert not [p for p in pathway_problems(good) if p[0] != "pathway_step_without_class"]
    real = build_pathway(load_ontology().graph)
    assert real.entry == "gk:Step_Diagnosis" and real.final == "gk:Step_Postoperative"
    assert not [p for p in pathway_problems(real) if p[0] in ("pathway_unreachable_step", "pathway_dead_end", "pathway_step_unknown")]
