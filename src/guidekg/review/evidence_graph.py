"""The evidence network: statements, what encodes them, and the sources they rest on, as one graph.

Edges follow the ontology's own links (encodesStatement, hasEvidence, citation, amends,
rdfs:seeAlso). Every kind of encoding is a node: recommendations and amendments, but also
alerts and descriptive facts (gk:SourceFact), which cite review references too; leaving them
out made most review references look uncited. The evidence review's note on a statement
(its rdfs:comment) names the references the reviewer relied on as "(R2, R33, R34)"; those
become "noted" edges, so a reference the review used is never reported as cited by nothing.
"""

from __future__ import annotations

import re

import networkx as nx
from rdflib import RDF, RDFS, URIRef

from ..namespaces import GK, curie
from .model import Finding, OntologySet, finding

_EDGES = {GK.encodesStatement: "encodes", GK.hasEvidence: "evidence", GK.citation: "cites", GK.amends: "amends",
          RDFS.seeAlso: "see also"}
KINDS = ((GK.SourceStatement, "statement"), (GK.Recommendation, "recommendation"), (GK.Amendment, "amendment"),
         (GK.Alert, "alert"), (GK.SourceFact, "fact"), (GK.SourceCitation, "citation"), (GK.ReviewReference, "reference"))
ENCODINGS = ("recommendation", "amendment", "alert", "fact")
SOURCES = ("citation", "unlisted", "reference")
_NOTE_LIST = re.compile(r"\((R\d+(?:\s*,\s*R\d+)*)\)")


def noted_references(onto: OntologySet, statement: URIRef) -> list[str]:
    """Review references named in the statement's review note, as curies of existing gk:Ref_R* nodes."""
    g = onto.graph
    out: list[str] = []
    for note in g.objects(statement, RDFS.comment):
        for group in _NOTE_LIST.findall(str(note)):
            for token in re.split(r"\s*,\s*", group):
                ref = GK["Ref_" + token]
                if (ref, RDF.type, GK.ReviewReference) in g and curie(str(ref)) not in out:
                    out.append(curie(str(ref)))
    return out


def evidence_network(onto: OntologySet) -> nx.DiGraph:
    g = onto.graph
    net = nx.DiGraph()
    for cls, kind in KINDS:
        for node in sorted(g.subjects(RDF.type, cls), key=str):
            listed = g.value(node, GK.listedInSource)
            unlisted = kind == "citation" and listed is not None and not listed.toPython()
            label = g.value(node, RDFS.label)
            net.add_node(curie(str(node)), kind="unlisted" if unlisted else kind, title=str(label or ""),
                         label=curie(str(node)).removeprefix("gk:"))
    for prop, name in _EDGES.items():
        for s, o in sorted(g.subject_objects(prop), key=str):
            if isinstance(s, URIRef) and isinstance(o, URIRef) and curie(str(s)) in net and curie(str(o)) in net:
                net.add_edge(curie(str(s)), curie(str(o)), relation=name)
    for statement in sorted(g.subjects(RDF.type, GK.SourceStatement), key=str):
        for ref in noted_references(onto, statement):
            if not net.has_edge(curie(str(statement)), ref):
                net.add_edge(curie(str(statement)), ref, relation="noted")
    return net


def evidence_findings(net: nx.DiGraph) -> list[Finding]:
    out = []
    for node, data in sorted(net.nodes(data=True)):
        kind = data["kind"]
        if kind == "statement" and not any(d["relation"] == "cites" for _, _, d in net.out_edges(node, data=True)):
            out.append(finding("statement_without_evidence", node, "gk:citation"))
        if kind in SOURCES and net.in_degree(node) == 0:
            out.append(finding("source_cited_by_nothing", node))
        if kind in ("recommendation", "amendment"):
            sources = [t for _, t, d in net.out_edges(node, data=True) if d["relation"] == "evidence"]
            if sources and all(net.nodes[t].get("kind") == "unlisted" for t in sources):
                out.append(finding("recommendation_only_unlisted_evidence", node, "gk:hasEvidence", ", ".join(sources)))
    return out


def statements_of(net: nx.DiGraph, item: str) -> list[str]:
    """Statements an encoding encodes, directly or through the item it amends."""
    found = {t for _, t, d in net.out_edges(item, data=True) if d["relation"] == "encodes"}
    for _, amended, d in net.out_edges(item, data=True):
        if d["relation"] == "amends":
            found |= {t for _, t, e in net.out_edges(amended, data=True) if e["relation"] == "encodes"}
    return sorted(found, key=_natural)


def trail(net: nx.DiGraph, item: str) -> nx.DiGraph:
    """The evidence network of one recommendation: statement -> item and its amendments -> sources."""
    statements = set(statements_of(net, item))
    items = {item} | {a for a, _, d in net.in_edges(item, data=True) if d["relation"] == "amends"}
    items |= {t for _, t, d in net.out_edges(item, data=True) if d["relation"] == "amends"}
    items |= {a for s in statements for a, _, d in net.in_edges(s, data=True)
              if d["relation"] == "encodes" and net.nodes[a]["kind"] == "amendment"}  # amendments of the same statement
    nodes = set(items) | statements
    for it in items:
        nodes |= {t for _, t, d in net.out_edges(it, data=True) if d["relation"] in ("evidence", "see also")}
    sub = nx.DiGraph()
    sub.add_nodes_from((n, net.nodes[n]) for n in nodes)
    for s, t, d in net.subgraph(nodes).edges(data=True):
        if d["relation"] == "encodes":  # drawn the way an author reads it: statement -> what encodes it
            sub.add_edge(t, s, relation="encoded by")
        elif d["relation"] not in ("noted", "cites"):
            sub.add_edge(s, t, **d)
    return sub


def _natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def column(kind: str) -> int:
    """Left to right: statements, encodings, sources (a deterministic layer for every kind)."""
    return 0 if kind == "statement" else 1 if kind in ENCODINGS else 2
