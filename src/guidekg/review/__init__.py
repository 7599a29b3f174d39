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
from ..namespaces import GK, curie, expand
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
    statements: list[dict[str, Any]] = field(default_factory=list)
    waivers: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, list[Finding]] | None = None
    network: Any = None
    pathway: Any = None

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.id not in self.waivers]

    @property
    def accepted(self) -> list[Finding]:
        return [f for f in self.findings if f.id in self.waivers]

    def counts(self) -> dict[str, int]:
        """Open findings per level: accepted (waived) findings stop counting."""
        return {level: sum(f.level == level for f in self.open_findings) for level in LEVELS}

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


PARTS = ("encoding", "logic", "coverage", "evidence", "pathway", "statements", "pictures")


def run_review(source: str | Path | None = None, against: str | Path | None = None, reasoner: str = "fast",
               pictures: bool = True, patients: list[Path] | None = None, parts: tuple[str, ...] = PARTS,
               waivers: str | Path | None = None) -> Review:
    """Run the authoring checks on a guideline version (default: the packaged ontology).

    ``parts`` selects checks (the model-checking ones, logic and coverage, take most of the
    time); ``waivers`` defaults to review-waivers.csv beside the ontology's modules. With
    ``against``, the older version is reviewed with the same parts and the findings are
    compared (new / resolved / unchanged), besides the diff of the guideline itself.
    """
    from rdflib import URIRef

    from .. import pathway as pw
    from . import checks, evidence_graph, triage
    from .coverage import analyse_coverage
    from .logic_checks import logic_findings
    from .statements import statement_views

    onto = load_ontology(source)
    review = Review(onto, reasoner=reasoner)
    ax = read_axioms(onto.logic)

    def timed(name: str, fn, *args):
        start = time.perf_counter()
        result = fn(*args)
        review.timings[name] = round(time.perf_counter() - start, 2)
        return result

    if "encoding" in parts:
        review.findings += timed("shacl", checks.shacl_findings, onto.graph)
        review.findings += timed("queries", checks.query_findings, onto.graph)
    if "logic" in parts:
        logic, review.stats["logic"] = timed("logic", logic_findings, onto, ax, reasoner)
        review.findings += logic
    if "coverage" in parts:
        review.coverage = timed("coverage", analyse_coverage, onto, ax, reasoner)
        review.findings += review.coverage.findings
    net = evidence_graph.evidence_network(onto)
    review.network = net
    if "evidence" in parts:
        review.findings += evidence_graph.evidence_findings(net)
        review.stats["evidence_network"] = {"nodes": net.number_of_nodes(), "edges": net.number_of_edges()}
    path = pw.build_pathway(onto.graph)
    review.pathway = path
    if "pathway" in parts:
        review.findings += [finding(rule, subject, message=message) for rule, subject, message in pw.pathway_problems(path)]
    review.recommendations = _recommendations(onto, ax)
    if "statements" in parts:
        review.statements = timed("statements", statement_views, onto, ax)
    if pictures and "pictures" in parts:
        def to_statement(cls: str) -> str:  # a pathway box opens the statement view of what its class encodes
            found = triage.own_statements(onto, URIRef(expand(cls)))
            return "#stmt-" + curie(str(found[0])).removeprefix("gk:") if found else "#cls-" + cls.removeprefix("gk:")

        review.pictures["care pathway"] = {"svg": timed("draw_pathway", pw.svg, path, (), (), "Care pathway", to_statement).encode("utf-8")}
    if against is not None:
        from .diff import diff_versions

        old = load_ontology(against)
        review.diff = timed("diff", diff_versions, old, onto, patients)
        for change in review.diff["statements"]:
            if "citations" in change["changed"]:
                review.findings.append(finding("statement_citations_changed", change["id"], "gk:citation", "",
                                               f"citations {', '.join(change['before'].get('citations', [])) or '(none)'}"
                                               f" -> {', '.join(change['after'].get('citations', [])) or '(none)'}"))
            if "text" in change["changed"]:
                review.findings.append(finding("statement_text_changed", change["id"], "skos:definition"))
        older = run_review(against, None, reasoner, False, patients, tuple(p for p in parts if p not in ("pictures", "statements")),
                           waivers=Path(waivers) if waivers else None)
        review.comparison = triage.compare(older.findings, review.findings)
    review.waivers = triage.load_waivers(Path(waivers) if waivers else triage.waivers_path(onto))
    order = {level: i for i, level in enumerate(LEVELS)}
    review.findings.sort(key=lambda f: (order.get(f.level, 9), f.rule, f.subject, f.property, f.value))
    return review
