"""What changed between two guideline versions, and which example patients it moves.

Recommendations (added, removed, annotations changed), decision classes (definition changed,
compared as rendered logic so blank-node identity does not matter; triggered items changed),
evidence links, and for every example patient the set of recommendations before and after,
each version classified by its own axioms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, URIRef

from .. import resources
from ..logic import read_axioms
from ..namespaces import GK, SKOS, curie
from .manchester import render
from .model import OntologySet

_REC_PROPS = (SKOS.definition, RDFS.label, GK.category, GK.action, GK.strength, GK.hasEvidence, GK.encodesStatement, GK.amends)


def _recs(onto: OntologySet) -> dict[str, dict[str, frozenset[str]]]:
    g = onto.graph
    items = set(g.subjects(RDF.type, GK.Recommendation)) | set(g.subjects(RDF.type, GK.Amendment))
    return {curie(str(r)): {curie(str(p)): frozenset(curie(str(o)) if isinstance(o, URIRef) else str(o) for o in g.objects(r, p))
                            for p in _REC_PROPS} for r in items}


def _statements(onto: OntologySet) -> dict[str, dict[str, Any]]:
    g = onto.graph
    return {curie(str(s)): {"citations": sorted(curie(str(c)) for c in g.objects(s, GK.citation)),
                            "text": str(g.value(s, SKOS.definition) or ""), "verdict": str(g.value(s, GK.reviewVerdict) or "")}
            for s in g.subjects(RDF.type, GK.SourceStatement)}


def statement_changes(old: OntologySet, new: OntologySet) -> list[dict[str, Any]]:
    """Statements added, removed, or with changed citations, text or verdict (before and after)."""
    before, after = _statements(old), _statements(new)
    out = []
    for sid in sorted(set(before) | set(after), key=_natural):
        if sid not in before or sid not in after:
            out.append({"id": sid, "changed": ["added" if sid not in before else "removed"], "before": before.get(sid, {}),
                        "after": after.get(sid, {})})
            continue
        what = [k for k in ("citations", "text", "verdict") if before[sid][k] != after[sid][k]]
        if what:
            out.append({"id": sid, "changed": what, "before": {k: before[sid][k] for k in what},
                        "after": {k: after[sid][k] for k in what}})
    return out


def _natural(text: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _classes(onto: OntologySet) -> dict[str, dict[str, Any]]:
    ax = read_axioms(onto.logic)
    g = onto.logic
    return {curie(c): {"definition": render(ax.definitions[c]) if c in ax.definitions else "",
                       "triggers": frozenset(curie(str(r)) for r in g.objects(URIRef(c), GK.triggersRecommendation))}
            for c in ax.classes if c.startswith(str(GK))}


def patient_recommendations(onto: OntologySet, inputs: list[Path]) -> dict[str, frozenset[str]]:
    """Patient id -> recommendations given under this version (fast reasoner, own axioms)."""
    from ..ingest import read_patients
    from ..reasoning.fast import FastReasoner

    records = [r for r in read_patients(inputs) if not r.ingest_failed]
    verdicts = FastReasoner(onto.logic).realize(records)
    out = {}
    for record in records:
        verdict = verdicts[record.iri]
        recs = {curie(str(r)) for c in verdict.classes for r in onto.logic.objects(URIRef(c), GK.triggersRecommendation)}
        out[record.patient_id] = frozenset(recs) if verdict.consistent else frozenset({"(contradictory)"})
    return out


def diff_versions(old: OntologySet, new: OntologySet, patients: list[Path] | None = None) -> dict[str, Any]:
    before, after = _recs(old), _recs(new)
    changed = []
    for rec in sorted(set(before) & set(after)):
        props = sorted(p for p in after[rec] if before[rec].get(p) != after[rec].get(p))
        if props:
            changed.append({"id": rec, "changed": props,
                            "before": {p: sorted(before[rec][p]) for p in props}, "after": {p: sorted(after[rec][p]) for p in props}})
    cb, ca = _classes(old), _classes(new)
    class_changes = []
    for cls in sorted(set(cb) & set(ca)):
        what = [k for k in ("definition", "triggers") if cb[cls][k] != ca[cls][k]]
        if what:
            class_changes.append({"id": cls, "changed": what, "before": {k: _plain(cb[cls][k]) for k in what},
                                  "after": {k: _plain(ca[cls][k]) for k in what}})
    links_b = {(r, e) for r, v in before.items() for e in v["gk:hasEvidence"]}
    links_a = {(r, e) for r, v in after.items() for e in v["gk:hasEvidence"]}
    result: dict[str, Any] = {
        "old": old.origin, "new": new.origin,
        "recommendations": {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)), "changed": changed},
        "classes": {"added": sorted(set(ca) - set(cb)), "removed": sorted(set(cb) - set(ca)), "changed": class_changes},
        "evidence_links": {"added": [[r, curie(e)] for r, e in sorted(links_a - links_b)],
                           "removed": [[r, curie(e)] for r, e in sorted(links_b - links_a)]},
        "statements": statement_changes(old, new),
        "patients": [],
        "removed_recommendation_patients": {},
    }
    inputs = patients if patients is not None else [resources.data_dir("examples") / "patients.csv"]
    old_p, new_p = patient_recommendations(old, inputs), patient_recommendations(new, inputs)
    for pid in new_p:
        if old_p.get(pid) != new_p[pid]:
            result["patients"].append({"patient": pid, "lost": sorted(old_p.get(pid, frozenset()) - new_p[pid]),
                                       "gained": sorted(new_p[pid] - old_p.get(pid, frozenset()))})
    for rec in result["recommendations"]["removed"]:  # who loses a deleted recommendation
        result["removed_recommendation_patients"][rec] = sorted(pid for pid, recs in old_p.items() if rec in recs)
    return result


def _plain(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def diff_size(diff: dict[str, Any]) -> int:
    return sum(len(diff[k][j]) for k in ("recommendations", "classes") for j in ("added", "removed", "changed")) + \
        len(diff["evidence_links"]["added"]) + len(diff["evidence_links"]["removed"]) + len(diff.get("statements", []))
