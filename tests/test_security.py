"""Issue 13 replayed: every finding against a live server, and a short fuzz run.

The server under test runs its workers WITHOUT the network sandbox, so a silent listener
proves the checks themselves stop every fetch; the sandbox is tested on its own below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidekg.server.limits import ServerConfig
from security import Listener, service_variants, update_variants
from serving import client_from, free_port, live_server, sample_csv

KEY = "security-test-key"
PATIENT = "https://w3id.org/guidekg/patient/EX01-left-ras-wt"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
UPDATE = {"Content-Type": "application/sparql-update", "X-API-Key": KEY}
COUNT = "SELECT (COUNT(*) AS ?n) {from} WHERE {{ ?s ?p ?o }}"


@pytest.fixture(scope="module")
def listener():
    silent = Listener()
    yield silent
    silent.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory, listener):
    data = sample_csv(tmp_path_factory.mktemp("security"))
    config = ServerConfig(data=[str(data)], workers=2, query_timeout=3.0, max_response_bytes=1024 * 1024, allow_update=True,
                          api_key=KEY, isolate_network=False, client_queue_timeout=20.0, worker_memory=768 * 1024**2)
    with live_server(config) as url:
        yield url
    assert listener.hits == [], "the server connected out"


@pytest.fixture(autouse=True)
def _silence(request, listener):
    yield
    if "base" in request.fixturenames:
        assert listener.hits == [], f"outbound connection during {request.node.name}"


def get(base: str, query: str, **kwargs) -> httpx.Response:
    return httpx.get(f"{base}/sparql", params={"query": query, **kwargs.pop("params", {})}, timeout=30, **kwargs)


def post_query(base: str, query: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/sparql", content=query.encode("utf-8"), timeout=30,
                      headers={"Content-Type": "application/sparql-query", **headers})


def count(base: str, query: str, **params) -> int:
    response = get(base, query, params=params)
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


# 1. SERVICE / LOAD: one parse decides and executes -------------------------------------------

@pytest.mark.parametrize("index", range(len(service_variants("x"))))
def test_service_never_leaves_the_server(base, listener, index):
    query = service_variants(listener.url)[index]
    for response in (get(base, query), post_query(base, query)):
        assert response.status_code in (200, 400, 403), response.text  # refused, or a comment to both parsers
        if "SERVICE" in query.upper().split("#")[0] or "\\u0053" in query:
            assert response.status_code in (400, 403), response.text


@pytest.mark.parametrize("index", range(len(update_variants("x"))))
def test_load_and_service_in_updates_never_leave_the_server(base, listener, index):
    response = httpx.post(f"{base}/sparql", content=update_variants(listener.url)[index].encode("utf-8"), headers=UPDATE, timeout=30)
    assert response.status_code in (204, 400, 403), response.text


def test_an_update_sent_as_a_query_is_not_run(base):
    response = get(base, "INSERT DATA { GRAPH <urn:q> { <urn:q> <urn:q> 1 } }")
    assert response.status_code == 400
    assert not get(base, "ASK { GRAPH <urn:q> { ?s ?p ?o } }").json()["boolean"]


def test_workers_have_no_network_where_the_os_allows(listener):
    probe = ("import socket, sys; from guidekg.server.sandbox import isolate_network; ok = isolate_network(); "
             f"s = socket.socket(); s.settimeout(2); print(ok, s.connect_ex(('127.0.0.1', {listener.port})))")
    can = subprocess.run(["unshare", "-Urn", "true"], capture_output=True).returncode == 0
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    isolated, status = out.stdout.split()
    assert isolated == str(can)
    if can:
        assert status != "0" and listener.hits == []


# 2. /recommend: no parser fetches anything, and errors say nothing about the target ----------

def recommend(base: str, body: str | bytes, media: str) -> httpx.Response:
    content = body.encode("utf-8") if isinstance(body, str) else body
    return httpx.post(f"{base}/recommend", content=content, headers={"Content-Type": media}, timeout=120)


def jsonld(context) -> str:
    return json.dumps({"@context": context, "@id": "https://w3id.org/guidekg/patient/X1",
                       "@type": "https://w3id.org/guidekg/ontology#Patient"})


def test_jsonld_contexts_are_never_fetched_and_the_answer_does_not_tell(base, listener):
    closed = f"http://127.0.0.1:{free_port()}/ctx.jsonld"
    targets = [listener.url, closed, "file:///etc/passwd", "file:///no/such/file.jsonld", "ctx.jsonld",
               [{"ex": "http://example.org/"}, listener.url], {"@import": listener.url}]
    bodies = [recommend(base, jsonld(t), "application/ld+json") for t in targets]
    nested = json.dumps({"@id": "urn:x", "http://example.org/p": {"@context": listener.url, "@id": "urn:y"}})
    bodies.append(recommend(base, nested, "application/ld+json"))
    assert {b.status_code for b in bodies} == {422}
    assert len({b.text for b in bodies}) == 1, "the message differs by target"


def test_turtle_and_fhir_references_are_not_followed(base, listener):
    turtle = (f"@base <{listener.url}/> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
              f"<> owl:imports <{listener.url}> .\n<p1> a <https://w3id.org/guidekg/ontology#Patient> .\n")
    assert recommend(base, turtle, "text/turtle").status_code < 500
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"{listener.url}/Patient/p1", "resource": {"resourceType": "Patient", "id": "p1"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": f"{listener.url}/Patient/p1"}}}]}
    assert recommend(base, json.dumps(bundle), "application/fhir+json").status_code < 500


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000,
                                  '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
                                  '{"resourceType": "Observation", "id": "o", "valueInteger": ' + "7" * 5000 + "}}]}"])
@pytest.mark.parametrize("media", ["application/fhir+json", "application/ld+json", "application/json"])
def test_hostile_json_is_a_4xx_json_answer(base, body, media):
    response = recommend(base, body, media)
    assert response.status_code == 422, response.text
    assert response.json()["findings"][0]["problem"]


@pytest.mark.parametrize("body", ["@", "@prefix ex: <http://x/> .\nex:a ex:b ex:", '@prefix ex: <http://x/> .\nex:a ex:b "x"^^'])
def test_turtle_syntax_errors_say_where(base, body):
    response = recommend(base, body, "text/turtle")
    assert response.status_code == 422
    problem = response.json()["findings"][0]["problem"]
    assert "index out of range" not in problem and "line" in problem, problem


# 3. Updates: one writer, applied once, everyone reads the same committed state ---------------

def answers(base: str, query: str, times: int = 6) -> set[str]:
    return {get(base, query).text for _ in range(times)}


def test_non_deterministic_updates_read_the_same_from_every_worker(base):
    update = ("INSERT { GRAPH <urn:nd> { <urn:nd> <urn:uuid> ?u ; <urn:now> ?t ; <urn:node> [ <urn:v> ?r ] } } "
              "WHERE { BIND(STRUUID() AS ?u) BIND(NOW() AS ?t) BIND(RAND() AS ?r) }")
    assert httpx.post(f"{base}/sparql", content=update, headers=UPDATE, timeout=30).status_code == 204
    seen = answers(base, "SELECT ?u ?t ?b ?r WHERE { GRAPH <urn:nd> { <urn:nd> <urn:uuid> ?u ; <urn:now> ?t ; <urn:node> ?b . ?b <urn:v> ?r } }")
    assert len(seen) == 1 and '"u"' in next(iter(seen)), seen
    assert httpx.post(f"{base}/sparql", content="DROP GRAPH <urn:nd>", headers=UPDATE, timeout=30).status_code == 204
    assert answers(base, "ASK { GRAPH <urn:nd> { ?s ?p ?o } }") == {json.dumps({"head": {}, "boolean": False})}


def test_a_replaced_worker_sees_the_committed_state_without_replay(base):
    update = "INSERT DATA { GRAPH <urn:keep> { <urn:k> <urn:k> 1 } }"
    assert httpx.post(f"{base}/sparql", content=update, headers=UPDATE, timeout=30).status_code == 204
    before = httpx.get(f"{base}/health", timeout=30).json()
    with client_from("127.0.0.5") as other:  # a runaway kills one worker; its replacement starts from the snapshot
        assert other.get(f"{base}/sparql", params={"query": RUNAWAY}).status_code == 503
    deadline = time.monotonic() + 90
    while httpx.get(f"{base}/health", timeout=30).json()["workers"] < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    after = httpx.get(f"{base}/health", timeout=30).json()
    assert after["workers_replaced"] > before["workers_replaced"] and after["store_version"] == before["store_version"]
    assert all(get(base, "ASK { GRAPH <urn:keep> { <urn:k> <urn:k> 1 } }").json()["boolean"] for _ in range(6))


def test_health_says_which_pool_cannot_answer():
    from fastapi.testclient import TestClient

    from guidekg.server.app import create_app

    app = create_app(ServerConfig(workers=1, allowed_hosts=["testserver"]))  # lifespan not run: no worker started
    response = TestClient(app).get("/health")
    shutil.rmtree(app.state.folder)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and set(body["not_ready"]) == {"sparql", "recommend"}
    assert body["pools"]["sparql"] == {"size": 1, "workers": 0, "idle": 0, "starting": 0, "busy_refusals": 0, "forked": False,
                                        "ready": False}


# 4. Datasets: FROM / FROM NAMED and the request's dataset --------------------------------------

def test_from_scopes_the_default_graph(base):
    everything = count(base, COUNT.format(**{"from": ""}))
    one = count(base, COUNT.format(**{"from": f"FROM <{PATIENT}>"}))
    assert 0 < one < everything
    assert one == count(base, COUNT.format(**{"from": ""}), **{"default-graph-uri": PATIENT})


def test_from_named_and_the_request_overrides_the_query(base):
    graphs = get(base, f"SELECT DISTINCT ?g FROM NAMED <{PATIENT}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}").json()
    assert [r["g"]["value"] for r in graphs["results"]["bindings"]] == [PATIENT]
    other = "https://w3id.org/guidekg/graph/ontology/core"
    scoped = count(base, COUNT.format(**{"from": f"FROM <{PATIENT}>"}), **{"default-graph-uri": other})
    assert scoped == count(base, COUNT.format(**{"from": ""}), **{"default-graph-uri": other}) != count(
        base, COUNT.format(**{"from": f"FROM <{PATIENT}>"}))
    only_named = get(base, "ASK { ?s ?p ?o }", params={"named-graph-uri": PATIENT}).json()
    assert only_named["boolean"] is False  # a protocol dataset with no default-graph-uri has an empty default graph


# 5. Fairness, limits, access ------------------------------------------------------------------

def test_one_clients_runaways_do_not_block_another_client(base):
    def runaway() -> None:
        with client_from("127.0.0.2") as greedy:
            greedy.get(f"{base}/sparql", params={"query": RUNAWAY})

    threads = [threading.Thread(target=runaway) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    latencies = []
    with client_from("127.0.0.3") as polite:
        for _ in range(4):
            started = time.perf_counter()
            assert polite.get(f"{base}/sparql", params={"query": "ASK {}"}).status_code == 200
            latencies.append(time.perf_counter() - started)
    for thread in threads:
        thread.join(60)
    assert max(latencies) < 1.5, latencies


def test_a_huge_answer_is_stopped_at_the_byte_limit(base):
    grow = 'BIND("' + "x" * 64 + '" AS ?a0) ' + " ".join(
        f"BIND(CONCAT({', '.join([f'?a{i}'] * 16)}) AS ?a{i + 1})" for i in range(3))
    query = f"SELECT ?a3 WHERE {{ VALUES ?row {{ {' '.join(str(i) for i in range(20))} }} {grow} }}"
    response = post_query(base, query)
    assert response.status_code == 422 and "bytes" in response.text
    assert len(response.content) < 4096


def test_exponential_strings_end_one_worker_not_the_machine(base):
    grow = 'BIND("' + "x" * 64 + '" AS ?a0) ' + " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(26))
    response = post_query(base, f"SELECT (STRLEN(?a26) AS ?n) WHERE {{ {grow} }}")  # 4 GiB if built
    assert response.status_code == 503 and ("memory" in response.text or "time limit" in response.text)
    assert get(base, "ASK {}").status_code == 200


def test_invalid_large_queries_are_neither_echoed_nor_cached_whole(base):
    from guidekg.server.sparql import CHECKS, check_query

    for i in range(20):
        with pytest.raises(Exception):  # noqa: B017 - only the memory matters here
            check_query(f"SELECT * WHERE {{ ?s ?p {i} " + "x" * 200_000)
    assert CHECKS.size <= CHECKS.max_bytes and all(len(k) <= CHECKS.max_item for k in CHECKS._items)
    response = post_query(base, "SELECT * WHERE { ?s ?p " + "x" * 1_000_000)
    assert response.status_code == 400 and len(response.content) < 2048


@pytest.mark.parametrize(("host", "status"), [("evil.example", 421), ("evil.example:80", 421), ("localhost", 200),
                                              ("127.0.0.1:8000", 200), ("[::1]:8000", 200)])
def test_host_header_allow_list(base, host, status):
    assert get(base, "ASK {}", headers={"Host": host}).status_code == status


def test_no_cors_grant_by_default(base):
    response = get(base, "ASK {}", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = httpx.options(f"{base}/sparql", timeout=30, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_origins_are_configurable():
    from fastapi.testclient import TestClient

    from guidekg.server.app import create_app

    app = create_app(ServerConfig(workers=1, allowed_hosts=["testserver"], cors_origins=["https://app.example"]))
    client = TestClient(app)
    headers = {"Access-Control-Request-Method": "POST"}
    ok = client.options("/sparql", headers={"Origin": "https://app.example", **headers})
    evil = client.options("/sparql", headers={"Origin": "https://evil.example", **headers})
    shutil.rmtree(app.state.folder)
    assert ok.headers.get("access-control-allow-origin") == "https://app.example"
    assert "access-control-allow-origin" not in evil.headers


@pytest.mark.parametrize("query", [
    "SELECT * WHERE " + "{ " * 35 + "?s ?p ?o " + "} " * 35 + "LIMIT 1",
    "SELECT * WHERE { FILTER(" + "(" * 40 + "true" + ")" * 40 + ") }",
    "SELECT * WHERE " + "{ OPTIONAL " * 30 + "{ ?s ?p ?o }" + " }" * 30 + " LIMIT 1",
])
def test_deeply_nested_queries_are_answered(base, query):
    assert post_query(base, query).status_code == 200


def test_absurd_nesting_is_a_400_not_a_crash(base):
    response = post_query(base, "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }")
    assert response.status_code == 400 and "nested" in response.text
    assert get(base, "ASK {}").status_code == 200


@pytest.mark.parametrize(("value", "well_formed"), [("a\\u0001b", False), ("a\\rb", True), ("a\\u000Bb", False), ("tab\\tok", True)])
def test_xml_results_are_well_formed_or_refused(base, value, well_formed):
    response = get(base, f'SELECT ("{value}" AS ?x) WHERE {{}}', headers={"Accept": "application/sparql-results+xml"})
    if not well_formed:
        assert response.status_code == 406 and "XML 1.0" in response.text
        return
    assert response.status_code == 200
    literal = ET.fromstring(response.content).find(".//{http://www.w3.org/2005/sparql-results#}literal")
    assert literal is not None and literal.text == value.replace("\\r", "\r").replace("\\t", "\t")


def test_the_api_key_comes_from_the_environment_or_a_file(tmp_path, monkeypatch, capsys):
    import argparse

    from guidekg.commands import serve

    parser = serve.add_parser(argparse.ArgumentParser().add_subparsers())
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv("GUIDEKG_API_KEY", "from-env")
    assert serve.api_key(parser.parse_args(["--api-key-file", str(key_file)])) == "from-file"
    assert serve.api_key(parser.parse_args([])) == "from-env"
    assert serve.api_key(parser.parse_args(["--api-key", "visible"])) == "visible"
    assert "ps" in capsys.readouterr().err


# Fuzz: no 500, nothing goes out, the server still answers ------------------------------------

FUZZ = int(os.environ.get("GUIDEKG_FUZZ_EXAMPLES", "60"))
"""Examples per fuzz test: short by default; raise it for a longer run."""
FRAGMENTS = ["SELECT", "ASK", "CONSTRUCT", "*", "WHERE", "{", "}", "(", ")", "?x", "<urn:a>", "SERVICE", "service", "SILENT",
             "LOAD", "#", "\r", "\n", "\r\n", "\u2028", "\f", "\\u0053", "\\u000D", '"', "'", '"""', "\\", "OPTIONAL", "UNION",
             "FILTER", "EXISTS", "GRAPH", "FROM", "NAMED", "BIND", "AS", ".", ";", "1", "\x01", "\x00", "é", "PREFIX", ":", "<"]


@settings(max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(pieces=st.lists(st.one_of(st.sampled_from(FRAGMENTS + ["TARGET"]), st.text(max_size=8)), max_size=25))
def test_fuzz_queries(base, listener, pieces):
    query = " ".join(listener.url if p == "TARGET" else p for p in pieces)
    response = post_query(base, query, Accept="application/sparql-results+xml")
    assert response.status_code < 500 or response.status_code == 503, (query, response.text)


@settings(max_examples=max(1, FUZZ // 2), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(media=st.sampled_from(["application/ld+json", "application/fhir+json", "text/turtle", "text/csv", "application/x-ndjson"]),
       body=st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.just("TARGET")),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                             st.sampled_from(["@context", "@id", "@type", "@import", "resourceType", "subject", "x"]), inner, max_size=4),
                         max_leaves=12))
def test_fuzz_recommend_bodies(base, listener, media, body):
    text = json.dumps(body).replace('"TARGET"', json.dumps(listener.url))
    response = recommend(base, text, media)
    assert response.status_code < 500 or response.status_code == 503, (text, response.text)


def test_the_server_still_answers_after_everything(base, listener):
    assert get(base, "ASK {}").json()["boolean"] is True
    assert listener.hits == []
