"""Load test for ``guidekg serve``: concurrent clients mixing /sparql and /recommend on loopback.

Starts a server (``guidekg serve`` on a free 127.0.0.1 port, stopped by its pid at the end)
or targets one given with ``--url`` (loopback only). Each client thread sends up to
``--requests`` requests or stops at ``--duration`` seconds, whichever comes first; prints
throughput, p50/p95/p99 latency per endpoint and the error count.

``--clients`` takes a list (``1,8,32``): one server, one run per level. Each client thread
sends from its own loopback address (127.0.1.N), as distinct clients would, because the
server shares its workers out per client address. ``--runaway`` adds one more client (from
127.0.0.2) that sends a query which never finishes, again and again, for the whole run: the
figures then show what everyone else gets while a worker is always stuck.

Each run also reports the CPU milliseconds per request of the server process (``front``),
its worker processes and the load generator itself (``client``), from /proc: on a shared
machine latency grows with everyone else's load, CPU per request does not, and
``cores / total CPU per request`` bounds the throughput, hence (Little's law) the latency of N
closed-loop clients on an otherwise idle machine. ``--recommend-only`` sends only /recommend;
``--assess-workers`` overrides the server's default (one per CPU).

``--compare-stores`` also times the same queries in-process on rdflib and on pyoxigraph over
the served dataset: the measurement behind the server's choice of pyoxigraph.

    python benchmarks/load_server.py --clients 1,8,32 --duration 20 --runaway
"""

from __future__ import annotations

import argparse
import http.client as http_client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("patient_status", "cohort_summary", "recommendations", "alerts")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def client_from(address: str, timeout: float = 120) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)


