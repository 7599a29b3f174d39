"""The .rq files: headers, parameter binding, result formats and the answers they give."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.sparql import prepareQuery

from guidekg import resources
from guidekg.mutation.expectations import example_expectations
from guidekg.namespaces import GK, PROV, patient_iri
from guidekg.query import knowledge_graph, load_query, parse_binding, render, run_query
from guidekg.recommend import recommend

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUERIES = sorted(p for p in resources.data_dir("queries").glob("*.rq"))


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_every_query_has_a_header_and_parses(path):
    text = path.read_text(encoding="utf-8")
    for field in ("# Purpose:", "# Parameters:", "# Columns:"):
        assert field in text, f"{path.name} lacks '{field}'"
    prepareQuery(text)


@pytest.fixture(scope="module")
def graph():
    return knowledge_graph(recommend([EXAMPLES / "patients.csv"]))


def test_recommendations_for_one_patient_are_bound_not_pasted(graph):
    one = patient_iri("EX03-kras-mutant-fit")
    rows = list(run_query(graph, load_query("recommendations"), {"patient": URIRef(one)}))
    assert rows and {str(r["patient"]) for r in rows} == {one}
    assert str(GK.Rec_S5) in {str(r["recommendation"]) for r in rows}
    expected = example_expectations()
    everyone = {str(r["patient"]) for r in run_query(graph, load_query("recommendations"))}
    # every ok patient with at least one treatment class has recommendations, and no one else
    assert everyone == {patient_iri(p) for p, e in expected.items() if e["status"] == "ok" and e["treatment_classes"]}


def test_evidence_trail_shows_statement_citations_amendment_and_sources(graph):
    rows = list(run_query(graph, load_query("evidence_trail"), {"recommendation": GK.Amend_AntiEGFREligibility}))
    relations = {(str(r["relation"]), str(r["related"] or r["source"] or r["statement"])) for r in rows}
    assert ("amends", str(GK.Rec_S6b)) in relations
    assert ("encodes statement", str(GK.S6b)) in relations
    assert ("statement cites", str(GK.Cit_1)) in relations
    r7 = next(r for r in rows if r["source"] == GK.Ref_R7)
    assert r7["citation"] and "Panitumumab" in str(r7["citation"])
    superseded = {str(r["related"]) for r in run_query(graph, load_query("evidence_trail"), {"recommendation": GK.Rec_S6b})
                  if str(r["relation"]) == "superseded by"}
    assert superseded == {str(GK.Amend_AntiEGFREligibility)}


def test_cohort_summary_counts_patients_per_class(graph):
    """Counts against the hand-reviewed expectations (tests/data/expected/examples.json), not the pipeline's own output."""
    rows = {str(r["class"]): int(r["patients"]) for r in run_query(graph, load_query("cohort_summary")) if str(r["kind"]) == "treatment"}
    expected = example_expectations()
    counts: dict[str, int] = {}
    for entry in expected.values():
        classes = entry.get("disputed", {}).get("observed", {}).get("treatment_classes", entry["treatment_classes"])
        for cls in classes:
            counts[str(GK[cls.split(":", 1)[1]])] = counts.get(str(GK[cls.split(":", 1)[1]]), 0) + 1
    assert rows == counts
    assert rows[str(GK.MolecularTestingRequired)] == 3  # EX08, EX09 and EX17 (discordant MSI/MMR: testing first), as the README table says


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "xml", "table"])
def test_result_formats(graph, fmt):
    result = run_query(graph, load_query("alerts"), {"patient": URIRef(patient_iri("EX12-converted-one-stage"))})
    text = render(result, fmt)
    if fmt == "json":
        bindings = json.loads(text)["results"]["bindings"]
        assert {b["alert"]["value"] for b in bindings} == {str(GK.Alert_BevacizumabSurgeryInterval), str(GK.Alert_CancelResectionAfterPETCR)}
    elif fmt == "csv":
        assert next(csv.reader(io.StringIO(text)))[:3] == ["patient", "patient_id", "alert"]
    elif fmt == "tsv":
        assert text.splitlines()[0].startswith("?patient\t?patient_id\t?alert")
    elif fmt == "xml":
        assert "<sparql" in text and "Alert_BevacizumabSurgeryInterval" in text
    else:
        assert "gk:Alert_BevacizumabSurgeryInterval" in text


def test_parse_binding_accepts_curie_iri_and_literal():
    assert parse_binding("gk:Rec_S5") == GK.Rec_S5
    assert parse_binding("<https://example.org/x>") == URIRef("https://example.org/x")
    assert str(parse_binding("EX01")) == "EX01" and not isinstance(parse_binding("EX01"), URIRef)


def test_turtle_output_carries_inferences_and_provenance():
    from guidekg.export.rdf import render_rdf

    results = recommend([EXAMPLES / "patients.csv"])
    graph = Graph().parse(data=render_rdf(results, "fast"), format="turtle")
    ex01 = URIRef(patient_iri("EX01-left-ras-wt"))
    assert (ex01, None, GK.DoubletPlusAntiEGFR) in graph
    assert (ex01, GK.hasRecommendation, GK.Amend_AntiEGFREligibility) in graph
    runs = set(graph.subjects(None, PROV.Activity))
    assert len(runs) == 1
    assessment = next(graph.subjects(GK.assessmentOf, ex01))
    assert (assessment, PROV.wasGeneratedBy, next(iter(runs))) in graph
    assert (next(iter(runs)), PROV.used, URIRef("https://w3id.org/guidekg/ontology/0.1.0")) in graph
