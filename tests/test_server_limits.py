"""Limits and access: time limit, result size, body size, update key, concurrent clients."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from guidekg.server.limits import ServerConfig
from serving import client_from, live_server

KEY = "test-key-123"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = "ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }"
UPDATE_TYPE = {"Content-Type": "application/sparql-update"}


@pytest.fixture(scope="module")
def base():
    config = ServerConfig(workers=2, query_timeout=3.0, max_results=50, max_body=20_000, allow_update=True, api_key=KEY)
    with live_server(config) as url:
        yield url


def ask(base: str, query: str) -> bool:
    response = httpx.get(f"{base}/sparql", params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


def test_update_needs_the_key(base):
    update = "INSERT DATA { GRAPH <urn:test:g> { <urn:a> <urn:b> 1 } }"
    assert httpx.post(f"{base}/sparql", content=update, headers=UPDATE_TYPE, timeout=30).status_code == 403
    wrong = httpx.post(f"{base}/sparql", content=update, headers={**UPDATE_TYPE, "X-API-Key": "nope"}, timeout=30)
    assert wrong.status_code == 403
    assert not ask(base, "ASK { <urn:a> <urn:b> 1 }")
    ok = httpx.post(f"{base}/sparql", content=update, headers={**UPDATE_TYPE, "Authorization": f"Bearer {KEY}"}, timeout=30)
    assert ok.status_code == 204, ok.text
    # every worker has its own copy of the store: the update must be visible whichever one answers
    assert all(ask(base, "ASK { GRAPH <urn:test:g> { <urn:a> <urn:b> 1 } }") for _ in range(6))
    form = httpx.post(f"{base}/sparql", data={"update": "DROP GRAPH <urn:test:g>"}, headers={"X-API-Key": KEY}, timeout=30)
    assert form.status_code == 204
    assert not any(ask(base, "ASK { <urn:a> <urn:b> 1 }") for _ in range(6))


@pytest.mark.parametrize("update", [
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
])
def test_remote_fetches_are_refused_even_with_the_key(base, update):
    response = httpx.post(f"{base}/sparql", content=update, headers={**UPDATE_TYPE, "X-API-Key": KEY}, timeout=30)
    assert response.status_code == 403


def test_oversized_request_is_413(base):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000
    response = httpx.post(f"{base}/sparql", content=big, headers={"Content-Type": "application/sparql-query"}, timeout=30)
    assert response.status_code == 413
    response = httpx.post(f"{base}/recommend", content=b"a" * 30_000, headers={"Content-Type": "text/csv"}, timeout=30)
    assert response.status_code == 413


def test_too_many_results_is_422_and_a_limit_fits(base):
    response = httpx.get(f"{base}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, timeout=30)
    assert response.status_code == 422 and "50" in response.text
    response = httpx.get(f"{base}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"}, timeout=30)
    assert response.status_code == 200 and response.headers["x-result-count"] == "50"


@pytest.mark.slow
def test_a_runaway_query_is_stopped_while_others_are_answered(base):
    outcome: dict[str, object] = {}

    def slow() -> None:  # from another client address: the runaway client's share is not the cheap client's
        started = time.perf_counter()
        with client_from("127.0.0.2") as other:
            response = other.get(f"{base}/sparql", params={"query": RUNAWAY})
        outcome["slow"] = (response.status_code, time.perf_counter() - started, response.text)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    latencies = []
    for _ in range(5):
        started = time.perf_counter()
        assert ask(base, CHEAP)
        latencies.append(time.perf_counter() - started)
        time.sleep(0.2)
    thread.join(60)
    status, elapsed, text = outcome["slow"]
    assert status == 503 and "time limit" in text
    assert 2.5 < elapsed < 10
    assert max(latencies) < 1.0, latencies
    deadline = time.monotonic() + 60  # the killed worker is replaced
    while httpx.get(f"{base}/health", timeout=30).json()["workers"] < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    health = httpx.get(f"{base}/health", timeout=30).json()
    assert health["workers"] == 2 and health["timeouts"] >= 1 and health["workers_replaced"] >= 1


@pytest.mark.slow
def test_twenty_concurrent_clients(base):
    queries = [CHEAP, "SELECT ?c WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> } LIMIT 5"]

    def client(index: int) -> list[int]:
        with httpx.Client(timeout=60) as http:
            return [http.get(f"{base}/sparql", params={"query": queries[(index + i) % 2]}).status_code for i in range(10)]

    started = time.perf_counter()
    with ThreadPoolExecutor(20) as pool:
        statuses = [s for result in pool.map(client, range(20)) for s in result]
    assert statuses == [200] * 200, sorted(set(statuses))
    assert time.perf_counter() - started < 60
