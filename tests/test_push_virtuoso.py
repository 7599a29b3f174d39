"""guidekg push: batching and retries offline, then a real round trip through Virtuoso.

The round trip pushes the ontology, shapes and assessed patients, reads every graph back
with a SPARQL CONSTRUCT (``queries/graph_triples.rq``, the graph chosen by the protocol's
``default-graph-uri``) and compares it with what was sent as RDF graphs (isomorphism), so
blank nodes (OWL restrictions, lists) and literal datatypes must survive. Virtuoso writes
some literals in canonical form (``2.50`` -> ``2.5``, ``+00:00`` -> ``Z``), so both sides are
put in canonical form first; value and datatype must still match.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest
from rdflib import XSD, BNode, Graph, Literal
from rdflib.compare import isomorphic

from guidekg.push import PushError, batches, push, push_graphs
from guidekg.query import load_query
from guidekg.recommend import recommend
from guidekg.server.dataset import knowledge_dataset, named_graphs
from serving import sample_csv
from virtuoso import MISSING_REASON, Virtuoso, available

NUMERIC = {XSD.decimal, XSD.integer, XSD.double, XSD.float}


def canonical(graph: Graph) -> Graph:
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in NUMERIC:
            o = Literal(format(Decimal(str(o)).normalize(), "f"), datatype=o.datatype)
        elif isinstance(o, Literal) and o.datatype == XSD.dateTime:
            o = Literal(dt.datetime.fromisoformat(str(o).replace("Z", "+00:00")).isoformat(), datatype=XSD.dateTime)
        out.add((s, p, o))
    return out


def test_batches_keep_blank_node_structures_together():
    graph = Graph().parse(data="""
        @prefix ex: <http://example.org/> .
        ex:a ex:p 1, 2, 3, 4 .
        ex:c ex:list (1 2 3 4 5) .
        ex:d ex:r [ ex:s [ ex:t 1 ] ] .
    """, format="turtle")
    chunks = batches(graph, 2)
    assert sum(len(c) for c in chunks) == len(graph)
    for chunk in chunks:
        nodes = {n for t in chunk for n in (t[0], t[2]) if isinstance(n, BNode)}
        for other in chunks:
            if other is not chunk:
                assert not nodes & {n for t in other for n in (t[0], t[2]) if isinstance(n, BNode)}


def test_retries_with_backoff_then_reports():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503 if len(calls) <= 2 else 201)

    graph = Graph(identifier="http://example.org/g")
    graph.parse(data="<http://example.org/a> <http://example.org/p> 1 .", format="turtle")
    report = push_graphs([graph], "http://store.invalid/gsp", transport=httpx.MockTransport(handler), backoff=0.01)
    assert calls == ["PUT", "PUT", "PUT"] and report.retries == 2 and report.triples == 1 and report.requests == 3


def test_a_refusal_stops_the_push_with_the_store_message():
    transport = httpx.MockTransport(lambda request: httpx.Response(401, text="authentication required"))
    graph = Graph(identifier="http://example.org/g")
    graph.parse(data="<http://example.org/a> <http://example.org/p> 1 .", format="turtle")
    with pytest.raises(PushError, match="authentication required"):
        push_graphs([graph], "http://store.invalid/gsp", transport=transport)


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    if not available():
        pytest.skip(MISSING_REASON)
    instance = Virtuoso.start(tmp_path_factory.mktemp("virtuoso"))
    yield instance
    instance.stop()


def read_back(store: Virtuoso, graph_iri: str) -> Graph:
    response = httpx.post(store.sparql, data={"query": load_query("graph_triples"), "default-graph-uri": graph_iri},
                          headers={"Accept": "application/n-triples"}, timeout=60)
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.text, format="nt")


@pytest.fixture(scope="module")
def pushed_graphs(tmp_path_factory):
    """Ontology, shapes, three assessed patients and their provenance, one named graph each."""
    results = recommend([sample_csv(tmp_path_factory.mktemp("push"), rows=3)])
    return named_graphs(knowledge_dataset(results, "fast"))


@pytest.mark.virtuoso
@pytest.mark.parametrize("protocol", ["gsp", "update"])
def test_push_round_trip_through_virtuoso(virtuoso, pushed_graphs, protocol):
    endpoint = virtuoso.graph_store if protocol == "gsp" else virtuoso.update_endpoint
    options = {"protocol": protocol, "user": virtuoso.user, "password": virtuoso.password, "batch_size": 300}
    report = push_graphs(pushed_graphs, endpoint, **options)
    again = push_graphs(pushed_graphs, endpoint, **options)  # graphs are replaced, never appended to
    assert report.triples == again.triples == sum(len(g) for g in pushed_graphs) and report.retries == 0
    assert len(report.graphs) == len(pushed_graphs) >= 3 + 3 + 1  # modules and shapes, three patients, provenance
    assert report.batches > len(report.graphs)  # the 300-triple batches split the big modules
    for sent in pushed_graphs:
        stored = read_back(virtuoso, str(sent.identifier))
        assert len(stored) == len(sent), sent.identifier
        assert isomorphic(canonical(stored), canonical(sent)), sent.identifier
    core = read_back(virtuoso, "https://w3id.org/guidekg/graph/ontology/core")
    assert any(isinstance(s, BNode) for s in core.subjects())
    patient = read_back(virtuoso, "https://w3id.org/guidekg/patient/EX01-left-ras-wt")
    assert any(isinstance(o, Literal) and o.datatype == XSD.integer for o in patient.objects())


@pytest.mark.virtuoso
def test_push_verify_reads_each_graph_back(virtuoso):
    report = push([], virtuoso.graph_store, user=virtuoso.user, password=virtuoso.password, verify=True)
    assert report.graphs and all(g.verified == g.triples for g in report.graphs)
