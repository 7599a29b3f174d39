"""Guideline-authoring review: a report authors can act on (``guidekg review``).

:func:`run_review` runs every check on a guideline version and returns a :class:`Review`:
encoding checks (SHACL shapes and SPARQL queries, as data), logic checks (consistency,
unsatisfiable classes, unexpected subsumption), coverage and conflicts by model checking
every patient profile, the evidence network, the care pathway, and optionally a diff
against an older version. :mod:`.report` renders it as HTML, Markdown or JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..logic import read_axioms
from ..namespaces import GK, curie
from .model import LEVELS, Finding, OntologySet, finding, load_ontology

__all__ = ["Finding", "Review", "load_ontology", "run_review"]


@dataclass
class Review:
    onto: OntologySet
    findings: list[Finding] = field(default_factory=list)
    coverage: Any = None
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    pictures: dict[str, dict[str, bytes]] = field(default_factory=dict)
    diff: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    reasoner: str = "fast"

    def counts(self) -> dict[str, int]:
        return {level: sum(f.level == level for f in self.findings) for level in LEVELS}

    @property
    def exit_code(self) -> int:
        return 1 if self.counts()["ERROR"] else 0


def _recommendations(onto: OntologySet, ax) -> list[dict[str, Any]]:
    """Every recommendation with the classes that trigger it (rendered logic) and its evidence."""
    from rdflib import RDF, RDFS, URIRef

    from ..namespaces import SKOS
    from .manchester import render

    g = onto.graph
    items = sorted(set(g.subjects(RDF.type, GK.Recommendation)) | set(g.subjects(RDF.type, GK.Amendment)), key=str)
    out = []
    for rec in items:
        triggers = [{"class": curie(str(c)), "logic": render(ax.definitions[str(c)]) if str(c) in ax.definitions else ""}
                    for c in sorted(g.subjects(GK.triggersRecommendation, rec), key=str)]
        evidence = []
        for src in sorted(g.objects(rec, GK.hasEvidence), key=str):
            listed = g.value(src, GK.listedInSource)
            evidence.append({"id": curie(str(src)), "label": str(g.value(src, RDFS.label) or ""),
                             "unlisted": listed is not None and not listed.toPython()})
        out.append({"id": curie(str(rec)), "label": str(g.value(rec, RDFS.label) or ""), "text": str(g.value(rec, SKOS.definition) or ""),
                    "category": str(g.value(rec, GK.category) or ""), "amends": [curie(str(a)) for a in g.objects(rec, GK.amends)],
                    "statements": sorted(curie(str(s)) for s in g.objects(rec, GK.encodesStatement)),
                    "amendment": (rec, RDF.type, GK.Amendment) in g, "triggered_by": triggers, "evidence": evidence,
                    "iri": str(URIRef(rec))})
    return out


def run_review(source: str | Path | None = None, against: str | Path | None = None, reasoner: str = "fast",
               pictures: bool = True, patients: list[Path] | None = None) -> Review:
    """Run every authoring check on a guideline version (default: the packaged ontology)."""
    from .. import pathway as pw
    from . import checks, drawing, evidence_graph
    from .coverage import analyse_coverage
    from .logic_checks import logic_findings

    onto = load_ontology(source)
    review = Review(onto, reasoner=reasoner)
    ax = read_axioms(onto.logic)

    def timed(name: str, fn, *args):
        start = time.perf_counter()
        result = fn(*args)
        review.timings[name] = round(time.perf_counter() - start, 2)
        return result

    review.findings += timed("shacl", checks.shacl_findings, onto.graph)
    review.findings += timed("queries", checks.query_findings, onto.graph)
    logic, review.stats["logic"] = timed("logic", logic_findings, onto, ax, reasoner)
    review.findings += logic
    review.coverage = timed("coverage", analyse_coverage, onto, ax, reasoner)
    review.findings += review.coverage.findings
    net = evidence_graph.evidence_network(onto)
    review.findings += evidence_graph.evidence_findings(net)
    path = pw.build_pathway(onto.graph)
    review.findings += [finding(rule, subject, message=message) for rule, subject, message in pw.pathway_problems(path)]
    review.recommendations = _recommendations(onto, ax)
    review.stats["evidence_network"] = {"nodes": net.number_of_nodes(), "edges": net.number_of_edges()}
    if pictures and drawing.available():
        review.pictures["evidence network"] = timed("draw_evidence", drawing.draw, net, evidence_graph.layout(net),
                                                    "Evidence network", (), (14, 16), 5)
        review.pictures["care pathway"] = timed("draw_pathway", pw.draw_pathway, path)
    if against is not None:
        from .diff import diff_versions

        review.diff = timed("diff", diff_versions, load_ontology(against), onto, patients)
    order = {level: i for i, level in enumerate(LEVELS)}
    review.findings.sort(key=lambda f: (order.get(f.level, 9), f.rule, f.subject, f.property, f.value))
    return review
