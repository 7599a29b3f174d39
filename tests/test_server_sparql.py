"""The SPARQL 1.1 endpoint: protocol, result formats, named graphs, refusals (read-only server)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import xml.etree.ElementTree as ET

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from SPARQLWrapper import CSV, JSON, JSONLD, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from guidekg.server.limits import ServerConfig
from serving import live_server, sample_csv

PATIENT = "https://w3id.org/guidekg/patient/EX01-left-ras-wt"
STATUS = "PREFIX gk: <https://w3id.org/guidekg/ontology#> SELECT ?p ?status WHERE { ?p a gk:Patient ; gk:assessmentStatus ?status } ORDER BY ?p"
CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{PATIENT}> {{ ?s ?p ?o }} }}"
SPARQL_NS = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    data = sample_csv(tmp_path_factory.mktemp("server"))
    with live_server(ServerConfig(data=[str(data)], workers=2)) as url:
        yield url


def get(base: str, query: str, accept: str | None = None, **params) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(f"{base}/sparql", params={"query": query, **params}, headers=headers, timeout=30)


def test_select_json_lists_every_patient_with_its_status(base):
    response = get(base, STATUS, "application/sparql-results+json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    rows = response.json()["results"]["bindings"]
    assert len(rows) == 3
    assert {r["p"]["value"] for r in rows} >= {PATIENT}
    assert all(r["status"]["type"] == "literal" and r["status"]["value"] in ("ok", "invalid", "contradictory") for r in rows)


def test_select_xml_csv_tsv_agree_with_json(base):
    expected = [(r["p"]["value"], r["status"]["value"]) for r in get(base, STATUS).json()["results"]["bindings"]]
    root = ET.fromstring(get(base, STATUS, "application/sparql-results+xml").content)
    xml_rows = [tuple(b.find(f"{SPARQL_NS}uri") if b.get("name") == "p" else b.find(f"{SPARQL_NS}literal") for b in r)
                for r in root.iter(f"{SPARQL_NS}result")]
    assert [(u.text, s.text) for u, s in xml_rows] == expected
    response = get(base, STATUS, "text/csv")
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["p", "status"] and [tuple(r) for r in table[1:]] == expected
    response = get(base, STATUS, "text/tab-separated-values")
    lines = response.text.splitlines()
    assert lines[0] == "?p\t?status"
    assert [tuple(line.split("\t")) for line in lines[1:]] == [(f"<{p}>", f'"{s}"') for p, s in expected]


def test_construct_in_turtle_ntriples_and_jsonld_gives_the_same_graph(base):
    graphs = {}
    for media, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld")):
        response = get(base, CONSTRUCT, media)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media)
        graphs[fmt] = Graph().parse(data=response.text, format=fmt)
    assert len(graphs["turtle"]) > 10
    assert set(graphs["turtle"]) == set(graphs["nt"]) == set(graphs["json-ld"])
    assert (URIRef(PATIENT), URIRef("https://w3id.org/guidekg/ontology#assessmentStatus"), Literal("ok")) in graphs["nt"]


def test_each_patient_is_its_own_named_graph(base):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?p a <https://w3id.org/guidekg/ontology#Patient> } }"
    graphs = {r["g"]["value"] for r in get(base, query).json()["results"]["bindings"]}
    assert len(graphs) == 3 and PATIENT in graphs
    # the protocol's default-graph-uri narrows the default graph to one patient
    only = get(base, STATUS, **{"default-graph-uri": PATIENT}).json()["results"]["bindings"]
    assert [r["p"]["value"] for r in only] == [PATIENT]


def test_ask_and_post_forms(base):
    ask = "ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }"
    assert get(base, ask).json() == {"head": {}, "boolean": True}
    form = httpx.post(f"{base}/sparql", data={"query": STATUS}, headers={"Accept": "text/csv"}, timeout=30)
    direct = httpx.post(f"{base}/sparql", content=STATUS, headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"}, timeout=30)
    assert form.status_code == direct.status_code == 200
    assert form.text == direct.text == get(base, STATUS, "text/csv").text


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(base, fmt):
    client = SPARQLWrapper(f"{base}/sparql")
    client.setQuery(STATUS)
    client.setReturnFormat(fmt)
    result = client.query().convert()
    if fmt == JSON:
        assert len(result["results"]["bindings"]) == 3
    elif fmt == XML:
        assert len(result.getElementsByTagName("result")) == 3
    else:
        assert len(result.decode("utf-8").strip().splitlines()) == 4


@pytest.mark.parametrize("fmt", [TURTLE, JSONLD])
def test_sparqlwrapper_construct(base, fmt):
    client = SPARQLWrapper(f"{base}/sparql")
    client.setQuery(CONSTRUCT)
    client.setReturnFormat(fmt)
    graph = client.queryAndConvert()
    if not isinstance(graph, Graph):
        graph = Graph().parse(data=graph, format="turtle" if fmt == TURTLE else "json-ld")
    assert (URIRef(PATIENT), None, None) in graph


def test_syntax_error_is_400_with_its_position(base):
    response = get(base, "SELECT * WHERE {\n  ?s ?p }")
    assert response.status_code == 400
    assert "line 2, column 3" in response.text
    client = SPARQLWrapper(f"{base}/sparql")
    client.setQuery("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QueryBadFormed):
        client.query()


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE SILENT <http://example.org/sparql> { ?s ?p ?o } } }",
    "SELECT * WHERE { { SELECT ?s WHERE { OPTIONAL { SERVICE <http://example.org/x> { ?s ?p ?o } } } } }",
])
def test_federated_queries_are_refused_wherever_service_hides(base, query):
    response = get(base, query)
    assert response.status_code == 403
    assert "SERVICE" in response.text


@pytest.mark.parametrize("query", [
    'SELECT ("SERVICE <http://x/>" AS ?x) WHERE {}',
    "SELECT ('''LOAD\rSERVICE''' AS ?x) WHERE {}",
    'PREFIX service: <urn:s:> SELECT ?service WHERE { ?service service:load ?load . ?x <urn:p#SERVICE> "x"@service } LIMIT 1',
    "SELECT * WHERE { ?s ?p ?o # SERVICE <http://x/> { }\n } LIMIT 1",
])
def test_the_words_service_and_load_outside_the_keyword_are_not_refused(base, query):
    assert get(base, query).status_code == 200


def test_updates_are_refused_on_a_read_only_server(base):
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    for headers in ({}, {"X-API-Key": "anything"}):
        response = httpx.post(f"{base}/sparql", content=update, timeout=30,
                              headers={"Content-Type": "application/sparql-update", **headers})
        assert response.status_code == 403
    assert not get(base, "ASK { <urn:a> <urn:b> <urn:c> }").json()["boolean"]


def test_unacceptable_format_is_406(base):
    assert get(base, STATUS, "image/png").status_code == 406


def test_service_description_health_and_openapi(base):
    response = httpx.get(f"{base}/sparql", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (None, URIRef(sd + "endpoint"), URIRef(f"{base}/sparql")) in graph
    assert (None, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Update")) not in graph
    health = httpx.get(f"{base}/health", timeout=30).json()
    assert health["status"] == "ok" and health["patients"] == 3 and health["read_only"]
    can_isolate = subprocess.run(["unshare", "-Urn", "true"], capture_output=True).returncode == 0
    assert health["network_isolated"] is can_isolate and health["not_ready"] == []
    paths = json.loads(httpx.get(f"{base}/openapi.json", timeout=30).text)["paths"]
    assert {"/sparql", "/recommend", "/health"} <= set(paths)


def test_rdflib_sparqlstore_client(base):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(f"{base}/sparql", returnFormat="json"))
    rows = list(graph.query(STATUS))
    assert len(rows) == 3 and URIRef(PATIENT) in {row[0] for row in rows}
    scoped = list(graph.query(f"SELECT (COUNT(*) AS ?n) FROM <{PATIENT}> WHERE {{ ?s ?p ?o }}"))
    everything = list(graph.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))
    assert 0 < int(scoped[0][0]) < int(everything[0][0])
