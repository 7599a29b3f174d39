"""Upload the knowledge graph to an external triple store (Virtuoso, Fuseki, GraphDB, ...).

Two standard ways in:

* ``gsp`` -- SPARQL 1.1 Graph Store HTTP Protocol: one ``PUT ?graph=IRI`` per named graph
  (replaces it, so pushing twice never duplicates), then ``POST`` for further batches.
* ``update`` -- SPARQL 1.1 Update: ``DROP SILENT GRAPH`` plus ``INSERT DATA`` in batches.

What is sent is :func:`guidekg.server.dataset.knowledge_dataset`: every ontology module,
shape file and patient in its own named graph. Batches never split a blank-node structure
(an OWL restriction, an RDF list): a blank node means "the same node" only inside one
request, so its triples travel together. Failures that may pass (5xx, 429, connection
errors) are retried with exponential backoff; anything else stops the push with the
store's own message. The :class:`PushReport` says what was written.

The ``INSERT DATA`` text is produced by serializing triples as N-Triples (valid SPARQL
triple syntax) inside a fixed wrapper, as rdflib's own SPARQLUpdateStore does; no query is
written here and no value is pasted unescaped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from rdflib import BNode, Graph, URIRef

from .server.dataset import knowledge_dataset, named_graphs

PROTOCOLS = ("gsp", "update")
RETRY_STATUS = {429, 500, 502, 503, 504}
_SAFE_IRI = re.compile(r'^[^\s<>"{}|\\^`]+$')


class PushError(RuntimeError):
    """The store refused a request, or kept failing after every retry."""


@dataclass
class GraphReport:
    graph: str
    triples: int
    batches: int
    verified: int | None = None


@dataclass
class PushReport:
    endpoint: str
    protocol: str
    graphs: list[GraphReport] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def triples(self) -> int:
        return sum(g.triples for g in self.graphs)

    @property
    def batches(self) -> int:
        return sum(g.batches for g in self.graphs)

    def as_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "protocol": self.protocol, "graphs": [vars(g) for g in self.graphs],
                "triples": self.triples, "batches": self.batches, "requests": self.requests,
                "retries": self.retries, "seconds": round(self.seconds, 3)}

    def summary(self) -> str:
        lines = [f"pushed {self.triples} triples in {len(self.graphs)} graphs to {self.endpoint} ({self.protocol}): "
                 f"{self.batches} batches, {self.requests} requests, {self.retries} retries, {self.seconds:.1f} s"]
        for g in self.graphs:
            check = "" if g.verified is None else f", read back {g.verified}" + ("" if g.verified == g.triples else " MISMATCH")
            lines.append(f"  {g.graph}: {g.triples} triples, {g.batches} batches{check}")
        return "\n".join(lines)


def batches(graph: Graph, size: int) -> list[list[tuple]]:
    """Triples of ``graph`` in batches of about ``size``; triples sharing a blank node stay together."""
    if size < 1:
        raise ValueError("the batch size must be at least 1")
    parent: dict[BNode, BNode] = {}

    def find(node: BNode) -> BNode:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    triples = sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2])))
    for s, _, o in triples:
        if isinstance(s, BNode) and isinstance(o, BNode):
            parent[find(s)] = find(o)
    groups: dict[tuple[str, object], list[tuple]] = {}
    for index, triple in enumerate(triples):
        node = next((n for n in (triple[0], triple[2]) if isinstance(n, BNode)), None)
        key = ("b", find(node)) if node is not None else ("t", index)
        groups.setdefault(key, []).append(triple)
    out: list[list[tuple]] = []
    current: list[tuple] = []
    for group in groups.values():
        if current and len(current) + len(group) > size:
            out.append(current)
            current = []
        current.extend(group)
    if current:
        out.append(current)
    return out


def _as_graph(triples: Sequence[tuple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def _insert_data(graph_iri: str, triples: Sequence[tuple], replace: bool) -> str:
    """One update request. A batch with blank nodes uses ``INSERT {...} WHERE {}`` (one solution,
    so each blank node is created once), because some stores (Virtuoso) refuse blank nodes in
    ``INSERT DATA`` although SPARQL 1.1 allows them."""
    body = _as_graph(triples).serialize(format="nt")
    drop = f"DROP SILENT GRAPH <{graph_iri}> ;\n" if replace else ""
    if any(isinstance(n, BNode) for t in triples for n in (t[0], t[2])):
        return f"{drop}INSERT {{ GRAPH <{graph_iri}> {{\n{body}}} }} WHERE {{}}\n"
    return f"{drop}INSERT DATA {{ GRAPH <{graph_iri}> {{\n{body}}} }}\n"


class _Client:
    """An HTTP client that retries what may pass and counts what it did."""

    def __init__(self, report: PushReport, client: httpx.Client, retries: int, backoff: float) -> None:
        self.report, self.client, self.retries, self.backoff = report, client, retries, backoff

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            self.report.requests += 1
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return response
                problem = f"HTTP {response.status_code}: {response.text.strip()[:500]}"
                if response.status_code not in RETRY_STATUS:
                    raise PushError(f"{method} {url} was refused: {problem}")
            if attempt == self.retries:
                raise PushError(f"{method} {url} failed after {attempt + 1} attempts: {problem}")
            self.report.retries += 1
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")


def _auth(user: str | None, password: str | None, scheme: str) -> httpx.Auth | None:
    if not user:
        return None
    if scheme == "basic":
        return httpx.BasicAuth(user, password or "")
    if scheme == "digest":
        return httpx.DigestAuth(user, password or "")
    raise ValueError(f"unknown auth scheme '{scheme}'; use digest or basic")


def push_graphs(graphs: Sequence[Graph], endpoint: str, protocol: str = "gsp", *, user: str | None = None,
                password: str | None = None, auth: str = "digest", batch_size: int = 10_000, retries: int = 4,
                backoff: float = 0.5, timeout: float = 120.0, verify: bool = False,
                transport: httpx.BaseTransport | None = None) -> PushReport:
    """Write each named graph (replacing what the store had under that name)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol '{protocol}'; use {' or '.join(PROTOCOLS)}")
    report = PushReport(endpoint, protocol)
    started = time.perf_counter()
    with httpx.Client(auth=_auth(user, password, auth), timeout=timeout, transport=transport) as http:
        client = _Client(report, http, retries, backoff)
        for graph in graphs:
            iri = str(graph.identifier)
            if not isinstance(graph.identifier, URIRef) or not _SAFE_IRI.match(iri):
                raise PushError(f"cannot push a graph named {iri!r}: graph names must be IRIs")
            chunks = batches(graph, batch_size) or [[]]
            for index, chunk in enumerate(chunks):
                if protocol == "gsp":
                    client.send("PUT" if index == 0 else "POST", endpoint, params={"graph": iri},
                                content=_as_graph(chunk).serialize(format="turtle").encode("utf-8"),
                                headers={"Content-Type": "text/turtle; charset=utf-8"})
                else:
                    client.send("POST", endpoint, content=_insert_data(iri, chunk, index == 0).encode("utf-8"),
                                headers={"Content-Type": "application/sparql-update; charset=utf-8"})
            entry = GraphReport(iri, len(graph), len(chunks))
            if verify and protocol == "gsp":
                entry.verified = len(read_graph(endpoint, iri, client))
            report.graphs.append(entry)
    report.seconds = time.perf_counter() - started
    return report


def read_graph(endpoint: str, graph_iri: str, client: _Client) -> Graph:
    """One graph read back with a Graph Store Protocol GET."""
    response = client.send("GET", endpoint, params={"graph": graph_iri}, headers={"Accept": "text/turtle"})
    return Graph().parse(data=response.text, format="turtle")


def push(inputs: Sequence[str], endpoint: str, reasoner: str = "fast", graph: str | None = None,
         shapes: bool = True, **options: Any) -> PushReport:
    """Assess ``inputs`` and push the ontology, shapes and patients (one graph each, or all into ``graph``)."""
    results = []
    if inputs:
        from .recommend import recommend

        results = recommend(inputs, reasoner=reasoner)
    graphs = named_graphs(knowledge_dataset(results, reasoner, shapes=shapes))
    if graph:
        merged = Graph(identifier=URIRef(graph))
        for part in graphs:
            for triple in part:
                merged.add(triple)
        graphs = [merged]
    return push_graphs(graphs, endpoint, **options)