class LightClient:
    """One keep-alive connection from ``address`` with the standard library's http.client.

    The load generator shares the machine's cores with the server it measures: httpx costs
    ~0.9 ms of CPU per request, http.client about a quarter of that, so less of what is
    measured is the measuring. (The runaway client and the start-up checks keep httpx.)"""

    def __init__(self, url: str, address: str, timeout: float = 120) -> None:
        parts = urlparse(url)
        self._make = lambda: http_client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                                        source_address=(address, 0))
        self._conn = self._make()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
        """Send one request and read the whole answer; its status code (reconnects once if the server closed)."""
        for attempt in (1, 2):
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                response.read()
                return response.status
            except (http_client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._conn.close()
                self._conn = self._make()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def __enter__(self) -> LightClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._conn.close()


def runaway_client(url: str, stop: threading.Event, outcome: dict) -> None:
    """Send the never-ending query until ``stop``; count how each attempt ended."""
    with client_from("127.0.0.2") as http:
        while not stop.is_set():
            try:
                status = str(http.get(f"{url}/sparql", params={"query": RUNAWAY}).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            outcome[status] = outcome.get(status, 0) + 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_csv(rows: int) -> tuple[Path, bytes]:
    lines = (ROOT / "examples" / "patients.csv").read_text(encoding="utf-8").splitlines()
    path = Path(tempfile.mkdtemp(prefix="guidekg-load-")) / "patients.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    one = ("\n".join(lines[:2]) + "\n").encode("utf-8")
    return path, one


def start_server(data: Path, workers: int, assess_workers: int | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "guidekg.cli", "serve", "--port", str(port), "--workers", str(workers), "--data", str(data)]
    if assess_workers is not None:  # else the server's own default (sized to the machine)
        command += ["--assess-workers", str(assess_workers)]
    log = Path(tempfile.mkdtemp(prefix="guidekg-load-")) / "server.log"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("wb"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            raise SystemExit(f"the server exited with {process.returncode}:\n" + "\n".join(tail))
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("the server did not start within 300 s")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu(root: int | None) -> dict[str, float]:
    """CPU seconds used so far by the server process (``front``) and by all its descendants
    (``workers``: query workers, the fork server and the assess workers it forked), from /proc."""
    if root is None or not Path("/proc").is_dir():
        return {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    out = {"front": 0.0, "workers": 0.0}
    todo = [(root, "front")]
    while todo:
        pid, role = todo.pop()
        try:
            out[role] += _cpu_seconds(pid)
        except (OSError, ValueError, IndexError):
            continue
        todo.extend((child, "workers") for child in children.get(pid, []))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run_load(url: str, clients: int, requests: int, duration: float, recommend_share: float, body: bytes,
             server_pid: int | None = None) -> dict:
    from guidekg.query import load_query

    texts = [load_query(name) for name in QUERIES]
    latencies: dict[str, list[float]] = {"sparql": [], "recommend": []}
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client(index: int) -> None:
        rng = random.Random(index)
        with LightClient(url, f"127.0.1.{index + 1}") as http:
            for _ in range(requests):
                if time.monotonic() > stop_at:
                    return
                kind = "recommend" if rng.random() < recommend_share else "sparql"
                started = time.perf_counter()
                try:
                    if kind == "sparql":
                        status = http.request("GET", "/sparql?" + urlencode({"query": rng.choice(texts)}),
                                              headers={"Accept": "application/sparql-results+json"})
                    else:
                        status = http.request("POST", "/recommend", body, {"Content-Type": "text/csv"})
                    problem = None if status == 200 else f"HTTP {status}"
                except (OSError, http_client.HTTPException) as exc:
                    problem = type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    latencies[kind].append(elapsed)
                    if problem:
                        errors[problem] = errors.get(problem, 0) + 1

    cpu_before, own_before = process_cpu(server_pid), time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    own, cpu_after = time.process_time() - own_before, process_cpu(server_pid)
    total = sum(len(v) for v in latencies.values())
    report = {"clients": clients, "seconds": round(wall, 2), "requests": total,
              "throughput_rps": round(total / wall, 1) if wall else 0.0, "errors": errors,
              "load_average": os.getloadavg()[0]}
    if total:  # CPU per request: what the machine's other load cannot inflate the way it inflates latency
        cpu = {role: (cpu_after[role] - cpu_before[role]) for role in cpu_after} | {"client": own}
        report["cpu_ms_per_request"] = {role: round(seconds / total * 1000, 2) for role, seconds in cpu.items()}
    for kind, values in [("all", latencies["sparql"] + latencies["recommend"]), *latencies.items()]:
        report[kind] = {"n": len(values), **{f"p{q}_ms": round(percentile(values, q) * 1000, 1) for q in (50, 95, 99)},
                        "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None}
    return report


def compare_stores(data: Path, repeat: int) -> dict:
    """Median time per query on rdflib vs pyoxigraph, same dataset, same queries."""
    import pyoxigraph as ox

    from guidekg.query import load_query
    from guidekg.recommend import recommend
    from guidekg.server.dataset import knowledge_dataset

    dataset = knowledge_dataset(recommend([data]), "fast")
    dataset.default_union = True
    store = ox.Store()
    store.load(dataset.serialize(format="nquads").encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    out = {}
    for name in QUERIES:
        text = load_query(name)
        timings = {"rdflib": [], "pyoxigraph": []}
        for _ in range(repeat):
            started = time.perf_counter()
            rows_rdflib = len(list(dataset.query(text)))
            timings["rdflib"].append(time.perf_counter() - started)
            started = time.perf_counter()
            rows_ox = len(list(store.query(text, use_default_graph_as_union=True)))
            timings["pyoxigraph"].append(time.perf_counter() - started)
        rdf, oxi = statistics.median(timings["rdflib"]), statistics.median(timings["pyoxigraph"])
        out[name] = {"rows": [rows_rdflib, rows_ox], "rdflib_ms": round(rdf * 1000, 2), "pyoxigraph_ms": round(oxi * 1000, 2),
                     "ratio": round(rdf / oxi, 1) if oxi else None}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="target a running server on loopback instead of starting one")
    parser.add_argument("--clients", default="8", help="client threads, or a comma list of levels run in turn (1,8,32)")
    parser.add_argument("--runaway", action="store_true", help="keep one never-ending query running alongside")
    parser.add_argument("--requests", type=int, default=200, help="per client (default 200)")
    parser.add_argument("--duration", type=float, default=30.0, help="stop after this many seconds (default 30)")
    parser.add_argument("--recommend-share", type=float, default=0.05, help="share of requests to /recommend (default 0.05)")
    parser.add_argument("--patients", type=int, default=21, help="patients served from examples/patients.csv")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--assess-workers", type=int, help="processes answering /recommend (default: the server's own)")
    parser.add_argument("--recommend-only", action="store_true", help="send only /recommend (same as --recommend-share 1)")
    parser.add_argument("--compare-stores", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.clients.split(",")]
    if args.recommend_only:
        args.recommend_share = 1.0
    if not (all(1 <= c <= 64 for c in levels) and 1 <= args.requests <= 10_000 and 0 < args.duration <= 600):
        parser.error("keep the load bounded: 1-64 clients, 1-10000 requests each, at most 600 s")
    data, body = sample_csv(args.patients)
    process = None
    url = args.url
    if url and urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("load tests run against loopback only")
    if not url:
        process, url = start_server(data, args.workers, args.assess_workers)
    stop, runaway_outcome = threading.Event(), {}
    runaway = threading.Thread(target=runaway_client, args=(url, stop, runaway_outcome), daemon=True)
    try:
        if args.runaway:
            runaway.start()
            time.sleep(1.0)
        runs = [run_load(url, c, args.requests, args.duration, args.recommend_share, body, process.pid if process else None)
                for c in levels]
        stop.set()
        if args.runaway:
            runaway.join(60)
        report = {"url": url, "workers": args.workers if process else None, "runaway": runaway_outcome if args.runaway else None,
                  "runs": runs, "server": httpx.get(f"{url}/health", timeout=10).json()}
    finally:
        stop.set()
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
    if args.compare_stores:
        report["stores"] = compare_stores(data, 5)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("| clients | requests | req/s | errors | SPARQL p50 / p95 / p99 ms | /recommend p50 / p95 / p99 ms "
          "| CPU ms/request: front / workers / client | load avg |")
    print("|---:|---:|---:|---|---|---|---|---:|")
    for run in report["runs"]:
        cells = [f"{run[k]['p50_ms']} / {run[k]['p95_ms']} / {run[k]['p99_ms']} (n={run[k]['n']})" for k in ("sparql", "recommend")]
        cpu = run.get("cpu_ms_per_request", {})
        cpu_cell = " / ".join(str(cpu.get(k, "-")) for k in ("front", "workers", "client"))
        print(f"| {run['clients']} | {run['requests']} | {run['throughput_rps']} | {run['errors'] or 0} | {cells[0]} | {cells[1]} "
              f"| {cpu_cell} | {run['load_average']:.1f} |")
    if report["runaway"] is not None:
        print(f"runaway query alongside: {report['runaway']}")
    for name, r in report.get("stores", {}).items():
        print(f"  store {name:17} rdflib {r['rdflib_ms']} ms  pyoxigraph {r['pyoxigraph_ms']} ms  ({r['ratio']}x, rows {r['rows']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
