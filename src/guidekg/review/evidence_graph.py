"""The evidence network: statements, recommendations, amendments and sources as one graph.

Edges follow the ontology's own links (encodesStatement, hasEvidence, citation, amends), so
questions about the trail are graph questions: a statement with no outgoing citation, a
source nobody points to, a recommendation whose every evidence edge ends at an unlisted
citation.
"""

from __future__ import annotations

import networkx as nx
from rdflib import RDF, URIRef

from ..namespaces import GK, curie
from .model import Finding, OntologySet, finding

_EDGES = {GK.encodesStatement: "encodes", GK.hasEvidence: "evidence", GK.citation: "cites", GK.amends: "amends"}


def evidence_network(onto: OntologySet) -> nx.DiGraph:
    g = onto.graph
    net = nx.DiGraph()
    kinds = [(GK.SourceStatement, "statement"), (GK.Recommendation, "recommendation"), (GK.Amendment, "amendment"),
             (GK.SourceCitation, "citation"), (GK.ReviewReference, "reference")]
    for cls, kind in kinds:
        for node in g.subjects(RDF.type, cls):
            listed = g.value(node, GK.listedInSource)
            net.add_node(curie(str(node)), kind="unlisted" if kind == "citation" and listed is not None and not listed.toPython() else kind,
                         label=curie(str(node)).removeprefix("gk:"))
    for prop, name in _EDGES.items():
        for s, o in g.subject_objects(prop):
            if isinstance(s, URIRef) and isinstance(o, URIRef) and curie(str(s)) in net:
                net.add_edge(curie(str(s)), curie(str(o)), relation=name)
    for node in net:
        net.nodes[node].setdefault("kind", "other")
        net.nodes[node].setdefault("label", node.removeprefix("gk:"))
    return net


def evidence_findings(net: nx.DiGraph) -> list[Finding]:
    out = []
    for node, data in sorted(net.nodes(data=True)):
        kind = data["kind"]
        if kind == "statement" and not any(d["relation"] == "cites" for _, _, d in net.out_edges(node, data=True)):
            out.append(finding("statement_without_evidence", node, "gk:citation"))
        if kind in ("citation", "unlisted", "reference") and net.in_degree(node) == 0:
            out.append(finding("source_cited_by_nothing", node))
        if kind in ("recommendation", "amendment"):
            sources = [t for _, t, d in net.out_edges(node, data=True) if d["relation"] == "evidence"]
            if sources and all(net.nodes[t].get("kind") == "unlisted" for t in sources):
                out.append(finding("recommendation_only_unlisted_evidence", node, "gk:hasEvidence", ", ".join(sources)))
    return out


def layout(net: nx.DiGraph) -> dict:
    """Columns by kind: statements, recommendations, amendments, sources."""
    column = {"statement": 0, "recommendation": 1, "amendment": 2, "citation": 3, "unlisted": 3, "reference": 3, "other": 3}
    for node in net:
        net.nodes[node]["layer"] = column[net.nodes[node]["kind"]]
    return nx.multipartite_layout(net, subset_key="layer")
