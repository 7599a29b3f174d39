"""The guideline statement by statement: what the source says, what the review found, how it is encoded.

For every gk:SourceStatement (source order): section, text, the citations printed with it
(unlisted ones flagged), the evidence review's verdict and note (rdfs:comment) and editorial
note; beside it every encoding: recommendations, amendments (with their review references),
alerts, descriptive facts, the decision classes that trigger them (Manchester-like syntax,
with file and line), literal-reading classes, and the safety shapes that raise its alerts.
A statement nothing encodes is listed too: that is what an author must see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, Graph, URIRef

from .. import resources
from ..logic import Axioms
from ..namespaces import GK, SH, SKOS, curie
from .explain import locate
from .manchester import render
from .model import OntologySet

KIND = {GK.Recommendation: "recommendation", GK.Amendment: "amendment", GK.Alert: "alert", GK.SourceFact: "fact"}


def _text(g: Graph, node, prop) -> str:
    value = g.value(node, prop)
    return str(value) if value is not None else ""


def safety_shapes(onto: OntologySet) -> Graph:
    """The safety and patient shapes of this version: ../shapes/*.ttl beside a copied ontology, else the packaged ones."""
    folder = Path(onto.origin)
    sibling = (folder if folder.is_dir() else folder.parent).parent / "shapes" / "safety.ttl"
    graph = Graph()
    for name in ("safety", "patient"):  # safety shapes check plans, patient shapes raise missing-data alerts
        local = sibling.with_name(f"{name}.ttl")
        graph += Graph().parse(local, format="turtle") if local.exists() else resources.shared_graph("shapes", name)
    return graph


def _class_entry(onto: OntologySet, ax: Axioms, cls: URIRef) -> dict[str, Any]:
    file, line = locate(onto, str(cls))
    logic = render(ax.definitions[str(cls)]) if str(cls) in ax.definitions else ""
    return {"id": curie(str(cls)), "label": _text(onto.graph, cls, RDFS.label), "logic": logic, "file": file, "line": line}


def _sources(g: Graph, nodes) -> list[dict[str, Any]]:
    out = []
    for src in sorted(nodes, key=str):
        listed = g.value(src, GK.listedInSource)
        out.append({"id": curie(str(src)), "label": _text(g, src, RDFS.label) or _text(g, src, URIRef("http://purl.org/dc/terms/title")),
                    "unlisted": listed is not None and not listed.toPython(),
                    "kind": "reference" if (src, RDF.type, GK.ReviewReference) in g else "citation"})
    return out


def encoding(onto: OntologySet, ax: Axioms, item: URIRef, shapes: Graph) -> dict[str, Any]:
    g = onto.graph
    kind = next((k for t, k in KIND.items() if (item, RDF.type, t) in g), "other")
    triggers = sorted(set(g.subjects(GK.triggersRecommendation, item)) | set(g.subjects(GK.raisesAlert, item)), key=str)
    file, line = locate(onto, str(item))
    return {
        "id": curie(str(item)), "kind": kind, "label": _text(g, item, RDFS.label), "text": _text(g, item, SKOS.definition),
        "category": _text(g, item, GK.category), "strength": _text(g, item, GK.strength), "note": _text(g, item, SKOS.editorialNote),
        "amends": sorted(curie(str(a)) for a in g.objects(item, GK.amends)),
        "amended_by": sorted(curie(str(a)) for a in set(g.subjects(GK.amends, item)) | set(g.objects(item, GK.supersededBy))),
        "evidence": _sources(g, set(g.objects(item, GK.hasEvidence)) | set(g.objects(item, RDFS.seeAlso))),
        "classes": [_class_entry(onto, ax, c) for c in triggers],
        "shapes": [{"id": curie(str(s)), "label": _text(shapes, s, RDFS.label), "message": _text(shapes, s, SH.message)}
                   for s in sorted(shapes.subjects(GK.raisesAlert, item), key=str)],
        "active": bool(triggers) or any(True for _ in shapes.subjects(GK.raisesAlert, item)),
        "file": file, "line": line,
    }


def statement_views(onto: OntologySet, ax: Axioms) -> list[dict[str, Any]]:
    """Every source statement with its verdict and every encoding of it, in source order."""
    g = onto.graph
    shapes = safety_shapes(onto)
    out = []
    statements = sorted(g.subjects(RDF.type, GK.SourceStatement), key=lambda s: (int(g.value(s, GK.sourceOrder) or 10**6), str(s)))
    for st in statements:
        items = set(g.subjects(GK.encodesStatement, st))
        amendments = {a for i in items for a in g.subjects(GK.amends, i)} - items
        encodings = [encoding(onto, ax, i, shapes) for i in sorted(items | amendments, key=str)
                     if any((i, RDF.type, t) in g for t in KIND)]
        literal = [_class_entry(onto, ax, c) for c in sorted(items, key=str) if (c, RDF.type, OWL.Class) in g]
        file, line = locate(onto, str(st))
        out.append({
            "id": curie(str(st)), "label": _text(g, st, RDFS.label) or curie(str(st)), "section": _text(g, st, GK.sourceSection),
            "order": int(g.value(st, GK.sourceOrder) or 0), "text": _text(g, st, SKOS.definition),
            "citations": _sources(g, g.objects(st, GK.citation)), "verdict": _text(g, st, GK.reviewVerdict),
            "note": _text(g, st, RDFS.comment), "editorial": _text(g, st, SKOS.editorialNote),
            "encodings": sorted(encodings, key=lambda e: (list(KIND.values()).index(e["kind"]) if e["kind"] in KIND.values() else 9, e["id"])),
            "literal": literal, "file": file, "line": line,
        })
    return out


__all__ = ["encoding", "safety_shapes", "statement_views"]
